"""posecfg's side of the Lightning Pose benchmarks: the config as ``tools/train.py`` builds it."""
import glob
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, 'reference'))
sys.path.insert(0, os.path.dirname(HERE))
from _lp_common import LP_CONFIG, Budget, lp_state_to_posecfg  # noqa: E402

from posecfg.config.cli import choose_openmp_waiting  # noqa: E402

choose_openmp_waiting()  # as the tools do, before torch loads


def load_lp_config(overrides, threads=None, work_dir=None, runtime=None):
    """Lightning Pose's example config.yaml with ``overrides`` (its key names) as the posecfg
    Config ``tools/train.py`` would build; ``threads`` sets ``runtime.threads`` (instead of
    posecfg's ``'auto'`` probe, so both tools get the same count); ``work_dir`` is the run
    folder (``tools/train.py --work-dir``); ``runtime``: other ``runtime.*`` settings."""
    from posecfg.config.cli import flag_override
    from posecfg.interop.dialects import detect_dialect, load_dialect_config
    extra = [flag_override('--threads', 'runtime.threads', threads)] if threads else []
    if work_dir:
        extra.append(flag_override('--work-dir', 'work_dir', work_dir))
    for key, value in (runtime or {}).items():
        extra.append(flag_override(f'--runtime-{key}', f'runtime.{key}', value))
    return load_dialect_config(detect_dialect(LP_CONFIG), LP_CONFIG, overrides, extra)


def best_checkpoint(run_dir):
    """The run folder's best checkpoint (``tb_logs/<model>/version_N/checkpoints/*-best.ckpt``,
    Lightning Pose's layout)."""
    found = sorted(glob.glob(os.path.join(run_dir, 'tb_logs', '*', 'version_*', 'checkpoints',
                                          '*.ckpt')))
    best = [p for p in found if p.endswith('-best.ckpt')] or found
    if not best:
        raise FileNotFoundError(f'{run_dir}: no tb_logs/*/version_*/checkpoints/*.ckpt')
    return best[-1]


def train_for_budget(overrides, budget_s, out, threads, init=None, runtime=None):
    """Build the run of ``overrides`` (Lightning Pose keys) in ``out``, train it for
    ``budget_s`` seconds (whole epochs), let its hooks write the outputs; returns
    (Budget, progress dict: steps, epochs, train_iter_s = seconds inside training iterations,
    i.e. without validation and data waits between them)."""
    cfg = load_lp_config(overrides, threads, out, runtime)
    import torch
    from mmengine.hooks import Hook

    from posecfg.engine import build_runner
    runner = build_runner(cfg, validate=True)
    budget = Budget(budget_s)
    progress = {'train_iter_s': 0.0}
    iter_start = []

    class BudgetHook(Hook):
        def before_train(self, runner):
            if init:
                model = runner.model.module if hasattr(runner.model, 'module') else runner.model
                model.load_state_dict(lp_state_to_posecfg(torch.load(init)))

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            budget.started()
            iter_start[:] = [time.perf_counter()]

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            progress['train_iter_s'] += time.perf_counter() - iter_start[0]

        def after_train_epoch(self, runner):
            # mmengine counts the iteration before this hook and the epoch after it
            progress.update(steps=runner.iter, epochs=runner.epoch + 1)

        def after_val_loss_epoch(self, runner, metrics=None):
            # the validation-loss phase follows each training epoch (check_val_every_n_epoch=1):
            # stopping here, not in after_train_epoch, lets the last epoch's validation loss
            # (and so its best checkpoint) happen, as Lightning's should_stop does
            if budget.over():
                runner.train_loop.stop_training = True

    runner.register_hook(BudgetHook(), priority='HIGHEST')
    runner.train()
    return budget, progress
