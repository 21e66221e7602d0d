"""``TopDownAffine``: the one warp per sample that makes the model input crop."""
from __future__ import annotations

import numpy as np
from mmcv.transforms import BaseTransform

from ..geometry import PIXEL_STD, affine_points, get_affine_transform, get_warp_matrix
from ..registry import TRANSFORMS
from .lazy_image import warp_affine
from .record import ann_info_value, require


def crop_matrix(center, scale, rotation: float, image_size, use_udp: bool) -> np.ndarray:
    """(2, 3) affine from image pixels to crop pixels, MMPose 0.x's for either mode.

    Args:
        center: (2,) px; scale: (2,) box (w, h) / 200; rotation: degrees;
        image_size: (2,) crop (w, h) px; use_udp: unbiased data processing.
    """
    center = np.asarray(center, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    if use_udp:
        size = np.asarray(image_size, dtype=np.float64)
        return get_warp_matrix(rotation, center * 2.0, size - 1.0, scale * PIXEL_STD)
    return get_affine_transform(center, scale, rotation, image_size)


@TRANSFORMS.register_module()
class TopDownAffine(BaseTransform):
    """Crop ``img`` to ``ann_info['image_size']`` around ``center``/``scale``/``rotation`` and move
    ``joints_3d`` into crop pixels (MMPose 0.x; ``use_udp`` selects ``get_warp_matrix``).

    One ``cv2.warpAffine`` (bilinear, black border) per sample: a pending mirror of a
    ``LazyImage`` (``TopDownRandomFlip``) is composed into the matrix, and a JPEG not yet decoded
    is decoded at 1/2, 1/4 or 1/8 size when the crop shrinks it at least that much
    (:func:`~posecfg.transforms.lazy_image.reduction_for`), the reduction also composed into the
    matrix. As in MMPose, without UDP only visible joints are moved (the others keep their
    values, zero after a flip); with UDP all are.
    """

    example_args = dict(use_udp=False)

    accepts_lazy_image = True  # warp_affine folds the mirror and a reduced decode in

    def __init__(self, use_udp: bool = False):
        self.use_udp = use_udp

    def transform(self, results: dict) -> dict:
        require(results, self, 'img', 'joints_3d', 'joints_3d_visible', 'center', 'scale',
                'rotation')
        image_size = ann_info_value(results, self, 'image_size')
        out_size = (int(image_size[0]), int(image_size[1]))
        matrix = crop_matrix(results['center'], results['scale'], results['rotation'],
                             image_size, self.use_udp)
        results['img'] = warp_affine(results['img'], matrix, out_size)

        joints = np.array(results['joints_3d'], dtype=np.float32)
        if self.use_udp:
            joints[:, :2] = affine_points(joints[:, :2], matrix)
        else:
            visible = np.asarray(results['joints_3d_visible'])[:, 0] > 0
            joints[visible, :2] = affine_points(joints[visible, :2], matrix)
        results['joints_3d'] = joints
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(use_udp={self.use_udp})'
