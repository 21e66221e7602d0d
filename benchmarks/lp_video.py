"""posecfg: video prediction frames/s of a model trained from Lightning Pose's config.yaml, as
``tools/infer_video.py config.yaml CKPT video.mp4`` runs it, beside the decode-only rate.

    .venv/bin/python benchmarks/lp_video.py --run-dir DIR [--frames 0] [--repeats 1]
        [--threads 2] [--batch-size 8]

DIR: a run folder posecfg trained (``lp_train_budget.py --out DIR``): its config.yaml and best
checkpoint. The model is loaded before timing (``load_video_model``, as the tool does; loading is
``lp_load_time.py``'s business); timed: one ``infer_video`` call (decoder thread, batches of
``--batch-size``, the tool's default 8, the config's runtime switches) writing Lightning Pose's
``<video>.csv``. The same video and decode-only measurement as ``reference/lp_video.py``. Prints
one JSON line.
"""
import argparse
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, 'reference'))
sys.path.insert(0, os.path.dirname(HERE))
from _common import Timer, emit, machine, stats, versions  # noqa: E402
from _lp_common import bench_video, decode_rate, threads_value  # noqa: E402

from _lp_posecfg import best_checkpoint  # noqa: E402  (also: passive OpenMP, as the tool)


def main():
    import torch
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--run-dir', required=True)
    ap.add_argument('--frames', type=int, default=0)
    ap.add_argument('--repeats', type=int, default=1)
    ap.add_argument('--threads', type=threads_value, default=2, help="or 'auto' (the probe)")
    ap.add_argument('--batch-size', type=int, default=8)
    args = ap.parse_args()
    from posecfg.apis.video_inference import infer_video, load_video_model
    from posecfg.interop.dialects import detect_dialect, load_dialect_config

    video, frames = bench_video(args.frames, os.path.join(args.run_dir, 'bench-clip'))
    decode_fps, _ = decode_rate(video)
    config = os.path.join(args.run_dir, 'config.yaml')
    cfg = load_dialect_config(detect_dialect(config), config)
    vm = load_video_model(cfg, best_checkpoint(args.run_dir), runtime=dict(threads=args.threads))
    out = tempfile.mkdtemp(prefix='lpbench-video-')
    times, cpu = [], []
    for _ in range(args.repeats):
        cpu_start = time.process_time()
        with Timer() as t:
            infer_video(vm, video, fmt='lp', out_dir=out, batch_size=args.batch_size,
                        overwrite=True, progress=False)
        times.append(t.seconds)
        cpu.append(time.process_time() - cpu_start)
    emit({
        'bench': 'posecfg_lp_video',
        'what': f'posecfg infer_video (lp format), {frames} frames of test_vid.mp4, batch '
                f'{args.batch_size}',
        'unit': 'frames/s',
        'frames_per_s': stats([frames / s for s in times]),
        'cpu_ms_per_frame': stats([1000 * c / frames for c in cpu]),  # all threads
        'decode_frames_per_s': decode_fps, 'frames': frames,
        'autocast': str(vm.autocast), 'channels_last': vm.channels_last, 'fold_bn': vm.fold_bn,
        'threads': args.threads, 'torch_threads': torch.get_num_threads(),
        'versions': versions(), 'machine': machine(),
    })


if __name__ == '__main__':
    main()
