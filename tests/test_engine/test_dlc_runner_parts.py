"""DeepLabCut 3's runner parts in a tiny real training run: snapshots (names, keeping rules,
contents), ``learning_stats.csv``, the schedulers, and resuming from a snapshot.

The rules the oracles below are written from (DeepLabCut 3.0.1):
- deeplabcut/pose_estimation_pytorch/runners/snapshots.py:78-127 (best / regular / cleanup),
- runners/train.py:139-153 (snapshot dict), 218-235 (step scheduler, evaluate, save),
  302-317 (what goes to the CSV), runners/logger.py:437-505 (CSV layout),
- runners/schedulers.py:19-59 (LRListScheduler), 62-99 (nested schedulers).
"""
import csv
import math
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from posecfg.config import Config
from posecfg.datasets.synthetic import generate_dataset
from posecfg.engine import build_runner
from posecfg.engine.checkpoint import load_checkpoint_file
from tiny_training import logged_lrs


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('dlcrun')
    generate_dataset(root, num_train=4, num_val=2, image_size=(64, 64), seed=5)
    return root


def config(data, work_dir, tiny_run, epochs, hooks, scheduler=None, metric='EPE', lr=1e-3,
           **extra):
    settings, backbone, norm, info = tiny_run
    data_cfg = dict(image_size=[64, 64], heatmap_size=[8, 8], num_output_channels=14,
                    num_joints=14, dataset_channel=[list(range(14))],
                    inference_channel=list(range(14)), use_gt_bbox=True, soft_nms=False,
                    nms_thr=1.0, oks_thr=0.9, vis_thr=0.2, det_bbox_thr=0.0)
    train_pipeline = [dict(type='LoadImageFromFile'), dict(type='TopDownAffine'),
                      dict(type='ToTensor'), norm, dict(type='TopDownGenerateTarget', sigma=1),
                      dict(type='Collect', keys=['img', 'target', 'target_weight'],
                           meta_keys=['image_file', 'joints_3d', 'joints_3d_visible', 'center',
                                      'scale', 'rotation', 'bbox_score', 'flip_pairs'])]
    val_pipeline = [dict(type='LoadImageFromFile'), dict(type='TopDownAffine'),
                    dict(type='ToTensor'), norm,
                    dict(type='Collect', keys=['img'],
                         meta_keys=['image_file', 'center', 'scale', 'rotation', 'bbox_score',
                                    'flip_pairs'])]

    def dataset(split, pipeline):
        return dict(type='TopDownCocoDataset', ann_file=f'{data}/annotations/{split}.json',
                    img_prefix=f'{data}/images/{split}/', data_cfg=data_cfg, dataset_info=info,
                    pipeline=pipeline)

    settings = settings(work_dir, lr=lr)
    settings['total_epochs'] = epochs
    cfg = dict(
        model=dict(type='TopDown', pretrained=None, backbone=backbone,
                   keypoint_head=dict(type='TopdownHeatmapSimpleHead', in_channels=32,
                                      out_channels=14, num_deconv_layers=0, extra=dict(
                                          final_conv_kernel=1),
                                      loss_keypoint=dict(type='JointsMSELoss',
                                                         use_target_weight=True)),
                   train_cfg=dict(), test_cfg=dict(flip_test=False, post_process='default',
                                                   shift_heatmap=False)),
        data=dict(samples_per_gpu=2, workers_per_gpu=0, val_dataloader=dict(samples_per_gpu=4),
                  train=dataset('train', train_pipeline), val=dataset('val', val_pipeline),
                  test=dataset('val', val_pipeline)),
        evaluation=dict(interval=1, metric=metric),
        default_hooks=dict(checkpoint=None),
        custom_hooks=hooks, experiment_name=f'{work_dir.name}_{os.getpid()}', **settings,
        **extra)
    if scheduler is not None:
        cfg['param_scheduler'] = scheduler
    return Config.fromdict(cfg)


def read_csv(path):
    with open(path, newline='') as f:
        return list(csv.reader(f))


