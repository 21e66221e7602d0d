"""A Lightning Pose multi-view ``config.yaml`` (``data.view_names``, one labels CSV per view) as a
posecfg config, trained end to end on a real two-view rig (the mirror-mouse frames cut into
their top and bottom views, ``tests/test_datasets/lp_two_view_rig.py``), writing Lightning
Pose's per-view files.

Facts (lightning-pose 2.4.3): ``data/factory.py:160-200`` multi-view heatmap projects use
``MultiviewHeatmapDataset``; ``models/factory.py:258-283`` the ``heatmap`` model with
``num_keypoints`` per view; ``train.py:200-246`` the run folder gets ``predictions_<view>.csv``
and ``predictions_<view>_pixel_error.csv``; ``utils/predictions.py`` one DataFrame per view with
that view's image paths and the ``set`` column; ``losses/factory.py:153-176`` a flat
``mirrored_column_matches`` stands for ``v·K + i`` in every view; ``utils/pca.py:759-792`` the
multi-view PCA rows are (frame, keypoint) pairs with the x, y of each view.
"""
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from posecfg.config.cli import flag_override
from posecfg.interop.lp.multiview import expand_mirrored_column_matches
from posecfg.interop.lp.to_config import LPDialectError, load_as_config
from tests.test_datasets.lp_two_view_rig import (BODYPARTS, VIEWS, two_view_config,
                                                 write_two_view_rig, write_two_view_videos)

pytestmark = pytest.mark.usefixtures('one_thread')

FRAMES = 24
#: the unlabeled videos (one per view): 2 sequences of 4 frames
VIDEO_FRAMES = 8
SEMI = ['model.losses_to_use=[pca_multiview,temporal]', 'dali.base.train.sequence_length=4',
        'callbacks.anneal_weight.init_val=1.0']
#: 24 frames: train 16 (2 batches of 8), val 2, test 6 (floor(0.7·24), floor(0.1·24), leftover
#: 6 ≥ 5 to test); 128×128 inputs, resnet18 from scratch, one epoch
SMALL = ['model.backbone=resnet18', 'model.backbone_pretrained=False',
         'data.image_resize_dims.height=128', 'data.image_resize_dims.width=128',
         'training.train_prob=0.7', 'training.val_prob=0.1',
         'training.train_batch_size=8', 'training.val_batch_size=8',
         'training.test_batch_size=24', 'training.num_workers=0',
         'training.check_val_every_n_epoch=1', 'training.min_epochs=1',
         'training.max_epochs=1', 'training.unfreezing_epoch=0',
         'eval.predict_vids_after_training=false']


@pytest.fixture(scope='module')
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp('lpmultiview')
    data = write_two_view_rig(root / 'two-view', rows=range(FRAMES))
    write_two_view_videos(data / 'videos', frames=VIDEO_FRAMES)
    return two_view_config(root / 'config.yaml', data), data


def load(project, *options, extra=()):
    config, _ = project
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return load_as_config(str(config), [*SMALL, *options], list(extra))


def test_mirrored_column_matches_expand_as_lightning_pose():
    # losses/factory.py:160-171: [v * num_keypoints + idx for v in range(num_views)]
    assert expand_mirrored_column_matches([0, 2, 3], 2, 7) == [[0, 2, 3], [7, 9, 10]]
    assert expand_mirrored_column_matches([0, 1], 3, 4) == [[0, 1], [4, 5], [8, 9]]
    assert expand_mirrored_column_matches([[0, 1], [9, 10]], 2, 7) == [[0, 1], [9, 10]]
    assert expand_mirrored_column_matches(None, 2, 7) is None


def test_keys_land_on_the_multiview_parts(project):
    config, data = project
    cfg = load(project)
    assert cfg['model']['type'] == 'MultiviewBottomUp'
    head = cfg['model']['heads']['bodypart']
    assert head['type'] == 'LPHeatmapHead' and head['out_channels'] == len(BODYPARTS)
    for split in ('train', 'val', 'test'):
        ds = cfg['data'][split]
        assert ds['type'] == 'LPMultiviewProjectDataset'
        assert ds['view_names'] == list(VIEWS)
        assert ds['csv_file'] == [f'CollectedData_{v}.csv' for v in VIEWS]
    hooks = {h['type']: h for h in cfg['custom_hooks']}
    assert 'LPPredictionsHook' not in hooks
    assert hooks['LPMultiviewPredictionsHook']['mirrored_column_matches'] == list(range(7))
    assert hooks['LPRunFolderHook']['csv_files'] == [str(data / f'CollectedData_{v}.csv')
                                                     for v in VIEWS]
    # hparams.yaml: num_keypoints per view, num_targets of the dataset (2 x 7 x 2 views)
    assert hooks['LPRunFolderHook']['hparams']['num_keypoints'] == 7
    assert hooks['LPRunFolderHook']['hparams']['num_targets'] == 28


