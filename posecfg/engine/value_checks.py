"""Values checked before anything is built: numeric schema keys, annotated constructor
arguments, and the head's output channels against the training data's keypoints.

Each check returns ``(where, message)`` pairs (``where``: the file:line or command-line item that
set the value, from the config's provenance) for :func:`posecfg.engine.validate.validate_config`
to report together with the registry checks. Without them ``data.samples_per_gpu=2.5``,
``optimizer.lr=fast`` or ``depth='fifty'`` failed late inside torch or ``int()``.
"""
from __future__ import annotations

import collections.abc
import numbers
import typing
from dataclasses import dataclass
from typing import Any, Iterable, List, Optional, Tuple

from posecfg.config import Config
from posecfg.config.keypath import Path, format_path

Problem = Tuple[str, str]


@dataclass(frozen=True)
class Rule:
    """An integer or a real number within bounds; ``None`` allowed when ``optional``."""

    integer: bool
    low: Optional[float] = None
    high: Optional[float] = None
    low_open: bool = False
    optional: bool = False
    also: Tuple[Any, ...] = ()  # values accepted besides the range (e.g. -1 for "all")

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.optional
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        if value in self.also:
            return True
        if self.integer and not isinstance(value, numbers.Integral):
            return False
        if value != value:  # nan
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or value <= self.high

    def describe(self) -> str:
        kind = 'an integer' if self.integer else 'a number'
        if self.low is not None and self.high is not None:
            text = f'{kind} in {"(" if self.low_open else "["}{self.low:g}, {self.high:g}]'
        elif self.low is not None:
            text = f'{kind} {">" if self.low_open else "≥"} {self.low:g}'
        else:
            text = kind
        extra = [repr(v) for v in self.also] + (['None'] if self.optional else [])
        return text + (f' (or {", ".join(extra)})' if extra else '')


POSITIVE_INT = Rule(integer=True, low=1)
COUNT = Rule(integer=True, low=0)
POSITIVE = Rule(integer=False, low=0, low_open=True)
NON_NEGATIVE = Rule(integer=False, low=0)

_LOADER = {'samples_per_gpu': POSITIVE_INT, 'workers_per_gpu': COUNT,
           'prefetch_factor': Rule(integer=True, low=1, optional=True)}
_DATA_CFG = {'num_output_channels': POSITIVE_INT, 'num_joints': POSITIVE_INT,
             'det_bbox_thr': NON_NEGATIVE, 'nms_thr': NON_NEGATIVE, 'oks_thr': NON_NEGATIVE,
             'vis_thr': NON_NEGATIVE}

#: the schema's numeric keys (dotted; ``*`` matches any one key) and what they accept
SCHEMA_RULES = {
    'total_epochs': POSITIVE_INT,
    **{f'data.{k}': r for k, r in _LOADER.items()},
    **{f'data.{split}_dataloader.{k}': r for split in ('train', 'val', 'test')
       for k, r in _LOADER.items()},
    'optimizer.lr': POSITIVE,
    'optimizer.weight_decay': NON_NEGATIVE,
    'optimizer.momentum': Rule(integer=False, low=0, high=1),
    'optimizer_config.cumulative_iters': POSITIVE_INT,
    'optimizer_config.grad_clip.max_norm': POSITIVE,
    'lr_config.warmup_iters': COUNT,
    'lr_config.warmup_ratio': Rule(integer=False, low=0, high=1, low_open=True),
    'lr_config.gamma': POSITIVE,
    'lr_config.min_lr': Rule(integer=False, low=0, optional=True),
    'lr_config.min_lr_ratio': Rule(integer=False, low=0, high=1, optional=True),
    'lr_config.power': Rule(integer=False),
    'checkpoint_config.interval': POSITIVE_INT,
    'checkpoint_config.max_keep_ckpts': Rule(integer=True, low=1, also=(-1,)),
    'evaluation.interval': POSITIVE_INT,
    'evaluation.start': Rule(integer=True, low=0, optional=True),
    'log_config.interval': POSITIVE_INT,
    'seed': Rule(integer=True, optional=True),
    **{f'data_cfg.{k}': r for k, r in _DATA_CFG.items()},
    **{f'data.*.data_cfg.{k}': r for k, r in _DATA_CFG.items()},
    'channel_cfg.num_output_channels': POSITIVE_INT,
    'channel_cfg.dataset_joints': POSITIVE_INT,
}


def check_schema_values(cfg: Config, data: dict) -> List[Problem]:
    """Every :data:`SCHEMA_RULES` key present in ``data`` (``cfg``'s plain data) must fit."""
    problems = []
    for pattern, rule in SCHEMA_RULES.items():
        for path, value in _matches(data, pattern.split('.')):
            if not rule.accepts(value):
                problems.append((cfg.where(path), f'{format_path(path)}: {value!r} is not '
                                 f'{rule.describe()}'))
    return problems


def _matches(node: Any, parts: List[str], path: Path = ()) -> Iterable[Tuple[Path, Any]]:
    if not parts:
        yield path, node
        return
    if not isinstance(node, dict):
        return
    head, rest = parts[0], parts[1:]
    keys = [k for k in node if isinstance(node[k], dict) or not rest] if head == '*' else \
        [head] if head in node else []
    for key in keys:
        yield from _matches(node[key], rest, path + (key,))


