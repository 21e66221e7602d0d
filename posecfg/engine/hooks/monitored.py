"""Hooks that act on a monitored validation value: ``EarlyStoppingHook`` and
``ModelCheckpointHook`` (Lightning's ``EarlyStopping`` / ``ModelCheckpoint`` as Lightning Pose
2.4.3 uses them, as posecfg hooks usable from any config).

Where the value comes from (``monitor``):
- a name starting with ``val/`` is read from the workflow's validation-loss epoch
  (``workflow=[('train', 1), ('val', 1)]``: :meth:`WorkflowTrainLoop.run_val_loss_epoch` logs
  ``val/loss`` — the sum of the model's ``*loss*`` terms on the val data — and ``val/<term>``
  for each term, and calls ``after_val_loss_epoch(metrics=...)``);
- any other name from the evaluator's metrics after a validation (``AP``, ``EPE``, ``PCK``).
A run that cannot produce it is refused before training; a validation that lacks it is an error
naming the values it has.

Lightning Pose ``config.yaml`` → these hooks (``lightning_pose/callbacks.py:669-704``,
``train.py:385-428``; LP monitors ``val_supervised_loss``, the weighted supervised loss of the
val set, computed every ``check_val_every_n_epoch`` epochs — posecfg's ``val/loss``):

- ``training.early_stopping`` → an ``EarlyStoppingHook(monitor='val/loss', rule='less',
  min_delta=0)`` in ``custom_hooks``; ``training.early_stop_patience`` → its ``patience``;
- ``training.min_epochs`` / ``min_steps`` → its ``min_epochs`` / ``min_steps`` (Lightning only
  stops once they are met); ``training.max_epochs`` → ``total_epochs`` (schema);
- (always) the best checkpoint → ``ModelCheckpointHook(monitor='val/loss', rule='less',
  filename='epoch={epoch_index}-step={step}-best.ckpt')``;
- ``training.ckpt_every_n_epochs`` → ``ModelCheckpointHook(monitor=None, every_n_epochs=n,
  save_top_k=-1, filename='epoch={epoch_index}-step={step}.ckpt')``;
- ``training.check_val_every_n_epoch`` → ``workflow=[('train', n), ('val', 1)]``.

Lightning's rules kept (lightning 2.x ``callbacks/early_stopping.py``, ``model_checkpoint.py``):
an improvement is *strictly* better than the best by more than ``min_delta``; ``patience``
validations without one set a stop flag that stays set, and training stops at the end of the
first epoch where it is set and ``min_epochs`` (``min_steps``) are done; a non-finite value stops
at once (``check_finite``); a best checkpoint replaces the previous one only when strictly
better (NaN counts as the worst value); ``every_n_epochs=n`` saves after epochs n, 2n, ...
Their state (best value, patience count, kept files) lives in the message hub, so it survives
resuming.
"""
from __future__ import annotations

import math
import os.path as osp
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import EarlyStoppingHook as MMEngineEarlyStoppingHook
from mmengine.hooks import Hook
from mmengine.runner import BaseLoop

from posecfg.engine.checkpoint import ATOMIC_BACKEND
from posecfg.engine.runner_config import LESS_IS_BETTER
from posecfg.engine.hooks.backbone_unfreeze import optimizer_steps
from posecfg.files import KeptFiles, remove_stale_temporaries
from posecfg.registry import HOOKS

RULES = ('less', 'greater')


def is_better(rule: str, value: float, best: Optional[float], min_delta: float = 0.0) -> bool:
    """Whether ``value`` improves on ``best`` (None: nothing yet) by more than ``min_delta``
    under ``rule`` (Lightning: ``torch.lt(current + min_delta, best)`` for 'min'); NaN never
    improves."""
    if math.isnan(value):
        return False
    if best is None:
        return True
    return value + min_delta < best if rule == 'less' else value - min_delta > best


