"""``UnfreezeBackboneHook``: the backbone learns nothing until an epoch (or step), then its
learning rate ramps up to the head's — Lightning Pose 2.4.3's ``UnfreezeBackbone`` as a posecfg
hook usable from any config.

What Lightning Pose does (``lightning_pose/callbacks.py:79-196``, ``models/heatmap_tracker.py:
193-205``, ``models/base.py:458-479``):

- the optimizer has two parameter groups, ``[{backbone params, lr: 0, name: 'backbone'},
  {head params, name: 'head'}]``; ``MultiStepLR`` steps both once per epoch;
- at the start of **every training batch** (until the ramp is done) the backbone group's lr is
  set from the epoch index ``e`` (0-based; or the global optimizer step in step mode) and the
  head group's *current* lr ``h`` (after the schedule)::

      e <  unfreeze:  0
      e == unfreeze:  lr0 = initial_ratio · h            (lr0 remembered)
      e >  unfreeze:  min(lr0 · warm_up_ratio ** (e − unfreeze), h)

  with ``initial_ratio = 0.1``, ``warm_up_ratio = 1.5``; the first time the minimum is ``h``
  the callback stops touching the lr: from then on the schedule alone owns it (so the backbone
  group follows ``MultiStepLR`` from ``h`` on).
- "Frozen" is only a zero learning rate: the backbone keeps ``requires_grad=True`` and stays
  in train mode, so **BatchNorm running statistics keep updating** and Adam's moments
  accumulate while the lr is 0 (AdamW's decoupled weight decay is ``lr · wd · p`` = 0 too, so
  the weights do not move). This hook does the same and nothing more to BatchNorm.

posecfg's optimizer (``optimizer=dict(type='Adam', lr=...)``) puts every parameter in one group;
before the run (after the optimizer and schedulers are built, before a checkpoint is resumed)
this hook moves the parameters of ``module`` (default the estimator's ``backbone``) out of
every group that mixes them with others into a group of their own named ``name``, placed
*after* the rest (``[head, backbone]``: mmengine logs group 0's lr as ``train/lr``, which
so stays the head's; this hook logs ``train/backbone_lr``), copying the group's settings and
extending each parameter scheduler's per-group lists, so the schedule applies to both groups
as before. Groups that already hold only backbone parameters (``paramwise_cfg`` makes one group
per parameter) are used as they are. The "head" lr ``h`` is the current lr of the first group
without backbone parameters (Lightning Pose's ``param_groups[1]``); a backbone group whose
initial lr differs from that group's (an ``lr_mult``) ramps towards ``h`` times that ratio.

Lightning Pose ``config.yaml`` → this hook:

- ``training.unfreezing_epoch`` → ``unfreeze_epoch``;
- ``training.unfreezing_step`` (step mode) → ``unfreeze_step`` (optimizer steps: iterations ÷
  ``accumulate_grad_batches``, as Lightning's ``global_step``);
- (fixed in LP: 0.1, 1.5) → ``initial_ratio``, ``warm_up_ratio``;
- the optimizer and schedule need nothing new: ``training.optimizer`` Adam/AdamW and
  ``optimizer_params.learning_rate`` → ``optimizer=dict(type='Adam', lr=...)`` (torch's defaults
  otherwise, as LP: ``models/base.py:465-468``), ``lr_scheduler_params.multisteplr.{milestones,
  gamma}`` → ``lr_config=dict(policy='step', step=[...], gamma=...)`` (MultiStepLR per epoch).

The ramp's state (``lr0``, done) is kept in the message hub, so a resumed run continues it
(Lightning Pose itself fails with an ``AttributeError`` when resumed past the unfreeze epoch).
"""
from __future__ import annotations

from typing import List, Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from posecfg.registry import HOOKS

#: message-hub keys of the ramp's state (saved in checkpoints, restored on resume)
INITIAL_LR_KEY = 'unfreeze_backbone.initial_lrs'
DONE_KEY = 'unfreeze_backbone.done'
#: the per-group lists mmengine 0.10's parameter schedulers keep (``param_scheduler.py``)
PER_GROUP_LISTS = ('base_values', '_last_value', 'min_values')


def optimizer_steps(runner) -> int:
    """Optimizer steps done (Lightning's ``global_step``): iterations ÷ the optimizer
    wrapper's gradient accumulation (``optimizer_config.cumulative_iters``)."""
    counts = getattr(getattr(runner, 'optim_wrapper', None), '_accumulative_counts', 1)
    return runner.iter // max(int(counts or 1), 1)


