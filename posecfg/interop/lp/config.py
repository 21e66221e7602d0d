"""A Lightning Pose ``config.yaml``: read, overridden, resolved and checked by Lightning Pose's rules.

:func:`load_lp_config` returns an :class:`LPConfig`: the file's tree as written (what Lightning
Pose saves into a run folder), the resolved tree, the file line of every key and posecfg
provenance events, and Lightning Pose's checks done at load time (:mod:`.checks`). Overrides are
posecfg ``--cfg-options`` items (:func:`posecfg.config.options.parse_options`) with Lightning
Pose's key names: ``KEY=VALUE`` sets a key that the file has or that Lightning Pose knows
(:mod:`.dialect`), ``+KEY=VALUE`` adds any key, ``~KEY`` deletes one. For Lightning Pose's keys
Hydra's ``null``, ``true`` and ``false`` mean None, True and False (posecfg's own ``None``,
``True``, ``False`` work too).
"""
from __future__ import annotations

import copy
import dataclasses
import datetime
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from posecfg.config.keypath import format_path, resolve_segment
from posecfg.config.options import ADD, DELETE, Override
from posecfg.config.provenance import Event, Origin, Provenance

from . import dialect
from .interpolation import Resolver
from .yaml_io import LPYamlError, load_yaml_with_lines

Path = Tuple[Any, ...]
#: top-level keys never resolved: Hydra's own section (Lightning Pose never reads it)
UNRESOLVED_SECTIONS = ('hydra',)


class LPConfigError(ValueError):
    """A Lightning Pose config that Lightning Pose's rules refuse; one line per problem, each
    naming the key and where it was set."""

    def __init__(self, source: str, problems: Sequence[str]):
        self.problems = list(problems)
        head = f'{source}: ' + ('1 problem' if len(problems) == 1 else f'{len(problems)} problems')
        super().__init__(head + '\n' + '\n'.join(f'  - {p}' for p in problems))


@dataclass
class LPConfig:
    """A loaded Lightning Pose config.

    Attributes:
        path: the file.
        raw: the tree as written, overrides applied, interpolations kept (what Lightning Pose
            saves as the run's ``config.yaml``).
        data: the tree with every ``${…}`` resolved (Hydra's ``hydra`` section kept as written).
        lines: key path → line of the file where it is set.
        provenance: posecfg provenance events (file lines and ``--cfg-options`` items).
        warnings: things that are probably mistakes but are run (each says so).
        strict: refuse everything Lightning Pose 2.4.3 refuses, including milestones beyond the
            end of training (by default a warning, so that a short test run with
            ``training.max_epochs=2`` needs no milestone override).
    """
    path: str
    raw: dict
    data: dict
    lines: Dict[Path, int]
    provenance: Provenance
    warnings: List[str] = field(default_factory=list)
    strict: bool = False

    def get(self, dotted: str, default: Any = dialect.REQUIRED) -> Any:
        """The resolved value at ``dotted``; when absent, ``default`` if given, else Lightning
        Pose's default for the key (:mod:`.dialect`), else KeyError."""
        node = self.data
        for segment in dotted.split('.'):
            key = resolve_segment(node, segment) if isinstance(node, (dict, list)) else None
            if key is None:
                if default is not dialect.REQUIRED:
                    return default
                spec = dialect.key_spec(dotted)
                if spec is not None and not spec.required:
                    return copy.deepcopy(spec.default)
                raise KeyError(f'{self.path}: {dotted} is not set')
            node = node[key]
        return node

    def has(self, dotted: str) -> bool:
        return self.get(dotted, _ABSENT) is not _ABSENT

    def where(self, path) -> str:
        """Where the value at ``path`` (tuple or dotted) was set: 'file:line', or the option."""
        path = tuple(path.split('.')) if isinstance(path, str) else tuple(path)
        return describe_origin(self.provenance, self.lines, self.path, path)

    @property
    def model_type(self) -> str:
        return self.get('model.model_type')

    @property
    def losses_to_use(self) -> List[str]:
        return [name for name in (self.get('model.losses_to_use') or []) if name]

    @property
    def semi_supervised(self) -> bool:
        """Lightning Pose's ``check_if_semi_supervised`` (models/base.py:46-62)."""
        return bool(self.losses_to_use)

    @property
    def step_mode(self) -> bool:
        """Training length in steps (``min_steps`` / ``max_steps``) rather than epochs."""
        training = self.data.get('training') or {}
        return 'min_steps' in training or 'max_steps' in training

    @property
    def multiview(self) -> bool:
        views = self.get('data.view_names', None)
        return bool(views) and len(views) > 1


_ABSENT = object()


