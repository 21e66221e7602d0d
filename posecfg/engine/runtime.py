"""Hardware switches: the config's ``runtime`` section.

    runtime = dict(autocast='auto', channels_last=True, compile='auto', threads='auto',
                   fold_bn='auto', compile_eval='auto', reuse_memory=True)

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
- ``fold_bn``: validation and testing run a prepared copy of the model: each BatchNorm folded
  into the convolution before it (exact up to rounding; checked on an example), ~14% faster, and
  under bf16 autocast on a CPU the convolution weights cast once (checked too). ``'auto'``
  prepares evaluations of at least 64 samples (the copy and its checks cost about ten forward
  passes: a 25-image DEKR evaluation ran 0.7 s faster unprepared), ``True`` always folds,
  ``False`` never folds (the bf16 cast is still made). Videos are prepared unless ``False``.
- ``compile_eval``: ``torch.compile`` (inductor, weights frozen) the model validation and testing
  run, checked against the eager model on an example; ``'auto'`` does so for evaluations of at
  least 1600 samples on CPUs, where the compile time (~16 s for ResNet-50, ~37 s for HRNet-W32 on
  2 cores) is won back (ResNet-50 256x192 flip-test inference: 12 → 17 images/s).
- ``threads``: torch's intra-op threads, or ``'auto'``: each process of a launch gets its share
  of the cores, and a short probe (a few 3x3 convolutions in the run's dtype and memory order,
  forward and, for a training run, backward; ~0.2-0.5 s) keeps the fewest threads that run
  within 10% of the fastest. On cores shared with
  other work a second thread can cost more than it brings: measured on a 2-vCPU machine with the
  other vCPU busy, bf16 training ran at 130 images/s on one thread and 17 on two. (Dataloader
  workers run one thread each, and OpenCV single-threaded in them.)
- ``reuse_memory``: on CPUs, the C library's malloc keeps the memory of freed large blocks in
  the process for the next allocation (glibc: ``mallopt`` mmap threshold 1 GiB, trim threshold
  2 GiB) instead of returning each to the system and mapping it anew, which makes the next
  tensor of that size fault in every page again. A training step allocates and frees the same
  large activations every iteration; on a 2-vCPU Xeon VM an add of two bf16 (8, 256, 112, 112)
  tensors (51 MB) took 130-190 ms with glibc's defaults (above its 32 MB dynamic mmap ceiling)
  and 31-33 ms with the memory kept. The process's resident memory then stays near its peak.
  No effect where there is no glibc ``mallopt``, nor where the user chose the allocator's
  behaviour (``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``, ``LD_PRELOAD`` or
  ``GLIBC_TUNABLES`` set).
"""
from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import statistics
import time
from dataclasses import dataclass
from typing import Optional, Union

import torch

from posecfg.config import ConfigError

DEFAULTS = dict(autocast='auto', channels_last=True, compile='auto', threads='auto',
                fold_bn='auto', compile_eval='auto', reuse_memory=True)
#: glibc's ``mallopt`` parameters (malloc.h) and the values ``reuse_memory`` sets
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD, TRIM_THRESHOLD = 1 << 30, (1 << 31) - 1
#: environment variables by which a user chose the allocator's behaviour (left alone then)
ALLOCATOR_CHOICES = ('MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_', 'LD_PRELOAD',
                     'GLIBC_TUNABLES')


@dataclass(frozen=True)
class Runtime:
    autocast: Optional[torch.dtype]
    channels_last: bool
    compile: Union[bool, dict, str]
    threads: int
    fold_bn: Union[bool, str] = 'auto'
    compile_eval: Union[bool, str] = 'auto'
    reuse_memory: bool = True


