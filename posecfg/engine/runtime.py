"""Hardware switches: the config's ``runtime`` section.

    runtime = dict(autocast='auto', channels_last=True, compile='auto', threads='auto',
                   fold_bn=True, compile_eval='auto')

- ``autocast``: ``'bf16'`` runs forward passes (training, validation, testing) under
  ``torch.autocast`` in bfloat16; ``None`` keeps float32; ``'auto'`` picks bf16 on CPUs with native
  bf16 arithmetic (AVX-512 BF16 / AMX: about 2.5x a float32 convolution on the CPUs posecfg is
  developed on) and float32 elsewhere (emulated bf16 is slower). On GPUs use ``fp16`` (AMP) as in
  MMPose.
- ``channels_last``: model weights and input batches in NHWC memory order (oneDNN's native
  layout on CPUs: no reorder around every convolution).
- ``compile``: ``torch.compile`` the networks (backbone, neck, head) for training: ``True``, a
  dict of ``torch.compile`` options, ``False``, or ``'auto'``: on CPUs, for runs of at least 2000
  iterations (compiling ResNet-50 + head takes ~46 s on 2 cores and saves ~7% per iteration),
  except models with GroupNorm (DeepLabCut's ResNet-50-GN trained 4.5x slower compiled).
- ``fold_bn``: validation and testing run a copy of the model with each BatchNorm folded into
  the convolution before it (exact up to rounding; checked on an example): ~14% faster.
- ``compile_eval``: ``torch.compile`` (inductor, weights frozen) the model validation and testing
  run, checked against the eager model on an example; ``'auto'`` does so for evaluations of at
  least 1600 samples on CPUs, where the compile time (~16 s for ResNet-50, ~37 s for HRNet-W32 on
  2 cores) is won back (ResNet-50 256x192 flip-test inference: 12 → 17 images/s).
- ``threads``: torch's intra-op threads, or ``'auto'``: each process of a launch gets its share
  of the cores, and a short probe (a few 3x3 convolutions in the run's dtype and memory order,
  ~0.2 s) keeps the fewest threads that run within 10% of the fastest. On cores shared with
  other work a second thread can cost more than it brings: measured on a 2-vCPU machine with the
  other vCPU busy, bf16 training ran at 130 images/s on one thread and 17 on two. (Dataloader
  workers run one thread each, and OpenCV single-threaded in them.)

Not a switch: CPU runs keep freed memory in glibc's heap (:func:`retain_freed_memory`, called by
``build_runner``) instead of mapping every large activation afresh.
"""
from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass
from typing import Optional, Union

import torch

from posecfg.config import ConfigError

DEFAULTS = dict(autocast='auto', channels_last=True, compile='auto', threads='auto', fold_bn=True,
                compile_eval='auto')


@dataclass(frozen=True)
class Runtime:
    autocast: Optional[torch.dtype]
    channels_last: bool
    compile: Union[bool, dict, str]
    threads: int
    fold_bn: bool = True
    compile_eval: Union[bool, str] = 'auto'


def native_bf16() -> bool:
    """Whether this CPU computes in bfloat16 natively (oneDNN says so)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


@functools.lru_cache(maxsize=None)  # once per process and setting: the probe costs ~0.2 s
def probe_threads(max_threads: int, dtype: Optional[torch.dtype], channels_last: bool,
                  repeats: int = 5) -> int:
    """The fewest threads (1..max_threads) whose time on a typical convolution is within 10% of
    the fastest; torch's thread count is left as it was."""
    before = torch.get_num_threads()
    conv = torch.nn.Conv2d(64, 64, 3, padding=1, bias=False)
    x = torch.randn(8, 64, 48, 48)
    if channels_last:
        conv, x = conv.to(memory_format=torch.channels_last), \
            x.contiguous(memory_format=torch.channels_last)
    best = {}
    try:
        with torch.no_grad(), torch.autocast('cpu', dtype=dtype or torch.bfloat16,
                                             enabled=dtype is not None):
            for n in range(1, max_threads + 1):
                torch.set_num_threads(n)
                conv(x)  # warm-up: kernels chosen, threads started
                times = []
                for _ in range(repeats):
                    start = time.perf_counter()
                    conv(x)
                    times.append(time.perf_counter() - start)
                best[n] = min(times)
    finally:
        torch.set_num_threads(before)
    fastest = min(best.values())
    return min(n for n, t in best.items() if t <= 1.1 * fastest)


