"""posecfg: training and inference throughput of the seed model (TopDown ResNet-50 +
TopdownHeatmapSimpleHead, 256x192), with posecfg's default runtime settings.

    .venv/bin/python benchmarks/posecfg_model_step.py train [--batch-size 16] [--threads 2]
        [--warmup 1] [--iters 2] [--repeats 3] [--runtime '{"autocast": null, ...}']
    .venv/bin/python benchmarks/posecfg_model_step.py infer [--batch-size 32] ...

``train`` times ``model.train_step(batch, optim_wrapper)`` (data preprocessor, forward, loss,
backward, Adam step), what posecfg's train loop calls per iteration; ``infer`` times
``model.test_step(batch)`` with flip test (the original and mirrored crops, flip-back,
shift, decode to image coordinates) under the autocast the val/test loop puts around it, on the BatchNorm-folded copy of the model
the loop evaluates (``runtime.fold_bn``). The model, optimizer wrapper
and runtime switches are built by ``posecfg.engine.runner_config`` from the seed config, so the
settings are exactly what ``tools/train.py`` uses (``runtime`` default: bf16 autocast on CPUs
with native bf16, channels_last, no compile). The batch is real: outputs of posecfg's pipeline
on the COCO test images. Data loading is not timed.

Prints one JSON line: images/s (min/median/max), forward GFLOPs per image (conv/deconv/linear
hooks, as the reference counts) and the achieved GFLOP/s.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, 'reference'))
sys.path.insert(0, os.path.dirname(HERE))
from _common import (DEFAULT_COCO_DIR, Timer, emit, machine, pin_threads,  # noqa: E402
                     rate_stats, stats, versions)

SEED = os.path.join(os.path.dirname(HERE), 'configs', 'body', '2d_kpt_sview_rgb_img',
                    'topdown_heatmap', 'coco', 'res50_coco_256x192.py')


class FlopCounter:
    """Multiply-accumulates of Conv2d, ConvTranspose2d and Linear layers (the reference's rule)."""

    def __init__(self, model):
        import torch.nn as nn
        self.macs = 0
        self.handles = [m.register_forward_hook(self._hook) for m in model.modules()
                        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]

    def _hook(self, m, inp, out):
        import torch.nn as nn
        if isinstance(m, nn.ConvTranspose2d):
            kh, kw = m.kernel_size
            self.macs += inp[0].numel() * (m.out_channels // m.groups) * kh * kw
        elif isinstance(m, nn.Conv2d):
            kh, kw = m.kernel_size
            self.macs += out.numel() * (m.in_channels // m.groups) * kh * kw
        else:
            self.macs += out.numel() * m.in_features

    def remove(self):
        for h in self.handles:
            h.remove()


def build(args):
    import torch
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope

    import posecfg.engine.registration  # noqa: F401
    from posecfg.config import Config, Override
    from posecfg.engine.runner_config import runner_kwargs
    from posecfg.registry import DATASETS, MODELS
    options = [Override('set', ('runtime', key), value, f'runtime.{key}={value!r}', '--runtime')
               for key, value in (args.runtime or {}).items()]
    cfg = Config.fromfile(args.config, options)
    kwargs = runner_kwargs(cfg, work_dir='/tmp/posecfg-bench', test=args.mode == 'infer')
    runtime = kwargs['runtime']
    with DefaultScope.overwrite_default_scope('posecfg'):
        model = MODELS.build(kwargs['model'])
        if runtime.channels_last:
            model = model.to(memory_format=torch.channels_last)
        optim_wrapper = build_optim_wrapper(model, kwargs['optim_wrapper']) \
            if args.mode == 'train' else None
        split = 'train' if args.mode == 'train' else 'test'
        data = cfg.to_dict()['data'][split]
        data.update(ann_file=os.path.join(args.data_root, args.ann_file),
                    img_prefix=args.data_root)
        if split == 'test':
            data['data_cfg'] = dict(data['data_cfg'], use_gt_bbox=True)
            data['test_mode'] = True
        dataset = DATASETS.build(data)
    return model, optim_wrapper, dataset, runtime


def _input_size(config):
    from posecfg.config import Config
    width, height = Config.fromfile(config)['data_cfg']['image_size']
    return height, width


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('mode', choices=['train', 'infer'])
    ap.add_argument('--config', default=SEED, help='default: the seed config (res50 256x192)')
    ap.add_argument('--data-root', default=DEFAULT_COCO_DIR)
    ap.add_argument('--ann-file', default='test_coco.json')
    ap.add_argument('--batch-size', type=int, default=None, help='16 for train, 32 for infer')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--warmup', type=int, default=1)
    ap.add_argument('--iters', type=int, default=2)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--eager', action='store_true',
                    help='do not compile (what runs under 2000 training iterations or test '
                         'sets under 1600 samples get)')
    ap.add_argument('--runtime', type=json.loads, default=None,
                    help='override the runtime section, e.g. \'{"autocast": null}\'')
    args = ap.parse_args()
    batch_size = args.batch_size or (16 if args.mode == 'train' else 32)

    pin_threads(args.threads)
    import cv2
    import numpy as np
    import torch
    cv2.setNumThreads(1)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    np.random.seed(0)

    from posecfg.transforms import pose_collate
    model, optim_wrapper, dataset, runtime = build(args)
    counter = FlopCounter(model)
    model.eval()
    height, width = _input_size(args.config)
    with torch.no_grad():
        model(torch.zeros(1, 3, height, width), mode='tensor')
    counter.remove()
    fwd_gflops = 2 * counter.macs / 1e9
    batch = pose_collate([dataset[i % len(dataset)] for i in range(batch_size)])

    prepare_s = 0.0
    if args.mode == 'train':
        model.train()
        if runtime.compile and not args.eager:
            # as CompileModelHook does for a run of 2000+ iterations (the seed config's 210
            # epochs of COCO); the first step compiles, timed separately
            from posecfg.engine.hooks import compile_networks
            compile_networks(model, runtime.compile if isinstance(runtime.compile, dict)
                             else None)
            with Timer() as t_prepare:
                model.train_step(batch, optim_wrapper)
            prepare_s = t_prepare.seconds

        def step():
            return model.train_step(batch, optim_wrapper)
        work_per_image = 3 * fwd_gflops  # forward + gradients w.r.t. inputs and weights
    else:
        model.eval()
        from mmengine.runner.amp import autocast

        from posecfg.engine.loops import prepare_for_inference

        # as PoseTestLoop prepares a test set of at least PREPARE_EVAL_MIN_SAMPLES samples:
        # BatchNorm folded, and with COMPILE_EVAL_MIN_SAMPLES+ (COCO val: ~6000) compiled;
        # --eager skips compiling
        compile_eval = runtime.compile_eval is not False and not args.eager
        with Timer() as t_prepare:
            model = prepare_for_inference(model, (3, height, width), runtime.fold_bn,
                                          compile_eval, runtime.autocast is not None)

        def step():
            # as PoseTestLoop runs it: autocast when runtime.autocast is on
            with torch.no_grad(), autocast(enabled=runtime.autocast is not None):
                return model.test_step(batch)
        work_per_image = 2 * fwd_gflops if model.test_cfg.get('flip_test', True) else fwd_gflops
        prepare_s = t_prepare.seconds

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.repeats):
        with Timer() as t:
            for _ in range(args.iters):
                step()
        times.append(t.seconds)
    ips = rate_stats(times, batch_size * args.iters)
    emit({
        'bench': f'posecfg_{args.mode}',
        'what': f'TopDown R50 + simple head 256x192 {args.mode} step, posecfg runtime '
                f'(autocast={runtime.autocast}, channels_last={runtime.channels_last})',
        'unit': 'images/s',
        'images_per_s': ips,
        's_per_step': stats([t / args.iters for t in times]),
        'batch_size': batch_size,
        'threads': args.threads,
        'forward_gflops_per_image': round(fwd_gflops, 4),
        'work_gflops_per_image': round(work_per_image, 4),
        'prepare_seconds': round(prepare_s, 2),  # compiling (and BatchNorm folding), once
        'compiled': bool(prepare_s) and not args.eager and bool(
            runtime.compile if args.mode == 'train' else runtime.compile_eval),
        'achieved_gflops_per_s_median': round(work_per_image * ips['median'], 2),
        'versions': versions(),
        'machine': machine(),
    })


if __name__ == '__main__':
    main()
