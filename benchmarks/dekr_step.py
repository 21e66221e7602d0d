"""DEKR on DeepLabCut's defaults for a multi-animal project: seconds per training step and
images/s of inference with grouping (DEKRPredictor: centre peaks, offsets → poses, pose NMS),
for a ``dekr_w18`` / ``dekr_w32`` shuffle that ``tools/dlc_create_training_dataset.py`` writes
on a copy of a DeepLabCut multi-animal project (448 × 448 crops, batch 8; inference on the
project's whole frames, padded to multiples of 32), with posecfg's runtime settings (bf16
autocast where the CPU has native bf16, channels_last).

    python benchmarks/dekr_step.py PROJECT_DIR [--net dekr_w32] [--threads 2] [--iters 2]
        [--profile]

PROJECT_DIR is copied (default: $POSECFG_SHARED_DATA/dlc-synthetic-multianimal). ``--profile``
adds the torch profiler's top operators of one training step and one inference batch.
Prints one JSON line (and the profiler tables on stderr).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, 'reference'))
sys.path.insert(0, ROOT)
from _common import machine, pin_threads, stats  # noqa: E402


def shuffle_config(project, net, work):
    copy = os.path.join(work, 'project')
    shutil.copytree(project, copy)
    subprocess.run([sys.executable, os.path.join(ROOT, 'tools', 'dlc_create_training_dataset.py'),
                    os.path.join(copy, 'config.yaml'), '--net-type', net], check=True,
                   stdout=subprocess.DEVNULL)
    from posecfg.apis.dlc import load_shuffle_config
    return load_shuffle_config(os.path.join(copy, 'config.yaml'), 1)


def build(cfg, work):
    import torch
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope

    from posecfg.engine.runner_config import runner_kwargs
    from posecfg.registry import DATASETS, MODELS
    kwargs = runner_kwargs(cfg, work_dir=work)
    runtime = kwargs['runtime']
    with DefaultScope.overwrite_default_scope('posecfg'):
        model = MODELS.build(kwargs['model'])
        if runtime.channels_last:
            model = model.to(memory_format=torch.channels_last)
        optim_wrapper = build_optim_wrapper(model, kwargs['optim_wrapper'])
        data = cfg.to_dict()['data']
        train = DATASETS.build(data['train'])
        test = DATASETS.build(data['test'])
    return model, optim_wrapper, train, test, runtime, data['samples_per_gpu']


def timed(fn, warmup, iters):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def profile_table(fn):
    from torch.profiler import profile
    with profile() as prof:
        fn()
    return prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=12)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('project', nargs='?', default=os.path.join(
        os.environ.get('POSECFG_SHARED_DATA', '/work/shared/data'), 'dlc-synthetic-multianimal'))
    ap.add_argument('--net', default='dekr_w32', choices=['dekr_w18', 'dekr_w32', 'dekr_w48'])
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--warmup', type=int, default=1)
    ap.add_argument('--iters', type=int, default=2)
    ap.add_argument('--profile', action='store_true')
    args = ap.parse_args()
    pin_threads(args.threads)
    import torch
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    import posecfg.engine.registration  # noqa: F401
    from mmengine.runner.amp import autocast

    from posecfg.engine.loops import prepare_for_inference
    from posecfg.transforms import pose_collate
    work = tempfile.mkdtemp(prefix='dekr-step-')
    try:
        cfg = shuffle_config(args.project, args.net, work)
        model, optim_wrapper, train, test, runtime, batch_size = build(cfg, work)
        batch = pose_collate([train[i % len(train)] for i in range(batch_size)])
        model.train()

        def train_step():
            return model.train_step(batch, optim_wrapper)
        train_s = timed(train_step, args.warmup, args.iters)
        if args.profile:
            print(profile_table(train_step), file=sys.stderr)
        images = pose_collate([test[i % len(test)] for i in range(batch_size)])
        size = tuple(images['img'].shape[-2:])
        model.eval()
        model = prepare_for_inference(model, (3,) + size, runtime.fold_bn, False,
                                      runtime.autocast is not None)

        def infer():
            with torch.no_grad(), autocast(enabled=runtime.autocast is not None):
                return model.test_step(images)
        infer_s = timed(infer, args.warmup, args.iters)
        if args.profile:
            print(profile_table(infer), file=sys.stderr)
        print(json.dumps({
            'bench': 'posecfg_dekr_step', 'net': args.net, 'batch_size': batch_size,
            'train_crop': list(batch['img'].shape[-2:]), 'train_s_per_step': stats(train_s),
            'infer_image': list(size),
            'infer_images_per_s': stats([batch_size / t for t in infer_s]),
            'threads': torch.get_num_threads(), 'autocast': str(runtime.autocast),
            'channels_last': runtime.channels_last, 'machine': machine()}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
