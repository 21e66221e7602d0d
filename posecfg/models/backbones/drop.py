"""Training-time regularisers shared by the backbones: DropBlock and drop path.

Drop path (stochastic depth) is mmcv's ``DropPath``: each sample's residual branch is zeroed
with probability p and the survivors scaled by 1 / (1 - p), which is also torchvision's
``StochasticDepth(p, 'row')`` and timm's ``DropPath``. :func:`linear_drop_path_rates` gives the
per-block rates of the "linear decay" rule the three libraries use.

:class:`DropBlock2d` follows timm 1.0 (``timm/layers/drop.py``, ``drop_block_2d`` with
``couple_channels=True``, ``scale_by_keep=True``), which DeepLabCut's ``drop_block_rate`` builds:
a Bernoulli(gamma) seed per position, grown to ``block_size`` squares by a stride-1 max-pool,
``gamma = gamma_scale * p * H * W / (k_h * k_w) / ((H - k_h + 1) * (W - k_w + 1))`` with
``k = min(block_size, side)``, one mask shared by all channels, kept activations scaled by
``numel / (kept + 1e-7)``. Identity in eval mode or with p = 0.
"""
from __future__ import annotations

from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn.bricks.drop import DropPath

__all__ = ['DropBlock2d', 'DropPath', 'linear_drop_path_rates', 'make_drop_path']


def linear_drop_path_rates(rate: float, num_blocks: int) -> List[float]:
    """Block i of ``num_blocks`` (in forward order) drops with ``rate * i / (num_blocks - 1)``:
    0 for the first block, ``rate`` for the last (timm ``make_blocks``; torchvision's EfficientNet
    uses ``rate * i / num_blocks`` instead, see there)."""
    if not 0.0 <= rate < 1.0:
        raise ValueError(f'drop_path_rate={rate!r} must be in [0, 1)')
    if num_blocks <= 1:
        return [0.0] * num_blocks
    return [rate * i / (num_blocks - 1) for i in range(num_blocks)]


def make_drop_path(rate: float) -> nn.Module:
    """``DropPath(rate)``, or an ``nn.Identity`` when the rate is 0 (no parameters either way)."""
    return DropPath(rate) if rate > 0 else nn.Identity()


class DropBlock2d(nn.Module):
    """DropBlock (Ghiasi et al. 2018) on (N, C, H, W) feature maps, timm 1.0's variant (module
    docstring). ``drop_prob`` is the fraction of activations to drop."""

    def __init__(self, drop_prob: float, block_size: int, gamma_scale: float = 1.0):
        super().__init__()
        if not 0.0 <= drop_prob < 1.0:
            raise ValueError(f'DropBlock2d: drop_prob={drop_prob!r} must be in [0, 1)')
        self.drop_prob, self.block_size, self.gamma_scale = drop_prob, block_size, gamma_scale

    def extra_repr(self) -> str:
        return f'drop_prob={self.drop_prob}, block_size={self.block_size}, ' \
               f'gamma_scale={self.gamma_scale}'

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or not self.drop_prob:
            return x
        n, _, h, w = x.shape
        kh, kw = min(self.block_size, h), min(self.block_size, w)
        gamma = (self.gamma_scale * self.drop_prob * h * w / (kh * kw)
                 / ((h - kh + 1) * (w - kw + 1)))
        with torch.no_grad():
            seeds = torch.empty((n, 1, h, w), dtype=x.dtype, device=x.device).bernoulli_(gamma)
            dropped = F.max_pool2d(seeds, kernel_size=(kh, kw), stride=1,
                                   padding=(kh // 2, kw // 2))
            if kh % 2 == 0 or kw % 2 == 0:  # even blocks pad one more row/column: drop it
                dropped = dropped[..., (kh + 1) % 2:, (kw + 1) % 2:]
            keep = 1.0 - dropped
            keep = keep * (keep.numel() / keep.float().sum().add(1e-7)).to(x.dtype)
        return x * keep


def optional_drop_block(drop_prob: float, block_size: int, gamma_scale: float
                        ) -> Optional[DropBlock2d]:
    """A DropBlock2d, or None when ``drop_prob`` is 0."""
    return DropBlock2d(drop_prob, block_size, gamma_scale) if drop_prob else None
