"""Applying ``--cfg-options`` overrides to config data.

An override is first *resolved* on the merged config, in option order, by
:class:`OverrideApplier`: every key must exist, or be a constructor argument of the registered
``type`` of its dict (asked of a :class:`TypeInfo`), or a key of the schema (``schema.py``), or be
added explicitly with ``+``; anything else is an error naming the closest existing keys. A list
segment may be an index (``pipeline.1``, ``pipeline.-1``) or the ``type`` of exactly one of the
list's dicts (``pipeline.TopDownRandomFlip.flip_prob``), which survives reordering.

Resolving turns an override into :class:`Step` s: concrete paths (dict keys and list indices, with
negative indices and type selectors resolved against the list as it is at that moment; a dict
value merged into a dict becomes one step per key). From then on only steps are applied, so a
step means one place whatever happens around it: ``pipeline.TopDownAffine.type=X`` stays item 1
after the item's type changed.

Steps are applied in two places:

- while config files run (:func:`inject_step`, called by ``loader.py``), so that what a file
  computes from a key follows an override of it. A step whose path is dict keys only is applied
  in every file that has that path: a key names the same thing in every file. A step that indexes
  a list is applied only in the file that placed that list in the merged config (its *owner*): an
  index names an item of one list, and a base's list that a child replaced (reordered, say) holds
  other items at that index.
- on the merged config (:func:`replay`). A list step already applied in its owner is not applied
  again there (deleting item 1 twice would delete two items), unless an earlier step was applied
  at or above its path on the merged config and so undid it.
"""
from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, replace
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from .errors import OverrideError
from .keypath import (SEQUENCES, Path, assign, container_ids, delete, get_path, has_path,
                      is_index, items_of_type, overlaps, resolve_segment)
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


@dataclass(frozen=True)
class Step:
    """One override resolved to a concrete place in the merged config."""
    override: Override  # the item it came from (its text and flag name it in messages)
    op: str  # SET, ADD or DELETE
    path: Path  # dict keys and list indices
    value: Any
    existed: bool  # whether ``path`` held a value before this step
    indexed: Tuple[bool, ...]  # per segment of ``path``: does it index a list or tuple?
    owner: Optional[str] = None  # the file that placed the list at ``list_root`` (see Config)

    @property
    def list_root(self) -> Optional[Path]:
        """The outermost list or tuple the path indexes into; None when it is dict keys only."""
        return self.path[:self.indexed.index(True)] if True in self.indexed else None

    @property
    def origin(self) -> Origin:
        return Origin(option=self.override.text, flag=self.override.flag)

    def with_owner(self, prov: Provenance) -> 'Step':
        """This step with ``owner`` set from the provenance of the config it was resolved on."""
        if self.list_root is None:
            return self
        _, events = prov.history(self.list_root)
        return replace(self, owner=events[-1].origin.file if events else None)


def _dotted(path: Path) -> str:
    return '.'.join(map(str, path))


def _where(override: Override) -> str:
    return f'{override.flag} {override.text!r}'


def _merge_expansion(override: Override, current: Any) -> Optional[List[Override]]:
    """A dict value merged into an existing dict, as one override per key (None: not a merge)."""
    value = override.value
    if override.op == DELETE or not isinstance(value, dict) or not isinstance(current, dict) \
            or value.get(DELETE_KEY):
        return None
    return [Override(override.op, override.key + (str(k),), v, override.text, override.flag)
            for k, v in value.items()]


# -- applying steps -----------------------------------------------------------------------------
def _holds(node: Any, key: Any, indexed: bool) -> bool:
    if indexed:
        return isinstance(node, SEQUENCES) and isinstance(key, int) and 0 <= key < len(node)
    return isinstance(node, dict) and key in node


