"""Heatmap MSE losses with MMPose 0.x semantics, computed in one vectorized pass.

MMPose 0.x loops over joints and adds one ``nn.MSELoss`` (mean over batch and pixels) per joint,
then divides by the number of joints. Every joint has the same number of elements, so that equals
the mean over the whole (N, K, H, W) tensor; we compute it that way (one kernel instead of K).

All losses take ``output`` and ``target`` of shape (N, C, H, W) and ``target_weight`` of shape
(N, K, 1) (or (N, K)), and return a 0-dim tensor.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from posecfg.registry import MODELS


def _joint_weights(target_weight: Tensor, num_joints: int, name: str) -> Tensor:
    """``target_weight`` (N, K, 1) or (N, K) → (N, K, 1, 1), ready to broadcast over pixels."""
    if target_weight is None:
        raise ValueError(f'{name}(use_target_weight=True) needs target_weight of shape (N, K, 1); '
                         'got None (does the pipeline Collect "target_weight"?)')
    weight = target_weight.reshape(target_weight.shape[0], -1)
    if weight.shape[1] != num_joints:
        raise ValueError(f'{name}: target_weight has shape {tuple(target_weight.shape)}, '
                         f'expected (N, {num_joints}, 1) for {num_joints} joints')
    return weight[:, :, None, None]


def _check_same_shape(output: Tensor, target: Tensor, name: str) -> None:
    if output.shape != target.shape:
        raise ValueError(f'{name}: output has shape {tuple(output.shape)} but target has shape '
                         f'{tuple(target.shape)}; the head\'s out_channels and the dataset\'s '
                         'heatmap_size must match the target generator')


@MODELS.register_module()
class JointsMSELoss(nn.Module):
    """Mean squared error between predicted and target heatmaps (MMPose 0.x ``JointsMSELoss``).

    ``loss = loss_weight * mean_{n,k,y,x} (w_nk * (output - target))²`` where ``w_nk`` is
    ``target_weight[n, k]`` when ``use_target_weight`` and 1 otherwise. (MMPose 0.x has no 0.5
    factor here, unlike the original HRNet code; ``CombinedTargetMSELoss`` has one.)

    Args:
        use_target_weight: weight each joint's squared error by ``target_weight`` (its square,
            as MMPose multiplies both prediction and target before the squared difference).
        loss_weight: factor on the final loss.
    """

    example_args = dict(use_target_weight=True)

    def __init__(self, use_target_weight: bool = False, loss_weight: float = 1.):
        super().__init__()
        self.use_target_weight = use_target_weight
        self.loss_weight = loss_weight

    def forward(self, output: Tensor, target: Tensor, target_weight: Tensor = None) -> Tensor:
        """output, target: (N, K, H, W); target_weight: (N, K, 1). Returns a 0-dim tensor."""
        _check_same_shape(output, target, type(self).__name__)
        diff = output - target
        if self.use_target_weight:
            diff = diff * _joint_weights(target_weight, output.shape[1], type(self).__name__)
        return diff.square().mean() * self.loss_weight


@MODELS.register_module()
class JointsOHKMMSELoss(nn.Module):
    """MSE with online hard keypoint mining (MMPose 0.x ``JointsOHKMMSELoss``).

    Per sample, the per-joint MSE (mean over pixels) of the ``topk`` worst joints is averaged;
    the result is averaged over the batch.

    Args:
        use_target_weight: weight each joint by ``target_weight`` as in :class:`JointsMSELoss`.
        topk: number of hardest joints kept per sample; at most the number of joints.
        loss_weight: factor on the final loss.
    """

    example_args = dict(use_target_weight=True, topk=2)

    def __init__(self, use_target_weight: bool = False, topk: int = 8, loss_weight: float = 1.):
        super().__init__()
        if topk <= 0:
            raise ValueError(f'JointsOHKMMSELoss: topk must be a positive integer, got {topk}')
        self.use_target_weight = use_target_weight
        self.topk = topk
        self.loss_weight = loss_weight

    def forward(self, output: Tensor, target: Tensor, target_weight: Tensor = None) -> Tensor:
        """output, target: (N, K, H, W); target_weight: (N, K, 1). Returns a 0-dim tensor."""
        name = type(self).__name__
        _check_same_shape(output, target, name)
        num_joints = output.shape[1]
        if num_joints < self.topk:
            raise ValueError(f'{name}: topk ({self.topk}) must not exceed the number of joints '
                             f'({num_joints}); set loss_keypoint.topk <= {num_joints}')
        diff = output - target
        if self.use_target_weight:
            diff = diff * _joint_weights(target_weight, num_joints, name)
        per_joint = diff.square().flatten(2).mean(dim=2)  # (N, K)
        hardest = per_joint.topk(self.topk, dim=1, sorted=False).values  # (N, topk)
        return hardest.mean() * self.loss_weight


@MODELS.register_module()
class CombinedTargetMSELoss(nn.Module):
    """MSE for UDP's ``CombinedTarget`` (MMPose 0.x ``CombinedTargetMSELoss``).

    Channels come in triples per joint: response map, x offset, y offset (C = 3K). The loss is
    ``loss_weight / K * Σ_k 0.5 * (mse(h_pred, h_gt) + mse(h_gt * ox_pred, h_gt * ox_gt)
    + mse(h_gt * oy_pred, h_gt * oy_gt))``, each mse a mean over batch and pixels, with the
    response maps ``h`` multiplied by ``target_weight`` first when ``use_target_weight`` (so
    offsets of unweighted joints do not count either).

    Args:
        use_target_weight: weight each joint's response map by ``target_weight``.
        loss_weight: factor on the final loss.
    """

    example_args = dict(use_target_weight=True)

    @staticmethod
    def example_inputs():
        """(output, target, target_weight) of the example: 2 joints, 3 maps each."""
        gen = torch.Generator().manual_seed(0)
        return (torch.rand(2, 6, 8, 6, generator=gen), torch.rand(2, 6, 8, 6, generator=gen),
                torch.ones(2, 2, 1))

    def __init__(self, use_target_weight: bool = False, loss_weight: float = 1.):
        super().__init__()
        self.use_target_weight = use_target_weight
        self.loss_weight = loss_weight

    def forward(self, output: Tensor, target: Tensor, target_weight: Tensor = None) -> Tensor:
        """output, target: (N, 3K, H, W); target_weight: (N, K, 1). Returns a 0-dim tensor."""
        name = type(self).__name__
        _check_same_shape(output, target, name)
        n, c, h, w = output.shape
        if c % 3:
            raise ValueError(f'{name}: expected 3 channels per joint (response, x offset, '
                             f'y offset), got {c} channels; set the head\'s out_channels to '
                             '3 * num_joints for target_type="CombinedTarget"')
        pred = output.reshape(n, c // 3, 3, h, w)
        gt = target.reshape(n, c // 3, 3, h, w)
        heat_pred, heat_gt = pred[:, :, 0], gt[:, :, 0]  # (N, K, H, W)
        if self.use_target_weight:
            weight = _joint_weights(target_weight, c // 3, name)
            heat_pred, heat_gt = heat_pred * weight, heat_gt * weight
        # mean over (N, K, H, W) == (1/K) Σ_k mean over (N, H, W): every joint has N*H*W terms
        loss = (heat_pred - heat_gt).square().mean()
        offset_diff = heat_gt[:, :, None] * (pred[:, :, 1:] - gt[:, :, 1:])  # (N, K, 2, H, W)
        # x and y terms each average over N*K*H*W, so their sum is twice the mean over both
        loss = loss + 2 * offset_diff.square().mean()
        return 0.5 * loss * self.loss_weight
