"""CSPNeXt (RTMDet / RTMPose, Lyu et al. 2022; Jiang et al. 2023), as DeepLabCut 3 builds it.

Architecture and module names are DeepLabCut's (``deeplabcut/pose_estimation_pytorch/models/
backbones/cspnext.py`` and ``models/modules/csp.py``), itself mmdet's ``CSPNeXt`` with
``use_depthwise=False``; this module's state dict is therefore what a DeepLabCut 3 snapshot holds
under ``backbone.`` and what DeepLabCut's pretrained ``cspnext_{s,m,x}.pt`` hold under
``state_dict``:

- ``stem.{0,1,2}``: 3x3 ConvNormAct (stride 2, 1, 1) to ``64 * widen // 2``, same, ``64 * widen``;
- ``stage{i}.0``: 3x3 stride-2 ConvNormAct; the last P5 stage then ``stage4.1`` =
  :class:`SPPBottleneck` (``conv1``, ``poolings``, ``conv2``); then ``stage{i}.{1|2}`` =
  :class:`CSPLayer` (``main_conv``, ``short_conv``, ``blocks.{j}`` = :class:`CSPNeXtBlock`
  (``conv1``, ``conv2.depthwise_conv``, ``conv2.pointwise_conv``), ``attention.fc``,
  ``final_conv``).

Every ConvNormAct is ``conv`` (no bias when normalised), ``norm``, ``activate``. mmdet and MMPose
name the norm ``bn`` (mmcv ``ConvModule``); their RTMDet/RTMPose checkpoints are converted
(:meth:`CSPNeXt.convert_pretrained`).
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import build_activation_layer, build_norm_layer

from ...registry import MODELS
from ..utils.key_mapping import rename_keys
from .base import BaseBackbone, check_frozen_stages, check_out_indices, copy_cfg


class ConvNormAct(nn.Module):
    """``conv`` → optional ``norm`` → optional ``activate`` (DeepLabCut's ``CSPConvModule``):
    (N, C_in, H, W) → (N, C_out, H', W'). The conv has a bias only without a norm."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, groups: int = 1, norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='SiLU')):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                              padding=padding, groups=groups, bias=norm_cfg is None)
        self.norm = None if norm_cfg is None else build_norm_layer(copy_cfg(norm_cfg),
                                                                   out_channels)[1]
        self.activate = None if act_cfg is None else build_activation_layer(_inplace(act_cfg))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.norm is not None:
            x = self.norm(x)
        if self.activate is not None:
            x = self.activate(x)
        return x


def _inplace(act_cfg: dict) -> dict:
    """DeepLabCut builds its activations in place (they follow a norm, nothing else reads it)."""
    act_cfg = dict(act_cfg)
    if act_cfg['type'] in ('SiLU', 'ReLU', 'ReLU6', 'Hardswish', 'Hardsigmoid', 'LeakyReLU'):
        act_cfg.setdefault('inplace', True)
    return act_cfg


class DepthwiseSeparableConv(nn.Module):
    """``depthwise_conv`` (k x k, one group per channel) then ``pointwise_conv`` (1x1), each a
    :class:`ConvNormAct`."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, **kwargs):
        super().__init__()
        self.depthwise_conv = ConvNormAct(in_channels, in_channels, kernel_size,
                                          padding=kernel_size // 2, groups=in_channels, **kwargs)
        self.pointwise_conv = ConvNormAct(in_channels, out_channels, 1, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise_conv(self.depthwise_conv(x))


class CSPNeXtBlock(nn.Module):
    """3x3 ConvNormAct → 5x5 depthwise-separable conv, plus the input when ``add_identity`` and
    the channels match: (N, C, H, W) → (N, C_out, H, W)."""

    def __init__(self, in_channels: int, out_channels: int, expansion: float = 0.5,
                 add_identity: bool = True, kernel_size: int = 5, with_cp: bool = False,
                 **kwargs):
        super().__init__()
        hidden = int(out_channels * expansion)
        self.conv1 = ConvNormAct(in_channels, hidden, 3, padding=1, **kwargs)
        self.conv2 = DepthwiseSeparableConv(hidden, out_channels, kernel_size, **kwargs)
        self.add_identity = add_identity and in_channels == out_channels
        self.with_cp = with_cp

    def _inner(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.conv1(x))
        return out + x if self.add_identity else out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._inner, x, use_reentrant=False)
        return self._inner(x)


class ChannelAttention(nn.Module):
    """``x * hardsigmoid(fc(mean over H, W of x))``, ``fc`` a 1x1 conv with bias."""

    def __init__(self, channels: int):
        super().__init__()
        self.fc = nn.Conv2d(channels, channels, 1, bias=True)
        self.act = nn.Hardsigmoid(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.act(self.fc(x.mean(dim=(2, 3), keepdim=True)))


class CSPLayer(nn.Module):
    """Cross Stage Partial layer: ``blocks(main_conv(x))`` and ``short_conv(x)`` concatenated,
    optionally re-weighted by channel attention, fused by ``final_conv``:
    (N, C_in, H, W) → (N, C_out, H, W), both halves ``C_out * expand_ratio`` channels."""

    def __init__(self, in_channels: int, out_channels: int, expand_ratio: float = 0.5,
                 num_blocks: int = 1, add_identity: bool = True,
                 channel_attention: bool = False, with_cp: bool = False, **kwargs):
        super().__init__()
        mid = int(out_channels * expand_ratio)
        self.main_conv = ConvNormAct(in_channels, mid, 1, **kwargs)
        self.short_conv = ConvNormAct(in_channels, mid, 1, **kwargs)
        self.final_conv = ConvNormAct(2 * mid, out_channels, 1, **kwargs)
        self.blocks = nn.Sequential(*(CSPNeXtBlock(mid, mid, 1.0, add_identity, with_cp=with_cp,
                                                   **kwargs) for _ in range(num_blocks)))
        self.channel_attention = channel_attention
        if channel_attention:
            self.attention = ChannelAttention(2 * mid)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.cat((self.blocks(self.main_conv(x)), self.short_conv(x)), dim=1)
        if self.channel_attention:
            out = self.attention(out)
        return self.final_conv(out)


class SPPBottleneck(nn.Module):
    """Spatial pyramid pooling: 1x1 conv to half the channels, concatenated with its stride-1
    max-pools (kernels 5, 9, 13), 1x1 conv: (N, C_in, H, W) → (N, C_out, H, W)."""

    def __init__(self, in_channels: int, out_channels: int,
                 kernel_sizes: Sequence[int] = (5, 9, 13), **kwargs):
        super().__init__()
        mid = in_channels // 2
        self.conv1 = ConvNormAct(in_channels, mid, 1, **kwargs)
        self.poolings = nn.ModuleList(nn.MaxPool2d(k, stride=1, padding=k // 2)
                                      for k in kernel_sizes)
        self.conv2 = ConvNormAct(mid * (len(kernel_sizes) + 1), out_channels, 1, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        return self.conv2(torch.cat([x] + [pool(x) for pool in self.poolings], dim=1))


# mmdet / MMPose (mmcv ConvModule) name a ConvModule's norm ``bn``; DeepLabCut renamed it ``norm``
MMDET_KEYS = ((r'\.bn\.(weight|bias|running_mean|running_var|num_batches_tracked)$',
               r'.norm.\1'),)


@MODELS.register_module()
class CSPNeXt(BaseBackbone):
    """CSPNeXt backbone, DeepLabCut 3's ``CSPNeXt`` (= mmdet's, ``use_depthwise=False``).

    Args:
        arch: ``'P5'`` (4 stages) or ``'P6'`` (5).
        deepen_factor: blocks per CSP layer = max(round(base * deepen_factor), 1).
        widen_factor: channels = int(base * widen_factor). DeepLabCut's variants:
            ``cspnext_s`` (0.33, 0.5), ``cspnext_m`` (0.67, 0.75), ``cspnext_x`` (1.33, 1.25).
        expand_ratio: the CSP layers' half width, relative to their output.
        out_indices: outputs among 0 (stem) .. 4 (5 for P6); DeepLabCut returns the last.
        frozen_stages: -1 nothing, 0 the stem, k also stage1..stagek.
        channel_attention: channel attention at the end of every CSP layer.
        spp_kernel_sizes: the SPP bottleneck's max-pool sizes.
        norm_cfg, act_cfg: mmcv configs. DeepLabCut's default norm is ``SyncBN`` (torch defaults
            eps 1e-5, momentum 0.1; it is plain BN outside distributed GPU training): BN here,
            the same parameters and state-dict keys.
        norm_eval: BN layers stay in eval mode in ``train()``.
        freeze_norm_weights: BN weights and biases are not trained (``requires_grad=False``).
        with_cp: gradient checkpointing in every CSPNeXt block.
        init_cfg: mmengine init config.

    Shapes: (N, 3, H, W) → tuple of (N, C_i, H / s_i, W / s_i) for i in out_indices,
    s = (2, 4, 8, 16, 32[, 64]), C = int(64 * widen_factor) for the stem, then the stages'
    ``int(out * widen_factor)`` for out = (128, 256, 512, 1024) (P6: 128, 256, 512, 768, 1024).
    """

    # in, out, blocks, add_identity, use_spp — per stage (DeepLabCut's CSPNeXt.ARCH = mmdet's)
    arch_settings = {
        'P5': [(64, 128, 3, True, False), (128, 256, 6, True, False),
               (256, 512, 6, True, False), (512, 1024, 3, False, True)],
        'P6': [(64, 128, 3, True, False), (128, 256, 6, True, False),
               (256, 512, 6, True, False), (512, 768, 3, True, False),
               (768, 1024, 3, False, True)],
    }
    example_args = dict(deepen_factor=0.167, widen_factor=0.375)  # RTMPose-t's CSPNeXt-tiny

    def __init__(self, arch: str = 'P5', deepen_factor: float = 1.0, widen_factor: float = 1.0,
                 expand_ratio: float = 0.5, out_indices: Sequence[int] = (4,),
                 frozen_stages: int = -1, channel_attention: bool = True,
                 spp_kernel_sizes: Sequence[int] = (5, 9, 13), norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='SiLU'), norm_eval: bool = False, with_cp: bool = False,
                 freeze_norm_weights: bool = False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if arch not in self.arch_settings:
            raise ValueError(f'CSPNeXt: arch={arch!r} is not one of '
                             f'{", ".join(map(repr, self.arch_settings))}')
        stages = self.arch_settings[arch]
        self.arch, self.deepen_factor, self.widen_factor = arch, deepen_factor, widen_factor
        self.out_indices = check_out_indices('CSPNeXt', out_indices, len(stages) + 1)
        self.frozen_stages = check_frozen_stages('CSPNeXt', frozen_stages, len(stages))
        self.norm_eval, self.with_cp = norm_eval, with_cp
        self.freeze_norm_weights = freeze_norm_weights
        kw = dict(norm_cfg=copy_cfg(norm_cfg), act_cfg=copy_cfg(act_cfg))

        stem = int(stages[0][0] * widen_factor)
        half = int(stages[0][0] * widen_factor // 2)
        self.stem = nn.Sequential(ConvNormAct(3, half, 3, stride=2, padding=1, **kw),
                                  ConvNormAct(half, half, 3, padding=1, **kw),
                                  ConvNormAct(half, stem, 3, padding=1, **kw))
        self.layers: List[str] = ['stem']
        channels, strides = [stem], [2]
        for i, (cin, cout, blocks, add_identity, use_spp) in enumerate(stages):
            cin, cout = int(cin * widen_factor), int(cout * widen_factor)
            stage = [ConvNormAct(cin, cout, 3, stride=2, padding=1, **kw)]
            if use_spp:
                stage.append(SPPBottleneck(cout, cout, spp_kernel_sizes, **kw))
            stage.append(CSPLayer(cout, cout, expand_ratio, max(round(blocks * deepen_factor), 1),
                                  add_identity, channel_attention, with_cp=with_cp, **kw))
            self.add_module(f'stage{i + 1}', nn.Sequential(*stage))
            self.layers.append(f'stage{i + 1}')
            channels.append(cout)
            strides.append(strides[-1] * 2)
        self.out_channels = tuple(channels[i] for i in self.out_indices)
        self.out_strides = tuple(strides[i] for i in self.out_indices)
        self._freeze_stages()

    # ---------------------------------------------------------------- BaseBackbone hooks
    def _stage_modules(self, index: int) -> List[nn.Module]:
        return [getattr(self, self.layers[index])]

    def _init_from_scratch(self) -> None:
        """DeepLabCut's: every ConvNormAct conv Kaiming-normal (fan_in, ReLU gain), bias 0, norm
        weight 1 / bias 0; the channel-attention convs keep PyTorch's default init."""
        for m in self.modules():
            if isinstance(m, ConvNormAct):
                nn.init.kaiming_normal_(m.conv.weight, a=0, nonlinearity='relu')
                if m.conv.bias is not None:
                    nn.init.zeros_(m.conv.bias)
                if m.norm is not None and m.norm.weight is not None:
                    nn.init.ones_(m.norm.weight)
                    nn.init.zeros_(m.norm.bias)
            elif isinstance(m, ChannelAttention):
                m.fc.reset_parameters()

    def convert_pretrained(self, state_dict: dict) -> Tuple[dict, str]:
        """mmdet / MMPose RTMDet and RTMPose checkpoints (norms named ``bn``) → our ``norm``;
        DeepLabCut's are native."""
        if any('.bn.' in k for k in state_dict):
            return rename_keys(state_dict, MMDET_KEYS), 'mmdet'
        return state_dict, 'native'

    # ---------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """(N, 3, H, W) → tuple of the ``out_indices`` outputs."""
        return self.run_stages(x, self.layers)
