"""Lightning Pose 2.4.3: video prediction frames/s (``Model.predict_on_video_file``, what
``litpose predict MODEL_DIR video.mp4`` runs per video), beside the decode-only rate.

    benchmarks/.lp-ref-env/bin/python benchmarks/reference/lp_video.py --model-dir DIR
        [--frames 0] [--repeats 1] [--threads 2]

The model is loaded before timing (the load is ``lp_load_time.py``'s business); timed: one
``predict_on_video_file`` call (its reader: OpenCV here, no DALI/NVIDIA decoder on a CPU; its
default batch, ``dali.base.predict.sequence_length``) writing ``<video>.csv``, without the
labeled video and without the unsupervised metrics files (posecfg's ``infer_video`` writes only
the predictions CSV too). ``--frames N``: the first N frames of test_vid.mp4 re-encoded; 0: the
whole video (994 frames). Prints one JSON line.
"""
import argparse
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _common import Timer, emit, machine, pin_threads, stats, versions  # noqa: E402
from _lp_common import bench_video, decode_rate  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--model-dir', required=True)
    ap.add_argument('--frames', type=int, default=0)
    ap.add_argument('--repeats', type=int, default=1)
    ap.add_argument('--threads', type=int, default=2)
    args = ap.parse_args()
    pin_threads(args.threads)
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    import torch
    torch.set_num_threads(args.threads)
    from lightning_pose.api import Model

    video, frames = bench_video(args.frames, os.path.join(args.model_dir, 'bench-clip'))
    decode_fps, _ = decode_rate(video)
    model = Model.from_dir(args.model_dir)
    model._load()
    out = tempfile.mkdtemp(prefix='lpbench-video-')
    times, cpu = [], []
    for _ in range(args.repeats):
        cpu_start = time.process_time()
        with Timer() as t:
            model.predict_on_video_file(video, output_dir=out, compute_metrics=False,
                                        generate_labeled_video=False)
        times.append(t.seconds)
        cpu.append(time.process_time() - cpu_start)
    emit({
        'bench': 'lp_video',
        'what': f'Lightning Pose predict_on_video_file, {frames} frames of test_vid.mp4',
        'unit': 'frames/s',
        'frames_per_s': stats([frames / s for s in times]),
        'cpu_ms_per_frame': stats([1000 * c / frames for c in cpu]),  # all threads
        'decode_frames_per_s': decode_fps, 'frames': frames,
        'threads': args.threads, 'versions': versions(), 'machine': machine(),
    })


if __name__ == '__main__':
    main()
