"""Helpers shared by the MMPose reference benchmarks (run with benchmarks/.ref-env/bin/python).

Nothing here imports MMPose; each script imports it itself after pinning threads.
"""
import json
import os
import platform
import statistics
import sys
import time

DEFAULT_COCO_DIR = '/work/shared/data/mmpose-tests/coco'
# 1/5/15-min load averages when the benchmark started: other processes on the (shared) cores
# slow every number down, the multi-threaded ones most.
LOADAVG_START = os.getloadavg()


def pin_threads(n):
    """Pin BLAS/OpenMP thread pools to ``n``. Call before importing numpy, cv2 or torch."""
    for var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS',
                'NUMEXPR_NUM_THREADS', 'VECLIB_MAXIMUM_THREADS'):
        os.environ[var] = str(n)


def pin_library_threads(n):
    """Pin the thread pools of already-imported torch and OpenCV to ``n``."""
    import cv2
    import torch
    cv2.setNumThreads(n)
    torch.set_num_threads(n)
    # One inter-op thread: nothing here runs independent ops concurrently.
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set, or parallel work already started
        pass


def stats(values):
    """min/median/max of a list of numbers (all repeats kept in ``all``)."""
    return {
        'min': min(values),
        'median': statistics.median(values),
        'max': max(values),
        'all': [round(v, 6) for v in values],
    }


def rate_stats(times, n):
    """Throughput statistics (items/s) of ``n`` items per repeat, from repeat wall times."""
    return stats([n / t for t in times])


def versions():
    out = {'python': platform.python_version()}
    for mod in ('mmpose', 'mmengine', 'mmcv', 'mmdet', 'deeplabcut', 'lightning_pose', 'lightning',
                'torch', 'torchvision', 'numpy', 'cv2'):
        m = sys.modules.get(mod)
        if m is not None:
            out[mod] = getattr(m, '__version__', '?')
    return out


def cpu_model():
    """``lscpu``'s model name and whether the CPU has native bf16 arithmetic (AVX-512 BF16 or
    AMX): posecfg's ``runtime.autocast='auto'`` trains in bf16 only there."""
    name, flags = platform.processor() or 'unknown', set()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                key, _, value = line.partition(':')
                if key.strip() == 'model name':
                    name = value.strip()
                elif key.strip() == 'flags':
                    flags = set(value.split())
                    break
    except OSError:
        pass
    return {'model': name, 'native_bf16': bool(flags & {'avx512_bf16', 'amx_bf16'}),
            'avx512': any(f.startswith('avx512') for f in flags)}


def machine():
    return {
        'cpu': cpu_model(),
        'cpu_count': os.cpu_count(),
        'affinity': len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else None,
        'platform': platform.platform(),
        'loadavg_start': [round(x, 2) for x in LOADAVG_START],
        'loadavg_end': [round(x, 2) for x in os.getloadavg()],
        # how OpenMP threads wait (unset: libgomp's ~3 ms spin; posecfg's tools choose,
        # posecfg/config/openmp.py)
        'openmp_wait': {v: os.environ.get(v) for v in ('OMP_WAIT_POLICY', 'GOMP_SPINCOUNT')},
    }


def emit(result):
    """Print the one JSON line the benchmark driver reads (last line of stdout)."""
    print(json.dumps(result, sort_keys=False), flush=True)


class Timer:
    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0


def make_clip(video, frames, path):
    """The first ``frames`` frames of ``video`` re-encoded (mp4v) into ``path``; returns the
    number of frames written. The clip both sides of a video benchmark read (posecfg's
    ``video_inference.py`` and ``dlc_bench.py``, the Lightning Pose pair's ``bench_video``)."""
    import cv2
    capture = cv2.VideoCapture(video)
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    writer, n = None, 0
    while n < frames:
        ok, frame = capture.read()
        if not ok:
            break
        if writer is None:
            h, w = frame.shape[:2]
            writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps, (w, h))
        writer.write(frame)
        n += 1
    capture.release()
    if writer is not None:
        writer.release()
    return n
