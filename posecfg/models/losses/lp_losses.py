"""Lightning Pose 2.4.3's supervised losses (``heatmap_loss_type`` mse / kl / js, regression) and
its pixel-error diagnostic, as registered losses.

Facts from the lightning-pose 2.4.3 wheel (``lightning_pose/losses/losses.py``):

- every loss is multiplied by ``1 / (2 · exp(log_weight))`` (l. 89-100); the supervised losses
  get ``log_weight = 0``, i.e. **0.5** (``losses/factory.py:113-116, 149``);
- heatmap losses drop the maps whose target is all zero (unlabelled or moved out of the image;
  ``HeatmapLoss.remove_nans``, l. 229-249) and average what is left (l. 281-290):

  - ``heatmap_mse``: ``mean over kept maps and pixels of (t - p)² · H · W`` (l. 314-335);
  - ``heatmap_kl``: kornia ``kl_div_loss_2d(p + 1e-10, t + 1e-10)`` = per map
    ``Σ t' (log t' - log p')`` with ``t' = t + 1e-10``, ``p' = p + 1e-10`` (KL(target ‖ pred)),
    mean over kept maps (l. 360-379);
  - ``heatmap_js``: kornia ``js_div_loss_2d`` = per map ``½ KL(t' ‖ m) + ½ KL(p' ‖ m)``,
    ``m = (t' + p') / 2``, mean over kept maps (l. 404-423);

- ``regression``: ``mean over non-NaN target coordinates of (t - p)²`` (l. 857-947);
- ``rmse`` (always logged, not a loss): per labelled keypoint ``sqrt(mean(Δx², Δy²))`` — the
  mean of the two squares, i.e. ‖Δ‖ / √2 — averaged over keypoints (l. 949-997).

Where every map (or coordinate) of a batch is unlabelled Lightning Pose's mean of nothing is NaN
and poisons training; these losses return 0 (with the graph kept) instead.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor, nn

from posecfg.registry import MODELS

KL_EPSILON = 1e-10  # added to both maps before the logarithms (losses.py:375-376, 419-420)


def lp_loss_weight(log_weight: float) -> float:
    """Lightning Pose's loss weight ``1 / (2 · exp(log_weight))`` (losses.py:99)."""
    return 1.0 / (2.0 * math.exp(log_weight))


def move_distribution(maps: Tensor, step: Tensor) -> Tensor:
    """Maps (B, K, H, W) that are distributions, moved by ``step`` in log space and
    renormalised (``step = 0`` gives them back): how a divergence's input varies."""
    moved = maps.log() + step
    return moved.flatten(2).softmax(-1).reshape(maps.shape)


def kl_per_map(p: Tensor, q: Tensor) -> Tensor:
    """KL(p ‖ q) = Σ p (log p - log q) over each map's pixels: (M, H, W) → (M,)."""
    return (p * (p.log() - q.log())).flatten(1).sum(-1)


class LPHeatmapLoss(nn.Module):
    """Base of Lightning Pose's heatmap losses: ``weight · mean over kept maps`` of
    :meth:`per_map`, a map kept when its target is not all zero (and its weight, when given, is
    positive).

    Args:
        log_weight: Lightning Pose's ``log_weight``; the loss is multiplied by
            ``1 / (2 · exp(log_weight))`` (0 → 0.5, as Lightning Pose's supervised loss).
    """

    loss_name = 'heatmap'
    example_args = dict(log_weight=0.0)

    def __init__(self, log_weight: float = 0.0):
        super().__init__()
        self.log_weight = float(log_weight)
        self.weight = lp_loss_weight(self.log_weight)

    @staticmethod
    def example_inputs():
        """(output, target, target_weight) for the registry test: (2, 3, 8, 6) maps that are
        distributions over their pixels (as Lightning Pose's targets and spatial-softmax
        outputs) and per-map weights (2, 3)."""
        torch.manual_seed(0)
        maps = [torch.rand(2, 3, 48).softmax(-1).reshape(2, 3, 8, 6) for _ in range(2)]
        return maps[0], maps[1], torch.ones(2, 3)

    def per_map(self, pred: Tensor, target: Tensor) -> Tensor:
        """(M, H, W) kept predictions and targets → (M, ...) values to average."""
        raise NotImplementedError

    def forward(self, output: Tensor, target: Tensor,
                target_weight: Optional[Tensor] = None) -> Tensor:
        """output, target (B, K, H, W); target_weight (B, K) or (B, K, 1) → 0-dim tensor."""
        name = type(self).__name__
        if output.shape != target.shape or output.dim() != 4:
            raise ValueError(f'{name}: output {tuple(output.shape)} and target '
                             f'{tuple(target.shape)} must both be (B, K, H, W)')
        keep = ~(target.flatten(2) == 0).all(dim=-1)  # (B, K)
        if target_weight is not None:
            keep &= target_weight.reshape(keep.shape) > 0
        if not keep.any():
            return output.sum() * 0.0
        return self.weight * self.per_map(output[keep].float(), target[keep].float()).mean()


