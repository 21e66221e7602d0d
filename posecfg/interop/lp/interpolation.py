"""OmegaConf-style ``${…}`` interpolation, as Lightning Pose's configs use it.

Supported (what Lightning Pose's configs and docs use, OmegaConf's semantics):

- ``${data.video_dir}``: another key's value; ``${.sibling}`` / ``${..key}`` relative to the
  value's own mapping; list items by index (``${data.keypoint_names.0}`` or ``[0]``);
- a string that is one interpolation takes the referenced value's type; one with text around
  interpolations (``${data.data_dir}/videos``) is a string;
- ``${LP_ROOT_PATH:}``: Lightning Pose's resolver giving its repository folder
  (``lightning_pose/__init__.py``: ``OmegaConf.register_new_resolver("LP_ROOT_PATH", …)``).
  posecfg has no such folder; it takes the ``LP_ROOT_PATH`` environment variable, and without it
  the error says to set it or to override the key that uses it;
- ``${oc.env:VAR}`` and ``${oc.env:VAR,default}``: an environment variable (``null`` default
  gives None);
- ``${now:%Y-%m-%d}``: Hydra's ``now`` resolver, the local time formatted by strftime;
- ``\\${`` is a literal ``${``.

Anything else (another resolver, a key that does not exist, a cycle) is an error naming the
key, its file line and the reference.
"""
from __future__ import annotations

import datetime
import os
import re
from typing import Any, Callable, Dict, List, Optional, Tuple

Path = Tuple[Any, ...]

_REF = re.compile(r'(?<!\\)\$\{')
_RESOLVER_NAME = re.compile(r'^([A-Za-z_][\w.]*):(.*)$', re.S)
_INDEX = re.compile(r'\[(-?\d+)\]')


class LPInterpolationError(ValueError):
    """A ``${…}`` that cannot be resolved."""


def has_interpolation(value: Any) -> bool:
    return isinstance(value, str) and _REF.search(value) is not None


