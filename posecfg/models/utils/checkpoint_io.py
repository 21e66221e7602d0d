"""Reading checkpoint files without running code from them.

PyTorch files load with ``torch.load(weights_only=True)``: tensors, plain containers and the
numpy array types in :data:`SAFE_GLOBALS` (MMPose/mmengine checkpoints keep numpy arrays in their
``meta``). A file whose pickle names any other global (a class or function that unpickling would
call) is refused with :class:`UnsafeCheckpointError`. ``.safetensors`` files (timm and Hugging
Face weights) are parsed directly: they are a JSON header plus raw tensor bytes.
"""
from __future__ import annotations

import json
import os
import pickle
import re
import zipfile
from typing import Any, List, Sequence

import numpy as np
import torch


class CheckpointReadError(RuntimeError):
    """A checkpoint file exists but cannot be read as one."""


class UnsafeCheckpointError(CheckpointReadError):
    """A checkpoint's pickle needs globals outside the allow-list (it could run code)."""


def _numpy_globals() -> List[Any]:
    """numpy's array-reconstruction globals under the names numpy 1.x and 2.x pickle them as.

    They rebuild arrays (and scalars) from dtype + bytes; object arrays' elements come from the
    same restricted unpickler, so nothing outside the allow-list can be reached through them.
    """
    from numpy._core import multiarray  # numpy 2's name; numpy 1.26 ships it as an alias
    # an empty array (a dataset without skeleton: skeleton_link_colors (0, 3)) pickles its
    # data as ``bytes()``: the builtin only makes byte strings
    found: List[Any] = [np.ndarray, np.dtype, bytes]
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        for name in ('_reconstruct', 'scalar'):
            found.append((getattr(multiarray, name), f'{module}.{name}'))
    dtypes = getattr(np, 'dtypes', None)  # numpy >= 1.25 pickles some dtypes by class
    if dtypes is not None:
        found += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')]
    return found


#: Globals a checkpoint may name, beyond torch's own weights-only set.
SAFE_GLOBALS: List[Any] = _numpy_globals()

# safetensors dtype names → torch dtypes (https://github.com/huggingface/safetensors, format doc)
_SAFETENSORS_DTYPES = {
    'F64': torch.float64, 'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16,
    'I64': torch.int64, 'I32': torch.int32, 'I16': torch.int16, 'I8': torch.int8,
    'U8': torch.uint8, 'BOOL': torch.bool,
}


def read_checkpoint(path: str, extra_globals: Sequence[Any] = (), map_location: Any = 'cpu',
                    mmap: bool = False) -> Any:
    """The object stored in ``path`` (usually a dict), tensors on ``map_location``.

    ``extra_globals``: functions or classes a caller's own files hold besides
    :data:`SAFE_GLOBALS` (the engine adds its rebuilder of mmengine's log history).
    ``mmap``: the tensors of a zip-format file (``torch.save``'s) map the file's pages instead
    of being read into fresh memory (for weights copied into a model and then dropped: one
    copy of every weight less); other files are read.
    Raises :class:`UnsafeCheckpointError` for pickles that name globals outside the allow-list
    and :class:`CheckpointReadError` for files that are not checkpoints.
    """
    if str(path).endswith('.safetensors'):
        return read_safetensors(path)
    allowed = SAFE_GLOBALS + list(extra_globals)
    try:
        with torch.serialization.safe_globals(allowed):
            return torch.load(path, map_location=map_location, weights_only=True,
                              mmap=bool(mmap) and zipfile.is_zipfile(path))
    except pickle.UnpicklingError as err:
        if 'unsupported global' in str(err).lower():
            raise UnsafeCheckpointError(_unsafe_message(path, err, allowed)) from None
        detail = re.search(r'WeightsUnpickler error: \s*(.*?)\s*$', str(err), re.M)
        raise CheckpointReadError(
            f'{path}: not a readable PyTorch checkpoint (damaged, or a pickle that '
            f'torch.load(weights_only=True) cannot read: '
            f'{detail.group(1) if detail else err})') from None
    except (RuntimeError, EOFError, ValueError, OSError) as err:
        raise CheckpointReadError(
            f'{path}: not a readable PyTorch checkpoint ({type(err).__name__}: {err}); expected '
            f'a file written by torch.save (.pth/.pt/.ckpt) or a .safetensors file') from None


def _unsafe_message(path: str, err: Exception, allowed: List[Any]) -> str:
    names = _unsafe_globals(path, allowed) or re.findall(r'GLOBAL ([\w.]+)', str(err))[:1]
    listed = ', '.join(names) if names else 'a global outside the allow-list'
    return (
        f'refusing to load {path}: its pickle needs {listed}, which unpickling would import and '
        f'call, so the file could run arbitrary code. posecfg loads checkpoints with '
        f'torch.load(weights_only=True), which accepts tensors, containers and numpy arrays. '
        f'If you trust the file, save its weights alone once and use that file instead: '
        f"python -c \"import torch; c = torch.load('{path}', weights_only=False); "
        f"torch.save(c.get('state_dict', c), 'weights_only.pth')\"")


def _unsafe_globals(path: str, allowed_globals: List[Any]) -> List[str]:
    try:
        found = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except Exception:  # legacy (non-zip) files are not supported by this helper
        return []
    allowed = {item[1] for item in allowed_globals if isinstance(item, tuple)}
    allowed |= {f'{g.__module__}.{g.__qualname__}' for g in allowed_globals
                if not isinstance(g, tuple)}
    return [name for name in found if name not in allowed]


def read_safetensors(path: str) -> dict:
    """``{name: tensor}`` from a .safetensors file (8-byte little-endian header size, JSON
    header ``{name: {dtype, shape, data_offsets}}``, then the tensors' bytes)."""
    size = os.path.getsize(path)
    with open(path, 'rb') as f:
        header_len = int.from_bytes(f.read(8), 'little')
        if not 2 <= header_len <= size - 8:
            raise CheckpointReadError(f'{path}: not a .safetensors file (header size '
                                      f'{header_len} does not fit a {size}-byte file)')
        try:
            header = json.loads(f.read(header_len))
        except ValueError as err:
            raise CheckpointReadError(f'{path}: .safetensors header is not JSON ({err})') from None
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        out[name] = _safetensors_tensor(path, name, info, data)
    return out


def _safetensors_tensor(path: str, name: str, info: dict, data: bytes) -> torch.Tensor:
    dtype = _SAFETENSORS_DTYPES.get(info.get('dtype'))
    if dtype is None:
        raise CheckpointReadError(f"{path}: tensor {name!r} has dtype {info.get('dtype')!r}; "
                                  f'supported: {", ".join(_SAFETENSORS_DTYPES)}')
    start, end = info['data_offsets']
    shape = tuple(info['shape'])
    if not 0 <= start <= end <= len(data):
        raise CheckpointReadError(f'{path}: tensor {name!r} data_offsets {start}..{end} are '
                                  f'outside the {len(data)}-byte data section')
    if start == end:
        return torch.empty(shape, dtype=dtype)
    tensor = torch.frombuffer(bytearray(data[start:end]), dtype=dtype)
    if tensor.numel() != int(np.prod(shape, dtype=np.int64)):
        raise CheckpointReadError(f'{path}: tensor {name!r} has {tensor.numel()} values for '
                                  f'shape {list(shape)}')
    return tensor.reshape(shape)
