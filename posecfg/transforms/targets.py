"""Target steps: keypoints in the model input → training targets, through codecs.

- ``GenerateTarget(codec=dict(type=...))``: any codec (MMPose 1.x style); reads the image
  record's ``keypoints`` (N, K, 2) and ``keypoints_visible`` (N, K) (a top-down record's
  ``joints_3d`` as N = 1) and adds the codec's targets (``heatmaps``, ``keypoint_weights``, ...).
- ``TopDownGenerateTarget``: MMPose 0.x's step and keys (``target`` (K, H, W) or a stack of
  them, ``target_weight`` (K, 1)); its arguments become codecs in
  :mod:`posecfg.codecs.mmpose0x`, the one place 0.x encodings are translated.
"""
from __future__ import annotations

from typing import Dict, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from ..codecs._checks import target_type_name
from ..codecs.base import BaseKeypointCodec
from ..codecs.mmpose0x import target_codecs
from ..registry import KEYPOINT_CODECS, TRANSFORMS
from .record import ann_info_value, require


def build_codec(spec, owner: str) -> BaseKeypointCodec:
    """A codec object from a config dict (``KEYPOINT_CODECS``) or a codec itself."""
    if isinstance(spec, BaseKeypointCodec):
        return spec
    if not isinstance(spec, dict) or 'type' not in spec:
        raise TypeError(f"{owner}: codec must be a codec config such as dict(type='MSRAHeatmap', "
                        f'input_size=(192, 256), heatmap_size=(48, 64), sigma=2), got {spec!r}')
    return KEYPOINT_CODECS.build(spec)


def _instances(results: dict, step) -> Tuple[np.ndarray, np.ndarray]:
    """(N, K, 2) keypoints and (N, K) visibility of a record, image-level or top-down."""
    if 'keypoints' in results:
        require(results, step, 'keypoints_visible')
        return (np.asarray(results['keypoints'], dtype=np.float32),
                np.asarray(results['keypoints_visible'], dtype=np.float32))
    require(results, step, 'joints_3d', 'joints_3d_visible')
    joints = np.asarray(results['joints_3d'], dtype=np.float32)
    visible = np.asarray(results['joints_3d_visible'], dtype=np.float32)
    return joints[None, :, :2], visible[None, :, 0]


@TRANSFORMS.register_module()
class GenerateTarget(BaseTransform):
    """Encode the record's keypoints (input-image pixels) with ``codec``; the codec's arrays
    (e.g. ``heatmaps`` (C, H, W), ``keypoint_weights`` (N, K)) are added to the record.

    Args:
        codec: a ``KEYPOINT_CODECS`` config with its sizes (``input_size``, ``heatmap_size``).
    """

    example_args = dict(codec=dict(type='MSRAHeatmap', input_size=(48, 64),
                                   heatmap_size=(12, 16), sigma=2))

    accepts_lazy_image = True  # reads no pixels

    def __init__(self, codec):
        self.codec = build_codec(codec, 'GenerateTarget')

    def transform(self, results: dict) -> dict:
        keypoints, visible = _instances(results, self)
        results.update(self.codec.encode(keypoints, visible))
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(codec={type(self.codec).__name__})'


@TRANSFORMS.register_module()
class TopDownGenerateTarget(BaseTransform):
    """Generate heatmap targets for top-down training (MMPose 0.x).

    Reads ``joints_3d`` (K, 3) in input-crop pixels, ``joints_3d_visible`` (K, 3) and
    ``ann_info`` (``image_size``, ``heatmap_size``, ``num_joints``, ``joint_weights``,
    ``use_different_joint_weights``); writes ``target`` (K, H, W) float32 (3K channels for UDP
    'CombinedTarget') and ``target_weight`` (K, 1) float32. A list of sigmas (MSRA, UDP
    Gaussian), kernels (Megvii) or radius factors (UDP CombinedTarget) gives one target per
    entry, stacked: ``target`` (S, C, H, W) and ``target_weight`` (S, K, 1), as MMPose 0.x's
    multi-stage models use.

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

    The codecs (:func:`posecfg.codecs.mmpose0x.target_codecs`) are sized from ``ann_info``.
    ``ann_info['joint_weights']`` multiplies the weights when
    ``ann_info['use_different_joint_weights']`` is true (for every encoding).
    """

    example_args = dict(sigma=2)

    accepts_lazy_image = True  # reads no pixels

    def __init__(self, sigma=2, kernel=(11, 11), valid_radius_factor=0.0546875,
                 target_type: str = 'GaussianHeatmap', encoding: str = 'MSRA',
                 unbiased_encoding: bool = False):
        self.codec_cfgs, self.multi = target_codecs(
            encoding, sigma, kernel, valid_radius_factor, target_type, unbiased_encoding)
        self.encoding = encoding
        self.sigma, self.kernel = sigma, kernel
        self.valid_radius_factor = valid_radius_factor
        self.target_type = target_type_name(target_type)  # checked by target_codecs
        self.unbiased_encoding = bool(unbiased_encoding)
        self._codecs = [KEYPOINT_CODECS.build(cfg) for cfg in self.codec_cfgs]
        self._sized: Dict[tuple, list] = {}

    def codecs_for(self, image_size, heatmap_size) -> list:
        """The step's codecs sized for an input of ``image_size`` and a heatmap of
        ``heatmap_size`` (both (w, h)), built once per size."""
        key = (tuple(np.asarray(image_size).tolist()), tuple(np.asarray(heatmap_size).tolist()))
        if key not in self._sized:
            self._sized[key] = [c.sized(*key) for c in self._codecs]
        return self._sized[key]

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
            joint_weights = np.asarray(ann_info_value(results, self, 'joint_weights'),
                                       dtype=np.float32).reshape(-1)
            if joint_weights.shape != (num_joints,):
                raise ValueError(f"TopDownGenerateTarget: ann_info['joint_weights'] must hold "
                                 f'one weight per joint ({num_joints}), got '
                                 f'{joint_weights.size}')
        targets, weights = [], []
        for codec in self.codecs_for(image_size, heatmap_size):
            encoded = codec.encode(joints[None, :, :2], visible[None, :, 0])
            weight = encoded['keypoint_weights'][0]
            if joint_weights is not None:
                weight = weight * joint_weights
            targets.append(encoded['heatmaps'])
            weights.append(weight[:, None].astype(np.float32))
        if self.multi:
            results['target'], results['target_weight'] = np.stack(targets), np.stack(weights)
        else:
            results['target'], results['target_weight'] = targets[0], weights[0]
        return results

    def __repr__(self) -> str:
        setting = {'MSRA': f'sigma={self.sigma!r}, unbiased_encoding={self.unbiased_encoding}',
                   'Megvii': f'kernel={self.kernel!r}',
                   'UDP': f'target_type={self.target_type!r}, sigma={self.sigma!r}, '
                          f'valid_radius_factor={self.valid_radius_factor!r}'}[self.encoding]
        return f'{type(self).__name__}(encoding={self.encoding!r}, {setting})'
