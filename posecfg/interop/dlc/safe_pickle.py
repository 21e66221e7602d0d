"""DeepLabCut's pickles, read without running code.

DeepLabCut keeps a shuffle's split in ``Documentation_data-<Task>_<pct>shuffle<k>.pickle``
(``[data, train_indices, test_indices, train_fraction]``, auxiliaryfunctions.py
``save_metadata``) and a multi-animal training set in ``<Task>_<scorer><pct>shuffle<k>.pickle``.
They hold only plain containers, strings, numbers and numpy arrays, but a pickle can name any
importable callable and call it while loading. :func:`load_pickle` therefore resolves only the
few numpy functions that rebuild arrays, dtypes and scalars; any other global (a class, a
function, ``os.system``) stops loading with :class:`UnsafePickleError` naming it.

Lists, dicts, tuples, sets, strings, bytes, numbers, booleans and None are pickle opcodes, not
globals, so they need no entry. Arrays of dtype ``object`` rebuild their elements through the
same restricted lookup.
"""
from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any, Union

import numpy as np

from posecfg.files import write_atomically

#: (module, name) → object; both numpy 1.x (``numpy.core``) and 2.x (``numpy._core``) spellings
_ALLOWED = {}
for _module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
    _ALLOWED[(_module, '_reconstruct')] = np.core.multiarray._reconstruct
    _ALLOWED[(_module, 'scalar')] = np.core.multiarray.scalar
for _module in ('numpy.core.numeric', 'numpy._core.numeric'):
    _ALLOWED[(_module, '_frombuffer')] = np.core.numeric._frombuffer
_ALLOWED[('numpy', 'ndarray')] = np.ndarray
_ALLOWED[('numpy', 'dtype')] = np.dtype
_ALLOWED[('collections', 'OrderedDict')] = __import__('collections').OrderedDict


def _latin1_bytes(text: str, encoding: str = 'latin1') -> bytes:
    """Protocol-2 pickles write bytes as ``_codecs.encode(text, 'latin1')``; only that."""
    if not isinstance(text, str) or encoding not in ('latin1', 'latin-1'):
        raise UnsafePickleError(f'refusing _codecs.encode({type(text).__name__}, {encoding!r})')
    return text.encode('latin1')


_ALLOWED[('_codecs', 'encode')] = _latin1_bytes


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle names something other than numpy's array rebuilders; nothing was run."""


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, source: str):
        super().__init__(file)
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            pass
        if module.startswith('numpy') and name.endswith('DType'):  # numpy>=1.25 dtype classes
            obj = getattr(np.dtypes, name, None)
            if isinstance(obj, type) and issubclass(obj, np.dtype):
                return obj
        raise UnsafePickleError(
            f'{self._source}: refusing to load: the pickle asks for {module}.{name}, which is '
            f'not a numpy array, dtype or scalar; DeepLabCut files hold only those and plain '
            f'containers, so this file was not written by DeepLabCut or posecfg (nothing in it '
            f'was run)')

    def persistent_load(self, pid):
        raise UnsafePickleError(f'{self._source}: refusing persistent id {pid!r}')


def loads_pickle(data: bytes, source: str = '<bytes>') -> Any:
    """Unpickle ``data`` allowing only numpy arrays / dtypes / scalars and plain containers."""
    try:
        return _RestrictedUnpickler(io.BytesIO(data), source).load()
    except UnsafePickleError:
        raise
    except Exception as err:  # truncated or corrupt file
        raise pickle.UnpicklingError(f'{source}: not a readable pickle: {err}') from None


def load_pickle(path: Union[str, Path]) -> Any:
    """Read a DeepLabCut pickle file with :func:`loads_pickle`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'{path}: file not found')
    return loads_pickle(path.read_bytes(), str(path))


def _check_plain(obj: Any, where: str) -> None:
    if obj is None or isinstance(obj, (bool, int, float, complex, str, bytes, np.generic)):
        return
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            for i, item in enumerate(obj.flat):
                _check_plain(item, f'{where}[{i}]')
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            _check_plain(k, f'{where} key')
            _check_plain(v, f'{where}[{k!r}]')
        return
    if isinstance(obj, (list, tuple, set, frozenset)):
        for i, item in enumerate(obj):
            _check_plain(item, f'{where}[{i}]')
        return
    raise TypeError(f'{where}: {type(obj).__name__} cannot go into a DeepLabCut pickle; only '
                    f'numpy arrays/scalars and plain containers can (they load without code)')


def dump_pickle(obj: Any, path: Union[str, Path]) -> None:
    """Write ``obj`` (plain containers and numpy only) atomically, protocol as DeepLabCut's
    (``pickle.HIGHEST_PROTOCOL``)."""
    _check_plain(obj, str(path))
    write_atomically(pickle.dumps(obj, pickle.HIGHEST_PROTOCOL), path)