def dlc_keeping_oracle(metrics, asc, save_epochs, max_snapshots, epochs):
    """DeepLabCut's TorchSnapshotManager.update (snapshots.py:90-127) on file names."""
    files, best = set(), None
    for epoch, value in enumerate(metrics, start=1):
        if value is not None and not math.isnan(value) and (
                best is None or (asc and best < value) or (not asc and best > value)):
            best = value
            old = [f for f in files if '-best-' in f]
            files.add(f'snapshot-best-{epoch:03d}.pt')
            for f in old:
                files.discard(f)
                old_epoch = int(f[-6:-3])
                if old_epoch % save_epochs == 0:
                    files.add(f'snapshot-{old_epoch:03d}.pt')
        elif epoch == epochs or epoch % save_epochs == 0:
            files.add(f'snapshot-{epoch:03d}.pt')
        regular = sorted(f for f in files if '-best-' not in f)
        for f in regular[:max(len(regular) - max_snapshots, 0)]:
            files.discard(f)
    return sorted(files)


# EPE falls every epoch in this run: descending, the best moves each epoch (earlier bests renamed
# at multiples of save_epochs, deleted otherwise); ascending, it stays at epoch 1
@pytest.mark.parametrize('metric,key,asc', [('EPE', 'EPE', False), ('EPE', 'EPE', True)])
def test_snapshots_follow_dlc_names_and_keeping_rules(data, tmp_path, tiny_run, metric, key, asc):
    work = tmp_path / 'work'
    hooks = [dict(type='DLCSnapshotHook', key_metric=key, key_metric_asc=asc, max_snapshots=2,
                  save_epochs=2, metric_names={key: f'test.{key}'}),
             dict(type='DLCLearningStatsHook', metric_names={key: f'test.{key}'})]
    epochs = 5
    cfg = config(data, work, tiny_run, epochs, hooks, metric=metric, lr=3e-3)
    build_runner(cfg).train()

    rows = read_csv(work / 'learning_stats.csv')
    header = rows[0]
    column = f'metrics/test.{key}'
    assert header[0] == 'step' and header[1:] == sorted(header[1:])
    assert 'losses/train.total_loss' in header and column in header
    assert [r[0] for r in rows[1:]] == [str(e) for e in range(1, epochs + 1)]
    values = [float(r[header.index(column)]) for r in rows[1:]]
    expected = dlc_keeping_oracle(values, asc, save_epochs=2, max_snapshots=2, epochs=epochs)
    assert sorted(n for n in os.listdir(work) if n.endswith('.pt')) == expected
    assert expected == (['snapshot-002.pt', 'snapshot-004.pt', 'snapshot-best-005.pt'] if not asc
                        else ['snapshot-004.pt', 'snapshot-005.pt', 'snapshot-best-001.pt'])
    assert not [n for n in os.listdir(work) if n.endswith('.tmp')]

    best = next(n for n in expected if '-best-' in n)
    snapshot = torch.load(work / best, weights_only=True)  # as DeepLabCut loads it
    assert set(snapshot) == {'metadata', 'model'}  # no optimizer: save_optimizer_state=False
    assert set(snapshot['metadata']) == {'epoch', 'metrics', 'losses', 'posecfg'}
    epoch = int(best[-6:-3])
    assert snapshot['metadata']['epoch'] == epoch
    chosen = (max if asc else min)(values)
    assert snapshot['metadata']['metrics'][column] == chosen == values[epoch - 1]
    assert values.index(chosen) == epoch - 1  # the first epoch reaching it (strict comparison)
    assert snapshot['metadata']['losses']['train.total_loss'] == pytest.approx(
        float(rows[epoch][header.index('losses/train.total_loss')]), rel=1e-12)


def test_learning_stats_csv_is_dlc_layout(tmp_path):
    from posecfg.engine.hooks.learning_stats import format_learning_stats, read_learning_stats
    # what DeepLabCut's CSVLogger writes: csv.writer rows, \r\n, empty fields for gaps
    text = format_learning_stats([1, 2], [{'losses/train.total_loss': 0.5},
                                          {'losses/train.total_loss': 0.25,
                                           'metrics/test.rmse': 3.125}])
    assert text == ('step,losses/train.total_loss,metrics/test.rmse\r\n'
                    '1,0.5,\r\n2,0.25,3.125\r\n')
    path = tmp_path / 'learning_stats.csv'
    path.write_text(text, newline='')
    assert read_learning_stats(str(path)) == ([1, 2], [
        {'losses/train.total_loss': 0.5, 'metrics/test.rmse': None},
        {'losses/train.total_loss': 0.25, 'metrics/test.rmse': 3.125}])
    path.write_text('epoch,loss\r\n1,0.5\r\n')
    with pytest.raises(ValueError, match='no "step" column'):
        read_learning_stats(str(path))