@MODELS.register_module()
class LPHeatmapMSELoss(LPHeatmapLoss):
    """``heatmap_loss_type: mse``: ``(t - p)² · H · W`` averaged over kept maps and pixels."""

    loss_name = 'heatmap_mse'
    example_args = dict(log_weight=0.0)

    def per_map(self, pred: Tensor, target: Tensor) -> Tensor:
        height, width = target.shape[-2:]
        return (target - pred).square() * (height * width)


@MODELS.register_module()
class LPHeatmapKLLoss(LPHeatmapLoss):
    """``heatmap_loss_type: kl``: KL(target ‖ prediction) per map (both + 1e-10)."""

    loss_name = 'heatmap_kl'
    example_args = dict(log_weight=0.0)
    #: the registry test moves a prediction within distributions (see ``move_distribution``)
    example_move = staticmethod(lambda maps, step: move_distribution(maps, step))

    def per_map(self, pred: Tensor, target: Tensor) -> Tensor:
        return kl_per_map(target + KL_EPSILON, pred + KL_EPSILON)


@MODELS.register_module()
class LPHeatmapJSLoss(LPHeatmapLoss):
    """``heatmap_loss_type: js``: Jensen-Shannon divergence per map (both + 1e-10)."""

    loss_name = 'heatmap_js'
    example_args = dict(log_weight=0.0)
    #: the registry test moves a prediction within distributions (see ``move_distribution``)
    example_move = staticmethod(lambda maps, step: move_distribution(maps, step))

    def per_map(self, pred: Tensor, target: Tensor) -> Tensor:
        p, t = pred + KL_EPSILON, target + KL_EPSILON
        m = 0.5 * (p + t)
        return 0.5 * kl_per_map(t, m) + 0.5 * kl_per_map(p, m)


@MODELS.register_module()
class LPRegressionMSELoss(nn.Module):
    """Lightning Pose's ``regression`` loss: ``weight · mean over labelled coordinates of
    (t - p)²``, in the units of the keypoints (input pixels for posecfg's heads).

    Args:
        log_weight: as :class:`LPHeatmapLoss` (0 → weight 0.5).
    """

    loss_name = 'regression'
    example_args = dict(log_weight=0.0)

    @staticmethod
    def example_inputs():
        """(output, target, valid) for the registry test: (2, 3, 2) pixels, (2, 3) flags."""
        torch.manual_seed(0)
        return torch.rand(2, 3, 2) * 64, torch.rand(2, 3, 2) * 64, torch.ones(2, 3)

    def __init__(self, log_weight: float = 0.0):
        super().__init__()
        self.log_weight = float(log_weight)
        self.weight = lp_loss_weight(self.log_weight)

    def forward(self, output: Tensor, target: Tensor, valid: Optional[Tensor] = None) -> Tensor:
        """output, target (B, K, 2); valid (B, K) bool/0-1 (None: every finite target) →
        0-dim tensor. NaN targets are never used."""
        if output.shape != target.shape:
            raise ValueError(f'{type(self).__name__}: output {tuple(output.shape)} and target '
                             f'{tuple(target.shape)} must have the same (B, K, 2) shape')
        keep = torch.isfinite(target)
        if valid is not None:
            keep &= (valid.reshape(target.shape[:-1]) > 0)[..., None]
        if not keep.any():
            return output.sum() * 0.0
        return self.weight * (target[keep] - output[keep].float()).square().mean()


def lp_rmse(pred: Tensor, target: Tensor, valid: Tensor) -> Optional[Tensor]:
    """Lightning Pose's ``supervised_rmse``: pred, target (B, K, 2) pixels, valid (B, K) →
    mean over valid keypoints of ``sqrt((Δx² + Δy²) / 2)``; None when no keypoint is valid."""
    keep = valid.bool() & torch.isfinite(target).all(-1)
    if not keep.any():
        return None
    diff = (pred.detach().float() - target.float())[keep]  # (M, 2)
    return diff.square().mean(-1).sqrt().mean()
