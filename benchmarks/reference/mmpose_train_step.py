"""MMPose 1.3.2 reference: training throughput of TopdownPoseEstimator ResNet-50 + HeatmapHead,
256x192, batch 16, one optimizer step = data preprocessor + forward + loss + backward + Adam.

Run with the reference env (benchmarks/setup_reference_env.sh):

    benchmarks/.ref-env/bin/python benchmarks/reference/mmpose_train_step.py \
        [--data-root /work/shared/data/mmpose-tests/coco] [--batch-size 16] [--threads 2]
        [--warmup 1] [--iters 2] [--repeats 3]

The model is MMPose's own td-hm_res50_8xb64-210e_coco-256x192.py config (shipped in the wheel)
with MMPose's defaults: fp32, NCHW (contiguous), no torch.compile, Adam(lr=5e-4) in an mmengine
OptimWrapper, and ``model.train_step(batch, optim_wrapper)``: exactly what mmengine's train loop
calls per iteration (PoseDataPreprocessor uint8 -> float, BGR->RGB, normalize; forward;
KeypointMSELoss and the head's PCK accuracy; backward; step; zero_grad).
The batch is real: 16 outputs of MMPose's train pipeline on the COCO test images (cycling over
the 12 annotated people), collated once before timing; data loading is NOT timed.

Prints one JSON line: images/s (min/median/max over repeats of ``--iters`` steps each) and
the forward GMACs/GFLOPs per image counted by Conv/Deconv/Linear hooks, so achieved GFLOP/s =
train_gflops_per_image * images/s (train ~ 3x forward: forward + grad wrt inputs + wrt weights).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (DEFAULT_COCO_DIR, Timer, emit, machine, pin_threads,  # noqa: E402
                     rate_stats, stats, versions)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data-root', default=DEFAULT_COCO_DIR)
    ap.add_argument('--ann-file', default='test_coco.json')
    ap.add_argument('--batch-size', type=int, default=16)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--warmup', type=int, default=1, help='untimed steps first')
    ap.add_argument('--iters', type=int, default=2, help='steps per timed repeat')
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args()

    pin_threads(args.threads)
    import cv2
    import numpy as np
    import torch
    cv2.setNumThreads(1)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    import _mmpose_model as mm
    from mmengine.optim import build_optim_wrapper

    cfg = mm.load_config()
    model = mm.build_model(cfg)
    model.train()
    gmacs = mm.forward_gmacs_per_image(model)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)  # Adam, lr 5e-4

    dataset = mm.build_dataset(cfg, args.data_root, args.ann_file, test_mode=False)
    batch = mm.real_batch(dataset, args.batch_size)

    def step():
        log_vars = model.train_step(batch, optim_wrapper)
        return log_vars

    for _ in range(args.warmup):
        log_vars = step()
    times = []
    for _ in range(args.repeats):
        with Timer() as t:
            for _ in range(args.iters):
                log_vars = step()
        times.append(t.seconds)

    n = args.batch_size * args.iters
    fwd_gflops = 2 * gmacs
    ips = rate_stats(times, n)
    emit({
        'bench': 'mmpose_train_step',
        'what': 'TopdownPoseEstimator R50+HeatmapHead 256x192 train_step (fp32, NCHW, Adam)',
        'unit': 'images/s',
        'images_per_s': ips,
        's_per_step': stats([t / args.iters for t in times]),
        'batch_size': args.batch_size,
        'iters_per_repeat': args.iters,
        'repeats': args.repeats,
        'warmup': args.warmup,
        'threads': args.threads,
        'forward_gmacs_per_image': round(gmacs, 4),
        'forward_gflops_per_image': round(fwd_gflops, 4),
        'train_gflops_per_image': round(3 * fwd_gflops, 4),
        'achieved_gflops_per_s_median': round(3 * fwd_gflops * ips['median'], 2),
        'last_loss': {k: round(float(v), 6) for k, v in log_vars.items()},
        'config': mm.CONFIG_REL,
        'versions': versions(),
        'machine': machine(),
    })


if __name__ == '__main__':
    main()
