"""One registry per role, each a child of mmengine's root registry of that role.

Contract:
- a registry name is the class name (mmengine's default); registering a second class under a
  name that is taken is an error (mmengine raises ``KeyError``);
- ``build`` of an unknown ``type`` raises :class:`UnknownTypeError` listing the closest
  registered names; a constructor argument the class does not take raises
  :class:`UnexpectedArgumentError`;
- a class may declare the keys it reads inside its dict-valued arguments in a class attribute
  ``option_keys = {'test_cfg': ('flip_test', ...)}``; config validation and ``--cfg-options``
  use it so that ``model.test_cfg.use_udp=True`` is accepted on a config that did not set it.

Being children of mmengine's roots, these registries are what mmengine's Runner finds when it
builds from a config with ``default_scope='posecfg'``. Each registry lists the package that holds
its members (``locations``): they are imported the first time a name is looked up, so importing
this module imports neither torch nor the models.
"""
from __future__ import annotations

import difflib
import inspect
from typing import Any, Iterable, Optional, Sequence

from mmengine import registry as mmengine_registry
from mmengine.registry import Registry

SCOPE = 'posecfg'


class UnknownTypeError(KeyError):
    """A config asked for a ``type`` no registry holds."""

    def __str__(self):  # KeyError's str() quotes the message; we want it readable
        return self.args[0] if self.args else ''


class UnexpectedArgumentError(TypeError):
    """A config passed a constructor argument the class does not take."""


class PoseRegistry(Registry):
    """An mmengine Registry whose ``build`` explains what went wrong."""

    def build(self, cfg: dict, *args, **kwargs) -> Any:
        if isinstance(cfg, dict) and isinstance(cfg.get('type'), str):
            cls = self.get(cfg['type'])
            if cls is None:
                raise UnknownTypeError(unknown_type_message(cfg['type'], [self]))
            unknown = unexpected_arguments(cls, [k for k in cfg if k not in ('type', '_scope_')])
            if unknown:
                raise UnexpectedArgumentError(
                    f"{cfg['type']} does not take {', '.join(map(repr, unknown))}; it takes "
                    f'{", ".join(constructor_arguments(cls)) or "no arguments"}')
        return super().build(cfg, *args, **kwargs)


def _child(name: str, parent: Registry, location: str) -> PoseRegistry:
    return PoseRegistry(name, parent=parent, scope=SCOPE, locations=[location])


MODELS = _child('model', mmengine_registry.MODELS, 'posecfg.models')
KEYPOINT_CODECS = PoseRegistry('keypoint codec', scope=SCOPE, locations=['posecfg.codecs'])
DATASETS = _child('dataset', mmengine_registry.DATASETS, 'posecfg.datasets')
TRANSFORMS = _child('transform', mmengine_registry.TRANSFORMS, 'posecfg.transforms')
METRICS = _child('metric', mmengine_registry.METRICS, 'posecfg.evaluation')
HOOKS = _child('hook', mmengine_registry.HOOKS, 'posecfg.engine.hooks')
LOOPS = _child('loop', mmengine_registry.LOOPS, 'posecfg.engine.loops')
OPTIMIZERS = _child('optimizer', mmengine_registry.OPTIMIZERS, 'posecfg.engine.optimizers')
OPTIM_WRAPPERS = _child('optim_wrapper', mmengine_registry.OPTIM_WRAPPERS,
                        'posecfg.engine.optimizers')
PARAM_SCHEDULERS = _child('parameter scheduler', mmengine_registry.PARAM_SCHEDULERS,
                          'posecfg.engine.schedulers')
DATA_SAMPLERS = _child('data sampler', mmengine_registry.DATA_SAMPLERS, 'posecfg.datasets')
FUNCTIONS = _child('function', mmengine_registry.FUNCTIONS, 'posecfg.transforms')
VISBACKENDS = _child('vis_backend', mmengine_registry.VISBACKENDS, 'posecfg.engine')
VISUALIZERS = _child('visualizer', mmengine_registry.VISUALIZERS, 'posecfg.engine.visualizer')


def _scope_only(name: str, parent: Registry) -> Registry:
    """A child with nothing of its own, so that mmengine finds the 'posecfg' scope in every
    registry tree it searches (otherwise it warns and falls back to its root)."""
    return Registry(name, parent=parent, scope=SCOPE)


