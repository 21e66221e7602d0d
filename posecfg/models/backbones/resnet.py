"""ResNet and ResNetV1d with MMPose 0.x's constructor and torchvision's state-dict key layout.

Keys: ``conv1``, ``bn1``, ``layer{1..4}.{j}.conv{1,2[,3]}``, ``.bn{1,2[,3]}``,
``.downsample.{0,1}`` (``.downsample.{1,2}`` after the AvgPool with ``avg_down``), which is
torchvision's, timm's and MMPose/mmcls's layout, so their checkpoints load unchanged (their
``fc.*`` / ``head.*`` keys are reported as unexpected and ignored). With ``deep_stem`` the stem is
``stem.{0,1,2}.{conv,bn}`` (mmcls ResNetV1d); timm's ``resnet*d`` stem is converted. Lightning
Pose's checkpoints hold the trunk as ``nn.Sequential(*children[:-2])`` (``0`` = conv1, ``1`` =
bn1, ``4..7`` = layer1..4): converted too (:data:`LIGHTNING_POSE_KEYS`).

timm's options used by DeepLabCut 3 (``deeplabcut/pose_estimation_pytorch/models/backbones/
resnet.py`` builds ``timm.create_model(model_name, output_stride, drop_path_rate,
drop_block_rate)``) are constructor arguments here: ``norm_cfg=dict(type='GN', num_groups=32)``
is timm's ``resnet50_gn``; ``output_stride`` dilates the last stages by timm's rule
(``timm/models/resnet.py``, ``make_blocks``); ``drop_path_rate`` and ``drop_block_rate`` as
there. Keys stay timm's, so a DeepLabCut snapshot's ``backbone.model.*`` tensors are this
module's keys behind ``model.``.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import ConvModule, build_conv_layer, build_norm_layer
from mmengine.model import kaiming_init

from ...registry import MODELS
from ..utils.key_mapping import rename_keys
from ..utils.module_hooks import has_hooks
from .base import (BaseBackbone, check_frozen_stages, check_out_indices, copy_cfg,
                   init_from_scratch)
from .conv_norm import conv_norm, run_layers
from .drop import linear_drop_path_rates, make_drop_path, optional_drop_block


#: norms whose backward keeps their input, not their output: the residual branch's last norm
#: output may take the shortcut in place
_INPUT_SAVING_NORMS = (nn.GroupNorm, nn.BatchNorm2d, nn.SyncBatchNorm)


class _ResidualBlock(nn.Module):
    """A block computing ``relu(_residual(x))``; subclasses define ``_residual``."""

    def _add_shortcut(self, out: torch.Tensor, identity: torch.Tensor) -> torch.Tensor:
        """``out + identity`` for the residual branch's output ``out``; in place into ``out``
        (no new (N, C, H, W) tensor: a bf16 (8, 256, 112, 112) add 43 → 19 ms on one thread)
        when ``out`` is the last norm's fresh output no one else sees: a plain norm whose
        backward keeps its input, no forward hooks on it (a feature tap keeps the output), no
        drop path, the same dtype and shape (no promotion or broadcast). Not while compiling
        (the storage test would break the graph; inductor fuses the add anyway) nor where
        hooks run (a backward hook's output is a view that cannot change in place)."""
        norm = self.last_norm
        if (not torch.compiler.is_compiling() and type(self.drop_path) is nn.Identity
                and isinstance(norm, _INPUT_SAVING_NORMS) and not has_hooks(norm)
                and not has_hooks(self.drop_path)
                and out.dtype == identity.dtype and out.shape == identity.shape
                and out.data_ptr() != identity.data_ptr()):
            return out.add_(identity)
        return out + identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            # recompute the block in backward instead of keeping its activations
            out = cp.checkpoint(self._residual, x, use_reentrant=False)
        else:
            out = self._residual(x)
        return self.relu(out)


class BasicBlock(_ResidualBlock):
    """Two 3x3 convs with an identity shortcut: (N, C_in, H, W) → (N, C_out, H/s, W/s)."""

    expansion = 1

    def __init__(self, in_channels: int, out_channels: int, expansion: int = 1, stride: int = 1,
                 dilation: int = 1, downsample: Optional[nn.Module] = None,
                 style: str = 'pytorch', with_cp: bool = False, conv_cfg=None,
                 norm_cfg=dict(type='BN'), first_dilation: Optional[int] = None,
                 drop_block: Optional[nn.Module] = None, drop_path_rate: float = 0.0):
        super().__init__()
        if expansion != 1:
            raise ValueError(f'BasicBlock: expansion={expansion} must be 1')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.mid_channels = out_channels
        self.stride, self.dilation, self.style, self.with_cp = stride, dilation, style, with_cp
        d1 = dilation if first_dilation is None else first_dilation
        self.conv1 = build_conv_layer(conv_cfg, in_channels, out_channels, 3, stride=stride,
                                      padding=d1, dilation=d1, bias=False)
        self.bn1 = build_norm_layer(copy_cfg(norm_cfg), out_channels)[1]
        self.conv2 = build_conv_layer(conv_cfg, out_channels, out_channels, 3, padding=1,
                                      bias=False)
        self.bn2 = build_norm_layer(copy_cfg(norm_cfg), out_channels)[1]
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        # timm's places: DropBlock after the first norm, drop path on the residual branch
        self.drop_block = drop_block if drop_block is not None else nn.Identity()
        self.drop_path = make_drop_path(drop_path_rate)

    @property
    def last_norm(self) -> nn.Module:
        """The norm zero-initialised by ``zero_init_residual``."""
        return self.bn2

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.drop_block(conv_norm(self.conv1, self.bn1, x, self.training)))
        out = self.drop_path(conv_norm(self.conv2, self.bn2, out, self.training))
        return self._add_shortcut(out, shortcut(self.downsample, x, self.training))


