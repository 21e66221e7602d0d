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
from _lp_common import add_run_arguments, budget_overrides, pixel_errors, project_copy  # noqa
from _lp_posecfg import train_for_budget  # noqa: E402


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
    import torch
    emit({
        'bench': 'posecfg_lp_train_budget',
        'what': f'posecfg engine from the LP config.yaml, {args.backbone} {args.size}x{args.size}'
                f' batch {args.batch_size} for a {args.budget:.0f} s budget, then its outputs',
        'unit': 'pixels',
        'test_pixel_error': errors.get('test'),
        'pixel_error': errors,
        'budget_s': args.budget, 'trained_s': budget.trained(), 'total_s': total,
        **progress, 'losses': args.losses, 'init': args.init,
        'threads': args.threads, 'torch_threads': torch.get_num_threads(),
        'versions': versions(), 'machine': machine(),
    })


if __name__ == '__main__':
    main()
