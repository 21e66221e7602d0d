"""Checkpoint files: loaded without running code, written without ever leaving a half file.

Loading goes through :func:`posecfg.models.utils.read_checkpoint` (``torch.load(weights_only=
True)`` with an allow-list of numpy's array types). Installing this module makes it mmengine's
loader for local files, so ``load_from``/``resume_from`` use it — which is also what lets
mmengine 0.10 resume on torch >= 2.6 at all.

mmengine's message hub keeps its log history in ``HistoryBuffer`` objects that pickle their
statistics methods through ``builtins.getattr``; allowing ``getattr`` would let a crafted file
reach anything, so instead a ``copyreg`` reducer (installed here) pickles a buffer as plain lists
rebuilt by :func:`rebuild_history_buffer`, the one engine function on the allow-list.

Writing: the ``atomic_local`` file backend (used by the checkpoint hook) writes through
:func:`posecfg.files.write_atomically` (a temporary name in the target directory,
renamed into place), so a crash or ``kill -9`` mid-write leaves the previous file intact; which
files are kept and when old ones go is :class:`posecfg.engine.hooks.CheckpointHook`'s job.
"""
from __future__ import annotations

import copyreg
import os
from pathlib import Path
from typing import Any, Sequence, Union

from mmengine.fileio import LocalBackend, register_backend
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from posecfg.models.utils import read_checkpoint

from posecfg.files import write_atomically

ATOMIC_BACKEND = 'atomic_local'


def rebuild_history_buffer(log_history: Sequence[float], count_history: Sequence[float],
                           max_length: int) -> HistoryBuffer:
    return HistoryBuffer(list(log_history), list(count_history), int(max_length))


def _reduce_history_buffer(buffer: HistoryBuffer):
    log, count = buffer.data
    return rebuild_history_buffer, (log.tolist(), count.tolist(), buffer.max_length)


copyreg.pickle(HistoryBuffer, _reduce_history_buffer)

#: what an engine checkpoint holds beyond tensors, containers and numpy arrays
ENGINE_GLOBALS = (rebuild_history_buffer,)


def load_checkpoint_file(filename: Union[str, Path], map_location: Any = 'cpu',
                         mmap: bool = False) -> Any:
    """``mmap``: see :func:`posecfg.models.utils.read_checkpoint`."""
    filename = os.fspath(filename)
    if not os.path.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} does not exist')
    return read_checkpoint(filename, extra_globals=ENGINE_GLOBALS, map_location=map_location,
                           mmap=mmap)


@CheckpointLoader.register_scheme(prefixes='', force=True)
def _load_local(filename: str, map_location: Any = None) -> Any:
    return load_checkpoint_file(os.path.expanduser(filename), map_location or 'cpu')


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend, writing atomically (used by the checkpoint hook)."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        write_atomically(obj, filepath)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        write_atomically(obj, filepath, encoding)


register_backend(ATOMIC_BACKEND, AtomicLocalBackend, force=True)
