"""Resuming with the config the user gives now, compared with the one the checkpoint was made by.

A checkpoint carries its run's resolved config (``meta['cfg']``, posecfg's Python text). On
``resume_from`` the two are compared key by key and every difference is either

- **refused**, with the reason: a changed optimizer type or parameter grouping (the optimizer
  state in the checkpoint belongs to the old optimizer; start from its weights with
  ``load_from`` instead), or a changed model whose weights no longer fit (reported with the
  changed keys by the strict weight check, :mod:`posecfg.engine.weights`);
- **applied** and logged as ``changed since the checkpoint: key old → new``: learning rate and
  other optimizer hyperparameters, ``lr_config``, ``total_epochs``, ``param_scheduler`` are put
  into the resumed optimizer's parameter groups and the schedules are rebuilt from the new config
  and advanced to the checkpoint's epoch and iteration, exactly as an uninterrupted run with that
  config would have stepped them (mmengine would load the old schedule over the new one and keep
  the old learning rate);
- **kept from the checkpoint** and logged: ``seed`` (the sample order and augmentation continue
  the checkpoint's stream).

The checkpoint's text is parsed with :mod:`ast` as literals only: nothing in it is executed.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any, Dict, List, Tuple

from posecfg.config import ConfigError

#: keys that differ between a run and its resumption by nature
IGNORED = frozenset({'resume_from', 'load_from', 'load_partial', 'work_dir', 'gpu_ids', 'launcher',
                     'resume', 'experiment_name'})
#: changes the resumed optimizer state cannot follow
REFUSED = {
    'optimizer.type': 'the optimizer state in the checkpoint belongs to the old optimizer',
    'optimizer.paramwise_cfg': 'the optimizer state in the checkpoint is grouped the old way',
    'optim_wrapper.optimizer.type': 'the optimizer state in the checkpoint belongs to the old '
                                    'optimizer',
    'optim_wrapper.paramwise_cfg': 'the optimizer state in the checkpoint is grouped the old way',
}
#: changes after which the learning-rate schedule is rebuilt from the new config
RESCHEDULE = ('optimizer', 'optim_wrapper', 'lr_config', 'total_epochs', 'param_scheduler')
#: changes that are not applied: the checkpoint's value is kept, for the reason given
KEPT = {'seed': "the run keeps the checkpoint's seed so that its sample order and augmentation "
                'continue where they stopped'}

Change = Tuple[str, Any, Any]


class ResumeConfigError(ConfigError):
    """The config asks for something a resumed run cannot do."""


@dataclass
class ResumePlan:
    """How the config given now differs from the checkpoint's (dotted key, old, new)."""

    changes: List[Change] = field(default_factory=list)

    def _with_prefix(self, prefixes) -> List[Change]:
        return [c for c in self.changes if any(c[0] == p or c[0].startswith(p + '.')
                                               for p in prefixes)]

    @property
    def refused(self) -> List[Tuple[Change, str]]:
        return [(c, reason) for prefix, reason in REFUSED.items()
                for c in self._with_prefix([prefix])]

    @property
    def kept(self) -> List[Tuple[Change, str]]:
        return [(c, reason) for prefix, reason in KEPT.items() for c in self._with_prefix([prefix])]

    @property
    def model(self) -> List[Change]:
        return self._with_prefix(['model'])

    @property
    def reschedule(self) -> bool:
        return bool(self._with_prefix(RESCHEDULE))

    @property
    def applied(self) -> List[Change]:
        kept = {c[0] for c, _ in self.kept}
        return [c for c in self.changes if c[0] not in kept]


def plan_resume(checkpoint_cfg_text: str, current_cfg_text: str) -> ResumePlan:
    """Compare two resolved configs (posecfg's Python text); raise :class:`ResumeConfigError`
    for a change a resumed run cannot follow."""
    plan = ResumePlan(changes=[c for c in diff(parse_config_text(checkpoint_cfg_text),
                                               parse_config_text(current_cfg_text))
                               if c[0].split('.')[0] not in IGNORED])
    if plan.refused:
        lines = '\n'.join(f'  {key}: {_short(old)} → {_short(new)} ({reason})'
                          for (key, old, new), reason in plan.refused)
        raise ResumeConfigError(
            f'cannot resume: the config changed since the checkpoint in a way the checkpoint\'s '
            f'optimizer state cannot follow:\n{lines}\nTo train on from its weights with the new '
            f'optimizer, use load_from=<checkpoint> instead of resume_from (the epoch count then '
            f'starts again)')
    return plan


def describe(plan: ResumePlan) -> List[str]:
    """Log lines for the changes that are applied and those that are not."""
    lines = []
    if plan.applied:
        lines.append('changed since the checkpoint (applied): ' + '; '.join(
            f'{key} {_short(old)} → {_short(new)}' for key, old, new in plan.applied))
    for (key, old, new), reason in plan.kept:
        lines.append(f'changed since the checkpoint but not applied: {key} {_short(old)} → '
                     f'{_short(new)}: {reason}')
    return lines


# -- the resolved config text, read as literals ----------------------------------------------
class Unreadable(str):
    """A value of the checkpoint's config that is not a literal (kept as its source text)."""


def parse_config_text(text: str) -> Dict[str, Any]:
    """``{name: value}`` of the top-level assignments of a resolved config, without running it."""
    out: Dict[str, Any] = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name):
            try:
                out[node.targets[0].id] = _literal(node.value)
            except ValueError:
                out[node.targets[0].id] = Unreadable(ast.unparse(node.value))
    return out


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = [_literal(e) for e in node.elts]
        return {ast.List: list, ast.Tuple: tuple, ast.Set: set}[type(node)](items)
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise ValueError('** in a dict')
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand)
        return -value if isinstance(node.op, ast.USub) else +value
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id == 'dict' and not node.args and all(k.arg for k in node.keywords):
            return {k.arg: _literal(k.value) for k in node.keywords}
        if node.func.id == 'float' and len(node.args) == 1 and not node.keywords:
            return float(_literal(node.args[0]))
    raise ValueError(f'not a literal: {ast.unparse(node)}')


def diff(old: Any, new: Any, prefix: str = '') -> List[Change]:
    """(dotted key, old, new) for every leaf that differs; a missing key is ``<unset>``."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in list(old) + [k for k in new if k not in old]:
            path = f'{prefix}.{key}' if prefix else str(key)
            out += diff(old.get(key, _UNSET), new.get(key, _UNSET), path)
        return out
    if isinstance(old, (list, tuple)) and isinstance(new, (list, tuple)) and \
            len(old) == len(new) and type(old) is type(new):
        out = []
        for i, (a, b) in enumerate(zip(old, new)):
            out += diff(a, b, f'{prefix}.{i}')
        return out
    return [] if _same(old, new) else [(prefix, old, new)]


class _Unset:
    def __repr__(self):
        return '<unset>'


_UNSET = _Unset()


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True  # nan
    return type(a) is type(b) and a == b or (
        isinstance(a, (int, float)) and isinstance(b, (int, float))
        and not isinstance(a, bool) and not isinstance(b, bool) and a == b)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + '…'