# -- schedulers ---------------------------------------------------------------------------
def lrs_per_epoch(scheduler, optimizer, epochs):
    """The learning rate each epoch trains with, the scheduler stepped after every epoch
    (train.py:221-223)."""
    out = []
    for _ in range(epochs):
        out.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        scheduler.step()
    return out


def sgd(lr=1e-3):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=lr)


def test_lr_list_scheduler_by_hand():
    from posecfg.engine.torch_schedulers import LRListScheduler
    optimizer = sgd(1e-3)
    scheduler = LRListScheduler(optimizer, milestones=[2, 4], lr_list=[[5e-4], [1e-4]])
    # lr changes to lr_list[i] once the scheduler has been stepped milestones[i] times
    assert lrs_per_epoch(scheduler, optimizer, 6) == [1e-3, 1e-3, 5e-4, 5e-4, 1e-4, 1e-4]
    with pytest.raises(ValueError, match='one list of rates per milestone'):
        LRListScheduler(sgd(), milestones=[2, 4], lr_list=[[5e-4]])
    with pytest.raises(ValueError, match='1 parameter group'):
        LRListScheduler(sgd(), milestones=[2], lr_list=[[5e-4, 1e-4]])


@pytest.mark.parametrize('kind', ['SequentialLR', 'ChainedScheduler'])
def test_nested_torch_schedulers_match_torch(kind):
    from posecfg.engine.torch_schedulers import TorchLRScheduler
    linear = dict(type='LinearLR', params=dict(start_factor=0.1, total_iters=3))
    steps = dict(type='MultiStepLR', params=dict(milestones=[2, 5], gamma=0.5))
    params = dict(schedulers=[linear, steps])
    if kind == 'SequentialLR':
        params['milestones'] = [3]
    ours_optimizer = sgd(1e-2)
    ours = TorchLRScheduler(ours_optimizer, scheduler=dict(type=kind, params=params))
    theirs_optimizer = sgd(1e-2)
    subs = [torch.optim.lr_scheduler.LinearLR(theirs_optimizer, start_factor=0.1, total_iters=3),
            torch.optim.lr_scheduler.MultiStepLR(theirs_optimizer, milestones=[2, 5], gamma=0.5)]
    theirs = torch.optim.lr_scheduler.SequentialLR(theirs_optimizer, subs, milestones=[3]) \
        if kind == 'SequentialLR' else torch.optim.lr_scheduler.ChainedScheduler(subs)
    expected = lrs_per_epoch(theirs, theirs_optimizer, 9)
    assert lrs_per_epoch(ours, ours_optimizer, 9) == expected
    assert len(set(expected)) > 3  # the schedule does change


def test_scheduler_state_round_trip_and_dlc_fallbacks():
    from posecfg.engine.torch_schedulers import TorchLRScheduler
    cfg = dict(type='SequentialLR', params=dict(
        schedulers=[dict(type='LinearLR', params=dict(start_factor=0.1, total_iters=3)),
                    dict(type='MultiStepLR', params=dict(milestones=[2], gamma=0.5))],
        milestones=[3]))
    first = TorchLRScheduler(sgd(1e-2), scheduler=cfg)
    lrs_per_epoch(first, first.optimizer, 5)
    resumed = TorchLRScheduler(sgd(1e-2), scheduler=cfg)
    resumed.load_state_dict(first.state_dict())
    assert resumed.optimizer.param_groups[0]['lr'] == first.optimizer.param_groups[0]['lr']
    assert lrs_per_epoch(resumed, resumed.optimizer, 4) == \
        lrs_per_epoch(first, first.optimizer, 4)
    # load_scheduler_state_dict=False, or a snapshot without a scheduler: DeepLabCut only sets
    # last_epoch to the snapshot's epoch (train.py:340-342), the rate stays as it is
    for state in (first.state_dict(), {'last_epoch': 9}):
        kept = TorchLRScheduler(sgd(1e-2), scheduler=cfg, load_scheduler_state_dict=False)
        lr = kept.optimizer.param_groups[0]['lr']
        kept.load_state_dict(state)
        assert kept.scheduler.last_epoch == 9 and kept.optimizer.param_groups[0]['lr'] == lr


def test_scheduler_config_errors_name_the_key():
    from posecfg.engine.torch_schedulers import TorchLRScheduler
    with pytest.raises(ValueError, match=r"scheduler.params.schedulers.1.type='StepLr'"):
        TorchLRScheduler(sgd(), scheduler=dict(type='SequentialLR', params=dict(
            schedulers=[dict(type='LinearLR', params={}), dict(type='StepLr', params={})],
            milestones=[2])))
    with pytest.raises(ValueError, match='ReduceLROnPlateau needs a metric'):
        TorchLRScheduler(sgd(), scheduler=dict(type='ReduceLROnPlateau', params={}))