class Bottleneck(_ResidualBlock):
    """1x1 → 3x3 → 1x1 convs (``out_channels / expansion`` in the middle) plus a shortcut.

    ``style='pytorch'`` puts the stride on the 3x3 conv (torchvision, "ResNet v1.5"),
    ``'caffe'`` on the first 1x1 conv (the original paper). ``first_dilation`` (default
    ``dilation``) dilates the 3x3 conv; ``drop_block`` follows the 3x3 conv's norm and
    ``drop_path_rate`` drops the residual branch before the shortcut is added (timm's places).
    """

    expansion = 4

    def __init__(self, in_channels: int, out_channels: int, expansion: int = 4, stride: int = 1,
                 dilation: int = 1, downsample: Optional[nn.Module] = None,
                 style: str = 'pytorch', with_cp: bool = False, conv_cfg=None,
                 norm_cfg=dict(type='BN'), first_dilation: Optional[int] = None,
                 drop_block: Optional[nn.Module] = None, drop_path_rate: float = 0.0):
        super().__init__()
        if style not in ('pytorch', 'caffe'):
            raise ValueError(f"ResNet: style={style!r} must be 'pytorch' or 'caffe'")
        if out_channels % expansion:
            raise ValueError(f'Bottleneck: out_channels={out_channels} is not divisible by '
                             f'expansion={expansion}')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.mid_channels = mid = out_channels // expansion
        self.stride, self.dilation, self.style, self.with_cp = stride, dilation, style, with_cp
        conv1_stride, conv2_stride = (1, stride) if style == 'pytorch' else (stride, 1)
        self.conv1 = build_conv_layer(conv_cfg, in_channels, mid, 1, stride=conv1_stride,
                                      bias=False)
        self.bn1 = build_norm_layer(copy_cfg(norm_cfg), mid)[1]
        d2 = dilation if first_dilation is None else first_dilation
        self.conv2 = build_conv_layer(conv_cfg, mid, mid, 3, stride=conv2_stride,
                                      padding=d2, dilation=d2, bias=False)
        self.bn2 = build_norm_layer(copy_cfg(norm_cfg), mid)[1]
        self.conv3 = build_conv_layer(conv_cfg, mid, out_channels, 1, bias=False)
        self.bn3 = build_norm_layer(copy_cfg(norm_cfg), out_channels)[1]
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.drop_block = drop_block if drop_block is not None else nn.Identity()
        self.drop_path = make_drop_path(drop_path_rate)

    @property
    def last_norm(self) -> nn.Module:
        return self.bn3

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(conv_norm(self.conv1, self.bn1, x, self.training))
        out = self.relu(self.drop_block(conv_norm(self.conv2, self.bn2, out, self.training)))
        out = self.drop_path(conv_norm(self.conv3, self.bn3, out, self.training))
        return self._add_shortcut(out, shortcut(self.downsample, x, self.training))


def shortcut(downsample: Optional[nn.Module], x: torch.Tensor, training: bool) -> torch.Tensor:
    """A residual block's shortcut: ``x``, or the projection (a conv + norm ``nn.Sequential``
    runs through :func:`~.conv_norm.run_layers`; ``training``: the block's mode)."""
    if downsample is None:
        return x
    return run_layers(downsample, x, training) if type(downsample) is nn.Sequential \
        else downsample(x)


