"""Where each config value was set: file and line, or the command-line item.

Events are recorded where a value is placed: a file setting a key (or a whole subtree), a child
file overriding it, a ``--cfg-options`` item, a ``${…}`` interpolation. A key that was placed as
part of a subtree has no events of its own; :meth:`Provenance.history` falls back to the
nearest ancestor's, and the file's :class:`~posecfg.config.analysis.FileAnalysis` then refines
the line.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from .keypath import Path, is_prefix


@dataclass(frozen=True)
class Origin:
    """A place a value came from: a file (and line), or a command-line item."""
    file: Optional[str] = None
    line: Optional[int] = None
    option: Optional[str] = None  # the command-line item, e.g. 'model.backbone.depth=18'
    flag: Optional[str] = None  # the flag it was given with, e.g. '--cfg-options'

    def describe(self, root: str = None) -> str:
        if self.option is not None:
            return f'{self.flag} {self.option}' if self.flag else self.option
        where = display_path(self.file, root)
        return f'{where}:{self.line}' if self.line else where


@dataclass(frozen=True)
class Event:
    origin: Origin
    action: str  # 'set', 'override', 'add', 'delete', 'interpolate'
    note: str = ''


class Provenance:
    """Path → the events that placed the value there, oldest first."""

    def __init__(self, events: Dict[Path, List[Event]] = None):
        self.events: Dict[Path, List[Event]] = events or {}

    def copy(self) -> 'Provenance':
        return Provenance({k: list(v) for k, v in self.events.items()})

    def place(self, path: Path, event: Event, inherit: bool = True):
        """Record ``event`` at ``path``, which now holds a new value: what was recorded below it is
        gone with the old value. ``inherit=False`` for a key that did not exist before: an
        ancestor's history is not its history."""
        for key in [k for k in self.events if len(k) > len(path) and is_prefix(path, k)]:
            del self.events[key]
        if path not in self.events:
            # the old value was placed as part of an ancestor: its history starts there
            self.events[path] = list(self.history(path)[1]) if inherit else []
        self.events[path].append(event)

    def remove(self, path: Path, shift: bool = False):
        """Forget what was recorded at and below ``path``, which is gone. ``shift``: ``path`` was
        an item of a list, whose later items moved down by one (and their records with them)."""
        for key in [k for k in self.events if is_prefix(path, k)]:
            del self.events[key]
        if not shift:
            return
        parent, index = path[:-1], path[-1]
        moved = {k: v for k, v in self.events.items()
                 if len(k) > len(parent) and is_prefix(parent, k)
                 and isinstance(k[len(parent)], int) and k[len(parent)] > index}
        for key in moved:
            del self.events[key]
        for key, events in moved.items():
            self.events[parent + (key[len(parent)] - 1,) + key[len(parent) + 1:]] = events

    def update(self, other: 'Provenance'):
        for key, events in other.events.items():
            self.events.setdefault(key, []).extend(events)

    def history(self, path: Path) -> Tuple[Path, List[Event]]:
        """(the path the events were recorded at, its events) for ``path`` or its nearest
        ancestor."""
        for depth in range(len(path), 0, -1):
            events = self.events.get(path[:depth])
            if events:
                return path[:depth], events
        return (), []


def display_path(path: Optional[str], root: str = None) -> str:
    """``path`` relative to ``root`` (default: the working directory) when it is inside it."""
    if not path:
        return '<unknown>'
    root = root or os.getcwd()
    try:
        rel = os.path.relpath(path, root)
    except ValueError:  # other drive on Windows
        return path
    return path if rel.startswith('..') else rel