# -- a run with a DLC scheduler, resumed from a snapshot -------------------------------------
def logged_lr_sets(work_dir):
    """{epoch: set of lrs logged in it}."""
    return {epoch: set(lrs) for epoch, lrs in logged_lrs(work_dir).items()}


def test_a_run_resumed_from_a_snapshot_repeats_the_uninterrupted_one(data, tmp_path, tiny_run):
    import shutil
    hooks = [dict(type='DLCSnapshotHook', max_snapshots=5, save_epochs=1,
                  save_optimizer_state=True), dict(type='DLCLearningStatsHook')]
    scheduler = [dict(type='LRListScheduler', milestones=[1, 3], lr_list=[[5e-4], [1e-4]])]
    full = tmp_path / 'full'
    build_runner(config(data, full, tiny_run, 4, hooks, scheduler), validate=False).train()
    assert logged_lr_sets(str(full)) == {1: {1e-3}, 2: {5e-4}, 3: {5e-4}, 4: {1e-4}}
    assert sorted(n for n in os.listdir(full) if n.endswith('.pt')) == \
        [f'snapshot-00{e}.pt' for e in range(1, 5)]
    snapshot = torch.load(full / 'snapshot-002.pt', weights_only=True)
    assert set(snapshot) == {'metadata', 'model', 'optimizer', 'scheduler'}
    assert snapshot['scheduler']['last_epoch'] == 2 and snapshot['metadata']['epoch'] == 2

    # the train folder as a kill after epoch 2 left it (plus a stray row of the lost epoch 3)
    part = tmp_path / 'part'
    part.mkdir()
    shutil.copy(full / 'snapshot-001.pt', part)
    shutil.copy(full / 'snapshot-002.pt', part)
    rows = read_csv(full / 'learning_stats.csv')
    with open(part / 'learning_stats.csv', 'w', newline='') as f:
        csv.writer(f).writerows(rows[:4])
    cfg = config(data, part, tiny_run, 4, hooks, scheduler,
                 resume_from=str(part / 'snapshot-002.pt'))
    build_runner(cfg, validate=False).train()
    assert logged_lr_sets(str(part)) == {3: {5e-4}, 4: {1e-4}}
    for epoch in (3, 4):
        ours = load_checkpoint_file(str(part / f'snapshot-00{epoch}.pt'))
        theirs = load_checkpoint_file(str(full / f'snapshot-00{epoch}.pt'))
        assert ours['scheduler'] == theirs['scheduler']
        for key, tensor in theirs['model'].items():
            assert torch.equal(ours['model'][key], tensor), key
    assert read_csv(part / 'learning_stats.csv') == rows  # epoch 3 once, as uninterrupted
    # DeepLabCut's own snapshot: no optimizer state, no posecfg metadata; the scheduler state
    # (train.py:150-151) puts the learning rate where it was
    own = tmp_path / 'own'
    own.mkdir()
    snapshot['metadata'].pop('posecfg')
    snapshot.pop('optimizer')
    torch.save(snapshot, own / 'snapshot-002.pt')
    build_runner(config(data, own, tiny_run, 4, hooks, scheduler,
                        resume_from=str(own / 'snapshot-002.pt')), validate=False).train()
    assert logged_lr_sets(str(own)) == {3: {5e-4}, 4: {1e-4}}
    assert torch.load(own / 'snapshot-004.pt', weights_only=True)['metadata']['epoch'] == 4
    # a run without the DLC hooks tests a snapshot as any checkpoint
    tester = build_runner(config(data, tmp_path / 'test', tiny_run, 4, []), test=True,
                          checkpoint=str(part / 'snapshot-004.pt'))
    assert 'EPE' in tester.test()


# -- the keeping rules and write safety, driven epoch by epoch -----------------------------
class FakeLoop:
    """The train loop's counters the hooks read."""

    def __init__(self, epochs, val_interval):
        self._epoch, self.max_epochs, self.val_begin, self.val_interval = 0, epochs, 1, \
            val_interval


