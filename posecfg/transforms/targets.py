"""``TopDownGenerateTarget``: keypoints in the input crop -> training heatmaps (MMPose 0.x).

Reads ``joints_3d`` (K, 3) in input-crop pixels, ``joints_3d_visible`` (K, 3) and ``ann_info``
(``image_size``, ``heatmap_size``, ``num_joints``, ``joint_weights``,
``use_different_joint_weights``); writes ``target`` (K, H, W) float32 (3K channels for UDP
'CombinedTarget') and ``target_weight`` (K, 1) float32. A list of sigmas (MSRA, UDP Gaussian),
kernels (Megvii) or radius factors (UDP CombinedTarget) gives one target per entry, stacked:
``target`` (S, C, H, W) and ``target_weight`` (S, K, 1), as MMPose 0.x's multi-stage models use.
"""
from __future__ import annotations

import numpy as np
from mmcv.transforms import BaseTransform

from ..codecs import megvii_heatmap_target, msra_heatmap_target, udp_heatmap_target
from ..codecs._checks import odd_kernel_pair, target_type_name
from ..registry import TRANSFORMS
from .record import ann_info_value, require

ENCODINGS = ('MSRA', 'Megvii', 'UDP')


def _is_multi(value, item_is_sequence: bool) -> bool:
    """Whether ``value`` lists several settings (a list of numbers, or of kernel pairs)."""
    if not isinstance(value, (list, tuple)) or not value:
        return False
    if item_is_sequence:  # a kernel is itself a pair: (11, 11) is one, [(11, 11), (9, 9)] two
        return all(isinstance(v, (list, tuple)) for v in value)
    return True


@TRANSFORMS.register_module()
class TopDownGenerateTarget(BaseTransform):
    """Generate heatmap targets for top-down training.

    Args:
        sigma: Gaussian sigma in heatmap cells for 'MSRA' and UDP 'GaussianHeatmap' (a list
            gives one target per sigma).
        kernel: (kx, ky) odd blur kernel in cells for 'Megvii' (a list of pairs: one target
            each).
        valid_radius_factor: UDP 'CombinedTarget' positive-disc radius / heatmap height (a list:
            one target each).
        target_type: UDP target, 'GaussianHeatmap' or 'CombinedTarget' (MMPose's
            'GaussianHeatMap' spelling is accepted).
        encoding: 'MSRA', 'Megvii' or 'UDP'.
        unbiased_encoding: MSRA only: DARK's sub-cell Gaussian centres.

    ``ann_info['joint_weights']`` multiplies the weights when
    ``ann_info['use_different_joint_weights']`` is true (for every encoding).
    """

    def __init__(self, sigma=2, kernel=(11, 11), valid_radius_factor=0.0546875,
                 target_type: str = 'GaussianHeatmap', encoding: str = 'MSRA',
                 unbiased_encoding: bool = False):
        if encoding not in ENCODINGS:
            raise ValueError(f'TopDownGenerateTarget: encoding must be one of '
                             f"{', '.join(ENCODINGS)}, got {encoding!r}")
        self.encoding = encoding
        try:
            self.target_type = target_type_name(target_type)
        except ValueError as err:
            raise ValueError(f'TopDownGenerateTarget: {err}') from None
        self.unbiased_encoding = bool(unbiased_encoding)
        self.sigma = sigma
        self.kernel = kernel
        self.valid_radius_factor = valid_radius_factor
        if encoding == 'Megvii':
            self.multi = _is_multi(kernel, True)
            self._settings = list(kernel) if self.multi else [kernel]
            for k in self._settings:
                odd_kernel_pair(k, 'TopDownGenerateTarget.kernel')
        elif encoding == 'UDP' and self.target_type == 'CombinedTarget':
            self.multi = _is_multi(valid_radius_factor, False)
            self._settings = self._numbers(valid_radius_factor, 'valid_radius_factor')
        else:
            self.multi = _is_multi(sigma, False)
            self._settings = self._numbers(sigma, 'sigma')

    @staticmethod
    def _numbers(value, name: str) -> list:
        values = list(value) if _is_multi(value, False) else [value]
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                    or not v > 0:
                raise ValueError(f'TopDownGenerateTarget.{name} must be a positive number or a '
                                 f'list of them, got {value!r}')
        return [float(v) for v in values]

    def _encode(self, setting, joints, visible, image_size, heatmap_size, joint_weights):
        if self.encoding == 'MSRA':
            return msra_heatmap_target(joints, visible, image_size, heatmap_size, setting,
                                       unbiased=self.unbiased_encoding,
                                       joint_weights=joint_weights)
        if self.encoding == 'Megvii':
            return megvii_heatmap_target(joints, visible, image_size, heatmap_size, setting,
                                         joint_weights=joint_weights)
        if self.target_type == 'CombinedTarget':
            return udp_heatmap_target(joints, visible, image_size, heatmap_size,
                                      target_type='CombinedTarget', valid_radius_factor=setting,
                                      joint_weights=joint_weights)
        return udp_heatmap_target(joints, visible, image_size, heatmap_size, sigma=setting,
                                  joint_weights=joint_weights)

    def transform(self, results: dict) -> dict:
        require(results, self, 'joints_3d', 'joints_3d_visible', 'ann_info')
        image_size = ann_info_value(results, self, 'image_size')
        heatmap_size = ann_info_value(results, self, 'heatmap_size')
        num_joints = int(ann_info_value(results, self, 'num_joints'))
        joints = np.asarray(results['joints_3d'], dtype=np.float32)
        visible = np.asarray(results['joints_3d_visible'], dtype=np.float32)
        if joints.ndim != 2 or len(joints) != num_joints or len(visible) != num_joints:
            raise ValueError(f"TopDownGenerateTarget: joints_3d {joints.shape} and "
                             f"joints_3d_visible {visible.shape} must both have "
                             f"ann_info['num_joints'] = {num_joints} rows")
        joint_weights = None
        if results['ann_info'].get('use_different_joint_weights', False):
            joint_weights = ann_info_value(results, self, 'joint_weights')
        encoded = [self._encode(s, joints, visible, image_size, heatmap_size, joint_weights)
                   for s in self._settings]
        if self.multi:
            results['target'] = np.stack([t for t, _ in encoded])
            results['target_weight'] = np.stack([w for _, w in encoded])
        else:
            results['target'], results['target_weight'] = encoded[0]
        return results

    def __repr__(self) -> str:
        setting = {'MSRA': f'sigma={self.sigma!r}, unbiased_encoding={self.unbiased_encoding}',
                   'Megvii': f'kernel={self.kernel!r}',
                   'UDP': f'target_type={self.target_type!r}, sigma={self.sigma!r}, '
                          f'valid_radius_factor={self.valid_radius_factor!r}'}[self.encoding]
        return f'{type(self).__name__}(encoding={self.encoding!r}, {setting})'
