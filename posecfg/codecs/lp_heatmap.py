"""``LPHeatmap``: Lightning Pose 2.4.3's heatmap targets and its soft-argmax decoding.

Facts from the lightning-pose 2.4.3 wheel (``lightning_pose/<file>:<lines>``):

Targets (``data/heatmaps.py:11-87`` ``generate_heatmaps``, ``data/datasets.py:460-550``):

- heatmap size = input size // 2^downsample_factor (``datasets.py:474-484`` ``output_shape``);
- keypoint → cell by the size ratio, no half-pixel shift: ``c = x · W_map / w_input``
  (``heatmaps.py:43-44``); cell centres at integer indices 0 … W_map - 1 (l. 58-61);
- map = ``exp(-((i - c_x)² + (j - c_y)²) / (2 σ²))`` divided by its sum (l. 68-74), σ = 1.25
  cells (``datasets.py:460``);
- keypoints outside the input image (``x < 0 or y < 0 or x ≥ w or y ≥ h``, after augmentation)
  become NaN (``datasets.py:496-508``); keypoints whose cell lies outside [-1, W_map + 1] ×
  [-1, H_map + 1] count as NaN too (``heatmaps.py:45-56``, the clamp keeps the maths finite);
- visibility synthesised from the CSV (``datasets.py:464-472``): a keypoint NaN in the labels gets
  a **uniform** map ``1 / (H_map · W_map)`` when ``uniform_heatmaps_for_nan_keypoints``, else an
  all-zero map; a labelled keypoint moved out of the image gets an all-zero map
  (``heatmaps.py:80-85``). All-zero maps are left out of the loss (``losses/losses.py:229-249``).

In posecfg records an unlabelled keypoint has visibility 0 (the CSV's NaN); so visibility 0 →
uniform or zero as the flag says, visibility > 0 outside the image → zero. ``keypoint_weights``
(1, K) is 1 where the map is not all-zero (what the loss trains on).

Decoding (``models/heads/heatmap.py:86-148``, ``data/heatmaps.py:90-142``), on the head's
softmaxed maps (B, K, H, W):

1. ``downsample_factor`` times: bicubic ×2 (``align_corners=False``) then the 5 × 5 pyramid
   Gaussian ``[1, 4, 6, 4, 1]ᵀ[1, 4, 6, 4, 1] / 256`` with zero padding (kornia ``filter2d``,
   ``border_type='constant'``);
2. ``softmax`` over each map's pixels of ``maps · 1000`` (the temperature multiplies:
   l. 125-130), then the expectation of the pixel indices (x, y) (kornia
   ``spatial_expectation2d(normalized_coordinates=False)``);
3. confidence = the sum of that softmax over the 5 × 5 window (``2·floor(1.25·2) + 1``,
   zero-padded) centred on ``(int(x), int(y))`` (truncation) of the expectation;
4. x, y minus 0.5 / 1.5 / 2.5 for downsample_factor 1 / 2 / 3 (l. 131-136).

The ×2 upsampling maps cell c to upsampled pixel ``2c + 0.5``; after d steps ``2^d c + (2^d -
1) / 2``, i.e. offsets 0.5, 1.5, **3.5**: Lightning Pose's 2.5 at downsample_factor 3 leaves its
predictions 1 input pixel right of and below the labels. ``offsets='lightning_pose'`` (default)
reproduces it, ``offsets='exact'`` uses ``(2^d - 1) / 2``.

Coordinates come out in the convention the keypoints went in (the encoding has no half-pixel
term, so the round trip is the identity for any convention): input-image pixels. When the
codec knows its ``input_size`` and it is not ``2^d ×`` the heatmap size (posecfg allows image
sizes Lightning Pose refuses), x and y are scaled by ``input / (2^d · map)``; 1 otherwise.
"""
from __future__ import annotations

import functools
from typing import Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..registry import KEYPOINT_CODECS
from .base import BaseKeypointCodec

#: Lightning Pose's subtraction after upsampling, per downsample_factor (heatmap.py:131-136)
LP_OFFSETS = {1: 0.5, 2: 1.5, 3: 2.5}
OFFSET_MODES = ('lightning_pose', 'exact')