def inject_step(namespace: dict, step: Step, file: str) -> bool:
    """Apply ``step`` to the namespace of config file ``file`` while it runs, if the file has its
    path (and, for a list step, owns the list). Returns whether it was applied.

    A top-level name is never deleted here (later lines may read it); the merged config loses it.
    """
    if step.list_root is not None and step.owner != file:
        return False
    name, rest = step.path[0], step.path[1:]
    if name not in namespace:
        return False
    if not rest:
        if step.op == DELETE:
            return False
        namespace[name] = strip_delete(copy.deepcopy(step.value))
        return True
    root = node = namespace[name]
    for key, indexed in zip(rest[:-1], step.indexed[1:-1]):
        if not _holds(node, key, indexed):
            return False
        node = node[key]
    last, last_indexed = rest[-1], step.indexed[-1]
    present = _holds(node, last, last_indexed)
    shared = container_ids(list(namespace.values()))
    if step.op == DELETE:
        if not present:
            return False
        namespace[name] = delete(root, rest, shared)
        return True
    if not present and not (isinstance(node, dict) and not last_indexed):
        return False
    namespace[name] = assign(root, rest, strip_delete(copy.deepcopy(step.value)), shared)
    return True


def apply_step(data: dict, step: Step) -> dict:
    """Apply ``step`` to merged config data (changed in place; returned). Missing dicts on the way
    of an added key are created; deleting what is not there does nothing."""
    if step.op == DELETE:
        return delete(data, step.path) if has_path(data, step.path) else data
    node = data
    for key in step.path[:-1]:
        if isinstance(node, dict) and key not in node:
            node[key] = {}
        node = node[key]
    return assign(data, step.path, strip_delete(copy.deepcopy(step.value)))


def replay(data: dict, prov: Provenance, steps: Sequence[Step],
           injected: Dict[str, Sequence[Step]]) -> dict:
    """Apply ``steps`` to the merged config ``data`` (which files built with some of them
    injected) and record them in ``prov``; returns the data.

    A list step that its owner file applied is already in ``data``; it is applied again only when
    an earlier step on an overlapping path was applied here (that put back the value it changed,
    or itself needs this one on top). Dict-key steps are applied again: setting a key twice, or
    deleting one that is gone, changes nothing.
    """
    done = {id(s) for s in steps if s.list_root is not None
            and any(s is t for t in injected.get(s.owner, ()))}
    reapplied: List[Path] = []
    for step in steps:
        if id(step) not in done or any(overlaps(p, step.path) for p in reapplied):
            data = apply_step(data, step)
            reapplied.append(step.path)
        if step.op == DELETE:
            prov.remove(step.path, shift=step.indexed[-1])
        else:
            action = 'override' if step.existed else 'add'
            prov.place(step.path, Event(step.origin, action), inherit=step.existed)
    return data


# -- resolving overrides ------------------------------------------------------------------------
_ABSENT = object()  # the value of a key that does not exist yet


