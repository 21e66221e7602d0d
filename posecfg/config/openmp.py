"""How torch's OpenMP threads wait between parallel regions, chosen before torch loads.

libgomp (the OpenMP runtime of torch's CPU wheels) reads its wait policy once, when it loads. Its
default spins an idle thread for ~3 ms before it sleeps. On the 2-vCPU development machines:

- with another process busy on one of the cores, spinning threads made training a small model ~10x
  slower and a DEKR evaluation 9x slower (a spinning thread holds the core its partner, or another
  process, needs) than threads that sleep at once (``OMP_WAIT_POLICY=PASSIVE``);
- on idle cores, sleeping at once costs ~1.7x in batch-1 inference (DEKR-W32 25 images: 4.2 s ->
  7.0 s; openfield ResNet-50 116 frames: 14.9 s -> 18.2 s): a network of ~1000 small operations
  wakes a sleeping thread (futex, then an idle vCPU) at every one.

So posecfg's tools look at the cores this process may run on for a moment before torch loads:
idle, an idle thread spins :data:`IDLE_SPIN_COUNT` (~0.3 ms, which keeps the gain: 4.2 s
above, against 4.0 s with the 3 ms default) and then sleeps; busy, it sleeps at once. A user's own
``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` is left alone.
"""
from __future__ import annotations

import os
import time
from typing import Callable, Dict, Iterable, Optional, Tuple

#: GOMP_SPINCOUNT where the cores are idle (libgomp counts ~100,000 spins per millisecond)
IDLE_SPIN_COUNT = 30000

#: the cores count as idle when other work used less than this many of them during the sample
#: (or 5% of them, on many-core machines whose cores each carry a little background work)
IDLE_BUSY_CORES = 0.5
IDLE_BUSY_SHARE = 0.05

#: /proc/stat cpu line -> (busy jiffies, all jiffies)
CpuTimes = Dict[str, Tuple[int, int]]


def choose_openmp_waiting(sample_seconds: float = 0.1,
                          read_times: Optional[Callable[[], CpuTimes]] = None,
                          cpus: Optional[Iterable[int]] = None) -> dict:
    """Set ``OMP_WAIT_POLICY``/``GOMP_SPINCOUNT`` for the torch this process will load (see the
    module docstring); must run before torch is imported. Nothing is changed where the user set
    either variable. Returns the variables set (``{}`` if none)."""
    if 'OMP_WAIT_POLICY' in os.environ or 'GOMP_SPINCOUNT' in os.environ:
        return {}
    chosen = {'OMP_WAIT_POLICY': 'PASSIVE'}
    cpus = _allowed_cpus() if cpus is None else list(cpus)
    busy = busy_cores(sample_seconds, read_times, cpus)
    allowed = len(cpus) if cpus is not None else 1
    if busy is not None and busy < max(IDLE_BUSY_CORES, IDLE_BUSY_SHARE * allowed):
        chosen['GOMP_SPINCOUNT'] = str(IDLE_SPIN_COUNT)  # explicit: wins over PASSIVE's 0
    os.environ.update(chosen)
    return chosen


def busy_cores(sample_seconds: float = 0.1,
               read_times: Optional[Callable[[], CpuTimes]] = None,
               cpus: Optional[Iterable[int]] = None, windows: int = 2) -> Optional[float]:
    """How many of the cores this process may use (``os.sched_getaffinity``) were busy during
    ``sample_seconds`` (0.0: all idle; 2.0: two cores fully busy): the least over ``windows``
    equal parts of it, so that a moment's work (a process exiting, a file flushed) does not
    count as load; None where ``/proc/stat`` cannot be read (not Linux) or names none of them
    (a container numbering its cpuset differently)."""
    read_times = read_times or read_proc_stat
    if cpus is None:
        cpus = _allowed_cpus()
    try:
        samples = [read_times()]
        for _ in range(windows):
            time.sleep(sample_seconds / windows)
            samples.append(read_times())
    except OSError:
        return None
    busy = [_busy_between(a, b, cpus) for a, b in zip(samples, samples[1:])]
    return None if None in busy else min(busy)


def _busy_between(before: CpuTimes, after: CpuTimes, cpus) -> Optional[float]:
    """Cores of ``cpus`` busy between two readings (None: the readings name none of them)."""
    names = [f'cpu{c}' for c in cpus] if cpus is not None else \
        [name for name in after if name != 'cpu']
    busy, seen = 0.0, 0
    for name in names:
        if name not in before or name not in after:
            continue
        seen += 1
        used = after[name][0] - before[name][0]
        total = after[name][1] - before[name][1]
        if total > 0:
            busy += used / total
    return busy if seen else None


def _allowed_cpus() -> Optional[list]:
    """The CPUs this process may run on, None where the OS does not say."""
    return sorted(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else None


def read_proc_stat(path: str = '/proc/stat') -> CpuTimes:
    """The ``cpu`` lines of ``/proc/stat``: name -> (busy jiffies, all jiffies), where idle and
    iowait are not busy."""
    times = {}
    with open(path) as f:
        for line in f:
            if not line.startswith('cpu'):
                break
            name, *fields = line.split()
            values = [int(v) for v in fields[:8]]  # user nice system idle iowait irq softirq steal
            idle = values[3] + (values[4] if len(values) > 4 else 0)
            times[name] = (sum(values) - idle, sum(values))
    return times