def make_downsample(in_channels: int, out_channels: int, stride: int, avg_down: bool,
                    conv_cfg=None, norm_cfg=dict(type='BN')) -> Optional[nn.Sequential]:
    """Shortcut projection, or None when the identity fits.

    ``avg_down`` (ResNet-D) averages 2x2 before a stride-1 1x1 conv instead of a stride-2 1x1
    conv that skips 3/4 of the input; the AvgPool is index 0, as in mmcls and timm.
    """
    if stride == 1 and in_channels == out_channels:
        return None
    layers: List[nn.Module] = []
    conv_stride = stride
    if avg_down and stride != 1:
        conv_stride = 1
        layers.append(nn.AvgPool2d(kernel_size=stride, stride=stride, ceil_mode=True,
                                   count_include_pad=False))
    layers.append(build_conv_layer(conv_cfg, in_channels, out_channels, 1, stride=conv_stride,
                                   bias=False))
    layers.append(build_norm_layer(copy_cfg(norm_cfg), out_channels)[1])
    return nn.Sequential(*layers)


class ResLayer(nn.Sequential):
    """``num_blocks`` blocks; the first one strides and projects the shortcut.

    ``first_dilation``: dilation of the first block's 3x3 conv (default ``dilation``; timm and
    mmseg's ``contract_dilation`` give it the previous stage's dilation). ``drop_path_rates``:
    one rate per block. ``drop_block``: a factory called once per block, or None.
    """

    def __init__(self, block, num_blocks: int, in_channels: int, out_channels: int,
                 expansion: int, stride: int = 1, avg_down: bool = False, conv_cfg=None,
                 norm_cfg=dict(type='BN'), first_dilation: Optional[int] = None,
                 drop_path_rates: Optional[Sequence[float]] = None, drop_block=None,
                 **block_kwargs):
        downsample = make_downsample(in_channels, out_channels, stride, avg_down, conv_cfg,
                                     norm_cfg)
        rates = list(drop_path_rates) if drop_path_rates is not None else [0.0] * num_blocks
        blocks = []
        for j in range(num_blocks):
            blocks.append(block(
                in_channels if j == 0 else out_channels, out_channels, expansion=expansion,
                stride=stride if j == 0 else 1, downsample=downsample if j == 0 else None,
                conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                first_dilation=first_dilation if j == 0 else None,
                drop_block=drop_block() if drop_block else None, drop_path_rate=rates[j],
                **block_kwargs))
        super().__init__(*blocks)


# timm's resnet*d deep stem (conv1 = Sequential(conv, bn, relu, conv, bn, relu, conv), then bn1)
# → mmcls/MMPose ResNetV1d's stem of three ConvModules.
TIMM_DEEP_STEM_KEYS = (
    (r'^conv1\.0\.', 'stem.0.conv.'),
    (r'^conv1\.1\.', 'stem.0.bn.'),
    (r'^conv1\.3\.', 'stem.1.conv.'),
    (r'^conv1\.4\.', 'stem.1.bn.'),
    (r'^conv1\.6\.', 'stem.2.conv.'),
    (r'^bn1\.', 'stem.2.bn.'),
)


# Lightning Pose (``lightning_pose/models/backbones/factory.py``, ``grab_layers_sequential``):
# the trunk is ``nn.Sequential(*list(resnet.children())[:-2])`` for heatmap models, i.e.
# conv1, bn1, relu, maxpool, layer1..layer4 numbered 0..7 (regression models add avgpool, 8,
# which has no parameters), stored in the LightningModule as ``backbone.<index>.*``.
LIGHTNING_POSE_KEYS = (
    (r'^0\.', 'conv1.'),
    (r'^1\.', 'bn1.'),
    (r'^4\.', 'layer1.'),
    (r'^5\.', 'layer2.'),
    (r'^6\.', 'layer3.'),
    (r'^7\.', 'layer4.'),
)