def pyramid_kernel(dtype=torch.float32, device=None) -> Tensor:
    """(5, 5) kornia pyramid Gaussian: the outer product of [1, 4, 6, 4, 1] / 16."""
    row = torch.tensor([1., 4., 6., 4., 1.], dtype=dtype, device=device) / 16
    return row[:, None] * row[None, :]


def lp_upsample(heatmaps: Tensor) -> Tensor:
    """(B, K, H, W) → (B, K, 2H, 2W): bicubic ×2 (align_corners=False), then the pyramid
    Gaussian with zero padding (Lightning Pose's ``upsample``)."""
    b, k, h, w = heatmaps.shape
    up = F.interpolate(heatmaps, size=(2 * h, 2 * w), mode='bicubic', align_corners=False)
    kernel = pyramid_kernel(up.dtype, up.device)[None, None]
    return F.conv2d(up.reshape(b * k, 1, 2 * h, 2 * w), kernel, padding=2).reshape(
        b, k, 2 * h, 2 * w)


@functools.lru_cache(maxsize=32)
def _upsampling_matrix(size: int, steps: int) -> Tensor:
    """(size · 2^steps, size) float64: ``steps`` times :func:`lp_upsample` along one axis as a
    matrix. Both of its operations are separable: PyTorch's bicubic interpolation weights
    each output pixel by a product of per-axis cubic weights (source indices clamped to the
    edge: a 1-pixel-wide axis is copied), and the pyramid kernel is ``[1, 4, 6, 4, 1] / 16``
    along each axis with zero padding."""
    matrix = torch.eye(size, dtype=torch.float64)
    row = torch.tensor([1., 4., 6., 4., 1.], dtype=torch.float64) / 16
    for _ in range(steps):
        n = matrix.shape[0]
        # column j of the current matrix as an (n, 1) image, upsampled to (2n, 2): column 0
        cubic = F.interpolate(matrix.T[:, None, :, None], size=(2 * n, 2), mode='bicubic',
                              align_corners=False)[:, 0, :, 0].T  # (2n, size)
        matrix = F.conv1d(F.pad(cubic.T[:, None], (2, 2)), row[None, None])[:, 0].T
    return matrix


def lp_upsample_steps(heatmaps: Tensor, steps: int) -> Tensor:
    """``steps`` times :func:`lp_upsample`, (B, K, H, W) → (B, K, 2^s H, 2^s W), as two matrix
    products (``A_H · map · A_Wᵀ``, the per-axis matrices of :func:`_upsampling_matrix`): equal
    to the sequence of bicubic interpolations and 5 × 5 convolutions up to float rounding,
    ~20x cheaper on CPUs (a 16 × 17 batch of 64² maps at ``downsample_factor`` 2: ~1.0 → ~0.05
    CPU s), and differentiable."""
    if steps == 0:
        return heatmaps
    h, w = heatmaps.shape[-2:]
    rows = _upsampling_matrix(h, steps).to(heatmaps)
    cols = _upsampling_matrix(w, steps).to(heatmaps)
    return rows @ heatmaps @ cols.T


def soft_argmax(maps: Tensor, temperature: float) -> Tuple[Tensor, Tensor]:
    """(B, K, H, W) → (softmax of ``maps · temperature`` over each map (B, K, H, W),
    expected (x, y) pixel index (B, K, 2))."""
    b, k, h, w = maps.shape
    soft = torch.softmax(maps.reshape(b, k, h * w) * temperature, dim=-1).reshape(b, k, h, w)
    xs = torch.arange(w, dtype=maps.dtype, device=maps.device)
    ys = torch.arange(h, dtype=maps.dtype, device=maps.device)
    expected = torch.stack([(soft.sum(dim=2) * xs).sum(-1), (soft.sum(dim=3) * ys).sum(-1)], -1)
    return soft, expected


