"""MobileNetV2 (Sandler et al. 2018) with MMPose/mmcls's constructor and key layout.

Native (MMPose / mmcls) keys: ``conv1.{conv,bn}``, ``layer{1..7}.{j}.conv.{0,1[,2]}.{conv,bn}``,
``conv2.{conv,bn}``. :meth:`MobileNetV2.convert_pretrained` also takes torchvision's
``features.N`` layout and timm's ``conv_stem`` / ``blocks.i.j`` layout (tables below).
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import ConvModule
from mmengine.model import kaiming_init

from ...registry import MODELS
from ..utils.key_mapping import rename_indexed, rename_keys
from .base import (BaseBackbone, check_frozen_stages, check_out_indices, copy_cfg,
                   init_from_scratch)


def make_divisible(value: float, divisor: int = 8, min_ratio: float = 0.9) -> int:
    """Nearest multiple of ``divisor`` that is not below ``min_ratio * value`` (as torchvision
    and MMPose round channel counts)."""
    new_value = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if new_value < min_ratio * value:
        new_value += divisor
    return new_value


class InvertedResidual(nn.Module):
    """[1x1 expand] → 3x3 depthwise → 1x1 linear projection, residual when shapes allow.

    ``conv`` holds ConvModules: [expand], depthwise, linear.
    (N, C_in, H, W) → (N, C_out, H/s, W/s).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int,
                 conv_cfg=None, norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU6'),
                 with_cp: bool = False):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f'InvertedResidual: stride={stride} must be 1 or 2')
        self.stride, self.with_cp = stride, with_cp
        self.use_res_connect = stride == 1 and in_channels == out_channels
        hidden = make_divisible(round(in_channels * expand_ratio), 8)
        kw = dict(conv_cfg=conv_cfg, norm_cfg=copy_cfg(norm_cfg))
        layers = []
        if expand_ratio != 1:
            layers.append(ConvModule(in_channels, hidden, 1, act_cfg=copy_cfg(act_cfg), **kw))
        layers.append(ConvModule(hidden, hidden, 3, stride=stride, padding=1, groups=hidden,
                                 act_cfg=copy_cfg(act_cfg), **kw))
        # linear bottleneck: no activation after the projection (the paper's point)
        layers.append(ConvModule(hidden, out_channels, 1, act_cfg=None, **kw))
        self.conv = nn.Sequential(*layers)

    def _inner(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._inner, x, use_reentrant=False)
        return self._inner(x)


# torchvision keys inside features.N (N = 1..17, the 17 blocks in order) → ours inside
# layer{i}.{j}. Blocks without expansion (the first) lack the 1x1 expand conv.
TORCHVISION_BLOCK_KEYS_NO_EXPAND = (
    (r'^conv\.0\.0\.', 'conv.0.conv.'),  # depthwise conv
    (r'^conv\.0\.1\.', 'conv.0.bn.'),
    (r'^conv\.1\.', 'conv.1.conv.'),     # linear projection conv
    (r'^conv\.2\.', 'conv.1.bn.'),
)
TORCHVISION_BLOCK_KEYS = (
    (r'^conv\.0\.0\.', 'conv.0.conv.'),  # expand conv
    (r'^conv\.0\.1\.', 'conv.0.bn.'),
    (r'^conv\.1\.0\.', 'conv.1.conv.'),  # depthwise conv
    (r'^conv\.1\.1\.', 'conv.1.bn.'),
    (r'^conv\.2\.', 'conv.2.conv.'),     # linear projection conv
    (r'^conv\.3\.', 'conv.2.bn.'),
)
# features.0 / features.18 are ConvBNReLU6 (Sequential conv, bn, relu6) → conv1 / conv2
TORCHVISION_CONV_BN = ((r'^0\.', 'conv.'), (r'^1\.', 'bn.'))

# timm (efficientnet.py builder): conv_stem, bn1, blocks.{i}.{j}, conv_head, bn2, classifier;
# blocks.i is our layer{i+1}. The first stage is a DepthwiseSeparableConv, the rest are
# InvertedResidual.
TIMM_TOP_KEYS = (
    (r'^conv_stem\.', 'conv1.conv.'),
    (r'^bn1\.', 'conv1.bn.'),
    (r'^conv_head\.', 'conv2.conv.'),
    (r'^bn2\.', 'conv2.bn.'),
)
TIMM_DS_BLOCK_KEYS = (
    (r'^conv_dw\.', 'conv.0.conv.'), (r'^bn1\.', 'conv.0.bn.'),
    (r'^conv_pw\.', 'conv.1.conv.'), (r'^bn2\.', 'conv.1.bn.'),
)
TIMM_IR_BLOCK_KEYS = (
    (r'^conv_pw\.', 'conv.0.conv.'), (r'^bn1\.', 'conv.0.bn.'),
    (r'^conv_dw\.', 'conv.1.conv.'), (r'^bn2\.', 'conv.1.bn.'),
    (r'^conv_pwl\.', 'conv.2.conv.'), (r'^bn3\.', 'conv.2.bn.'),
)


