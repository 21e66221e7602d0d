"""Instance boxes → the crop region (``center``, ``scale``) of top-down datasets, as MMPose 0.x.

Boxes are (x, y, w, h) in pixels. A crop region is its centre (2,) in pixels and its scale
(2,) = (w, h) / 200 (MMPose's ``pixel_std``), the box grown to the model input's aspect ratio
and multiplied by a padding factor (posecfg.geometry.bbox_xywh2cs).
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

from ..geometry import bbox_xywh2cs

#: MMPose 0.x moves a training box's centre with this probability, once, when loading …
CENTER_JITTER_PROB = 0.3
#: … by up to ± this fraction of the box's width and height, uniformly.
CENTER_JITTER_RANGE = 0.2


def sanitize_boxes(bboxes: np.ndarray, widths: np.ndarray,
                   heights: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Clip annotated boxes to their image as MMPose 0.x does.

    The right/bottom edge is ``x1 + w`` clipped to ``width - 1``, where ``x1`` is the left edge
    *after* clipping to 0 (MMPose's rule, kept so crops match its numbers).

    Args:
        bboxes: (N, 4) x, y, w, h in pixels.
        widths, heights: (N,) size of each box's image in pixels.

    Returns:
        clean (N, 4) float32 boxes and valid (N,) bool: False where the clipped box is empty.
    """
    bboxes = np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)
    x1 = np.maximum(0.0, bboxes[:, 0])
    y1 = np.maximum(0.0, bboxes[:, 1])
    x2 = np.minimum(np.asarray(widths) - 1.0, x1 + np.maximum(0.0, bboxes[:, 2]))
    y2 = np.minimum(np.asarray(heights) - 1.0, y1 + np.maximum(0.0, bboxes[:, 3]))
    clean = np.stack([x1, y1, x2 - x1, y2 - y1], axis=1).astype(np.float32)
    return clean, (x2 > x1) & (y2 > y1)


def boxes_to_center_scale(bboxes: np.ndarray, aspect_ratio: float,
                          padding: float) -> Tuple[np.ndarray, np.ndarray]:
    """(N, 4) xywh boxes → centers (N, 2) float32 pixels and scales (N, 2) float32 (/200)."""
    centers = np.zeros((len(bboxes), 2), dtype=np.float32)
    scales = np.zeros((len(bboxes), 2), dtype=np.float32)
    for i, box in enumerate(np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)):
        centers[i], scales[i] = bbox_xywh2cs(box, aspect_ratio=aspect_ratio, padding=padding)
    return centers, scales


def jitter_centers(centers: np.ndarray, bboxes: np.ndarray) -> np.ndarray:
    """MMPose 0.x's training-time box-centre shift, drawn once per instance at load time.

    With probability :data:`CENTER_JITTER_PROB` a centre moves by a uniform offset in
    ±:data:`CENTER_JITTER_RANGE` × the box (w, h). MMPose drew it from numpy's global generator
    while building the dataset (after the runner seeded it), so one seed gives one set of
    shifts for the whole run; we draw from the same generator for the same reason.

    Args:
        centers: (N, 2) pixels.
        bboxes: (N, 4) xywh pixels, the boxes the centres belong to.

    Returns:
        (N, 2) float32 shifted centres (a new array).
    """
    num = len(centers)
    moved = np.random.rand(num) < CENTER_JITTER_PROB
    offsets = 2 * CENTER_JITTER_RANGE * (np.random.rand(num, 2) - 0.5) * bboxes[:, 2:4]
    return (centers + offsets * moved[:, None]).astype(np.float32)


def boxes_from_keypoints(keypoints: np.ndarray, visible: np.ndarray, image_sizes: np.ndarray,
                         margin: float = 0.0, min_area: float = 0.0
                         ) -> Tuple[np.ndarray, np.ndarray]:
    """Instance boxes from the extent of their labelled keypoints, as DeepLabCut 3 makes them.

    DeepLabCut 3.0.2 (``pose_estimation_pytorch/data/utils.py::bbox_from_keypoints`` and
    ``data/base.py::_compute_bboxes``): over the keypoints with visibility > 0, ``x1, y1 = min -
    margin``, ``x2, y2 = max + margin``; an instance without any such keypoint gets 0s; the
    corners are clipped to ``[0, width]`` × ``[0, height]``; the box is ``(x1, y1, x2 - x1,
    y2 - y1)`` and its area ``max(min_area, w · h)``.

    Args:
        keypoints: (N, K, 2) pixels (any value where not visible).
        visible: (N, K) > 0 where the keypoint counts.
        image_sizes: (N, 2) (height, width) of each instance's image.
        margin: pixels added on every side.
        min_area: the smallest area reported (DeepLabCut: 1).

    Returns:
        boxes (N, 4) float32 xywh pixels and areas (N,) float32 pixels².
    """
    if len(visible) == 0:  # no instance (e.g. a crop holding no animal)
        return np.zeros((0, 4), np.float32), np.zeros((0,), np.float32)
    keypoints = np.asarray(keypoints, dtype=np.float64).reshape(len(visible), -1, 2)
    shown = np.asarray(visible).reshape(len(keypoints), -1) > 0
    boxes = np.zeros((len(keypoints), 4), dtype=np.float64)
    any_shown = shown.any(axis=1)
    if any_shown.any():
        big = np.where(shown[..., None], keypoints, np.inf)
        small = np.where(shown[..., None], keypoints, -np.inf)
        boxes[any_shown, :2] = big[any_shown].min(axis=1) - margin
        boxes[any_shown, 2:] = small[any_shown].max(axis=1) + margin
    sizes = np.asarray(image_sizes, dtype=np.float64).reshape(-1, 2)
    limits = np.stack([sizes[:, 1], sizes[:, 0], sizes[:, 1], sizes[:, 0]], axis=1)
    boxes = np.clip(boxes, 0.0, limits)
    boxes[:, 2:] -= boxes[:, :2]
    areas = np.maximum(min_area, boxes[:, 2] * boxes[:, 3])
    return boxes.astype(np.float32), areas.astype(np.float32)