def output_stride_settings(owner: str, output_stride: int, num_stages: int,
                           strides: Sequence[int], dilations: Sequence[int]
                           ) -> Tuple[Tuple[int, ...], Tuple[int, ...]]:
    """Per-stage strides and dilations for ``output_stride`` by timm's rule (``make_blocks``):
    the stem gives 4; each later stage halves the resolution until ``output_stride`` is reached,
    after which it keeps the resolution and multiplies the dilation by 2 instead."""
    if output_stride not in (8, 16, 32):
        raise ValueError(f'{owner}: output_stride={output_stride!r} must be 8, 16 or 32')
    if num_stages != 4 or tuple(strides) != (1, 2, 2, 2) or tuple(dilations) != (1, 1, 1, 1):
        raise ValueError(f'{owner}: output_stride={output_stride} sets the strides and dilations '
                         f'of four stages itself; leave strides, dilations and num_stages at '
                         f'their defaults (got {tuple(strides)}, {tuple(dilations)}, '
                         f'{num_stages})')
    out_strides, out_dilations, net_stride, dilation = [], [], 4, 1
    for i in range(4):
        stride = 1 if i == 0 else 2
        if net_stride >= output_stride:
            dilation, stride = dilation * stride, 1
        else:
            net_stride *= stride
        out_strides.append(stride)
        out_dilations.append(dilation)
    return tuple(out_strides), tuple(out_dilations)


