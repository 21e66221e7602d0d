"""Loading a config file and its ``_base_`` chain, in memory.

Each file is run as Python, statement by statement, in a namespace holding ``_base_`` (its bases'
merged values, with attribute access) — the same semantics as mmengine's ``Config.fromfile``,
without temporary files. Its top-level names (minus modules, functions and ``__dunder__`` names)
are its values, merged over its bases' by :class:`~posecfg.config.merge.Merger`.

``--cfg-options`` overrides, resolved to steps (``overrides.py``), may be *injected*: each is
applied in the files that define its key (for a step into a list: the one file that placed the
list), right after the last statement there that binds or changes its top-level key. Later lines
of that file, and files built on it, then read the overridden value, so what a config computes
from a key (``f'{data_root}/train.json'``, ``out_channels=channel_cfg['num_output_channels']``,
``data_cfg=data_cfg``, ``_base_.codec``) follows an override of the key. A statement that fails
only because of an injected override names the override.
"""
from __future__ import annotations

import ast
import copy
import os
import types
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from .analysis import FileAnalysis, analyze
from .errors import ConfigFileError, ConfigMergeError
from .keypath import Path, format_path, get_path, has_path, overlaps, plain
from .merge import Merger, same_value
from .overrides import Step, inject_step
from .provenance import Origin, Provenance, display_path
from .source import (BASE_KEY, BASE_PLACEHOLDER_PREFIX, DEPRECATION_KEY, ConfigSource,
                     check_base_refs_outside_strings, read_source)


@dataclass(frozen=True)
class Derivation:
    """A value a file computed from another key when it was read (a copy, not a live link)."""
    target: Path
    source: Path
    origin: Origin  # where the target was set

    def stale_message(self, changed_at: str, value) -> str:
        src = format_path(self.source)
        return (f'{format_path(self.target)} ({self.origin.describe()}) was computed from {src} '
                f'when {display_path(self.origin.file)} was read; {changed_at} changes {src} '
                f'afterwards, so {format_path(self.target)} keeps {value!r}. Set it there too, '
                f"or write '${{{src}}}' where it is defined so that it follows.")


@dataclass
class Layer:
    """A file merged over its bases."""
    data: dict
    prov: Provenance
    derivations: List[Derivation] = field(default_factory=list)


@dataclass
class LoadResult:
    data: dict
    prov: Provenance
    derivations: List[Derivation]
    analyses: Dict[str, Optional[FileAnalysis]]
    includes: Dict[str, List[Tuple[str, Optional[int]]]]  # file → its bases (path, _base_ line)
    warnings: List[str]
    env_variables: Dict[str, str]
    injected: Dict[str, List[Step]]  # file → the override steps applied while it ran


