"""``DEKRHead``: DeepLabCut 3's DEKR head (heatmaps with the instance centre + per-keypoint
offsets from the centre), Geng et al., CVPR 2021, as DeepLabCut 3.0.2 builds it
(``models/heads/dekr.py``, blocks in ``models/modules/conv_block.py``).

Modules and DeepLabCut's state-dict keys below ``heads.<name>.`` (posecfg: ``<name>.``):

- ``heatmap_head`` (``DEKRHeatmap``, ``heatmap_config`` = ``channels [C_in, C, K + 1]``,
  ``num_blocks``, ``dilation_rate``, ``final_conv_kernel``): ``transition_heatmap.{0: 1×1 conv
  C_in → C (no bias), 1: BatchNorm, 2: ReLU}``, ``head_heatmap.0.{i}`` num_blocks
  :class:`DEKRBasicBlock` (``conv1``, ``bn1``, ``conv2``, ``bn2``: 3×3, dilated, no bias),
  ``head_heatmap.1`` the final conv C → K + 1 (padding 1 for kernel 3, else 0);
- ``offset_head`` (``DEKROffset``, ``offset_config`` = ``channels [C_in, K·P, K]``,
  ``num_offset_per_kpt`` P, ``num_blocks``, ``dilation_rate``, ``final_conv_kernel``):
  ``transition_offset.{0,1}`` (1×1 conv C_in → K·P, BatchNorm, ReLU), then per keypoint k its P
  channels through ``offset_feature_layers.{k}.{i}`` :class:`AdaptBlock` s and
  ``offset_final_layer.{k}`` (conv P → 2: the x, y offsets of keypoint k).

:class:`AdaptBlock` (``conv_block.py:220-299``) is DEKR's adaptive convolution: a 3×3
deformable convolution whose sampling offsets come from a per-pixel 2×2 affine
(``transform_matrix_conv``, 4 channels) applied to the regular 3×3 grid plus a translation
(``translation_conv``, 2 channels); keys ``regular_matrix`` (buffer), ``transform_matrix_conv.*``,
``translation_conv.*``, ``adapt_conv.weight`` (torchvision ``DeformConv2d``, no bias), ``bn.*``.
torchvision cannot be imported here: :func:`deform_conv2d` computes torchvision's
``deform_conv2d`` (zero outside the map, offsets (dy, dx) per kernel tap) with one
``grid_sample`` over all taps and a matrix product. DeepLabCut runs the K keypoints' branches
one after the other (num_blocks·K small deformable convolutions per step; on a CPU the loop
makes the head 1.1-1.9× slower, benchmarks/README.md); :class:`DEKROffset` runs them as
grouped operations (:func:`grouped_adapt_blocks`: one grouped convolution, one
``grid_sample``, one batched matrix product and one BatchNorm per block index), the same
function with the same parameters and state-dict keys (``DEKROffset.grouped = False`` runs
DeepLabCut's loop; tests compare the two, and
:func:`deform_conv2d` with a per-tap formula of torchvision's kernel, values and gradients).

Training: targets from :class:`~posecfg.codecs.dekr.DEKRGenerator` at the model stride (backbone
stride / ``stride``), instance areas from the batch's ``bboxes`` (DeepLabCut's area, see the
generator); ``DEKRHeatmapLoss`` and ``DEKROffsetLoss`` combined by
``WeightedLossAggregator`` (a mean of weighted losses). Prediction:
:class:`~posecfg.codecs.dekr.DEKRPredictor`; poses removed by its NMS are dropped, so an image
has 0..``num_animals`` instances.
"""
from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from posecfg.codecs.dekr import DEKRGenerator, DEKRPredictor
from posecfg.registry import MODELS
from .base_head import BaseHead
from .dlc_heatmap_head import DLCHeatmapHead, _build_codec, _numpy
from .topdown_heatmap_simple_head import Features

#: DEKRPredictor options a head's test_cfg may override
DEKR_PREDICTOR_KEYS = ('num_animals', 'detection_threshold', 'apply_sigmoid', 'clip_scores',
                       'use_heatmap', 'keypoint_score_type', 'max_absorb_distance',
                       'nms_threshold', 'apply_pose_nms')
