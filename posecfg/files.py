"""Files users keep (checkpoints, snapshots, the ``last_checkpoint`` pointer, prediction and
label files in DeepLabCut's and Lightning Pose's formats), written so that no crash, ``kill -9``
or full disk loses progress or leaves half a file. One module for the engine and the interop
writers alike; it imports neither torch nor mmengine.

The guarantees, each relied on by the checkpoint hook and meant for any other keeper of files
(DeepLabCut-style ``snapshot-{epoch:03d}.pt`` / ``snapshot-best-NNN.pt`` with ``max_snapshots``):

1. A file is written to a temporary name in its own directory (``.NAME.<host>-<pid>.<random>.tmp``,
   or ``….tmp.SUFFIX`` from :func:`atomic_path` for writers that pick the format from the
   suffix), flushed, ``fsync``-ed and renamed over ``NAME``; readers see the old file or the whole
   new one.
2. :meth:`KeptFiles.add` deletes a file it no longer keeps only after the new file is complete
   and in place and the pointer file (if any) names it: at every instant the pointer names a
   whole file.
3. A write that fails (``ENOSPC``, ``EACCES``, ...) removes its temporary, leaves the previous
   file in place, and raises an ``OSError`` of the same errno that names the path.
4. :func:`remove_stale_temporaries` deletes the temporaries a killed process left behind (it is
   called when training starts); temporaries of a live process on this host are left alone.
5. Files get the permissions ``open()`` would give them (``0o666`` less the umask), not
   ``mkstemp``'s ``0o600``.
"""
from __future__ import annotations

import errno
import os
import re
import socket
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Iterator, List, Optional, Union

Content = Union[bytes, str, Callable[[BinaryIO], None]]

_HOST = re.sub(r'[^A-Za-z0-9_-]', '_', socket.gethostname())[:40] or 'host'
#: ``.NAME.<host>-<pid>.<random>.tmp``: what :func:`write_atomically` names its temporaries
_TEMPORARY = re.compile(r'^\..+\.(?P<host>[A-Za-z0-9_-]+)-(?P<pid>\d+)\.[A-Za-z0-9_]+\.tmp'
                        r'(\.[A-Za-z0-9]+)?$')


def current_umask() -> int:
    """The process's umask, read without changing it where Linux allows (thread-safe)."""
    try:
        with open('/proc/self/status', encoding='ascii') as f:
            for line in f:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # elsewhere: the classic read-by-setting, restored at once
    os.umask(mask)
    return mask


def _path_error(err: OSError, path: str, doing: str) -> OSError:
    """``err`` re-raised with ``path`` named and what stays intact said."""
    message = f'{os.strerror(err.errno) if err.errno else err} while {doing} {path}'
    if err.errno == errno.ENOSPC:
        message += ' (the previous file, if any, is unchanged; free space and run again)'
    return type(err)(err.errno, message) if err.errno else OSError(message)