class _AttrDict(dict):
    """``_base_`` inside a config: a dict whose keys read as attributes (``_base_.model.backbone``)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(
                f'_base_ has no key {name!r} here; it has: {", ".join(map(str, self))}') from None


def _attr_view(value):
    if isinstance(value, dict):
        return _AttrDict({k: _attr_view(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_attr_view(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_attr_view(v) for v in value)
    return value


def _is_config_value(name: str, value) -> bool:
    return not name.startswith('__') and name != BASE_KEY and not isinstance(
        value, (types.FunctionType, types.ModuleType))


class Loader:

    def __init__(self, steps: Sequence[Step] = ()):
        self.steps = list(steps)
        self.analyses: Dict[str, Optional[FileAnalysis]] = {}
        self.includes: Dict[str, List[Tuple[str, Optional[int]]]] = {}
        self.warnings: List[str] = []
        self.env_variables: Dict[str, str] = {}
        self.injected: Dict[str, List[Step]] = {}  # file → steps applied while it ran

    def load(self, path: str) -> LoadResult:
        layer = self._load(os.path.abspath(os.path.expanduser(path)), ())
        data = {k: v for k, v in layer.data.items() if not str(k).startswith('__')}
        return LoadResult(data, layer.prov, layer.derivations, self.analyses, self.includes,
                          self.warnings, self.env_variables, self.injected)

    # -- one file -------------------------------------------------------------------------------
    def _load(self, path: str, stack: Tuple[Tuple[str, Optional[int]], ...]) -> Layer:
        if path in [p for p, _ in stack]:
            chain = [f'{display_path(p)}:{line}' for p, line in stack] + [display_path(path)]
            raise ConfigFileError('cyclic _base_: ' + ' → '.join(chain))
        src = read_source(path)
        self.env_variables.update(src.env_variables)
        bases = []
        for raw in src.base_files:
            if '::' in raw:
                raise ConfigFileError(
                    f'{display_path(path)}:{src.base_line}: package-scoped bases ({raw!r}) are not '
                    'supported; give the path of the file relative to this one')
            base_path = os.path.normpath(os.path.join(os.path.dirname(path), raw))
            if not os.path.isfile(base_path):
                raise ConfigFileError(
                    f'{display_path(path)}:{src.base_line}: base config {raw!r} not found '
                    f'(looked for {display_path(base_path)})')
            bases.append((base_path, self._load(base_path, stack + ((path, src.base_line),))))
        self.includes[path] = [(p, src.base_line) for p, _ in bases]
        base = self._combine_bases(path, src.base_line, bases)
        if src.module is not None:
            analysis = analyze(src.module)
            own = self._run(src, analysis, base.data)
        else:
            analysis, own = None, plain(src.data)
        self.analyses[path] = analysis
        own = self._substitute_base_refs(own, src, base.data, analysis)
        self._check_deprecation(own, path)
        return self._merge(own, base, path, analysis)

    def _run(self, src: ConfigSource, analysis: FileAnalysis, base: dict) -> dict:
        namespace = {BASE_KEY: _attr_view(copy.deepcopy(base))}
        pending = self._steps_by_statement(analysis)
        blocked: List[Path] = []  # list steps this file owns but could not apply
        for index, stmt in enumerate(src.module.body):
            code = compile(ast.Module(body=[stmt], type_ignores=[]), src.path, 'exec')
            try:
                exec(code, namespace)
            except Exception as e:
                raise ConfigFileError(
                    f'{display_path(src.path)}:{_failing_line(e, src.path, stmt)}: '
                    f'{type(e).__name__}: {e}{self._caused_by(stmt)}') from e
            for step in pending.get(index, ()):
                self._inject(namespace, step, src.path, blocked)
        own = {k: v for k, v in namespace.items() if _is_config_value(k, v)}
        return plain(own)

    def _inject(self, namespace: dict, step: Step, path: str, blocked: List[Path]):
        """Apply ``step`` in the running file ``path``. A list step after one this file owns but
        could not apply, on an overlapping path, is left out too: the merged config then gets
        both, in order, rather than the second on top of a state the first never made."""
        owned = step.list_root is not None and step.owner == path
        if owned and any(overlaps(p, step.path) for p in blocked):
            blocked.append(step.path)
            return
        if inject_step(namespace, step, path):
            self.injected.setdefault(path, []).append(step)
        elif owned:
            blocked.append(step.path)

    def _steps_by_statement(self, analysis: FileAnalysis) -> Dict[int, List[Step]]:
        pending: Dict[int, List[Step]] = {}
        for step in self.steps:
            index = analysis.last_touch.get(step.path[0])
            if index is not None:
                pending.setdefault(index, []).append(step)
        return pending

    def _caused_by(self, stmt: ast.stmt) -> str:
        """For a statement that failed after overrides were injected (in this file or a base):
        which of them it reads. The file loaded without them (``Config`` loads it so first)."""
        applied = [s for steps in self.injected.values() for s in steps]
        if not applied:
            return ''
        read = _names_read(stmt)
        culprits = [s for s in applied if s.path[0] in read]
        items = ', '.join(dict.fromkeys(f'{s.override.flag} {s.override.text!r}'
                                        for s in culprits or applied))
        if not culprits:
            return f'\n  after {items} (without them the file loads); check the values they give'
        keys = ', '.join(dict.fromkeys(str(s.path[0]) for s in culprits))
        return (f'\n  caused by {items}: this line reads {keys}, changed by the override '
                '(without it the file loads); check the value the override gives')

    def _substitute_base_refs(self, own: dict, src: ConfigSource, base: dict,
                              analysis: Optional[FileAnalysis]) -> dict:
        """Replace ``{{_base_.x}}`` placeholders by (copies of) the bases' values, recording each
        copy in the file's analysis as a reference to ``_base_.x``."""
        if not src.base_refs:
            return own

        def substitute(value, path):
            if isinstance(value, str) and BASE_PLACEHOLDER_PREFIX in value:
                line = analysis.origin(path)[0] if analysis is not None else None
                where = f'{display_path(src.path)}:{line}'
                if value not in src.base_refs:
                    check_base_refs_outside_strings(src.text, src.base_refs, src.path)
                    raise ConfigFileError(
                        f'{where}: {{{{_base_.x}}}} stands for a whole value; inside an '
                        'expression write _base_.x instead')
                key = src.base_refs[value]
                segments = tuple(key.split('.'))
                if not has_path(base, segments):
                    raise ConfigFileError(
                        f'{where}: {{{{_base_.{key}}}}} names a key its bases do not have')
                if analysis is not None:
                    analysis.refs[path] = (BASE_KEY,) + segments
                    analysis.deps[path] = frozenset({(BASE_KEY,) + segments})
                return copy.deepcopy(get_path(base, segments))
            if isinstance(value, dict):
                return {k: substitute(v, path + (k,)) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(substitute(v, path + (i,)) for i, v in enumerate(value))
            return value

        return substitute(own, ())

    @staticmethod
    def _check_deprecation(own: dict, path: str):
        info = own.pop(DEPRECATION_KEY, None)
        if info is not None:
            message = f'the config file {display_path(path)} is deprecated'
            if isinstance(info, dict) and 'expected' in info:
                message += f'; use {info["expected"]} instead'
            warnings.warn(message, DeprecationWarning, stacklevel=2)

    # -- bases and merging ----------------------------------------------------------------------
    def _combine_bases(self, path: str, line: Optional[int], bases) -> Layer:
        data, prov, derivations, owner = {}, Provenance(), [], {}
        for base_path, layer in bases:
            for key, value in layer.data.items():
                if key in data:
                    if same_value(data[key], value):
                        continue
                    first = self._describe(owner[key], (key,))
                    second = self._describe(layer.prov, (key,))
                    raise ConfigMergeError(
                        f'{display_path(path)}:{line}: key {key!r} is set differently by two '
                        f'bases: {first} and {second}; set it in one of them only')
                data[key] = value
                owner[key] = layer.prov
                for p, events in layer.prov.events.items():
                    if p[0] == key:
                        prov.events[p] = list(events)
                derivations += [d for d in layer.derivations if d.target[0] == key]
        return Layer(data, prov, derivations)

    def _describe(self, prov: Provenance, path: Path) -> str:
        _, events = prov.history(path)
        return events[-1].origin.describe() if events else '<unknown>'

    def _merge(self, own: dict, base: Layer, path: str,
               analysis: Optional[FileAnalysis]) -> Layer:

        def origin_of(p: Path) -> Origin:
            line = analysis.origin(p)[0] if analysis is not None else None
            return Origin(file=path, line=line)

        merger = Merger(origin_of, base.prov.copy(),
                        describe_base=lambda p: self._describe(base.prov, p))
        data = merger.merge(own, base.data)
        derivations = []
        for d in base.derivations:
            if any(overlaps(p, d.target) for p in merger.set_paths):
                continue  # this file set the derived value itself
            changed = [p for p in merger.set_paths if overlaps(p, d.source)]
            if changed and has_path(data, d.source) and has_path(base.data, d.source) and \
                    not same_value(get_path(data, d.source), get_path(base.data, d.source)):
                where = origin_of(changed[0]).describe()
                self.warnings.append(d.stale_message(where, get_path(data, d.target)))
                continue
            derivations.append(d)
        if analysis is not None:
            derivations += self._own_derivations(analysis, own, base.data, origin_of)
        return Layer(data, merger.prov, derivations)

    @staticmethod
    def _own_derivations(analysis: FileAnalysis, own: dict, base: dict,
                         origin_of) -> List[Derivation]:
        found = []
        for target, sources in analysis.deps.items():
            if not has_path(own, target):
                continue
            for source in sources:
                key = source[1:] if source[0] == BASE_KEY else source
                if not key or key == target or not (source[0] == BASE_KEY or source[0] in own):
                    continue
                if source[0] == BASE_KEY and has_path(own, key) and has_path(base, key) and \
                        not same_value(get_path(own, key), get_path(base, key)):
                    # a copy of the base's value of a key this file replaces (a reordered list,
                    # say): derived from the base's value on purpose, not from the final one
                    continue
                found.append(Derivation(target, key, origin_of(target)))
        return found


def _names_read(stmt: ast.stmt) -> set:
    """Top-level names a statement reads, ``_base_.x`` counted as ``x``."""
    names = set()
    for node in ast.walk(stmt):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == BASE_KEY:
            names.add(node.attr)
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
                and node.value.id == BASE_KEY and isinstance(node.slice, ast.Constant):
            names.add(node.slice.value)
    return names


def _failing_line(error: BaseException, path: str, stmt: ast.stmt) -> int:
    line = stmt.lineno
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    if isinstance(error, SyntaxError) and error.filename == path and error.lineno:
        line = error.lineno
    return line
