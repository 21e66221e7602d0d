"""DLCEvaluationHook: a tiny model tested on a generated DeepLabCut project writes DeepLabCut's
evaluation files (names, folders, columns, rows) with numbers recomputed here from the
predictions file by DeepLabCut's formulas.

Oracles (DeepLabCut 3.0.1, deeplabcut/pose_estimation_pytorch/apis/evaluation.py):
folder ``evaluation-results-pytorch/iteration-<N>/<Task><date>-trainset<pct>shuffle<k>``
(utils/auxiliaryfunctions.py ``get_evaluation_folder``); ``<scorer>.h5`` key
``df_with_missing`` reindexed to the merged labels (:589-594); ``<scorer>-results.csv`` index
columns (:597-604) and ``<split> <metric>`` columns rounded to 2 decimals (:585-587);
``CombinedEvaluation-results.csv`` in the parent (:852); ``<scorer>-keypoint-results.csv`` rows
``Train error (px)``/``Test error (px)`` (:877-891). Single-animal "rmse" is the mean Euclidean
distance over labelled points (core/metrics/distance_metrics.py).
"""
import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_dlc_head_run import dlc_head

from posecfg.config import Config
from posecfg.datasets.examples import write_tiny_dlc_project
from posecfg.engine import build_runner
from posecfg.interop.dlc.create_dataset import create_training_dataset

K = 3
NAMES = ['nose', 'body', 'tail']


def tiny_dlc_config(project, work_dir, tiny_run, hook):
    settings, backbone, norm, _ = tiny_run
    train = [dict(type='LoadImageFromFile'), dict(type='ToTensor'), norm,
             dict(type='Collect', keys=['img', 'keypoints', 'keypoints_visible'],
                  meta_keys=['image_file', 'image_id'])]
    test = [dict(type='LoadImageFromFile'), dict(type='ToTensor'), norm,
            dict(type='Collect', keys=['img'], meta_keys=['image_file', 'image_id'])]

    def dataset(split, pipeline):
        return dict(type='DLCProjectDataset', project_config=str(project / 'config.yaml'),
                    shuffle=1, split=split, pipeline=pipeline, test_mode=split == 'test')

    cfg = dict(
        model=dict(type='BottomUp', backbone=backbone,
                   heads=dict(bodypart=dlc_head(num_keypoints=K)), test_cfg=dict(flip_test=False)),
        data=dict(samples_per_gpu=2, workers_per_gpu=0,
                  collate_fn=dict(type='pose_pad_collate', size_divisor=8),
                  train=dataset('train', train), val=dataset('test', test),
                  test=dataset('test', test)),
        evaluation=dict(interval=1, metric=['RMSE']),
        custom_hooks=[hook], **settings(work_dir, lr=3e-3))
    return Config.fromdict(cfg)


def _train_folder(project):
    return (project / 'dlc-models-pytorch' / 'iteration-0' / 'tinyDec1-trainset80shuffle1' /
            'train')


def _snapshot_hook(project):
    return dict(type='DLCSnapshotHook', out_dir=str(_train_folder(project)), save_epochs=1)


def load_tiny_run():
    """test_engine/conftest.py's tiny_run tuple (for module-scoped fixtures and other test
    folders, which cannot ask for the function-scoped fixture)."""
    spec = importlib.util.spec_from_file_location('engine_conftest',
                                                  Path(__file__).with_name('conftest.py'))
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)
    return (conftest.one_epoch_settings, conftest.TINY_BACKBONE, conftest.NORMALIZE,
            conftest.SYNTHETIC_INFO)


@pytest.fixture(scope='module')
def tiny_run_module():
    return load_tiny_run()