class MonitorHook(Hook):
    """Base: routes validation results to :meth:`observe` for the ``monitor`` key (module
    docstring)."""

    def __init__(self, monitor: str, rule: Optional[str] = None):
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f'{type(self).__name__} monitor must name a logged value, e.g. '
                             f"'val/loss' or 'AP', got {monitor!r}")
        if rule is None:  # as save_best: losses and errors are better smaller
            rule = 'less' if any(k in monitor for k in LESS_IS_BETTER) else 'greater'
        if rule not in RULES:
            raise ValueError(f"{type(self).__name__} rule must be 'less' or 'greater', got "
                             f'{rule!r}')
        self.monitor, self.rule = monitor, rule

    @property
    def from_val_loss(self) -> bool:
        return self.monitor is not None and self.monitor.startswith('val/')

    def before_run(self, runner) -> None:
        # fresh state: what an earlier run of this process left in the message hub goes (a
        # resumed checkpoint brings its own back after this, in load_or_resume)
        runner.message_hub.pop_info(self._key)

    def check_source(self, runner) -> None:
        """Refuse a run in which ``monitor`` is never computed."""
        loop = runner.train_loop
        if self.from_val_loss:
            phases = [phase for phase, _ in getattr(loop, 'workflow', ())]
            if 'val' not in phases:
                raise ValueError(
                    f"{type(self).__name__} monitors {self.monitor!r}, a validation loss, but "
                    f"the workflow has no ('val', n) phase: set workflow=[('train', 1), "
                    f"('val', 1)] (and data.val)")
        elif runner.val_loop is None:
            raise ValueError(f'{type(self).__name__} monitors the metric {self.monitor!r}, but '
                             f'this run does not evaluate (no data.val, or --no-validate)')

    def value(self, metrics: dict) -> float:
        if self.monitor not in metrics:
            raise KeyError(f'{type(self).__name__}: {self.monitor!r} is not among the '
                           f'validation values {sorted(metrics)}')
        return float(metrics[self.monitor])

    def after_val_loss_epoch(self, runner, metrics: dict) -> None:
        if self.from_val_loss:
            self.observe(runner, self.value(metrics))

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        # only validations during training (not a stand-alone runner.val())
        if self.monitor is not None and not self.from_val_loss and metrics is not None and \
                isinstance(getattr(runner, '_train_loop', None), BaseLoop):
            self.observe(runner, self.value(metrics))

    def observe(self, runner, value: float) -> None:
        raise NotImplementedError


