"""GroupNorm whose backward pass runs in the faster memory layout for the layer's groups.

PyTorch's CPU GroupNorm backward for channels-last (NHWC) inputs on large feature maps loops
over every pixel and every group with vectors ``C / groups`` wide: with 2 or 4 channels per
group (ResNet-50-GN's 64- and 128-channel layers, 32 groups) it runs nearly scalar. Measured on
a 2-vCPU Xeon (AVX-512 BF16 + AMX), bfloat16, batch 8, one thread: ``(8, 64, 112, 112)`` takes
85 ms channels-last against 23 ms through the NCHW kernel (``x`` and the gradient transposed to
NCHW by :func:`relayout`, ATen's NCHW backward, the input gradient back to NHWC);
``(8, 64, 224, 224)`` 352 vs 172 ms, ``(8, 128, 112, 112)`` 93 vs 61, ``(8, 128, 56, 56)`` 23
vs 14. With more channels per group the transposes cost more than they save
(``(8, 256, 112, 112)``: 100 vs 160 ms, ``(8, 512, 56, 56)``: 14 vs 66), and where the line
falls depends on the CPU's caches. :class:`LayoutTunedGroupNorm` takes the NCHW path for
layers of at most :data:`NCHW_MAX_CHANNELS_PER_GROUP` channels per group: a fixed rule, not a
timing per shape (as it first did), because a timing could pick the other kernel in a resumed
or repeated run, and the two kernels round differently, so a run would no longer resume or
repeat bit for bit. The forward
pass is ``F.group_norm``'s unchanged; both backward paths compute the same gradients (ATen's
two kernels, float32 accumulation) up to rounding. DeepLabCut's resnet_50 training step
(448x448, batch 8, bf16, one thread): 5.73 → 5.04 s of CPU time (blocked torch copies; OpenCV
transposes since: 4.4 → 4.0 s with the allocator change).

:func:`tune_group_norms` puts it in place of a model's ``nn.GroupNorm`` layers (the runner
does so for ``runtime.channels_last``); parameter names and state-dict keys stay ``weight`` and
``bias``.
"""
from __future__ import annotations

import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from .retype import retype_modules

#: layers with at most this many channels per group take ATen's NCHW backward (module
#: docstring: 2 and 4 channels per group measured faster through NCHW, 8 and 16 slower)
NCHW_MAX_CHANNELS_PER_GROUP = 4
#: below this many pixels per map ATen's channels-last backward parallelises over groups
#: and is not the slow per-pixel loop; the layout is then left as it is
MIN_PIXELS = 2048


def _backward_channels_last(dy, x, mean, rstd, weight, groups, mask):
    n, c, h, w = x.shape
    return torch.ops.aten.native_group_norm_backward(
        dy.contiguous(memory_format=torch.channels_last), x, mean, rstd, weight, n, c, h * w,
        groups, mask)


#: element size (bytes) → a dtype of that size OpenCV transposes (bit for bit)
_CV_VIEWS = {2: torch.int16, 4: torch.int32, 8: torch.float64}


