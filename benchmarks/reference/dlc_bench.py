"""DeepLabCut 3.0.2 side of benchmarks/run_dlc.sh (run with benchmarks/.dlc-ref-env/bin/python).

    dlc_bench.py prepare PROJECT_DIR                  # copy the openfield project, make shuffles
    dlc_bench.py train PROJECT_DIR --net resnet_50 [--threads 2] [--warmup 1] [--iters 3]
    dlc_bench.py evaluate PROJECT_DIR [--threads 2]
    dlc_bench.py video PROJECT_DIR CLIP [--threads 2]
    dlc_bench.py budget PROJECT_DIR --seconds S [--threads 2]

Everything goes through DeepLabCut's own entry points, as a user calls them:
``create_training_dataset`` (prepare), ``train_network`` (train, budget), ``evaluate_network``,
``analyze_videos``, all on ``device='cpu'``. Timing hooks wrap ``PoseTrainingRunner.step``
(one training iteration: the data loading before it is inside the interval between the ends of
two steps). No pretrained weights exist offline: every shuffle's ``pytorch_config.yaml`` gets
``resume_training_from: <init.pt>``, a snapshot of DeepLabCut's ``PoseModel`` built with
``pretrained_backbone=False`` from ``torch.manual_seed(0)`` (``prepare`` writes it; posecfg's side
loads the same file: the state-dict keys are the same). Each command prints one JSON line.
"""
import argparse
import glob
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _common import emit, machine, pin_threads, stats, versions  # noqa: E402
from _dlc_project import (BUDGET_SHUFFLE, SHUFFLES, add_measurement_arguments,  # noqa: E402
                          all_shuffles, copy_project, dataset_of, evaluation_row,
                          init_snapshot, pytorch_config, shuffle_folder, shuffle_of,
                          timed_evaluation, use_initialisation)


class Stop(Exception):
    """Raised from a wrapped training step to end train_network where the benchmark ends."""


def quiet():
    import logging
    logging.disable(logging.WARNING)
    import warnings
    warnings.simplefilter('ignore')


def import_dlc(threads):
    pin_threads(threads)
    quiet()
    import torch
    torch.set_num_threads(threads)
    import deeplabcut
    return deeplabcut


def cmd_prepare(args):
    deeplabcut = import_dlc(args.threads)
    import numpy as np
    import torch
    from deeplabcut.pose_estimation_pytorch.models import PoseModel
    from deeplabcut.pose_estimation_pytorch.data import DLCLoader
    config = copy_project(args.project, args.dataset)
    for net, shuffle in all_shuffles(args.dataset):
        # the split drawn after numpy.random.seed(1) for every shuffle (posecfg's tool: --seed 1)
        np.random.seed(1)
        deeplabcut.create_training_dataset(config, Shuffles=[shuffle], net_type=net,
                                           userfeedback=False)
        loader = DLCLoader(config, shuffle=shuffle)
        init = init_snapshot(args.project, shuffle)
        torch.manual_seed(0)
        model = PoseModel.build(loader.model_cfg['model'], pretrained_backbone=False)
        os.makedirs(os.path.dirname(init), exist_ok=True)
        torch.save({'model': model.state_dict(), 'metadata': {'epoch': 0}}, init)
        use_initialisation(args.project, shuffle)
    emit({'bench': 'dlc_prepare', 'dataset': args.dataset, 'project': args.project,
          'versions': versions()})


def wrap_step(on_step):
    """Patch PoseTrainingRunner.step: ``on_step(runner, seconds since the last step ended,
    images in the step's batch)`` after each training step (an epoch's last batch may be short)."""
    from deeplabcut.pose_estimation_pytorch.runners.train import PoseTrainingRunner
    original = PoseTrainingRunner.step
    last = [None]

    def step(self, batch, mode='train'):
        start = time.perf_counter()
        out = original(self, batch, mode)
        if mode == 'train':
            now = time.perf_counter()
            # the first interval is the first step alone (no data loading before it)
            interval = now - (start if last[0] is None else last[0])
            last[0] = now
            on_step(self, interval, len(batch['image']))
        return out
    PoseTrainingRunner.step = step


