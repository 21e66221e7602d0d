"""``DLCSnapshotHook``: DeepLabCut 3's snapshots (names, contents, keeping rules) from a posecfg
run.

The rules, from DeepLabCut's ``TorchSnapshotManager.update``
(deeplabcut/pose_estimation_pytorch/runners/snapshots.py:78-127, DLC 3.0.1) and the training
loop that calls it after every epoch, after the scheduler step and the evaluation
(runners/train.py:218-235):

1. If the epoch's metrics hold ``metrics/{key_metric}``, not NaN, better than the best so far
   (greater when ``key_metric_asc``, smaller otherwise; strictly), the snapshot is written as
   ``{prefix}-best-{epoch:03d}.pt``; the previous best is then renamed to
   ``{prefix}-{epoch:03d}.pt`` when its epoch is a multiple of ``save_epochs``, else deleted.
   No regular snapshot is written for that epoch.
2. Otherwise, on the last epoch or when ``epoch % save_epochs == 0``, ``{prefix}-{epoch:03d}.pt``
   is written.
3. Then the regular (non-best) snapshots in the folder beyond the newest ``max_snapshots`` (by
   epoch) are deleted; the best does not count.

Metrics are those of the last evaluation (DeepLabCut keeps them on epochs without one, which
can never beat the best again, the comparison being strict). Evaluation runs when posecfg's train
loop runs it: every ``evaluation.interval`` epochs (DeepLabCut's ``eval_interval``) and, unlike
DeepLabCut, also after the last epoch. A ``key_metric`` the evaluation does not return is an
error naming the metrics it does return (DeepLabCut silently saves no best snapshot).

A snapshot holds DeepLabCut's dict (train.py:139-153): ``metadata`` = ``dict(epoch, metrics,
losses)``, ``model`` (the model's state dict under DeepLabCut's ``PoseModel`` key names,
``backbone.model.…`` / ``heads.<name>.…``: :mod:`posecfg.models.dlc_keys`), ``optimizer`` (only with
``save_optimizer_state``, snapshots.py:105) and ``scheduler`` (the single scheduler's state; a
list when the run has several). ``metadata['posecfg']`` adds what an exact resume needs and
DeepLabCut ignores: ``iter``, ``seed``, ``cfg`` (the resolved config text). Everything is plain
data: DeepLabCut's ``torch.load(weights_only=True)`` reads it.

What posecfg does better: every file is written to a temporary name and renamed into place, and
a file is deleted or renamed only after its replacement is complete (:mod:`posecfg.files`), so a
``kill -9`` never loses the newest snapshot; stale temporaries are removed when training starts;
a resumed run reads the best value back from the ``-best-`` snapshot on disk (DeepLabCut starts
again from none and replaces a better best with a worse one). Resuming from a snapshot
(``resume_from=.../snapshot-005.pt``) goes through :func:`checkpoint_from_snapshot`, which
:class:`posecfg.engine.PoseRunner` applies to any checkpoint in DeepLabCut's layout.

DeepLabCut key → argument:

===============================================  =========================================
``runner.snapshots.max_snapshots``                ``max_snapshots``
``runner.snapshots.save_epochs``                  ``save_epochs``
``runner.snapshots.save_optimizer_state``         ``save_optimizer_state``
``runner.key_metric`` (e.g. ``test.rmse``)        ``key_metric``: the name posecfg's evaluator
                                                  returns (e.g. ``rmse``), with ``metric_names``
                                                  mapping it to DeepLabCut's (``test.rmse``)
``runner.key_metric_asc``                         ``key_metric_asc``
``runner.eval_interval``                          not here: ``evaluation.interval`` (the train
                                                  loop's ``val_interval``)
``resume_training_from``                          ``resume_from`` (any run reads snapshots)
the train folder                                  ``out_dir`` (default: the work dir)
===============================================  =========================================
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop

from posecfg.config import ConfigError
from posecfg.files import KeptFiles, remove_stale_temporaries, write_atomically
from posecfg.models.dlc_keys import to_dlc_state_dict
from posecfg.registry import HOOKS

from .dlc_records import EpochLosses, dlc_metrics, finished_epoch_validates


@dataclass(frozen=True)
class Snapshot:
    """A snapshot file in a train folder."""

    name: str
    epoch: int
    best: bool


def list_snapshots(folder: str, prefix: str = 'snapshot') -> List[Snapshot]:
    """The ``{prefix}[-best]-NNN.pt`` files in ``folder``, by epoch (DeepLabCut's pattern,
    deeplabcut/pose_estimation_pytorch/data/snapshots.py:72)."""
    pattern = re.compile(r'^' + re.escape(prefix) + r'(-best)?-(\d+)\.pt$')
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    found = [Snapshot(n, int(m[2]), bool(m[1])) for n in names for m in [pattern.match(n)] if m]
    return sorted(found, key=lambda s: (s.epoch, s.best))


def latest_snapshot(folder: str, prefix: str = 'snapshot') -> Optional[str]:
    """Path of the snapshot of the highest epoch (best or not), as DeepLabCut's ``last()``."""
    snapshots = list_snapshots(folder, prefix)
    return os.path.join(folder, snapshots[-1].name) if snapshots else None