def relayout(t: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """A copy of the (N, C, H, W) CPU tensor ``t`` in NHWC (``channels_last``) or NCHW order:
    one OpenCV 2-D transpose per sample (its blocked transpose: ``(8, 256, 112, 112)`` bf16
    30 ms, torch's copy between the layouts 194 ms), no OpenMP region per block (each wakes
    the sleeping threads: slow on loaded cores)."""
    import cv2
    n, c, h, w = t.shape
    if channels_last:
        out = torch.empty_like(t, memory_format=torch.channels_last)
        src, dst = t.reshape(n, c, h * w), out.permute(0, 2, 3, 1).reshape(n, h * w, c)
    else:
        out = torch.empty(t.shape, dtype=t.dtype, device=t.device)
        src, dst = t.permute(0, 2, 3, 1).reshape(n, h * w, c), out.view(n, c, h * w)
    view = _CV_VIEWS[t.element_size()]
    src = src.detach().contiguous().view(view).numpy()
    dst = dst.view(view).numpy()
    pool = _transpose_pool(min(n, torch.get_num_threads()))
    if pool is None:
        for i in range(n):
            cv2.transpose(src[i], dst[i])
    else:  # samples split over torch's threads (OpenCV releases the GIL)
        list(pool.map(lambda i: cv2.transpose(src[i], dst[i]), range(n)))
    return out


_POOLS: dict = {}


def _transpose_pool(workers: int):
    """A thread pool of ``workers`` threads for :func:`relayout`'s per-sample transposes (None
    for one): one per process and size (a forked child makes its own). 2 threads on the
    2-vCPU Xeon, (8, 64, 224, 224) bf16 to NCHW: 28 → 16.5 ms."""
    if workers < 2:
        return None
    from concurrent.futures import ThreadPoolExecutor
    key = (os.getpid(), workers)
    if key not in _POOLS:
        _POOLS[key] = ThreadPoolExecutor(workers, thread_name_prefix='posecfg-relayout')
    return _POOLS[key]


def _backward_contiguous(dy, x, mean, rstd, weight, groups, mask):
    n, c, h, w = x.shape
    dx, dweight, dbias = torch.ops.aten.native_group_norm_backward(
        relayout(dy, False), relayout(x, False), mean, rstd, weight, n, c, h * w, groups, mask)
    if dx is not None:
        dx = relayout(dx, True)
    return dx, dweight, dbias


PATHS = {'channels_last': _backward_channels_last, 'contiguous': _backward_contiguous}


def backward_path(channels: int, groups: int) -> str:
    """The backward path (a key of :data:`PATHS`) of a layer of ``channels`` in ``groups``."""
    return 'contiguous' if channels // groups <= NCHW_MAX_CHANNELS_PER_GROUP else 'channels_last'


class _GroupNormFunction(torch.autograd.Function):
    """``F.group_norm`` on a channels-last (N, C, H, W) input; backward by
    :func:`backward_path`."""

    @staticmethod
    def forward(ctx, x, weight, bias, groups: int, eps: float):
        n, c, h, w = x.shape
        y, mean, rstd = torch.ops.aten.native_group_norm(x, weight, bias, n, c, h * w, groups,
                                                         eps)
        ctx.save_for_backward(x, weight, mean, rstd)
        ctx.groups = groups
        return y

    @staticmethod
    def backward(ctx, dy):
        x, weight, mean, rstd = ctx.saved_tensors
        mask = [ctx.needs_input_grad[0], weight is not None and ctx.needs_input_grad[1],
                ctx.needs_input_grad[2]]
        args = (dy, x, mean, rstd, weight, ctx.groups, mask)
        dx, dweight, dbias = PATHS[backward_path(x.shape[1], ctx.groups)](*args)
        return dx, dweight, dbias, None, None


class LayoutTunedGroupNorm(nn.GroupNorm):
    """``nn.GroupNorm`` (same arguments, parameters and keys) whose backward on channels-last
    CPU inputs of at least :data:`MIN_PIXELS` pixels runs in the faster layout (module
    docstring). Input and output (N, C, H, W), any float dtype."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (compiled: inductor generates its own GroupNorm kernels, and the timing is Python)
        if (torch.is_grad_enabled() and not torch.compiler.is_compiling()
                and x.dim() == 4 and x.device.type == 'cpu'
                and x.shape[2] * x.shape[3] >= MIN_PIXELS and not x.is_contiguous()
                and x.is_contiguous(memory_format=torch.channels_last)
                and (x.requires_grad or (self.affine and self.weight.requires_grad))):
            # F.group_norm is on no CPU autocast list: it runs in the input's dtype, as here
            return _GroupNormFunction.apply(x, self.weight, self.bias, self.num_groups,
                                            self.eps)
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)


def tune_group_norms(model: nn.Module) -> int:
    """Turn every ``nn.GroupNorm`` of ``model`` into a :class:`LayoutTunedGroupNorm` in place
    (the same parameter tensors); returns how many."""
    return retype_modules(model, nn.GroupNorm, LayoutTunedGroupNorm)
