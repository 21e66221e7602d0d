"""Video inference frames/s: posecfg's ``infer_video`` against a naive decode-then-predict loop,
the same model, clip and machine, in the same run (issue 14).

    .venv/bin/python benchmarks/video_inference.py [--frames 120] [--rounds 2] [--video V.mp4]
        [--size 320x240] [--batch-size 8] [--json OUT.jsonl]

The clip: the first ``--frames`` frames of the video (default the DeepLabCut openfield sample,
640x480), re-encoded (mp4v) into a temporary folder. The model: a BottomUp ResNet-18 (torch
random weights: speed does not depend on them) with a heatmap head, input ``--size`` (the
config's test pipeline resizes), as a DeepLabCut-style whole-image model.

- ``posecfg``: :func:`posecfg.apis.video_inference.infer_video` as ``tools/infer_video.py`` runs
  it: decoding in the reader's thread overlapped with prediction, batches of ``--batch-size``,
  the config's runtime switches (``autocast='auto'``: bf16 where native; channels_last;
  BatchNorms folded), ``inference_mode``, writing the DeepLabCut ``.h5``.
- ``naive``: ``cv2.VideoCapture.read`` → RGB → the same test pipeline → ``model.test_step`` one
  frame at a time under ``torch.no_grad``, float32, no switches; rows kept in a list (no file).

Rounds alternate the two so that a busy phase of the shared machine hits both; frames/s is
wall-clock (median and best over rounds). The CPU is named from ``lscpu``.

Results (2026-12-01, ``lscpu``: "AMD EPYC", 2 vCPUs shared with other work; 40 frames of
m3v1mp4.mp4 640x480 → 320x240; oneDNN reports no native bf16 here, so float32):

    2 threads: posecfg 16.11 frames/s (best 16.83), naive 11.35 (best 11.39), ratio 1.42
    1 thread:  posecfg  8.69 frames/s (best  8.78), naive  6.70 (best  6.74), ratio 1.30

The same script before it set passive OpenMP waiting (spinning OpenMP threads on a machine
loaded by other processes, load average ~5): posecfg 2.2, naive 0.5 frames/s: spinning threads
fight the decoder thread and other processes; the tools let idle threads sleep at once where
the cores are busy (posecfg/config/openmp.py).
"""
import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(HERE, 'reference'))

from _common import make_clip  # noqa: E402
from video_decode import DEFAULT_VIDEOS, cpu_model  # noqa: E402

from posecfg.config.cli import choose_openmp_waiting  # noqa: E402

choose_openmp_waiting()  # before torch loads, as the tools do (posecfg/config/openmp.py)

CONFIG = '''
model = dict(type='BottomUp',
             backbone=dict(type='ResNet', depth=18, out_indices=(3,)),
             heads=dict(bodypart=dict(type='HeatmapHead', in_channels=512, out_channels=14,
                                      deconv_out_channels=(128,), deconv_kernel_sizes=(4,),
                                      codec=dict(type='ArgmaxHeatmap'))),
             test_cfg=dict(flip_test=False))
test_pipeline = [dict(type='LoadImageFromFile'),
                 dict(type='Resize', width={w}, height={h}, keep_ratio=False),
                 dict(type='ToTensor'),
                 dict(type='NormalizeTensor', mean=[0.485, 0.456, 0.406],
                      std=[0.229, 0.224, 0.225]),
                 dict(type='Collect', keys=['img'], meta_keys=['image_file', 'image_id'])]
data = dict(test=dict(type='TopDownCocoDataset', ann_file='unused.json', img_prefix='',
                      data_cfg=dict(image_size=[{w}, {h}], heatmap_size=[{w}, {h}],
                                    num_output_channels=14, num_joints=14,
                                    dataset_channel=[list(range(14))],
                                    inference_channel=list(range(14))),
                      dataset_info='{info}', data_mode='bottomup', pipeline=test_pipeline))
runtime = dict(threads={threads})
'''


