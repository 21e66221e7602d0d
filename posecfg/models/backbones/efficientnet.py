"""EfficientNet-B0..B7 (Tan & Le 2019) with torchvision's architecture and state-dict key layout.

Lightning Pose's ``efficientnet_b0/b1/b2`` backbones are torchvision's models cut before the
pooling (``lightning_pose/models/backbones/factory.py``: ``nn.Sequential(*children[:-2])``
holds ``features`` alone), so their ImageNet weights, and the ``backbone.0.*`` tensors of a
Lightning Pose checkpoint, load here.

Keys (``torchvision/models/efficientnet.py``): ``features.0`` the stem (``0`` 3x3/2 conv, ``1``
BN; SiLU), ``features.{1..7}.{j}`` the MBConv blocks of the seven stages, each ``block`` =
[``{k}`` 1x1 expand conv+BN+SiLU when the expansion is not 1], depthwise conv+BN+SiLU,
squeeze-excitation (``fc1``, ``fc2``: 1x1 convs with bias; SiLU, sigmoid), 1x1 projection
conv+BN; ``features.8`` the 1x1 head conv+BN+SiLU to 4 x the last stage's channels.
"""
from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import build_norm_layer

from ...registry import MODELS
from ..utils.key_mapping import rename_keys
from .base import BaseBackbone, check_frozen_stages, check_out_indices, copy_cfg
from .drop import make_drop_path
from .mobilenet_v2 import make_divisible

# expand ratio, kernel, stride, in, out, blocks — per stage, before width/depth scaling
# (torchvision ``_efficientnet_conf('efficientnet_b*')``)
BASE_STAGES = ((1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2),
               (6, 3, 2, 40, 80, 3), (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4),
               (6, 3, 1, 192, 320, 1))
BN = dict(type='BN')
BN_B5 = dict(type='BN', eps=1e-3, momentum=0.01)  # torchvision's b5-b7 (lukemelas weights)

# Lightning Pose keeps ``features`` as child 0 of its Sequential trunk
LIGHTNING_POSE_KEYS = ((r'^0\.', 'features.'),)


def conv_norm_act(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                  groups: int = 1, norm_cfg=BN, act: bool = True) -> nn.Sequential:
    """torchvision's ``Conv2dNormActivation``: ``0`` conv (no bias), ``1`` norm, ``2`` SiLU."""
    layers = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, (kernel_size - 1) // 2,
                        groups=groups, bias=False),
              build_norm_layer(copy_cfg(norm_cfg), out_channels)[1]]
    if act:
        layers.append(nn.SiLU(inplace=True))
    return nn.Sequential(*layers)


class SqueezeExcitation(nn.Module):
    """``x * sigmoid(fc2(silu(fc1(mean over H, W of x))))`` (torchvision ``SqueezeExcitation``)."""

    def __init__(self, channels: int, squeeze_channels: int):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.activation = nn.SiLU(inplace=True)
        self.scale_activation = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))


