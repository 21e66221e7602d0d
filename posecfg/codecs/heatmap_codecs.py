"""Codec classes for 1.x-style configs (``codec=dict(type='MSRAHeatmap', ...)``).

Each wraps this package's MMPose 0.x array functions. ``encode`` takes all instances of a sample
(keypoints (N, K, 2) in input pixels, visibility (N, K)) and returns
``dict(heatmaps=(C, H, W) float32, keypoint_weights=(N, K) float32)``, the instances' maps merged
by maximum; ``decode`` takes one instance's heatmaps (C, H, W) and returns
``(keypoints (1, K, 2) float32 in input pixels, scores (1, K) float32)``.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

from ..registry import KEYPOINT_CODECS
from ._checks import as_heatmap_size, as_size, odd_kernel, odd_kernel_pair, target_type_name
from .decode import decode_heatmaps
from .megvii import megvii_heatmap_target
from .msra import msra_heatmap_target
from .udp import udp_heatmap_target, udp_stride


class _HeatmapCodec:
    """Shared input handling; subclasses set ``_encode_flat`` and the cell -> pixel factor."""

    def __init__(self, input_size, heatmap_size):
        self.input_size = tuple(as_size(input_size, 'input_size'))
        self.heatmap_size = as_heatmap_size(heatmap_size)

    def _instances(self, keypoints, keypoints_visible):
        keypoints = np.asarray(keypoints, dtype=np.float64)
        if keypoints.ndim != 3 or keypoints.shape[-1] < 2:
            raise ValueError(f'{type(self).__name__}.encode: keypoints must be (N, K, 2) input '
                             f'pixels, got shape {keypoints.shape}')
        n, k = keypoints.shape[:2]
        if keypoints_visible is None:
            keypoints_visible = np.ones((n, k), dtype=np.float32)
        keypoints_visible = np.asarray(keypoints_visible, dtype=np.float32)
        if keypoints_visible.shape != (n, k):
            raise ValueError(f'{type(self).__name__}.encode: keypoints_visible must be (N, K) = '
                             f'({n}, {k}), got shape {keypoints_visible.shape}')
        return keypoints[..., :2].reshape(n * k, 2), keypoints_visible.reshape(n * k), n, k

    def encode(self, keypoints, keypoints_visible=None) -> dict:
        """keypoints (N, K, 2) input pixels, keypoints_visible (N, K) -> heatmaps, weights."""
        flat, visible, n, k = self._instances(keypoints, keypoints_visible)
        # every instance's keypoints are encoded in one vectorized call, then merged
        maps, weights = self._encode_flat(flat, visible)
        width, height = self.heatmap_size
        maps = maps.reshape(n, -1, height, width).max(axis=0)
        return dict(heatmaps=maps, keypoint_weights=weights.reshape(n, k))

    def decode(self, encoded: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """heatmaps (C, H, W) of one instance -> keypoints (1, K, 2) input pixels, scores (1, K)."""
        encoded = np.asarray(encoded)
        if encoded.ndim != 3:
            raise ValueError(f'{type(self).__name__}.decode: heatmaps must be (K, H, W), got '
                             f'shape {encoded.shape}')
        locs, scores = self._decode_cells(encoded[None])
        return (locs * self._pixels_per_cell()).astype(np.float32), scores

    def _pixels_per_cell(self) -> np.ndarray:
        return np.asarray(self.input_size) / np.asarray(self.heatmap_size)


@KEYPOINT_CODECS.register_module()
class MSRAHeatmap(_HeatmapCodec):
    """MSRA Gaussian heatmaps; ``unbiased=True`` is DARK (unbiased encoding and decoding).

    Args:
        input_size: (w, h) input pixels. heatmap_size: (W, H) cells.
        sigma: Gaussian sigma in cells. blur_kernel_size: DARK's modulation kernel (odd).
    """

    def __init__(self, input_size, heatmap_size, sigma: float, unbiased: bool = False,
                 blur_kernel_size: int = 11):
        super().__init__(input_size, heatmap_size)
        self.sigma = float(sigma)
        self.unbiased = bool(unbiased)
        self.blur_kernel_size = odd_kernel(blur_kernel_size, 'blur_kernel_size')

    def _encode_flat(self, joints, visible):
        target, weight = msra_heatmap_target(joints, visible, self.input_size, self.heatmap_size,
                                             self.sigma, unbiased=self.unbiased)
        return target, weight

    def _decode_cells(self, heatmaps):
        return decode_heatmaps(heatmaps, 'unbiased' if self.unbiased else 'default',
                               kernel=self.blur_kernel_size)


@KEYPOINT_CODECS.register_module()
class MegviiHeatmap(_HeatmapCodec):
    """Megvii (MSPN/RSN) heatmaps: blurred one-hot with peak 255; scores ``max / 255 + 0.5``.

    Args:
        input_size: (w, h) input pixels. heatmap_size: (W, H) cells.
        kernel_size: odd blur kernel in cells, used to encode and to modulate when decoding.
    """

    def __init__(self, input_size, heatmap_size, kernel_size: int):
        super().__init__(input_size, heatmap_size)
        self.kernel_size = odd_kernel(kernel_size, 'kernel_size')

    def _encode_flat(self, joints, visible):
        return megvii_heatmap_target(joints, visible, self.input_size, self.heatmap_size,
                                     odd_kernel_pair(self.kernel_size))

    def _decode_cells(self, heatmaps):
        return decode_heatmaps(heatmaps, 'megvii', kernel=self.kernel_size)


@KEYPOINT_CODECS.register_module()
class UDPHeatmap(_HeatmapCodec):
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

    _TYPES = {'gaussian': 'GaussianHeatmap', 'combined': 'CombinedTarget'}

    def __init__(self, input_size, heatmap_size, heatmap_type: str = 'gaussian',
                 sigma: float = 2.0, radius_factor: float = 0.0546875,
                 blur_kernel_size: int = 11):
        super().__init__(input_size, heatmap_size)
        if heatmap_type not in self._TYPES:
            raise ValueError(f"UDPHeatmap: heatmap_type must be 'gaussian' or 'combined', got "
                             f'{heatmap_type!r}')
        self.heatmap_type = heatmap_type
        self.target_type = target_type_name(self._TYPES[heatmap_type])
        self.sigma = float(sigma)
        self.radius_factor = float(radius_factor)
        self.blur_kernel_size = odd_kernel(blur_kernel_size, 'blur_kernel_size')
        udp_stride(self.input_size, self.heatmap_size)  # checks the heatmap is at least 2 x 2

    def encode(self, keypoints, keypoints_visible=None) -> dict:
        if self.heatmap_type == 'gaussian':
            return super().encode(keypoints, keypoints_visible)
        # offsets do not merge by maximum: later instances overwrite earlier ones in their disc
        flat, visible, n, k = self._instances(keypoints, keypoints_visible)
        width, height = self.heatmap_size
        maps = np.zeros((k, 3, height, width), dtype=np.float32)
        weights = np.zeros((n, k), dtype=np.float32)
        for i in range(n):
            target, weight = self._encode_flat(flat[i * k:(i + 1) * k], visible[i * k:(i + 1) * k])
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