def window_sum(maps: Tensor, locations: Tensor, radius: int = 2) -> Tensor:
    """Sum of each (H, W) map over the (2r + 1)² window centred on ``int(location)``
    (truncation toward zero), zero outside the map: maps (B, K, H, W), locations (B, K, 2)
    (x, y) → (B, K) (Lightning Pose's ``evaluate_heatmaps_at_location``)."""
    b, k, h, w = maps.shape
    cols = locations[..., 0].to(torch.int64)  # (B, K), truncated like .type(int64)
    rows = locations[..., 1].to(torch.int64)
    offsets = torch.arange(-radius, radius + 1, device=maps.device)
    r = rows[..., None, None] + offsets[:, None]  # (B, K, 2r+1, 1)
    c = cols[..., None, None] + offsets[None, :]  # (B, K, 1, 2r+1)
    inside = ((r >= 0) & (r < h) & (c >= 0) & (c < w)).reshape(b, k, -1)
    # the cells in the map, gathered without padding the maps (a copy of all of them); the
    # ones outside count as zero
    flat = (r.clamp(0, h - 1) * w + c.clamp(0, w - 1)).reshape(b, k, -1)  # (B, K, (2r+1)²)
    values = maps.reshape(b, k, -1).gather(-1, flat)
    return torch.where(inside, values, values.new_zeros(())).sum(-1)


