"""Several convolutions of one input run as one convolution with their output channels stacked.

Convolutions that read the same tensor with the same geometry (kernel, stride, padding,
dilation; transposed or not) are one convolution whose weight is their weights concatenated
along the output-channel axis: each output channel is its own sum over the input, so
``conv(x, cat(W1, W2)) = cat(conv(x, W1), conv(x, W2))`` and the gradients reaching ``W1``,
``W2`` and ``x`` are the same (the input gradient's sum over the branches is formed inside the
one convolution instead of by autograd: equal up to rounding). What it saves: oneDNN's CPU
convolutions with few output channels run far below the machine's rate, backward above all.
DeepLabCut's multi-animal ``DLCRNetHead`` reads the (8, 2048, 28, 28) backbone map with four
transposed convolutions of 4, 8, 12 and 128 channels and each refinement stage's (8, 144, 56, 56)
input with two of 4 and 12 (bf16, channels-last, 2 threads, forward + backward, a loaded 2-vCPU
Xeon): 1139 ms as four, 577 ms as one; a stage 440 ms as two, 104 ms as one. Most of that is
the two threads waiting on each other in many small parallel regions: on one thread the whole
multi-animal training step (ResNet-50-GN + DLCRNetHead, 448x448, batch 8) takes ~4% less CPU
time stacked.

The weights are concatenated on every call from the live parameters (the state dict keeps each
module); only plain ``nn.Conv2d`` / ``nn.ConvTranspose2d`` modules without forward hooks
(feature taps, pruning masks run only when their module is called), zero padding, one group and
all or none with a bias are fused; anything else runs module by module.
"""
from __future__ import annotations

from typing import List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from .module_hooks import has_hooks

#: the attributes that must agree for convolutions to be stacked
_GEOMETRY = ('kernel_size', 'stride', 'padding', 'dilation', 'groups', 'padding_mode',
             'output_padding', 'in_channels')


def stackable(convs: Sequence[nn.Module]) -> bool:
    """Whether ``convs`` can run as one convolution of their stacked weights (module
    docstring): at least two, all plain ``nn.Conv2d`` or all plain ``nn.ConvTranspose2d``,
    the same geometry, one group, zero padding, no hooks, all or none with a bias, weights of
    one dtype and device."""
    if len(convs) < 2:
        return False
    kind = type(convs[0])
    if kind not in (nn.Conv2d, nn.ConvTranspose2d):
        return False
    first = convs[0]
    if first.groups != 1 or first.padding_mode != 'zeros':
        return False
    with_bias = first.bias is not None
    return all(type(c) is kind and not has_hooks(c) and (c.bias is not None) == with_bias
               and c.weight.dtype == first.weight.dtype
               and c.weight.device == first.weight.device
               and all(getattr(c, name) == getattr(first, name) for name in _GEOMETRY)
               for c in convs)


def run_shared_input(convs: Sequence[nn.Module], x: torch.Tensor) -> List[torch.Tensor]:
    """``[conv(x) for conv in convs]`` for (N, C_in, H, W) ``x``: each (N, C_out_i, H', W'),
    computed as one convolution when :func:`stackable` (module docstring); the outputs are then
    channel slices (views) of one tensor."""
    if not stackable(convs):
        return [conv(x) for conv in convs]
    first = convs[0]
    transposed = type(first) is nn.ConvTranspose2d
    # Conv2d weights are (C_out, C_in, k, k), ConvTranspose2d's (C_in, C_out, k, k)
    weight = torch.cat([c.weight for c in convs], dim=1 if transposed else 0)
    bias = torch.cat([c.bias for c in convs]) if first.bias is not None else None
    if transposed:
        out = F.conv_transpose2d(x, weight, bias, first.stride, first.padding,
                                 first.output_padding, first.groups, first.dilation)
    else:
        out = first._conv_forward(x, weight, bias)
    sizes = [c.out_channels for c in convs]
    return list(torch.split(out, sizes, dim=1))
