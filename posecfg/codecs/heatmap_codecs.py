"""Heatmap codecs (``codec=dict(type='MSRAHeatmap', ...)``): MMPose 0.x's encodings and decodings.

Each wraps this package's MMPose 0.x array functions, with the contract of
:class:`~posecfg.codecs.base.BaseKeypointCodec`:

- ``encode(keypoints (N, K, 2) input pixels, keypoints_visible (N, K))`` →
  ``dict(heatmaps=(C, H, W) float32, keypoint_weights=(N, K) float32)``, the instances' maps
  merged by maximum (one instance: exactly MMPose 0.x's target);
- ``decode(heatmaps)``: (B, C, H, W) (numpy or torch) → ``(keypoints (B, 1, K, 2) float32 input
  pixels, scores (B, 1, K) float32)``, one instance per map stack (top-down); a single (C, H, W)
  stack gives ``((1, K, 2), (1, K))`` as MMPose 1.x's codecs do;
- ``flip_back(heatmaps (B, C, H, W), flip_pairs, shift=False)`` for flip test.

MMPose 0.x configs choose these with ``TopDownGenerateTarget`` arguments and ``test_cfg`` keys;
:mod:`posecfg.codecs.mmpose0x` is the one place that translates them.
"""
from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np

from ..registry import KEYPOINT_CODECS
from ._checks import odd_kernel, odd_kernel_pair, target_type_name
from .base import BaseKeypointCodec, to_numpy
from .decode import decode_heatmaps
from .flip import flip_heatmaps
from .megvii import megvii_heatmap_target
from .msra import msra_heatmap_target
from .udp import udp_heatmap_target, udp_stride


class HeatmapCodec(BaseKeypointCodec):
    """Shared encode/decode of top-down heatmap codecs; subclasses set ``_encode_flat`` (K
    keypoints → (C', H, W) maps, (K, 1) weights), ``_decode_cells`` and the cell → pixel
    factor."""

    target_keys = ('heatmaps', 'keypoint_weights')
    #: heatmap channels per keypoint
    channels_per_keypoint = 1

    def encode(self, keypoints, keypoints_visible=None) -> dict:
        """keypoints (N, K, 2) input pixels, keypoints_visible (N, K) → heatmaps, weights."""
        self.require_sizes('input_size', 'heatmap_size')
        keypoints, visible = self.instances(type(self).__name__, keypoints, keypoints_visible)
        n, k = visible.shape
        width, height = self.heatmap_size
        if n == 0:  # an image without instances: nothing to find
            return dict(heatmaps=np.zeros((k * self.channels_per_keypoint, height, width),
                                          np.float32),
                        keypoint_weights=np.zeros((0, k), np.float32))
        if n == 1:  # top-down: the target itself, no merge
            maps, weights = self._encode_flat(keypoints[0], visible[0])
            return dict(heatmaps=maps, keypoint_weights=weights.reshape(1, k))
        # every instance's keypoints are encoded in one vectorized call, then merged
        maps, weights = self._encode_flat(keypoints.reshape(n * k, 2), visible.reshape(n * k))
        maps = maps.reshape(n, -1, height, width).max(axis=0)
        return dict(heatmaps=maps, keypoint_weights=weights.reshape(n, k))

    def decode(self, heatmaps) -> Tuple[np.ndarray, np.ndarray]:
        """(B, C, H, W) → keypoints (B, 1, K, 2) float32 input pixels, scores (B, 1, K);
        (C, H, W) → ((1, K, 2), (1, K))."""
        heatmaps = to_numpy(heatmaps)
        if heatmaps.ndim not in (3, 4):
            raise ValueError(f'{type(self).__name__}.decode: heatmaps must be (B, C, H, W) or '
                             f'(K, H, W), got shape {heatmaps.shape}')
        single = heatmaps.ndim == 3
        batch = heatmaps[None] if single else heatmaps
        codec = self.sized(heatmap_size=batch.shape[:1:-1])
        codec.require_sizes('input_size')
        locs, scores = codec._decode_cells(batch)
        keypoints = (locs * codec._pixels_per_cell()).astype(np.float32)
        if single:
            return keypoints, scores
        return keypoints[:, None], scores[:, None]

    def flip_back(self, heatmaps, flip_pairs: Sequence, shift: bool = False):
        """(B, C, H, W) maps of mirrored inputs → the original orientation (numpy or torch; see
        :func:`posecfg.codecs.flip.flip_heatmaps`)."""
        return flip_heatmaps(heatmaps, flip_pairs, self.channels_per_keypoint, shift)

    def _pixels_per_cell(self) -> np.ndarray:
        return np.asarray(self.input_size) / np.asarray(self.heatmap_size)


@KEYPOINT_CODECS.register_module()
class MSRAHeatmap(HeatmapCodec):
    """MSRA Gaussian heatmaps; ``unbiased=True`` is DARK (unbiased encoding and decoding).

    Args:
        input_size: (w, h) input pixels. heatmap_size: (W, H) cells. (Either may be None and
            filled in later, see :meth:`~posecfg.codecs.base.BaseKeypointCodec.sized`.)
        sigma: Gaussian sigma in cells. blur_kernel_size: DARK's modulation kernel (odd).
        refine: without ``unbiased``, move each maximum a quarter cell towards its higher
            neighbour (MMPose's ``post_process='default'``); False keeps the arg-max cell
            (``post_process=None``).
    """

    example_args = dict(input_size=(48, 64), heatmap_size=(12, 16), sigma=2)

    def __init__(self, input_size=None, heatmap_size=None, sigma: float = 2.0,
                 unbiased: bool = False, blur_kernel_size: int = 11, refine: bool = True):
        super().__init__(input_size, heatmap_size)
        self.sigma = float(sigma)
        self.unbiased = bool(unbiased)
        self.blur_kernel_size = odd_kernel(blur_kernel_size, 'blur_kernel_size')
        self.refine = bool(refine)

    def _encode_flat(self, joints, visible):
        return msra_heatmap_target(joints, visible, self.input_size, self.heatmap_size,
                                   self.sigma, unbiased=self.unbiased)

    def _decode_cells(self, heatmaps):
        if self.unbiased:
            post_process = 'unbiased'
        else:
            post_process = 'default' if self.refine else None
        return decode_heatmaps(heatmaps, post_process, kernel=self.blur_kernel_size)