OPTIM_WRAPPER_CONSTRUCTORS = _scope_only('optimizer wrapper constructor',
                                         mmengine_registry.OPTIM_WRAPPER_CONSTRUCTORS)
LOG_PROCESSORS = _scope_only('log_processor', mmengine_registry.LOG_PROCESSORS)
MODEL_WRAPPERS = _scope_only('model_wrapper', mmengine_registry.MODEL_WRAPPERS)
EVALUATOR = _scope_only('evaluator', mmengine_registry.EVALUATOR)
WEIGHT_INITIALIZERS = _scope_only('weight initializer', mmengine_registry.WEIGHT_INITIALIZERS)
RUNNERS = _scope_only('runner', mmengine_registry.RUNNERS)

#: Every posecfg registry, in the order a bare type name is looked up.
ALL_REGISTRIES: tuple = (MODELS, KEYPOINT_CODECS, DATASETS, TRANSFORMS, METRICS, HOOKS, LOOPS,
                         OPTIMIZERS, OPTIM_WRAPPERS, PARAM_SCHEDULERS, DATA_SAMPLERS, FUNCTIONS,
                         VISBACKENDS, VISUALIZERS)


def _members(registry: Registry) -> dict:
    """Name → object for a registry and its mmengine parent (where torch.optim classes live)."""
    registry.import_from_location()
    members = {}
    if registry.parent is not None:
        members.update(registry.parent.module_dict)
    members.update(registry.module_dict)
    return members


def registered_names(registries: Iterable[Registry] = ALL_REGISTRIES) -> list:
    names = set()
    for registry in registries:
        names.update(_members(registry))
    return sorted(names)


def find_type(name: str, registries: Iterable[Registry] = ALL_REGISTRIES) -> Optional[Any]:
    """The class or function registered as ``name`` in any of ``registries``, else None."""
    for registry in registries:
        obj = _members(registry).get(name)
        if obj is not None:
            return obj
    return None


def closest_names(name: str, candidates: Sequence[str], n: int = 5) -> list:
    """Registered names close to ``name``: difflib matches first, then case-insensitive prefixes."""
    close = difflib.get_close_matches(name, candidates, n=n, cutoff=0.5)
    lowered = name.lower()
    for cand in candidates:
        if len(close) >= n:
            break
        if cand not in close and (cand.lower().startswith(lowered[:4]) or lowered in cand.lower()):
            close.append(cand)
    return close


def unknown_type_message(name: str, registries: Iterable[Registry] = ALL_REGISTRIES) -> str:
    registries = list(registries)
    close = closest_names(name, registered_names(registries))
    where = ', '.join(r.name for r in registries)
    hint = f'; closest registered names: {", ".join(close)}' if close else ''
    return f'type {name!r} is not registered ({where}){hint}'


def constructor_arguments(obj: Any) -> list:
    """Names of the keyword arguments ``obj`` (a class or function) accepts, minus ``self``."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    return [p.name for p in sig.parameters.values()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def takes_any_keyword(obj: Any) -> bool:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return True  # builtins without a signature: we cannot tell, so we do not object
    return any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values())


def unexpected_arguments(obj: Any, names: Iterable[str]) -> list:
    """The subset of ``names`` that ``obj`` does not accept as keyword arguments."""
    if takes_any_keyword(obj):
        return []
    accepted = set(constructor_arguments(obj))
    return [n for n in names if n not in accepted]


def accepts_key(type_name: str, rel_path: Sequence[Any]) -> Optional[bool]:
    """Whether a dict with ``type=type_name`` may hold the (possibly nested) key ``rel_path``.

    ``rel_path`` is relative to that dict: ``('norm_eval',)`` for a constructor argument,
    ``('test_cfg', 'use_udp')`` for a key of a dict-valued argument declared in the class's
    ``option_keys``. Returns None when no registry knows ``type_name``.
    """
    obj = find_type(type_name)
    if obj is None:
        return None
    head = rel_path[0]
    if len(rel_path) == 1:
        return takes_any_keyword(obj) or head in constructor_arguments(obj)
    option_keys = getattr(obj, 'option_keys', {}) or {}
    return len(rel_path) == 2 and rel_path[1] in option_keys.get(head, ())
