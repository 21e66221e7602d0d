"""Progress of a long video: frames done, frames/s and time left, on a terminal or in a log.

On a terminal one line is redrawn in place (``\\r``) a few times a second; anywhere else
(a log file, a Slurm job, CI) a full line is printed every ``interval`` seconds, so the log shows
progress without a wall of carriage returns. The rate counts from the end of the first update,
so a slow start (model compilation, the first batch) does not distort the time left.
"""
from __future__ import annotations

import sys
import time
from typing import Callable, Optional, TextIO

__all__ = ['ProgressReporter', 'format_duration']


def format_duration(seconds: float) -> str:
    """``3725.2`` → ``'1:02:05'``, ``65`` → ``'1:05'``."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f'{hours}:{minutes:02d}:{secs:02d}' if hours else f'{minutes}:{secs:02d}'


class ProgressReporter:
    """``update(n)`` after each batch, ``close()`` at the end (or use ``with``).

    Args:
        total: frames expected (None when unknown: no percentage or ETA).
        label: printed first (the video's name).
        stream: where to write (default ``sys.stderr``).
        interval: seconds between lines (default 0.2 on a terminal, 10 otherwise).
        clock: seconds, monotonic (tests pass a fake one).
    """

    def __init__(self, total: Optional[int], label: str = '', stream: Optional[TextIO] = None,
                 interval: Optional[float] = None, unit: str = 'frames',
                 clock: Callable[[], float] = time.monotonic):
        self.total = total
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, 'isatty', None)
        self.tty = bool(isatty and isatty())
        self.interval = interval if interval is not None else (0.2 if self.tty else 10.0)
        self.unit = unit
        self.clock = clock
        self.done = 0
        self.start = clock()
        self._first: Optional[tuple] = None  # (time, done) at the first update
        self._last_print = -float('inf')
        self._closed = False

    def rate(self) -> Optional[float]:
        """Frames per second since the first update (None until there is a second one)."""
        if self._first is None:
            return None
        seconds = self.clock() - self._first[0]
        return (self.done - self._first[1]) / seconds if seconds > 0 else None

    def line(self) -> str:
        parts = [f'{self.label}: ' if self.label else '']
        if self.total:
            parts.append(f'{self.done}/{self.total} {self.unit} '
                         f'({100 * self.done / self.total:.0f}%)')
        else:
            parts.append(f'{self.done} {self.unit}')
        rate = self.rate()
        if rate:
            parts.append(f', {rate:.1f} {self.unit}/s')
            if self.total and self.total > self.done:
                parts.append(f', ETA {format_duration((self.total - self.done) / rate)}')
        return ''.join(parts)

    def update(self, n: int) -> None:
        self.done += n
        now = self.clock()
        if self._first is None:  # the rate counts from here: the first batch's startup is out
            self._first = (now, self.done)
        if now - self._last_print >= self.interval:
            self._last_print = now
            self._emit(self.line())

    def _emit(self, text: str, final: bool = False) -> None:
        if self.tty:
            self.stream.write('\r' + text + '\x1b[K' + ('\n' if final else ''))
        else:
            self.stream.write(text + '\n')
        self.stream.flush()

    def close(self) -> None:
        """The summary line: frames, time, average rate."""
        if self._closed:
            return
        self._closed = True
        seconds = self.clock() - self.start
        rate = f', {self.done / seconds:.1f} {self.unit}/s' if seconds > 0 else ''
        label = f'{self.label}: ' if self.label else ''
        self._emit(f'{label}{self.done} {self.unit} in {format_duration(seconds)}{rate}',
                   final=True)

    def __enter__(self) -> 'ProgressReporter':
        return self

    def __exit__(self, *exc) -> None:
        self.close()
