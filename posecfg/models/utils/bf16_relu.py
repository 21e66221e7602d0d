"""ReLU whose backward on bfloat16 CPU tensors masks the gradient through int16 views.

PyTorch's ReLU backward is ``threshold_backward(grad, output, 0)``: the gradient where the
output is above 0, else 0. Its CPU kernel converts bfloat16 to float32 and back; the same
selection on the tensors' int16 views (a bfloat16's bits as a signed integer are above 0
exactly when the number is above 0, the int16 gradient passes bit for bit) runs in integer
vectors. (8, 256, 112, 112) bf16, one thread on a 2-vCPU Xeon (AVX-512 BF16): 48 → 28 ms, equal
bits. DeepLabCut's ResNet-50 at 448x448, batch 8, runs 49 ReLUs per training step, the largest
on (8, 256, 112, 112) and (8, 64, 224, 224).

The forward pass is ``nn.ReLU``'s (in place when ``inplace``). The one difference: where the
output is NaN (the input was NaN: training has diverged) a positive NaN passes the gradient
where ``threshold_backward`` gives 0; a negative NaN gives 0 as it does.

:func:`use_bf16_relu_backward` puts :class:`BF16GradReLU` in place of a model's ``nn.ReLU``
modules (the runner does so with GroupNorm's layout tuning, for channels-last training).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from .retype import retype_modules


class _ReLUFunction(torch.autograd.Function):
    """``relu(x)`` (in place when ``inplace``) with the int16 backward (module docstring)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, inplace: bool):
        if inplace:
            ctx.mark_dirty(x)
            y = torch.relu_(x)
        else:
            y = torch.relu(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    @once_differentiable  # the int16 mask carries no graph: a double backward must fail
    def backward(ctx, dy: torch.Tensor):
        y, = ctx.saved_tensors
        if dy.dtype != torch.bfloat16:  # (a gradient in another dtype: ATen's kernel)
            return torch.ops.aten.threshold_backward(dy, y, 0), None
        dx = torch.ops.aten.threshold_backward(dy.view(torch.int16), y.view(torch.int16), 0)
        return dx.view(torch.bfloat16), None


class BF16GradReLU(nn.ReLU):
    """``nn.ReLU`` (same arguments) whose backward on bfloat16 CPU inputs that need gradients
    runs on int16 views (module docstring). Input and output any shape."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # the gradient mode first: inference (no gradients) pays one check per ReLU
        if (torch.is_grad_enabled() and x.requires_grad and x.dtype == torch.bfloat16
                and x.device.type == 'cpu' and not torch.compiler.is_compiling()):
            return _ReLUFunction.apply(x, self.inplace)
        return F.relu(x, inplace=self.inplace)


def use_bf16_relu_backward(model: nn.Module) -> int:
    """Turn every ``nn.ReLU`` of ``model`` into a :class:`BF16GradReLU` in place; returns how
    many."""
    return retype_modules(model, nn.ReLU, BF16GradReLU)
