"""Lightning Pose 2.4.3: supervised training steps/s on the mirror-mouse project, through its own
``lightning_pose.train.train`` (what ``litpose train`` runs).

    benchmarks/.lp-ref-env/bin/python benchmarks/reference/lp_train_steps.py
        [--backbone resnet18] [--size 256] [--batch-size 16] [--threads 2] [--warmup 2]
        [--steps 3] [--data-dir COPY]

The example ``config.yaml`` with the overrides of ``_lp_common.supervised_overrides`` (backbone
from scratch, no unsupervised loss, whole network trained from step 1). Lightning Pose builds everything itself
(imgaug pipeline, dataset, data module with its default workers, model, callbacks, Trainer with
its TensorBoard logger); the only addition is a callback appended to ``get_callbacks``'s list
that records the wall clock at the end of every training batch (after the optimizer step) and
stops training after the last timed step. Steps/s = timed steps / their wall time (data loading
included, as in a real run). Prints one JSON line.
"""
import argparse
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _common import emit, machine, pin_threads, stats, versions  # noqa: E402
from _lp_common import (fixed_threads, LP_CONFIG, Done, StepTimer, add_run_arguments,  # noqa: E402
                        project_copy, supervised_overrides)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_run_arguments(ap, steps=True)
    args = ap.parse_args()
    args.threads = fixed_threads(args.threads)
    pin_threads(args.threads)
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    import torch
    torch.set_num_threads(args.threads)
    import lightning.pytorch as pl
    from omegaconf import OmegaConf

    import lightning_pose.train as lp_train

    work = tempfile.mkdtemp(prefix='lpbench-ref-')
    data_dir = args.data_dir or project_copy(work)
    # the example's epoch mode is kept (Lightning Pose's step mode also wants unfreezing_step
    # and milestone_steps, api/model_config.py _validate_steps_vs_epochs); the callback stops
    # the run after the last timed step
    overrides = supervised_overrides(data_dir, args.backbone, args.size, args.batch_size)
    cfg = OmegaConf.merge(OmegaConf.load(LP_CONFIG), OmegaConf.from_dotlist(overrides))
    timer = StepTimer(args.warmup, args.steps)

    class TimeSteps(pl.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            if timer.tick():
                raise Done()

    get_callbacks = lp_train.get_callbacks
    lp_train.get_callbacks = lambda *a, **k: list(get_callbacks(*a, **k)) + [TimeSteps()]
    try:
        lp_train.train(cfg, model_dir=os.path.join(work, 'model'), skip_evaluation=True)
    except Done:
        pass
    seconds = timer.step_seconds()
    emit({
        'bench': 'lp_train_steps',
        'what': f'Lightning Pose train() {args.backbone} {args.size}x{args.size} batch '
                f'{args.batch_size}, steps after {args.warmup} warm-up',
        'unit': 'steps/s',
        'steps_per_s': stats([1 / s for s in seconds]),
        's_per_step': stats(seconds),
        'cpu_s_per_step': stats(timer.step_seconds(cpu=True)),
        'backbone': args.backbone, 'size': args.size, 'batch_size': args.batch_size,
        'threads': args.threads, 'torch_threads': torch.get_num_threads(),
        'versions': versions(), 'machine': machine(),
    })


if __name__ == '__main__':
    main()
