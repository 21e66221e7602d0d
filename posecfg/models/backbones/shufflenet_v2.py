"""ShuffleNetV2 (Ma et al. 2018) with MMPose/mmcls's constructor and key layout.

Native keys: ``conv1.{conv,bn}``, ``layers.{0,1,2}.{j}.branch1.{0,1}.{conv,bn}`` (stride-2
blocks only), ``layers.{0,1,2}.{j}.branch2.{0,1,2}.{conv,bn}``, ``layers.3.{conv,bn}`` (the
final 1x1 conv). torchvision's layout (``conv1.0``, ``stage2..4``, ``conv5``, ``fc``) is converted
by :data:`TORCHVISION_KEYS`.
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import ConvModule
from mmengine.model import constant_init, normal_init
from torch.nn.modules.batchnorm import _BatchNorm

from ...registry import MODELS
from ..utils.key_mapping import rename_keys
from .base import BaseBackbone, check_frozen_stages, check_out_indices, copy_cfg


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """(N, g*c, H, W) → (N, c*g, H, W) with channels interleaved across the ``groups``."""
    n, channels, h, w = x.shape
    x = x.view(n, groups, channels // groups, h, w).transpose(1, 2).contiguous()
    return x.view(n, channels, h, w)


class InvertedResidual(nn.Module):
    """ShuffleNetV2 unit: (N, C_in, H, W) → (N, C_out, H/s, W/s).

    Stride 1 splits the channels, transforms one half (branch2) and shuffles; stride 2 runs
    both halves' branches on the full input and concatenates them.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, conv_cfg=None,
                 norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU'), with_cp: bool = False):
        super().__init__()
        self.stride, self.with_cp = stride, with_cp
        half = out_channels // 2
        if stride == 1 and in_channels != 2 * half:
            raise ValueError(f'ShuffleNetV2 unit: in_channels={in_channels} must equal '
                             f'out_channels={out_channels} when stride is 1')
        kw = dict(conv_cfg=conv_cfg, norm_cfg=copy_cfg(norm_cfg))
        if stride > 1:
            self.branch1 = nn.Sequential(
                ConvModule(in_channels, in_channels, 3, stride=stride, padding=1,
                           groups=in_channels, act_cfg=None, **kw),
                ConvModule(in_channels, half, 1, act_cfg=copy_cfg(act_cfg), **kw))
        self.branch2 = nn.Sequential(
            ConvModule(in_channels if stride > 1 else half, half, 1,
                       act_cfg=copy_cfg(act_cfg), **kw),
            ConvModule(half, half, 3, stride=stride, padding=1, groups=half, act_cfg=None, **kw),
            ConvModule(half, half, 1, act_cfg=copy_cfg(act_cfg), **kw))

    def _inner(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        else:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        return channel_shuffle(out, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._inner, x, use_reentrant=False)
        return self._inner(x)


# torchvision → ours. In torchvision a block's branch is a flat Sequential (conv, bn, [relu]);
# ours is a Sequential of ConvModules (conv, bn). ReLUs have no parameters, hence the gaps.
TORCHVISION_KEYS = (
    (r'^conv1\.0\.', 'conv1.conv.'),
    (r'^conv1\.1\.', 'conv1.bn.'),
    (r'^stage2\.(\d+)\.', r'layers.0.\1.'),
    (r'^stage3\.(\d+)\.', r'layers.1.\1.'),
    (r'^stage4\.(\d+)\.', r'layers.2.\1.'),
    (r'^conv5\.0\.', 'layers.3.conv.'),
    (r'^conv5\.1\.', 'layers.3.bn.'),
)
TORCHVISION_BRANCH_KEYS = (
    (r'\.branch1\.0\.', '.branch1.0.conv.'),  # depthwise 3x3
    (r'\.branch1\.1\.', '.branch1.0.bn.'),
    (r'\.branch1\.2\.', '.branch1.1.conv.'),  # 1x1
    (r'\.branch1\.3\.', '.branch1.1.bn.'),
    (r'\.branch2\.0\.', '.branch2.0.conv.'),  # 1x1
    (r'\.branch2\.1\.', '.branch2.0.bn.'),
    (r'\.branch2\.3\.', '.branch2.1.conv.'),  # depthwise 3x3
    (r'\.branch2\.4\.', '.branch2.1.bn.'),
    (r'\.branch2\.5\.', '.branch2.2.conv.'),  # 1x1
    (r'\.branch2\.6\.', '.branch2.2.bn.'),
)


@MODELS.register_module()
class ShuffleNetV2(BaseBackbone):
    """ShuffleNetV2 backbone (MMPose 0.x's ``ShuffleNetV2``).

    Args:
        widen_factor: 0.5, 1.0, 1.5 or 2.0.
        out_indices: outputs among 0..3: stages 1..3 and 3 = the final 1x1 conv.
        frozen_stages: -1 nothing, 0 the stem conv, k also stages 1..k (k <= 3).
        conv_cfg, norm_cfg, act_cfg: mmcv layer configs.
        norm_eval: BN layers stay in eval mode in ``train()``.
        freeze_norm_weights: BN weights and biases are not trained (``requires_grad=False``).
        with_cp: gradient checkpointing per unit.
        init_cfg: mmengine init config.

    Shapes: (N, 3, H, W) → tuple of (N, C_i, H / s_i, W / s_i), s = (8, 16, 32, 32); with
    widen_factor 1.0, C = (116, 232, 464, 1024).
    """

    channel_settings = {0.5: (48, 96, 192, 1024), 1.0: (116, 232, 464, 1024),
                        1.5: (176, 352, 704, 1024), 2.0: (244, 488, 976, 2048)}
    stage_blocks = (4, 8, 4)
    example_args = dict(widen_factor=0.5, out_indices=(0, 3))

    def __init__(self, widen_factor: float = 1.0, out_indices: Sequence[int] = (3,),
                 frozen_stages: int = -1, conv_cfg=None, norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'), norm_eval: bool = False, with_cp: bool = False,
                 freeze_norm_weights: bool = False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if widen_factor not in self.channel_settings:
            raise ValueError(f'ShuffleNetV2: widen_factor={widen_factor!r} must be one of '
                             f'{", ".join(map(str, self.channel_settings))}')
        self.widen_factor = widen_factor
        self.out_indices = check_out_indices('ShuffleNetV2', out_indices, 4)
        self.frozen_stages = check_frozen_stages('ShuffleNetV2', frozen_stages, 3)
        self.conv_cfg, self.norm_cfg, self.act_cfg = conv_cfg, copy_cfg(norm_cfg), act_cfg
        self.norm_eval, self.with_cp = norm_eval, with_cp
        self.freeze_norm_weights = freeze_norm_weights
        channels = self.channel_settings[widen_factor]

        self.conv1 = ConvModule(3, 24, 3, stride=2, padding=1, conv_cfg=conv_cfg,
                                norm_cfg=self.norm_cfg, act_cfg=copy_cfg(act_cfg))
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layers = nn.ModuleList()
        in_ch = 24
        for out_ch, num_blocks in zip(channels[:3], self.stage_blocks):
            self.layers.append(self._make_layer(in_ch, out_ch, num_blocks))
            in_ch = out_ch
        self.layers.append(ConvModule(in_ch, channels[3], 1, conv_cfg=conv_cfg,
                                      norm_cfg=self.norm_cfg, act_cfg=copy_cfg(act_cfg)))
        strides = (8, 16, 32, 32)
        self.out_channels = tuple(channels[i] for i in self.out_indices)
        self.out_strides = tuple(strides[i] for i in self.out_indices)
        self._freeze_stages()

    def _make_layer(self, in_ch: int, out_ch: int, num_blocks: int) -> nn.Sequential:
        return nn.Sequential(*[
            InvertedResidual(in_ch if j == 0 else out_ch, out_ch, stride=2 if j == 0 else 1,
                             conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                             act_cfg=self.act_cfg, with_cp=self.with_cp)
            for j in range(num_blocks)])

    # ---------------------------------------------------------------- BaseBackbone hooks
    def _stage_modules(self, index: int) -> List[nn.Module]:
        return [self.conv1] if index == 0 else [self.layers[index - 1]]

    def _init_from_scratch(self) -> None:
        """MMPose's init: stem conv N(0, 0.01), other convs N(0, 1 / fan-in channels)."""
        for name, m in self.named_modules():
            if isinstance(m, nn.Conv2d):
                std = 0.01 if name.startswith('conv1') else 1.0 / m.weight.shape[1]
                normal_init(m, mean=0, std=std)
            elif isinstance(m, (_BatchNorm, nn.GroupNorm)):
                constant_init(m, val=1, bias=0.0001)
                if isinstance(m, _BatchNorm) and m.running_mean is not None:
                    nn.init.constant_(m.running_mean, 0)

    def convert_pretrained(self, state_dict: dict) -> Tuple[dict, str]:
        """torchvision's ``stage2..4`` / ``conv5`` layout → native."""
        if any(k.startswith(('stage2.', 'conv5.')) for k in state_dict):
            renamed = rename_keys(state_dict, TORCHVISION_KEYS)
            return rename_keys(renamed, TORCHVISION_BRANCH_KEYS), 'torchvision'
        return state_dict, 'native'

    # ---------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """(N, 3, H, W) → tuple of the ``out_indices`` outputs."""
        return self.run_stages(self.maxpool(self.conv1(x)), self.layers)
