"""Drawing poses with OpenCV (the demo, labeled videos, looking at predictions)."""
from __future__ import annotations

from typing import Optional, Sequence

import cv2
import numpy as np

# OpenCV draws at fractional positions with coordinates scaled by 2**SHIFT: dots are centred on
# the keypoint to 1/16 pixel instead of being moved to a whole pixel (lightning-pose#192: labeled
# videos disagreeing with the CSV came from truncating coordinates to ints).
SHIFT = 4
_ONE = 1 << SHIFT
# farther out than this a point cannot touch the image; it also keeps the fixed-point ints small
_FAR = 1 << 20


def draw_keypoints(canvas: np.ndarray, keypoints: np.ndarray, visible: np.ndarray,
                   colors: np.ndarray, skeleton: Sequence[Sequence[int]] = (), radius: float = 3,
                   thickness: int = 2, link_color: Optional[Sequence[int]] = None,
                   dots: Optional[np.ndarray] = None) -> np.ndarray:
    """Draw on ``canvas`` (H, W, 3) uint8 in place and return it.

    Args:
        keypoints: (K, 2) (x, y) pixels, pixel centres at whole numbers; NaN points are skipped.
        visible: (K,) bool: which points to draw.
        colors: (K, 3) per keypoint, in the canvas's channel order.
        skeleton: index pairs; a link is drawn when both ends are drawn, in ``link_color`` or
            else its first keypoint's colour.
        radius: dot radius in pixels (fractions allowed); filled, anti-aliased.
        dots: (K,) bool: which of the drawn points get a dot (default all; the others only
            hold their links, their dots drawn by the caller, e.g. translucent).
    """
    points = np.asarray(keypoints, dtype=np.float64).reshape(-1, 2)
    shown = np.asarray(visible, dtype=bool).reshape(-1) & np.isfinite(points).all(axis=1) \
        & (np.abs(points) < _FAR).all(axis=1)
    fixed = np.zeros(points.shape, dtype=np.int64)
    fixed[shown] = np.round(points[shown] * _ONE).astype(np.int64)
    colors = np.asarray(colors).reshape(-1, 3)
    for a, b in skeleton:
        if shown[a] and shown[b]:
            color = link_color if link_color is not None else colors[a]
            cv2.line(canvas, tuple(map(int, fixed[a])), tuple(map(int, fixed[b])),
                     tuple(int(c) for c in color), thickness, cv2.LINE_AA, SHIFT)
    r = int(round(radius * _ONE))
    with_dot = shown if dots is None else shown & np.asarray(dots, dtype=bool).reshape(-1)
    for i in np.flatnonzero(with_dot):
        cv2.circle(canvas, tuple(map(int, fixed[i])), r, tuple(int(c) for c in colors[i]), -1,
                   cv2.LINE_AA, SHIFT)
    return canvas


def draw_pose(image: np.ndarray, keypoints: np.ndarray, scores: Optional[np.ndarray] = None,
              skeleton: Sequence[Sequence[int]] = (), colors: Optional[np.ndarray] = None,
              score_thr: float = 0.3, radius: int = 3, thickness: int = 2) -> np.ndarray:
    """A copy of ``image`` (H, W, 3) uint8 BGR with keypoints (K, 2) pixels drawn as dots and the
    skeleton's links (index pairs) as lines; keypoints scoring below ``score_thr`` are left out.
    ``colors``: (K, 3) BGR per keypoint (default: one colour)."""
    k = len(keypoints)
    scores = np.ones(k) if scores is None else np.asarray(scores)
    colors = np.tile([[0, 255, 255]], (k, 1)) if colors is None else np.asarray(colors)
    return draw_keypoints(image.copy(), keypoints, scores >= score_thr, colors, skeleton,
                          radius, thickness)


def tile(images: Sequence[np.ndarray], columns: int = 4, pad: int = 4) -> np.ndarray:
    """Images of any sizes on one canvas, ``columns`` per row, each cell as large as the largest."""
    h = max(i.shape[0] for i in images)
    w = max(i.shape[1] for i in images)
    rows = -(-len(images) // columns)
    canvas = np.full((rows * (h + pad) + pad, min(columns, len(images)) * (w + pad) + pad, 3),
                     255, np.uint8)
    for n, image in enumerate(images):
        r, c = divmod(n, columns)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        canvas[y:y + image.shape[0], x:x + image.shape[1]] = image
    return canvas
