"""Lightning Pose 2.4.3: model-and-data load time before the first prediction (its issue #174):
a fresh ``litpose predict MODEL_DIR first_2_frames.mp4`` process, spawn to exit.

    benchmarks/.lp-ref-env/bin/python benchmarks/reference/lp_load_time.py --model-dir DIR
        [--repeats 3] [--threads 2]

The video is the first two frames of the mirror-mouse video (Lightning Pose's
predict fails on a 1-frame video: its temporal-norm metric reshapes an empty difference), so the process is start-up, loading the
model (``Model.from_dir``) and what ``predict`` builds around it, one predicted frame, and
writing its files (``--skip_viz``: no labeled video; ``--overwrite``: predict every time).
Prints one JSON line.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _common import emit, machine, stats, versions  # noqa: E402
from _lp_common import bench_video, time_processes  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--model-dir', required=True, help='a trained Lightning Pose model folder')
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--threads', type=int, default=2)
    args = ap.parse_args()
    clip, _ = bench_video(2, os.path.join(args.model_dir, 'bench-clip'))
    litpose = os.path.join(os.path.dirname(sys.executable), 'litpose')
    cmd = [litpose, 'predict', args.model_dir, clip, '--skip_viz', '--overwrite']
    threads = str(args.threads)
    seconds, cpu = time_processes(cmd, args.repeats, env=dict(
        HF_HUB_OFFLINE='1', OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads))
    emit({
        'bench': 'lp_load_time',
        'what': 'litpose predict MODEL_DIR <2-frame video>, fresh process, spawn to exit',
        'unit': 's',
        'wall_s': stats(seconds),
        'cpu_s': stats(cpu),
        'threads': args.threads, 'versions': versions(), 'machine': machine(),
    })


if __name__ == '__main__':
    main()
