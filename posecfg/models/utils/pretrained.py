"""``load_pretrained``: weights from a local file or model zoo into a module, with a report.

Steps: resolve the spec to a local file (:mod:`.model_zoo`), read it without running code
(:mod:`.checkpoint_io`), take the state dict out of its wrapper (``state_dict`` / ``model`` /
plain), strip ``module.``, select the ``backbone.`` part of a whole-model checkpoint (or the
given ``prefix``), let the module convert a foreign layout (``convert_pretrained``), load every
tensor whose name and shape match, and report missing, unexpected and mismatched keys through
mmengine's logger. Loading nothing at all is an error.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.logging import print_log

from .checkpoint_io import read_checkpoint
from .key_mapping import strip_prefix
from .model_zoo import resolve_pretrained

# where trainers and converters put the weights inside a checkpoint dict, in lookup order
# (mmcv/mmengine: state_dict; DeepLabCut 3 snapshots and detectron2: model)
WRAPPER_KEYS = ('state_dict', 'model', 'model_state_dict')


class PretrainedLoadError(RuntimeError):
    """The checkpoint was read but does not fit the module."""


@dataclass
class LoadReport:
    """What :func:`load_pretrained` did."""

    spec: str
    path: str
    layout: str = 'native'
    prefix: Optional[str] = None
    loaded: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mismatched: List[Tuple[str, tuple, tuple]] = field(default_factory=list)


def load_pretrained(module: nn.Module, spec: str, prefix: Optional[str] = None,
                    strict: bool = False, logger=None, *,
                    config_key: str = 'model.pretrained') -> LoadReport:
    """Load the weights named by ``spec`` into ``module``.

    Args:
        module: the model part to fill, usually a backbone.
        spec: a local path or ``torchvision://NAME``, ``mmcls://NAME``, ``open-mmlab://NAME``,
            ``http(s)://...``.
        prefix: take only keys starting with it (e.g. ``'backbone.'``), without it. By default
            a checkpoint of a whole model loaded into a module without ``backbone.`` keys gives
            its ``backbone.`` part; then a leading name that every key shares and the module
            lacks (DeepLabCut's ``model.`` around a timm network) is stripped as well.
        strict: any missing, unexpected or mismatched key is an error instead of a warning.
        logger: an mmengine/logging logger, ``'current'`` (default) or ``'silent'``.
        config_key: the config key ``spec`` came from, named in error messages.

    Returns:
        a :class:`LoadReport`.
    """
    logger = logger or 'current'
    path = resolve_pretrained(spec, config_key=config_key, logger=logger)
    state_dict = extract_state_dict(read_checkpoint(path), path)
    state_dict, prefix = select_prefix(state_dict, module, prefix, path)
    layout = 'native'
    convert = getattr(module, 'convert_pretrained', None)
    if callable(convert):
        state_dict, layout = convert(state_dict)
    report = match_state_dict(module, state_dict)
    report.spec, report.path, report.layout, report.prefix = str(spec), path, layout, prefix
    if all(k.endswith('num_batches_tracked') for k in report.loaded):  # scalars fit anything
        raise PretrainedLoadError(_nothing_matched(module, state_dict, report))
    if strict and (report.missing or report.unexpected or report.mismatched):
        raise PretrainedLoadError(f'{path} does not fit {type(module).__name__} exactly '
                                  f'(strict=True): {_problems(report)}')
    own = module.state_dict()
    module.load_state_dict(OrderedDict((k, state_dict[k]) for k in report.loaded), strict=False)
    _log_report(report, type(module).__name__, len(own), logger)
    return report


def extract_state_dict(checkpoint, path: str) -> 'OrderedDict[str, torch.Tensor]':
    """The tensors of a checkpoint: a plain state dict or one under a wrapper key, with the
    ``module.`` prefix of (Distributed)DataParallel removed."""
    if isinstance(checkpoint, dict):
        for key in WRAPPER_KEYS:
            if isinstance(checkpoint.get(key), dict):
                checkpoint = checkpoint[key]
                break
    if not isinstance(checkpoint, dict):
        raise PretrainedLoadError(f'{path} holds a {type(checkpoint).__name__}, not a state '
                                  f'dict (a dict of tensors)')
    tensors = OrderedDict()
    for key, value in checkpoint.items():
        if isinstance(value, torch.Tensor):
            key = str(key)
            while key.startswith('module.'):
                key = key[len('module.'):]
            tensors[key] = value
    if not tensors:
        raise PretrainedLoadError(
            f'{path} holds no tensors, neither at the top level nor under '
            f'{" / ".join(WRAPPER_KEYS)}; its keys: {_sample(list(checkpoint))}')
    return tensors


def select_prefix(state_dict: dict, module: nn.Module, prefix: Optional[str], path: str
                  ) -> Tuple[dict, Optional[str]]:
    """Keys under ``prefix`` without it; by default ``backbone.`` for a whole-model checkpoint
    loaded into a module that has no ``backbone.`` keys of its own. Returns the state dict and
    the prefix taken off (None when none was)."""
    if prefix is None:
        own_has = any(k.startswith('backbone.') for k in module.state_dict())
        ckpt_has = any(k.startswith('backbone.') for k in state_dict)
        if ckpt_has and not own_has:
            prefix = 'backbone.'
    if prefix:
        prefix = prefix if prefix.endswith('.') else prefix + '.'
        selected = strip_prefix(state_dict, prefix)
        if not selected:
            raise PretrainedLoadError(f'{path}: no key starts with prefix {prefix!r}; its keys '
                                      f'start with {_top_level(state_dict)}')
        state_dict = selected
    state_dict, wrapper = _strip_wrapper(state_dict, module)
    return state_dict, ((prefix or '') + wrapper) or None


def _strip_wrapper(state_dict: dict, module: nn.Module) -> Tuple[dict, str]:
    """Strip leading names that every key shares and the module does not have, e.g. the
    ``model.`` of a backbone that wraps a timm model (DeepLabCut 3: ``backbone.model.conv1``).
    A number is an index into a Sequential (Lightning Pose's ``backbone.0.*``), not a wrapper:
    it is left for the module's ``convert_pretrained``."""
    own_heads = {k.split('.', 1)[0] for k in module.state_dict()}
    stripped = ''
    while True:
        heads = {k.split('.', 1)[0] for k in state_dict}
        if len(heads) != 1 or heads <= own_heads or any('.' not in k for k in state_dict) \
                or next(iter(heads)).isdigit():
            return state_dict, stripped
        head = heads.pop() + '.'
        state_dict = strip_prefix(state_dict, head)
        stripped += head


def match_state_dict(module: nn.Module, state_dict: dict) -> LoadReport:
    """Compare names and shapes; ``num_batches_tracked`` is never reported missing (old
    checkpoints predate it and its value does not matter)."""
    own = module.state_dict()
    report = LoadReport(spec='', path='')
    for key, value in state_dict.items():
        if key not in own:
            report.unexpected.append(key)
        elif tuple(value.shape) != tuple(own[key].shape):
            report.mismatched.append((key, tuple(value.shape), tuple(own[key].shape)))
        else:
            report.loaded.append(key)
    report.missing = [k for k in own if k not in state_dict
                      and not k.endswith('num_batches_tracked')]
    return report


# ------------------------------------------------------------------------ messages
def _log_report(report: LoadReport, name: str, total: int, logger) -> None:
    via = f", prefix {report.prefix!r}" if report.prefix else ''
    print_log(f'loaded {len(report.loaded)}/{total} tensors of {name} from {report.path} '
              f'(layout: {report.layout}{via})', logger=logger, level=logging.INFO)
    if report.missing:
        print_log(f'{name}: not in {report.path}, left as initialised: '
                  f'{_group(report.missing)}', logger=logger, level=logging.WARNING)
    if report.unexpected:
        print_log(f'{name}: ignored keys of {report.path} that {name} does not have: '
                  f'{_group(report.unexpected)}', logger=logger, level=logging.WARNING)
    if report.mismatched:
        print_log(f'{name}: skipped tensors whose shape differs (in {report.path} vs in the '
                  f'model): {_mismatches(report.mismatched)}', logger=logger,
                  level=logging.WARNING)


def _problems(report: LoadReport) -> str:
    parts = []
    if report.missing:
        parts.append(f'missing {_group(report.missing)}')
    if report.unexpected:
        parts.append(f'unexpected {_group(report.unexpected)}')
    if report.mismatched:
        parts.append(f'shape mismatch {_mismatches(report.mismatched)}')
    return '; '.join(parts)


def _mismatches(mismatched: List[Tuple[str, tuple, tuple]], limit: int = 8) -> str:
    shown = ', '.join(f'{k} {list(a)} vs {list(b)}' for k, a, b in mismatched[:limit])
    return shown + (f' … and {len(mismatched) - limit} more' if len(mismatched) > limit else '')


def _nothing_matched(module: nn.Module, state_dict: dict, report: LoadReport) -> str:
    name = type(module).__name__
    shapes = ''
    if report.mismatched:
        key, theirs, ours = report.mismatched[0]
        shapes = (f' {len(report.mismatched)} names match but no shape does (e.g. {key}: '
                  f'{list(theirs)} vs {list(ours)}): weights of another variant?')
    return (f'nothing in {report.path} fits {name} (layout seen: {report.layout}).{shapes} '
            f'Checkpoint keys look like {_sample(list(state_dict))}; {name} expects '
            f'{_sample(list(module.state_dict()))}. Pass prefix= to pick part of a checkpoint, or '
            f'weights made for this architecture')


def _group(keys: List[str], limit: int = 8) -> str:
    """``fc.weight, fc.bias, x.y.w`` → ``fc.{weight,bias}, x.y.{w}``, at most ``limit`` groups."""
    groups: 'OrderedDict[str, List[str]]' = OrderedDict()
    for key in keys:
        owner, _, leaf = key.rpartition('.')
        groups.setdefault(owner, []).append(leaf)
    items = [f'{owner}.{{{",".join(leaves)}}}' if owner else ','.join(leaves)
             for owner, leaves in groups.items()]
    more = f' … and {len(items) - limit} more modules' if len(items) > limit else ''
    return ', '.join(items[:limit]) + more


def _sample(keys: List[str], n: int = 4) -> str:
    more = f', … ({len(keys)} keys)' if len(keys) > n else ''
    return '[' + ', '.join(map(repr, keys[:n])) + more + ']'


def _top_level(state_dict: dict) -> str:
    counts: 'OrderedDict[str, int]' = OrderedDict()
    for key in state_dict:
        head = key.split('.', 1)[0]
        counts[head] = counts.get(head, 0) + 1
    return ', '.join(f'{head}. ({n} keys)' for head, n in counts.items())