def run_posecfg(vm, clip, out_dir, batch_size):
    from posecfg.apis.video_inference import infer_video
    start = time.perf_counter()
    result = infer_video(vm, clip, fmt='dlc', out_dir=out_dir, batch_size=batch_size,
                         overwrite=True, progress=False, log=io.StringIO())
    return result.report.decoded, time.perf_counter() - start


def run_naive(model, clip):
    import cv2
    import numpy as np
    import torch
    from posecfg.transforms import Compose
    from posecfg.transforms.collate import pose_collate
    test = model.cfg.to_dict()['data']['test']
    pipeline = Compose([s for s in test['pipeline'] if s['type'] != 'LoadImageFromFile'])
    start = time.perf_counter()
    capture = cv2.VideoCapture(clip)
    rows, t = [], 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        sample = pipeline(dict(img=cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), image_file=clip,
                               image_id=t))
        with torch.no_grad():
            out = model.test_step(pose_collate([sample]))[0]
        rows.append(np.concatenate([out['keypoints'][0], out['keypoint_scores'][0][:, None]],
                                   axis=1))
        t += 1
    return t, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--video', default=DEFAULT_VIDEOS[0])
    parser.add_argument('--frames', type=int, default=120)
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--size', default='320x240', help='model input WxH')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--threads', type=int, default=os.cpu_count() or 1)
    parser.add_argument('--json', default=None, help='append the results as a JSON line')
    args = parser.parse_args()
    import torch
    from posecfg.apis.inference import init_model
    from posecfg.apis.video_inference import load_video_model
    w, h = (int(v) for v in args.size.split('x'))
    info = os.path.join(os.path.dirname(HERE), 'configs/_base_/datasets/synthetic_animal.py')
    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, 'bench.py')
        with open(config, 'w') as f:
            f.write(CONFIG.format(w=w, h=h, info=info, threads=args.threads))
        torch.manual_seed(0)
        naive_model = init_model(config).eval()
        checkpoint = os.path.join(tmp, 'bench.pth')
        torch.save({'state_dict': naive_model.state_dict(), 'meta': {'epoch': 1}}, checkpoint)
        vm = load_video_model(config, checkpoint)
        torch.set_num_threads(args.threads)
        clip = os.path.join(tmp, 'clip.mp4')
        make_clip(args.video, args.frames, clip)
        run_posecfg(vm, clip, tmp, args.batch_size)  # warm-up: BN folding, kernels chosen
        rates = {'posecfg': [], 'naive': []}
        for _ in range(args.rounds):
            n, seconds = run_posecfg(vm, clip, tmp, args.batch_size)
            rates['posecfg'].append(n / seconds)
            n, seconds = run_naive(naive_model, clip)
            rates['naive'].append(n / seconds)
    summary = dict(cpu=cpu_model(), threads=args.threads, video=os.path.basename(args.video),
                   frames=n, input_size=[w, h], batch_size=args.batch_size,
                   autocast=str(vm.autocast), channels_last=vm.channels_last,
                   fold_bn=vm.fold_bn,
                   posecfg_fps=statistics.median(rates['posecfg']),
                   posecfg_best=max(rates['posecfg']),
                   naive_fps=statistics.median(rates['naive']), naive_best=max(rates['naive']))
    print(f"CPU: {summary['cpu']}, {args.threads} threads; {n} frames of "
          f"{summary['video']} → model input {w}x{h}; posecfg runtime: autocast="
          f"{summary['autocast']}, channels_last={vm.channels_last}, fold_bn={vm.fold_bn}")
    for side in ('posecfg', 'naive'):
        print(f'{side:8s} {summary[side + "_fps"]:7.2f} frames/s (best '
              f'{summary[side + "_best"]:.2f}; rounds {[round(r, 2) for r in rates[side]]})')
    print(f'ratio {summary["posecfg_fps"] / summary["naive_fps"]:.2f}')
    if args.json:
        with open(args.json, 'a') as f:
            f.write(json.dumps(summary) + '\n')


if __name__ == '__main__':
    main()