# -- constructor arguments with annotated types -----------------------------------------------
def annotated_types(obj: Any) -> dict:
    """``{argument: type hint}`` of a class's ``__init__`` or a function (empty if the hints
    cannot be evaluated)."""
    target = obj.__init__ if isinstance(obj, type) else obj
    try:
        return typing.get_type_hints(target)
    except Exception:  # hints naming things not importable here: nothing to check
        return {}


def check_argument_types(cfg: Config, path: Path, name: str, obj: Any, spec: dict,
                         skip: Iterable[str] = ()) -> List[Problem]:
    """Arguments in ``spec`` whose value cannot be of the type ``obj`` annotates them with."""
    hints = annotated_types(obj)
    problems = []
    defaults = _none_defaults(obj)
    for key, value in spec.items():
        if key in skip or key not in hints or (value is None and key in defaults):
            continue  # None where the default is None: `x: str = None` means Optional[str]
        if fits(value, hints[key]) is False:
            problems.append((cfg.where(path + (key,)),
                             f'{format_path(path + (key,))}: {name} takes {key} as '
                             f'{type_name(hints[key])}, got {value!r}'))
    return problems


def _none_defaults(obj: Any) -> set:
    import inspect
    try:
        parameters = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return set()
    return {p.name for p in parameters if p.default is None}


def fits(value: Any, hint: Any) -> Optional[bool]:
    """Whether a config value can be of type ``hint``; None when the hint is not one of the
    plain kinds checked (numbers, str, bool, None, sequences, dicts and unions of them)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is typing.Any or isinstance(hint, typing.TypeVar):
        return None
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin is typing.Union or type(hint).__name__ == 'UnionType':
        verdicts = [fits(value, a) for a in args]
        if True in verdicts:
            return True
        return False if all(v is False for v in verdicts) else None
    if hint in (list, tuple) or origin in (list, tuple, collections.abc.Sequence):
        if not isinstance(value, (list, tuple)):
            return False
        if not args:
            return True
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(args) != len(value):
                return False
            verdicts = [fits(v, a) for v, a in zip(value, args)]
        else:
            verdicts = [fits(v, args[0]) for v in value]
        return False if False in verdicts else (True if all(verdicts) else None)
    if hint is dict or origin in (dict, collections.abc.Mapping):
        return isinstance(value, dict)
    return None


def type_name(hint: Any) -> str:
    if isinstance(hint, type):
        return hint.__name__
    return str(hint).replace('typing.', '').replace('NoneType', 'None')


# -- the head's output channels against the data ----------------------------------------------
#: target types whose heads output several maps per keypoint (UDP's offsets)
MAPS_PER_KEYPOINT = {'CombinedTarget': 3}


def check_head_channels(cfg: Config, data: dict) -> List[Problem]:
    """``model.keypoint_head.out_channels`` (or ``model.head``) must be one heatmap per keypoint
    of the training data (three with UDP's ``CombinedTarget``)."""
    model, train = data.get('model') or {}, (data.get('data') or {}).get('train')
    head_key = next((k for k in ('keypoint_head', 'head') if isinstance(model.get(k), dict)),
                    None)
    if head_key is None or not isinstance(train, dict) or 'type' not in train:
        return []
    out_channels = model[head_key].get('out_channels')
    if not isinstance(out_channels, int) or isinstance(out_channels, bool):
        return []  # absent, or already reported as a type error
    keypoints, name = _training_keypoints(train)
    if keypoints is None:
        return []
    source = f"data.train's dataset {name!r}, {cfg.where(('data', 'train', 'dataset_info'))}"
    per_keypoint = 1
    for step in train.get('pipeline') or ():
        if isinstance(step, dict) and step.get('type') == 'TopDownGenerateTarget':
            per_keypoint = MAPS_PER_KEYPOINT.get(step.get('target_type'), 1)
    expected = keypoints * per_keypoint
    if out_channels == expected:
        return []
    path = ('model', head_key, 'out_channels')
    maps = f'{per_keypoint} maps per keypoint, ' if per_keypoint > 1 else ''
    return [(cfg.where(path), f'{format_path(path)}: the head outputs {out_channels} channels '
             f'but the training data has {keypoints} keypoints ({source}); it needs {maps}one '
             f'heatmap per keypoint: set the channel count (channel_cfg.num_output_channels in '
             f'the seed configs) to {expected}')]


def _training_keypoints(train: dict) -> Tuple[Optional[int], str]:
    """(number of keypoints, dataset name) of the training dataset's metadata."""
    from posecfg.datasets.metainfo import resolve_dataset_meta
    from posecfg.registry import DATASETS
    cls = DATASETS.get(train['type'])
    if cls is None:
        return None, ''
    try:
        meta = resolve_dataset_meta(train.get('dataset_info'),
                                    getattr(cls, 'default_dataset_info', None))
    except Exception:  # a broken dataset_info is reported when the dataset is built
        return None, ''
    return meta.num_keypoints, meta.dataset_name
