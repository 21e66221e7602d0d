"""``LPRunFolderHook``: the small files of a Lightning Pose run folder, as ``litpose train``
writes them (:mod:`posecfg.interop.lp.run_folder` has the layouts and their sources):

- ``config.yaml``: the Lightning Pose config as written plus overrides, interpolations kept,
  with ``creation_datetime`` and ``model.lightning_pose_version`` added (``train.py:295-355``);
- a copy of each labels CSV under its file name (``train.py:357-371``);
- ``tb_logs/<model_name>/version_<n>/hparams.yaml`` (the model's hyperparameters);
- ``train_status.json``: ``TRAINING`` with epochs completed / total after every epoch,
  ``EVALUATING`` at the end of training, ``COMPLETED`` once the hooks that run after training
  (``LPPredictionsHook``) are done (``callbacks.py:535-633``, ``train.py:117-126``).

posecfg's own resolved config goes next to them as ``config.py`` (the runner names it after the
config file's stem), so nothing of Lightning Pose's is overwritten.
"""
from __future__ import annotations

import os
import os.path as osp
import shutil
from typing import Optional, Sequence

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from posecfg.files import write_atomically
from posecfg.registry import HOOKS

#: the Lightning Pose release whose run-folder files posecfg writes (``model.lightning_pose_
#: version`` in config.yaml)
LP_VERSION = '2.4.3'


@HOOKS.register_module()
class LPRunFolderHook(Hook):
    """Write Lightning Pose's run-folder files into the work dir (module docstring).

    Args:
        lp_config: the Lightning Pose config tree as written plus overrides
            (:attr:`posecfg.interop.lp.config.LPConfig.raw`).
        csv_files: labels CSVs copied into the run folder.
        hparams: the model hyperparameters (:func:`posecfg.interop.lp.run_folder.lp_hparams`).
        version_dir: the ``tb_logs/<model_name>/version_<n>`` folder (None: the next free one
            in the work dir).
        lightning_pose_version: written as ``model.lightning_pose_version``.
        max_steps: step mode (``training.max_steps``): progress counts optimizer steps, written
            after every one (``JSONTrainingProgressTracker``, callbacks.py:535-633: after each
            batch ``global_step + 1`` of ``max_steps``, then ``max_steps`` of ``max_steps`` when
            training ends); None: epochs.
    """

    priority = 'LOWEST'  # COMPLETED only after the predictions are written
    example_args = dict(lp_config=dict(model=dict(model_name='example'),
                                       training=dict(num_gpus=0)), max_steps=3)

    def __init__(self, lp_config: dict, csv_files: Sequence[str] = (),
                 hparams: Optional[dict] = None, version_dir: Optional[str] = None,
                 lightning_pose_version: str = LP_VERSION, max_steps: Optional[int] = None):
        if not isinstance(lp_config, dict):
            raise ValueError(f'LPRunFolderHook lp_config must be the Lightning Pose config '
                             f'tree (a mapping), got {type(lp_config).__name__}')
        self.lp_config, self.csv_files = lp_config, list(csv_files)
        self.hparams, self.version_dir = hparams, version_dir
        self.lightning_pose_version = str(lightning_pose_version)
        self.max_steps = None if max_steps is None else int(max_steps)

    def before_train(self, runner) -> None:
        if not is_main_process():
            return
        from posecfg.interop.lp.run_folder import (saved_config, tb_version_dir, write_config,
                                                   write_hparams, write_train_progress)
        run = runner.work_dir
        write_config(run, saved_config(self.lp_config,
                                       lightning_pose_version=self.lightning_pose_version))
        for csv in self.csv_files:
            target = osp.join(run, osp.basename(csv))
            if osp.abspath(csv) != osp.abspath(target):
                write_atomically(lambda f, src=csv: _copy(src, f), target)
        if self.hparams is not None:
            model_name = (self.lp_config.get('model') or {}).get('model_name', 'model')
            folder = self.version_dir or tb_version_dir(run, model_name)
            os.makedirs(folder, exist_ok=True)
            write_hparams(folder, self.hparams)
        if self.max_steps is None:
            write_train_progress(run, runner.epoch, runner.max_epochs)
        else:
            write_train_progress(run, self._steps_done(runner, runner.iter), self.max_steps)

    @staticmethod
    def _steps_done(runner, iterations: int) -> int:
        """Optimizer steps (Lightning's ``global_step``) after ``iterations`` iterations."""
        counts = getattr(getattr(runner, 'optim_wrapper', None), '_accumulative_counts', 1)
        return iterations // max(int(counts or 1), 1)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.max_steps is None or not is_main_process():
            return
        from posecfg.interop.lp.run_folder import write_train_progress
        done = self._steps_done(runner, runner.iter + 1)  # runner.iter: this iteration's index
        last = runner.iter + 1 >= runner.max_iters
        write_train_progress(runner.work_dir, self.max_steps if last else done + 1,
                             self.max_steps)

    def after_train_epoch(self, runner) -> None:
        if is_main_process() and self.max_steps is None:
            from posecfg.interop.lp.run_folder import write_train_progress
            # after the last epoch: EVALUATING (completed == total), as Lightning Pose
            write_train_progress(runner.work_dir, runner.epoch + 1, runner.max_epochs)

    def after_train(self, runner) -> None:
        if is_main_process():
            from posecfg.interop.lp.run_folder import write_train_completed
            write_train_completed(runner.work_dir)


def _copy(source: str, target_file) -> None:
    with open(source, 'rb') as f:
        shutil.copyfileobj(f, target_file)