@KEYPOINT_CODECS.register_module()
class MegviiHeatmap(HeatmapCodec):
    """Megvii (MSPN/RSN) heatmaps: blurred one-hot with peak 255; scores ``max / 255 + 0.5``.

    Args:
        input_size: (w, h) input pixels. heatmap_size: (W, H) cells.
        kernel_size: odd blur kernel in cells, ``k`` or ``(kx, ky)``, used to encode and (a
            square one) to modulate when decoding.
    """

    example_args = dict(input_size=(48, 64), heatmap_size=(12, 16), kernel_size=5)

    def __init__(self, input_size=None, heatmap_size=None, kernel_size=11):
        super().__init__(input_size, heatmap_size)
        self.kernel_size = odd_kernel_pair(kernel_size, 'kernel_size')

    def _encode_flat(self, joints, visible):
        return megvii_heatmap_target(joints, visible, self.input_size, self.heatmap_size,
                                     self.kernel_size)

    def _decode_cells(self, heatmaps):
        kx, ky = self.kernel_size
        if kx != ky:
            raise ValueError(f'MegviiHeatmap: decoding modulates with one odd kernel size, but '
                             f'kernel_size is {self.kernel_size}')
        return decode_heatmaps(heatmaps, 'megvii', kernel=kx)


@KEYPOINT_CODECS.register_module()
class UDPHeatmap(HeatmapCodec):
    """UDP heatmaps on the pixel-centre grid: stride (w - 1) / (W - 1).

    Args:
        input_size: (w, h) input pixels. heatmap_size: (W, H) cells.
        heatmap_type: 'gaussian' (K maps) or 'combined' (3K maps: response, x and y offsets).
        sigma: Gaussian sigma in cells ('gaussian').
        radius_factor: 'combined' disc radius as a fraction of the heatmap height.
        blur_kernel_size: odd kernel of the decoding blur.

    Decoded keypoints map cells to input pixels by (w - 1) / (W - 1), the inverse of the
    encoding (MMPose 1.x's UDPHeatmap scales by w / (W - 1) instead).
    """

    # the decoding blur sized to the small map (11 suits 48 x 64 maps: on 12 x 16 it pulls a
    # point 2.4 cells from the border 1.2 cells inwards)
    example_args = dict(input_size=(48, 64), heatmap_size=(12, 16), sigma=2, blur_kernel_size=3)

    _TYPES = {'gaussian': 'GaussianHeatmap', 'combined': 'CombinedTarget'}

    def __init__(self, input_size=None, heatmap_size=None, heatmap_type: str = 'gaussian',
                 sigma: float = 2.0, radius_factor: float = 0.0546875,
                 blur_kernel_size: int = 11):
        super().__init__(input_size, heatmap_size)
        if heatmap_type not in self._TYPES:
            raise ValueError(f"UDPHeatmap: heatmap_type must be 'gaussian' or 'combined', got "
                             f'{heatmap_type!r}')
        self.heatmap_type = heatmap_type
        self.target_type = target_type_name(self._TYPES[heatmap_type])
        self.channels_per_keypoint = 3 if heatmap_type == 'combined' else 1
        self.sigma = float(sigma)
        self.radius_factor = float(radius_factor)
        self.blur_kernel_size = odd_kernel(blur_kernel_size, 'blur_kernel_size')
        if self.input_size is not None and self.heatmap_size is not None:
            udp_stride(self.input_size, self.heatmap_size)  # the heatmap is at least 2 x 2

    def encode(self, keypoints, keypoints_visible=None) -> dict:
        keypoints, visible = self.instances(type(self).__name__, keypoints, keypoints_visible)
        if self.heatmap_type == 'gaussian' or len(keypoints) <= 1:
            return super().encode(keypoints, visible)
        # offsets do not merge by maximum: later instances overwrite earlier ones in their disc
        self.require_sizes('input_size', 'heatmap_size')
        n, k = visible.shape
        width, height = self.heatmap_size
        maps = np.zeros((k, 3, height, width), dtype=np.float32)
        weights = np.zeros((n, k), dtype=np.float32)
        for i in range(n):
            target, weight = self._encode_flat(keypoints[i], visible[i])
            target = target.reshape(k, 3, height, width)
            positive = target[:, :1] > 0
            maps = np.where(positive, target, maps)
            weights[i] = weight[:, 0]
        return dict(heatmaps=maps.reshape(3 * k, height, width), keypoint_weights=weights)

    def _encode_flat(self, joints, visible):
        return udp_heatmap_target(joints, visible, self.input_size, self.heatmap_size,
                                  sigma=self.sigma, target_type=self.target_type,
                                  valid_radius_factor=self.radius_factor)

    def _decode_cells(self, heatmaps):
        return decode_heatmaps(heatmaps, None, kernel=self.blur_kernel_size,
                               valid_radius_factor=self.radius_factor, use_udp=True,
                               target_type=self.target_type)

    def _pixels_per_cell(self) -> np.ndarray:
        return udp_stride(self.input_size, self.heatmap_size)