#: glibc ``mallopt`` parameters (malloc.h) and the values :func:`retain_freed_memory` sets
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
RETAINED_MMAP_THRESHOLD = 1 << 30  # allocations below 1 GiB from the heap, not fresh mappings
RETAINED_TRIM_THRESHOLD = (1 << 31) - 1  # freed heap memory kept for the next allocation
#: environment variables by which a user chose the allocator's behaviour (left alone then)
ALLOCATOR_CHOICES = ('MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_', 'LD_PRELOAD')


@functools.lru_cache(maxsize=None)  # once per process
def retain_freed_memory() -> bool:
    """Make glibc's malloc keep freed memory for reuse instead of returning it to the system
    (unless the user chose the allocator's settings, see :data:`ALLOCATOR_CHOICES`); returns
    whether it did.

    By default glibc serves each allocation above 32 MiB with a fresh ``mmap`` and unmaps it on
    free, so every large activation of every step is faulted in again page by page: DeepLabCut's
    resnet_50 training step (448x448, batch 8, bf16) took ~330,000 minor page faults and 5.0 s of
    CPU time, 0 faults and 4.45 s with the freed memory kept (2-vCPU Xeon, one thread). The
    process keeps its peak heap until it exits, as a caching allocator does."""
    if any(os.environ.get(name) for name in ALLOCATOR_CHOICES):
        return False
    try:
        import ctypes
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl without mallopt)
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, RETAINED_MMAP_THRESHOLD)
                and mallopt(M_TRIM_THRESHOLD, RETAINED_TRIM_THRESHOLD))


def resolve_runtime(runtime: Optional[dict], cuda: bool) -> Runtime:
    settings = dict(DEFAULTS, **(runtime or {}))
    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        raise ConfigError(f'runtime: unknown key(s) {", ".join(sorted(unknown))}; it takes '
                          f'{", ".join(DEFAULTS)}')
    autocast = settings['autocast']
    if autocast == 'auto':
        dtype = torch.bfloat16 if not cuda and native_bf16() else None
    elif autocast in ('bf16', 'bfloat16'):
        dtype = torch.bfloat16
    elif autocast in (None, False, 'fp32', 'float32'):
        dtype = None
    else:
        raise ConfigError(f"runtime.autocast must be 'auto', 'bf16' or None, got {autocast!r}")
    compile_cfg = settings['compile']
    if not isinstance(compile_cfg, (bool, dict)) and compile_cfg != 'auto':
        raise ConfigError(f"runtime.compile must be 'auto', True, False or a dict of "
                          f'torch.compile options, got {compile_cfg!r}')
    threads = settings['threads']
    if threads == 'auto':
        share = max(1, (os.cpu_count() or 1) // int(os.environ.get('LOCAL_WORLD_SIZE', 1)))
        threads = probe_threads(share, dtype, bool(settings['channels_last'])) if share > 1 \
            else 1
    elif not isinstance(threads, int) or threads < 1:
        raise ConfigError(f"runtime.threads must be 'auto' or a positive integer, got "
                          f'{threads!r}')
    compile_eval = settings['compile_eval']
    if compile_eval not in ('auto', True, False):
        raise ConfigError(f"runtime.compile_eval must be 'auto', True or False, got "
                          f'{compile_eval!r}')
    return Runtime(dtype, bool(settings['channels_last']), compile_cfg, threads,
                   bool(settings['fold_bn']), compile_eval)