@MODELS.register_module()
class MobileNetV2(BaseBackbone):
    """MobileNetV2 backbone (MMPose 0.x's ``MobileNetV2``), a fast choice on CPU.

    Args:
        widen_factor: channel multiplier (channels rounded to multiples of 8).
        out_indices: outputs among 0..7: layer1..layer7 and 7 = the final 1x1 conv (conv2).
        frozen_stages: -1 nothing, 0 the stem conv, k also layer1..layerk (k <= 7).
        conv_cfg, norm_cfg, act_cfg: mmcv layer configs (ReLU6 by default).
        norm_eval: BN layers stay in eval mode in ``train()``.
        freeze_norm_weights: BN weights and biases are not trained (``requires_grad=False``).
        with_cp: gradient checkpointing per block.
        init_cfg: mmengine init config.

    Shapes: (N, 3, H, W) → tuple of (N, C_i, H / s_i, W / s_i); with widen_factor 1
    C = (16, 24, 32, 64, 96, 160, 320, 1280), s = (2, 4, 8, 16, 16, 32, 32, 32).
    """

    # expand_ratio, channels, num_blocks, stride of the first block — per layer
    arch_settings = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2],
                     [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]]
    example_args = dict(widen_factor=0.5, out_indices=(2, 7))

    def __init__(self, widen_factor: float = 1.0, out_indices: Sequence[int] = (7,),
                 frozen_stages: int = -1, conv_cfg=None, norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU6'), norm_eval: bool = False, with_cp: bool = False,
                 freeze_norm_weights: bool = False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.widen_factor = widen_factor
        self.out_indices = check_out_indices('MobileNetV2', out_indices, 8)
        self.frozen_stages = check_frozen_stages('MobileNetV2', frozen_stages, 7)
        self.conv_cfg, self.norm_cfg, self.act_cfg = conv_cfg, copy_cfg(norm_cfg), act_cfg
        self.norm_eval, self.with_cp = norm_eval, with_cp
        self.freeze_norm_weights = freeze_norm_weights

        in_ch = make_divisible(32 * widen_factor, 8)
        self.conv1 = ConvModule(3, in_ch, 3, stride=2, padding=1, conv_cfg=conv_cfg,
                                norm_cfg=self.norm_cfg, act_cfg=copy_cfg(act_cfg))
        self.layers: List[str] = []
        channels, strides, stride = [], [], 2
        for i, (expand_ratio, c, num_blocks, s) in enumerate(self.arch_settings):
            out_ch = make_divisible(c * widen_factor, 8)
            self.add_module(f'layer{i + 1}', self._make_layer(in_ch, out_ch, num_blocks, s,
                                                              expand_ratio))
            self.layers.append(f'layer{i + 1}')
            in_ch, stride = out_ch, stride * s
            channels.append(out_ch)
            strides.append(stride)
        # MMPose widens the head only above 1.0 (the paper keeps 1280 for thinner nets)
        head_ch = int(1280 * widen_factor) if widen_factor > 1.0 else 1280
        self.conv2 = ConvModule(in_ch, head_ch, 1, conv_cfg=conv_cfg, norm_cfg=self.norm_cfg,
                                act_cfg=copy_cfg(act_cfg))
        self.layers.append('conv2')
        channels.append(head_ch)
        strides.append(stride)
        self.out_channels = tuple(channels[i] for i in self.out_indices)
        self.out_strides = tuple(strides[i] for i in self.out_indices)
        self._freeze_stages()

    def _make_layer(self, in_ch: int, out_ch: int, num_blocks: int, stride: int,
                    expand_ratio: int) -> nn.Sequential:
        blocks = []
        for j in range(num_blocks):
            blocks.append(InvertedResidual(
                in_ch if j == 0 else out_ch, out_ch, stride if j == 0 else 1, expand_ratio,
                conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg,
                with_cp=self.with_cp))
        return nn.Sequential(*blocks)

    def block_names(self) -> List[str]:
        """``layer{i}.{j}`` of every InvertedResidual, in forward order."""
        return [f'{name}.{j}' for name in self.layers[:-1]
                for j in range(len(getattr(self, name)))]

    # ---------------------------------------------------------------- BaseBackbone hooks
    def _stage_modules(self, index: int) -> List[nn.Module]:
        return [self.conv1] if index == 0 else [getattr(self, f'layer{index}')]

    def _init_from_scratch(self) -> None:
        init_from_scratch(self, kaiming_init)

    def convert_pretrained(self, state_dict: dict) -> Tuple[dict, str]:
        """torchvision (``features.N``) or timm (``conv_stem``, ``blocks.i.j``) → native."""
        if any(k.startswith('features.') for k in state_dict):
            return self._from_torchvision(state_dict), 'torchvision'
        if 'conv_stem.weight' in state_dict:
            return self._from_timm(state_dict), 'timm'
        return state_dict, 'native'

    def _from_torchvision(self, state_dict: dict) -> dict:
        """features.0 → conv1, features.1..17 → the blocks in order, features.18 → conv2."""
        blocks = self.block_names()
        owners = {'0': ('conv1', TORCHVISION_CONV_BN),
                  str(len(blocks) + 1): ('conv2', TORCHVISION_CONV_BN)}
        for n, name in enumerate(blocks, start=1):
            has_expand = len(self.get_submodule(name).conv) == 3
            owners[str(n)] = (name, TORCHVISION_BLOCK_KEYS if has_expand
                              else TORCHVISION_BLOCK_KEYS_NO_EXPAND)
        return rename_indexed(state_dict, 'features.', owners)

    def _from_timm(self, state_dict: dict) -> dict:
        out = rename_keys(state_dict, TIMM_TOP_KEYS)
        owners = {}
        for name in self.block_names():
            layer, j = name.split('.')
            i = int(layer[len('layer'):]) - 1
            has_expand = len(self.get_submodule(name).conv) == 3
            owners[f'{i}.{j}'] = (name, TIMM_IR_BLOCK_KEYS if has_expand else TIMM_DS_BLOCK_KEYS)
        return rename_indexed(out, 'blocks.', owners, index_parts=2)

    # ---------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """(N, 3, H, W) → tuple of the ``out_indices`` outputs."""
        return self.run_stages(self.conv1(x), self.layers)