def write_atomically(content: Content, path: Union[str, os.PathLike],
                     encoding: str = 'utf-8') -> str:
    """Write ``content`` to ``path`` through a temporary file in the same directory + rename.

    ``content``: bytes, text (encoded with ``encoding``) or a function writing to a binary file
    object (e.g. ``lambda f: torch.save(obj, f)``). Returns ``path``. Raises an ``OSError`` naming
    ``path`` when the directory cannot be created or the file cannot be written; the previous
    file at ``path`` is then unchanged and no temporary is left.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f'.{os.path.basename(path)}.{_HOST}-{os.getpid()}.',
                                   suffix='.tmp', dir=directory)
    except OSError as err:
        raise _path_error(err, path, 'creating') from err
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, 'wb') as f:
            if callable(content):
                content(f)
            else:
                f.write(content.encode(encoding) if isinstance(content, str) else content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        if os.path.exists(tmp):
            os.remove(tmp)
        if isinstance(err, OSError) and path not in str(err):
            raise _path_error(err, path, 'writing') from err
        raise
    _sync_directory(directory)
    return path


@contextmanager
def atomic_path(path: Union[str, os.PathLike]) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` for a writer that wants a path (pandas
    ``to_hdf``/``to_csv``, ``scipy.io.savemat``); on normal exit the file written there is
    synced and renamed over ``path``.

    The temporary keeps the target's suffix (``.h5``, ``.csv``, ``.mat``) because some writers
    choose the format from it, and does not exist when yielded (PyTables refuses to open a
    non-HDF5 file). On an exception it is removed and the previous ``path`` is left untouched.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.{_HOST}-{os.getpid()}.',
                                   suffix=f'.tmp{path.suffix}', dir=path.parent)
    except OSError as err:
        raise _path_error(err, str(path), 'creating') from err
    os.close(fd)
    os.remove(tmp)
    try:
        yield Path(tmp)
        if not os.path.exists(tmp):
            raise RuntimeError(f'the writer for {path} did not create its temporary file {tmp}')
        os.chmod(tmp, 0o666 & ~current_umask())
        with open(tmp, 'rb') as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        if os.path.exists(tmp):
            os.remove(tmp)
        if isinstance(err, OSError) and str(path) not in str(err):
            raise _path_error(err, str(path), 'writing') from err
        raise
    _sync_directory(str(path.parent))


def _sync_directory(directory: str) -> None:
    """Make a rename durable (it lives in the directory's entry table)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems do not sync directories; the rename itself is still atomic
    finally:
        os.close(fd)


def _alive_here(host: str, pid: int) -> bool:
    if host != _HOST:
        return False  # another machine's process: a stale file as far as this run can tell
    if pid == os.getpid():
        return False  # this process writes nothing while it cleans up
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(directory: Union[str, os.PathLike]) -> List[str]:
    """Delete the temporaries :func:`write_atomically` left in ``directory`` when its process was
    killed mid-write (those of live processes on this host are kept). Returns their paths."""
    directory = os.fspath(directory)
    removed = []
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return removed
    for name in names:
        match = _TEMPORARY.match(name)
        if not match or _alive_here(match['host'], int(match['pid'])):
            continue
        path = os.path.join(directory, name)
        try:
            os.remove(path)
            removed.append(path)
        except FileNotFoundError:
            pass
    return removed


class KeptFiles:
    """A rolling set of files in one directory: the newest ``max_keep`` are kept.

    Args:
        directory: where the files are.
        max_keep: how many to keep (the newest); ``-1`` or ``0``: all.
        pointer: name (in ``directory``) or path of a file that holds the path of the newest
            file (mmengine's ``last_checkpoint``), or None.
        names: the files kept so far, oldest first (e.g. restored from a checkpoint).

    Use :meth:`add` for each new file; :meth:`retire` to delete or rename one outside the
    rolling order (a previous "best" snapshot). Neither ever deletes a file before its
    replacement is complete and the pointer names the replacement.
    """

    def __init__(self, directory: Union[str, os.PathLike], max_keep: int = -1,
                 pointer: Optional[str] = None, names: Iterable[str] = ()):
        self.directory = os.fspath(directory)
        self.max_keep = int(max_keep)
        self.pointer = pointer
        self.names: List[str] = list(dict.fromkeys(names))

    def path(self, name: str) -> str:
        return os.path.join(self.directory, name)

    def planned(self, name: str) -> List[str]:
        """The names kept once ``name`` is added (what a checkpoint should record as kept)."""
        names = [n for n in self.names if n != name] + [name]
        return names[-self.max_keep:] if self.max_keep > 0 else names

    def add(self, name: str, content: Optional[Content] = None,
            pointer_text: Optional[str] = None) -> List[str]:
        """Keep ``name`` as the newest file; returns the paths it deleted.

        ``content`` is written atomically; None means the caller has already put the complete
        file in place (atomically). Then the pointer file is rewritten (atomically) to
        ``pointer_text`` (default: the new file's path), and only then are the files beyond
        ``max_keep`` deleted.
        """
        path = self.path(name)
        if content is not None:
            write_atomically(content, path)
        elif not os.path.isfile(path):
            raise FileNotFoundError(f'{path}: KeptFiles.add was told the file is in place, '
                                    f'but it does not exist')
        if self.pointer:
            write_atomically(pointer_text if pointer_text is not None else path,
                             self.path(self.pointer))
        keep = self.planned(name)
        dropped = [n for n in self.names if n not in keep]
        self.names = keep
        return [p for p in (self.path(n) for n in dropped) if _remove(p)]

    def prune(self) -> List[str]:
        """Delete the files beyond ``max_keep`` (the oldest of :attr:`names`), e.g. after a file
        that does not join the rolling set (a new "best") was written; returns their paths."""
        keep = self.names[-self.max_keep:] if self.max_keep > 0 else list(self.names)
        dropped = [n for n in self.names if n not in keep]
        self.names = keep
        return [p for p in (self.path(n) for n in dropped) if _remove(p)]

    def retire(self, name: str, rename_to: Optional[str] = None) -> None:
        """Delete ``name`` (or rename it to ``rename_to``, which then joins the rolling set as its
        newest file): for a file that a newer, complete file has replaced."""
        if name in self.names:
            self.names.remove(name)
        if rename_to is None:
            _remove(self.path(name))
            return
        try:
            os.replace(self.path(name), self.path(rename_to))
        except OSError as err:
            raise _path_error(err, self.path(name), 'renaming') from err
        _sync_directory(self.directory)
        keep = self.planned(rename_to)
        for dropped in [n for n in self.names if n not in keep]:
            _remove(self.path(dropped))
        self.names = keep


def _remove(path: str) -> bool:
    try:
        os.remove(path)
        return True
    except FileNotFoundError:
        return False
