"""A convolution followed by a frozen BatchNorm, run as one convolution (training included).

A BatchNorm in eval mode (``norm_eval``, DeepLabCut's ``freeze_bn_stats``: its running
statistics are used and not updated, also while training) is the per-channel affine map
``y = x * s + (beta - mean * s)`` with ``s = gamma / sqrt(var + eps)``. After a convolution it
moves into the convolution's weights and bias: ``conv(x, W * s) + (beta - mean * s)``. The
product is formed on every call from the live parameters, so ``W``, ``gamma`` and ``beta`` get
the same gradients as through the two layers (up to rounding), and the state dict keeps both
modules. What it saves: the BatchNorm's pass over the activation forward and its two passes
backward (the weight-side products are over ``C_out x C_in x k x k`` numbers, not
``N x C x H x W``). HRNet-W32 at 448x448, batch 8, bf16: ~290 BatchNorms per step.

Only while the calling network trains (its own ``training`` flag; ``norm_eval`` keeps only the
BatchNorms in eval mode): a network in eval mode runs the layers as they are, so its numbers do
not depend on whether gradients are on, and inference folds BatchNorms its own way, once, into a
copy of the model (:mod:`posecfg.models.utils.fold_bn`, which finds the pairs by running them).
A BatchNorm that is training (batch statistics) or keeps no running statistics, a convolution
that is not a plain ``nn.Conv2d`` (weight standardisation, deformable ...), a pair with forward
hooks on either module, or any other norm (GroupNorm) runs as before: ``norm(conv(x))``.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..utils.module_hooks import has_hooks


def frozen_batchnorm(norm: nn.Module) -> bool:
    """Whether ``norm`` is a BatchNorm2d normalising with its running statistics (eval mode)."""
    return (type(norm) in (nn.BatchNorm2d, nn.SyncBatchNorm) and not norm.training
            and norm.running_mean is not None and norm.running_var is not None)


def conv_norm(conv: nn.Module, norm: nn.Module, x: torch.Tensor, training: bool) -> torch.Tensor:
    """``norm(conv(x))``: (N, C_in, H, W) → (N, C_out, H', W'); one convolution when the
    calling network is ``training`` and ``norm`` is a frozen BatchNorm after a plain
    ``nn.Conv2d`` (module docstring)."""
    if not training or type(conv) is not nn.Conv2d or not frozen_batchnorm(norm) \
            or has_hooks(conv) or has_hooks(norm):
        return norm(conv(x))
    scale = torch.rsqrt(norm.running_var + norm.eps)
    if norm.weight is not None:
        scale = norm.weight * scale
    shift = -norm.running_mean * scale
    if norm.bias is not None:
        shift = shift + norm.bias
    if conv.bias is not None:
        shift = shift + conv.bias * scale
    return conv._conv_forward(x, conv.weight * scale.reshape(-1, 1, 1, 1), shift)


def run_layers(layers: nn.Sequential, x: torch.Tensor, training: bool) -> torch.Tensor:
    """``layers(x)`` for an ``nn.Sequential``, each ``Conv2d`` directly followed by a BatchNorm
    run through :func:`conv_norm` (``training``: the calling network's mode); nested
    ``nn.Sequential`` layers are run the same way."""
    children = list(layers)
    i = 0
    while i < len(children):
        layer = children[i]
        if i + 1 < len(children) and type(layer) is nn.Conv2d:
            x = conv_norm(layer, children[i + 1], x, training)
            i += 2
            continue
        x = run_layers(layer, x, training) if type(layer) is nn.Sequential else layer(x)
        i += 1
    return x
