"""Lightning Pose's heatmap temporal losses (``model.losses_to_use``: ``temporal_heatmap_mse``,
``temporal_heatmap_kl``) as registered losses on the predicted heatmaps of unlabeled sequences.

Facts from lightning-pose (``lightning_pose/losses/losses.py``, ``TemporalHeatmapLoss``,
l. 706-855; the class is the same in 2.4.3):

- per keypoint and consecutive frame pair (t, t+1) of a sequence's predicted (softmaxed)
  heatmaps, as the model outputs them (in the augmented frame: one augmentation per sequence, so
  both maps are in the same frame):

  - ``temporal_heatmap_mse``: ``F.mse_loss(p_t, p_t+1)`` averaged over the map's pixels (no
    ``H · W`` factor, unlike the supervised ``heatmap_mse``; l. 813-817);
  - ``temporal_heatmap_kl``: kornia ``kl_div_loss_2d(p_t + 1e-10, p_t+1 + 1e-10,
    reduction='none')`` = ``Σ q (log q - log p)`` with ``q = p_t+1 + 1e-10`` and ``p = p_t +
    1e-10``, i.e. KL(p_t+1 ‖ p_t) (kornia's ``input`` is the first argument, ``target`` the
    second; l. 818-824);

- pairs where either frame's confidence of the keypoint is below ``prob_threshold`` are set to
  0 and still counted in the mean (l. 766-791); then ``relu(value - epsilon)`` with ``epsilon`` a
  scalar or one value per keypoint (l. 754-764), then the mean over pairs and keypoints;
- weight ``1 / (2 · exp(log_weight))`` (l. 89-100; :func:`.lp_losses.lp_loss_weight`), applied
  here as by posecfg's other Lightning Pose losses; the annealed importance is applied by the
  estimator (:class:`~posecfg.engine.hooks.anneal_weight.AnnealWeightHook`);
- defaults ``log_weight=0``, ``epsilon=0``, ``prob_threshold=0`` (the constructor's; Lightning
  Pose's ``config_default.yaml`` has no section for these losses, and its loss factory needs one,
  ``losses/factory.py:151-152``, which the Lightning Pose dialect checks).

The losses take the heatmaps, not keypoints: ``forward(heatmaps (S, T, K, h, w), confidences
(S, T, K))``; heads pass them the maps of losses whose ``unsupervised_input`` is ``'heatmaps'``.
Sequences are averaged together (Lightning Pose reads one sequence per step; equal-length
sequences give the mean of their means). Pairs with a non-finite map are left out (counted as 0,
as a low-confidence pair) where Lightning Pose would return NaN.
"""
from __future__ import annotations

import torch
from torch import Tensor

from posecfg.registry import MODELS

from .lp_losses import KL_EPSILON, kl_per_map, move_distribution
from .lp_unsupervised import LPTemporalLoss


class _LPTemporalHeatmapLoss(LPTemporalLoss):
    """Base: :class:`LPTemporalLoss` (low-confidence pairs 0, ``relu(value - ε)``, the mean,
    the weight) with :meth:`pair_values` a divergence between the maps of frames t and t+1.

    Args:
        log_weight: weight ``1 / (2 exp(log_weight))``.
        epsilon: a scalar or one value per keypoint, in the divergence's units (MSE: squared
            probability per pixel; KL: nats).
        prob_threshold: a pair is set to 0 when either frame's confidence of the keypoint is
            below it.
    """

    #: heads give these losses the predicted heatmaps (not keypoints)
    unsupervised_input = 'heatmaps'
    item_dims, item_shape = 2, 'h, w'
    #: the registry test moves maps within distributions (softmaxed heatmaps stay so)
    example_move = staticmethod(lambda maps, step: move_distribution(maps, step))

    @staticmethod
    def example_inputs():
        """(prediction, zero-loss point): a still sequence of 6 frames, 3 keypoints, (8, 6)
        maps that are distributions."""
        torch.manual_seed(0)
        maps = torch.rand(1, 3, 48).softmax(-1).reshape(1, 3, 8, 6).expand(6, 3, 8, 6).clone()
        return maps, maps

    def pair_values(self, first: Tensor, second: Tensor) -> Tensor:
        """Maps (S, T-1, K, h, w) of frames t and t+1 → (S, T-1, K) divergences (NaN where
        either map is not finite, with no NaN in the gradient)."""
        ok = torch.isfinite(first).all(-1).all(-1) & torch.isfinite(second).all(-1).all(-1)
        first, second = (torch.where(ok[..., None, None], x, 0.0) for x in (first, second))
        values = self.map_values(first.flatten(0, 2), second.flatten(0, 2)).reshape(ok.shape)
        return torch.where(ok, values, values.new_tensor(float('nan')))

    def map_values(self, first: Tensor, second: Tensor) -> Tensor:
        """(M, h, w) maps of frames t and t+1 → (M,) divergences."""
        raise NotImplementedError


@MODELS.register_module()
class LPTemporalHeatmapMSELoss(_LPTemporalHeatmapLoss):
    """``temporal_heatmap_mse``: the mean over each map's pixels of ``(p_t - p_t+1)²``."""

    loss_name = 'temporal_heatmap_mse'
    example_args = dict(log_weight=0.0, epsilon=0.0, prob_threshold=0.0)

    def map_values(self, first: Tensor, second: Tensor) -> Tensor:
        return (first - second).square().flatten(1).mean(-1)


@MODELS.register_module()
class LPTemporalHeatmapKLLoss(_LPTemporalHeatmapLoss):
    """``temporal_heatmap_kl``: KL(p_t+1 ‖ p_t) per map, both + 1e-10."""

    loss_name = 'temporal_heatmap_kl'
    example_args = dict(log_weight=0.0, epsilon=0.0, prob_threshold=0.0)

    def map_values(self, first: Tensor, second: Tensor) -> Tensor:
        return kl_per_map(second + KL_EPSILON, first + KL_EPSILON)