def cmd_train(args):
    deeplabcut = import_dlc(args.threads)
    import yaml
    shuffle = shuffle_of(args.project, args.net)
    with open(pytorch_config(args.project, shuffle)) as f:
        batch = yaml.safe_load(f)['train_settings']['batch_size']
    intervals, images = [], []

    def on_step(runner, interval, n):
        intervals.append(interval)
        images.append(n)
        if len(intervals) >= 1 + args.warmup + args.iters:
            raise Stop
    wrap_step(on_step)
    config = os.path.join(args.project, 'config.yaml')
    try:  # the config's epochs; Stop comes within the first (openfield: 14 iterations)
        # snapshot_path: the yaml's resume_training_from is read only after the model is built
        # with pretrained_backbone=True, which downloads (apis/training.py:76-97, 128)
        deeplabcut.train_network(config, shuffle=shuffle, device='cpu',
                                 snapshot_path=init_snapshot(args.project, shuffle))
    except Stop:
        pass
    timed = intervals[1 + args.warmup:]  # as posecfg's side: the first and warm-up dropped
    counts = images[1 + args.warmup:]
    emit({'bench': 'dlc_train', 'dataset': dataset_of(args.project), 'net': args.net,
          'unit': 'images/s',
          'images_per_s': stats([n / t for n, t in zip(counts, timed)]), 'images': counts,
          's_per_iter': stats(timed), 'first_iter_s': round(intervals[0], 2),
          'batch_size': batch, 'threads': args.threads,
          'versions': versions(), 'machine': machine()})


def cmd_evaluate(args):
    import_dlc(args.threads)
    from deeplabcut.pose_estimation_pytorch.apis.evaluation import evaluate_network
    timed_evaluation('dlc_evaluate', args.project, args.threads, lambda config, shuffle:
                     evaluate_network(config, shuffles=[shuffle], snapshotindex=0, device='cpu'),
                     net=args.net)


def cmd_video(args):
    deeplabcut = import_dlc(args.threads)
    import cv2
    from deeplabcut.pose_estimation_pytorch.apis.videos import analyze_videos
    config = os.path.join(args.project, 'config.yaml')
    out = os.path.join(args.project, 'video-out')
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    frames = int(cv2.VideoCapture(args.clip).get(cv2.CAP_PROP_FRAME_COUNT))
    t0 = time.perf_counter()
    analyze_videos(config, [args.clip], shuffle=SHUFFLES['resnet_50'], snapshot_index=0,
                   device='cpu', destfolder=out)
    seconds = time.perf_counter() - t0
    if not glob.glob(os.path.join(out, '*.h5')):
        raise RuntimeError(f'analyze_videos wrote no .h5 into {out}')
    emit({'bench': 'dlc_video', 'unit': 'frames/s', 'frames': frames,
          'frames_per_s': stats([frames / seconds]), 'seconds': round(seconds, 2),
          'batch_size': 'project config.yaml batch_size', 'threads': args.threads,
          'versions': versions(), 'machine': machine()})


def cmd_budget(args):
    deeplabcut = import_dlc(args.threads)
    import torch
    config = os.path.join(args.project, 'config.yaml')
    folder = shuffle_folder(args.project, BUDGET_SHUFFLE)
    for old in glob.glob(os.path.join(folder, 'train', 'snapshot-*.pt')):
        os.remove(old)
    state = {'start': None, 'iters': 0}

    def on_step(runner, interval, n):
        if state['start'] is None:  # the clock starts with the first iteration's start
            state['start'] = runner_start[0]
        state['iters'] += 1
        if time.perf_counter() - state['start'] >= args.seconds:
            state['epoch'] = runner.current_epoch
            torch.save({'model': runner.model.state_dict(),
                        'metadata': {'epoch': runner.current_epoch}},
                       os.path.join(folder, 'train', f'snapshot-{runner.current_epoch:03d}.pt'))
            raise Stop

    runner_start = [None]
    from deeplabcut.pose_estimation_pytorch.runners.train import TrainingRunner
    fit = TrainingRunner.fit

    def timed_fit(self, *a, **k):
        runner_start[0] = time.perf_counter()
        return fit(self, *a, **k)
    TrainingRunner.fit = timed_fit
    wrap_step(on_step)
    try:  # the config's 200 epochs, snapshots every 25: neither is reached in the budgets run
        deeplabcut.train_network(config, shuffle=BUDGET_SHUFFLE, device='cpu',
                                 snapshot_path=init_snapshot(args.project, BUDGET_SHUFFLE))
    except Stop:
        pass
    trained = time.perf_counter() - state['start']
    from deeplabcut.pose_estimation_pytorch.apis.evaluation import evaluate_network
    evaluate_network(config, shuffles=[BUDGET_SHUFFLE], snapshotindex=-1, device='cpu')
    row = evaluation_row(args.project, BUDGET_SHUFFLE)
    emit({'bench': 'dlc_budget', 'dataset': dataset_of(args.project), 'unit': 'px',
          'budget_s': args.seconds, 'trained_s': round(trained, 1), 'iterations': state['iters'],
          'epochs_started': state.get('epoch'), 'rmse_test': {'all': [row['test rmse']]},
          'rmse_train': row['train rmse'], 'map_test': row.get('test mAP'),
          'threads': args.threads, 'versions': versions(),
          'machine': machine()})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('command', choices=['prepare', 'train', 'evaluate', 'video', 'budget'])
    ap.add_argument('project')
    ap.add_argument('clip', nargs='?')
    args = add_measurement_arguments(ap).parse_args()
    globals()[f'cmd_{args.command}'](args)


if __name__ == '__main__':
    main()
