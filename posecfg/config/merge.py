"""Merging a child config into its bases (mmengine's rules) while recording provenance.

Rules, as mmengine's: a dict merges into a dict key by key; ``_delete_=True`` in a dict replaces
the base's value instead; any other value (lists included) replaces the base's value whole.
Unlike mmengine, ``_delete_`` never survives into the result, two bases may both set a key to the
same value (a shared base reached twice), and every conflict names the files involved.
"""
from __future__ import annotations

from typing import Any, Callable, List

from .errors import ConfigMergeError
from .keypath import Path, format_path
from .provenance import Event, Origin, Provenance
from .source import DELETE_KEY


def strip_delete(value: Any) -> Any:
    """``value`` without any ``_delete_`` keys (they only mean something during a merge)."""
    if isinstance(value, dict):
        return {k: strip_delete(v) for k, v in value.items() if k != DELETE_KEY}
    if isinstance(value, list):
        return [strip_delete(v) for v in value]
    if isinstance(value, tuple):
        return tuple(strip_delete(v) for v in value)
    return value


def same_value(a: Any, b: Any) -> bool:
    """Equality that also tells ``1`` from ``True`` and ``1.0``, and lists from tuples."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    try:
        return bool(a == b)
    except Exception:  # objects whose == raises or returns arrays
        return a is b


class Merger:
    """Merges one file's own values into its bases' combined values.

    ``origin_of(path)`` gives the :class:`Origin` of a path in the child file; ``prov`` (the
    bases' provenance, copied) receives the child's events; ``set_paths`` collects every path the
    child placed a value at.
    """

    def __init__(self, origin_of: Callable[[Path], Origin], prov: Provenance,
                 describe_base: Callable[[Path], str]):
        self.origin_of = origin_of
        self.prov = prov
        self.describe_base = describe_base
        self.set_paths: List[Path] = []

    def merge(self, child: dict, base: dict, prefix: Path = ()) -> dict:
        out = dict(base)
        for key, value in child.items():
            path = prefix + (key,)
            if isinstance(value, dict):
                replace = bool(value.get(DELETE_KEY, False))
                if key in base and not replace:
                    if not isinstance(base[key], dict):
                        origin = self.origin_of(path)
                        raise ConfigMergeError(
                            f'{origin.describe()}: {format_path(path)} is a dict here but a '
                            f'{type(base[key]).__name__} in {self.describe_base(path)}; write '
                            f'{key}=dict(_delete_=True, ...) to replace it')
                    out[key] = self.merge({k: v for k, v in value.items() if k != DELETE_KEY},
                                          base[key], path)
                    continue
            out[key] = strip_delete(value)
            action = 'override' if key in base else 'set'
            self.prov.place(path, Event(self.origin_of(path), action))
            self.set_paths.append(path)
        return out