@pytest.fixture(scope='module')
def trained_once(tmp_path_factory, tiny_run_module):
    """A tiny project, shuffle 1 (train rows 0-3, test row 4), trained one epoch (once)."""
    base = tmp_path_factory.mktemp('trained')
    project = base / 'tiny-ex-2026-12-01'
    project.mkdir()
    write_tiny_dlc_project(project)
    create_training_dataset(project / 'config.yaml', shuffle=1, net_type='resnet_50',
                            train_indices=[0, 1, 2, 3], test_indices=[4])
    cfg = tiny_dlc_config(project, base / 'work', tiny_run_module, _snapshot_hook(project))
    build_runner(cfg).train()
    return project


@pytest.fixture
def trained(trained_once, tmp_path, tiny_run_module):
    """A copy of the trained project (paths in its YAML files moved along), its config and
    the snapshot DLCSnapshotHook wrote in the shuffle's train folder."""
    project = tmp_path / trained_once.name
    shutil.copytree(trained_once, project)
    for path in project.rglob('*.yaml'):
        path.write_text(path.read_text().replace(str(trained_once), str(project)))
    cfg = tiny_dlc_config(project, tmp_path / 'work', tiny_run_module, _snapshot_hook(project))
    return project, cfg, _train_folder(project) / 'snapshot-001.pt'


def _mean_distance(pred, labels):
    """DeepLabCut's single-animal "rmse": mean Euclidean distance over labelled points."""
    d = np.linalg.norm(pred[..., :2] - labels, axis=-1)
    return float(np.nanmean(d))


def test_hook_writes_deeplabcut_evaluation_files(trained):
    project, cfg, checkpoint = trained
    import torch
    keys = list(torch.load(checkpoint, weights_only=True)['model'])  # DeepLabCut's PoseModel
    assert all(k.startswith(('backbone.model.', 'heads.bodypart.')) for k in keys)
    cfg = cfg.to_dict()
    cfg['custom_hooks'] = [dict(type='DLCEvaluationHook', per_keypoint=True, plot=True)]
    runner = build_runner(Config.fromdict(cfg), test=True, checkpoint=str(checkpoint))
    runner.test()

    folder = (project / 'evaluation-results-pytorch' / 'iteration-0' /
              'tinyDec1-trainset80shuffle1')
    scorer = 'DLC_Resnet50_tinyDec1shuffle1_snapshot_1'
    assert (folder / f'{scorer}.h5').is_file()
    df = pd.read_hdf(folder / f'{scorer}.h5', key='df_with_missing')
    assert list(df.columns.names) == ['scorer', 'individuals', 'bodyparts', 'coords']
    assert df.columns.get_level_values('bodyparts').unique().tolist() == NAMES
    assert df.columns.get_level_values('coords').unique().tolist() == ['x', 'y', 'likelihood']
    frames = [f'img{i:04d}.png' for i in range(5)]
    assert list(df.index) == [('labeled-data', 'vid', f) for f in frames]  # merged labels' rows
    assert not df.isna().all(axis=1).any()  # train and test rows all evaluated

    # the numbers, from the written predictions and the project's labels
    labels = pd.read_csv(project / 'labeled-data' / 'vid' / 'CollectedData_ex.csv',
                         header=[0, 1, 2], index_col=0)
    truth = labels.to_numpy(np.float64).reshape(5, K, 2)
    pred = df.to_numpy(np.float64).reshape(5, K, 3)
    results = pd.read_csv(folder / f'{scorer}-results.csv', index_col=[0, 1, 2, 3, 4])
    assert list(results.index.names) == ['%Training dataset', 'Shuffle number',
                                         'Training epochs', 'Detector epochs (TD only)',
                                         'pcutoff']
    assert results.index[0] == (0.8, 1, 1, -1, 0.6)
    assert list(results.columns) == [f'{s} {m}' for s in ('train', 'test')
                                     for m in ('rmse', 'rmse_pcutoff', 'mAP', 'mAR')]
    row = results.iloc[0]
    assert row['train rmse'] == pytest.approx(round(_mean_distance(pred[:4], truth[:4]), 2),
                                              abs=0.006)
    assert row['test rmse'] == pytest.approx(round(_mean_distance(pred[4:], truth[4:]), 2),
                                             abs=0.006)
    keep = pred[..., 2] >= 0.6
    if keep[4:].any():
        cut = np.where(keep[..., None], pred[..., :2], np.nan)
        assert row['test rmse_pcutoff'] == pytest.approx(
            round(_mean_distance(cut[4:], truth[4:]), 2), abs=0.006)
    combined = pd.read_csv(folder.parent / 'CombinedEvaluation-results.csv',
                           index_col=[0, 1, 2, 3, 4])
    assert combined.index.tolist() == results.index.tolist()

    per_part = pd.read_csv(folder / f'{scorer}-keypoint-results.csv', index_col=0)
    assert per_part.index.tolist() == ['Train error (px)', 'Test error (px)']
    assert per_part.columns.tolist() == NAMES
    test_errors = np.linalg.norm(pred[4, :, :2] - truth[4], axis=-1)
    np.testing.assert_allclose(per_part.loc['Test error (px)'].to_numpy(), test_errors,
                               rtol=1e-6)
    assert (folder / f'{scorer}.csv').is_file()
    plots = sorted((folder / f'LabeledImages_{scorer}').iterdir())
    assert [p.name for p in plots] == ['Test-vid-img0004.png'] + [  # DeepLabCut's names
        f'Training-vid-img{i:04d}.png' for i in range(4)]
    assert not [p for p in folder.rglob('*.tmp*')]


