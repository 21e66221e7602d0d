"""Unlabeled-video sequences per second (``UnlabeledVideoDataset``) against a tiny model's training
step on the same frames: does decoding keep up with the model?

    .venv/bin/python benchmarks/unlabeled_decoding.py [--video-dir DIR] [--sequence-length 16]
        [--size 256 256] [--sequences 12] [--workers 0 2]

Rows (frames/s, wall clock, after one warm-up sequence):
- ``decode <imgaug> workers=N``: sequences drawn in shuffled order (seeks, as in training)
  through a DataLoader with N workers, one sequence per batch (Lightning Pose's unlabeled
  batch); ``imgaug`` none (resize only) or dlc (Lightning Pose's video augmentation);
- ``model step``: forward + backward + Adam step of a ResNet-18 stub (stages 1-2, 16 base
  channels, the engine tests' backbone) with Lightning Pose's heatmap head on one sequence of
  frames of the same size — a lower bound of a real model's step (resnet50 is ~50x the work).
"""
import argparse
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

SHARED = os.environ.get('POSECFG_SHARED_DATA',
                        os.path.join(os.path.dirname(os.path.dirname(HERE)), 'shared', 'data'))
if not os.path.isdir(SHARED):
    SHARED = '/work/shared/data'


def cpu_name() -> str:
    try:
        out = subprocess.run(['lscpu'], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith('Model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def decode_rate(video_dir, length, size, imgaug, workers, count):
    import torch
    from posecfg.datasets.unlabeled_video import (UnlabeledVideoDataset,
                                                  unlabeled_sequence_collate)
    ds = UnlabeledVideoDataset(video_dir, sequence_length=length, image_resize_dims=size,
                               imgaug=imgaug)
    order = torch.randperm(len(ds), generator=torch.Generator().manual_seed(0))[:count + 1]
    keys = [(int(i), 1000 + int(i)) for i in order]
    loader = torch.utils.data.DataLoader(
        keys, batch_size=1, num_workers=workers,
        collate_fn=lambda ks: unlabeled_sequence_collate([ds[k] for k in ks]))
    it = iter(loader)
    next(it)  # warm-up: workers started, video opened
    start = time.perf_counter()
    frames = sum(len(batch['img']) for batch in it)
    return frames / (time.perf_counter() - start)


def model_rate(length, size, steps=4):
    import torch
    from posecfg.registry import MODELS
    import posecfg.models  # noqa: F401
    backbone = MODELS.build(dict(type='ResNet', depth=18, stem_channels=16, base_channels=16,
                                 out_indices=(1,)))
    head = MODELS.build(dict(type='LPHeatmapHead', in_channels=32, out_channels=17,
                             backbone_stride=8, downsample_factor=1))
    params = list(backbone.parameters()) + list(head.parameters())
    optim = torch.optim.Adam(params, lr=1e-3)
    img = torch.randn(length, 3, *size)
    times = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        maps = head(backbone(img))
        loss = maps.square().mean()
        optim.zero_grad()
        loss.backward()
        optim.step()
        times.append(time.perf_counter() - start)
    return length / (sum(times[1:]) / steps)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--video-dir', default=os.path.join(SHARED, 'lp-mirror-mouse', 'videos'))
    parser.add_argument('--sequence-length', type=int, default=16)
    parser.add_argument('--size', type=int, nargs=2, default=[256, 256], metavar=('H', 'W'))
    parser.add_argument('--sequences', type=int, default=12)
    parser.add_argument('--workers', type=int, nargs='+', default=[0, 2])
    args = parser.parse_args()
    import torch
    print(f'CPU: {cpu_name()}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}')
    print(f'video dir {args.video_dir}, sequences of {args.sequence_length} frames resized to '
          f'{args.size[0]}x{args.size[1]}, {args.sequences} sequences per row')
    for imgaug in (None, 'dlc'):
        for workers in args.workers:
            rate = decode_rate(args.video_dir, args.sequence_length, tuple(args.size), imgaug,
                               workers, args.sequences)
            print(f'decode imgaug={imgaug or "none":4s} workers={workers}: {rate:7.1f} frames/s')
    rate = model_rate(args.sequence_length, tuple(args.size))
    print(f'model step (tiny ResNet stub + LP heatmap head, fwd+bwd+Adam): {rate:7.1f} frames/s')


if __name__ == '__main__':
    main()
