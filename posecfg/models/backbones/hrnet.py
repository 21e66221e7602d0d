"""HRNet (Sun et al. 2019) configured by MMPose 0.x's ``extra`` stage spec.

Key layout = MMPose's HRNet = the official HRNet (and timm's) checkpoints: ``conv1``, ``bn1``,
``conv2``, ``bn2``, ``layer1.*`` (stage 1, ResNet blocks), ``transition{1,2,3}.{i}.*``,
``stage{2,3,4}.{m}.branches.{b}.{j}.*`` and ``stage{k}.{m}.fuse_layers.{i}.{j}.*``.
Classification checkpoints also hold ``incre_modules``, ``downsamp_modules``, ``final_layer`` and
``classifier``: they are reported as unexpected and ignored.

``extra`` (MMPose)::

    extra = dict(
        stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(4,),
                    num_channels=(64,)),
        stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(4, 4),
                    num_channels=(32, 64)),
        stage3=dict(num_modules=4, num_branches=3, block='BASIC', num_blocks=(4, 4, 4),
                    num_channels=(32, 64, 128)),
        stage4=dict(num_modules=3, num_branches=4, block='BASIC', num_blocks=(4, 4, 4, 4),
                    num_channels=(32, 64, 128, 256), multiscale_output=False),  # optional
        upsample=dict(mode='nearest', align_corners=None))                        # optional

or the name of a standard width, ``'w18'``, ``'w32'`` or ``'w48'``.

DeepLabCut 3 builds its HRNet backbones with timm (``deeplabcut/pose_estimation_pytorch/models/
backbones/hrnet.py``: ``timm.create_model(model_name, features_only=True, feature_location=
'incre' if increased_channel_count else '', out_indices=(1, 2, 3, 4))``): every branch of stage 4
is fused (``multiscale_output=True``), ``increased_channel_count`` adds timm's ``incre_modules``
(one Bottleneck per branch, to 128, 256, 512, 1024 channels) and ``interpolate_branches``
concatenates all branches at branch 0's resolution (bilinear); otherwise DeepLabCut uses
branch 0 (``out_indices=(0,)`` here). The key names are timm's (= the official ones), so a
DeepLabCut snapshot's ``backbone.model.*`` tensors are this module's keys behind ``model.``.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import normal_init

from ...registry import MODELS
from .base import (BaseBackbone, check_frozen_stages, check_out_indices, copy_cfg,
                   init_from_scratch)
from .conv_norm import conv_norm, run_layers
from .resnet import BasicBlock, Bottleneck

BLOCKS = {'BASIC': BasicBlock, 'BOTTLENECK': Bottleneck}
STAGE_KEYS = ('num_modules', 'num_branches', 'block', 'num_blocks', 'num_channels')
DEFAULT_UPSAMPLE = dict(mode='nearest', align_corners=None)
# timm's HRNet head (``_make_head``): planes of the Bottleneck that widens each branch
INCRE_PLANES = (32, 64, 128, 256)


def hrnet_extra(width: int, multiscale_output: bool = False) -> dict:
    """MMPose's ``extra`` for HRNet-W``width`` (stage 1: four bottlenecks at 64 channels; then
    1, 4 and 3 modules of 4 BasicBlocks per branch at width × (1, 2, 4, 8))."""
    w = width
    return dict(
        stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(4,),
                    num_channels=(64,)),
        stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(4, 4),
                    num_channels=(w, 2 * w)),
        stage3=dict(num_modules=4, num_branches=3, block='BASIC', num_blocks=(4, 4, 4),
                    num_channels=(w, 2 * w, 4 * w)),
        stage4=dict(num_modules=3, num_branches=4, block='BASIC', num_blocks=(4, 4, 4, 4),
                    num_channels=(w, 2 * w, 4 * w, 8 * w), multiscale_output=multiscale_output))


def check_extra(extra: Union[str, dict]) -> dict:
    """Validate an ``extra`` spec (or expand a preset name); errors name the key at fault."""
    if isinstance(extra, str):
        if extra not in HRNet.arch_settings:
            raise ValueError(f'HRNet: extra={extra!r} is not a known width; use one of '
                             f'{", ".join(map(repr, HRNet.arch_settings))} or a stage dict')
        return copy_cfg(HRNet.arch_settings[extra])
    if not isinstance(extra, dict):
        raise TypeError(f'HRNet: extra must be a dict of stage1..stage4 specs or a width name, '
                        f'got {type(extra).__name__}')
    allowed = ('stage1', 'stage2', 'stage3', 'stage4', 'upsample')
    unknown = [k for k in extra if k not in allowed]
    if unknown:
        raise ValueError(f'HRNet: extra has unknown keys {unknown}; it takes {", ".join(allowed)}')
    for index in range(1, 5):
        _check_stage(extra, index)
    upsample = extra.get('upsample', DEFAULT_UPSAMPLE)
    if not isinstance(upsample, dict) or 'mode' not in upsample:
        raise ValueError(f"HRNet: extra.upsample={upsample!r} must be a dict like "
                         f"dict(mode='nearest', align_corners=None)")
    return extra


def _check_stage(extra: dict, index: int) -> None:
    key = f'stage{index}'
    if key not in extra:
        raise ValueError(f'HRNet: extra.{key} is missing; each of stage1..stage4 needs '
                         f'{", ".join(STAGE_KEYS)}')
    stage = extra[key]
    allowed = STAGE_KEYS + (('multiscale_output',) if index == 4 else ())
    missing = [k for k in STAGE_KEYS if k not in stage]
    unknown = [k for k in stage if k not in allowed]
    if missing or unknown:
        raise ValueError(f'HRNet: extra.{key} is missing {missing} / has unknown keys {unknown}; '
                         f'it takes {", ".join(allowed)}')
    if stage['block'] not in BLOCKS:
        raise ValueError(f"HRNet: extra.{key}.block={stage['block']!r} is not one of "
                         f'{", ".join(map(repr, BLOCKS))}')
    n = stage['num_branches']
    for field in ('num_blocks', 'num_channels'):
        if len(stage[field]) != n:
            raise ValueError(f'HRNet: extra.{key}.{field}={tuple(stage[field])} must have '
                             f'num_branches={n} entries')
    if index == 1 and n != 1:
        raise ValueError(f'HRNet: extra.stage1.num_branches={n} must be 1')
    if stage['num_modules'] < 1:
        raise ValueError(f"HRNet: extra.{key}.num_modules={stage['num_modules']} must be >= 1")


class HRModule(nn.Module):
    """Parallel branches of blocks, then every output branch sums all inputs resampled to it.

    Input/output: lists of (N, C_b, H / 2**b, W / 2**b), one per branch b (one output, branch 0,
    when ``multiscale_output`` is False).
    """

    def __init__(self, num_branches: int, block, num_blocks: Sequence[int],
                 in_channels: List[int], num_channels: Sequence[int],
                 multiscale_output: bool = False, with_cp: bool = False, conv_cfg=None,
                 norm_cfg=dict(type='BN'), upsample_cfg=DEFAULT_UPSAMPLE):
        super().__init__()
        self.in_channels = list(in_channels)
        self.num_branches = num_branches
        self.multiscale_output = multiscale_output
        self.conv_cfg, self.norm_cfg, self.with_cp = conv_cfg, norm_cfg, with_cp
        self.upsample_cfg = upsample_cfg
        self.branches = nn.ModuleList(
            self._make_branch(b, block, num_blocks[b], num_channels[b])
            for b in range(num_branches))
        self.fuse_layers = self._make_fuse_layers()
        self.relu = nn.ReLU(inplace=True)

    def _make_branch(self, b: int, block, num_blocks: int, channels: int) -> nn.Sequential:
        out = channels * block.expansion
        downsample = None
        if self.in_channels[b] != out:
            downsample = nn.Sequential(
                build_conv_layer(self.conv_cfg, self.in_channels[b], out, 1, bias=False),
                build_norm_layer(copy_cfg(self.norm_cfg), out)[1])
        layers = [block(self.in_channels[b], out, expansion=block.expansion,
                        downsample=downsample, with_cp=self.with_cp, norm_cfg=self.norm_cfg,
                        conv_cfg=self.conv_cfg)]
        layers += [block(out, out, expansion=block.expansion, with_cp=self.with_cp,
                         norm_cfg=self.norm_cfg, conv_cfg=self.conv_cfg)
                   for _ in range(1, num_blocks)]
        self.in_channels[b] = out
        return nn.Sequential(*layers)

    def _conv_bn(self, cin: int, cout: int, kernel: int, stride: int) -> List[nn.Module]:
        return [build_conv_layer(self.conv_cfg, cin, cout, kernel, stride=stride,
                                 padding=kernel // 2, bias=False),
                build_norm_layer(copy_cfg(self.norm_cfg), cout)[1]]

    def _make_fuse_layers(self) -> Optional[nn.ModuleList]:
        """fuse_layers[i][j] brings branch j to branch i: 1x1 conv + BN + upsample for j > i,
        (i - j) stride-2 3x3 convs for j < i (ReLU between them, not after the last)."""
        if self.num_branches == 1:
            return None
        ch = self.in_channels
        fuse_layers = []
        for i in range(self.num_branches if self.multiscale_output else 1):
            row: List[Optional[nn.Module]] = []
            for j in range(self.num_branches):
                if j > i:
                    row.append(nn.Sequential(
                        *self._conv_bn(ch[j], ch[i], 1, 1),
                        nn.Upsample(scale_factor=2 ** (j - i), mode=self.upsample_cfg['mode'],
                                    align_corners=self.upsample_cfg.get('align_corners'))))
                elif j == i:
                    row.append(None)
                else:
                    steps = []
                    for k in range(i - j):
                        last = k == i - j - 1
                        layers = self._conv_bn(ch[j], ch[i] if last else ch[j], 3, 2)
                        steps.append(nn.Sequential(*(layers if last
                                                     else layers + [nn.ReLU(inplace=True)])))
                    row.append(nn.Sequential(*steps))
            fuse_layers.append(nn.ModuleList(row))
        return nn.ModuleList(fuse_layers)

    def forward(self, x: List[torch.Tensor], outputs: Optional[Sequence[int]] = None
                ) -> List[Optional[torch.Tensor]]:
        """``outputs``: the output branches needed (default all); the others are not computed
        and come back as None."""
        x = [branch(x_b) for branch, x_b in zip(self.branches, x)]
        if self.num_branches == 1:
            return x
        out: List[Optional[torch.Tensor]] = []
        for i, row in enumerate(self.fuse_layers):
            if outputs is not None and i not in outputs:
                out.append(None)
                continue
            # summed in branch order j = 0, 1, ... like MMPose and timm, so that the rounding
            # (and the outputs) are theirs bit for bit
            y = None
            for j, fuse in enumerate(row):
                term = x[j] if j == i else run_layers(fuse, x[j], self.training)
                y = term if y is None else y + term
            out.append(self.relu(y))
        return out


@MODELS.register_module()
class HRNet(BaseBackbone):
    """HRNet backbone, MMPose 0.x's constructor.

    Args:
        extra: the stage spec (module docstring) or ``'w18'`` / ``'w32'`` / ``'w48'``.
        in_channels: input image channels.
        conv_cfg, norm_cfg: mmcv layer configs.
        norm_eval: BN layers stay in eval mode in ``train()``.
        freeze_norm_weights: BN weights and biases are not trained (``requires_grad=False``).
        with_cp: gradient checkpointing in every block.
        zero_init_residual: last BN of every block starts at 0.
        frozen_stages: -1 nothing; 0 the stem (conv1, bn1, conv2, bn2); k also stages 1..k with
            the transition that follows each (no grads, eval mode); 4 includes incre_modules.
        out_indices: which output branches ``forward`` returns (default: all there are, i.e.
            branch 0 alone without ``multiscale_output``); branches not asked for are not
            computed in the last module.
        increased_channel_count: timm's ``feature_location='incre'``: each output branch b
            goes through one Bottleneck to 4 * (32, 64, 128, 256)[b] channels
            (``incre_modules.{b}.0``).
        interpolate_branches: return one map, every branch resized to branch 0's size
            (bilinear, ``align_corners=False``) and concatenated (needs ``multiscale_output``).
        init_cfg: mmengine init config (``Pretrained`` goes through ``load_pretrained``).

    Shapes: (N, in_channels, H, W) → a tuple holding branch 0, (N, C_0, H/4, W/4), or, with
    ``extra.stage4.multiscale_output=True``, every branch b in ``out_indices``:
    (N, C_b, H/2**(b+2), W/2**(b+2)); with ``interpolate_branches`` one (N, sum C_b, H/4, W/4).
    H and W must be divisible by 2**(num_branches + 1) (32 for four branches).
    """

    blocks_dict = BLOCKS
    arch_settings: Dict[str, dict] = {f'w{w}': hrnet_extra(w) for w in (18, 32, 48)}
    example_args = dict(extra='w18')
    option_keys = {'extra': ('stage1', 'stage2', 'stage3', 'stage4', 'upsample')}

    def __init__(self, extra: Union[str, dict], in_channels: int = 3, conv_cfg=None,
                 norm_cfg=dict(type='BN'), norm_eval: bool = False, with_cp: bool = False,
                 zero_init_residual: bool = False, frozen_stages: int = -1,
                 out_indices: Optional[Sequence[int]] = None,
                 increased_channel_count: bool = False, interpolate_branches: bool = False,
                 freeze_norm_weights: bool = False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.extra = check_extra(extra)
        self.conv_cfg, self.norm_cfg = conv_cfg, copy_cfg(norm_cfg)
        self.norm_eval, self.with_cp = norm_eval, with_cp
        self.freeze_norm_weights = freeze_norm_weights
        self.zero_init_residual = zero_init_residual
        self.frozen_stages = check_frozen_stages('HRNet', frozen_stages, 4)
        self.upsample_cfg = dict(self.extra.get('upsample', DEFAULT_UPSAMPLE))
        self._check_outputs(out_indices, increased_channel_count, interpolate_branches)

        # stem: two stride-2 3x3 convs to 64 channels at 1/4 resolution
        self.conv1 = build_conv_layer(conv_cfg, in_channels, 64, 3, stride=2, padding=1,
                                      bias=False)
        self.bn1 = build_norm_layer(copy_cfg(self.norm_cfg), 64)[1]
        self.conv2 = build_conv_layer(conv_cfg, 64, 64, 3, stride=2, padding=1, bias=False)
        self.bn2 = build_norm_layer(copy_cfg(self.norm_cfg), 64)[1]
        self.relu = nn.ReLU(inplace=True)

        self.stage_cfgs = [self.extra[f'stage{i}'] for i in range(1, 5)]
        stage1 = self.stage_cfgs[0]
        block = BLOCKS[stage1['block']]
        channels = [stage1['num_channels'][0] * block.expansion]
        self.layer1 = self._make_stage1(block, 64, channels[0], stage1['num_blocks'][0])
        for k in (2, 3, 4):
            cfg = self.stage_cfgs[k - 1]
            block = BLOCKS[cfg['block']]
            wanted = [c * block.expansion for c in cfg['num_channels']]
            self.add_module(f'transition{k - 1}', self._make_transition(channels, wanted))
            multiscale = cfg.get('multiscale_output', False) if k == 4 else True
            stage, channels = self._make_stage(cfg, wanted, multiscale)
            self.add_module(f'stage{k}', stage)

        n_out = self.num_outputs
        if increased_channel_count:
            self.incre_modules = nn.ModuleList(
                self._make_stage1(BLOCKS['BOTTLENECK'], channels[b], INCRE_PLANES[b] * 4, 1)
                for b in range(n_out))
            channels = [INCRE_PLANES[b] * 4 for b in range(n_out)]
        if interpolate_branches:
            self.out_channels = (sum(channels[:n_out]),)
            self.out_strides = (4,)
        else:
            self.out_channels = tuple(channels[b] for b in self.out_indices)
            self.out_strides = tuple(4 * 2 ** b for b in self.out_indices)
        self._freeze_stages()

    def _check_outputs(self, out_indices: Optional[Sequence[int]],
                       increased_channel_count: bool, interpolate_branches: bool) -> None:
        """Sets ``num_outputs`` (branches leaving stage 4) and ``out_indices``, before building."""
        stage4 = self.extra['stage4']
        n_out = stage4['num_branches'] if stage4.get('multiscale_output', False) else 1
        self.num_outputs = n_out
        self.increased_channel_count = increased_channel_count
        self.interpolate_branches = interpolate_branches
        if increased_channel_count and n_out > len(INCRE_PLANES):
            raise ValueError(f'HRNet: increased_channel_count widens at most '
                             f'{len(INCRE_PLANES)} branches (timm), this net has {n_out}')
        if interpolate_branches:
            if n_out == 1 or out_indices is not None:
                raise ValueError('HRNet: interpolate_branches concatenates every branch: it needs '
                                 'extra.stage4.multiscale_output=True and no out_indices')
            self.out_indices = tuple(range(n_out))
        else:
            self.out_indices = check_out_indices(
                'HRNet', tuple(range(n_out)) if out_indices is None else out_indices, n_out)

    # ---------------------------------------------------------------- construction
    def _make_stage1(self, block, in_channels: int, out_channels: int, num_blocks: int
                     ) -> nn.Sequential:
        downsample = None
        if in_channels != out_channels:
            downsample = nn.Sequential(
                build_conv_layer(self.conv_cfg, in_channels, out_channels, 1, bias=False),
                build_norm_layer(copy_cfg(self.norm_cfg), out_channels)[1])
        layers = [block(in_channels, out_channels, expansion=block.expansion,
                        downsample=downsample, with_cp=self.with_cp, norm_cfg=self.norm_cfg,
                        conv_cfg=self.conv_cfg)]
        layers += [block(out_channels, out_channels, expansion=block.expansion,
                         with_cp=self.with_cp, norm_cfg=self.norm_cfg, conv_cfg=self.conv_cfg)
                   for _ in range(1, num_blocks)]
        return nn.Sequential(*layers)

    def _conv_bn_relu(self, cin: int, cout: int, stride: int) -> nn.Sequential:
        return nn.Sequential(
            build_conv_layer(self.conv_cfg, cin, cout, 3, stride=stride, padding=1, bias=False),
            build_norm_layer(copy_cfg(self.norm_cfg), cout)[1], nn.ReLU(inplace=True))

    def _make_transition(self, pre: List[int], cur: List[int]) -> nn.ModuleList:
        """Existing branches: a 3x3 conv only where the channels change (else None). New
        branches: stride-2 3x3 convs from the lowest-resolution previous branch."""
        layers: List[Optional[nn.Module]] = []
        for i, c in enumerate(cur):
            if i < len(pre):
                layers.append(self._conv_bn_relu(pre[i], c, 1) if pre[i] != c else None)
            else:
                steps = []
                for j in range(i + 1 - len(pre)):
                    cin = pre[-1]
                    steps.append(self._conv_bn_relu(cin, c if j == i - len(pre) else cin, 2))
                layers.append(nn.Sequential(*steps))
        return nn.ModuleList(layers)

    def _make_stage(self, cfg: dict, in_channels: List[int], multiscale_output: bool
                    ) -> Tuple[nn.Sequential, List[int]]:
        """``num_modules`` HRModules; only the last may drop to one output branch."""
        modules = []
        for m in range(cfg['num_modules']):
            last = m == cfg['num_modules'] - 1
            modules.append(HRModule(
                cfg['num_branches'], BLOCKS[cfg['block']], cfg['num_blocks'], in_channels,
                cfg['num_channels'], multiscale_output=multiscale_output or not last,
                with_cp=self.with_cp, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                upsample_cfg=self.upsample_cfg))
            in_channels = modules[-1].in_channels
        return nn.Sequential(*modules), in_channels

    @property
    def norm1(self) -> nn.Module:
        return self.bn1

    @property
    def norm2(self) -> nn.Module:
        return self.bn2

    # ---------------------------------------------------------------- BaseBackbone hooks
    def _stage_modules(self, index: int) -> List[nn.Module]:
        if index == 0:
            return [self.conv1, self.bn1, self.conv2, self.bn2]
        modules = [self.layer1 if index == 1 else getattr(self, f'stage{index}')]
        if index < 4:
            modules.append(getattr(self, f'transition{index}'))
        elif self.increased_channel_count:
            modules.append(self.incre_modules)
        return modules

    def _init_from_scratch(self) -> None:
        """Convs ~ N(0, 0.001), BN weight 1 / bias 0 (MMPose / official HRNet)."""
        init_from_scratch(self, lambda m: normal_init(m, std=0.001), self.zero_init_residual)

    # ---------------------------------------------------------------- forward
    def _transition(self, k: int, y: List[torch.Tensor]) -> List[torch.Tensor]:
        """Inputs of stage k + 1 from the outputs ``y`` of stage k."""
        x = []
        for i, layer in enumerate(getattr(self, f'transition{k}')):
            if layer is None:
                x.append(y[i])
            else:
                x.append(run_layers(layer, y[i] if i < len(y) else y[-1], self.training))
        return x

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """(N, C, H, W) → tuple of branch outputs (see the class docstring)."""
        x = self.relu(conv_norm(self.conv1, self.bn1, x, self.training))
        x = self.relu(conv_norm(self.conv2, self.bn2, x, self.training))
        y = [self.layer1(x)]
        for k in (2, 3):
            y = getattr(self, f'stage{k}')(self._transition(k - 1, y))
        y = self._transition(3, y)
        *first, last = self.stage4
        for module in first:
            y = module(y)
        y = last(y, self.out_indices)
        if self.increased_channel_count:
            y = [None if y_b is None else incre(y_b) for y_b, incre in zip(y, self.incre_modules)]
        if self.interpolate_branches:
            size = y[0].shape[-2:]
            return (torch.cat([y[0]] + [F.interpolate(y_b, size=size, mode='bilinear',
                                                      align_corners=False) for y_b in y[1:]],
                              dim=1),)
        return tuple(y[b] for b in self.out_indices)
