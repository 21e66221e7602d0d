"""``ArgmaxHeatmap``: whole-image Gaussian heatmaps at an output stride, decoded by arg-max.

The plain heatmap codec of whole-image (bottom-up, single-animal) models: every keypoint gets a
Gaussian over the whole map (no window), instances merge by maximum, and decoding takes each
map's maximum cell, in torch for the whole batch at once.

Cell (i, j) of a (W, H) map over a (w, h) input stands for input pixel
``(i · s_x + (s_x - 1) / 2, j · s_y + (s_y - 1) / 2)`` with stride ``s = (w / W, h / H)``: the
centre of the s × s pixels it covers, pixel centres being whole numbers (DESIGN.md
"Conventions"). So a network of stride 8 maps cell 0 to pixel 3.5.
"""
from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np
import torch

from ..registry import KEYPOINT_CODECS
from .base import BaseKeypointCodec
from .flip import flip_heatmaps


@KEYPOINT_CODECS.register_module()
class ArgmaxHeatmap(BaseKeypointCodec):
    """Gaussian heatmaps of every instance; arg-max decoding (one instance per map stack).

    Args:
        input_size: (w, h) input pixels; heatmap_size: (W, H) cells. Either may be None and
            filled in by the head from its input and output shapes (``sized``).
        sigma: the Gaussian's standard deviation in heatmap cells.

    ``encode(keypoints (N, K, 2), keypoints_visible (N, K))`` → ``heatmaps`` (K, H, W) float32
    (maximum over the instances; 0 for unlabelled points) and ``keypoint_weights`` (N, K) (the
    visibility). ``decode(heatmaps (B, K, H, W))`` → keypoints (B, 1, K, 2) float32 input pixels
    at cell centres, scores (B, 1, K) = the maxima.
    """

    example_args = dict(input_size=(48, 64), heatmap_size=(12, 16), sigma=2)

    target_keys = ('heatmaps', 'keypoint_weights')

    def __init__(self, input_size=None, heatmap_size=None, sigma: float = 2.0):
        super().__init__(input_size, heatmap_size)
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not sigma > 0:
            raise ValueError(f'ArgmaxHeatmap: sigma must be a positive number of heatmap cells, '
                             f'got {sigma!r}')
        self.sigma = float(sigma)

    def stride(self) -> np.ndarray:
        """(2,) input pixels per heatmap cell (x, y)."""
        self.require_sizes('input_size', 'heatmap_size')
        return np.asarray(self.input_size, np.float64) / np.asarray(self.heatmap_size)

    def encode(self, keypoints, keypoints_visible=None) -> dict:
        keypoints, visible = self.instances('ArgmaxHeatmap', keypoints, keypoints_visible)
        stride = self.stride()
        width, height = self.heatmap_size
        n, k = visible.shape
        cells = (keypoints - (stride - 1) / 2) / stride  # (N, K, 2) in cell units
        drawn = (visible > 0) & np.isfinite(cells).all(axis=-1)
        cells = np.where(drawn[..., None], cells, 0.0).reshape(n * k, 2)
        gx = np.exp(-(np.arange(width) - cells[:, :1]) ** 2 / (2 * self.sigma ** 2))
        gy = np.exp(-(np.arange(height) - cells[:, 1:]) ** 2 / (2 * self.sigma ** 2))
        maps = (gy[:, :, None] * gx[:, None, :]).astype(np.float32).reshape(n, k, height, width)
        maps *= drawn[:, :, None, None]
        heatmaps = maps.max(axis=0) if n else np.zeros((k, height, width), np.float32)
        return dict(heatmaps=heatmaps, keypoint_weights=visible.astype(np.float32))

    def decode(self, heatmaps) -> Tuple[np.ndarray, np.ndarray]:
        """(B, K, H, W) tensor or array → keypoints (B, 1, K, 2), scores (B, 1, K) (numpy)."""
        heatmaps = torch.as_tensor(heatmaps)
        if heatmaps.dim() != 4:
            raise ValueError(f'ArgmaxHeatmap.decode: heatmaps must be (B, K, H, W), got shape '
                             f'{tuple(heatmaps.shape)}')
        height, width = heatmaps.shape[-2:]
        codec = self.sized(heatmap_size=(width, height))
        stride = torch.as_tensor(codec.stride(), dtype=torch.float64, device=heatmaps.device)
        scores, index = heatmaps.detach().float().flatten(2).max(dim=-1)  # (B, K)
        cells = torch.stack([index % width, torch.div(index, width, rounding_mode='floor')],
                            dim=-1).double()
        keypoints = cells * stride + (stride - 1) / 2
        return (keypoints.float().cpu().numpy()[:, None], scores.cpu().numpy()[:, None])

    def flip_back(self, heatmaps, flip_pairs: Sequence, shift: bool = False):
        return flip_heatmaps(heatmaps, flip_pairs, 1, shift)