def test_snapshot_name_gives_the_scorer_and_train_split_is_optional(trained):
    project, cfg, checkpoint = trained
    cfg = cfg.to_dict()
    cfg['custom_hooks'] = [dict(type='DLCEvaluationHook', snapshot_path='x/snapshot-best-007.pt',
                                evaluate_train=False)]
    runner = build_runner(Config.fromdict(cfg), test=True, checkpoint=str(checkpoint))
    runner.test()
    folder = (project / 'evaluation-results-pytorch' / 'iteration-0' /
              'tinyDec1-trainset80shuffle1')
    # uid and epochs from the snapshot's name, as DeepLabCut (data/snapshots.py:35-44)
    scorer = 'DLC_Resnet50_tinyDec1shuffle1_snapshot_best-7'
    results = pd.read_csv(folder / f'{scorer}-results.csv', index_col=[0, 1, 2, 3, 4])
    assert results.index[0][2] == 7
    assert np.isnan(results.iloc[0]['train rmse']) and np.isfinite(results.iloc[0]['test rmse'])
    df = pd.read_hdf(folder / f'{scorer}.h5', key='df_with_missing')
    assert df.isna().all(axis=1).tolist() == [True] * 4 + [False]  # only the test row


def test_train_split_runs_as_the_test_split(trained):
    """Both splits' images go through the test loop's inference model under its autocast (the
    train split once ran the runner's eager float32 model: other numbers, ~2x slower)."""
    import torch
    project, cfg, checkpoint = trained
    cfg = cfg.to_dict()
    cfg['runtime'] = dict(cfg['runtime'], autocast='bf16')
    cfg['custom_hooks'] = [dict(type='DLCEvaluationHook')]
    runner = build_runner(Config.fromdict(cfg), test=True, checkpoint=str(checkpoint))
    autocast_per_batch = []  # the data preprocessor runs in each test step, not in checks
    runner.model.data_preprocessor.register_forward_pre_hook(
        lambda module, args: autocast_per_batch.append(torch.is_autocast_enabled('cpu')))
    runner.test()
    batches = [len(runner.test_dataloader), 2]  # 1 test image, then 4 train images in 2s
    assert autocast_per_batch == [True] * sum(batches)


