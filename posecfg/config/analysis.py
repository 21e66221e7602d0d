"""Static analysis of a Python config file: which line sets each key, and what it was computed from.

Reading the syntax tree (without running it) tells, for every key path the file spells out,
- the line that sets it (``lines``),
- the key it is a plain reference to, if any (``refs``: ``data_cfg=data_cfg`` makes
  ``data.train.data_cfg`` refer to ``data_cfg``; ``_base_.model`` refers to the base's ``model``),
- every key its value was computed from (``deps``: ``f'{data_root}/x.json'`` depends on
  ``data_root``),
- for every top-level name, the last top-level statement that binds or changes it
  (``last_touch``): ``--cfg-options`` are applied right after it, so later lines that read the
  name see the override.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Optional, Set

from .keypath import Path, is_prefix
from .source import BASE_KEY

#: methods that change the container they are called on
MUTATING_METHODS = frozenset({
    'update', 'append', 'extend', 'insert', 'pop', 'popitem', 'remove', 'clear', 'setdefault',
    'sort', 'reverse', '__setitem__', '__delitem__'})


@dataclass
class FileAnalysis:
    lines: Dict[Path, int] = field(default_factory=dict)
    refs: Dict[Path, Path] = field(default_factory=dict)
    star_refs: Dict[Path, List[Path]] = field(default_factory=dict)
    deps: Dict[Path, FrozenSet[Path]] = field(default_factory=dict)
    last_touch: Dict[str, int] = field(default_factory=dict)

    def origin(self, path: Path):
        """Where ``path``'s value comes from in this file.

        Returns ``(line, ref)``: the line of the deepest spelled-out key above or at ``path`` and,
        when that key is a plain reference, the referenced path extended by the rest of ``path``
        (the value was copied from there). ``(None, None)`` when the file does not set ``path``.
        """
        for depth in range(len(path), 0, -1):
            prefix, rest = path[:depth], path[depth:]
            if prefix in self.refs:
                return self.lines.get(prefix), self.refs[prefix] + rest
            if prefix in self.lines:
                if rest and prefix in self.star_refs:
                    return self.lines[prefix], self.star_refs[prefix][-1] + rest
                return self.lines[prefix], None
        return None, None


def analyze(module: ast.Module) -> FileAnalysis:
    known = _top_level_names(module)
    result = FileAnalysis()
    walker = _Walker(result, known | {BASE_KEY})
    for index, stmt in enumerate(module.body):
        for name in _touched_names(stmt):
            result.last_touch[name] = index
        walker.statement(stmt)
    return result


def reference_chain(node: ast.AST) -> Optional[Path]:
    """``a.b['c'][0]`` → ``('a', 'b', 'c', 0)``; None for anything but names, attributes and
    constant subscripts."""
    parts = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
                and isinstance(node.slice.value, (str, int)):
            parts.append(node.slice.value)
            node = node.value
        elif isinstance(node, ast.Name):
            return (node.id, *reversed(parts))
        else:
            return None


class _Walker:

    def __init__(self, result: FileAnalysis, known: Set[str]):
        self.r = result
        self.known = known

    def statement(self, stmt: ast.stmt):
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                self.target(target, stmt.value, stmt.lineno)
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            self.target(stmt.target, stmt.value, stmt.lineno)
        elif isinstance(stmt, ast.AugAssign):
            path = reference_chain(stmt.target)
            if path is not None:
                self.r.lines[path] = stmt.lineno
                self.r.refs.pop(path, None)
                self.r.deps[path] = frozenset(self.collect(stmt.value) | {path})
        elif isinstance(stmt, (ast.If, ast.For, ast.While, ast.With, ast.Try)):
            for name in _touched_names(stmt):
                self.r.lines.setdefault((name,), stmt.lineno)
            for block in _blocks(stmt):
                for child in block:
                    self.statement(child)
        else:
            # statements we do not follow key by key (calls like x.update(...), del, imports)
            for name in _touched_names(stmt):
                self.r.lines.setdefault((name,), stmt.lineno)

    def target(self, target: ast.AST, value: ast.AST, line: int):
        path = reference_chain(target)
        if path is not None:
            self.forget(path)
            self.value(value, path, line)
        elif isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)) \
                and len(target.elts) == len(value.elts):
            for t, v in zip(target.elts, value.elts):
                self.target(t, v, line)
        else:
            for node in ast.walk(target):
                if isinstance(node, ast.Name):
                    self.forget((node.id,))
                    self.r.lines[(node.id,)] = line

    def forget(self, path: Path):
        for table in (self.r.lines, self.r.refs, self.r.star_refs, self.r.deps):
            for key in [k for k in table if is_prefix(path, k)]:
                del table[key]

    def value(self, node: ast.AST, path: Path, line: int):
        self.r.lines[path] = line
        if _is_dict_call(node):
            for kw in node.keywords:
                if kw.arg is None:
                    self.star(path, kw.value)
                else:
                    self.value(kw.value, path + (kw.arg,), kw.lineno)
        elif isinstance(node, ast.Dict):
            for key, val in zip(node.keys, node.values):
                if key is None:
                    self.star(path, val)
                elif isinstance(key, ast.Constant) and isinstance(key.value, (str, int)):
                    self.value(val, path + (key.value,), key.lineno)
                else:
                    self.add_deps(path, self.collect(key) | self.collect(val))
        elif isinstance(node, (ast.List, ast.Tuple)) and not any(
                isinstance(e, ast.Starred) for e in node.elts):
            for index, elt in enumerate(node.elts):
                self.value(elt, path + (index,), elt.lineno)
        else:
            chain = reference_chain(node)
            if chain is not None and chain[0] in self.known:
                self.r.refs[path] = chain
                self.r.deps[path] = frozenset({chain})
            else:
                self.add_deps(path, self.collect(node))

    def star(self, path: Path, node: ast.AST):
        chain = reference_chain(node)
        if chain is not None and chain[0] in self.known:
            self.r.star_refs.setdefault(path, []).append(chain)
        self.add_deps(path, self.collect(node))

    def add_deps(self, path: Path, deps: Set[Path]):
        if deps:
            self.r.deps[path] = frozenset(self.r.deps.get(path, frozenset()) | deps)

    def collect(self, node: ast.AST) -> Set[Path]:
        """Every config key (reference chain rooted at a top-level name) read inside ``node``."""
        found = set()
        chain = reference_chain(node)
        if chain is not None:
            if chain[0] in self.known:
                found.add(chain)
            return found
        for child in ast.iter_child_nodes(node):
            found |= self.collect(child)
        return found


def _blocks(stmt: ast.stmt):
    """The statement lists nested in a compound statement."""
    for name in ('body', 'orelse', 'finalbody'):
        yield getattr(stmt, name, None) or []
    for handler in getattr(stmt, 'handlers', None) or []:
        yield handler.body


def _is_dict_call(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == 'dict' and not node.args)


def _root_name(node: ast.AST) -> Optional[str]:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _touched_names(stmt: ast.stmt) -> Set[str]:
    """Top-level names a statement binds or changes (assignment targets, ``del``, ``x.update()``…)."""
    names = set()
    for node in ast.walk(stmt):
        if isinstance(node, (ast.Name, ast.Attribute, ast.Subscript)) and \
                isinstance(getattr(node, 'ctx', None), (ast.Store, ast.Del)):
            root = _root_name(node)
            if root:
                names.add(root)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in MUTATING_METHODS:
            root = _root_name(node.func.value)
            if root:
                names.add(root)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                and node is stmt:
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split('.')[0] for a in node.names)
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        # names assigned inside a function body are its locals, not config keys
        names = {stmt.name}
    return names


def _top_level_names(module: ast.Module) -> Set[str]:
    names = set()
    for stmt in module.body:
        names |= _touched_names(stmt)
    return names
