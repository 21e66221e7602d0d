"""DeepLabCut 3's weighted criteria and their aggregation (``models/criterions/`` of 3.0.2).

- ``WeightedMSECriterion``, ``WeightedHuberCriterion`` (``nn.HuberLoss``, delta 1),
  ``WeightedBCECriterion`` (``nn.BCEWithLogitsLoss``) — ``weighted.py``: the elementwise loss
  ``l`` of (output, target), then ``sum(l · weights) / n`` with ``n`` the number of elements
  whose (broadcast) weight is not 0 (``criterions/utils.py`` ``count_nonzero_elems``; all
  elements when ``weights`` is a Python float other than 0), and ``n = 1`` when that is 0.
- ``WeightedLossAggregator`` — ``aggregators.py``: the **mean** of ``weight · loss`` over the
  named losses (so heatmap 1.0 and locref 0.05 give ``(L_heatmap + 0.05 L_locref) / 2``).

All take ``output``, ``target`` of the same shape (e.g. (B, C, H, W)) and ``weights``
broadcastable to it, and return a 0-dim tensor.
"""
from __future__ import annotations

from typing import Dict, Mapping

import torch
from torch import Tensor, nn

from posecfg.registry import MODELS


def count_nonzero_elements(losses: Tensor, weights) -> Tensor:
    """The number of elements of ``losses`` whose weight (broadcast to it) is not 0."""
    if isinstance(weights, float):
        return torch.tensor(losses.numel() if weights != 0.0 else 0)
    weights = torch.as_tensor(weights, dtype=torch.float32, device=losses.device)
    return (weights != 0).expand_as(losses).sum()


class WeightedCriterion(nn.Module):
    """``sum(l · weights) / (number of non-zero weights)`` of an elementwise loss ``l``.

    Args:
        weight: this loss's weight when a head aggregates several (DeepLabCut writes it next
            to ``type`` in a head's ``criterion`` entries; the head's
            :class:`WeightedLossAggregator` applies it, ``forward`` does not).
    """

    example_args: dict = dict(weight=1.0)

    def __init__(self, weight: float = 1.0):
        super().__init__()
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise ValueError(f'{type(self).__name__}: weight must be a number, got {weight!r}')
        self.weight = float(weight)

    @staticmethod
    def example_inputs():
        """(output, target, weights) for the registry test: (2, 3, 8, 6) maps in [0, 1] and
        one weight per map (2, 3, 1, 1), as DeepLabCut's heatmap weights broadcast."""
        torch.manual_seed(0)
        return torch.rand(2, 3, 8, 6), torch.rand(2, 3, 8, 6), torch.ones(2, 3, 1, 1)

    def elementwise(self, output: Tensor, target: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, output: Tensor, target: Tensor, weights=1.0) -> Tensor:
        if output.shape != target.shape:
            raise ValueError(f'{type(self).__name__}: output has shape {tuple(output.shape)} '
                             f'but target has shape {tuple(target.shape)}')
        loss = self.elementwise(output, target.to(output.dtype))
        if isinstance(weights, Tensor):
            weights = weights.to(loss.device)
        count = count_nonzero_elements(loss, weights)
        return torch.sum(loss * weights) / count.clamp(min=1).to(loss.dtype)


@MODELS.register_module()
class WeightedMSECriterion(WeightedCriterion):
    """Weighted mean squared error, DeepLabCut's ``WeightedMSECriterion`` (see the module)."""

    example_args = dict(weight=1.0)

    def elementwise(self, output: Tensor, target: Tensor) -> Tensor:
        return nn.functional.mse_loss(output, target, reduction='none')


@MODELS.register_module()
class WeightedHuberCriterion(WeightedCriterion):
    """Weighted Huber loss (delta 1), DeepLabCut's ``WeightedHuberCriterion``."""

    example_args = dict(weight=1.0)

    def elementwise(self, output: Tensor, target: Tensor) -> Tensor:
        return nn.functional.huber_loss(output, target, reduction='none', delta=1.0)


@MODELS.register_module()
class WeightedBCECriterion(WeightedCriterion):
    """Weighted binary cross-entropy on logits, DeepLabCut's ``WeightedBCECriterion``."""

    example_args = dict(weight=1.0)

    def elementwise(self, output: Tensor, target: Tensor) -> Tensor:
        return nn.functional.binary_cross_entropy_with_logits(output, target, reduction='none')

    @staticmethod
    def example_perfect(target: Tensor) -> Tensor:
        """The logits with the least loss for ``target`` probabilities (its logit); the
        least loss is the targets' entropy, not 0."""
        return torch.logit(target.clamp(1e-6, 1 - 1e-6))


@MODELS.register_module()
class WeightedLossAggregator(nn.Module):
    """Mean of ``weight · losses[name]`` over ``weights`` (DeepLabCut's aggregator).

    Args:
        weights: loss name → weight, e.g. ``{'heatmap': 1.0, 'locref': 0.05}``.
    """

    example_args = dict(weights=dict(heatmap=1.0, locref=0.05))
    #: combines other losses (the registry test checks the formula, not a target)
    aggregates_losses = True

    def __init__(self, weights: Mapping[str, float]):
        super().__init__()
        if not isinstance(weights, Mapping) or not weights:
            raise ValueError(f'WeightedLossAggregator: weights must map loss names to numbers, '
                             f'got {weights!r}')
        self.weights: Dict[str, float] = {str(k): float(v) for k, v in weights.items()}

    def forward(self, losses: Mapping[str, Tensor]) -> Tensor:
        missing = [name for name in self.weights if name not in losses]
        if missing:
            raise KeyError(f'WeightedLossAggregator: no loss named {missing}; the losses are '
                           f'{sorted(losses)}')
        return torch.stack([w * losses[name] for name, w in self.weights.items()]).mean()