def split_param_groups(optimizer, inside: set, name: str = 'backbone') -> List[int]:
    """Move the parameters whose ``id`` is in ``inside`` out of every group of ``optimizer``
    that mixes them with others, into a copy of that group placed just after it and named
    ``name``. Returns, for each new group, the index of the group it was copied from in the
    old list (for extending per-group lists); groups are otherwise unchanged."""
    groups, origin = [], []
    for index, group in enumerate(optimizer.param_groups):
        ins = [p for p in group['params'] if id(p) in inside]
        outs = [p for p in group['params'] if id(p) not in inside]
        if ins and outs:
            groups.append(dict(group, params=outs))
            groups.append(dict(group, params=ins, name=name))
            origin += [index, index]
        else:
            if ins:
                group.setdefault('name', name)
            groups.append(group)
            origin.append(index)
    optimizer.param_groups[:] = groups
    return origin


def _extend_scheduler_lists(schedulers, origin: List[int], old_count: int) -> None:
    """Give each parameter scheduler one entry per new group in its per-group lists (the new
    group's entry a copy of the group it came from): mmengine's schedulers keep ``base_values``
    and ``_last_value`` per group."""
    if schedulers is None:
        return
    if isinstance(schedulers, dict):
        raise ValueError('UnfreezeBackboneHook supports a single optimizer, not a dict of '
                         'optimizers with their own schedulers')
    for scheduler in schedulers:
        for attr in PER_GROUP_LISTS:
            value = getattr(scheduler, attr, None)
            if isinstance(value, list) and len(value) == old_count:
                setattr(scheduler, attr, [value[i] for i in origin])