class Resolver:
    """Resolves every ``${…}`` of a config tree (plain dicts and lists).

    Args:
        data: the tree (not modified).
        where: ``path -> 'file:line'`` (or the override) for error messages.
        environ: environment variables (default ``os.environ``).
        now: the time ``${now:…}`` formats (default: when first needed).
    """

    def __init__(self, data: dict, where: Callable[[Path], str] = None,
                 environ: Dict[str, str] = None, now: datetime.datetime = None):
        self.data = data
        self.where = where or (lambda path: '.'.join(map(str, path)))
        self.environ = os.environ if environ is None else environ
        self.now = now
        self.done: Dict[Path, Any] = {}
        self.active: List[Path] = []
        #: path -> the references its value was computed from
        self.references: Dict[Path, List[str]] = {}

    def resolve_tree(self, skip: Tuple[str, ...] = ()) -> dict:
        """A resolved copy of the whole tree; top-level keys in ``skip`` are copied unresolved
        (OmegaConf resolves lazily: Hydra's ``hydra`` section is never resolved by Lightning
        Pose)."""
        return {key: (value if key in skip else self.value_at((key,)))
                for key, value in self.data.items()}

    def value_at(self, path: Path) -> Any:
        if path in self.done:
            return self.done[path]
        if path in self.active:
            cycle = self.active[self.active.index(path):] + [path]
            raise LPInterpolationError('cyclic ${…} references: ' +
                                       ' -> '.join('.'.join(map(str, p)) for p in cycle))
        self.active.append(path)
        try:
            raw = self._raw(path)
            if isinstance(raw, dict):
                value = {k: self.value_at(path + (k,)) for k in raw}
            elif isinstance(raw, list):
                value = [self.value_at(path + (i,)) for i in range(len(raw))]
            elif isinstance(raw, str) and '${' in raw:
                value = self._string(raw, path)
            else:
                value = raw
        finally:
            self.active.pop()
        self.done[path] = value
        return value

    # ----------------------------------------------------------------------------- strings

    def _string(self, text: str, path: Path) -> Any:
        pieces = self._split(text, path)
        if len(pieces) == 1 and not isinstance(pieces[0], str):
            return self._evaluate(pieces[0][1], path)
        out = []
        for piece in pieces:
            if isinstance(piece, str):
                out.append(piece)
            else:
                out.append(str(self._evaluate(piece[1], path)))
        return ''.join(out)

    def _split(self, text: str, path: Path) -> List[Any]:
        """Literal strings and ``('ref', body)`` items, with nested braces matched."""
        pieces: List[Any] = []
        literal, i = [], 0
        while i < len(text):
            if text.startswith('\\${', i):
                literal.append('${')
                i += 3
            elif text.startswith('${', i):
                depth, j = 1, i + 2
                while j < len(text) and depth:
                    if text.startswith('${', j):
                        depth, j = depth + 1, j + 2
                        continue
                    if text[j] == '}':
                        depth -= 1
                    j += 1
                if depth:
                    raise LPInterpolationError(f'{self.where(path)}: unclosed ${{ in {text!r}')
                if literal:
                    pieces.append(''.join(literal))
                    literal = []
                pieces.append(('ref', text[i + 2:j - 1]))
                i = j
            else:
                literal.append(text[i])
                i += 1
        if literal:
            pieces.append(''.join(literal))
        return pieces

    def _evaluate(self, body: str, path: Path) -> Any:
        body = body.strip()
        match = _RESOLVER_NAME.match(body)
        if match:
            return self._call(match.group(1), match.group(2), body, path)
        target = self._target(body, path)
        self.references.setdefault(path, []).append(body)
        return self.value_at(target)

    def _target(self, body: str, path: Path) -> Path:
        text = _INDEX.sub(r'.\1', body)
        if text.startswith('.'):
            dots = len(text) - len(text.lstrip('.'))
            base = path[:len(path) - dots]  # '.x' is a sibling: drop the value's own key
            if dots > len(path):
                raise LPInterpolationError(f'{self.where(path)}: ${{{body}}} goes above the root')
            segments = text[dots:].split('.') if text[dots:] else []
        else:
            base, segments = (), text.split('.')
        node, target = self.data, list(base)
        for segment in list(base):
            node = node[segment]
        for segment in segments:
            key = _find(node, segment)
            if key is None:
                raise LPInterpolationError(
                    f'{self.where(path)}: ${{{body}}} refers to '
                    f'{".".join(map(str, target + [segment]))}, which does not exist')
            target.append(key)
            node = node[key]
        return tuple(target)

    def _call(self, name: str, args_text: str, body: str, path: Path) -> Any:
        args = [self._string(a, path) if '${' in a else a
                for a in _split_args(args_text)] if args_text.strip() else []
        if name == 'LP_ROOT_PATH':
            root = self.environ.get('LP_ROOT_PATH')
            if not root:
                raise LPInterpolationError(
                    f'{self.where(path)}: ${{{body}}} is the folder of a Lightning Pose checkout; '
                    'set the LP_ROOT_PATH environment variable to it, or override '
                    f'{".".join(map(str, path))} (e.g. --cfg-options '
                    f'{".".join(map(str, path))}=/path/to/project)')
            return root
        if name == 'oc.env':
            if not args:
                raise LPInterpolationError(f'{self.where(path)}: ${{{body}}} names no variable')
            if args[0] in self.environ:
                return self.environ[args[0]]
            if len(args) > 1:   # OmegaConf turns a default into its string, null into None
                return None if args[1] in ('null', None) else str(args[1])
            raise LPInterpolationError(
                f'{self.where(path)}: ${{{body}}}: environment variable {args[0]} is not set and '
                'no default is given (${oc.env:VAR,default})')
        if name == 'now':
            self.now = self.now or datetime.datetime.now()
            return self.now.strftime(args[0] if args else '%Y-%m-%d')
        raise LPInterpolationError(
            f'{self.where(path)}: ${{{body}}} uses the resolver {name!r}; Lightning Pose configs '
            'can use LP_ROOT_PATH, oc.env and now here')

    def _raw(self, path: Path) -> Any:
        node = self.data
        for key in path:
            node = node[key]
        return node


def _find(node: Any, segment: str) -> Optional[Any]:
    if isinstance(node, dict):
        if segment in node:
            return segment
        return None
    if isinstance(node, list) and re.fullmatch(r'-?\d+', segment):
        index = int(segment)
        if -len(node) <= index < len(node):
            return index % len(node)
    return None


def _split_args(text: str) -> List[str]:
    """Resolver arguments: top-level commas split, nested ``${…}`` kept whole."""
    args, depth, current = [], 0, []
    for i, ch in enumerate(text):
        if text.startswith('${', i):
            depth += 1
        elif ch == '}' and depth:
            depth -= 1
        if ch == ',' and not depth:
            args.append(''.join(current).strip())
            current = []
        else:
            current.append(ch)
    args.append(''.join(current).strip())
    return args