HEATMAP_KEYS = ('channels', 'num_blocks', 'dilation_rate', 'final_conv_kernel')
OFFSET_KEYS = ('channels', 'num_offset_per_kpt', 'num_blocks', 'dilation_rate',
               'final_conv_kernel')
#: DeepLabCut's BatchNorm momentum in its blocks (``BaseBlock.bn_momentum``)
BN_MOMENTUM = 0.1


def sample_taps(x: Tensor, rows: Tensor, cols: Tensor) -> Tensor:
    """``x`` (N, C, H, W) read bilinearly at T positions per output cell as torchvision's
    ``deform_conv2d`` reads it (``bilinear_interpolate``: 0 for a point at or beyond one cell
    off the map, and a corner off the map counts 0).

    Args:
        rows, cols: (N, T, Ho, Wo) positions in input cells (row y, column x).
    Returns:
        (N, C, T·Ho, Wo) in float32 (float64 for float64 ``x``): one ``grid_sample`` over all
        taps, channels stacked (``.reshape(N, C·T, Ho, Wo)`` is a view with channel-major,
        tap-minor channels).
    """
    n, _, h, w = x.shape
    t, ho, wo = rows.shape[1:]
    # one cell of zeros around the map makes grid_sample's corners read 0 off the map, as
    # torchvision does (and keeps 1-cell maps normalisable); align_corners=True maps padded
    # cell p to -1 + 2p / (size - 1), and position y is padded cell y + 1
    # (positions in bf16 would be off by up to a cell: sampling stays in float32)
    dtype = torch.promote_types(x.dtype, torch.float32)
    padded = F.pad(x.to(dtype), (1, 1, 1, 1))
    sx, sy = 2 / (w + 1), 2 / (h + 1)
    grid = torch.stack([cols.to(dtype) * sx + (sx - 1), rows.to(dtype) * sy + (sy - 1)], -1)
    return F.grid_sample(padded, grid.reshape(n, t * ho, wo, 2), mode='bilinear',
                         padding_mode='zeros', align_corners=True)


def _tap_grid(kh: int, kw: int, ho: int, wo: int, stride: int, padding: int, dilation: int,
              like: Tensor) -> Tuple[Tensor, Tensor]:
    """Rows and columns (1, kh·kw, Ho, 1) and (1, kh·kw, 1, Wo) that tap t = i·kw + j of output
    cell (r, c) reads without offsets: ``r·stride - padding + i·dilation`` (columns alike), in
    the device and (at least float32) dtype of ``like``."""
    dev = like.device
    ty = (torch.arange(kh, device=dev) * dilation).repeat_interleave(kw)
    tx = (torch.arange(kw, device=dev) * dilation).repeat(kh)
    ry = torch.arange(ho, device=dev) * stride - padding
    rx = torch.arange(wo, device=dev) * stride - padding
    dtype = torch.promote_types(like.dtype, torch.float32)
    return ((ry[None, None, :, None] + ty[None, :, None, None]).to(dtype),
            (rx[None, None, None, :] + tx[None, :, None, None]).to(dtype))


