"""``DLCRNet``: DeepLabCut's multi-scale ResNet backbone (``dlcrnet_stride16_ms5``,
``dlcrnet_stride32_ms5``).

DeepLabCut 3.0.2 ``models/backbones/resnet.py:86-146`` (``DLCRNet(ResNet)``): a timm ResNet
(``self.model``, output stride 16 or 32) whose ``layer1[2]`` (stride 4) and ``layer2[2]``
(stride 8) outputs are taken by forward hooks **detached** (no gradient flows back through
them), brought to stride 16 by conv blocks ``Conv2d(no padding) → BatchNorm2d(momentum 0.001)
→ ReLU``::

    bank2 (C2, s8) → conv_block1 (C2→C2, 3×3 /2) → conv_block2 (C2→128, 1×1)
    bank1 (C1, s4) → conv_block3 (C1→C1, 3×3 /2) → conv_block4 (C1→C1, 3×3 /2)
                   → conv_block5 (C1→128, 1×1)

resized to the ResNet output's size (``torchvision resize``: bilinear, antialias) and
concatenated ``[bank1 (128), bank2 (128), resnet output]`` — 2304 channels for ResNet-50
(C1 = 256, C2 = 512).

posecfg takes the two outputs while running the ResNet's blocks itself, not with hooks: a hook
bound to the module would keep writing to the original after ``copy.deepcopy`` (the copies
that BatchNorm folding and compiled evaluation run).

State-dict keys are DeepLabCut's below ``backbone.``: ``model.<timm ResNet keys>``,
``conv_block{1..5}.{0: conv, 1: BatchNorm}.*``
(so :data:`~posecfg.models.backbones.named.DLC_KEY_PREFIX` of ``DLCRNet`` is empty).
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from posecfg.registry import MODELS
from .base import BaseBackbone, check_frozen_stages
from .resnet import ResNet

#: DeepLabCut's hooked blocks: ``layer1[2]`` and ``layer2[2]`` (resnet.py:97-98)
BANK_BLOCK = 2
#: channels of each bank after its last conv block (resnet.py:100-104)
BANK_CHANNELS = 128


def _conv_block(in_channels: int, out_channels: int, kernel_size: int, stride: int
                ) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride),
                         nn.BatchNorm2d(out_channels, momentum=0.001), nn.ReLU())


@MODELS.register_module()
class DLCRNet(BaseBackbone):
    """DeepLabCut's ``DLCRNet`` (see the module).

    Args (DeepLabCut's): ``model_name`` (``resnet50`` or ``resnet101``), ``output_stride``
    (16 or 32: stride of the output, layer4 dilated for 16), ``drop_path_rate`` /
    ``drop_block_rate`` (timm's, passed to the ResNet as DeepLabCut's ResNet passes them to
    ``timm.create_model``; see :class:`ResNet`).
    posecfg's: ``base_channels`` / ``stem_channels`` of the ResNet (64; smaller for tests),
    ``norm_eval`` (DeepLabCut's ``freeze_bn_stats``), ``freeze_norm_weights`` (its
    ``freeze_bn_weights``; both act on the conv blocks' BatchNorms as well as the ResNet's),
    ``frozen_stages``, ``with_cp`` (gradient checkpointing of the ResNet's blocks), ``init_cfg``.

    ``forward(x (B, 3, H, W))`` → one map (B, 256 + C4, H / s, W / s), ``s = output_stride``.
    """

    example_args = dict(model_name='resnet50', output_stride=32, base_channels=8,
                        stem_channels=8)
    #: timm model names → ResNet depth
    DEPTHS = {'resnet50': 50, 'resnet101': 101}

    def __init__(self, model_name: str = 'resnet50', output_stride: int = 32,
                 base_channels: int = 64, stem_channels: int = 64, norm_eval: bool = False,
                 frozen_stages: int = -1, with_cp: bool = False,
                 freeze_norm_weights: bool = False, drop_path_rate: float = 0.0,
                 drop_block_rate: float = 0.0, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if model_name not in self.DEPTHS:
            raise ValueError(f'DLCRNet: model_name={model_name!r} must be one of '
                             f'{", ".join(self.DEPTHS)} (DeepLabCut hooks layer1[2] and '
                             f'layer2[2] of a bottleneck ResNet)')
        if output_stride not in (16, 32):
            raise ValueError(f'DLCRNet: output_stride={output_stride!r} must be 16 or 32 '
                             f'(dlcrnet_stride16_ms5 / dlcrnet_stride32_ms5)')
        self.model = ResNet(depth=self.DEPTHS[model_name], output_stride=output_stride,
                            base_channels=base_channels, stem_channels=stem_channels,
                            out_indices=(3,), with_cp=with_cp, drop_path_rate=drop_path_rate,
                            drop_block_rate=drop_block_rate)
        c1, c2 = (self.model.layer1[-1].out_channels, self.model.layer2[-1].out_channels)
        self.conv_block1 = _conv_block(c2, c2, 3, 2)
        self.conv_block2 = _conv_block(c2, BANK_CHANNELS, 1, 1)
        self.conv_block3 = _conv_block(c1, c1, 3, 2)
        self.conv_block4 = _conv_block(c1, c1, 3, 2)
        self.conv_block5 = _conv_block(c1, BANK_CHANNELS, 1, 1)
        self.out_channels = (2 * BANK_CHANNELS + self.model.out_channels[0],)
        self.out_strides = (output_stride,)
        self.norm_eval, self.freeze_norm_weights = norm_eval, freeze_norm_weights
        self.frozen_stages = check_frozen_stages('DLCRNet', frozen_stages, 4)
        self._freeze_stages()

    def _stage_modules(self, index: int) -> List[nn.Module]:
        return self.model._stage_modules(index)

    def _init_from_scratch(self) -> None:
        # the ResNet's own scheme; the conv blocks keep PyTorch's defaults as in DeepLabCut
        self.model._init_from_scratch()

    def convert_pretrained(self, state_dict: dict) -> Tuple[dict, str]:
        """A bare ResNet checkpoint (timm / torchvision keys) goes under ``model.``."""
        if any(str(k).startswith('model.') for k in state_dict):
            return state_dict, 'native'
        state_dict, layout = self.model.convert_pretrained(state_dict)
        return {f'model.{k}': v for k, v in state_dict.items()}, layout

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        resnet = self.model
        x = resnet.forward_stem(x)
        banks = []
        for stage in range(1, 5):
            for index, block in enumerate(getattr(resnet, f'layer{stage}')):
                x = block(x)
                if stage <= 2 and index == BANK_BLOCK:
                    banks.append(x.detach())  # DeepLabCut's hooks detach them
        bank1, bank2 = banks
        bank2 = self.conv_block2(self.conv_block1(bank2))
        bank1 = self.conv_block5(self.conv_block4(self.conv_block3(bank1)))
        size = x.shape[-2:]
        return (torch.cat((_resize(bank1, size), _resize(bank2, size), x), dim=1),)


def _resize(bank: torch.Tensor, size) -> torch.Tensor:
    """torchvision's ``resize`` as DeepLabCut calls it: bilinear with antialiasing. Computed in
    float32 and cast back, since the antialiased kernel has no bfloat16 CPU version (under
    ``runtime.autocast`` the banks are bfloat16)."""
    out = F.interpolate(bank.float(), size=size, mode='bilinear', align_corners=False,
                        antialias=True)
    return out.to(bank.dtype)