@pytest.mark.parametrize('options,message', [
    (['model.model_type=heatmap_multiview_transformer'], 'multi-view transformer'),
    (['model.model_type=heatmap_mhcrnn'], 'multi-view projects with the heatmap model'),
    (['model.losses_to_use=[pca_singleview]'], 'not defined for multi-view'),
    (['training.imgaug_hflip=true'], 'imgaug_hflip'),
    # lightning-pose#169: 1 training frame x 1 matched keypoint = 1 row < 4 dimensions (x, y of
    # 2 views)
    (['model.losses_to_use=[pca_multiview]', 'data.mirrored_column_matches=[3]',
      'training.train_frames=0.1'], 'cannot fit PCA with 1 rows < 4'),
    # a list per view indexes the 14 joined keypoints: 14 is out of range
    (['data.mirrored_column_matches=[[0,1],[7,14]]'], r'indices \[14\] are out of range'),
])
def test_what_is_not_built_is_refused_naming_the_key(project, options, message):
    with pytest.raises(LPDialectError, match=message):
        load(project, *options)


def test_trains_and_writes_lightning_poses_per_view_files(project, tmp_path):
    """tools/train.py's path in process: one epoch, then per view predictions_<view>.csv (the
    view's keypoints and image paths, Lightning Pose's header and set column), its pixel error
    and its multi-view PCA error, checked against oracles written out here."""
    from posecfg.engine import build_runner
    config, data = project
    run = tmp_path / 'run'
    cfg = load(project, extra=[flag_override('--work-dir', 'work_dir', str(run))])
    runner = build_runner(cfg)
    runner.train()
    # Lightning Pose's split (data/utils.py:17-73, datamodules.py:111-200), seed 42
    perm = torch.randperm(FRAMES, generator=torch.Generator().manual_seed(42)).tolist()
    sets = np.empty(FRAMES, object)
    sets[perm[:16]], sets[perm[16:18]], sets[perm[18:]] = 'train', 'validation', 'test'
    preds, labels = {}, {}
    for view in VIEWS:
        table = pd.read_csv(run / f'predictions_{view}.csv', header=[0, 1, 2], index_col=0)
        truth = pd.read_csv(data / f'CollectedData_{view}.csv', header=[0, 1, 2], index_col=0)
        assert list(table.index) == list(truth.index)
        assert table.columns[-1][0] == 'set'
        assert table.iloc[:, -1].tolist() == sets.tolist()
        body = table.iloc[:, :-1]
        assert set(body.columns.get_level_values(0)) == {'heatmap_tracker'}
        assert list(body.columns.get_level_values(1)) == [b for b in BODYPARTS for _ in 'xyl']
        assert list(body.columns.get_level_values(2)) == ['x', 'y', 'likelihood'] * 7
        values = body.to_numpy(float).reshape(FRAMES, 7, 3)
        assert np.isfinite(values).all()
        preds[view], labels[view] = values[..., :2], truth.to_numpy(float).reshape(FRAMES, 7, 2)
        # metrics.py:244-261: ||label - prediction|| per keypoint, NaN where unlabelled
        error = pd.read_csv(run / f'predictions_{view}_pixel_error.csv', index_col=0)
        assert list(error.columns) == list(BODYPARTS) + ['set']
        np.testing.assert_allclose(error[list(BODYPARTS)].to_numpy(float),
                                   np.linalg.norm(labels[view] - preds[view], axis=-1),
                                   rtol=1e-6)
    # the multi-view PCA (utils/pca.py): rows (frame, keypoint) = (x_top, y_top, x_bot, y_bot)
    # of the training frames; NaN-aware mean and pairwise covariance; 3 components kept
    train = np.flatnonzero(sets == 'train')
    rows = np.concatenate([labels[v][train] for v in VIEWS], axis=2).reshape(-1, 4)
    mean = np.nanmean(rows, axis=0)
    cov = np.ma.cov(np.ma.masked_invalid(rows), rowvar=False).filled(np.nan)
    values, vectors = np.linalg.eigh(cov)
    kept = vectors[:, np.argsort(values)[::-1][:3]].T  # (3, 4)
    pred_rows = np.concatenate([preds[v] for v in VIEWS], axis=2).reshape(-1, 4)
    back = (pred_rows - mean) @ kept.T @ kept + mean
    expected = np.linalg.norm((pred_rows - back).reshape(FRAMES, 7, 2, 2), axis=-1)  # view last
    for v, view in enumerate(VIEWS):
        pca = pd.read_csv(run / f'predictions_{view}_pca_multiview_error.csv', index_col=0)
        assert list(pca.columns) == list(BODYPARTS) + ['set']
        np.testing.assert_allclose(pca[list(BODYPARTS)].to_numpy(float), expected[:, :, v],
                                   rtol=1e-6, atol=1e-9)
    assert (run / 'CollectedData_top.csv').is_file() and (run / 'CollectedData_bot.csv').is_file()
    assert list((run / 'tb_logs' / 'my_base_toy_model').glob('version_0/checkpoints/*best.ckpt'))