@pytest.mark.parametrize('threshold, prepared', [(5, True), (6, False)])
def test_the_train_split_counts_when_the_loop_decides_to_prepare(trained, monkeypatch, threshold,
                                                                  prepared):
    """fold_bn='auto' prepares evaluations of PREPARE_EVAL_MIN_SAMPLES+ samples: the hook's train
    split (4 images) counts with the test split (1), and its loader is built once."""
    import posecfg.engine.hooks.dlc_evaluation as hook_module
    import posecfg.engine.loops as loops
    project, cfg, checkpoint = trained
    cfg = cfg.to_dict()
    cfg['runtime'] = dict(cfg['runtime'], fold_bn='auto')
    cfg['custom_hooks'] = [dict(type='DLCEvaluationHook')]
    monkeypatch.setattr(loops, 'PREPARE_EVAL_MIN_SAMPLES', threshold)
    calls = []
    monkeypatch.setattr(loops, 'prepare_for_inference',
                        lambda model, *args, **kwargs: calls.append('prepare') or model)
    built = hook_module.DLCEvaluationHook._train_loader
    monkeypatch.setattr(hook_module.DLCEvaluationHook, '_train_loader',
                        lambda self, runner: calls.append('train loader') or built(self, runner))
    runner = build_runner(Config.fromdict(cfg), test=True, checkpoint=str(checkpoint))
    runner.test()
    assert calls == ['train loader'] + (['prepare'] if prepared else [])


