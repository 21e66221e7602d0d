"""Checking a config against the registries and the schema before anything is built.

Every dict with a ``type`` must name a registered class, and every other key in it must be an
argument that class takes (or, inside one of its dict-valued arguments, a key the class declares
in ``option_keys``; a class whose keys depend on the rest of its dict, like an estimator whose
``test_cfg`` keys are its heads', says so with ``spec_option_keys(spec)``), of the type the class
annotates it with. Every key of a typeless section must be one the schema
(``posecfg.config.schema``) gives an effect; the schema's numeric keys must be of their type and
range, and the head must output one channel per keypoint of the training data
(:mod:`posecfg.engine.value_checks`). Problems are reported together, each with the file:line
(or command-line item) that set the offending key, so a typo fails in a second instead of after
data loading.
"""
from __future__ import annotations

from typing import List

from mmengine import registry as mmengine_registry

from posecfg.config import Config, ConfigError
from posecfg.config.keypath import Path, format_path, iter_paths
from posecfg.config.schema import schema_problems
from posecfg.registry import (ALL_REGISTRIES, closest_names, constructor_arguments, find_type,
                              registered_names, takes_any_keyword)

from .value_checks import check_argument_types, check_head_channels, check_schema_values

#: mmengine registries whose types configs may name though posecfg adds nothing to them
_MMENGINE_ONLY = (mmengine_registry.VISUALIZERS, mmengine_registry.LOG_PROCESSORS,
                  mmengine_registry.MODEL_WRAPPERS, mmengine_registry.EVALUATOR)
#: keys holding data rather than things to build (keypoint_info entries have a 'type' too)
_DATA_KEYS = frozenset({'dataset_info', 'metainfo', 'keypoint_info', 'skeleton_info'})
#: keys the runner takes out of a typed dict before building it
_CONSUMED = {('optimizer',): {'paramwise_cfg'}}


class ConfigValidationError(ConfigError):
    """Config dicts name unknown types or pass arguments their classes do not take."""


def validate_config(cfg: Config):
    """Raise :class:`ConfigValidationError` listing every problem; import ``custom_imports``
    first (``posecfg.engine.custom_imports``) so that plugin types are registered."""
    data = cfg.to_dict()
    problems = [(cfg.where(path), message)
                for path, message in schema_problems(data, file_variables(cfg))]
    problems += check_schema_values(cfg, data)
    registries = ALL_REGISTRIES + _MMENGINE_ONLY
    checked = {message.split(':', 1)[0] for _, message in problems}  # one message per key
    for path, value in iter_paths(data):
        if not isinstance(value, dict) or not isinstance(value.get('type'), str):
            continue
        if _is_logger_hook(path) or _DATA_KEYS.intersection(map(str, path)):
            continue
        problems += _check(cfg, path, value, registries, checked)
    if not problems:  # the data's keypoints are read only from a config that is otherwise sound
        problems += check_head_channels(cfg, data)
    if problems:
        # a list shared by two keys (train_pipeline and data.train.pipeline) is reported once
        unique = {}
        for where, message in problems:
            unique.setdefault((where, message.split(': ', 1)[1]), f'{where}: {message}')
        raise ConfigValidationError('\n'.join(unique.values()))


def file_variables(cfg: Config) -> set:
    """Top-level names other keys were computed from when the config's files were read."""
    load = getattr(cfg, '_load', None)
    return {d.source[0] for d in load.derivations} if load is not None else set()


def _is_logger_hook(path: Path) -> bool:
    """log_config.hooks hold mmcv 1.x logger names, mapped (and checked) by runner_config."""
    return path[:2] == ('log_config', 'hooks')


def _check(cfg: Config, path: Path, spec: dict, registries, checked=frozenset()) -> List[str]:
    name = spec['type']
    obj = find_type(name, registries)
    if obj is None:
        close = closest_names(name, registered_names(registries), n=3)
        hint = f'; closest registered names: {", ".join(close)}' if close else ''
        return [(cfg.where(path + ('type',)),
                 f'{format_path(path)}.type: {name!r} is not registered{hint}')]
    problems = []
    consumed = _CONSUMED.get(path, set())
    args = set(constructor_arguments(obj))
    if hasattr(obj, 'spec_option_keys'):
        option_keys = obj.spec_option_keys(spec)
    else:
        option_keys = getattr(obj, 'option_keys', {}) or {}
    any_keyword = takes_any_keyword(obj)
    for key, value in spec.items():
        if key in ('type', '_scope_') or key in consumed:
            continue
        if not any_keyword and key not in args:
            close = closest_names(key, sorted(args), n=3)
            hint = f'; did you mean {", ".join(close)}?' if close else ''
            problems.append((cfg.where(path + (key,)),
                             f'{format_path(path + (key,))}: {name} does not take {key!r}{hint}'))
        elif key in option_keys and isinstance(value, dict):
            for sub in value:
                if sub not in option_keys[key]:
                    close = closest_names(sub, list(option_keys[key]), n=3)
                    hint = f'; did you mean {", ".join(close)}?' if close else ''
                    problems.append((cfg.where(path + (key, sub)),
                                     f'{format_path(path + (key, sub))}: {name} does not read '
                                     f'{key}.{sub}{hint}'))
    skip = consumed | {k for k in spec if format_path(path + (k,)) in checked}
    return problems + check_argument_types(cfg, path, name, obj, spec, skip)