def test_semi_supervised_keys_land_on_the_multiview_parts(project):
    """pca_multiview fits on every view's CSV (training rows) with the per-view indices
    expanded (losses/factory.py:160-171); the unlabeled stream reads every view's videos."""
    config, data = project
    cfg = load(project, *SEMI)
    losses = cfg['model']['heads']['bodypart']['unsupervised_losses']
    multi = losses['pca_multiview']
    assert multi['type'] == 'LPPCAMultiviewLoss'
    assert multi['labels'] == [str(data / f'CollectedData_{v}.csv') for v in VIEWS]
    assert multi['mirrored_column_matches'] == [list(range(7)), list(range(7, 14))]
    perm = torch.randperm(FRAMES, generator=torch.Generator().manual_seed(42)).tolist()
    assert multi['label_rows'] == perm[:16]
    assert losses['temporal']['type'] == 'LPTemporalLoss'
    unlabeled = cfg['data']['unlabeled']
    assert unlabeled['type'] == 'MultiviewUnlabeledVideoDataset'
    assert unlabeled['view_names'] == list(VIEWS) and unlabeled['sequence_length'] == 4
    assert cfg['data']['unlabeled_dataloader']['collate_fn'] == dict(
        type='multiview_sequence_collate')


def test_semi_supervised_multiview_trains_with_unlabeled_views(project, tmp_path):
    """One epoch of labelled batches and synchronized two-view unlabeled sequences: finite
    pca_multiview and temporal losses at every step; then each view's video predicted."""
    from posecfg.engine import build_runner
    cfg = load(project, *SEMI, 'eval.predict_vids_after_training=true',
               'eval.save_vids_after_training=false',
               extra=[flag_override('--work-dir', 'work_dir', str(tmp_path / 'run'))])
    runner = build_runner(cfg)
    runner.train()
    # every training step's logged values (mmengine's message hub: 'train/<loss>')
    logged = {key[len('train/'):]: buffer.data[0] for key, buffer in
              runner.message_hub.log_scalars.items() if key.startswith('train/')}
    for key in ('unlabeled_pca_multiview_loss', 'unlabeled_temporal_loss', 'heatmap_mse_loss'):
        assert len(logged[key]) == 2 and np.isfinite(logged[key]).all()
    # the loss's PCA: both views' training labels, rows (x_top, y_top, x_bot, y_bot)
    config, data = project
    perm = torch.randperm(FRAMES, generator=torch.Generator().manual_seed(42)).tolist()
    labels = [pd.read_csv(data / f'CollectedData_{v}.csv', header=[0, 1, 2], index_col=0)
              .to_numpy(float).reshape(FRAMES, 7, 2)[perm[:16]] for v in VIEWS]
    rows = np.concatenate(labels, axis=2).reshape(-1, 4)
    loss = runner.model.heads['bodypart'].unsupervised_losses['pca_multiview']
    np.testing.assert_allclose(loss.mean.numpy(), np.nanmean(rows, axis=0), rtol=1e-6)
    assert (tmp_path / 'run' / 'predictions_bot_pca_multiview_error.csv').is_file()
    # eval.predict_vids_after_training: each view's video → video_preds/<video>.csv with that
    # view's keypoints (api/model.py:794-917), one row per frame
    for view in VIEWS:
        table = pd.read_csv(tmp_path / 'run' / 'video_preds' / f'test_vid_{view}.csv',
                            header=[0, 1, 2], index_col=0)
        assert list(table.index) == list(range(VIDEO_FRAMES))
        assert list(dict.fromkeys(table.columns.get_level_values(1))) == list(BODYPARTS)
        assert np.isfinite(table.to_numpy(float)).all()


def test_lists_of_matches_index_the_joined_keypoints(project):
    """A list per view names keypoints of the V·K joined ones (utils/pca.py:70-84): kept as
    given."""
    cfg = load(project, *SEMI, 'data.mirrored_column_matches=[[0,1,6],[7,8,13]]')
    multi = cfg['model']['heads']['bodypart']['unsupervised_losses']['pca_multiview']
    assert multi['mirrored_column_matches'] == [[0, 1, 6], [7, 8, 13]]
