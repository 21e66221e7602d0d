"""posecfg: train the mirror-mouse project from Lightning Pose's ``config.yaml`` for a
wall-clock budget through posecfg's engine, then its Lightning Pose outputs; report the test
pixel error. Also makes the trained run folder the load-time and video benchmarks use.

    .venv/bin/python benchmarks/lp_train_budget.py --budget 600 --out DIR
        [--backbone resnet18] [--size 256] [--batch-size 16] [--threads 2] [--init W.pt]
        [--data-dir COPY] [--train-frames N] [--losses pca_singleview,pca_multiview,temporal]

The same file and overrides as ``reference/lp_train_budget.py`` (``_lp_common.budget_overrides``)
through posecfg's LP dialect, the run built as ``tools/train.py`` builds it. ``--init``: a
Lightning Pose state dict saved by the reference (``--save-init``), renamed to posecfg's keys
(``_lp_common.lp_state_to_posecfg``) and loaded before the first step, so that both tools start
from the same tensors. A hook stops training after the validation loss of the first epoch that ends
past ``--budget`` seconds; then the run ends as usual (``LPPredictionsHook``: the best checkpoint on
validation loss predicts the labelled frames into ``predictions.csv`` /
``predictions_pixel_error.csv``). ``--losses`` turns on Lightning Pose's unsupervised losses
(with the project's video as unlabeled data; see ``lp_semisupervised.py``). Prints one JSON line.
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, 'reference'))
sys.path.insert(0, os.path.dirname(HERE))
from _common import emit, machine, versions  # noqa: E402
from _lp_common import (Budget, add_run_arguments, budget_overrides,  # noqa: E402
                        lp_state_to_posecfg, pixel_errors, project_copy)
from _lp_posecfg import load_lp_config  # noqa: E402


def train_for_budget(overrides, budget_s, out, threads, init=None):
    """Build the run of ``overrides`` (Lightning Pose keys) in ``out``, train it for
    ``budget_s`` seconds (whole epochs), let its hooks write the outputs; returns
    (Budget, progress dict with steps and epochs)."""
    cfg = load_lp_config(overrides, threads, out)
    import torch
    from mmengine.hooks import Hook

    from posecfg.engine import build_runner
    runner = build_runner(cfg, validate=True)
    budget = Budget(budget_s)
    progress = {}

    class BudgetHook(Hook):
        def before_train(self, runner):
            if init:
                model = runner.model.module if hasattr(runner.model, 'module') else runner.model
                model.load_state_dict(lp_state_to_posecfg(torch.load(init)))

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            budget.started()

        def after_train_epoch(self, runner):
            progress.update(steps=runner.iter + 1, epochs=runner.epoch + 1)  # before the increments

        def after_val_loss_epoch(self, runner, metrics=None):
            # the validation-loss phase follows each training epoch (check_val_every_n_epoch=1):
            # stopping here, not in after_train_epoch, lets the last epoch's validation loss
            # (and so its best checkpoint) happen, as Lightning's should_stop does
            if budget.over():
                runner.train_loop.stop_training = True

    runner.register_hook(BudgetHook(), priority='HIGHEST')
    runner.train()
    return budget, progress


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_run_arguments(ap, budget=True)
    ap.add_argument('--losses', default='', help='model.losses_to_use, comma-separated')
    ap.add_argument('--init', default=None, help="Lightning Pose initial weights "
                    "(reference/lp_train_budget.py --save-init)")
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    data_dir = args.data_dir or project_copy(out + '-data')
    overrides = budget_overrides(data_dir, args.backbone, args.size, args.batch_size)
    if args.train_frames:
        overrides.append(f'training.train_frames={args.train_frames}')
    if args.losses:
        overrides.append(f'model.losses_to_use=[{args.losses}]')
    start = time.perf_counter()
    budget, progress = train_for_budget(overrides, args.budget, out, args.threads, args.init)
    total = time.perf_counter() - start
    errors = pixel_errors(out)
    emit({
        'bench': 'posecfg_lp_train_budget',
        'what': f'posecfg engine from the LP config.yaml, {args.backbone} {args.size}x{args.size}'
                f' batch {args.batch_size} for a {args.budget:.0f} s budget, then its outputs',
        'unit': 'pixels',
        'test_pixel_error': errors.get('test'),
        'pixel_error': errors,
        'budget_s': args.budget, 'trained_s': budget.trained(), 'total_s': total,
        **progress, 'losses': args.losses, 'init': args.init,
        'threads': args.threads, 'versions': versions(), 'machine': machine(),
    })


if __name__ == '__main__':
    main()
