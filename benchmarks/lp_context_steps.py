"""posecfg: training steps/s of Lightning Pose's context model (``heatmap_mhcrnn``) beside the
static heatmap model, from the mirror-mouse config.yaml, on this CPU (Lightning Pose 2.4.3 cannot
train either on a CPU: it needs NVIDIA DALI for the unlabeled video).

    .venv/bin/python benchmarks/lp_context_steps.py [--size 128] [--batch-size 3]
        [--context-batch 6] [--frames 12] [--threads 1] [--losses temporal]

A copy of ``../shared/data/lp-mirror-mouse`` (its first ``--frames`` labelled rows and their
neighbouring images, the video cut to 16 frames) is trained for one epoch by ``tools/train.py``'s
path (``load_as_config`` → ``build_runner`` → ``train``) with resnet18 (not pretrained) at
``--size``² pixels, once per model type; a hook times every training iteration (data loading
included: the labelled 5-frame windows and the unlabeled sequence). Steps/s is over the
iterations after the first. Prints one JSON line per model type.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
DATA = Path(os.environ.get('POSECFG_SHARED_DATA', os.path.join(HERE, '..', '..', 'shared',
                                                                'data')))


def project(root: Path, rows: int) -> Path:
    from tests.test_interop.test_lp.videos import copy_first_frames
    source = DATA / 'lp-mirror-mouse'
    data = root / 'mirror-mouse'
    (data / 'labeled-data').mkdir(parents=True)
    for i in range(rows + 3):
        shutil.copy(source / 'labeled-data' / f'img{i:02d}.png', data / 'labeled-data')
    lines = (source / 'CollectedData.csv').read_text().splitlines(keepends=True)
    (data / 'CollectedData.csv').write_text(''.join(lines[:3 + rows]))
    (data / 'videos').mkdir()
    copy_first_frames(source / 'videos' / 'test_vid.mp4', data / 'videos' / 'test_vid.mp4', 16)
    return data


def run(model_type: str, data: Path, args, work: Path) -> dict:
    import torch
    from mmengine.hooks import Hook

    from posecfg.config.cli import flag_override
    from posecfg.engine import build_runner
    from posecfg.interop.lp.to_config import load_as_config
    options = [f'data.data_dir={data}', f'data.video_dir={data}/videos',
               f'model.model_type={model_type}', 'model.backbone=resnet18',
               'model.backbone_pretrained=False',
               f'data.image_resize_dims.height={args.size}',
               f'data.image_resize_dims.width={args.size}', 'training.train_prob=0.8',
               'training.val_prob=0.1', f'training.train_batch_size={args.batch_size}',
               'training.num_workers=0', 'training.min_epochs=1', 'training.max_epochs=1',
               'training.unfreezing_epoch=0', 'eval.predict_vids_after_training=false',
               f'dali.context.train.batch_size={args.context_batch}',
               f'dali.base.train.sequence_length={args.context_batch - 4}',
               f'model.losses_to_use=[{args.losses}]']
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        cfg = load_as_config(str(DATA / 'lp-configs' / 'config_mirror-mouse-example.yaml'),
                             options, [flag_override('--work-dir', 'work_dir', str(work))])
    runner = build_runner(cfg)
    stamps = []

    class Timer(Hook):
        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            stamps.append(time.perf_counter())

    runner.register_hook(Timer(), 'LOW')
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    runner.train()
    steps = len(stamps)
    rate = (steps - 1) / (stamps[-1] - stamps[0]) if steps > 1 else float('nan')
    return dict(model_type=model_type, size=args.size, batch_size=args.batch_size,
                # frames through the backbone per step for the unlabeled sequence
                unlabeled_frames=(args.context_batch if model_type == 'heatmap_mhcrnn'
                                  else args.context_batch - 4) if args.losses else 0,
                labelled_frames=args.batch_size * (5 if model_type == 'heatmap_mhcrnn' else 1),
                losses=args.losses, threads=args.threads, steps=steps,
                steps_per_second=round(rate, 4), first_step_s=round(stamps[0] - start, 2),
                cpu_load=os.getloadavg()[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size', type=int, default=128)
    parser.add_argument('--batch-size', type=int, default=3)
    parser.add_argument('--context-batch', type=int, default=6)
    parser.add_argument('--frames', type=int, default=12)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--losses', default='temporal')
    parser.add_argument('--models', default='heatmap_mhcrnn,heatmap')
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = project(Path(tmp), args.frames)
        for model_type in args.models.split(','):
            result = run(model_type, data, args, Path(tmp) / model_type)
            print(json.dumps(result), flush=True)


if __name__ == '__main__':
    main()
