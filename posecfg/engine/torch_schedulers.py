"""DeepLabCut 3's learning-rate schedulers as posecfg parameter schedulers.

DeepLabCut (``runner.scheduler`` in ``pytorch_config.yaml``) builds ``LRListScheduler`` or any
``torch.optim.lr_scheduler`` class by name from ``{type, params}``; a parameter that is itself a
``{type, params}`` dict (or a list of them) is built as a scheduler on the same optimizer first,
which is how ``SequentialLR``/``ChainedScheduler`` get their sub-schedulers
(deeplabcut/pose_estimation_pytorch/runners/schedulers.py:62-99, DLC 3.0.1). It steps the
scheduler once after every training epoch, before evaluating (runners/train.py:221-223), and on
resume loads its state dict and puts ``get_last_lr()`` into the optimizer's groups
(schedulers.py:102-131); when that fails or ``load_scheduler_state_dict`` is false it sets
``last_epoch`` to the snapshot's epoch instead (train.py:323-342).

Why an mmengine parameter scheduler (``param_scheduler=[dict(type='TorchLRScheduler', ...)]``)
and not a hook: mmengine already steps ``by_epoch`` schedulers after every training epoch
(``ParamSchedulerHook``), saves their ``state_dict()`` in checkpoints and loads them on resume,
and :class:`posecfg.engine.PoseRunner` rebuilds and advances them when a resumed config changes
the schedule. :class:`TorchLRScheduler` only adapts a torch scheduler to that protocol
(``by_epoch``, ``step``, ``state_dict``, ``load_state_dict``), so it gets all of this, works
next to mmengine's own schedulers and from any ``.py`` config. Its ``state_dict()`` is the torch
scheduler's own, which is what DeepLabCut stores under a snapshot's ``scheduler`` key.

DeepLabCut key → posecfg:

=================================================  ==============================================
``runner.scheduler.type`` / ``.params``             ``TorchLRScheduler(scheduler=dict(type=...,
                                                    params=...))`` (nested dicts as in the yaml)
``LRListScheduler`` ``milestones``, ``lr_list``     the same inside ``scheduler``, or
                                                    ``dict(type='LRListScheduler', milestones=...,
                                                    lr_list=...)`` directly
``runner.load_scheduler_state_dict``                ``load_scheduler_state_dict`` (both classes)
=================================================  ==============================================

``ReduceLROnPlateau`` is refused: DeepLabCut steps its scheduler without a metric, which that
class cannot take.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Sequence

import torch
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper
from mmengine.optim.scheduler.param_scheduler import _ParamScheduler

from posecfg.registry import PARAM_SCHEDULERS


class LRList(torch.optim.lr_scheduler.LRScheduler):
    """DeepLabCut's ``LRListScheduler`` as a torch scheduler: at step ``milestones[i]`` the
    learning rates of the parameter groups become ``lr_list[i]`` (one value per group); between
    milestones they stay (schedulers.py:19-59).

    Args:
        milestones: epochs (scheduler steps) at which the rates change, e.g. ``[10, 430]``.
        lr_list: per milestone, the list of rates of the groups, e.g. ``[[5e-5], [1e-5]]``.
    """

    def __init__(self, optimizer, milestones: Sequence[int], lr_list: Sequence[Sequence[float]],
                 last_epoch: int = -1):
        milestones, lr_list = [int(m) for m in milestones], [list(v) for v in lr_list]
        if len(milestones) != len(lr_list):
            raise ValueError(f'LRListScheduler: {len(milestones)} milestones but '
                             f'{len(lr_list)} entries in lr_list; give one list of rates per '
                             f'milestone')
        groups = len(optimizer.param_groups)
        for milestone, lrs in zip(milestones, lr_list):
            if len(lrs) != groups:
                raise ValueError(f'LRListScheduler: lr_list entry {lrs} for milestone '
                                 f'{milestone} has {len(lrs)} rates, the optimizer has {groups} '
                                 f'parameter group(s)')
        self.milestones, self.lr_list = milestones, lr_list
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        if self.last_epoch in self.milestones:
            return [float(lr) for lr in self.lr_list[self.milestones.index(self.last_epoch)]]
        return [group['lr'] for group in self.optimizer.param_groups]


def build_torch_scheduler(cfg: Dict[str, Any], optimizer: torch.optim.Optimizer, where: str =
                          'scheduler') -> torch.optim.lr_scheduler.LRScheduler:
    """A torch scheduler from DeepLabCut's ``{type, params}``; parameters that are such dicts
    (or lists of them) are built first on the same optimizer. ``where`` names the config key in
    errors."""
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise ValueError(f'{where} must be a dict with a type (a torch.optim.lr_scheduler class '
                         f'or LRListScheduler) and params, got {cfg!r}')
    unknown = set(cfg) - {'type', 'params'}
    if unknown:
        raise ValueError(f'{where}: unknown key(s) {sorted(unknown)}; a scheduler is '
                         f'dict(type=..., params=dict(...))')
    name = cfg['type']
    if name == 'LRListScheduler':
        cls = LRList
    elif name == 'ReduceLROnPlateau':
        raise ValueError(f'{where}.type=ReduceLROnPlateau needs a metric at every step; '
                         f'DeepLabCut steps its scheduler without one, so it cannot be used')
    else:
        cls = getattr(torch.optim.lr_scheduler, str(name), None)
        if not (isinstance(cls, type) and issubclass(cls, torch.optim.lr_scheduler.LRScheduler)):
            names = sorted(n for n, c in vars(torch.optim.lr_scheduler).items()
                           if isinstance(c, type) and n[0] != '_' and
                           issubclass(c, torch.optim.lr_scheduler.LRScheduler))
            raise ValueError(f'{where}.type={name!r} is neither LRListScheduler nor a '
                             f'torch.optim.lr_scheduler class ({", ".join(names)})')
    params = {}
    for key, value in (cfg.get('params') or {}).items():
        here = f'{where}.params.{key}'
        if isinstance(value, (list, tuple)):
            value = [build_torch_scheduler(v, optimizer, f'{here}.{i}')
                     if isinstance(v, dict) and 'type' in v else v for i, v in enumerate(value)]
        elif isinstance(value, dict) and 'type' in value:
            value = build_torch_scheduler(value, optimizer, here)
        params[key] = value
    try:
        return cls(optimizer=optimizer, **params)
    except TypeError as err:
        raise ValueError(f'{where}: {name}({", ".join(params)}) does not build: {err}') from err


@PARAM_SCHEDULERS.register_module()
class TorchLRScheduler(_ParamScheduler):
    """Any torch learning-rate scheduler (DeepLabCut's ``runner.scheduler``), stepped once after
    every training epoch by mmengine's ``ParamSchedulerHook``.

    Args:
        optimizer: the optimizer or mmengine optimizer wrapper (given by the runner; None: a
            one-parameter SGD, for building from ``example_args`` alone).
        scheduler: ``dict(type=<torch.optim.lr_scheduler class or 'LRListScheduler'>,
            params=dict(...))``, nested for ``SequentialLR``/``ChainedScheduler``.
        load_scheduler_state_dict: on resume, load the saved state (DeepLabCut's default); when
            false, or when the saved state does not load, only ``last_epoch`` is set to the
            saved one and the rates are left as they are, as DeepLabCut does.
        end, epoch_length: given by mmengine's runner to every scheduler; unused (the torch
            scheduler's own parameters say how it changes over the whole run).

    A ``_ParamScheduler`` by type only (mmengine's resume accepts nothing else) whose every
    method is the torch scheduler's; ``_ParamScheduler.__init__`` is not run.
    """

    example_args = dict(scheduler=dict(type='StepLR', params=dict(step_size=2, gamma=0.5)))
    by_epoch = True

    def __init__(self, optimizer=None, scheduler: Optional[Dict[str, Any]] = None,
                 load_scheduler_state_dict: bool = True, end: Optional[int] = None,
                 epoch_length: Optional[int] = None):
        if optimizer is None:
            optimizer = _example_optimizer()
        if isinstance(optimizer, OptimWrapper):
            optimizer = optimizer.optimizer
        self.optimizer = optimizer
        self.param_name = 'lr'
        self.load_scheduler_state_dict = bool(load_scheduler_state_dict)
        if scheduler is None:
            raise ValueError('TorchLRScheduler needs scheduler=dict(type=..., params=...)')
        self.scheduler = build_torch_scheduler(scheduler, optimizer)

    def step(self) -> None:
        self.scheduler.step()

    def get_last_lr(self) -> List[float]:
        return self.scheduler.get_last_lr()

    get_last_value = get_last_lr

    def _get_value(self) -> List[float]:
        return self.scheduler.get_last_lr()

    @property
    def last_step(self) -> int:
        return self.scheduler.last_epoch

    def state_dict(self) -> Dict[str, Any]:
        return self.scheduler.state_dict()

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """DeepLabCut's resume rule (module docstring). A state holding only ``last_epoch``
        (what a snapshot without a ``scheduler`` key converts to) sets just that."""
        if self.load_scheduler_state_dict and set(state) != {'last_epoch'}:
            try:
                self.scheduler.load_state_dict(state)
                lrs = self.scheduler.get_last_lr()
                groups = self.optimizer.param_groups
                if len(lrs) != len(groups):
                    raise ValueError(f'{len(lrs)} learning rates saved for {len(groups)} '
                                     f'parameter groups')
                for group, lr in zip(groups, lrs):
                    group['lr'] = lr
                return
            except Exception as err:  # noqa: BLE001  (DeepLabCut: any failure → restart rule)
                print_log(f'the saved scheduler state does not load ({err}); the scheduler '
                          f'continues from epoch {state.get("last_epoch")} with the current '
                          f'learning rates (has the scheduler config changed?)',
                          logger='current', level=logging.WARNING)
        if 'last_epoch' in state:
            self.scheduler.last_epoch = int(state['last_epoch'])


@PARAM_SCHEDULERS.register_module()
class LRListScheduler(TorchLRScheduler):
    """DeepLabCut's ``LRListScheduler`` (:class:`LRList`) as a posecfg parameter scheduler:
    ``dict(type='LRListScheduler', milestones=[10, 430], lr_list=[[5e-5], [1e-5]])``."""

    example_args = dict(milestones=[1, 2], lr_list=[[1e-3], [1e-4]])

    def __init__(self, optimizer=None, milestones: Sequence[int] = (),
                 lr_list: Sequence[Sequence[float]] = (),
                 load_scheduler_state_dict: bool = True, end: Optional[int] = None,
                 epoch_length: Optional[int] = None):
        super().__init__(optimizer, dict(type='LRListScheduler', params=dict(
            milestones=list(milestones), lr_list=[list(v) for v in lr_list])),
            load_scheduler_state_dict, end, epoch_length)


def _example_optimizer() -> torch.optim.Optimizer:
    """One parameter under SGD: what a scheduler built without a runner (a registry check) is
    attached to."""
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