@HOOKS.register_module()
class UnfreezeBackboneHook(Hook):
    """Backbone lr 0 until ``unfreeze_epoch`` (or ``unfreeze_step``), then Lightning Pose's
    ramp to the head's lr (module docstring).

    Args:
        unfreeze_epoch: 0-based epoch index at which the backbone starts learning (0: from the
            start, at ``initial_ratio`` of the head's lr). Exactly one of the two is given.
        unfreeze_step: optimizer step (0-based) at which it starts, for step-mode runs.
        initial_ratio: backbone lr at unfreezing, as a fraction of the head's lr.
        warm_up_ratio: factor per epoch (or step) of the ramp after unfreezing.
        module: attribute of the (unwrapped) model holding the frozen parameters.
        name: name given to their parameter group.
    """

    priority = 'HIGH'  # before the iteration's other hooks read the lr (logging)
    example_args = dict(unfreeze_epoch=1)

    def __init__(self, unfreeze_epoch: Optional[int] = None, unfreeze_step: Optional[int] = None,
                 initial_ratio: float = 0.1, warm_up_ratio: float = 1.5,
                 module: str = 'backbone', name: str = 'backbone'):
        if (unfreeze_epoch is None) == (unfreeze_step is None):
            raise ValueError('UnfreezeBackboneHook needs exactly one of unfreeze_epoch and '
                             f'unfreeze_step, got {unfreeze_epoch!r} and {unfreeze_step!r}')
        at = unfreeze_epoch if unfreeze_step is None else unfreeze_step
        if not isinstance(at, int) or isinstance(at, bool) or at < 0:
            unit = 'epoch' if unfreeze_step is None else 'step'
            raise ValueError(f'UnfreezeBackboneHook unfreeze_{unit} must be an integer >= 0, '
                             f'got {at!r}')
        if not 0 < initial_ratio <= 1:
            raise ValueError(f'UnfreezeBackboneHook initial_ratio must be in (0, 1], got '
                             f'{initial_ratio!r}')
        if not warm_up_ratio > 1:
            raise ValueError(f'UnfreezeBackboneHook warm_up_ratio must be > 1, got '
                             f'{warm_up_ratio!r}')
        self.unfreeze_epoch, self.unfreeze_step = unfreeze_epoch, unfreeze_step
        self.initial_ratio, self.warm_up_ratio = float(initial_ratio), float(warm_up_ratio)
        self.module, self.name = module, name
        self.backbone_groups: List[int] = []
        self.head_group: Optional[int] = None
        self.lr_ratios: List[float] = []

    # -- setup ------------------------------------------------------------------------------
    def before_run(self, runner) -> None:
        # a fresh ramp: state left in the hub by an earlier run of this process goes (a
        # resumed checkpoint brings its own back after this)
        for key in (INITIAL_LR_KEY, DONE_KEY):
            runner.message_hub.pop_info(key)
        if not hasattr(runner, 'optim_wrapper') or not hasattr(runner.optim_wrapper,
                                                               'optimizer'):
            return  # not a training run (mmengine builds the optimizer only in train())
        optimizer = runner.optim_wrapper.optimizer
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        part = getattr(model, self.module, None)
        if part is None:
            raise ValueError(f'UnfreezeBackboneHook: the model ({type(model).__name__}) has no '
                             f'{self.module!r} to freeze (argument module)')
        inside = {id(p) for p in part.parameters()}
        if not any(id(p) in inside for g in optimizer.param_groups for p in g['params']):
            raise ValueError(f'UnfreezeBackboneHook: no parameter of model.{self.module} is in '
                             'the optimizer')
        old_count = len(optimizer.param_groups)
        origin = split_param_groups(optimizer, inside, self.name)
        if len(origin) != old_count:
            _extend_scheduler_lists(getattr(runner, 'param_schedulers', None), origin,
                                    old_count)
        self.backbone_groups = [i for i, g in enumerate(optimizer.param_groups)
                                if all(id(p) in inside for p in g['params'])]
        heads = [i for i, g in enumerate(optimizer.param_groups)
                 if not any(id(p) in inside for p in g['params'])]
        if not heads:
            raise ValueError(f'UnfreezeBackboneHook: every optimized parameter is in '
                             f'model.{self.module}; there is no head lr to ramp towards')
        self.head_group = heads[0]
        head = optimizer.param_groups[self.head_group]
        head_initial = head.get('initial_lr', head['lr'])
        self.lr_ratios = [
            (optimizer.param_groups[i].get('initial_lr', optimizer.param_groups[i]['lr'])
             / head_initial) if head_initial else 1.0 for i in self.backbone_groups]
        runner.logger.info(
            f'UnfreezeBackboneHook: {len(self.backbone_groups)} parameter group(s) of '
            f'model.{self.module} at lr 0 until '
            f'{"epoch" if self.unfreeze_step is None else "step"} '
            f'{self.unfreeze_epoch if self.unfreeze_step is None else self.unfreeze_step}')

    # -- the ramp ---------------------------------------------------------------------------
    def backbone_lr(self, now: int, head_lr: float, initial_lr: Optional[float]):
        """(lr, lr0, done) at epoch or step ``now`` for a head lr ``head_lr``; ``initial_lr``
        is the lr remembered at unfreezing (None before)."""
        at = self.unfreeze_epoch if self.unfreeze_step is None else self.unfreeze_step
        if now < at:
            return 0.0, initial_lr, False
        if now == at or initial_lr is None:
            # None past the unfreeze point: a run resumed from a checkpoint saved before this
            # hook existed; start the ramp here (Lightning Pose would fail)
            initial_lr = self.initial_ratio * head_lr
            return initial_lr, initial_lr, False
        lr = min(initial_lr * self.warm_up_ratio ** (now - at), head_lr)
        return lr, initial_lr, lr == head_lr

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        hub = runner.message_hub
        if not self.backbone_groups:
            return
        optimizer = runner.optim_wrapper.optimizer
        if hub.get_info(DONE_KEY, False):
            hub.update_scalar('train/backbone_lr',
                              optimizer.param_groups[self.backbone_groups[0]]['lr'])
            return
        if self.unfreeze_step is None:
            now = runner.epoch
        else:  # Lightning's global_step counts optimizer steps
            now = optimizer_steps(runner)
        head_lr = optimizer.param_groups[self.head_group]['lr']
        initial = hub.get_info(INITIAL_LR_KEY, None) or [None] * len(self.backbone_groups)
        done = True
        for k, (group, ratio) in enumerate(zip(self.backbone_groups, self.lr_ratios)):
            lr, initial[k], finished = self.backbone_lr(now, head_lr * ratio, initial[k])
            optimizer.param_groups[group]['lr'] = lr
            done = done and finished
        hub.update_scalar('train/backbone_lr',
                          optimizer.param_groups[self.backbone_groups[0]]['lr'])
        if initial[0] is not None:
            hub.update_info(INITIAL_LR_KEY, list(initial))
        if done:
            hub.update_info(DONE_KEY, True)
            runner.logger.info(f'UnfreezeBackboneHook: the backbone lr reached the head lr '
                               f'({head_lr:.6g}); the schedule owns it from now on')