@MODELS.register_module()
class ResNet(BaseBackbone):
    """ResNet (He et al. 2016), MMPose 0.x's ``ResNet`` constructor.

    Args:
        depth: 18, 34, 50, 101 or 152.
        in_channels: input image channels.
        stem_channels: channels after the stem; base_channels: mid channels of stage 1.
        expansion: block expansion (default 1 for BasicBlock, 4 for Bottleneck).
        num_stages: 1..4 stages; strides / dilations: per stage.
        out_indices: which stages' outputs ``forward`` returns (0-based).
        style: ``'pytorch'`` (stride on the 3x3 conv) or ``'caffe'``.
        deep_stem: three 3x3 convs instead of the 7x7 (ResNet-C); avg_down: AvgPool shortcut.
        frozen_stages: -1 nothing, 0 the stem, k the stem and stages 1..k (no grads, eval mode).
        conv_cfg, norm_cfg: mmcv layer configs; norm_eval: BN layers stay in eval mode in train().
        freeze_norm_weights: BN weights and biases are not trained (``requires_grad=False``).
        with_cp: gradient checkpointing per block; zero_init_residual: last BN of each block
            starts at 0 so every block starts as the identity.
        output_stride: 8, 16 or 32 (four stages only): instead of ``strides`` / ``dilations``,
            timm's rule: once the stride reaches ``output_stride`` the later stages keep the
            resolution and dilate by the stride they skip (16: strides (1, 2, 2, 1), dilations
            (1, 1, 1, 2); 8: (1, 2, 1, 1), (1, 1, 2, 4)), with ``contract_dilation``.
        contract_dilation: the first block of a dilated stage uses half its dilation (the
            previous stage's), as timm and mmseg do; exact for Bottleneck depths (the only
            3x3 conv). BasicBlock's second conv is never dilated (MMPose), unlike timm's.
        drop_path_rate: stochastic depth, rising linearly over all blocks from 0 to this
            (timm's rule); drop_block_rate: DropBlock in stage 3 (block 5, gamma scale 0.25)
            and stage 4 (block 3, scale 1.0), timm's ``drop_blocks``. Both act in training only.
        init_cfg: mmengine init config; ``dict(type='Pretrained', checkpoint=...)`` loads through
            :func:`posecfg.models.utils.load_pretrained`.

    Shapes: (N, in_channels, H, W) → tuple of (N, base_channels * expansion * 2**i, H / s_i,
    W / s_i) for i in out_indices, s = (4, 8, 16, 32) with the default strides and dilations.
    """

    arch_settings = {
        18: (BasicBlock, (2, 2, 2, 2)),
        34: (BasicBlock, (3, 4, 6, 3)),
        50: (Bottleneck, (3, 4, 6, 3)),
        101: (Bottleneck, (3, 4, 23, 3)),
        152: (Bottleneck, (3, 8, 36, 3)),
    }
    example_args = dict(depth=18)

    def __init__(self, depth: int, in_channels: int = 3, stem_channels: int = 64,
                 base_channels: int = 64, expansion: Optional[int] = None, num_stages: int = 4,
                 strides: Sequence[int] = (1, 2, 2, 2), dilations: Sequence[int] = (1, 1, 1, 1),
                 out_indices: Sequence[int] = (3,), style: str = 'pytorch',
                 deep_stem: bool = False, avg_down: bool = False, frozen_stages: int = -1,
                 conv_cfg=None, norm_cfg=dict(type='BN', requires_grad=True),
                 norm_eval: bool = False, with_cp: bool = False, zero_init_residual: bool = True,
                 output_stride: Optional[int] = None, contract_dilation: bool = False,
                 drop_path_rate: float = 0.0, drop_block_rate: float = 0.0,
                 freeze_norm_weights: bool = False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        name = type(self).__name__
        if depth not in self.arch_settings:
            raise ValueError(f'{name}: depth={depth!r} is not one of '
                             f'{", ".join(map(str, self.arch_settings))}')
        if not 1 <= num_stages <= 4:
            raise ValueError(f'{name}: num_stages={num_stages!r} must be 1, 2, 3 or 4')
        if output_stride is not None:
            strides, dilations = output_stride_settings(
                name, output_stride, num_stages, strides, dilations)
            contract_dilation = True
        if not 0.0 <= drop_block_rate < 1.0:
            raise ValueError(f'{name}: drop_block_rate={drop_block_rate!r} must be in [0, 1)')
        if len(strides) != num_stages or len(dilations) != num_stages:
            raise ValueError(f'{name}: strides={tuple(strides)} and dilations={tuple(dilations)} '
                             f'must each have num_stages={num_stages} entries')
        if style not in ('pytorch', 'caffe'):
            raise ValueError(f"{name}: style={style!r} must be 'pytorch' or 'caffe'")
        self.depth, self.num_stages = depth, num_stages
        self.stem_channels, self.base_channels = stem_channels, base_channels
        self.strides, self.dilations = tuple(strides), tuple(dilations)
        self.out_indices = check_out_indices(name, out_indices, num_stages)
        self.style, self.deep_stem, self.avg_down = style, deep_stem, avg_down
        self.frozen_stages = check_frozen_stages(name, frozen_stages, num_stages)
        self.conv_cfg, self.norm_cfg = conv_cfg, copy_cfg(norm_cfg)
        self.norm_eval, self.with_cp = norm_eval, with_cp
        self.freeze_norm_weights = freeze_norm_weights
        self.zero_init_residual = zero_init_residual
        self.output_stride, self.contract_dilation = output_stride, contract_dilation
        self.drop_path_rate, self.drop_block_rate = drop_path_rate, drop_block_rate
        self.block, stage_blocks = self.arch_settings[depth]
        self.stage_blocks = stage_blocks[:num_stages]
        self.expansion = self.block.expansion if expansion is None else expansion

        self._make_stem(in_channels, stem_channels)
        self.res_layers, stage_channels = self._make_stages()
        self.feat_dim = stage_channels[-1]
        stage_strides = self._stage_strides()
        self.out_channels = tuple(stage_channels[i] for i in self.out_indices)
        self.out_strides = tuple(stage_strides[i] for i in self.out_indices)
        self._freeze_stages()

    # ---------------------------------------------------------------- construction
    def _make_stem(self, in_channels: int, stem_channels: int) -> None:
        """7x7/2 conv + BN + ReLU (or three 3x3 ConvModules with deep_stem), then 3x3/2 max-pool."""
        if self.deep_stem:
            half = stem_channels // 2
            self.stem = nn.Sequential(
                ConvModule(in_channels, half, 3, stride=2, padding=1, conv_cfg=self.conv_cfg,
                           norm_cfg=self.norm_cfg, inplace=True),
                ConvModule(half, half, 3, stride=1, padding=1, conv_cfg=self.conv_cfg,
                           norm_cfg=self.norm_cfg, inplace=True),
                ConvModule(half, stem_channels, 3, stride=1, padding=1, conv_cfg=self.conv_cfg,
                           norm_cfg=self.norm_cfg, inplace=True))
        else:
            self.conv1 = build_conv_layer(self.conv_cfg, in_channels, stem_channels, 7,
                                          stride=2, padding=3, bias=False)
            self.bn1 = build_norm_layer(copy_cfg(self.norm_cfg), stem_channels)[1]
            self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

    def _make_stages(self) -> Tuple[List[str], List[int]]:
        """``layer1..layerN``; returns their names and output channels."""
        names, channels = [], []
        in_ch, out_ch = self.stem_channels, self.base_channels * self.expansion
        rates = iter(linear_drop_path_rates(self.drop_path_rate, sum(self.stage_blocks)))
        for i, num_blocks in enumerate(self.stage_blocks):
            dilation = self.dilations[i]
            first = dilation // 2 if self.contract_dilation and dilation > 1 else None
            layer = ResLayer(self.block, num_blocks, in_ch, out_ch, self.expansion,
                             stride=self.strides[i], avg_down=self.avg_down,
                             conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                             dilation=dilation, first_dilation=first, style=self.style,
                             with_cp=self.with_cp,
                             drop_path_rates=[next(rates) for _ in range(num_blocks)],
                             drop_block=self._drop_block_factory(i))
            self.add_module(f'layer{i + 1}', layer)
            names.append(f'layer{i + 1}')
            channels.append(out_ch)
            in_ch, out_ch = out_ch, out_ch * 2
        return names, channels

    def _drop_block_factory(self, stage: int):
        """timm's ``drop_blocks``: none in stages 1-2, (5, 0.25) in stage 3, (3, 1.0) in 4."""
        if not self.drop_block_rate or stage < 2:
            return None
        size, scale = ((5, 0.25), (3, 1.0))[stage - 2]
        return lambda: optional_drop_block(self.drop_block_rate, size, scale)

    def _stage_strides(self) -> List[int]:
        """Output stride of each stage: the stem's 4 times the product of stage strides."""
        strides, total = [], 4
        for s in self.strides:
            total *= s
            strides.append(total)
        return strides

    @property
    def norm1(self) -> nn.Module:
        """MMPose's name for the stem BN (``bn1``)."""
        return self.bn1

    # ---------------------------------------------------------------- BaseBackbone hooks
    def _stage_modules(self, index: int) -> List[nn.Module]:
        if index == 0:
            return [self.stem] if self.deep_stem else [self.conv1, self.bn1]
        return [getattr(self, f'layer{index}')]

    def _init_from_scratch(self) -> None:
        """Kaiming-normal convs, BN weight 1 / bias 0; zero last BN per block if asked."""
        init_from_scratch(self, kaiming_init, self.zero_init_residual)

    def convert_pretrained(self, state_dict: dict) -> Tuple[dict, str]:
        """torchvision / timm / mmcls ResNets share our layout; timm's ``resnet*d`` deep stem
        is renamed to ``stem.*`` (:data:`TIMM_DEEP_STEM_KEYS`); Lightning Pose's
        ``Sequential`` trunk (``0.weight``, ``4.0.conv1.weight``, ...) is renamed by
        :data:`LIGHTNING_POSE_KEYS`."""
        if self.deep_stem and 'conv1.0.weight' in state_dict:
            return rename_keys(state_dict, TIMM_DEEP_STEM_KEYS), 'timm'
        if not self.deep_stem and '0.weight' in state_dict and '1.running_mean' in state_dict:
            return rename_keys(state_dict, LIGHTNING_POSE_KEYS), 'lightning-pose'
        return state_dict, 'native'

    # ---------------------------------------------------------------- forward
    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) → (N, stem_channels, H / 4, W / 4): the stem and its max-pool."""
        if self.deep_stem:
            x = self.stem(x)
        else:
            x = self.relu(conv_norm(self.conv1, self.bn1, x, self.training))
        return self.maxpool(x)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """(N, C, H, W) → tuple of the ``out_indices`` stages' feature maps."""
        return self.run_stages(self.forward_stem(x), self.res_layers)