@HOOKS.register_module()
class EarlyStoppingHook(MonitorHook, MMEngineEarlyStoppingHook):
    """Stop training when ``monitor`` has not improved for ``patience`` validations, as
    Lightning's ``EarlyStopping`` (module docstring). mmengine's arguments, with Lightning's
    defaults and rules (``min_delta=0``, strict improvement, an error when the value is
    missing), plus ``min_epochs``/``min_steps``.

    Args:
        monitor: ``'val/loss'`` (the workflow's validation loss) or a metric name.
        rule: ``'less'`` or ``'greater'`` is better; None: ``'less'`` for names containing
            ``loss``, ``EPE`` or ``NME``, else ``'greater'`` (as ``evaluation.save_best``).
        min_delta: how much better than the best counts as an improvement.
        patience: validations without improvement before stopping.
        min_epochs, min_steps: training never stops before these epochs / optimizer steps
            (iterations ÷ gradient accumulation, Lightning's ``global_step``) are done.
        check_finite: stop at once when the value is NaN or infinite.
        stopping_threshold: stop once the value is better than this.
    """

    priority = 'LOWEST'
    example_args = dict(monitor='EPE', patience=3)  # an evaluator metric, lower is better

    def __init__(self, monitor: str = 'val/loss', rule: Optional[str] = None,
                 min_delta: float = 0.0, patience: int = 5, min_epochs: int = 0, min_steps: int = 0,
                 check_finite: bool = True, stopping_threshold: Optional[float] = None,
                 strict: bool = True):
        MonitorHook.__init__(self, monitor, rule)
        if not isinstance(patience, int) or patience < 1:
            raise ValueError(f'EarlyStoppingHook patience must be an integer >= 1, got '
                             f'{patience!r}')
        if min_delta < 0:
            raise ValueError(f'EarlyStoppingHook min_delta must be >= 0, got {min_delta!r}')
        if not strict:
            raise ValueError('EarlyStoppingHook strict=False (skipping validations without '
                             'the monitored value) is not supported: a missing value is an '
                             'error')
        self.min_delta, self.patience = float(min_delta), patience
        self.min_epochs, self.min_steps = int(min_epochs or 0), int(min_steps or 0)
        self.check_finite, self.stopping_threshold = check_finite, stopping_threshold
        self.strict = True
        self._key = f'early_stopping.{monitor}'

    def before_train(self, runner) -> None:
        self.check_source(runner)

    def _state(self, runner) -> dict:
        return dict(runner.message_hub.get_info(self._key, None)
                    or dict(best=None, wait=0, stop=False))

    def observe(self, runner, value: float) -> None:
        state = self._state(runner)
        reason = None
        if self.check_finite and not math.isfinite(value):
            reason = f'{self.monitor} = {value} is not finite'
        elif self.stopping_threshold is not None and is_better(self.rule, value,
                                                               self.stopping_threshold):
            reason = f'{self.monitor} = {value:.6g} passed stopping_threshold ' \
                     f'{self.stopping_threshold}'
        elif is_better(self.rule, value, state['best'], self.min_delta):
            state.update(best=value, wait=0)
        else:
            state['wait'] += 1
            if state['wait'] >= self.patience:
                reason = (f'{self.monitor} did not improve in the last {state["wait"]} '
                          f'validations (best {state["best"]:.6g})')
        if reason and not state['stop']:
            state['stop'] = True
            runner.logger.info(f'EarlyStoppingHook: {reason}; stopping')
        runner.message_hub.update_info(self._key, state)
        self._maybe_stop(runner, state)

    def after_train_epoch(self, runner) -> None:
        self._maybe_stop(runner, self._state(runner), epochs_done=runner.epoch + 1)

    def _maybe_stop(self, runner, state: dict, epochs_done: Optional[int] = None) -> None:
        if not state['stop']:
            return
        epochs = runner.epoch if epochs_done is None else epochs_done
        if epochs >= self.min_epochs and optimizer_steps(runner) >= self.min_steps:
            runner.train_loop.stop_training = True