class FakeRunner:
    """What DLCSnapshotHook reads from mmengine's runner: a one-layer model, its optimizer, the
    train loop's counters (evaluating every ``val_interval`` epochs and at the last)."""

    def __init__(self, work_dir, epochs, val_interval=1):
        import logging

        from mmengine.runner import BaseLoop
        self.work_dir, self.seed, self.cfg, self.iter = str(work_dir), 0, None, 0
        self.model = torch.nn.Linear(2, 2)
        self.optim_wrapper = torch.optim.SGD(self.model.parameters(), lr=0.1)
        self.param_schedulers = None
        self.logger = logging.getLogger('fake-runner')
        loop = type('TrainLoop', (FakeLoop, BaseLoop), {'run': lambda self: None})
        self._train_loop = self.train_loop = loop(epochs, val_interval)  # "training"
        self.val_loop = object()


def drive(hook, runner, metrics):
    """Epochs 1..len(metrics): train, then (when the loop would) validate with
    ``{'rmse': metrics[e - 1]}``, as mmengine's loop calls the hooks."""
    hook.before_run(runner)
    hook.before_train(runner)
    for value in metrics:
        loop = runner.train_loop
        hook.after_train_epoch(runner)
        loop._epoch += 1
        epoch = loop._epoch
        if epoch % loop.val_interval == 0 or epoch == loop.max_epochs:
            hook.after_val_epoch(runner, {'rmse': value})


def pt_files(folder):
    return sorted(n for n in os.listdir(folder) if n.endswith('.pt'))


@pytest.mark.parametrize('asc', [False, True])
def test_keeping_rules_on_a_metric_sequence(tmp_path, asc):
    from posecfg.engine.hooks import DLCSnapshotHook
    # up and down, a NaN, a tie (strict comparison keeps the earlier best)
    metrics = [5.0, 3.0, 4.0, float('nan'), 3.0, 1.0, 6.0, 2.0]
    hook = DLCSnapshotHook(key_metric='rmse', key_metric_asc=asc, max_snapshots=2,
                           save_epochs=3, metric_names={'rmse': 'test.rmse'})
    drive(hook, FakeRunner(tmp_path, len(metrics)), metrics)
    assert pt_files(tmp_path) == dlc_keeping_oracle(metrics, asc, 3, 2, len(metrics))
    assert pt_files(tmp_path) == (['snapshot-003.pt', 'snapshot-008.pt', 'snapshot-best-006.pt']
                                  if not asc else
                                  ['snapshot-006.pt', 'snapshot-008.pt', 'snapshot-best-007.pt'])


def test_eval_interval_snapshots_between_evaluations(tmp_path):
    from posecfg.engine.hooks import DLCSnapshotHook
    hook = DLCSnapshotHook(key_metric='rmse', key_metric_asc=False, max_snapshots=5,
                           save_epochs=1)
    runner = FakeRunner(tmp_path, 5, val_interval=2)
    drive(hook, runner, [9.0, 4.0, 9.0, 2.0, 3.0])  # evaluated after epochs 2, 4 and 5
    assert pt_files(tmp_path) == ['snapshot-001.pt', 'snapshot-002.pt', 'snapshot-003.pt',
                                  'snapshot-005.pt', 'snapshot-best-004.pt']
    metadata = torch.load(tmp_path / 'snapshot-003.pt', weights_only=True)['metadata']
    assert metadata['metrics'] == {'metrics/rmse': 4.0}  # the last evaluation's, as DLC keeps