class MBConv(nn.Module):
    """Mobile inverted bottleneck with squeeze-excitation: (N, C_in, H, W) → (N, C_out, H/s, W/s);
    residual (with stochastic depth) when the shapes match."""

    def __init__(self, in_channels: int, out_channels: int, expand_ratio: float, kernel: int,
                 stride: int, drop_path_rate: float, norm_cfg=BN, with_cp: bool = False):
        super().__init__()
        self.use_res_connect = stride == 1 and in_channels == out_channels
        self.with_cp = with_cp
        hidden = make_divisible(in_channels * expand_ratio, 8)
        layers: List[nn.Module] = []
        if hidden != in_channels:
            layers.append(conv_norm_act(in_channels, hidden, 1, norm_cfg=norm_cfg))
        layers += [conv_norm_act(hidden, hidden, kernel, stride, groups=hidden, norm_cfg=norm_cfg),
                   SqueezeExcitation(hidden, max(1, in_channels // 4)),
                   conv_norm_act(hidden, out_channels, 1, norm_cfg=norm_cfg, act=False)]
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = make_drop_path(drop_path_rate)

    def _inner(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return self.stochastic_depth(out) + x if self.use_res_connect else out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._inner, x, use_reentrant=False)
        return self._inner(x)


@MODELS.register_module()
class EfficientNet(BaseBackbone):
    """EfficientNet B0-B7, torchvision's (``torchvision.models.efficientnet_b*``).

    Args:
        arch: ``'b0'`` .. ``'b7'`` (width, depth multipliers (1.0, 1.0), (1.0, 1.1), (1.1, 1.2),
            (1.2, 1.4), (1.4, 1.8), (1.6, 2.2), (1.8, 2.6), (2.0, 3.1)); channels rounded to
            multiples of 8, blocks per stage ``ceil(blocks * depth)``.
        out_indices: outputs among 0..8 = ``features.{i}``: 0 the stem, 1..7 the stages, 8 the
            head conv (Lightning Pose's output).
        frozen_stages: -1 nothing, 0 the stem, k also ``features.1..k``.
        drop_path_rate: torchvision's ``stochastic_depth_prob`` (0.2): block i of N drops its
            residual branch with ``rate * i / N`` in training.
        norm_cfg: default BN (b5-b7: eps 1e-3, momentum 0.01, as torchvision).
        norm_eval: BN layers stay in eval mode in ``train()``; with_cp: checkpoint each block.
        freeze_norm_weights: BN weights and biases are not trained (``requires_grad=False``).
        init_cfg: mmengine init config.

    Shapes: (N, 3, H, W) → tuple of (N, C_i, H / s_i, W / s_i) for i in out_indices,
    s = (2, 2, 4, 8, 16, 16, 32, 32, 32); B0: C = (32, 16, 24, 40, 80, 112, 192, 320, 1280).
    """

    arch_settings = {'b0': (1.0, 1.0), 'b1': (1.0, 1.1), 'b2': (1.1, 1.2), 'b3': (1.2, 1.4),
                     'b4': (1.4, 1.8), 'b5': (1.6, 2.2), 'b6': (1.8, 2.6), 'b7': (2.0, 3.1)}
    # without stochastic depth, so that two forward passes in training mode agree
    example_args = dict(arch='b0', out_indices=(3, 8), drop_path_rate=0.0)

    def __init__(self, arch: str = 'b0', out_indices: Sequence[int] = (8,),
                 frozen_stages: int = -1, drop_path_rate: float = 0.2,
                 norm_cfg: Optional[dict] = None, norm_eval: bool = False,
                 with_cp: bool = False, freeze_norm_weights: bool = False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if arch not in self.arch_settings:
            raise ValueError(f'EfficientNet: arch={arch!r} is not one of '
                             f'{", ".join(map(repr, self.arch_settings))}')
        if not 0.0 <= drop_path_rate < 1.0:
            raise ValueError(f'EfficientNet: drop_path_rate={drop_path_rate!r} must be in [0, 1)')
        self.arch = arch
        width, depth = self.arch_settings[arch]
        self.out_indices = check_out_indices('EfficientNet', out_indices, 9)
        self.frozen_stages = check_frozen_stages('EfficientNet', frozen_stages, 8)
        self.norm_cfg = copy_cfg(norm_cfg) if norm_cfg is not None else (
            BN_B5 if arch in ('b5', 'b6', 'b7') else BN)
        self.norm_eval, self.with_cp = norm_eval, with_cp
        self.freeze_norm_weights = freeze_norm_weights

        stages = [(e, k, s, make_divisible(cin * width, 8), make_divisible(cout * width, 8),
                   int(math.ceil(n * depth))) for e, k, s, cin, cout, n in BASE_STAGES]
        total = sum(stage[-1] for stage in stages)
        layers: List[nn.Module] = [conv_norm_act(3, stages[0][3], 3, 2, norm_cfg=self.norm_cfg)]
        channels, strides, block_id = [stages[0][3]], [2], 0
        for expand, kernel, stride, cin, cout, n in stages:
            blocks = []
            for j in range(n):
                blocks.append(MBConv(cin if j == 0 else cout, cout, expand, kernel,
                                     stride if j == 0 else 1, drop_path_rate * block_id / total,
                                     self.norm_cfg, with_cp))
                block_id += 1
            layers.append(nn.Sequential(*blocks))
            channels.append(cout)
            strides.append(strides[-1] * stride)
        head = 4 * stages[-1][4]
        layers.append(conv_norm_act(stages[-1][4], head, 1, norm_cfg=self.norm_cfg))
        channels.append(head)
        strides.append(strides[-1])
        self.features = nn.Sequential(*layers)
        self.out_channels = tuple(channels[i] for i in self.out_indices)
        self.out_strides = tuple(strides[i] for i in self.out_indices)
        self._freeze_stages()

    # ---------------------------------------------------------------- BaseBackbone hooks
    def _stage_modules(self, index: int) -> List[nn.Module]:
        return [self.features[index]]

    def _init_from_scratch(self) -> None:
        """torchvision's: convs Kaiming-normal (fan_out), biases 0, norms weight 1 / bias 0."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out')
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def convert_pretrained(self, state_dict: dict) -> Tuple[dict, str]:
        """torchvision's layout is ours; Lightning Pose's trunk (``0.<i>...``) is renamed to
        ``features.<i>...``."""
        if any(k.startswith('0.') for k in state_dict) and \
                not any(k.startswith('features.') for k in state_dict):
            return rename_keys(state_dict, LIGHTNING_POSE_KEYS), 'lightning-pose'
        return state_dict, 'native'

    # ---------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """(N, 3, H, W) → tuple of the ``out_indices`` outputs."""
        return self.run_stages(x, list(self.features)[:max(self.out_indices) + 1])
