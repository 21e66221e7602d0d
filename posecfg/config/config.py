"""``Config``: a loaded, overridden, resolved, read-only config that knows where each value came
from.

    cfg = Config.fromfile('configs/.../res50_coco_256x192.py',
                          options=['model.backbone.depth=101', 'data.samples_per_gpu=32'])
    cfg.model.backbone.depth          # 101
    print(cfg.explain('model.backbone.depth'))
    cfg.dump('work_dir/res50.py')     # a config file that loads back to the same data

Loading runs in four steps: read the file and its ``_base_`` chain (``loader.py``); check every
override against the result, resolve it to concrete paths, and read the files again with it
applied where its key is defined, so values computed from it follow (``overrides.py``); apply
the overrides to the merged data, each once; resolve ``${key}`` references
(``interpolation.py``).
"""
from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Union

from .analysis import FileAnalysis
from .dump import FORMATS, _PyFormatter, escape_literal_references, summarize, to_python
from .errors import ConfigError
from .frozen import freeze
from .interpolation import _REFERENCE, Interpolator
from .keypath import Path, format_path, get_path, has_path, overlaps, plain, resolve_key
from .loader import Derivation, Loader, LoadResult
from .merge import same_value
from .options import Override, parse_options
from .overrides import OverrideApplier, Step, TypeInfo, replay
from .provenance import Event, Origin, Provenance, display_path

OptionsLike = Union[Sequence[str], Sequence[Override], None]


class ConfigWarning(UserWarning):
    """Something in a config probably does not do what its author meant."""


