"""Key paths into nested config data.

A path is a tuple of dict keys and list/tuple indices, e.g. ``('data', 'train', 'pipeline', 1,
'flip_prob')``; it prints as ``data.train.pipeline.1.flip_prob``.
"""
from __future__ import annotations

import copy
from typing import Any, Iterator, List, Optional, Tuple

Path = Tuple[Any, ...]
SEQUENCES = (list, tuple)


def format_path(path: Path) -> str:
    return '.'.join(str(p) for p in path) if path else '<root>'


def is_index(segment: str) -> bool:
    """Whether a dotted-key segment reads as a list index (``0``, ``12``, ``-1``)."""
    body = segment[1:] if segment.startswith('-') else segment
    return body.isdigit()


def resolve_segment(node: Any, segment: str) -> Optional[Any]:
    """The key a dotted-key segment denotes in ``node``: a dict key (an int key when the dict has
    that int), or a list/tuple index (negative ones counted from the end); None if there is
    none."""
    if isinstance(node, dict):
        if segment in node:
            return segment
        if is_index(segment) and int(segment) in node:
            return int(segment)
        return None
    if isinstance(node, SEQUENCES) and is_index(segment) and -len(node) <= int(segment) < len(node):
        return int(segment) % len(node)
    return None


def items_of_type(node: Any, type_name: str) -> List[int]:
    """Indices of the dicts in a list/tuple whose ``type`` is ``type_name``."""
    if not isinstance(node, SEQUENCES):
        return []
    return [i for i, item in enumerate(node)
            if isinstance(item, dict) and item.get('type') == type_name]


def resolve_key(node: Any, segment: str) -> Optional[Any]:
    """:func:`resolve_segment`, and on a list/tuple also the ``type`` of exactly one of its dicts
    (``pipeline.TopDownRandomFlip``); None if the segment denotes nothing (or several items)."""
    key = resolve_segment(node, segment)
    if key is None and not is_index(segment):
        matches = items_of_type(node, segment)
        if len(matches) == 1:
            return matches[0]
    return key


def get_path(data: Any, path: Path) -> Any:
    for key in path:
        data = data[key]
    return data


def has_path(data: Any, path: Path) -> bool:
    try:
        get_path(data, path)
    except (KeyError, IndexError, TypeError):
        return False
    return True


def is_prefix(prefix: Path, path: Path) -> bool:
    return len(prefix) <= len(path) and path[:len(prefix)] == prefix


def overlaps(a: Path, b: Path) -> bool:
    """Whether one path contains the other (changing either may change the other's value)."""
    return is_prefix(a, b) or is_prefix(b, a)


def iter_paths(data: Any, prefix: Path = ()) -> Iterator[Tuple[Path, Any]]:
    """Every (path, value) pair below ``data``, containers before their contents."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield prefix + (key,), value
            yield from iter_paths(value, prefix + (key,))
    elif isinstance(data, SEQUENCES):
        for index, value in enumerate(data):
            yield prefix + (index,), value
            yield from iter_paths(value, prefix + (index,))


def plain(data: Any) -> Any:
    """A deep copy with every dict subclass turned into ``dict`` and list subclass into ``list``.

    Leaves (and any other objects) are deep-copied too, so the result shares nothing with
    ``data``.
    """
    if isinstance(data, dict):
        return {key: plain(value) for key, value in data.items()}
    if isinstance(data, list):
        return [plain(value) for value in data]
    if isinstance(data, tuple):
        return tuple(plain(value) for value in data)
    return copy.deepcopy(data)


def container_ids(data: Any, counts: dict = None) -> dict:
    """How many times each container (by ``id``) is referenced within ``data``."""
    counts = {} if counts is None else counts
    if isinstance(data, (dict, list, tuple)):
        seen = id(data) in counts
        counts[id(data)] = counts.get(id(data), 0) + 1
        if not seen:
            values = data.values() if isinstance(data, dict) else data
            for value in values:
                container_ids(value, counts)
    return counts


def assign(container: Any, path: Path, value: Any, shared: dict = None) -> Any:
    """Set ``container[path] = value`` and return the (possibly new) container.

    ``container`` itself is changed in place: everything that refers to it sees the change, which
    is how a value derived from it by reference follows an override. Containers *below* it that
    are also referenced from elsewhere (``shared``: id → reference count, from
    :func:`container_ids`) are copied before they are changed, so an override through one path
    never changes a sibling that merely shares storage. Tuples are rebuilt.
    """
    shared = shared or {}
    return _assign(container, path, value, shared, root=True)


def _assign(container, path, value, shared, root, below_shared=False):
    # a container reached through a shared one is shared too, whatever its own count says
    copy_it = not root and (below_shared or shared.get(id(container), 0) > 1)
    key = path[0]
    child = value if len(path) == 1 else _assign(container[key], path[1:], value, shared, False,
                                                  copy_it)
    if isinstance(container, tuple):
        items = list(container)
        items[key] = child
        return tuple(items)
    if copy_it:
        container = copy.copy(container)
    container[key] = child
    return container


def delete(container: Any, path: Path, shared: dict = None) -> Any:
    """Remove ``container[path]`` (a dict key or a list element) with :func:`assign`'s rules;
    returns the (possibly new) container."""
    shared = shared or {}
    parent_path, key = path[:-1], path[-1]
    parent = get_path(container, parent_path)
    if isinstance(parent, tuple):
        new_parent = parent[:key] + parent[key + 1:]
    else:
        new_parent = copy.copy(parent) if parent_path and _reached_through_shared(
            container, parent_path, shared) else parent
        del new_parent[key]
    if not parent_path:
        return new_parent
    return _assign(container, parent_path, new_parent, shared, root=True)


def _reached_through_shared(container: Any, path: Path, shared: dict) -> bool:
    node = container
    for key in path:
        node = node[key]
        if shared.get(id(node), 0) > 1:
            return True
    return False
