"""DeepLabCut 3's DEKR criteria (``models/criterions/dekr.py`` of 3.0.2).

- ``DEKRHeatmapLoss``: ``mean((output - target)² · weights)`` over every element (lines
  36-55: the mean over W, H, C then B of equal-sized maps is the plain mean).
- ``DEKROffsetLoss``: smooth L1 with ``beta`` (default 1/9) — ``0.5 d² / beta`` where ``d =
  |output - target| < beta``, else ``d - 0.5 beta`` — times ``weights``, summed, divided by the
  number of elements whose weight is > 0 (1 when there are none) (lines 58-97).

Both take ``output``, ``target`` of the same shape (B, C, H, W) and ``weights`` broadcastable to
it, and return a 0-dim tensor. ``weight`` is the loss's weight in its head's
``WeightedLossAggregator`` (DeepLabCut writes it beside ``type``).
"""
from __future__ import annotations

import torch
from torch import Tensor

from posecfg.registry import MODELS
from .weighted import WeightedCriterion


def _check(owner: str, output: Tensor, target: Tensor) -> None:
    if output.shape != target.shape:
        raise ValueError(f'{owner}: output has shape {tuple(output.shape)} but target has shape '
                         f'{tuple(target.shape)}')


@MODELS.register_module()
class DEKRHeatmapLoss(WeightedCriterion):
    """DeepLabCut's ``DEKRHeatmapLoss``: weighted squared error, mean over all elements."""

    example_args = dict(weight=1.0)

    def forward(self, output: Tensor, target: Tensor, weights=1.0) -> Tensor:
        _check(type(self).__name__, output, target)
        if isinstance(weights, Tensor):
            weights = weights.to(output.device)
        return ((output - target.to(output.dtype)) ** 2 * weights).mean()


@MODELS.register_module()
class DEKROffsetLoss(WeightedCriterion):
    """DeepLabCut's ``DEKROffsetLoss``: weighted smooth L1 over the positive-weight elements.

    Args:
        beta: where the loss turns from quadratic to linear (DeepLabCut's default 1/9).
        weight: see the module docstring.
    """

    example_args = dict(beta=1 / 9, weight=0.03)

    def __init__(self, beta: float = 1 / 9, weight: float = 1.0):
        super().__init__(weight)
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not beta > 0:
            raise ValueError(f'DEKROffsetLoss: beta must be a positive number, got {beta!r}')
        self.beta = float(beta)

    @staticmethod
    def example_inputs():
        """Offsets (2, 4, 8, 6) with weights positive on part of the maps (DEKR's layout:
        ``1/sqrt(area)`` around each centre, 0 elsewhere)."""
        torch.manual_seed(0)
        weights = torch.zeros(2, 4, 8, 6)
        weights[:, :, 2:6, 1:5] = 0.05
        return torch.randn(2, 4, 8, 6), torch.randn(2, 4, 8, 6), weights

    def forward(self, output: Tensor, target: Tensor, weights=1.0) -> Tensor:
        _check(type(self).__name__, output, target)
        d = (output - target.to(output.dtype)).abs()
        loss = torch.where(d < self.beta, 0.5 * d ** 2 / self.beta, d - 0.5 * self.beta)
        weights = torch.as_tensor(weights, dtype=loss.dtype, device=loss.device)
        positive = int((weights > 0).sum())  # DeepLabCut counts the weights tensor's elements
        return (loss * weights).sum() / max(positive, 1)
