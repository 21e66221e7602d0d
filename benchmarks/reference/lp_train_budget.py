"""Lightning Pose 2.4.3: train the mirror-mouse project for a wall-clock budget through its own
``lightning_pose.train.train``, then its own post-training evaluation; report the test pixel
error. Also makes the trained model folder the load-time and video benchmarks use.

    benchmarks/.lp-ref-env/bin/python benchmarks/reference/lp_train_budget.py --budget 600
        --out DIR [--backbone resnet18] [--size 256] [--batch-size 16] [--threads 2]
        [--save-init W.pt | --init W.pt] [--data-dir COPY] [--train-frames N]

``_lp_common.budget_overrides``: validation every epoch, epochs bounded by the budget only.
Callbacks appended to ``get_callbacks``'s list: ``--save-init`` saves the model's initial
weights (after Lightning Pose built and seeded it) so that posecfg starts from the very same
tensors (``--init`` loads such a file instead); the budget callback stops training at the end
of the first epoch that ends past ``--budget`` seconds of training. Then ``train()`` goes on as
usual: the best checkpoint (validation loss) predicts the labelled frames into
``predictions.csv`` / ``predictions_pixel_error.csv`` (``_evaluate_on_training_dataset``).
Prints one JSON line.
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _common import emit, machine, pin_threads, versions  # noqa: E402
from _lp_common import (fixed_threads, LP_CONFIG, Budget, add_run_arguments,  # noqa: E402
                        budget_overrides, pixel_errors, project_copy)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_run_arguments(ap, budget=True)
    init = ap.add_mutually_exclusive_group()
    init.add_argument('--save-init', help='save the initial weights here (torch.save)')
    init.add_argument('--init', help='start from these weights (a --save-init file)')
    args = ap.parse_args()
    args.threads = fixed_threads(args.threads)
    pin_threads(args.threads)
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    import torch
    torch.set_num_threads(args.threads)
    import lightning.pytorch as pl
    from omegaconf import OmegaConf

    import lightning_pose.train as lp_train

    out = os.path.abspath(args.out)
    data_dir = args.data_dir or project_copy(out + '-data')
    extra = [f'training.train_frames={args.train_frames}'] if args.train_frames else []
    overrides = budget_overrides(data_dir, args.backbone, args.size, args.batch_size) + extra
    cfg = OmegaConf.merge(OmegaConf.load(LP_CONFIG), OmegaConf.from_dotlist(overrides))
    budget = Budget(args.budget)
    progress = {}

    class BudgetCallback(pl.Callback):
        def on_fit_start(self, trainer, pl_module):
            if args.save_init:
                torch.save(pl_module.state_dict(), args.save_init)
            if args.init:
                pl_module.load_state_dict(torch.load(args.init))

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            budget.started()

        def on_train_epoch_end(self, trainer, pl_module):
            progress.update(steps=trainer.global_step, epochs=trainer.current_epoch + 1)
            if budget.over():
                trainer.should_stop = True

    get_callbacks = lp_train.get_callbacks
    lp_train.get_callbacks = lambda *a, **k: list(get_callbacks(*a, **k)) + [BudgetCallback()]
    start = time.perf_counter()
    lp_train.train(cfg, model_dir=out)
    total = time.perf_counter() - start
    errors = pixel_errors(out)
    emit({
        'bench': 'lp_train_budget',
        'what': f'Lightning Pose train() {args.backbone} {args.size}x{args.size} batch '
                f'{args.batch_size} for a {args.budget:.0f} s budget, then its evaluation',
        'unit': 'pixels',
        'test_pixel_error': errors.get('test'),
        'pixel_error': errors,
        'budget_s': args.budget, 'trained_s': budget.trained(), 'total_s': total,
        **progress,
        'init': args.init or args.save_init,
        'threads': args.threads, 'versions': versions(), 'machine': machine(),
    })


if __name__ == '__main__':
    main()
