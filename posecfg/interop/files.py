"""Files users keep, written whole or not at all (DESIGN.md "Files users keep").

Interop writers (DeepLabCut, Lightning Pose) produce files through libraries that want a path
(pandas ``to_hdf``/``to_csv``, ``scipy.io.savemat``), so the primitive here is a temporary path
in the target folder that is renamed over the target only when the writer returned normally.
This module imports neither torch nor mmengine.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator, Union

PathLike = Union[str, os.PathLike]


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on normal exit it replaces ``path``.

    The temporary name keeps the target's suffix (``.h5``, ``.csv``, ``.mat``) because some
    writers choose the format from it. On an exception the temporary file is removed and the
    previous ``path`` (if any) is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.stem}.', suffix=f'.tmp{path.suffix}',
                               dir=path.parent)
    os.close(fd)
    os.remove(tmp)  # writers create the file themselves (PyTables refuses a non-HDF5 file)
    try:
        yield Path(tmp)
        if not os.path.exists(tmp):
            raise RuntimeError(f'the writer for {path} did not create its temporary file {tmp}')
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text_atomic(path: PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same folder."""
    write_bytes_atomic(path, text.encode('utf-8'))


def write_bytes_atomic(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder (+ fsync)."""
    with atomic_path(path) as tmp:
        with open(tmp, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