@MODELS.register_module()
class ResNetV1d(ResNet):
    """ResNet-D ("Bag of Tricks", He et al. 2019): deep 3x3 stem and AvgPool shortcuts.

    Same arguments as :class:`ResNet` minus ``deep_stem`` and ``avg_down`` (always True).
    """

    example_args = dict(depth=18)

    def __init__(self, depth: int, in_channels: int = 3, stem_channels: int = 64,
                 base_channels: int = 64, expansion: Optional[int] = None, num_stages: int = 4,
                 strides: Sequence[int] = (1, 2, 2, 2), dilations: Sequence[int] = (1, 1, 1, 1),
                 out_indices: Sequence[int] = (3,), style: str = 'pytorch',
                 frozen_stages: int = -1, conv_cfg=None,
                 norm_cfg=dict(type='BN', requires_grad=True), norm_eval: bool = False,
                 with_cp: bool = False, zero_init_residual: bool = True,
                 freeze_norm_weights: bool = False, init_cfg=None):
        super().__init__(depth, in_channels=in_channels, stem_channels=stem_channels,
                         base_channels=base_channels, expansion=expansion,
                         num_stages=num_stages, strides=strides, dilations=dilations,
                         out_indices=out_indices, style=style, deep_stem=True, avg_down=True,
                         frozen_stages=frozen_stages, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                         norm_eval=norm_eval, freeze_norm_weights=freeze_norm_weights,
                         with_cp=with_cp,
                         zero_init_residual=zero_init_residual, init_cfg=init_cfg)