@KEYPOINT_CODECS.register_module()
class LPHeatmap(BaseKeypointCodec):
    """Lightning Pose's heatmap targets and soft-argmax decoding (see the module docstring).

    Args:
        input_size: (w, h) of the model input in pixels (None: sized later by the head).
        heatmap_size: (W, H) cells; default ``input_size // 2^downsample_factor``.
        downsample_factor: heatmaps are 2^d times smaller than the input (1, 2 or 3).
        sigma: the Gaussian's standard deviation in heatmap cells (Lightning Pose: 1.25).
        uniform_heatmaps_for_nan_keypoints: unlabelled keypoints get a uniform target (trained
            towards low confidence) instead of none.
        temperature: soft-argmax temperature multiplying the upsampled maps (1000).
        offsets: 'lightning_pose' (0.5, 1.5, 2.5) or 'exact' ((2^d - 1) / 2).

    ``encode(keypoints (N ≤ 1, K, 2) input pixels, keypoints_visible (N, K))`` →
    ``heatmaps`` (K, H, W) float32, ``keypoint_weights`` (1, K). ``decode(heatmaps (B, K, H, W))``
    → keypoints (B, 1, K, 2) float32 input pixels, scores (B, 1, K) (window sums in [0, 1]).
    """

    target_keys = ('heatmaps', 'keypoint_weights')
    example_args = dict(input_size=(64, 64), heatmap_size=(16, 16), downsample_factor=2)

    def __init__(self, input_size=None, heatmap_size=None, downsample_factor: int = 2,
                 sigma: float = 1.25, uniform_heatmaps_for_nan_keypoints: bool = False,
                 temperature: float = 1000.0, offsets: str = 'lightning_pose'):
        super().__init__(input_size, heatmap_size)
        if downsample_factor not in LP_OFFSETS or isinstance(downsample_factor, bool):
            raise ValueError(f'LPHeatmap: downsample_factor must be 1, 2 or 3 (Lightning Pose\'s '
                             f'data.downsample_factor), got {downsample_factor!r}')
        for name, value in (('sigma', sigma), ('temperature', temperature)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f'LPHeatmap: {name} must be a positive number, got {value!r}')
        if offsets not in OFFSET_MODES:
            raise ValueError(f'LPHeatmap: offsets must be one of {", ".join(OFFSET_MODES)}, got '
                             f'{offsets!r}')
        self.downsample_factor = int(downsample_factor)
        self.sigma = float(sigma)
        self.uniform_heatmaps_for_nan_keypoints = bool(uniform_heatmaps_for_nan_keypoints)
        self.temperature = float(temperature)
        self.offsets = offsets

    @property
    def offset(self) -> float:
        """Upsampled pixels subtracted after the soft-argmax."""
        if self.offsets == 'exact':
            return (2 ** self.downsample_factor - 1) / 2
        return LP_OFFSETS[self.downsample_factor]

    def map_size(self) -> Tuple[int, int]:
        """(W, H) of the target maps: ``heatmap_size``, else ``input_size // 2^d``."""
        if self.heatmap_size is not None:
            return self.heatmap_size
        self.require_sizes('input_size')
        w, h = (int(v) // 2 ** self.downsample_factor for v in self.input_size)
        return w, h

    # ------------------------------------------------------------------ targets
    def encode(self, keypoints, keypoints_visible=None) -> dict:
        keypoints, visible = self.instances('LPHeatmap', keypoints, keypoints_visible)
        n, k = visible.shape
        if n > 1:
            raise ValueError(f'LPHeatmap encodes one animal per image (Lightning Pose is '
                             f'single-instance), got {n} instances')
        self.require_sizes('input_size')
        width, height = self.map_size()
        in_w, in_h = self.input_size
        if n == 0:  # every keypoint unlabelled
            keypoints, visible = np.zeros((1, k, 2)), np.zeros((1, k), np.float32)
        points, visible = keypoints[0], visible[0]  # (K, 2), (K,)
        labelled = (visible > 0) & np.isfinite(points).all(axis=-1)
        points = np.where(labelled[:, None], points, 0.0)
        inside = ((points >= 0).all(axis=-1) & (points[:, 0] < in_w) & (points[:, 1] < in_h))
        cells = points * np.array([width / in_w, height / in_h])
        in_range = ((cells >= -1).all(axis=-1) & (cells[:, 0] <= width + 1)
                    & (cells[:, 1] <= height + 1))
        drawn = labelled & inside & in_range
        cells = np.clip(cells, -1, [width + 1, height + 1])
        gx = (np.arange(width) - cells[:, :1]) ** 2  # (K, W)
        gy = (np.arange(height) - cells[:, 1:]) ** 2  # (K, H)
        maps = np.exp(-(gy[:, :, None] + gx[:, None, :]) / (2 * self.sigma ** 2))
        maps /= maps.sum(axis=(1, 2), keepdims=True)
        maps *= drawn[:, None, None]
        weights = drawn.copy()
        if self.uniform_heatmaps_for_nan_keypoints:
            maps[~labelled] = 1.0 / (width * height)
            weights |= ~labelled
        return dict(heatmaps=maps.astype(np.float32),
                    keypoint_weights=weights.astype(np.float32)[None])

    # ------------------------------------------------------------------ decoding
    def decode(self, heatmaps) -> Tuple[np.ndarray, np.ndarray]:
        """(B, K, H, W) softmaxed maps (tensor or array) → keypoints (B, 1, K, 2) float32
        input pixels, scores (B, 1, K) float32 (numpy)."""
        keypoints, scores = self.decode_torch(torch.as_tensor(heatmaps))
        return (keypoints.cpu().numpy()[:, None], scores.cpu().numpy()[:, None])

    def decode_torch(self, heatmaps: Tensor, differentiable: bool = False
                     ) -> Tuple[Tensor, Tensor]:
        """The decoding in torch, on the maps' device: (B, K, 2) input pixels, (B, K).
        ``differentiable``: keep the graph (the soft argmax is differentiable; Lightning Pose's
        unsupervised losses train through it, ``models/heatmap_tracker.py:264-286``).
        Float32 also under bf16 autocast (training and inference on CPUs with native bf16):
        the upsampling convolution would otherwise run in bfloat16, and its 8-bit mantissa moves
        soft-argmax coordinates by up to ~1 input pixel."""
        if heatmaps.dim() != 4:
            raise ValueError(f'LPHeatmap.decode: heatmaps must be (B, K, H, W), got shape '
                             f'{tuple(heatmaps.shape)}')
        with torch.autocast(heatmaps.device.type, enabled=False):
            return self._decode_float32(
                (heatmaps if differentiable else heatmaps.detach()).float())

    def _decode_float32(self, maps: Tensor) -> Tuple[Tensor, Tensor]:
        """:meth:`decode_torch` of float32 maps (B, K, H, W), autocast off."""
        height, width = maps.shape[-2:]
        maps = lp_upsample_steps(maps, self.downsample_factor)
        soft, expected = soft_argmax(maps, self.temperature)
        radius = int(np.floor(1.25 * 2))  # sigma 1.25 × 2 standard deviations (heatmaps.py:112)
        scores = window_sum(soft, expected, radius)
        keypoints = expected - self.offset
        if self.input_size is not None:
            factor = 2 ** self.downsample_factor
            scale = torch.tensor([self.input_size[0] / (factor * width),
                                  self.input_size[1] / (factor * height)],
                                 dtype=keypoints.dtype, device=keypoints.device)
            if not torch.all(scale == 1):
                keypoints = keypoints * scale
        return keypoints, scores