def test_a_failing_write_keeps_the_previous_best_and_leaves_no_temporary(tmp_path, monkeypatch):
    from posecfg.engine.hooks import DLCSnapshotHook
    hook = DLCSnapshotHook(key_metric='rmse', key_metric_asc=False, max_snapshots=1,
                           save_epochs=1)
    runner = FakeRunner(tmp_path, 3)
    drive(hook, runner, [5.0, 4.0])
    assert pt_files(tmp_path) == ['snapshot-001.pt', 'snapshot-best-002.pt']
    real_save = torch.save

    def save_then_fail(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(torch, 'save', save_then_fail)
    runner.train_loop.max_epochs = 3
    hook.after_train_epoch(runner)
    runner.train_loop._epoch += 1
    with pytest.raises(OSError, match='snapshot-best-003.pt'):
        hook.after_val_epoch(runner, {'rmse': 1.0})
    assert pt_files(tmp_path) == ['snapshot-001.pt', 'snapshot-best-002.pt']
    assert [n for n in os.listdir(tmp_path) if n.endswith('.tmp')] == []


def test_a_dlc_snapshot_converts_for_resuming():
    from posecfg.engine.hooks.dlc_snapshots import checkpoint_from_snapshot
    weights = {'backbone.w': torch.zeros(1)}
    # DeepLabCut's own: metadata, model, no optimizer (save_optimizer_state false), a scheduler
    dlc = dict(metadata=dict(epoch=4, metrics={}, losses={}), model=weights,
               scheduler=dict(last_epoch=4, _last_lr=[1e-4]))
    converted = checkpoint_from_snapshot(dlc, iters_per_epoch=10)
    assert converted['state_dict'] is weights
    assert converted['meta'] == dict(epoch=4, iter=40)
    assert converted['param_schedulers'] == [dlc['scheduler']] and 'optimizer' not in converted
    assert set(converted['message_hub']) == {'log_scalars', 'runtime_info', 'resumed_keys'}
    # without a scheduler: DeepLabCut's fallback, last_epoch = the snapshot's epoch
    del dlc['scheduler']
    assert checkpoint_from_snapshot(dlc, 10)['param_schedulers'] == [dict(last_epoch=4)]


def test_a_resumed_run_keeps_the_best_value_of_the_best_snapshot(tmp_path):
    from posecfg.engine.hooks import DLCSnapshotHook

    def hook():
        return DLCSnapshotHook(key_metric='rmse', key_metric_asc=False, save_epochs=1)

    drive(hook(), FakeRunner(tmp_path, 2), [5.0, 3.0])
    resumed = FakeRunner(tmp_path, 3)
    resumed.train_loop._epoch = 2
    drive(hook(), resumed, [4.0])  # worse than 3.0: DeepLabCut, starting from no best, took it
    assert pt_files(tmp_path) == ['snapshot-001.pt', 'snapshot-003.pt', 'snapshot-best-002.pt']


def test_a_key_metric_the_evaluation_does_not_return_is_an_error(tmp_path):
    from posecfg.engine.hooks import DLCSnapshotHook
    hook = DLCSnapshotHook(key_metric='test.rmse')
    from posecfg.config import ConfigError
    with pytest.raises(ConfigError, match=r"key_metric='test.rmse' is not among .*\(rmse\)"):
        drive(hook, FakeRunner(tmp_path, 1), [1.0])


# -- kill -9 while snapshots are written ---------------------------------------------------
def test_kill_minus_nine_during_snapshot_writes_never_loses_the_newest(data, tmp_path,
                                                                       tiny_run):
    from posecfg.engine.hooks.dlc_snapshots import latest_snapshot
    from tiny_training import REPO, TOOLS
    work = tmp_path / 'train'
    hooks = [dict(type='DLCSnapshotHook', key_metric='EPE', key_metric_asc=False,
                  max_snapshots=1, save_epochs=2, save_optimizer_state=True),
             dict(type='DLCLearningStatsHook')]
    path = tmp_path / 'dlc_tiny.py'
    path.write_text(config(data, work, tiny_run, 8, hooks, lr=3e-3).pretty_text)
    train = [sys.executable, os.path.join(TOOLS, 'train.py'), str(path), '--work-dir', str(work)]

    def temporaries():
        return [n for n in os.listdir(work) if n.startswith('.snapshot') and
                n.endswith('.tmp')] if work.exists() else []

    resume, killed, epochs, left_behind = [], 0, [], []
    for _ in range(2):
        process = subprocess.Popen(train + resume, cwd=REPO, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while time.time() < deadline and process.poll() is None:
            if temporaries() and latest_snapshot(str(work)):
                process.send_signal(signal.SIGKILL)
                killed += 1
                break
            time.sleep(0.0005)
        process.wait()
        left_behind.append(bool(temporaries()))
        last = latest_snapshot(str(work))
        assert last is not None, sorted(os.listdir(work))
        snapshot = torch.load(last, weights_only=True)  # whole and readable
        epochs.append(snapshot['metadata']['epoch'])
        resume = ['--resume-from', last]
    assert killed and epochs == sorted(epochs)
    result = subprocess.run(train + resume, cwd=REPO, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert not temporaries()
    if left_behind[-1]:
        assert 'temporary file(s) left by an interrupted run' in result.stdout + result.stderr
    rows = read_csv(work / 'learning_stats.csv')
    assert [r[0] for r in rows[1:]] == [str(e) for e in range(1, 9)]  # each epoch once
    names = [n for n in os.listdir(work) if n.endswith('.pt')]
    assert len([n for n in names if '-best-' in n]) == 1 and len(names) <= 2
    assert torch.load(latest_snapshot(str(work)), weights_only=True)['metadata']['epoch'] == 8
