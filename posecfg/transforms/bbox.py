"""Box → crop region: ``TopDownGetBboxCenterScale`` and ``TopDownRandomShiftBboxCenter``."""
from __future__ import annotations

import warnings

import numpy as np
from mmcv.transforms import BaseTransform

from ..geometry import PIXEL_STD, bbox_xywh2cs
from ..registry import TRANSFORMS
from .record import ann_info_value, require


@TRANSFORMS.register_module()
class TopDownGetBboxCenterScale(BaseTransform):
    """Set ``center`` (2,) px and ``scale`` (2,) (box w, h / 200) from ``bbox`` (x, y, w, h).

    The box is grown to the aspect ratio of ``ann_info['image_size']`` and its scale multiplied
    by ``padding``. As in MMPose 0.x, a record that already has ``center`` and ``scale`` keeps
    them and only the padding is applied (with a warning).
    """

    example_args = dict(padding=1.25)

    accepts_lazy_image = True  # reads no pixels

    def __init__(self, padding: float = 1.25):
        self.padding = padding

    def transform(self, results: dict) -> dict:
        if 'center' in results and 'scale' in results:
            warnings.warn('TopDownGetBboxCenterScale: the record already has "center" and '
                          '"scale" (set by the dataset); using them, padding still applied')
            results['scale'] = np.asarray(results['scale'], dtype=np.float32) * self.padding
            return results
        require(results, self, 'bbox')
        image_size = ann_info_value(results, self, 'image_size')
        aspect_ratio = float(image_size[0]) / float(image_size[1])
        results['center'], results['scale'] = bbox_xywh2cs(
            results['bbox'], aspect_ratio=aspect_ratio, padding=self.padding)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(padding={self.padding})'


@TRANSFORMS.register_module()
class TopDownRandomShiftBboxCenter(BaseTransform):
    """With probability ``prob``, move ``center`` by up to ±``shift_factor`` × the box size
    (scale · 200 px) along each axis, uniformly (MMPose 0.x)."""

    example_args = dict(shift_factor=0.16, prob=1.0)

    accepts_lazy_image = True  # reads no pixels

    def __init__(self, shift_factor: float = 0.16, prob: float = 0.3):
        self.shift_factor = shift_factor
        self.prob = prob

    def transform(self, results: dict) -> dict:
        require(results, self, 'center', 'scale')
        if np.random.rand() < self.prob:
            offset = (np.random.uniform(-1, 1, 2) * self.shift_factor
                      * np.asarray(results['scale']) * PIXEL_STD)
            results['center'] = (np.asarray(results['center']) + offset).astype(np.float32)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(shift_factor={self.shift_factor}, prob={self.prob})'
