"""Applying ``--cfg-options`` overrides to config data.

Two places apply them:
- :func:`inject_override`, while a config file runs, on the file's own namespace (see
  ``loader.py``): best effort, an override whose key the file does not spell out is left for
- :class:`OverrideApplier`, on the merged config: every key must exist, or be a constructor
  argument of the registered ``type`` of its dict (asked of a :class:`TypeInfo`), or a key of the
  schema (``schema.py``), or be added explicitly with ``+``; anything else is an error naming the
  closest existing keys.

A list segment may be an index (``pipeline.1``, ``pipeline.-1``) or the ``type`` of exactly one
of the list's dicts (``pipeline.TopDownRandomFlip.flip_prob``), which survives reordering.
"""
from __future__ import annotations

import copy
import difflib
from typing import Any, Iterable, List, Optional, Tuple

from .errors import OverrideError
from .keypath import Path, assign, container_ids, delete, get_path, is_index, resolve_segment
from .merge import strip_delete
from .options import ADD, DELETE, Override
from .provenance import Event, Origin, Provenance
from .schema import section_keys
from .source import DELETE_KEY


class TypeInfo:
    """What the registries know about a ``type``. The default asks ``posecfg.registry``, imported
    only when a key is not found (importing it costs more than reading a config)."""

    def accepts(self, type_name: str, rel_path: Path) -> Optional[bool]:
        from posecfg.registry import accepts_key
        return accepts_key(type_name, rel_path)

    def arguments(self, type_name: str) -> List[str]:
        from posecfg.registry import constructor_arguments, find_type
        obj = find_type(type_name)
        if obj is None:
            return []
        option_keys = getattr(obj, 'option_keys', {}) or {}
        return constructor_arguments(obj) + [f'{k}.{v}' for k, vs in option_keys.items()
                                             for v in vs]


class _NotHere(Exception):
    """An injected override does not apply to this file's value."""


def _dotted(path: Path) -> str:
    return '.'.join(map(str, path))


def locate(container: Any, segment: str, path: Path, override: Override) -> Tuple[Any, bool]:
    """The key ``segment`` denotes in ``container`` and whether it exists there.

    Raises :class:`OverrideError` where no key can be meant (indexing a scalar, a word on a list,
    an index past the end).
    """
    where = f'{override.flag} {override.text!r}'
    key = resolve_segment(container, segment)
    if key is not None:
        return key, True
    if isinstance(container, dict):
        return segment, False
    if isinstance(container, (list, tuple)):
        kind = type(container).__name__
        if is_index(segment):
            index = int(segment)
            raise OverrideError(
                f'{where}: {_dotted(path)} is a {kind} of {len(container)} items; '
                f'index {index} is out of range')
        matches = [i for i, item in enumerate(container)
                   if isinstance(item, dict) and item.get('type') == segment]
        if len(matches) == 1:
            return matches[0], True
        items = ', '.join(f'{i}: {item.get("type")}' if isinstance(item, dict) and 'type' in item
                          else str(i) for i, item in enumerate(container))
        why = 'more than one item has' if matches else 'no item has'
        raise OverrideError(
            f'{where}: {_dotted(path)} is a {kind}; index it with a number or the type of one of '
            f'its items ({why} type {segment!r}); its items: {items}')
    raise OverrideError(
        f'{where}: {_dotted(path)} is {type(container).__name__} {container!r}, not a dict or '
        f'list, so it has no key {segment!r}')


def _merge_expansion(override: Override, current: Any) -> Optional[List[Override]]:
    """A dict value merged into an existing dict, as one override per key (None: not a merge)."""
    value = override.value
    if override.op == DELETE or not isinstance(value, dict) or not isinstance(current, dict) \
            or value.get(DELETE_KEY):
        return None
    return [Override(override.op, override.key + (str(k),), v, override.text, override.flag)
            for k, v in value.items()]


def inject_override(namespace: dict, override: Override) -> bool:
    """Apply ``override`` to a running config file's namespace, if the file has the key.

    Returns whether it was applied. A top-level name is never deleted here (later lines may read
    it); the merged config loses it.
    """
    name = override.key[0]
    if name not in namespace:
        return False
    try:
        path, exists = _resolve_existing(namespace[name], override)
    except (_NotHere, OverrideError):
        return False  # the merged config will be checked, with a proper message, afterwards
    current = get_path(namespace[name], path) if exists else None
    expansion = _merge_expansion(override, current) if exists else None
    if expansion is not None:
        return all([inject_override(namespace, item) for item in expansion])
    if override.op == DELETE:
        if not path or not exists:
            return False
        shared = container_ids(list(namespace.values()))
        namespace[name] = delete(namespace[name], path, shared)
        return True
    value = strip_delete(copy.deepcopy(override.value))
    if not path:
        namespace[name] = value
        return True
    shared = container_ids(list(namespace.values()))
    namespace[name] = assign(namespace[name], path, value, shared)
    return True


