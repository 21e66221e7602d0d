"""posecfg.apis.dlc: DeepLabCut's create_training_dataset / train_network / evaluate_network
call shapes on a generated 5-frame project.

The DeepLabCut translator (``posecfg.interop.dlc.to_config``) is another branch's; here
``posecfg.interop.dialects.translator`` is replaced by one returning a tiny posecfg config of
the shuffle, so what is tested is this module's part: shuffle numbering and splits, the
DeepLabCut-named overrides handed to the translator, snapshot choice and the evaluation hook.

Oracles (DeepLabCut 3.0.1): ``validate_shuffles`` (generate_training_dataset/
trainingsetmanipulation.py:1383-1395: new shuffles start after the highest existing index);
``splits`` entries ``(trainFraction, shuffle, (train, test))`` (:1113-1136); train_network's
keys (pose_estimation_pytorch/apis/training.py:305-327: ``train_settings.epochs``,
``train_settings.batch_size``, ``runner.snapshots.save_epochs``, ``runner.snapshots.
max_snapshots``); evaluate_network's snapshot choice (apis/utils.py:165-224).
"""
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from posecfg.apis import dlc
from posecfg.datasets.examples import write_tiny_dlc_project
from posecfg.interop.dlc.training_dataset import read_split

ENGINE_TESTS = Path(__file__).resolve().parents[1] / 'test_engine'


def _engine_helpers():
    """tiny_dlc_config and the tiny_run tuple of tests/test_engine/test_dlc_evaluation.py."""
    sys.path.insert(0, str(ENGINE_TESTS))
    from test_dlc_evaluation import load_tiny_run, tiny_dlc_config
    return tiny_dlc_config, load_tiny_run()


@pytest.fixture
def project(tmp_path):
    root = tmp_path / 'tiny-ex-2026-12-01'
    root.mkdir()
    write_tiny_dlc_project(root)
    return root


def test_create_training_dataset_numbers_shuffles_and_returns_splits(project):
    config = project / 'config.yaml'
    splits = dlc.create_training_dataset(config, net_type='resnet_50')
    assert [(f, s) for f, s, _ in splits] == [(0.8, 1)]
    train, test = splits[0][2]
    assert len(train) == 4 and len(test) == 1
    on_disk = read_split(config, 1, 0, 5)
    np.testing.assert_array_equal(on_disk[0], train)
    np.testing.assert_array_equal(on_disk[1], test)

    more = dlc.create_training_dataset(config, num_shuffles=2, net_type='resnet_50')
    assert [s for _, s, _ in more] == [2, 3]  # after the highest existing shuffle
    with pytest.raises(FileExistsError, match='shuffle 2'):
        dlc.create_training_dataset(config, Shuffles=[2])
    given = dlc.create_training_dataset(config, Shuffles=[7], trainIndices=[[4, 3, 2, 1]],
                                        testIndices=[[0]], net_type='resnet_50')
    assert given[0][0] == 0.8 and given[0][1] == 7
    assert given[0][2][0].tolist() == [4, 3, 2, 1] and given[0][2][1].tolist() == [0]
    with pytest.raises(ValueError, match="not one of the project's TrainingFraction"):
        dlc.create_training_dataset(config, Shuffles=[8], trainIndices=[[1, 2]],
                                    testIndices=[[0, 3, 4]])


