"""posecfg side of benchmarks/run_dlc.sh: the same work as benchmarks/reference/dlc_bench.py
(DeepLabCut 3.0.2) through posecfg's DeepLabCut-shaped API (``posecfg.apis.dlc``).

    .venv/bin/python benchmarks/dlc_bench.py prepare PROJECT_DIR REFERENCE_PROJECT_DIR
    .venv/bin/python benchmarks/dlc_bench.py train PROJECT_DIR --net resnet_50 [--threads 2]
        [--warmup 1] [--iters 3]
    .venv/bin/python benchmarks/dlc_bench.py evaluate PROJECT_DIR [--threads 2]
    .venv/bin/python benchmarks/dlc_bench.py video PROJECT_DIR CLIP [--threads 2]
    .venv/bin/python benchmarks/dlc_bench.py budget PROJECT_DIR --seconds S [--threads 2]
    .venv/bin/python benchmarks/dlc_bench.py clip VIDEO FRAMES OUT.mp4   # cut the clip

``prepare`` copies the openfield project, writes each shuffle with posecfg's
``tools/dlc_create_training_dataset.py`` (seed 1, as the reference's split) and starts every
shuffle from the initialisation the reference's ``prepare`` saved (``resume_training_from``: the
same file, DeepLabCut's state-dict keys). ``train`` and ``budget`` run what
``posecfg.apis.dlc.train_network`` runs (the shuffle's config translated, ``build_runner``,
``runner.train()``) with a hook timing iterations; ``evaluate`` is
``posecfg.apis.dlc.evaluate_network`` (DeepLabCut's result files, train and test images);
``video`` is ``posecfg.apis.dlc.analyze_videos``, beside the decode-only rate of the same clip
(OpenCV, every frame, nothing else). Every side uses its defaults except the thread count,
``--threads`` on both. Each command prints one JSON line.
"""
import argparse
import glob
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, 'reference'))
# POSECFG_CHECKOUT: measure another checkout's posecfg (e.g. a branch's worktree) with this script
sys.path.insert(0, os.environ.get('POSECFG_CHECKOUT', ROOT))
import _common  # noqa: E402
import _dlc_project  # noqa: E402
from _common import machine, pin_threads, stats, versions  # noqa: E402
from _dlc_project import (BUDGET_SHUFFLE, EVAL_SNAPSHOT, SHUFFLES,  # noqa: E402
                          add_measurement_arguments, all_shuffles, copy_project, dataset_of,
                          evaluation_row, init_snapshot, shuffle_folder, shuffle_of,
                          timed_evaluation, use_initialisation)

from posecfg.config.cli import choose_openmp_waiting  # noqa: E402

choose_openmp_waiting()  # as posecfg's tools do, before torch loads


def checkout():
    """The measured posecfg: its folder and ``git describe`` (commit, ``-dirty``)."""
    import posecfg
    folder = os.path.dirname(os.path.dirname(os.path.abspath(posecfg.__file__)))
    described = subprocess.run(['git', '-C', folder, 'describe', '--always', '--dirty'],
                               capture_output=True, text=True).stdout.strip()
    return {'folder': folder, 'commit': described or None}


def emit(record):
    """_common.emit with the measured checkout added (also for _dlc_project's lines)."""
    _common.emit(dict(record, posecfg=checkout()))


_dlc_project.emit = emit


class Stop(Exception):
    """Raised from the timing hook to end runner.train() where the benchmark ends."""


def quiet():
    import logging
    import warnings
    warnings.simplefilter('ignore')
    logging.disable(logging.WARNING)


def set_threads(threads):
    """Make ``threads`` posecfg's runtime default in this process (as ``runtime.threads=N`` in
    the config would; a DeepLabCut yaml has no such key): both sides run the same thread count.
    posecfg's own default, ``'auto'``, probes and may pick fewer on busy cores."""
    pin_threads(threads)
    from posecfg.engine import runtime
    runtime.DEFAULTS['threads'] = int(threads)