class Config(Mapping):
    """A resolved config: plain data (read-only), its provenance, and the warnings loading it gave."""

    def __init__(self, data: dict, filename: Optional[str] = None, *,
                 prov: Optional[Provenance] = None, load: Optional[LoadResult] = None,
                 options: Sequence[Override] = (), warnings_: Sequence[str] = (),
                 resolved: bool = False):
        """``resolved``: ``data``'s ``${…}`` references were resolved (a ``${`` left in it is
        literal text)."""
        object.__setattr__(self, '_data', freeze(plain(data)))
        object.__setattr__(self, '_resolved', resolved)
        object.__setattr__(self, 'filename', filename)
        object.__setattr__(self, '_prov', prov or Provenance())
        object.__setattr__(self, '_load', load)
        object.__setattr__(self, 'options', tuple(options))
        object.__setattr__(self, 'warnings', list(warnings_))

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def fromfile(cls, filename: str, options: OptionsLike = None, *,
                 type_info: Optional[TypeInfo] = None, warn: bool = True,
                 resolve: bool = True) -> 'Config':
        """Load ``filename`` with its ``_base_`` chain, apply ``options`` (``--cfg-options`` items
        or parsed :class:`Override` s) and resolve ``${…}`` references.

        ``resolve=False`` keeps ``${…}`` references as written (what mmengine's loader gives).
        Problems a user can fix raise :class:`~posecfg.config.errors.ConfigError`; suspicious
        things (a derived value left stale) are collected in ``.warnings`` and, with ``warn``,
        issued as :class:`ConfigWarning`.
        """
        overrides = _as_overrides(options)
        filename = os.path.abspath(os.path.expanduser(str(filename)))
        plain_load = Loader().load(filename)
        # check and resolve every override on the plain result first: errors name the key before
        # anything runs, and each override becomes steps at concrete paths
        steps = OverrideApplier(plain(plain_load.data), type_info).resolve_all(overrides)
        steps = [step.with_owner(plain_load.prov) for step in steps]
        load = Loader(steps).load(filename) if steps else plain_load
        data = replay(plain(load.data), load.prov, steps, load.injected)
        messages = list(load.warnings) + _stale_after_options(
            load.derivations, plain_load.data, data, steps)
        data = Interpolator(data, load.prov).resolve_all() if resolve else data
        cfg = cls(data, filename, prov=load.prov, load=load, options=overrides,
                  warnings_=messages, resolved=resolve)
        if warn:
            for message in messages:
                warnings.warn(message, ConfigWarning, stacklevel=2)
        return cfg

    @classmethod
    def fromdict(cls, data: dict, filename: Optional[str] = None) -> 'Config':
        """A config from data built in code (its provenance is only the filename, if given)."""
        prov = Provenance()
        for key in data:
            prov.place((key,), Event(Origin(file=filename or '<dict>'), 'set'))
        return cls(data, filename, prov=prov)

    def with_options(self, options: OptionsLike, **kwargs) -> 'Config':
        """This config's file loaded again with more overrides after the ones it already has."""
        if self.filename is None:
            raise ConfigError('with_options needs a config loaded from a file')
        return Config.fromfile(self.filename, list(self.options) + _as_overrides(options),
                               **kwargs)

    # -- reading --------------------------------------------------------------------------------
    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self) -> Iterator:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __getattr__(self, name: str) -> Any:
        if name.startswith('_'):
            raise AttributeError(name)
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(f'{display_path(self.filename)} has no key {name!r}') from None

    def __setattr__(self, name, value):
        raise TypeError('a Config is read-only; load it with options, or use to_dict()')

    def __repr__(self) -> str:
        return f'Config({display_path(self.filename)!r}, keys={list(self._data)})'

    def get(self, dotted: str, default: Any = None) -> Any:
        """The value at a dotted key (``'model.backbone.depth'``, ``'workflow.0'``), or default."""
        try:
            return get_path(self._data, self.path_of(dotted))
        except KeyError:
            return default

    def path_of(self, dotted: str) -> Path:
        """The key path a dotted key denotes (list indices as ints); KeyError if it is absent."""
        node, path = self._data, ()
        for segment in dotted.split('.'):
            key = resolve_key(node, segment)
            if key is None:
                raise KeyError(dotted)
            path += (key,)
            node = node[key]
        return path

    def to_dict(self) -> dict:
        """A mutable deep copy as plain dicts, lists and tuples."""
        return plain(self._data)

    @property
    def provenance(self) -> Provenance:
        return self._prov

    # -- writing --------------------------------------------------------------------------------
    def format(self, fmt: str = 'py'):
        """``(text, notes)``: the config as ``py``, ``json`` or ``yaml`` text, and what that format
        could not keep."""
        if fmt not in FORMATS:
            raise ConfigError(f'unknown format {fmt!r}; choose one of {", ".join(FORMATS)}')
        data, escaped = escape_literal_references(self.to_dict()) if self._resolved \
            else (self.to_dict(), [])
        if fmt == 'py':
            text, notes = to_python(data, header=self._header())
        else:
            text, notes = FORMATS[fmt](data)
        return text, summarize(escaped) + notes


    @property
    def pretty_text(self) -> str:
        return self.format('py')[0]

    def dump(self, path: str) -> List[str]:
        """Write the config to ``path`` (format from its suffix), atomically; returns (and warns
        about) what the format could not keep."""
        fmt = os.path.splitext(path)[1].lstrip('.') or 'py'
        text, notes = self.format(fmt)
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        tmp = os.path.join(directory, f'.{os.path.basename(path)}.tmp-{os.getpid()}')
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write(text)
        os.replace(tmp, path)
        for note in notes:
            warnings.warn(f'{path}: {note}', ConfigWarning, stacklevel=2)
        return notes

    def _header(self) -> str:
        lines = ['Resolved by posecfg']
        if self.filename:
            lines[0] += f' from {display_path(self.filename)}'
        if self.options:
            lines.append('with ' + ' '.join(o.text for o in self.options))
        return '\n'.join(lines)

    # -- provenance -----------------------------------------------------------------------------
    def explain(self, dotted: str) -> str:
        """The value at ``dotted``, every place that set it (file:line or command-line item),
        what it was copied or computed from, and the chain of files it passed through."""
        try:
            path = self.path_of(dotted)
        except KeyError:
            raise ConfigError(_missing_key_message(self._data, dotted)) from None
        out = [f'{dotted} = {_short(get_path(self._data, path))}']
        self._explain(path, out, depth=1, seen={path}, chains=set())
        return '\n'.join(out)

    def _explain(self, path: Path, out: List[str], depth: int, seen: set, chains: set):
        pad = '  ' * depth
        _, events = self._prov.history(path)
        if not events:
            out.append(f'{pad}(no record of where it was set)')
            return
        sources, first_file = [], None
        for event in events:
            where, extra = event.origin.describe(), ''
            if event.action != 'interpolate':
                sources = []  # a new value: what the one before came from is not its source
            analysis = self._analysis(event.origin.file)
            if analysis is not None:
                line, ref = analysis.origin(path)
                if line:
                    where = f'{display_path(event.origin.file)}:{line}'
                if ref is not None:
                    base = ref[0] == '_base_'
                    sources.append((('a copy of _base_.' if base else 'a reference to '),
                                    ref[1:] if base else ref))
                else:
                    deps = sorted(analysis.deps.get(path, ()), key=format_path)
                    if deps:
                        extra = '   computed from ' + ', '.join(
                            f'_base_.{format_path(p[1:])}' if p[0] == '_base_' else
                            format_path(p) for p in deps)
                        extra += self._followed(event.origin.file, deps)
                        # followed like references: an override of a source shows there
                        sources += [('computed from ', p[1:] if p[0] == '_base_' else p)
                                    for p in deps]
            if event.action == 'interpolate':
                extra = f'   {event.note}'
                sources += [('referring to ', tuple(m.strip().split('.')))
                            for m in _REFERENCE.findall(event.note)]
            first_file = first_file or event.origin.file
            label = {'interpolate': 'derived'}.get(event.action, event.action)
            out.append(f'{pad}{label:<9} {where}{extra}')
        for how, source in sources:
            try:
                source_path = self.path_of('.'.join(map(str, source)))
            except KeyError:
                continue
            if source_path in seen:
                continue
            seen.add(source_path)
            out.append(f'{pad}  ↳ {how}{format_path(source_path)}:')
            self._explain(source_path, out, depth + 2, seen, chains)
        if first_file and self._load is not None and self.filename:
            chain = tuple(_include_chain(self._load.includes, self.filename, first_file))
            if len(chain) > 1 and chain not in chains:
                chains.add(chain)
                out.append(f'{pad}files     ' + ' → '.join(display_path(f) for f in chain)
                           + '   (base → child)')

    def _followed(self, file: str, deps: List[Path]) -> str:
        """``' (following --cfg-options …)'`` when overrides of ``deps`` (keys ``file`` computed a
        value from) were applied before the file computed it, else ''."""
        if self._load is None:
            return ''
        local = self._load.injected.get(file, ())
        everywhere = [s for steps in self._load.injected.values() for s in steps]
        items = [f'{s.override.flag} {s.override.text}' for d in deps
                 for s in (everywhere if d[0] == '_base_' else local)
                 if overlaps(s.path, d[1:] if d[0] == '_base_' else d)]
        if not items:
            return ''
        return ' (following ' + ', '.join(dict.fromkeys(items)) + ')'

    def where(self, path: Path, _seen: frozenset = frozenset()) -> str:
        """Where the value at ``path`` was last set: ``file:line`` or the command-line item.
        A value that is a reference to another key is placed where that key is set."""
        _, events = self._prov.history(tuple(path))
        if not events:
            return display_path(self.filename) if self.filename else '<unknown>'
        origin = events[-1].origin
        analysis = self._analysis(origin.file)
        if analysis is not None:
            line, ref = analysis.origin(tuple(path))
            if ref is not None and ref[0] != '_base_' and ref not in _seen:
                try:
                    return self.where(self.path_of('.'.join(map(str, ref))), _seen | {ref})
                except KeyError:
                    pass
            if line:
                return f'{display_path(origin.file)}:{line}'
        return origin.describe()

    def _analysis(self, file: Optional[str]) -> Optional[FileAnalysis]:
        if not file or self._load is None:
            return None
        return self._load.analyses.get(file)