def deform_conv2d(x: Tensor, offset: Tensor, weight: Tensor, stride: int = 1, padding: int = 0,
                  dilation: int = 1) -> Tensor:
    """torchvision's ``deform_conv2d`` (one offset group, no mask, no bias).

    Args:
        x: (B, C, H, W).
        offset: (B, 2·kh·kw, H_out, W_out): for kernel tap t = i·kw + j, channel 2t is the row
            (y) offset and 2t + 1 the column (x) offset, in input cells.
        weight: (O, C, kh, kw).

    Tap t of output cell (r, c) reads ``x`` bilinearly at ``(r·stride - padding + i·dilation +
    dy, c·stride - padding + j·dilation + dx)``, 0 outside the map (:func:`sample_taps`).
    Returns (B, O, H_out, W_out).
    """
    b, c, h, w = x.shape
    o, cw, kh, kw = weight.shape
    if cw != c:
        raise ValueError(f'deform_conv2d: weight takes {cw} channels, the input has {c}')
    ho = (h + 2 * padding - dilation * (kh - 1) - 1) // stride + 1
    wo = (w + 2 * padding - dilation * (kw - 1) - 1) // stride + 1
    taps = kh * kw
    if tuple(offset.shape) != (b, 2 * taps, ho, wo):
        raise ValueError(f'deform_conv2d: offset must be {(b, 2 * taps, ho, wo)}, got '
                         f'{tuple(offset.shape)}')
    off = offset.reshape(b, taps, 2, ho, wo)
    base_y, base_x = _tap_grid(kh, kw, ho, wo, stride, padding, dilation, x)
    sampled = sample_taps(x, base_y + off[:, :, 0], base_x + off[:, :, 1])
    # (B, C·T, Ho·Wo) is a view; the weights sum over (channel, tap): one matrix product
    out = torch.matmul(weight.reshape(o, c * taps), sampled.reshape(b, c * taps, ho * wo))
    return out.reshape(b, o, ho, wo)