def snapshot_name(prefix: str, epoch: int, best: bool = False) -> str:
    return f'{prefix}-{"best-" if best else ""}{epoch:03d}.pt'


def is_dlc_snapshot(checkpoint: Any) -> bool:
    return isinstance(checkpoint, dict) and 'model' in checkpoint and \
        'metadata' in checkpoint and 'state_dict' not in checkpoint


def checkpoint_from_snapshot(snapshot: Mapping, iters_per_epoch: Optional[int] = None) -> dict:
    """A DeepLabCut snapshot dict → the checkpoint layout mmengine's resume reads.

    ``state_dict`` = ``model``; ``meta`` = epoch, iteration (``metadata['posecfg']['iter']``, or
    ``epoch * iters_per_epoch`` for DeepLabCut's own snapshots), seed and config text when
    posecfg wrote them; ``optimizer`` when saved; ``param_schedulers`` = the ``scheduler`` state
    (a list for several), or ``[{'last_epoch': epoch}]`` when none was saved, which
    :class:`~posecfg.engine.torch_schedulers.TorchLRScheduler` reads as DeepLabCut's fallback
    (``last_epoch`` = the snapshot's epoch, train.py:340-342); an empty message hub.
    """
    metadata = snapshot.get('metadata') or {}
    epoch = int(metadata.get('epoch', 0))
    extra = metadata.get('posecfg') or {}
    meta: Dict[str, Any] = dict(epoch=epoch, iter=int(extra.get(
        'iter', epoch * iters_per_epoch if iters_per_epoch else 0)))
    for key in ('seed', 'cfg'):
        if extra.get(key) is not None:
            meta[key] = extra[key]
    out = dict(state_dict=snapshot['model'], meta=meta,
               message_hub=dict(log_scalars={}, runtime_info={}, resumed_keys={}))
    if 'optimizer' in snapshot:
        out['optimizer'] = snapshot['optimizer']
    scheduler = snapshot.get('scheduler')
    out['param_schedulers'] = [dict(last_epoch=epoch)] if scheduler is None else \
        scheduler if isinstance(scheduler, (list, dict)) and not _is_state(scheduler) \
        else [scheduler]
    return out


def _is_state(scheduler) -> bool:
    """One scheduler's state dict (not a list or a name → list mapping of several)."""
    return isinstance(scheduler, dict) and 'last_epoch' in scheduler