def _as_overrides(options: OptionsLike) -> List[Override]:
    if not options:
        return []
    return [o if isinstance(o, Override) else parse_options([o])[0] for o in options]


def _stale_after_options(derivations: Iterable[Derivation], before: dict, after: dict,
                         steps: Sequence[Step]) -> List[str]:
    """Warnings for derived values that did not follow an override of their source."""
    messages = []
    for d in derivations:
        hits = [s.override for s in steps if overlaps(s.path, d.source)]
        if not hits or any(overlaps(s.path, d.target) for s in steps):
            continue
        if not (has_path(before, d.target) and has_path(after, d.target)
                and has_path(before, d.source) and has_path(after, d.source)):
            continue
        if same_value(get_path(before, d.target), get_path(after, d.target)) and \
                not same_value(get_path(before, d.source), get_path(after, d.source)):
            messages.append(d.stale_message(f'{hits[0].flag} {hits[0].text}',
                                            get_path(after, d.target)))
    return messages


def _include_chain(includes: Dict[str, list], root: str, target: str) -> List[str]:
    """Files from ``target`` (a base, possibly indirect) up to ``root``, base first."""
    def search(node, trail):
        if node == target:
            return trail
        for base, _ in includes.get(node, []):
            found = search(base, trail + [base])
            if found:
                return found
        return None
    found = search(root, [root])
    return list(reversed(found)) if found else [target]


def _short(value: Any, limit: int = 200) -> str:
    text = _PyFormatter().inline(plain(value), ())
    return text if len(text) <= limit else text[:limit] + ' …'


def _missing_key_message(data: dict, dotted: str) -> str:
    import difflib
    node, parent = data, []
    for segment in dotted.split('.'):
        key = resolve_key(node, segment)
        if key is not None:
            node, parent = node[key], parent + [segment]
            continue
        keys = [str(k) for k in node] if isinstance(node, dict) else []
        close = difflib.get_close_matches(segment, keys, n=3, cutoff=0.6)
        prefix = '.'.join(parent)
        message = f'{dotted} is not in the config'
        if close:
            message += '; did you mean ' + ', '.join(
                '.'.join(filter(None, [prefix, c])) for c in close) + '?'
        return message
    return f'{dotted} is not in the config'