@HOOKS.register_module()
class ModelCheckpointHook(MonitorHook):
    """Lightning's ``ModelCheckpoint`` as Lightning Pose uses it (module docstring): with a
    ``monitor``, the best checkpoint by that value (one file, replaced when a validation is
    strictly better); without, a checkpoint every ``every_n_epochs`` epochs, the newest
    ``save_top_k`` kept (-1: all). Files are written completely before anything they replace
    is deleted (:class:`posecfg.files.KeptFiles`).

    Args:
        monitor: ``'val/loss'``, a metric name, or None for periodic checkpoints.
        rule: as :class:`EarlyStoppingHook`'s.
        filename: a ``str.format`` template with ``{epoch}`` (epochs done, mmengine's count),
            ``{epoch_index}`` (0-based index of the last epoch, Lightning's ``{epoch}``),
            ``{step}`` (optimizer steps done: Lightning's ``global_step``), ``{monitor}``
            (the value) and ``{monitor_name}``
            (the monitored key, ``/`` replaced by ``_``).
        every_n_epochs: periodic checkpoints after epochs n, 2n, ... (monitor None).
        save_top_k: periodic checkpoints kept (-1 all); 1 for the best checkpoint.
        out_dir: folder of the files (default the work dir).
        save_optimizer: store the optimizer state too (Lightning does).
    """

    priority = 'VERY_LOW'
    example_args = dict(monitor='EPE')

    def __init__(self, monitor: Optional[str] = 'val/loss', rule: Optional[str] = None,
                 filename: Optional[str] = None, every_n_epochs: int = 1, save_top_k: int = 1,
                 out_dir: Optional[str] = None, save_optimizer: bool = True):
        if monitor is not None:
            MonitorHook.__init__(self, monitor, rule)
            if save_top_k != 1:
                raise ValueError(f'ModelCheckpointHook with a monitor keeps the one best '
                                 f'checkpoint (save_top_k=1), got save_top_k={save_top_k!r}')
        else:
            self.monitor, self.rule = None, None
        if not isinstance(every_n_epochs, int) or every_n_epochs < 1:
            raise ValueError(f'ModelCheckpointHook every_n_epochs must be an integer >= 1, got '
                             f'{every_n_epochs!r}')
        if filename is None:
            filename = ('best_{monitor_name}_epoch_{epoch}.pth' if monitor is not None
                        else 'checkpoint_epoch_{epoch}.pth')
        self.filename = filename
        self.every_n_epochs, self.save_top_k = every_n_epochs, save_top_k
        self.out_dir, self.save_optimizer = out_dir, save_optimizer
        self._key = f'model_checkpoint.{monitor or "every_" + str(every_n_epochs)}'
        try:
            self.name_for(epoch=1, step=1, value=0.0)
        except (KeyError, IndexError, ValueError) as err:
            raise ValueError(f'ModelCheckpointHook filename {filename!r}: {err!r}; it may use '
                             '{epoch}, {epoch_index}, {step}, {monitor}') from None

    def name_for(self, epoch: int, step: int, value: Optional[float]) -> str:
        return self.filename.format(epoch=epoch, epoch_index=epoch - 1, step=step,
                                    monitor=value, monitor_name=(self.monitor or '').replace(
                                        '/', '_'))

    def before_train(self, runner) -> None:
        self.out_dir = self.out_dir or runner.work_dir
        if self.monitor is not None:
            self.check_source(runner)
        if is_main_process():
            remove_stale_temporaries(self.out_dir)

    def _save(self, runner, name: str, epochs_done: int) -> None:
        """Write the checkpoint ``name`` completely (temporary file, renamed into place)."""
        runner.save_checkpoint(self.out_dir, name, save_optimizer=self.save_optimizer,
                               save_param_scheduler=self.save_optimizer,
                               meta=dict(epoch=epochs_done, iter=runner.iter), by_epoch=False,
                               backend_args=dict(backend=ATOMIC_BACKEND))

    def observe(self, runner, value: float) -> None:
        state = dict(runner.message_hub.get_info(self._key, None) or dict(best=None, file=None))
        if math.isnan(value):  # Lightning: NaN is the worst value ('min': +inf)
            value = math.inf if self.rule == 'less' else -math.inf
        if state['file'] is not None and not is_better(self.rule, value, state['best']):
            return
        name = self.name_for(runner.epoch, optimizer_steps(runner), value)
        # complete and in place before the previous best goes
        self._save(runner, name, runner.epoch)
        previous = state['file']
        state.update(best=value, file=name)
        runner.message_hub.update_info(self._key, state)
        if is_main_process() and previous and previous != name:
            KeptFiles(self.out_dir).retire(previous)
        runner.logger.info(f'ModelCheckpointHook: best {self.monitor} {value:.6g} at epoch '
                           f'{runner.epoch}: {osp.join(self.out_dir, name)}')

    def after_train_epoch(self, runner) -> None:
        if self.monitor is not None:
            return
        epochs_done = runner.epoch + 1  # runner.epoch counts up after this hook
        if epochs_done % self.every_n_epochs:
            return
        names = list(runner.message_hub.get_info(self._key, None) or [])
        name = self.name_for(epochs_done, optimizer_steps(runner), None)
        kept = KeptFiles(self.out_dir, self.save_top_k, names=names)
        self._save(runner, name, epochs_done)
        if is_main_process():
            kept.add(name)
        runner.message_hub.update_info(self._key, kept.names)
