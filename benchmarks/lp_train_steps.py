"""posecfg: supervised training steps/s on the mirror-mouse project from Lightning Pose's own
``config.yaml``, through posecfg's engine (what ``tools/train.py config.yaml`` runs).

    .venv/bin/python benchmarks/lp_train_steps.py [--backbone resnet18] [--size 256]
        [--batch-size 16] [--threads 2|auto] [--warmup 2] [--steps 3] [--data-dir COPY]
        [--losses pca_singleview,pca_multiview,temporal]

The same file and the same overrides as ``reference/lp_train_steps.py``
(``_lp_common.supervised_overrides``), translated by posecfg's LP dialect; ``runtime.threads``
is set to ``--threads`` (the reference gets the same count) instead of posecfg's ``'auto'``
probe. ``build_runner`` builds the runner as ``tools/train.py`` does (validation off: neither
side validates within the timed steps); a hook records the wall clock after every training
iteration (after the optimizer step) and stops training after the last timed step. Prints one
JSON line.
"""
import argparse
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, 'reference'))
sys.path.insert(0, os.path.dirname(HERE))
from _common import emit, machine, stats, versions  # noqa: E402
from _lp_common import (Done, StepTimer, add_run_arguments, project_copy,  # noqa: E402
                        supervised_overrides)

from _lp_posecfg import load_lp_config  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_run_arguments(ap, steps=True)
    ap.add_argument('--losses', default='', help='model.losses_to_use, comma-separated (e.g. '
                    'pca_singleview,pca_multiview,temporal: semi-supervised steps, each a '
                    'labelled batch + an unlabeled dali.base.train.sequence_length sequence of '
                    "the project's video; posecfg only, Lightning Pose 2.4.3 needs a GPU)")
    ap.add_argument('--compile', default='auto', choices=['auto', 'false'],
                    help="runtime.compile: 'auto' (posecfg's default: compiles runs of >= 2000 "
                         "iterations, e.g. the semi-supervised example's 300 x 10, and then the "
                         "first steps compile) or 'false'")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix='lpbench-posecfg-')
    data_dir = args.data_dir or project_copy(work)
    overrides = supervised_overrides(data_dir, args.backbone, args.size, args.batch_size)
    if args.losses:
        overrides.append(f'model.losses_to_use=[{args.losses}]')
    cfg = load_lp_config(overrides, args.threads, os.path.join(work, 'run'),
                         None if args.compile == 'auto' else dict(compile=False))
    import torch
    from mmengine.hooks import Hook

    from posecfg.engine import build_runner
    runner = build_runner(cfg, validate=False)
    timer = StepTimer(args.warmup, args.steps)

    class TimeSteps(Hook):
        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            if timer.tick():
                raise Done()

    runner.register_hook(TimeSteps(), priority='LOWEST')
    try:
        runner.train()
    except Done:
        pass
    seconds = timer.step_seconds()
    runtime = cfg.get('runtime') or {}
    emit({
        'bench': 'posecfg_lp_train_steps',
        'what': f'posecfg engine from the LP config.yaml, {args.backbone} {args.size}x{args.size}'
                f' batch {args.batch_size}, steps after {args.warmup} warm-up'
                + (f', losses {args.losses}' if args.losses else ''),
        'losses': args.losses,
        'unit': 'steps/s',
        'steps_per_s': stats([1 / s for s in seconds]),
        's_per_step': stats(seconds),
        'cpu_s_per_step': stats(timer.step_seconds(cpu=True)),
        'backbone': args.backbone, 'size': args.size, 'batch_size': args.batch_size,
        'threads': args.threads, 'torch_threads': torch.get_num_threads(),
        'runtime': {k: str(v) for k, v in dict(runtime).items()},
        'versions': versions(), 'machine': machine(),
    })


if __name__ == '__main__':
    main()
