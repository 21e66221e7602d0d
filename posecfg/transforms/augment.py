"""Random top-down augmentations that only change the crop region or the joints.

``TopDownRandomFlip``, ``TopDownHalfBodyTransform``, ``TopDownGetRandomScaleRotation`` with
MMPose 0.x's semantics and random draws (the same ``np.random`` calls in the same order, so a
seeded run draws the same augmentations). None of them touches pixels: the flip is recorded on
the image (``LazyImage.mirror``) and performed inside ``TopDownAffine``'s one warp.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from ..geometry import PIXEL_STD, fliplr_joints
from ..registry import TRANSFORMS
from .lazy_image import LazyImage
from .record import ann_info_value, require


@TRANSFORMS.register_module()
class TopDownRandomFlip(BaseTransform):
    """With probability ``flip_prob``, mirror the sample left-right.

    Joints are mirrored (x → W - 1 - x) and left/right partners (``ann_info['flip_pairs']``)
    swapped, invisible joints zeroed (MMPose's ``fliplr_joints``); ``center`` is mirrored; the
    image gets a pending mirror that ``TopDownAffine`` folds into its warp (an ``img`` array is
    wrapped in a ``LazyImage`` for that, without copying). Sets ``flip`` (and MMPose 0.x's
    ``flipped``) to whether the sample is now mirrored.
    """

    example_args = dict(flip_prob=1.0)  # always: the example shows the flip

    accepts_lazy_image = True  # reads only the shape and records the mirror

    def __init__(self, flip_prob: float = 0.5):
        self.flip_prob = flip_prob

    def transform(self, results: dict) -> dict:
        require(results, self, 'img', 'joints_3d', 'joints_3d_visible', 'center')
        flip = bool(results.get('flip', False))
        if np.random.rand() <= self.flip_prob:
            flip = not flip
            img = results['img']
            width = img.shape[1]
            results['img'] = (img.mirror() if isinstance(img, LazyImage)
                              else LazyImage.from_array(np.asarray(img), mirrored=True))
            results['joints_3d'], results['joints_3d_visible'] = fliplr_joints(
                results['joints_3d'], results['joints_3d_visible'], width,
                ann_info_value(results, self, 'flip_pairs'))
            center = np.array(results['center'], dtype=np.float32)
            center[0] = width - 1 - center[0]
            results['center'] = center
        results['flip'] = results['flipped'] = flip
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(flip_prob={self.flip_prob})'


def half_body_center_scale(joints: np.ndarray, aspect_ratio: float
                           ) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """Crop region around the joints (N, 2+) px: (center (2,), scale (2,)) float32, or None if
    the joints do not span a region. Box = the joints' bounding box grown to ``aspect_ratio``
    (w / h), centred on their mean (not the box centre, as in MMPose), scale ×1.5."""
    pts = np.asarray(joints, dtype=np.float32)[:, :2]
    center = pts.mean(axis=0)
    w, h = (pts.max(axis=0) - pts.min(axis=0)).tolist()
    if w > aspect_ratio * h:
        h = w / aspect_ratio
    elif w < aspect_ratio * h:
        w = h * aspect_ratio
    if w <= 0 or h <= 0:
        return None  # all joints on one spot: no crop size to derive (MMPose divides by zero)
    scale = np.array([w / PIXEL_STD, h / PIXEL_STD], dtype=np.float32) * 1.5
    return center.astype(np.float32), scale


def split_half_body(joints_3d_visible: np.ndarray, num_joints: int,
                    upper_body_ids: Sequence[int]) -> Tuple[np.ndarray, np.ndarray]:
    """Indices of the visible upper-body and visible other ("lower") joints among the first
    ``num_joints``: two int arrays."""
    visible = np.asarray(joints_3d_visible)[:num_joints, 0] > 0
    upper = np.zeros(num_joints, dtype=bool)
    ids = np.asarray(list(upper_body_ids), dtype=np.int64)
    upper[ids[ids < num_joints]] = True
    return np.flatnonzero(visible & upper), np.flatnonzero(visible & ~upper)


@TRANSFORMS.register_module()
class TopDownHalfBodyTransform(BaseTransform):
    """With probability ``prob_half_body``, for samples with more than ``num_joints_half_body``
    visible joints, crop to the upper or lower body only (MMPose 0.x).

    The upper body (``ann_info['upper_body_ids']``) is chosen when ``np.random.randn() < 0.5``
    (MMPose's draw: about 69 % of the time) and it has more than 2 visible joints, otherwise
    the lower body if it has more than 2, otherwise the upper body; fewer than 2 joints in the
    choice leave the sample unchanged. Sets ``center`` and ``scale``.
    """

    example_args = dict(num_joints_half_body=3, prob_half_body=1.0)

    accepts_lazy_image = True  # reads no pixels

    def __init__(self, num_joints_half_body: int = 8, prob_half_body: float = 0.3):
        self.num_joints_half_body = num_joints_half_body
        self.prob_half_body = prob_half_body

    def transform(self, results: dict) -> dict:
        require(results, self, 'joints_3d', 'joints_3d_visible')
        visible = np.asarray(results['joints_3d_visible'])
        if not (np.sum(visible[:, 0]) > self.num_joints_half_body
                and np.random.rand() < self.prob_half_body):
            return results
        upper, lower = split_half_body(
            visible, int(ann_info_value(results, self, 'num_joints')),
            ann_info_value(results, self, 'upper_body_ids'))
        if np.random.randn() < 0.5 and len(upper) > 2:
            chosen = upper
        elif len(lower) > 2:
            chosen = lower
        else:
            chosen = upper
        if len(chosen) < 2:
            return results
        image_size = ann_info_value(results, self, 'image_size')
        region = half_body_center_scale(np.asarray(results['joints_3d'])[chosen],
                                        float(image_size[0]) / float(image_size[1]))
        if region is not None:
            results['center'], results['scale'] = region
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_joints_half_body={self.num_joints_half_body}, '
                f'prob_half_body={self.prob_half_body})')


@TRANSFORMS.register_module()
class TopDownGetRandomScaleRotation(BaseTransform):
    """Random zoom and rotation of the crop (MMPose 0.x).

    ``scale`` ×= clip(N(1, scale_factor), 1 - scale_factor, 1 + scale_factor);
    ``rotation`` = clip(N(0, rot_factor), -2·rot_factor, 2·rot_factor) degrees with probability
    ``rot_prob``, else 0.
    """

    example_args = dict(rot_factor=40, scale_factor=0.5, rot_prob=1.0)

    accepts_lazy_image = True  # reads no pixels

    def __init__(self, rot_factor: float = 40, scale_factor: float = 0.5,
                 rot_prob: float = 0.6):
        self.rot_factor = rot_factor
        self.scale_factor = scale_factor
        self.rot_prob = rot_prob

    def transform(self, results: dict) -> dict:
        require(results, self, 'scale')
        sf, rf = self.scale_factor, self.rot_factor
        s_factor = np.clip(np.random.randn() * sf + 1, 1 - sf, 1 + sf)
        r_factor = np.clip(np.random.randn() * rf, -rf * 2, rf * 2)
        rotation = r_factor if np.random.rand() <= self.rot_prob else 0
        results['scale'] = (np.asarray(results['scale']) * s_factor).astype(np.float32)
        results['rotation'] = float(rotation)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(rot_factor={self.rot_factor}, '
                f'scale_factor={self.scale_factor}, rot_prob={self.rot_prob})')