def load_lp_config(path: str, overrides: Sequence[Override] = (), *, check: bool = True,
                   strict: bool = False, environ: Dict[str, str] = None,
                   now: datetime.datetime = None) -> LPConfig:
    """Read a Lightning Pose ``config.yaml``, apply ``overrides``, resolve, and (``check``)
    run Lightning Pose's config checks (:func:`.checks.check_config`; ``strict``: see
    :class:`LPConfig`)."""
    path = os.path.abspath(path)
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except OSError as e:
        raise FileNotFoundError(f'{path}: cannot read the Lightning Pose config ({e.strerror})') \
            from None
    try:
        raw, lines = load_yaml_with_lines(text, path)
    except LPYamlError as e:
        raise LPConfigError(path, [str(e)]) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise LPConfigError(path, [f'the file holds a {type(raw).__name__}, not a mapping of '
                                   'sections (data, training, model, …)'])
    prov = Provenance({(key,): [Event(Origin(file=path, line=lines.get((key,))), 'set')]
                       for key in raw})
    notes: List[str] = []
    _rename_legacy_keys(raw, prov, path, notes)
    for override in overrides:
        _apply_override(raw, override, prov, path)

    resolver = Resolver(raw, lambda p: describe_origin(prov, lines, path, p), environ=environ,
                        now=now)
    try:
        data = resolver.resolve_tree(skip=UNRESOLVED_SECTIONS)
    except ValueError as e:
        raise LPConfigError(path, [str(e)]) from None
    for p, refs in resolver.references.items():
        prov.place(p, Event(Origin(file=path, line=lines.get(p)), 'interpolate',
                            'from ' + ', '.join('${' + r + '}' for r in refs)))
    cfg = LPConfig(path=path, raw=raw, data=data, lines=lines, provenance=prov, warnings=notes,
                   strict=strict)
    if check:
        from .checks import check_config
        check_config(cfg)
    return cfg


def describe_origin(prov: Provenance, lines: Dict[Path, int], file: str, path: Path) -> str:
    """'file:line' of the deepest line known for ``path``, unless a command-line item set the
    value (or an ancestor of it) later."""
    recorded, events = prov.history(path)
    if events and events[-1].origin.option is not None:
        return events[-1].origin.describe()
    for depth in range(len(path), 0, -1):
        if path[:depth] in lines:
            return f'{file}:{lines[path[:depth]]}'
    return file


def _rename_legacy_keys(raw: dict, prov: Provenance, path: str, notes: List[str]):
    """``data.keypoints`` (Lightning Pose's app) is ``data.keypoint_names``
    (``api/model_config.py:61-67``)."""
    data = raw.get('data')
    if isinstance(data, dict) and 'keypoints' in data and 'keypoint_names' not in data:
        data['keypoint_names'] = data.pop('keypoints')
        notes.append('data.keypoints is the old name of data.keypoint_names; read as that')


def _coerce(value: Any, dotted: str) -> Any:
    """Hydra's spellings for Lightning Pose keys: ``null`` for a key that may be null and
    ``true``/``false`` for a boolean key (posecfg's grammar reads them as strings)."""
    spec = dialect.key_spec(dotted)
    if spec is None or not isinstance(value, str) or dialect.STR in spec.kinds:
        return value
    if value == 'null' and dialect.NONE in spec.kinds:
        return None
    if value.lower() in ('true', 'false') and dialect.BOOL in spec.kinds:
        return value.lower() == 'true'
    return value


def _apply_override(raw: dict, override: Override, prov: Provenance, path: str):
    """Set, add or delete one key; a SET of a key that neither the file nor Lightning Pose has
    is an error with close matches."""
    origin = Origin(option=override.text, flag=override.flag)
    override = dataclasses.replace(override, value=_coerce(override.value, override.dotted))
    node, walked = raw, []
    for i, segment in enumerate(override.key):
        last = i == len(override.key) - 1
        key = resolve_segment(node, segment) if isinstance(node, (dict, list)) else None
        dotted = '.'.join(walked + [segment])
        if key is None:
            if override.op == DELETE:
                raise _override_error(path, override, f'{dotted} does not exist')
            known = dialect.key_spec(dotted) is not None or dialect.is_group(dotted)
            if override.op != ADD and not known:
                close = dialect.suggestions(dotted, _paths(raw))
                hint = f'; did you mean {" or ".join(close)}?' if close else ''
                raise _override_error(
                    path, override, f'{dotted} is not a key of this config or of Lightning Pose '
                    f'(add it with +{override.text.lstrip("+")}){hint}')
            if not isinstance(node, dict):
                raise _override_error(path, override, f'{".".join(walked)} is not a mapping')
            node[segment] = override.value if last else {}
            key = segment
        elif last:
            if override.op == DELETE:
                del node[key]
                prov.remove(tuple(walked + [key]))
                return
            node[key] = override.value
        if last:
            prov.place(tuple(walked + [key]),
                       Event(origin, 'add' if override.op == ADD else 'override'))
            return
        walked.append(key)
        node = node[key]


def _override_error(path: str, override: Override, message: str) -> LPConfigError:
    return LPConfigError(path, [f'{override.flag} {override.text}: {message}'])


def _paths(tree: Any, prefix: Path = ()) -> List[str]:
    out = []
    if isinstance(tree, dict):
        for key, value in tree.items():
            out.append(format_path(prefix + (key,)))
            out.extend(_paths(value, prefix + (key,)))
    return out