def test_an_evaluation_casts_each_weight_once(trained):
    """Unprepared (a small evaluation), autocast's cast copies of the weights live for the whole
    test run (weight_cast_scope), not one batch: 1 test + 2 train batches, each weight cast
    once."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    project, cfg, checkpoint = trained
    cfg = cfg.to_dict()
    cfg['runtime'] = dict(cfg['runtime'], autocast='bf16', fold_bn='auto')
    cfg['custom_hooks'] = [dict(type='DLCEvaluationHook')]
    runner = build_runner(Config.fromdict(cfg), test=True, checkpoint=str(checkpoint))
    runner.load_or_resume()  # the weights the test runs (runner.test() loads only once)
    weights = {p.data_ptr() for n, p in runner.model.named_parameters() if n.endswith('weight')
               and p.dim() == 4}
    casts = []

    class CountCasts(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func is torch.ops.aten._to_copy.default and args[0].data_ptr() in weights and \
                    (kwargs or {}).get('dtype') == torch.bfloat16:
                casts.append(args[0].data_ptr())
            return func(*args, **(kwargs or {}))
    with CountCasts():
        runner.test()
    assert casts and sorted(casts) == sorted(set(casts))  # every conv weight cast, once


def test_the_model_is_prepared_after_the_before_test_epoch_hooks(trained, monkeypatch):
    """Weights a hook swaps in before the epoch (mmengine's EMAHook) are the ones prepared."""
    import posecfg.engine.loops as loops
    from posecfg.engine.hooks import DLCEvaluationHook
    project, cfg, checkpoint = trained
    cfg = cfg.to_dict()
    cfg['runtime'] = dict(cfg['runtime'], fold_bn=True)
    cfg['custom_hooks'] = [dict(type='DLCEvaluationHook')]
    order = []
    monkeypatch.setattr(loops, 'prepare_for_inference',
                        lambda model, *args, **kwargs: order.append('prepare') or model)
    monkeypatch.setattr(DLCEvaluationHook, 'before_test_epoch',
                        lambda self, runner: order.append('before_test_epoch'), raising=False)
    runner = build_runner(Config.fromdict(cfg), test=True, checkpoint=str(checkpoint))
    runner.test()
    assert order == ['before_test_epoch', 'prepare']


def test_train_split_is_predicted_before_ema_swaps_the_weights_back():
    from mmengine.hooks import EMAHook
    from mmengine.runner.priority import get_priority

    from posecfg.engine.hooks import DLCEvaluationHook
    assert get_priority(DLCEvaluationHook.priority) < get_priority(EMAHook.priority)


def test_hook_without_a_project_warns_and_writes_nothing(tmp_path):
    from posecfg.engine.hooks import DLCEvaluationHook

    class Dataset:
        metainfo = {}

    class Runner:
        test_dataloader = type('L', (), {'dataset': Dataset()})()
        warnings = []
        logger = type('Log', (), {'warning': lambda self, m: Runner.warnings.append(m)})()

    hook = DLCEvaluationHook()
    hook.before_test(Runner)
    hook.after_test_epoch(Runner, {})
    assert 'not a DeepLabCut project' in Runner.warnings[0] and hook.written == []


def _run_test_tool(monkeypatch, capsys, argv):
    import sys
    from posecfg.tools import test as tool
    monkeypatch.setattr(sys, 'argv', ['test.py'] + argv)
    with pytest.raises(SystemExit) as stop:
        tool.main()
    return stop.value.code, capsys.readouterr().err


def test_test_tool_uses_load_from_when_no_checkpoint_is_given(trained, tmp_path, monkeypatch,
                                                              capsys):
    """tools/test.py CONFIG (no CHECKPOINT) tests the config's load_from — what the DeepLabCut
    translator sets to the snapshot evaluate_network would pick — and says so when unset."""
    project, cfg, checkpoint = trained
    cfg = cfg.to_dict()
    cfg['custom_hooks'] = [dict(type='DLCEvaluationHook', evaluate_train=False)]
    without = tmp_path / 'without.py'
    without.write_text(Config.fromdict(cfg).pretty_text)
    code, err = _run_test_tool(monkeypatch, capsys, [str(without)])
    assert code == 2 and 'no CHECKPOINT given' in err and 'load_from' in err

    cfg['load_from'] = str(checkpoint)
    with_load = tmp_path / 'with_load.py'
    with_load.write_text(Config.fromdict(cfg).pretty_text)
    code, err = _run_test_tool(monkeypatch, capsys, [str(with_load)])
    assert code == 0, err
    folder = (project / 'evaluation-results-pytorch' / 'iteration-0' /
              'tinyDec1-trainset80shuffle1')
    assert (folder / 'DLC_Resnet50_tinyDec1shuffle1_snapshot_1-results.csv').is_file()


def test_hook_refuses_per_instance_samples():
    from posecfg.config import ConfigError
    from posecfg.engine.hooks import DLCEvaluationHook

    class Dataset:
        metainfo = {'project_path': '/p', 'shuffle': 1}
        labels = None
        data_mode = 'topdown'

    runner = type('Runner', (), {'test_dataloader': type('L', (), {'dataset': Dataset()})()})
    with pytest.raises(ConfigError, match="data_mode='topdown'"):
        DLCEvaluationHook()._context(runner)


def test_hook_refuses_another_shuffle_than_the_test_set():
    from posecfg.config import ConfigError
    from posecfg.engine.hooks import DLCEvaluationHook

    class Dataset:
        metainfo = {'project_path': '/p', 'shuffle': 1, 'trainset_index': 0}
        labels = None

    runner = type('Runner', (), {'test_dataloader': type('L', (), {'dataset': Dataset()})()})
    with pytest.raises(ConfigError, match='the test dataset is shuffle 1'):
        DLCEvaluationHook(shuffle=2)._context(runner)


def test_training_resumes_from_a_snapshot_in_deeplabcuts_key_layout(trained):
    """DLCSnapshotHook's snapshot (PoseModel keys) resumes a run: the weights come back under
    posecfg's names and training continues to epoch 2."""
    import torch
    project, cfg, snapshot = trained
    cfg = cfg.to_dict()
    cfg['total_epochs'] = 2
    cfg['resume_from'] = str(snapshot)
    runner = build_runner(Config.fromdict(cfg))
    runner.train()
    assert runner.epoch == 2
    saved = torch.load(snapshot.with_name('snapshot-002.pt'), weights_only=True)
    assert saved['metadata']['epoch'] == 2
    assert 'heads.bodypart.heatmap_head.deconv_layers.0.weight' in saved['model']


def test_a_test_runner_with_an_ema_hook_keeps_its_initialisers(trained):
    """mmengine's EMAHook loads its averaged copy non-strictly from the raw checkpoint keys:
    what it misses must not be uninitialised memory."""
    project, cfg, checkpoint = trained
    cfg = cfg.to_dict()
    cfg['custom_hooks'] = [dict(type='DLCEvaluationHook')]
    runner = build_runner(Config.fromdict(cfg), test=True, checkpoint=str(checkpoint))
    assert runner._weights_from_checkpoint
    cfg['custom_hooks'].append(dict(type='EMAHook'))
    runner = build_runner(Config.fromdict(cfg), test=True, checkpoint=str(checkpoint))
    assert not runner._weights_from_checkpoint


def test_a_test_runner_builds_its_model_for_the_checkpoint(trained, monkeypatch):
    """A test run's model, every weight of which the checkpoint replaces, is built without
    running its initialisers, its checkpoint's tensors map the file, and it is put in
    channels_last order after the load (not before, which made the load copy every weight into
    NHWC order): the weights, the layout and the written predictions are those of a runner
    built the ordinary way."""
    import torch
    import torch.nn as nn

    from posecfg.engine import PoseRunner
    project, cfg, checkpoint = trained
    cfg = cfg.to_dict()
    cfg['runtime'] = dict(cfg['runtime'], channels_last=True, threads=2)
    cfg['custom_hooks'] = [dict(type='DLCEvaluationHook')]
    calls = []
    from posecfg.engine import runner as runner_module
    load_threads = []
    load_weights = runner_module.load_model_weights
    monkeypatch.setattr(runner_module, 'load_model_weights', lambda *a, **k: load_threads.append(
        torch.get_num_threads()) or load_weights(*a, **k))
    kaiming = nn.init.kaiming_uniform_
    monkeypatch.setattr(nn.init, 'kaiming_uniform_',
                        lambda *a, **k: calls.append(1) or kaiming(*a, **k))
    folder = (project / 'evaluation-results-pytorch' / 'iteration-0' /
              'tinyDec1-trainset80shuffle1')
    scorer = 'DLC_Resnet50_tinyDec1shuffle1_snapshot_1'

    from posecfg.models.utils import checkpoint_io
    mapped = []
    load = torch.load
    monkeypatch.setattr(checkpoint_io.torch, 'load',
                        lambda *a, **k: mapped.append(k.get('mmap')) or load(*a, **k))

    def tested():
        calls.clear()
        runner = build_runner(Config.fromdict(cfg), test=True, checkpoint=str(checkpoint))
        built_with = len(calls)
        mapped.clear()
        runner.test()
        assert mapped == [runner._weights_from_checkpoint]  # the file's pages, not a copy
        assert load_threads[-1] == 1 and torch.get_num_threads() == 2  # memory-bound copies
        model = runner.model
        conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
        assert conv.weight.is_contiguous(memory_format=torch.channels_last)
        state = {k: v.clone() for k, v in model.state_dict().items()}
        return built_with, state, pd.read_hdf(folder / f'{scorer}.h5', key='df_with_missing')

    calls_new, state_new, written_new = tested()
    assert calls_new == 0  # no initialiser ran
    init = PoseRunner.__init__

    def ordinary(self, *args, **kwargs):
        init(self, *args, **dict(kwargs, weights_from_checkpoint=False))

    monkeypatch.setattr(PoseRunner, '__init__', ordinary)
    calls_old, state_old, written_old = tested()
    assert calls_old > 0
    assert state_new.keys() == state_old.keys()
    for key in state_old:
        torch.testing.assert_close(state_new[key], state_old[key], rtol=0, atol=0, msg=key)
    pd.testing.assert_frame_equal(written_new, written_old)

