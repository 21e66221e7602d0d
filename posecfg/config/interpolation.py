"""``${key}`` references: values derived from other keys, resolved after every file and override.

A string that is exactly ``'${channel_cfg.num_output_channels}'`` becomes that key's value (of
any type); a string with references inside (``'${data_root}/annotations/train.json'``) has each
replaced by the value's text. Keys are dotted like ``--cfg-options`` keys, with list indices.
Since references are resolved last, they follow every later change of their source: a child
file's, or a ``--cfg-options`` item's. ``\\${`` writes a literal ``${``.
"""
from __future__ import annotations

import copy
import difflib
import re
from typing import Any, Dict, List

from .errors import InterpolationError
from .keypath import Path, format_path, resolve_segment
from .provenance import Event, Provenance

_REFERENCE = re.compile(r'(?<!\\)\$\{([^{}]*)\}')
_ESCAPED = re.compile(r'\\\$\{')


def has_references(data: Any) -> bool:
    if isinstance(data, str):
        return '${' in data
    if isinstance(data, dict):
        return any(has_references(v) for v in data.values())
    if isinstance(data, (list, tuple)):
        return any(has_references(v) for v in data)
    return False


class Interpolator:

    def __init__(self, data: dict, prov: Provenance):
        self.raw = data
        self.prov = prov
        self.done: Dict[Path, Any] = {}
        self.active: List[Path] = []

    def resolve_all(self) -> dict:
        if not has_references(self.raw):
            return self.raw
        return self.value_at(())

    def value_at(self, path: Path) -> Any:
        if path in self.done:
            return self.done[path]
        if path in self.active:
            cycle = self.active[self.active.index(path):] + [path]
            raise InterpolationError(
                'cyclic ${…} references: ' + ' → '.join(format_path(p) for p in cycle))
        self.active.append(path)
        try:
            value = self._resolve(path, self._raw_at(path))
        finally:
            self.active.pop()
        self.done[path] = value
        return value

    def _raw_at(self, path: Path) -> Any:
        node = self.raw
        for key in path:
            node = node[key]
        return node

    def _resolve(self, path: Path, raw: Any) -> Any:
        if isinstance(raw, dict):
            return {k: self.value_at(path + (k,)) for k in raw}
        if isinstance(raw, (list, tuple)):
            return type(raw)(self.value_at(path + (i,)) for i in range(len(raw)))
        if not isinstance(raw, str) or '${' not in raw:
            return raw
        whole = _REFERENCE.fullmatch(raw)
        if whole:
            value = copy.deepcopy(self.lookup(whole.group(1), path))
        else:
            value = _ESCAPED.sub('${', _REFERENCE.sub(
                lambda m: str(self.lookup(m.group(1), path)), raw))
        _, events = self.prov.history(path)
        origin = events[-1].origin if events else None
        if origin is not None:
            self.prov.events.setdefault(path, []).append(
                Event(origin, 'interpolate', note=raw))
        return value

    def lookup(self, key: str, referrer: Path) -> Any:
        """The resolved value of the dotted ``key``. Only that value is resolved, not the
        containers on the way to it: ``${model.backbone.depth}`` inside ``model.head`` reads a
        sibling, not all of ``model`` (which holds the reference itself)."""
        segments = key.strip().split('.')
        node, path, resolved = self.raw, (), False
        for i, segment in enumerate(segments):
            found = resolve_segment(node, segment)
            if found is None:
                self._missing(key, referrer, path, segment, node)
            path += (found,)
            if resolved:  # below a value a reference gave: already resolved
                node = node[found]
            elif i == len(segments) - 1 or has_references(node[found]) and \
                    isinstance(node[found], str):
                # the key itself, or a reference on the way (``a='${b}'``, key ``a.x``)
                node, resolved = self.value_at(path), True
            else:
                node = node[found]
        return node

    def _missing(self, key: str, referrer: Path, parent: Path, segment: str, node: Any):
        _, events = self.prov.history(referrer)
        where = f' ({events[-1].origin.describe()})' if events else ''
        message = (f'{format_path(referrer)}{where} refers to ${{{key}}}, but '
                   f'{format_path(parent + (segment,))} does not exist')
        if isinstance(node, dict):
            close = difflib.get_close_matches(segment, [str(k) for k in node], n=3, cutoff=0.6)
            if close:
                message += f'; did you mean {", ".join(format_path(parent + (c,)) for c in close)}?'
        raise InterpolationError(message)
