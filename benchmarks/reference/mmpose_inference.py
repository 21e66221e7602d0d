"""MMPose 1.3.2 reference: top-down inference throughput of ResNet-50 + HeatmapHead 256x192
with flip test, a batch of person crops through the estimator's predict path including decode.

Run with the reference env (benchmarks/setup_reference_env.sh):

    benchmarks/.ref-env/bin/python benchmarks/reference/mmpose_inference.py \
        [--data-root /work/shared/data/mmpose-tests/coco] [--batch-size 32] [--threads 2]
        [--warmup 1] [--iters 1] [--repeats 3] [--no-flip]

The model is MMPose's td-hm_res50_8xb64-210e_coco-256x192.py (shipped in the wheel), with its
test_cfg: flip_test=True, flip_mode='heatmap', shift_heatmap=True; fp32, NCHW, eval mode,
torch.no_grad(). One timed call is ``model.test_step(batch)``: what mmengine's val/test loop
calls per batch: PoseDataPreprocessor, backbone + head on the crops and on their mirror images
(two passes), heatmap flip/shift/average, MSRAHeatmap decode (argmax + quarter-offset refinement)
per instance, and conversion of keypoints back to image pixels into PoseDataSamples.
The batch is real: MMPose's val pipeline (LoadImage, GetBBoxCenterScale, TopdownAffine,
PackPoseInputs) on the GT boxes of the COCO test images, cycled to ``--batch-size`` crops,
collated once before timing; image loading and cropping are NOT timed.

Prints one JSON line: images/s (crops/s), min/median/max over repeats of ``--iters`` batches.
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
    ap.add_argument('--batch-size', type=int, default=32)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--warmup', type=int, default=1, help='untimed batches first')
    ap.add_argument('--iters', type=int, default=1, help='batches per timed repeat')
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--no-flip', action='store_true', help='test_cfg.flip_test=False')
    args = ap.parse_args()

    pin_threads(args.threads)
    import cv2
    import torch
    cv2.setNumThreads(1)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    import _mmpose_model as mm

    cfg = mm.load_config()
    if args.no_flip:
        cfg.model.test_cfg.flip_test = False
    model = mm.build_model(cfg)
    model.eval()
    gmacs = mm.forward_gmacs_per_image(model)

    dataset = mm.build_dataset(cfg, args.data_root, args.ann_file, test_mode=True)
    batch = mm.real_batch(dataset, args.batch_size)

    def run():
        with torch.no_grad():
            out = model.test_step(batch)
        assert len(out) == args.batch_size
        assert out[0].pred_instances.keypoints.shape == (1, 17, 2)
        return out

    for _ in range(args.warmup):
        run()
    times = []
    for _ in range(args.repeats):
        with Timer() as t:
            for _ in range(args.iters):
                run()
        times.append(t.seconds)

    n = args.batch_size * args.iters
    passes = 1 if args.no_flip else 2
    ips = rate_stats(times, n)
    emit({
        'bench': 'mmpose_inference',
        'what': 'TopdownPoseEstimator R50+HeatmapHead 256x192 test_step incl. decode'
                + ('' if args.no_flip else ', flip test'),
        'unit': 'images/s',
        'images_per_s': ips,
        's_per_batch': stats([t / args.iters for t in times]),
        'batch_size': args.batch_size,
        'iters_per_repeat': args.iters,
        'repeats': args.repeats,
        'warmup': args.warmup,
        'threads': args.threads,
        'flip_test': not args.no_flip,
        'instances_in_dataset': len(dataset),
        'forward_gmacs_per_image': round(gmacs, 4),
        'forward_gflops_per_image': round(2 * gmacs, 4),
        'inference_gflops_per_image': round(2 * gmacs * passes, 4),
        'achieved_gflops_per_s_median': round(2 * gmacs * passes * ips['median'], 2),
        'config': mm.CONFIG_REL,
        'versions': versions(),
        'machine': machine(),
    })


if __name__ == '__main__':
    main()