def _resolve_existing(root: Any, override: Override) -> Tuple[Path, bool]:
    """The path of ``override.key[1:]`` below ``root``; only its last key may be missing."""
    path: Path = ()
    node = root
    segments = override.key[1:]
    for i, segment in enumerate(segments):
        key, exists = locate(node, segment, override.key[:1] + path, override)
        if not exists:
            if i == len(segments) - 1 and isinstance(node, dict):
                return path + (key,), False
            raise _NotHere
        path += (key,)
        node = node[key]
    return path, True


class OverrideApplier:
    """Applies overrides to merged config data (changed in place), checking every key."""

    def __init__(self, data: dict, prov: Optional[Provenance] = None,
                 type_info: Optional[TypeInfo] = None, injected: Iterable[Override] = (),
                 settled: Iterable[Override] = ()):
        """``injected``: overrides already applied while some file ran; ``settled``: those applied
        in the file that gave their key its final value. A settled delete is not applied again
        (deleting a list item twice would delete the next one too); an injected delete whose key
        is gone took effect in a base."""
        self.data = data
        self.prov = prov if prov is not None else Provenance()
        self.type_info = type_info or TypeInfo()
        self.injected = {id(o) for o in injected}
        self.settled = {id(o) for o in settled}

    def apply_all(self, overrides: Iterable[Override]):
        for override in overrides:
            self.apply(override)

    def apply(self, override: Override):
        if override.op == DELETE and (id(override) in self.settled or (
                id(override) in self.injected and not self._exists(override))):
            return
        path, exists = self._locate_creating(override)
        current = get_path(self.data, path) if exists else None
        expansion = _merge_expansion(override, current) if exists else None
        if expansion is not None:
            for item in expansion:
                self.apply(item)
            return
        origin = Origin(option=override.text, flag=override.flag)
        if override.op == DELETE:
            self.data = delete(self.data, path)
            self.prov.remove(path)
            return
        value = strip_delete(copy.deepcopy(override.value))
        self.data = assign(self.data, path, value)
        self.prov.place(path, Event(origin, 'override' if exists else 'add'))

    def _locate_creating(self, override: Override) -> Tuple[Path, bool]:
        """The full path of ``override``'s key; missing dicts on the way are created when the
        key may be added (its existence was checked)."""
        node, path = self.data, ()
        segments = override.key
        for i, segment in enumerate(segments):
            key, exists = locate(node, segment, path, override)
            last = i == len(segments) - 1
            if not exists:
                if override.op == DELETE:
                    self._unknown_key(override, path, segment, node)
                if override.op != ADD and not self._accepted(path + (segment,)):
                    self._unknown_key(override, path, segment, node)
                if last:
                    return path + (key,), False
                node[key] = {}
            path += (key,)
            node = node[key]
        return path, True

    def _exists(self, override: Override) -> bool:
        node, path = self.data, ()
        for segment in override.key:
            try:
                key, exists = locate(node, segment, path, override)
            except OverrideError:
                return False
            if not exists:
                return False
            path += (key,)
            node = node[key]
        return True

    def _typed_ancestor(self, path: Path) -> Optional[Tuple[Path, str]]:
        """The nearest dict at or above ``path`` (which exists) with a registered ``type``."""
        for depth in range(len(path), -1, -1):
            try:
                node = get_path(self.data, path[:depth])
            except (KeyError, IndexError, TypeError):
                continue
            if isinstance(node, dict) and isinstance(node.get('type'), str):
                return path[:depth], node['type']
        return None

    def _accepted(self, new_path: Path) -> bool:
        typed = self._typed_ancestor(new_path[:-1])
        if typed is not None:
            anchor, type_name = typed
            return bool(self.type_info.accepts(type_name, new_path[len(anchor):]))
        keys = section_keys(_dotted(new_path[:-1]))
        return keys is not None and new_path[-1] in keys

    def _unknown_key(self, override: Override, parent: Path, segment: str, node: Any):
        candidates = [str(k) for k in node] if isinstance(node, dict) else []
        typed = self._typed_ancestor(parent)
        if typed is not None:
            anchor, type_name = typed
            rel = parent[len(anchor):]
            candidates += [a[len(_dotted(rel)) + 1:] if rel else a
                           for a in self.type_info.arguments(type_name)
                           if not rel or a.startswith(_dotted(rel) + '.')]
        else:
            candidates += sorted(section_keys(_dotted(parent)) or ())
        candidates = list(dict.fromkeys(c for c in candidates if c != DELETE_KEY))
        close = difflib.get_close_matches(segment, candidates, n=3, cutoff=0.6)
        rest = override.key[len(parent) + 1:]
        full = _dotted(parent + (segment,) + rest)
        what = 'the key to delete' if override.op == DELETE else 'key'
        message = f'{override.flag} {override.text!r}: {what} {full} does not exist'
        if close:
            options = ', '.join(_dotted(parent + (c,) + rest) for c in close)
            message += f'; did you mean {options}?'
        if candidates:
            shown = ', '.join(candidates[:20]) + (', …' if len(candidates) > 20 else '')
            message += f'\n  {_dotted(parent) or "the top level"} has: {shown}'
        if override.op != DELETE:
            message += f'\n  to add a new key on purpose, write +{full}=…'
        raise OverrideError(message)