@HOOKS.register_module()
class DLCSnapshotHook(Hook):
    """DeepLabCut's snapshots (module docstring for the rules and the key table).

    Args:
        out_dir: the folder of the snapshots (DeepLabCut's train folder); default the work dir.
        snapshot_prefix: ``snapshot`` (DeepLabCut's ``snapshot-detector`` for detectors).
        key_metric: the evaluator's name of the metric that picks the best snapshot; None: no
            best snapshot.
        key_metric_asc: larger is better (DeepLabCut's default, True).
        max_snapshots: regular snapshots kept (the best is not counted); > 0.
        save_epochs: a regular snapshot every this many epochs (and at the last one).
        save_optimizer_state: also store the optimizer's state (needed to resume exactly).
        metric_names: evaluator name → DeepLabCut name, e.g. ``{'rmse': 'test.rmse'}``.
        metric_prefix: put before every metric name in ``metadata['metrics']``.
        loss_names: ``log_vars`` name → DeepLabCut loss name (default
            ``{'loss': 'total_loss'}``).
    """

    priority = 'VERY_LOW'  # after ParamSchedulerHook: the snapshot holds the stepped scheduler
    example_args = dict(max_snapshots=2, save_epochs=1, key_metric='EPE', key_metric_asc=False)

    def __init__(self, out_dir: Optional[str] = None, snapshot_prefix: str = 'snapshot',
                 key_metric: Optional[str] = None, key_metric_asc: bool = True,
                 max_snapshots: int = 5, save_epochs: int = 25,
                 save_optimizer_state: bool = False,
                 metric_names: Optional[Mapping[str, str]] = None,
                 metric_prefix: str = 'metrics/',
                 loss_names: Optional[Mapping[str, str]] = None):
        if int(max_snapshots) <= 0:
            raise ValueError(f'max_snapshots must be a positive integer, got {max_snapshots}')
        if int(save_epochs) <= 0:
            raise ValueError(f'save_epochs must be a positive integer, got {save_epochs}')
        self.out_dir = out_dir
        self.prefix = snapshot_prefix
        self.key_metric, self.key_metric_asc = key_metric, bool(key_metric_asc)
        self.max_snapshots, self.save_epochs = int(max_snapshots), int(save_epochs)
        self.save_optimizer_state = bool(save_optimizer_state)
        self.metric_names, self.metric_prefix = dict(metric_names or {}), metric_prefix
        self._key = None if key_metric is None else \
            metric_prefix + self.metric_names.get(key_metric, key_metric)
        self._losses = EpochLosses(loss_names)
        self._train_losses: Dict[str, float] = {}
        self._metrics: Dict[str, float] = {}
        self._best: Optional[float] = None

    # -- hook points -----------------------------------------------------------------------
    def before_run(self, runner) -> None:
        self.out_dir = self.out_dir or runner.work_dir

    def before_train(self, runner) -> None:
        if not is_main_process():
            return
        removed = remove_stale_temporaries(self.out_dir)
        if removed:
            runner.logger.info(f'removed {len(removed)} temporary file(s) left by an interrupted '
                               f'run in {self.out_dir}')
        if runner.train_loop._epoch > 0 and self._key is not None:
            self._best = self._best_on_disk(runner)
        older = [s.name for s in list_snapshots(self.out_dir, self.prefix)
                 if s.epoch > runner.train_loop._epoch]
        if older:
            # DeepLabCut's rule keeps the highest epochs: these would outlive this run's own
            runner.logger.warning(
                f'{self.out_dir} holds snapshots of later epochs than this run starts from '
                f'({", ".join(older[:5])}{" …" if len(older) > 5 else ""}); they count towards '
                f'max_snapshots={self.max_snapshots} and are kept before this run\'s older '
                f'epochs. Move them away to keep only this run\'s snapshots.')

    def before_train_epoch(self, runner) -> None:
        self._losses.reset()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._losses.add(outputs)

    def after_train_epoch(self, runner) -> None:
        self._train_losses = self._losses.means('train')
        if not finished_epoch_validates(runner):  # else after the evaluation, with its metrics
            self._update(runner, runner.train_loop._epoch + 1, fresh=False)

    def after_val_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        if not isinstance(getattr(runner, '_train_loop', None), BaseLoop):
            return  # a validation outside training (runner.val())
        self._metrics = dlc_metrics(metrics, self.metric_names, self.metric_prefix)
        if self._key is not None and self._key not in self._metrics:
            # DeepLabCut silently never saves a best snapshot then (DeepLabCut#2900, #2663)
            raise ConfigError(f'DLCSnapshotHook: key_metric={self.key_metric!r} is not among the '
                           f'metrics the evaluation returned ({", ".join(metrics or {})}); '
                           f'use one of those names')
        self._update(runner, runner.train_loop._epoch, fresh=True)

    # -- DeepLabCut's update ---------------------------------------------------------------
    def _update(self, runner, epoch: int, fresh: bool) -> None:
        last = epoch == runner.train_loop.max_epochs
        state = self._state_dict(runner, epoch)
        if not is_main_process():
            return
        value = self._metrics.get(self._key) if self._key is not None else None
        if fresh and self._better(value):
            previous = [s for s in list_snapshots(self.out_dir, self.prefix) if s.best]
            self._best = value
            name = snapshot_name(self.prefix, epoch, best=True)
            self._write(name, state)
            keeper = KeptFiles(self.out_dir)
            for old in previous:  # written first, then the old best renamed or removed
                if old.name == name:
                    continue
                if old.epoch % self.save_epochs == 0:
                    keeper.retire(old.name, rename_to=snapshot_name(self.prefix, old.epoch))
                else:
                    keeper.retire(old.name)
            runner.logger.info(f'best snapshot {name}: {self._key} = {value}')
        elif last or epoch % self.save_epochs == 0:
            self._write(snapshot_name(self.prefix, epoch), state)
        regular = [s.name for s in list_snapshots(self.out_dir, self.prefix) if not s.best]
        for path in KeptFiles(self.out_dir, self.max_snapshots, names=regular).prune():
            runner.logger.info(f'removed {path} (max_snapshots={self.max_snapshots})')

    def _better(self, value) -> bool:
        if value is None or math.isnan(value):
            return False
        if self._best is None:
            return True
        return value > self._best if self.key_metric_asc else value < self._best

    def _write(self, name: str, state: dict) -> None:
        write_atomically(lambda f: torch.save(state, f), os.path.join(self.out_dir, name))

    def _state_dict(self, runner, epoch: int) -> dict:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        metadata = dict(epoch=epoch, metrics=dict(self._metrics), losses=dict(self._train_losses),
                        posecfg=dict(iter=int(runner.iter), seed=runner.seed,
                                     cfg=getattr(runner.cfg, 'pretty_text', None)))
        weights = model.state_dict()
        if hasattr(model, 'backbone'):  # a pose estimator: DeepLabCut's PoseModel key names
            weights = to_dlc_state_dict(weights, model)
        state: Dict[str, Any] = dict(metadata=metadata, model=weights)
        if self.save_optimizer_state:
            state['optimizer'] = runner.optim_wrapper.state_dict()
        schedulers = runner.param_schedulers
        if isinstance(schedulers, dict):
            state['scheduler'] = {k: [s.state_dict() for s in v] for k, v in schedulers.items()}
        elif schedulers:
            states = [s.state_dict() for s in schedulers]
            state['scheduler'] = states[0] if len(states) == 1 else states
        return state

    def _best_on_disk(self, runner) -> Optional[float]:
        from posecfg.engine.checkpoint import load_checkpoint_file
        best = [s for s in list_snapshots(self.out_dir, self.prefix) if s.best]
        if not best:
            return None
        path = os.path.join(self.out_dir, best[-1].name)
        metrics = (load_checkpoint_file(path).get('metadata') or {}).get('metrics') or {}
        value = metrics.get(self._key)
        if value is not None:
            runner.logger.info(f'resuming with the best {self._key} = {value} of {path}')
        return value
