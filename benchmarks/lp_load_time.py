"""posecfg: model-and-data load time before the first prediction (Lightning Pose's issue #174):
a fresh ``tools/infer_video.py config.yaml CHECKPOINT first_2_frames.mp4`` process, spawn to exit.

    .venv/bin/python benchmarks/lp_load_time.py --run-dir DIR [--repeats 3] [--threads 2]

DIR: a run folder that posecfg trained from Lightning Pose's config.yaml
(``lp_train_budget.py --out DIR``): its ``config.yaml`` and its best checkpoint. The video is
the first two frames of the mirror-mouse video (as the reference's: Lightning Pose's predict
fails on a 1-frame video), so the process is start-up, reading and translating
the config, building the model and loading the weights, one predicted frame, and writing the
Lightning Pose ``<video>.csv``. Same measurement as ``reference/lp_load_time.py``. Prints one
JSON line.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, 'reference'))
from _common import emit, machine, stats, versions  # noqa: E402
from _lp_common import bench_video, threads_value, time_processes  # noqa: E402

from _lp_posecfg import best_checkpoint  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--run-dir', required=True)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--threads', type=threads_value, default=2,
                    help="OMP/MKL threads of the tool's process; 'auto': the tool's default")
    args = ap.parse_args()
    clip, _ = bench_video(2, os.path.join(args.run_dir, 'bench-clip'))
    tool = os.path.join(os.path.dirname(HERE), 'tools', 'infer_video.py')
    cmd = [sys.executable, tool, os.path.join(args.run_dir, 'config.yaml'),
           best_checkpoint(args.run_dir), clip, '--format', 'lp', '--overwrite', '--no-progress',
           '--out-dir', os.path.join(args.run_dir, 'bench-clip', 'preds')]
    threads = str(args.threads)
    env = {} if args.threads == 'auto' else dict(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    seconds, cpu = time_processes(cmd, args.repeats, env=env)
    emit({
        'bench': 'posecfg_lp_load_time',
        'what': 'tools/infer_video.py config.yaml CKPT <2-frame video>, fresh process, spawn '
                'to exit',
        'unit': 's',
        'wall_s': stats(seconds),
        'cpu_s': stats(cpu),
        'threads': args.threads, 'versions': versions(), 'machine': machine(),
    })


if __name__ == '__main__':
    main()