def cmd_prepare(args):
    dataset = dataset_of(args.reference_project)  # the reference's prepare ran first
    config = copy_project(args.project, dataset)
    for net, shuffle in all_shuffles(dataset):
        subprocess.run([sys.executable, os.path.join(ROOT, 'tools', 'dlc_create_training_dataset.py'),
                        config, '--net-type', net, '--shuffle', str(shuffle), '--seed', '1'],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        init = init_snapshot(args.project, shuffle)
        os.makedirs(os.path.dirname(init), exist_ok=True)
        shutil.copyfile(init_snapshot(args.reference_project, shuffle), init)
        use_initialisation(args.project, shuffle)
    same = {}
    for _, shuffle in all_shuffles(dataset):  # the split and the yaml equal the reference's
        ours = shuffle_folder(args.project, shuffle)
        ref = shuffle_folder(args.reference_project, shuffle)
        for name in ('train/pytorch_config.yaml',):
            a = open(os.path.join(ours, name)).read().replace(args.project, 'P')
            b = open(os.path.join(ref, name)).read().replace(args.reference_project, 'P')
            same[f'shuffle{shuffle}/{name}'] = a == b
    for path in glob.glob(os.path.join(args.reference_project, 'training-datasets',
                                       'iteration-0', '*', 'metadata.yaml')):
        meta = os.path.relpath(path, args.reference_project)
        same[meta] = (open(os.path.join(args.project, meta)).read() == open(path).read())
    emit({'bench': 'posecfg_dlc_prepare', 'dataset': dataset, 'identical_to_reference': same})


def build_training_runner(project, shuffle):
    """What posecfg.apis.dlc.train_network builds (before runner.train())."""
    from posecfg.apis.dlc import load_shuffle_config
    from posecfg.engine import build_runner
    cfg = load_shuffle_config(os.path.join(project, 'config.yaml'), shuffle)
    return build_runner(cfg)


def iteration_hook(on_iter):
    """A hook calling ``on_iter(runner, seconds since the last iteration ended, seconds since
    the train loop's start, images in the iteration's batch)``; the first call's interval runs
    from the train loop's start (before_train). An epoch's last batch may be short."""
    from mmengine.hooks import Hook

    class Timing(Hook):
        priority = 'LOWEST'

        def before_train(self, runner):
            self.last = time.perf_counter()
            self.start = self.last

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            now = time.perf_counter()
            interval, self.last = now - self.last, now
            images = data_batch.get('img') if isinstance(data_batch, dict) else None  # (B, 3, h, w)
            on_iter(runner, interval, now - self.start,
                    len(images) if images is not None else runner.train_dataloader.batch_size)
    return Timing()


def train_until(runner, on_iter):
    """runner.train() with ``on_iter`` called after every iteration until it raises Stop."""
    runner.register_hook(iteration_hook(on_iter))
    try:
        runner.train()
    except Stop:
        pass


def cmd_train(args):
    set_threads(args.threads)
    quiet()
    runner = build_training_runner(args.project, shuffle_of(args.project, args.net))
    intervals, images = [], []

    def on_iter(runner, interval, elapsed, n):
        intervals.append(interval)
        images.append(n)
        if len(intervals) >= 1 + args.warmup + args.iters:
            raise Stop
    train_until(runner, on_iter)
    import torch
    runtime = runner.cfg.get('runtime') if hasattr(runner.cfg, 'get') else None
    timed = intervals[1 + args.warmup:]  # the first interval runs from before_train
    counts = images[1 + args.warmup:]
    batch = runner.train_dataloader.batch_size
    emit({'bench': 'posecfg_dlc_train', 'dataset': dataset_of(args.project), 'net': args.net,
          'unit': 'images/s',
          'images_per_s': stats([n / t for n, t in zip(counts, timed)]), 'images': counts,
          's_per_iter': stats(timed),
          # from runner.train()'s start: includes compiling the network when runtime.compile
          # decides to (a run of 2000+ iterations: the yaml's 200 epochs)
          'first_iter_s': round(intervals[0], 2), 'batch_size': batch, 'threads': torch.get_num_threads(), 'runtime': str(runtime),
          'versions': versions(), 'machine': machine()})


def cmd_evaluate(args):
    set_threads(args.threads)
    quiet()
    from posecfg.apis.dlc import evaluate_network
    import posecfg.engine  # noqa: F401  (imported at the first call; DeepLabCut's at import)
    timed_evaluation('posecfg_dlc_evaluate', args.project, args.threads, lambda config, shuffle:
                     evaluate_network(config, Shuffles=[shuffle], snapshotindex=0),
                     net=args.net)


def decode_rate(clip):
    """Frames/s of reading every frame of ``clip`` with OpenCV and nothing else."""
    import cv2
    capture = cv2.VideoCapture(clip)
    n, t0 = 0, time.perf_counter()
    while capture.read()[0]:
        n += 1
    return n / (time.perf_counter() - t0)


def cmd_video(args):
    set_threads(args.threads)
    quiet()
    import cv2
    from posecfg.apis.dlc import analyze_videos
    config = os.path.join(args.project, 'config.yaml')
    out = os.path.join(args.project, 'video-out')
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    frames = int(cv2.VideoCapture(args.clip).get(cv2.CAP_PROP_FRAME_COUNT))
    checkpoint = os.path.join(shuffle_folder(args.project, SHUFFLES['resnet_50']), 'train',
                              EVAL_SNAPSHOT)
    decode_before = decode_rate(args.clip)
    t0 = time.perf_counter()
    analyze_videos(config, [args.clip], shuffle=SHUFFLES['resnet_50'], destfolder=out,
                   checkpoint=checkpoint, progress=False)
    seconds = time.perf_counter() - t0
    decode_after = decode_rate(args.clip)
    if not glob.glob(os.path.join(out, '*.h5')):
        raise RuntimeError(f'analyze_videos wrote no .h5 into {out}')
    emit({'bench': 'posecfg_dlc_video', 'unit': 'frames/s', 'frames': frames,
          'frames_per_s': stats([frames / seconds]), 'seconds': round(seconds, 2),
          'decode_only_frames_per_s': stats([decode_before, decode_after]),
          'threads': args.threads, 'versions': versions(), 'machine': machine()})


def cmd_budget(args):
    set_threads(args.threads)
    quiet()
    import torch
    folder = os.path.join(shuffle_folder(args.project, BUDGET_SHUFFLE), 'train')
    for old in glob.glob(os.path.join(folder, 'snapshot-*.pt')):
        os.remove(old)
    runner = build_training_runner(args.project, BUDGET_SHUFFLE)
    state = {'iters': 0}

    def on_iter(runner, interval, elapsed, n):
        state['iters'] += 1
        if elapsed >= args.seconds:
            state.update(trained=elapsed, epoch=runner.epoch + 1)
            model = runner.model.module if hasattr(runner.model, 'module') else runner.model
            # DeepLabCut's snapshot layout, the keys of its PoseModel
            torch.save({'model': model.state_dict(), 'metadata': {'epoch': runner.epoch + 1}},
                       os.path.join(folder, f'snapshot-{runner.epoch + 1:03d}.pt'))
            raise Stop
    train_until(runner, on_iter)
    from posecfg.apis.dlc import evaluate_network
    evaluate_network(os.path.join(args.project, 'config.yaml'), Shuffles=[BUDGET_SHUFFLE],
                     snapshotindex=-1)
    row = evaluation_row(args.project, BUDGET_SHUFFLE)
    emit({'bench': 'posecfg_dlc_budget', 'dataset': dataset_of(args.project), 'unit': 'px',
          'budget_s': args.seconds, 'trained_s': round(state['trained'], 1),
          'iterations': state['iters'], 'epochs_started': state['epoch'],
          'rmse_test': {'all': [row['test rmse']]}, 'rmse_train': row['train rmse'],
          'map_test': row.get('test mAP'),
          'threads': args.threads, 'versions': versions(), 'machine': machine()})


def cmd_clip(args):
    """The first FRAMES frames of VIDEO, re-encoded (mp4v) to OUT (both sides analyse it)."""
    from _common import make_clip
    make_clip(args.project, int(args.clip), args.out)
    emit({'bench': 'clip', 'out': args.out})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('command', choices=['prepare', 'train', 'evaluate', 'video', 'budget', 'clip'])
    ap.add_argument('project', help='project folder (clip: the source video)')
    ap.add_argument('clip', nargs='?', help='video: the clip; clip: the number of frames')
    ap.add_argument('out', nargs='?', help='clip: the output file')
    ap.add_argument('--reference-project', help='prepare: the reference side\'s project')
    args = add_measurement_arguments(ap).parse_args()
    if args.command == 'prepare':
        args.reference_project = args.reference_project or args.clip
        if not args.reference_project:
            ap.error('prepare needs the reference project folder')
    globals()[f'cmd_{args.command}'](args)


if __name__ == '__main__':
    main()
