"""Columnar, read-only storage for a dataset's instances.

A list of per-sample dicts is millions of small Python objects; every dataloader worker that
reads one touches its reference count and so copies the memory page it lives on (fork's
copy-on-write turns into copy-on-read), until each worker holds the whole list. Here every
field is one numpy array over all instances and strings are one UTF-8 buffer with offsets, so a
worker reading sample ``i`` touches only array data. Rows are assembled on demand.
"""
from __future__ import annotations

from typing import Dict, Iterable, Mapping

import numpy as np


class StringPool:
    """An immutable sequence of strings kept in one byte buffer.

    Args:
        strings: the strings, in order.
    """

    def __init__(self, strings: Iterable[str]):
        encoded = [s.encode('utf-8') for s in strings]
        self._ends = np.cumsum([len(b) for b in encoded], dtype=np.int64)
        self._data = np.frombuffer(b''.join(encoded), dtype=np.uint8).copy()
        self._ends.setflags(write=False)
        self._data.setflags(write=False)

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, index: int) -> str:
        index = range(len(self))[index]  # IndexError and negative indices as a list has them
        start = int(self._ends[index - 1]) if index else 0
        return self._data[start:int(self._ends[index])].tobytes().decode('utf-8')


class InstanceTable:
    """Named columns of equal length; ``row(i)`` returns fresh copies of row ``i``.

    Args:
        columns: name → array whose first axis indexes instances (all the same length).
    """

    def __init__(self, **columns: np.ndarray):
        lengths = {name: len(col) for name, col in columns.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f'InstanceTable columns differ in length: {lengths}')
        self._columns: Dict[str, np.ndarray] = {}
        for name, col in columns.items():
            col = np.ascontiguousarray(col)
            col.setflags(write=False)
            self._columns[name] = col
        self._len = next(iter(lengths.values()), 0)

    def __len__(self) -> int:
        return self._len

    def __contains__(self, name: str) -> bool:
        return name in self._columns

    def column(self, name: str) -> np.ndarray:
        """The whole read-only column ``name`` (N, ...)."""
        return self._columns[name]

    def row(self, index: int) -> Mapping[str, object]:
        """Row ``index``: arrays as writable copies, scalars as Python numbers."""
        out = {}
        for name, col in self._columns.items():
            value = col[index]
            out[name] = value.copy() if isinstance(value, np.ndarray) else value.item()
        return out
