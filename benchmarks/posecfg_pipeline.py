"""posecfg: COCO top-down 256x192 train-pipeline throughput, one process, one core; and the floor.

    .venv/bin/python benchmarks/posecfg_pipeline.py [--data-root DIR] [--samples 300]
        [--repeats 5] [--warmup 30]

What is timed: ``dataset[i]`` for i cycling over posecfg's ``TopDownCocoDataset`` on the same
annotation file as the MMPose reference (GT boxes, training mode), with the seed config's train
pipeline (res50_coco_256x192.py): LoadImageFromFile, TopDownRandomFlip, TopDownHalfBodyTransform,
TopDownGetRandomScaleRotation, TopDownAffine, ToTensor, NormalizeTensor, TopDownGenerateTarget
(sigma 2, 48x64), Collect. Threads pinned to 1 (OpenCV, torch, BLAS), as for the reference.

The floor, measured in the same run: per sample, ``cv2.imread`` of the same JPEG plus one
``cv2.warpAffine`` of the same box to 192x256 (nothing else): what any pipeline must at least
do; with ``IMREAD_REDUCED_COLOR_2`` for the half-resolution variant.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, 'reference'))
sys.path.insert(0, os.path.dirname(HERE))
from _common import (DEFAULT_COCO_DIR, Timer, emit, machine, pin_library_threads,  # noqa: E402
                     pin_threads, rate_stats, stats, versions)

pin_threads(1)

SEED = os.path.join(os.path.dirname(HERE), 'configs', 'body', '2d_kpt_sview_rgb_img',
                    'topdown_heatmap', 'coco', 'res50_coco_256x192.py')


def build_dataset(data_root, ann_file):
    from posecfg.config import Config
    from posecfg.registry import DATASETS
    cfg = Config.fromfile(SEED).to_dict()
    train = dict(cfg['data']['train'], ann_file=os.path.join(data_root, ann_file),
                 img_prefix=data_root)
    return DATASETS.build(train)


def floor(dataset, n, reduced):
    """imread + one warpAffine per sample, over the same images and boxes."""
    import cv2
    import numpy as np

    from posecfg.geometry import get_affine_transform
    records = [dataset.record(i) for i in range(len(dataset))]
    flag = cv2.IMREAD_REDUCED_COLOR_2 if reduced else cv2.IMREAD_COLOR
    factor = 0.5 if reduced else 1.0
    with Timer() as t:
        for i in range(n):
            r = records[i % len(records)]
            img = cv2.imread(r['image_file'], flag)
            matrix = get_affine_transform(r['center'] * factor, r['scale'] * factor, 0,
                                          np.array([192, 256]))
            cv2.warpAffine(img, matrix, (192, 256), flags=cv2.INTER_LINEAR)
    return t.seconds


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data-root', default=DEFAULT_COCO_DIR)
    ap.add_argument('--ann-file', default='test_coco.json')
    ap.add_argument('--samples', type=int, default=300)
    ap.add_argument('--repeats', type=int, default=5)
    ap.add_argument('--warmup', type=int, default=30)
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args()

    import numpy as np
    np.random.seed(args.seed)
    import posecfg.engine.registration  # noqa: F401
    pin_library_threads(1)
    dataset = build_dataset(args.data_root, args.ann_file)
    size = len(dataset)
    for i in range(args.warmup):
        dataset[i % size]
    times, floors, floors_half = [], [], []
    pos = args.warmup
    for _ in range(args.repeats):
        with Timer() as t:
            for i in range(pos, pos + args.samples):
                out = dataset[i % size]
        pos += args.samples
        assert out['img'].shape == (3, 256, 192) and out['target'].shape == (17, 64, 48)
        times.append(t.seconds)
        floors.append(floor(dataset, args.samples, reduced=False))
        floors_half.append(floor(dataset, args.samples, reduced=True))
    emit({
        'bench': 'posecfg_pipeline',
        'what': 'TopDownCocoDataset + seed train pipeline, 1 thread',
        'unit': 'samples/s',
        'samples_per_s': rate_stats(times, args.samples),
        'ms_per_sample': stats([1e3 * t / args.samples for t in times]),
        'floor_samples_per_s': rate_stats(floors, args.samples),
        'floor_half_decode_samples_per_s': rate_stats(floors_half, args.samples),
        'dataset_size': size,
        'versions': versions(),
        'machine': machine(),
    })


if __name__ == '__main__':
    main()
