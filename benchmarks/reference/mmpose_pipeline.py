"""MMPose 1.3.2 reference: COCO top-down 256x192 train-pipeline throughput, one process, one core.

Run with the reference env (benchmarks/setup_reference_env.sh):

    benchmarks/.ref-env/bin/python benchmarks/reference/mmpose_pipeline.py \
        [--data-root /work/shared/data/mmpose-tests/coco] [--samples 300] [--repeats 5]
        [--warmup 30] [--breakdown] [--profile [N]]

What is timed: ``dataset[i]`` for i cycling over the dataset, i.e. exactly what an mmengine
DataLoader worker does per sample (BaseCocoStyleDataset.prepare_data: deserialize the data
info, deep-copy the dataset metainfo into it, then the pipeline), of MMPose 1.3.2's own
``CocoDataset`` built from the annotation file, with the pipeline of
configs/body_2d_keypoint/topdown_heatmap/coco/td-hm_res50_8xb64-210e_coco-256x192.py:

    LoadImage, GetBBoxCenterScale, RandomFlip(horizontal), RandomHalfBody, RandomBBoxTransform,
    TopdownAffine(input_size=(192, 256)), GenerateTarget(MSRAHeatmap 48x64, sigma=2),
    PackPoseInputs

(The MMPose 0.x seed pipeline's ToTensor + NormalizeTensor have no per-sample counterpart in
1.x: PackPoseInputs makes a uint8 CHW tensor and PoseDataPreprocessor normalizes per batch.)
Not timed: collation, the model. Threads are pinned to 1 (OpenCV, torch, BLAS).

Prints one JSON line (the last line of stdout): samples/s and ms/sample as min/median/max over
repeats; with --breakdown also the mean ms of each step (a separate pass, per-step timers
around the same calls); with --profile the top cProfile entries (another separate pass).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (DEFAULT_COCO_DIR, Timer, emit, machine, pin_library_threads,  # noqa: E402
                     pin_threads, rate_stats, stats, versions)

pin_threads(1)

import warnings  # noqa: E402

warnings.filterwarnings('ignore', category=UserWarning)

CODEC = dict(type='MSRAHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)
TRAIN_PIPELINE = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size=CODEC['input_size']),
    dict(type='GenerateTarget', encoder=CODEC),
    dict(type='PackPoseInputs'),
]


def build_dataset(data_root, ann_file):
    import contextlib
    import io

    from mmpose.registry import DATASETS
    from mmpose.utils import register_all_modules
    register_all_modules()
    cfg = dict(type='CocoDataset', data_root=data_root, data_mode='topdown', ann_file=ann_file,
               data_prefix=dict(img=''), pipeline=TRAIN_PIPELINE)
    with contextlib.redirect_stdout(io.StringIO()):  # xtcocotools prints "loading annotations"
        return DATASETS.build(cfg)


def run_samples(dataset, start, n):
    size = len(dataset)
    for i in range(start, start + n):
        out = dataset[i % size]
        assert out['inputs'].shape == (3, 256, 192)
    return start + n


def breakdown(dataset, n):
    """Mean ms per step: prepare_data split into data-info retrieval and each transform."""
    import time
    names = ['get_data_info'] + [type(t).__name__ for t in dataset.pipeline.transforms]
    totals = [0.0] * len(names)
    size = len(dataset)
    done = 0
    i = 0
    while done < n:
        t0 = time.perf_counter()
        data = dataset.get_data_info(i % size)
        data['dataset'] = dataset
        t1 = time.perf_counter()
        totals[0] += t1 - t0
        for k, t in enumerate(dataset.pipeline.transforms, start=1):
            t0 = time.perf_counter()
            data = t(data)
            totals[k] += time.perf_counter() - t0
            if data is None:
                break
        i += 1
        if data is not None:
            done += 1
    return {name: round(1e3 * tot / n, 4) for name, tot in zip(names, totals)}


def profile(dataset, n, top):
    import cProfile
    import io
    import pstats
    prof = cProfile.Profile()
    prof.enable()
    run_samples(dataset, 0, n)
    prof.disable()
    buf = io.StringIO()
    st = pstats.Stats(prof, stream=buf)
    st.sort_stats('tottime').print_stats(top)
    sys.stderr.write(f'--- cProfile of {n} samples, sorted by tottime ---\n{buf.getvalue()}')
    rows = []
    for (file, line, func), (cc, nc, tt, ct, _) in st.stats.items():
        rows.append((tt, ct, nc, f'{os.path.basename(file)}:{line}({func})'))
    rows.sort(reverse=True)
    return [{'fn': r[3], 'tottime_ms_per_sample': round(1e3 * r[0] / n, 4),
             'cumtime_ms_per_sample': round(1e3 * r[1] / n, 4), 'calls': r[2]}
            for r in rows[:top]]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data-root', default=DEFAULT_COCO_DIR)
    ap.add_argument('--ann-file', default='test_coco.json')
    ap.add_argument('--samples', type=int, default=300, help='samples per timed repeat')
    ap.add_argument('--repeats', type=int, default=5)
    ap.add_argument('--warmup', type=int, default=30)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--breakdown', action='store_true', help='also time each pipeline step')
    ap.add_argument('--profile', type=int, nargs='?', const=25, default=0, metavar='TOP',
                    help='also cProfile one repeat; print the TOP functions (stderr + JSON)')
    args = ap.parse_args()

    import random

    import numpy as np
    random.seed(args.seed)
    np.random.seed(args.seed)

    with Timer() as t_import:
        import mmpose  # noqa: F401
        from mmpose.utils import register_all_modules  # noqa: F401
    pin_library_threads(1)
    with Timer() as t_build:
        dataset = build_dataset(args.data_root, args.ann_file)

    pos = run_samples(dataset, 0, args.warmup)
    times = []
    for _ in range(args.repeats):
        with Timer() as t:
            pos = run_samples(dataset, pos, args.samples)
        times.append(t.seconds)

    result = {
        'bench': 'mmpose_pipeline',
        'what': 'CocoDataset[i] with the COCO top-down 256x192 train pipeline, 1 thread',
        'unit': 'samples/s',
        'samples_per_s': rate_stats(times, args.samples),
        'ms_per_sample': stats([1e3 * t / args.samples for t in times]),
        'samples_per_repeat': args.samples,
        'repeats': args.repeats,
        'warmup': args.warmup,
        'instances': len(dataset),
        'images': len({dataset.get_data_info(i)['img_path'] for i in range(len(dataset))}),
        'threads': 1,
        'import_s': round(t_import.seconds, 3),
        'dataset_build_s': round(t_build.seconds, 3),
        'pipeline': [d['type'] for d in TRAIN_PIPELINE],
        'versions': versions(),
        'machine': machine(),
    }
    if args.breakdown:
        result['breakdown_ms_per_sample'] = breakdown(dataset, args.samples)
    if args.profile:
        result['profile_top'] = profile(dataset, args.samples, args.profile)
    emit(result)


if __name__ == '__main__':
    main()