class DeformConv2d(nn.Module):
    """torchvision's ``DeformConv2d`` without bias (key ``weight`` (O, C, k, k)), computed by
    :func:`deform_conv2d`."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 stride: int = 1, padding: int = 0, dilation: int = 1):
        super().__init__()
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size,
                                               kernel_size))
        # torchvision's reset_parameters
        nn.init.kaiming_uniform_(self.weight, a=5 ** 0.5)

    def forward(self, x: Tensor, offset: Tensor) -> Tensor:
        return deform_conv2d(x, offset, self.weight, self.stride, self.padding, self.dilation)


class DEKRBasicBlock(nn.Module):
    """DeepLabCut's ``BasicBlock`` (``conv_block.py:64-140``): two dilated 3×3 convolutions
    with BatchNorm, a residual and ReLUs; channels in = out (DEKR never downsamples)."""

    def __init__(self, channels: int, dilation: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, 1, padding=dilation, dilation=dilation,
                               bias=False)
        self.bn1 = nn.BatchNorm2d(channels, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, padding=dilation, dilation=dilation,
                               bias=False)
        self.bn2 = nn.BatchNorm2d(channels, momentum=BN_MOMENTUM)

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + x)


class AdaptBlock(nn.Module):
    """DeepLabCut's ``AdaptBlock`` (module docstring); channels in = out."""

    def __init__(self, channels: int, dilation: int = 1):
        super().__init__()
        # the regular 3×3 grid: row offsets (y) then column offsets (x) of the 9 taps
        regular = torch.tensor([[-1, -1, -1, 0, 0, 0, 1, 1, 1], [-1, 0, 1, -1, 0, 1, -1, 0, 1]])
        self.register_buffer('regular_matrix', regular.float())
        self.transform_matrix_conv = nn.Conv2d(channels, 4, 3, 1, 1, bias=True)
        self.translation_conv = nn.Conv2d(channels, 2, 3, 1, 1, bias=True)
        self.adapt_conv = DeformConv2d(channels, channels, 3, 1, padding=dilation,
                                       dilation=dilation)
        self.bn = nn.BatchNorm2d(channels, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        n, _, h, w = x.shape
        matrix = self.transform_matrix_conv(x).permute(0, 2, 3, 1).reshape(n * h * w, 2, 2)
        offset = torch.matmul(matrix, self.regular_matrix) - self.regular_matrix  # (NHW, 2, 9)
        offset = offset.transpose(1, 2).reshape(n, h, w, 18).permute(0, 3, 1, 2)
        translation = self.translation_conv(x)
        shift = torch.stack([translation[:, 0], translation[:, 1]], 1).repeat(1, 9, 1, 1)
        out = self.bn(self.adapt_conv(x, offset + shift))
        return self.relu(out + x)


def grouped_conv(convs: Sequence[nn.Conv2d], x: Tensor) -> Tensor:
    """K convolutions alike (C → O each), convolution k on channels ``k·C:(k+1)·C`` of ``x``
    (B, K·C, H, W), as one grouped convolution → (B, K·O, H', W') (their outputs in order)."""
    first = convs[0]
    weight = torch.cat([conv.weight for conv in convs])
    bias = None if first.bias is None else torch.cat([conv.bias for conv in convs])
    return F.conv2d(x, weight, bias, first.stride, first.padding, first.dilation,
                    groups=len(convs))


def grouped_batch_norm(norms: Sequence[nn.BatchNorm2d], x: Tensor) -> Tensor:
    """K BatchNorms alike (C channels each), BatchNorm k on channels ``k·C:(k+1)·C`` of ``x``,
    as one: the same outputs, gradients and running-statistics updates as calling each."""
    first = norms[0]
    track = first.track_running_stats and first.training
    if track:
        for norm in norms:
            norm.num_batches_tracked.add_(1)
    factor = first.momentum if first.momentum is not None else (
        1.0 / float(first.num_batches_tracked) if track else 0.0)
    stats = first.running_mean is not None and (track or not first.training)
    mean = torch.cat([n.running_mean for n in norms]) if stats else None
    var = torch.cat([n.running_var for n in norms]) if stats else None
    out = F.batch_norm(x, mean, var,
                       torch.cat([n.weight for n in norms]) if first.affine else None,
                       torch.cat([n.bias for n in norms]) if first.affine else None,
                       first.training or not stats, factor, first.eps)
    if track and stats:  # F.batch_norm updated the concatenated copies
        with torch.no_grad():
            for norm, m, v in zip(norms, mean.chunk(len(norms)), var.chunk(len(norms))):
                norm.running_mean.copy_(m)
                norm.running_var.copy_(v)
    return out


def grouped_adapt_blocks(blocks: Sequence['AdaptBlock'], x: Tensor) -> Tensor:
    """K :class:`AdaptBlock` s (P channels each), block k on channels ``k·P:(k+1)·P`` of ``x``
    (B, K·P, H, W), at once → (B, K·P, H, W): the same function as
    ``torch.cat([block(x_k) for ...], 1)`` with one grouped convolution for the transforms
    and translations, one ``grid_sample`` for every keypoint's taps and one batched matrix
    product for the deformable convolutions' weights."""
    k = len(blocks)
    b, kp, h, w = x.shape
    p = kp // k
    first = blocks[0]
    conv = first.adapt_conv
    kh, kw = conv.weight.shape[-2:]
    # per block: 4 transform channels (row-major 2×2 M), then 2 translation channels (dy, dx)
    weight = torch.cat([torch.cat([blk.transform_matrix_conv.weight,
                                   blk.translation_conv.weight]) for blk in blocks])
    bias = torch.cat([torch.cat([blk.transform_matrix_conv.bias, blk.translation_conv.bias])
                      for blk in blocks])
    affine = F.conv2d(x, weight, bias, 1, 1, groups=k)
    affine = affine.to(torch.promote_types(affine.dtype, torch.float32))
    m = affine.reshape(b, k, 6, 1, h, w).unbind(2)  # each (B, K, 1, H, W)
    regular = torch.stack([blk.regular_matrix for blk in blocks]).to(affine.dtype)  # (K, 2, T)
    ry, rx = regular[:, 0, :, None, None], regular[:, 1, :, None, None]  # (K, T, 1, 1)
    # tap t reads (row, col) + (dy, dx), (dy, dx) = M·(ry, rx) - (ry, rx) + translation
    base_y, base_x = _tap_grid(kh, kw, h, w, 1, conv.padding, conv.dilation, affine)
    rows = base_y + (m[0] * ry + m[1] * rx - ry) + m[4]  # (B, K, T, H, W)
    cols = base_x + (m[2] * ry + m[3] * rx - rx) + m[5]
    taps = kh * kw
    sampled = sample_taps(x.reshape(b * k, p, h, w), rows.reshape(b * k, taps, h, w),
                          cols.reshape(b * k, taps, h, w))  # (B·K, P, T·H, W)
    weights = torch.stack([blk.adapt_conv.weight for blk in blocks])  # (K, O, P, kh, kw)
    out = torch.matmul(weights.reshape(k, -1, p * taps),
                       sampled.reshape(b, k, p * taps, h * w)).reshape(b, -1, h, w)
    out = grouped_batch_norm([blk.bn for blk in blocks], out)
    return torch.relu(out + x)


def _config(cfg, keys: Sequence[str], name: str) -> dict:
    if not isinstance(cfg, Mapping):
        raise ValueError(f'DEKRHead: {name} must be a dict with keys {", ".join(keys)}, got '
                         f'{cfg!r}')
    unknown = [k for k in cfg if k not in keys]
    missing = [k for k in keys if k not in cfg]
    if unknown or missing:
        raise ValueError(f'DEKRHead: {name} ' + (f'has unknown keys {unknown}' if unknown else
                                                 f'lacks {missing}') + f'; it takes '
                         f'{", ".join(keys)}')
    out = dict(cfg)
    channels = list(out['channels'])
    if len(channels) != 3 or not all(isinstance(c, int) and c > 0 for c in channels):
        raise ValueError(f'DEKRHead: {name}.channels must be three positive integers, got '
                         f'{out["channels"]!r}')
    for key in keys[1:]:
        if isinstance(out[key], bool) or not isinstance(out[key], int) or out[key] < 1:
            raise ValueError(f'DEKRHead: {name}.{key} must be a positive integer, got '
                             f'{out[key]!r}')
    if out['final_conv_kernel'] not in (1, 3):
        # DeepLabCut pads 1 for kernel 3 and 0 otherwise: other kernels change the map size
        raise ValueError(f'DEKRHead: {name}.final_conv_kernel must be 1 or 3, got '
                         f'{out["final_conv_kernel"]!r}')
    out['channels'] = channels
    return out


def _final_conv(c_in: int, c_out: int, kernel: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, kernel, 1, padding=1 if kernel == 3 else 0)


def _transition(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 1, 1, 0, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(True))


class DEKRHeatmap(nn.Module):
    """DeepLabCut's ``DEKRHeatmap``: (B, C_in, H, W) → (B, K + 1, H, W)."""

    def __init__(self, channels: Sequence[int], num_blocks: int, dilation_rate: int,
                 final_conv_kernel: int):
        super().__init__()
        c_in, c, out = channels
        self.in_channels = c_in
        self.transition_heatmap = _transition(c_in, c)
        blocks = nn.Sequential(*[DEKRBasicBlock(c, dilation_rate) for _ in range(num_blocks)])
        self.head_heatmap = nn.ModuleList([blocks, _final_conv(c, out, final_conv_kernel)])

    def forward(self, x: Tensor) -> Tensor:
        return self.head_heatmap[1](self.head_heatmap[0](self.transition_heatmap(x)))


class DEKROffset(nn.Module):
    """DeepLabCut's ``DEKROffset``: (B, C_in, H, W) → (B, 2K, H, W) offsets (x, y per
    keypoint)."""

    def __init__(self, channels: Sequence[int], num_offset_per_kpt: int, num_blocks: int,
                 dilation_rate: int, final_conv_kernel: int):
        super().__init__()
        c_in, c, k = channels
        if c != num_offset_per_kpt * k:
            raise ValueError(f'DEKRHead: offset_config.channels[1] must be num_offset_per_kpt '
                             f'× channels[2] = {num_offset_per_kpt * k}, got {c}')
        self.num_joints, self.offset_perkpt = k, num_offset_per_kpt
        self.transition_offset = _transition(c_in, c)
        self.offset_feature_layers = nn.ModuleList(
            nn.Sequential(*[AdaptBlock(num_offset_per_kpt, dilation_rate)
                            for _ in range(num_blocks)]) for _ in range(k))
        self.offset_final_layer = nn.ModuleList(
            _final_conv(num_offset_per_kpt, 2, final_conv_kernel) for _ in range(k))

    #: run the K keypoints' branches as grouped operations (:func:`grouped_adapt_blocks`);
    #: False runs DeepLabCut's loop over keypoints (the same function, K times the calls)
    grouped = True

    def forward(self, x: Tensor) -> Tensor:
        feats = self.transition_offset(x)
        if self.grouped:
            for i in range(len(self.offset_feature_layers[0])):
                feats = grouped_adapt_blocks([layers[i] for layers in
                                              self.offset_feature_layers], feats)
            return grouped_conv(self.offset_final_layer, feats)
        p = self.offset_perkpt
        return torch.cat([final(layers(feats[:, j * p:(j + 1) * p])) for j, (layers, final)
                          in enumerate(zip(self.offset_feature_layers,
                                           self.offset_final_layer))], dim=1)


@MODELS.register_module()
class DEKRHead(BaseHead):
    """DeepLabCut 3's ``DEKRHead`` (module docstring).

    Args (DeepLabCut's):
        predictor: a ``DEKRPredictor`` config (type may be left out).
        target_generator: a ``DEKRGenerator`` config.
        criterion: ``dict(heatmap=dict(type='DEKRHeatmapLoss', weight=1), offset=dict(type=
            'DEKROffsetLoss', weight=0.03))``, aggregated by ``WeightedLossAggregator``.
        heatmap_config: ``channels [C_in, C, K + 1]``, ``num_blocks``, ``dilation_rate``,
            ``final_conv_kernel`` (1 or 3).
        offset_config: ``channels [C_in, K·P, K]``, ``num_offset_per_kpt`` P, ``num_blocks``,
            ``dilation_rate``, ``final_conv_kernel``.
        weight_init: ``'dekr'`` (DeepLabCut's default; ``models/weight_init.py`` ``Dekr``: every
            parameter named ``*bias*`` 0, every other N(0, 0.001) — BatchNorm scales included),
            ``'normal'`` (the same numbers), a dict with ``type`` and ``std``, or None.
        stride: head stride (outputs per feature cell; 1 for DEKR).
    posecfg's:
        backbone_stride: input pixels per feature cell (None: inferred as
            :class:`DLCHeatmapHead` does).
        in_index: which backbone output to use.
        test_cfg: predictor options to override at test time (``DEKR_PREDICTOR_KEYS``).
        init_cfg: mmengine init config.

    ``forward(feats)`` → ``dict(heatmap=(B, K + 1, H, W), offset=(B, 2K, H, W))``; ``loss`` →
    ``total_loss``, ``heatmap``, ``offset``; ``decode`` → per sample ``keypoints`` (N, K, 2)
    input pixels and ``keypoint_scores`` (N, K), N ≤ ``num_animals``.
    """

    option_keys = {'test_cfg': DEKR_PREDICTOR_KEYS, 'heatmap_config': HEATMAP_KEYS,
                   'offset_config': OFFSET_KEYS, 'weight_init': ('type', 'std')}
    example_args = dict(
        predictor=dict(type='DEKRPredictor', num_animals=2, apply_sigmoid=False,
                       use_heatmap=False, clip_scores=True),
        target_generator=dict(type='DEKRGenerator', num_joints=3, pos_dist_thresh=17),
        criterion=dict(heatmap=dict(type='DEKRHeatmapLoss', weight=1),
                       offset=dict(type='DEKROffsetLoss', weight=0.03)),
        heatmap_config=dict(channels=[8, 4, 4], num_blocks=1, dilation_rate=1,
                            final_conv_kernel=1),
        offset_config=dict(channels=[8, 6, 3], num_offset_per_kpt=2, num_blocks=1,
                           dilation_rate=1, final_conv_kernel=1))
    #: one stride-4 map (HRNet's branch 0) of the (48, 64) example input
    example_feature_shapes = ((2, 8, 16, 12),)
    TARGET_KEYS = {'heatmap': ('heatmaps', 'heatmap_weights'),
                   'offset': ('offset_maps', 'offset_weights')}
    output_names = ('heatmap', 'offset')
    # criteria, stride, feature selection and loss (one criterion per output, aggregated)
    # are DLCHeatmapHead's
    _finish_init = DLCHeatmapHead._finish_init
    model_stride = DLCHeatmapHead.model_stride
    select = DLCHeatmapHead.select
    loss = DLCHeatmapHead.loss
    labels = DLCHeatmapHead.labels

    def __init__(self, predictor: dict, target_generator: dict, criterion: dict,
                 heatmap_config: dict, offset_config: dict, weight_init='dekr',
                 stride: float = 1, backbone_stride: Optional[float] = None,
                 in_index: int = -1, test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(codec=None, test_cfg=test_cfg, init_cfg=init_cfg)
        owner = type(self).__name__
        self.predictor = _build_codec({'type': 'DEKRPredictor', **dict(predictor),
                                       **self.test_cfg}, DEKRPredictor, 'predictor', owner)
        self.target_generator = _build_codec(target_generator, DEKRGenerator,
                                             'target_generator', owner)
        self.codec = self.predictor
        heatmap_config = _config(heatmap_config, HEATMAP_KEYS, 'heatmap_config')
        offset_config = _config(offset_config, OFFSET_KEYS, 'offset_config')
        k = self.target_generator.num_joints
        if heatmap_config['channels'][2] != k + 1:
            raise ValueError(f'{owner}: heatmap_config.channels[2] must be num_joints + 1 = '
                             f'{k + 1} (the keypoints and the centre), got '
                             f'{heatmap_config["channels"][2]}')
        if offset_config['channels'][2] != k:
            raise ValueError(f'{owner}: offset_config.channels[2] must be num_joints = {k}, '
                             f'got {offset_config["channels"][2]}')
        if heatmap_config['channels'][0] != offset_config['channels'][0]:
            raise ValueError(f'{owner}: heatmap_config and offset_config read the same '
                             f'features: channels[0] {heatmap_config["channels"][0]} != '
                             f'{offset_config["channels"][0]}')
        self.heatmap_head = DEKRHeatmap(**heatmap_config)
        self.offset_head = DEKROffset(**offset_config)
        if isinstance(stride, bool) or not isinstance(stride, (int, float)) or not stride > 0:
            raise ValueError(f'{owner}: stride must be a positive number, got {stride!r}')
        self.stride = stride
        if isinstance(weight_init, str) and weight_init.lower() == 'dekr':
            weight_init = 'normal'  # DeepLabCut's Dekr initializer gives Normal's numbers
        elif isinstance(weight_init, Mapping) and str(weight_init.get('type')).lower() == 'dekr':
            weight_init = dict(weight_init, type='normal')
        self._finish_init(criterion, backbone_stride, in_index, weight_init)
        if self.aggregator is None:
            raise ValueError(f'{owner}: criterion must give one criterion per output '
                             f'(heatmap, offset)')

    @property
    def head_stride(self) -> float:
        return self.stride

    def forward(self, feats: Features) -> Dict[str, Tensor]:
        x = self.select(feats)
        return {'heatmap': self.heatmap_head(x), 'offset': self.offset_head(x)}

    def targets(self, batch: dict, stride: float, heatmap_size: Tuple[int, int]) -> dict:
        """The generator's targets (numpy, leading B axis); instance areas from the batch's
        ``bboxes`` (``max(1, w) · max(1, h)``, DeepLabCut's) when it has them."""
        generator = self.target_generator.at(stride, heatmap_size)
        keypoints, visible = self.labels(batch, generator.batch_key)
        areas = None
        if batch.get('bboxes') is not None:
            areas = []
            for boxes in batch['bboxes']:
                boxes = _numpy(boxes).reshape(-1, 4).astype(np.float32)
                areas.append(np.maximum(1, boxes[:, 2]) * np.maximum(1, boxes[:, 3]))
        return generator.encode_batch(keypoints, visible, areas)

    def decode(self, outputs, input_size: Tuple[int, int]) -> List[dict]:
        height, width = outputs['heatmap'].shape[-2:]
        stride = self.model_stride(input_size, (width, height))
        found = self.predictor.at(stride).predict(outputs)
        poses = found['poses'].cpu().numpy().astype(np.float32)
        kept = found['kept'].cpu().numpy()
        return [dict(keypoints=p[m, :, :2].copy(), keypoint_scores=p[m, :, 2].copy())
                for p, m in zip(poses, kept)]