def test_train_then_evaluate_network_with_the_translated_shuffle(project, tmp_path,
                                                                 monkeypatch):
    tiny_dlc_config, tiny_run = _engine_helpers()
    config = project / 'config.yaml'
    dlc.create_training_dataset(config, trainIndices=[[0, 1, 2, 3]], testIndices=[[4]],
                                Shuffles=[1], net_type='resnet_50')
    train = (project / 'dlc-models-pytorch' / 'iteration-0' / 'tinyDec1-trainset80shuffle1' /
             'train')
    calls = []

    def load_as_config(path, cfg_options, extra, shuffle=None, trainset_index=0):
        calls.append(dict(path=str(path), cfg_options=cfg_options, shuffle=shuffle,
                          trainset_index=trainset_index))
        hook = dict(type='DLCSnapshotHook', out_dir=str(train), save_epochs=1)
        return tiny_dlc_config(project, tmp_path / 'work', tiny_run, hook)

    fake = types.SimpleNamespace(load_as_config=load_as_config)
    monkeypatch.setattr('posecfg.interop.dialects.translator', lambda dialect, path: fake)

    dlc.train_network(config, shuffle=1, epochs=1, save_epochs=1, max_snapshots_to_keep=3,
                      pytorch_cfg_updates={'runner.optimizer.params.lr': 0.01},
                      cfg_options=['train_settings.seed=3'])
    assert calls[0] == dict(path=str(config), shuffle=1, trainset_index=0, cfg_options=[
        'train_settings.epochs=1', 'runner.snapshots.save_epochs=1',
        'runner.snapshots.max_snapshots=3', 'runner.optimizer.params.lr=0.01',
        'train_settings.seed=3'])
    assert (train / 'snapshot-001.pt').is_file()

    results = dlc.evaluate_network(config, Shuffles=[1], per_keypoint_evaluation=True,
                                   pcutoff={'nose': 0.1})
    assert len(results) == 1 and 'rmse' in results[0]
    folder = (project / 'evaluation-results-pytorch' / 'iteration-0' /
              'tinyDec1-trainset80shuffle1')
    scorer = 'DLC_Resnet50_tinyDec1shuffle1_snapshot_1'
    scores = pd.read_csv(folder / f'{scorer}-results.csv', index_col=[0, 1, 2, 3, 4])
    assert scores.index[0][4] == '0.1, 0.6, 0.6'  # a dict pcutoff: one per bodypart
    assert (folder / f'{scorer}-keypoint-results.csv').is_file()
    with pytest.raises(FileNotFoundError, match='snapshot-009'):
        dlc.evaluate_network(config, Shuffles=[1], snapshots_to_evaluate=['snapshot-009'])


def test_options_render_in_posecfg_grammar():
    assert dlc._option('a.b', [1, 2.5]) == 'a.b=[1, 2.5]'
    assert dlc._option('a', 'text with spaces') == "a='text with spaces'"
    assert dlc._option('a', Path('/x/y')) == "a='/x/y'"


def test_init_model_loads_a_deeplabcut_snapshot(project, tmp_path):
    """A snapshot in DeepLabCut's layout (runners/train.py:139-153: metadata + PoseModel keys)
    loads through posecfg.apis.init_model with every tensor in place."""
    import torch

    from posecfg.apis import init_model
    from posecfg.config import Config
    from posecfg.models.dlc_keys import to_dlc_state_dict
    tiny_dlc_config, tiny_run = _engine_helpers()
    cfg = tiny_dlc_config(project, tmp_path / 'work', tiny_run, dict(type='DLCEvaluationHook'))
    cfg = cfg.to_dict()
    # init_model reads keypoint names from the test set's dataset_info (a project dataset's
    # come from the project: given here as DLCProjectDataset's dataset_info argument)
    cfg['data']['test']['dataset_info'] = dict(
        dataset_name='tiny', skeleton_info={}, joint_weights=[1.0] * 3, sigmas=[0.1] * 3,
        keypoint_info={i: dict(name=n, id=i, color=[255, 0, 0], type='', swap='')
                       for i, n in enumerate(['nose', 'body', 'tail'])})
    path = tmp_path / 'config.py'
    path.write_text(Config.fromdict(cfg).pretty_text)
    source = init_model(str(path), device='cpu')
    torch.manual_seed(1)
    for tensor in source.state_dict().values():
        if tensor.is_floating_point():
            tensor.copy_(torch.randn_like(tensor))
    snapshot = tmp_path / 'snapshot-best-003.pt'
    torch.save(dict(metadata=dict(epoch=3, metrics={}, losses={}),
                    model=to_dlc_state_dict(source.state_dict(), source)), snapshot)
    assert any(k.startswith('heads.bodypart.') for k in torch.load(snapshot)['model'])
    loaded = init_model(str(path), str(snapshot), device='cpu').state_dict()
    for key, tensor in source.state_dict().items():
        assert torch.equal(loaded[key], tensor), key