def native_bf16() -> bool:
    """Whether this CPU computes in bfloat16 natively (oneDNN says so)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


@functools.lru_cache(maxsize=None)  # process-wide: once is enough
def reuse_freed_memory() -> bool:
    """Make malloc keep freed large blocks for reuse (``runtime.reuse_memory``, module
    docstring): allocations up to 1 GiB come from the heap, and up to 2 GiB of free memory at
    its top stays mapped. Returns whether the C library took both settings (False without glibc's
    ``mallopt``, e.g. on macOS; musl's is a no-op returning 0), False without trying when the
    user chose the allocator's settings (:data:`ALLOCATOR_CHOICES`)."""
    if any(os.environ.get(name) for name in ALLOCATOR_CHOICES):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the process runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


@contextlib.contextmanager
def one_thread():
    """torch on one thread within (its count restored after). For copying weights: the copies
    are memory-bound, and a second OpenMP thread only adds a wake-up per tensor, ~0.1 ms each
    on a quiet machine and up to ~1 ms when the other core is busy (loading HRNet-W32's ~2000
    tensors and putting them in channels_last order: 0.6 s on one thread against 0.9 s on two,
    1-min load 3.2)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def probe_step(conv: torch.nn.Module, x: torch.Tensor, backward: bool) -> None:
    """One probe step: the convolution's forward, and with ``backward`` its backward too (the
    input and weight gradients a training step computes)."""
    if not backward:
        with torch.no_grad():
            conv(x)
        return
    conv(x).sum().backward()
    conv.weight.grad = x.grad = None


@functools.lru_cache(maxsize=None)  # once per process and setting: the probe costs ~0.2-0.5 s
def probe_threads(max_threads: int, dtype: Optional[torch.dtype], channels_last: bool,
                  repeats: int = 5, backward: bool = False) -> int:
    """The fewest threads (1..max_threads) whose median time on a typical convolution is within
    10% of the fastest; torch's thread count is left as it was. The median, not the minimum: on
    a busy core most repeats of the two-thread step were 10-100x slower than one thread and an
    occasional one as fast, which the minimum would take for the rule.

    ``backward``: time forward + backward (for a training run). The two can disagree: on a
    2-vCPU Xeon (AMX) with the other vCPU busy, a bf16 channels-last 3x3 convolution (8, 64, 56,
    56) ran forward in 1 ms on two threads against 2 ms on one, but backward in 264 ms against
    25 ms (two threads synchronise more often in the backward kernels, and a thread that loses
    its core stalls the other): a forward-only probe picked two threads for a training run
    that one thread trained several times faster."""
    before = torch.get_num_threads()
    conv = torch.nn.Conv2d(64, 64, 3, padding=1, bias=False)
    x = torch.randn(8, 64, 48, 48)
    if channels_last:
        conv, x = conv.to(memory_format=torch.channels_last), \
            x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_(backward)
    best = {}
    try:
        with torch.autocast('cpu', dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            for n in range(1, max_threads + 1):
                torch.set_num_threads(n)
                probe_step(conv, x, backward)  # warm-up: kernels chosen, threads started
                times = []
                for _ in range(repeats):
                    start = time.perf_counter()
                    probe_step(conv, x, backward)
                    times.append(time.perf_counter() - start)
                best[n] = statistics.median(times)
    finally:
        torch.set_num_threads(before)
    fastest = min(best.values())
    return min(n for n, t in best.items() if t <= 1.1 * fastest)


def resolve_runtime(runtime: Optional[dict], cuda: bool, training: bool = False) -> Runtime:
    """The config's ``runtime`` section with its defaults and ``'auto'`` values resolved;
    ``training``: the run trains (``threads='auto'`` then probes forward + backward)."""
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
        threads = probe_threads(share, dtype, bool(settings['channels_last']),
                                backward=training) if share > 1 else 1
    elif not isinstance(threads, int) or threads < 1:
        raise ConfigError(f"runtime.threads must be 'auto' or a positive integer, got "
                          f'{threads!r}')
    if settings['fold_bn'] not in ('auto', True, False):
        raise ConfigError(f"runtime.fold_bn must be 'auto', True or False, got "
                          f"{settings['fold_bn']!r}")
    compile_eval = settings['compile_eval']
    if compile_eval not in ('auto', True, False):
        raise ConfigError(f"runtime.compile_eval must be 'auto', True or False, got "
                          f'{compile_eval!r}')
    if not isinstance(settings['reuse_memory'], bool):
        raise ConfigError(f"runtime.reuse_memory must be True or False, got "
                          f"{settings['reuse_memory']!r}")
    return Runtime(dtype, bool(settings['channels_last']), compile_cfg, threads,
                   settings['fold_bn'], compile_eval, settings['reuse_memory'])