class OverrideApplier:
    """Resolves overrides on merged config data (changed in place, in option order, so that each
    override is resolved against the config the ones before it made), checking every key."""

    def __init__(self, data: dict, type_info: Optional[TypeInfo] = None):
        self.data = data
        self.type_info = type_info or TypeInfo()

    def resolve_all(self, overrides: Iterable[Override]) -> List[Step]:
        steps: List[Step] = []
        for override in overrides:
            steps += self.resolve(override)
        return steps

    def resolve(self, override: Override) -> List[Step]:
        path, indexed, exists = self._locate(override)
        current = get_path(self.data, path) if exists else None
        expansion = _merge_expansion(override, current) if exists else None
        if expansion is not None:
            return [step for item in expansion for step in self.resolve(item)]
        step = Step(override, override.op, path, override.value, exists, indexed)
        self.data = apply_step(self.data, step)
        return [step]

    def _locate(self, override: Override) -> Tuple[Path, Tuple[bool, ...], bool]:
        """The concrete path of ``override``'s key, which segments index a sequence, and whether
        the key exists. Keys that do not exist must be accepted (see the module docstring)."""
        node, path, indexed = self.data, (), ()
        segments = override.key
        for i, segment in enumerate(segments):
            key, exists = self._key_in(node, segment, path, override)
            indexed += (isinstance(node, SEQUENCES),)
            if not exists:
                self._check_new_key(override, path, segment, node)
                if override.op == DELETE:
                    self._unknown_key(override, path, segment, node)
                if override.op != ADD and not self._accepted(path + (segment,)):
                    self._unknown_key(override, path, segment, node)
                if i == len(segments) - 1:
                    return path + (key,), indexed, False
                node = _ABSENT
            else:
                node = node[key]
            path += (key,)
        return path, indexed, True

    def _key_in(self, node: Any, segment: str, path: Path, override: Override) -> Tuple[Any, bool]:
        """The key ``segment`` denotes in ``node`` and whether it exists there. Raises where no
        key can be meant (indexing a scalar, a word on a list, an index past the end)."""
        if node is _ABSENT:
            return segment, False
        key = resolve_segment(node, segment)
        if key is not None:
            return key, True
        if isinstance(node, dict):
            return segment, False
        if isinstance(node, SEQUENCES):
            kind = type(node).__name__
            if is_index(segment):
                raise OverrideError(
                    f'{_where(override)}: {_dotted(path)} is a {kind} of {len(node)} items; '
                    f'index {int(segment)} is out of range')
            matches = items_of_type(node, segment)
            if len(matches) == 1:
                return matches[0], True
            items = ', '.join(f'{i}: {item.get("type")}' if isinstance(item, dict) and 'type' in item
                              else str(i) for i, item in enumerate(node))
            why = 'more than one item has' if matches else 'no item has'
            raise OverrideError(
                f'{_where(override)}: {_dotted(path)} is a {kind}; index it with a number or the '
                f'type of one of its items ({why} type {segment!r}); its items: {items}')
        raise OverrideError(
            f'{_where(override)}: {_dotted(path)} is {type(node).__name__} {node!r}, not a dict '
            f'or list, so it has no key {segment!r}')

    def _check_new_key(self, override: Override, parent: Path, segment: str, node: Any):
        """A number names a list index or an existing key; it never creates a key (a dict
        ``{'0': …}`` is never what was meant)."""
        if not is_index(segment):
            return
        full = _dotted(override.key)
        if node is _ABSENT:
            what = f'{_dotted(parent)} is not in the config'
            typed = self._typed_ancestor(parent[:-1])
            if typed is not None and self.type_info.accepts(
                    typed[1], parent[len(typed[0]):]):
                what += f' (it is an argument {typed[1]} accepts, left at its default)'
            raise OverrideError(
                f'{_where(override)}: {what}, so there is no list to index with {segment}; '
                f'set the whole value instead: {_dotted(parent)}=[…]')
        keys = ', '.join(map(str, node)) or 'no keys'
        raise OverrideError(
            f'{_where(override)}: {_dotted(parent) or "the top level"} is a dict without key '
            f'{segment} (it has: {keys}); a number in {full} names a list index or an existing '
            f'key, never a new one')

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
        existing = [str(k) for k in node if k != DELETE_KEY] if isinstance(node, dict) else []
        typed = self._typed_ancestor(parent)
        if typed is not None:
            anchor, type_name = typed
            rel = parent[len(anchor):]
            accepted = [a[len(_dotted(rel)) + 1:] if rel else a
                        for a in self.type_info.arguments(type_name)
                        if not rel or a.startswith(_dotted(rel) + '.')]
            accepted_by = f'{type_name} also accepts'
        else:
            accepted = sorted(section_keys(_dotted(parent)) or ())
            accepted_by = 'the schema also allows'
        accepted = [a for a in dict.fromkeys(accepted) if a not in existing]
        rest = override.key[len(parent) + 1:]
        full = _dotted(parent + (segment,) + rest)
        if override.op == DELETE and segment in accepted and not rest:
            raise OverrideError(
                f'{_where(override)}: {full} is not set in the config, so there is nothing to '
                f'delete ({typed[1] if typed else "the schema"} accepts it; unset, it keeps its '
                'default)')
        close = [c for c in difflib.get_close_matches(segment, existing + accepted, n=4,
                                                      cutoff=0.6) if c != segment][:3]
        what = 'the key to delete' if override.op == DELETE else 'key'
        message = f'{_where(override)}: {what} {full} does not exist'
        if close:
            options = ', '.join(_dotted(parent + (c,) + rest) for c in close)
            message += f'; did you mean {options}?'
        where = _dotted(parent) or 'the top level'
        if existing:
            message += f'\n  {where} has: {_shorten(existing)}'
        if accepted:
            message += f'\n  {accepted_by}: {_shorten(accepted)}'
        if override.op != DELETE and not any(is_index(s) for s in (segment,) + rest):
            message += f'\n  to add a new key on purpose, write +{full}=…'
        raise OverrideError(message)


def _shorten(names: List[str], shown: int = 20) -> str:
    return ', '.join(names[:shown]) + (', …' if len(names) > shown else '')
