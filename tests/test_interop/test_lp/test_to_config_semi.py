"""A semi-supervised Lightning Pose config.yaml (``model.losses_to_use``) as a posecfg config:
every key lands on the part Lightning Pose gives it to, and the mirror-mouse example
(``losses_to_use: [pca_singleview]``) trains an epoch on labelled and unlabeled batches.

Facts (lightning-pose 2.4.3): ``losses/factory.py:76-88`` the loss names and their
``losses.<name>`` settings; ``utils/pca.py`` / ``losses/losses.py:426-573`` the PCA is fitted on
the train dataset (after ``train_frames``) on frames with every PCA column labelled;
``data/factory.py:291``, ``data/video/dali.py:549`` the base model's unlabeled batch is one
sequence of ``dali.base.train.sequence_length`` frames of ``data.video_dir``;
``callbacks.py:706-716`` ``callbacks.anneal_weight`` → ``AnnealWeight``;
``losses/losses.py:90-100`` each loss weighs ``1 / (2 exp(log_weight))``.
"""
import math
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
import yaml

from posecfg.config.cli import flag_override
from posecfg.interop.lp.to_config import load_as_config
from tests.conftest import shared_path
from tests.test_interop.test_lp.videos import copy_first_frames

MIRROR = 'config_mirror-mouse-example.yaml'
HEAD = 'model.heads.bodypart'
#: one epoch of a tiny model: 16 labelled frames (2 batches) and 3 unlabeled sequences of 4
#: frames; the PCA on 6 keypoints (12 dimensions < 16 training frames, lightning-pose#169)
SMALL = ['model.backbone=resnet18', 'model.backbone_pretrained=False',
         'data.columns_for_singleview_pca=[0,1,2,3,4,5]',
         'data.image_resize_dims.height=128', 'data.image_resize_dims.width=128',
         'training.train_frames=16', 'training.train_batch_size=8', 'training.val_batch_size=8',
         'training.test_batch_size=40', 'training.num_workers=0',
         'training.check_val_every_n_epoch=1', 'training.min_epochs=1',
         'training.max_epochs=1', 'training.unfreezing_epoch=0',
         'dali.base.train.sequence_length=4']
VIDEO_FRAMES = 12


@pytest.fixture(scope='module')
def project(tmp_path_factory):
    """(config.yaml, project folder, example yaml as a dict): a copy of the mirror-mouse project
    whose video is cut to its first 12 frames (3 sequences of 4: a short epoch)."""
    root = tmp_path_factory.mktemp('lpsemi')
    data = root / 'mirror-mouse'
    shutil.copytree(shared_path('lp-mirror-mouse'), data,
                    ignore=shutil.ignore_patterns('videos'))
    (data / 'videos').mkdir()
    copy_first_frames(shared_path('lp-mirror-mouse', 'videos', 'test_vid.mp4'),
                      data / 'videos' / 'test_vid.mp4', VIDEO_FRAMES)
    config = root / 'config.yaml'
    shutil.copy(shared_path('lp-configs', MIRROR), config)
    return config, data, yaml.safe_load(config.read_text())


def load(project, *options, extra=()):
    config, data, _ = project
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return load_as_config(str(config), [f'data.data_dir={data}',
                                            f'data.video_dir={data}/videos', *options],
                              list(extra))


def link(cfg, dotted):
    """The Lightning Pose key a posecfg key was translated from (its provenance note)."""
    _, events = cfg.provenance.history(cfg.path_of(dotted))
    return events[-1].note


def train_recording_steps(runner) -> list:
    """Train ``runner`` on one thread; the outputs (losses) of every training step."""
    import torch
    from mmengine.hooks import Hook
    steps = []

    class Recorder(Hook):
        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            steps.append({k: float(torch.as_tensor(v).detach()) for k, v in outputs.items()})

    runner.register_hook(Recorder(), 'LOW')
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        runner.train()
    finally:
        torch.set_num_threads(threads)
    return steps


# ------------------------------------------------------------------------------ mapping

def test_example_keys_land_on_the_semi_supervised_parts(project):
    config, data, lp = project
    cfg = load(project, 'model.losses_to_use=[pca_singleview,pca_multiview,temporal]',
               'training.num_workers=0')
    losses = cfg[HEAD.split('.')[0]]['heads']['bodypart']['unsupervised_losses']
    assert list(losses) == ['pca_singleview', 'pca_multiview', 'temporal']
    single, multi, temporal = losses['pca_singleview'], losses['pca_multiview'], \
        losses['temporal']
    settings = lp['losses']
    assert single['type'] == 'LPPCASingleviewLoss'
    for key in ('log_weight', 'components_to_keep', 'epsilon'):
        assert single[key] == settings['pca_singleview'][key]
        assert multi[key] == settings['pca_multiview'][key]
        assert link(cfg, f'{HEAD}.unsupervised_losses.pca_singleview.{key}') == \
            f'losses.pca_singleview.{key}'
    assert single['columns_for_singleview_pca'] == lp['data']['columns_for_singleview_pca']
    assert link(cfg, f'{HEAD}.unsupervised_losses.pca_singleview.columns_for_singleview_pca') \
        == 'data.columns_for_singleview_pca'
    assert multi['type'] == 'LPPCAMultiviewLoss'
    assert multi['mirrored_column_matches'] == lp['data']['mirrored_column_matches']
    assert temporal == dict(type='LPTemporalLoss', **settings['temporal'])
    assert link(cfg, f'{HEAD}.unsupervised_losses.temporal.prob_threshold') == \
        'losses.temporal.prob_threshold'
    # the PCA sees the labels CSV's training rows only: LP's split sizes (data/utils.py:17-73,
    # train floor(0.8 N), train_frames 1 = all of them)
    labels = pd.read_csv(data / 'CollectedData.csv', header=[0, 1, 2], index_col=0)
    rows = single['label_rows']
    assert single['labels'] == str(data / 'CollectedData.csv')
    assert len(rows) == len(set(rows)) == math.floor(0.8 * len(labels))
    assert multi['label_rows'] == rows
    assert set(rows).isdisjoint(_rows_of(cfg, 'val')) and set(rows) == set(_rows_of(cfg, 'train'))
    # unlabeled stream: sequences of dali.base.train.sequence_length frames of data.video_dir
    unlabeled = cfg['data']['unlabeled']
    assert unlabeled == dict(type='UnlabeledVideoDataset', video_dir=f'{data}/videos',
                             sequence_length=lp['dali']['base']['train']['sequence_length'],
                             image_resize_dims=lp['data']['image_resize_dims'],
                             imgaug=lp['training']['imgaug'], seed=123456)
    assert link(cfg, 'data.unlabeled.sequence_length') == 'dali.base.train.sequence_length'
    assert link(cfg, 'data.unlabeled.video_dir') == 'data.video_dir'
    assert cfg['data']['unlabeled_dataloader'] == dict(
        samples_per_gpu=1, workers_per_gpu=0,
        collate_fn=dict(type='unlabeled_sequence_collate'))
    # an epoch is Lightning Pose's steps_per_epoch (train.py:63-82, 424): labelled batches, at
    # least 10 for a semi-supervised model, not a pass over the unlabeled stream
    train_batches = math.ceil(len(rows) / lp['training']['train_batch_size'])
    assert cfg['train_cfg']['epoch_length'] == max(10, train_batches)
    # callbacks.anneal_weight → AnnealWeightHook with the same arguments
    anneal = [h for h in cfg['custom_hooks'] if h['type'] == 'AnnealWeightHook']
    assert anneal == [dict(type='AnnealWeightHook', **lp['callbacks']['anneal_weight'])]
    index = cfg['custom_hooks'].index(anneal[0])
    assert link(cfg, f'custom_hooks.{index}.increase_factor') == \
        'callbacks.anneal_weight.increase_factor'
    assert f'{config.name}:' in cfg.explain(f'{HEAD}.unsupervised_losses.temporal.epsilon')


def _rows_of(cfg, split):
    """Row numbers of the labels CSV the split's dataset holds."""
    from posecfg.registry import DATASETS
    return [int(r) for r in DATASETS.build(dict(cfg['data'][split], pipeline=[])).rows]


def test_command_line_semi_keys_and_supervised_models(project):
    cfg = load(project, 'losses.pca_singleview.log_weight=2.5', 'dali.general.seed=7',
               'callbacks.anneal_weight.init_val=0.25', 'losses.pca_singleview.epsilon=3.0')
    single = cfg['model']['heads']['bodypart']['unsupervised_losses']['pca_singleview']
    assert (single['log_weight'], single['epsilon']) == (2.5, 3.0)
    assert cfg['data']['unlabeled']['seed'] == 7
    assert [h['init_val'] for h in cfg['custom_hooks'] if h['type'] == 'AnnealWeightHook'] == \
        [0.25]
    assert '--cfg-options losses.pca_singleview.log_weight=2.5' in cfg.explain(
        f'{HEAD}.unsupervised_losses.pca_singleview.log_weight')
    # a supervised model has none of the semi-supervised parts (as in Lightning Pose)
    plain = load(project, 'model.losses_to_use=[]', 'dali.base.train.sequence_length=8')
    assert 'unsupervised_losses' not in plain['model']['heads']['bodypart']
    assert 'unlabeled' not in plain['data']
    assert 'AnnealWeightHook' not in [h['type'] for h in plain['custom_hooks']]


# ------------------------------------------------------------------------------ training

def test_example_trains_two_epochs_on_labelled_and_unlabeled_batches(project, tmp_path):
    """tools/train.py's path in process: the translated example with
    losses_to_use=[pca_singleview, pca_multiview, temporal] trains two epochs of max(2
    labelled, 3 unlabeled) = 3 steps, each with finite unsupervised losses, and writes Lightning
    Pose's outputs: predictions.csv, the video's CSV, and their metric files (pixel error /
    temporal norm, both PCA errors: metrics.py::compute_metrics_single)."""
    from posecfg.engine import build_runner
    config, data, lp = project
    cfg = load(project, *SMALL, 'model.losses_to_use=[pca_singleview,pca_multiview,temporal]',
               'training.max_epochs=2',
               extra=[flag_override('--work-dir', 'work_dir', str(tmp_path / 'run'))])
    runner = build_runner(cfg)
    model = runner.model
    loss = model.heads['bodypart'].unsupervised_losses['pca_singleview']
    # the PCA: the labels CSV's training rows at the PCA columns, (x, y) per keypoint; the mean
    # of each dimension over its labelled rows (NaN-aware PCA, utils/pca.py)
    labels = pd.read_csv(data / 'CollectedData.csv', header=[0, 1, 2], index_col=0)
    points = labels.to_numpy(float).reshape(len(labels), -1, 2)
    rows = cfg['model']['heads']['bodypart']['unsupervised_losses']['pca_singleview'][
        'label_rows']
    assert len(rows) == 16
    train = points[rows][:, [0, 1, 2, 3, 4, 5]].reshape(len(rows), -1)
    np.testing.assert_allclose(loss.mean.numpy(), np.nanmean(train, 0), rtol=1e-5)
    everything = points[:, [0, 1, 2, 3, 4, 5]].reshape(len(points), -1)
    assert not np.allclose(loss.mean.numpy(), np.nanmean(everything, 0), rtol=1e-3)
    assert loss.weight == pytest.approx(1 / (2 * math.exp(10.7)))
    steps = train_recording_steps(runner)
    assert len(steps) == 2 * (VIDEO_FRAMES // 4)
    for step in steps:
        for name in ('pca_singleview', 'pca_multiview', 'temporal'):
            assert f'unlabeled_{name}_loss' in step
        assert 'heatmap_mse_loss' in step
        assert all(math.isfinite(v) for v in step.values())
    preds = pd.read_csv(tmp_path / 'run' / 'predictions.csv', header=[0, 1, 2], index_col=0)
    assert list(preds.index) == list(labels.index)
    assert np.isfinite(preds.iloc[:, :-1].to_numpy(float)).all()
    # eval.predict_vids_after_training / save_vids_after_training (true in the example): the
    # eval videos predicted with the best checkpoint into video_preds/, one row per frame
    video_preds = tmp_path / 'run' / 'video_preds'
    table = pd.read_csv(video_preds / 'test_vid.csv', header=[0, 1, 2], index_col=0)
    assert list(table.index) == list(range(VIDEO_FRAMES))
    assert list(dict.fromkeys(table.columns.get_level_values(1))) == lp['data']['keypoint_names']
    assert np.isfinite(table.to_numpy(float)).all()
    assert (video_preds / 'labeled_videos' / 'test_vid_labeled.mp4').stat().st_size > 0
    # the metric files: keypoint columns (+ set for labelled frames), the predictions' index;
    # the PCA files NaN (empty) outside data.columns_for_singleview_pca / the matched keypoints
    names = lp['data']['keypoint_names']
    sets = list(preds.iloc[:, -1])
    matched = sorted({i for view in lp['data']['mirrored_column_matches'] for i in view})
    outside = {'pca_singleview': [k for k in range(len(names)) if k not in range(6)],
               'pca_multiview': [k for k in range(len(names)) if k not in matched]}
    for stem, first, index, with_set in (
            ('predictions', 'pixel_error', list(labels.index), True),
            ('video_preds/test_vid', 'temporal_norm', list(range(VIDEO_FRAMES)), False)):
        for metric, suffix in ((first, first), ('pca_singleview', 'pca_singleview_error'),
                               ('pca_multiview', 'pca_multiview_error')):
            path = tmp_path / 'run' / f'{stem}_{suffix}.csv'
            header = open(path).readline().rstrip('\n')
            assert header == ',' + ','.join(names) + (',set' if with_set else ''), path
            table = pd.read_csv(path, index_col=0)
            assert list(table.index) == index
            if with_set:
                assert list(table.pop('set')) == sets
            values = table.to_numpy(float)
            if metric in outside:
                assert np.isnan(values[:, outside[metric]]).all()
                inside = [k for k in range(len(names)) if k not in outside[metric]]
                assert np.isfinite(values[:, inside]).any() and (values[:, inside] >= 0).all()
    norm = pd.read_csv(video_preds / 'test_vid_temporal_norm.csv', index_col=0).to_numpy(float)
    assert np.isnan(norm[0]).all() and np.isfinite(norm[1:]).all()


def test_video_augmentation_follows_lightning_pose(project):
    """Lightning Pose passes training.imgaug to its video reader (data/factory.py:317), which
    augments for 'dlc' and 'dlc-top-down' only (data/video/dali.py:156)."""
    for imgaug, want in (('dlc', 'dlc'), ('dlc-top-down', 'dlc-top-down'),
                         ('default', 'default'), ('dlc-lr', 'default'),
                         ('{Rot90: {p: 1.0, kwargs: {k: [0, 2]}}}', 'default')):
        cfg = load(project, f'training.imgaug={imgaug}')
        assert cfg['data']['unlabeled']['imgaug'] == want, imgaug


def test_missing_anneal_weight_is_refused_and_printed_py_loads_back(project, tmp_path):
    from posecfg.config import Config
    from posecfg.config.errors import ConfigError
    from posecfg.interop.lp.to_config import format_config
    config, data, lp = project
    trimmed = dict(lp)
    trimmed.pop('callbacks')
    path = tmp_path / 'no_callbacks.yaml'
    path.write_text(yaml.safe_dump(trimmed))
    with pytest.raises(ConfigError, match=r'callbacks\.anneal_weight.*attr_name'):
        load((path, data, trimmed))
    # the translated semi-supervised config prints as a .py that loads back to the same data
    cfg = load(project)
    text, _ = format_config(cfg, 'py')
    (tmp_path / 'semi.py').write_text(text)
    assert Config.fromfile(str(tmp_path / 'semi.py')).to_dict() == cfg.to_dict()


# ------------------------------------------------------- heatmap temporal losses, regression

HEATMAP_TEMPORAL = {'temporal_heatmap_mse': 'LPTemporalHeatmapMSELoss',
                    'temporal_heatmap_kl': 'LPTemporalHeatmapKLLoss'}


@pytest.mark.parametrize('name', list(HEATMAP_TEMPORAL))
def test_heatmap_temporal_losses_land_on_their_losses(project, name):
    """losses/factory.py:151-152: a loss of model.losses_to_use takes losses.<name> (the
    default config has no section for these: the user adds it, Hydra's +losses...)."""
    for model_type, head in (('heatmap', HEAD), ('heatmap_mhcrnn', HEAD)):
        cfg = load(project, f'model.losses_to_use=[{name}]', f'model.model_type={model_type}',
                   f'+losses.{name}={{log_weight: 1.5, epsilon: [0.1{",0.0" * 16}], '
                   f'prob_threshold: 0.2}}')
        loss = cfg['model']['heads']['bodypart']['unsupervised_losses'][name]
        assert loss == dict(type=HEATMAP_TEMPORAL[name], log_weight=1.5,
                            epsilon=[0.1] + [0.0] * 16, prob_threshold=0.2)
        assert link(cfg, f'{head}.unsupervised_losses.{name}.log_weight') == \
            f'losses.{name}.log_weight'
        assert 'unlabeled' in cfg['data']


REGRESSION = [*SMALL, 'model.model_type=regression', 'training.max_epochs=2',
              'training.min_epochs=2', 'model.losses_to_use=[pca_singleview,temporal]',
              'eval.save_vids_after_training=false']


def test_regression_with_unsupervised_losses_trains_and_writes_outputs(project, tmp_path):
    """Lightning Pose's SemiSupervisedRegressionTracker (models/regression_tracker.py:155-221):
    the mirror-mouse example as a regression model with pca_singleview and temporal trains 2
    epochs on labelled batches and its video, and writes its predictions of the labelled frames
    and of the video."""
    from posecfg.engine import build_runner
    cfg = load(project, *REGRESSION, extra=[flag_override('--work-dir', 'work_dir',
                                                          str(tmp_path / 'run'))])
    head = cfg['model']['heads']['bodypart']
    assert head['type'] == 'LPRegressionHead'
    assert list(head['unsupervised_losses']) == ['pca_singleview', 'temporal']
    steps = train_recording_steps(build_runner(cfg))
    assert len(steps) == 2 * (VIDEO_FRAMES // 4)
    for step in steps:
        assert {'unlabeled_pca_singleview_loss', 'unlabeled_temporal_loss',
                'regression_loss'} <= set(step)
        assert all(math.isfinite(v) for v in step.values())
    run = tmp_path / 'run'
    for name in ('predictions.csv', 'predictions_pixel_error.csv', 'video_preds/test_vid.csv'):
        assert (run / name).stat().st_size > 0, name
    table = pd.read_csv(run / 'video_preds' / 'test_vid.csv', header=[0, 1, 2], index_col=0)
    assert list(table.index) == list(range(VIDEO_FRAMES))
    assert table.columns.get_level_values(0)[0] == 'regression_tracker'


def test_regression_head_refuses_heatmap_losses():
    from posecfg.registry import MODELS
    with pytest.raises(ValueError, match='measures heatmaps.*regression'):
        MODELS.build(dict(type='LPRegressionHead', in_channels=16, out_channels=3,
                          unsupervised_losses=dict(t=dict(type='LPTemporalHeatmapKLLoss'))))


def test_video_batch_size_follows_the_dali_predict_keys(project):
    """dali.*.predict.sequence_length (with command-line overrides) → the frames per batch of
    video predictions (tools/infer_video.py's default; predict_eval_videos reads the saved
    config.yaml alike): a context model's windows hold 4 context frames."""
    from posecfg.apis.lp_video import config_video_batch_size
    assert config_video_batch_size(load(project, 'dali.base.predict.sequence_length=5')) == 5
    context = load(project, 'model.model_type=heatmap_mhcrnn',
                   'dali.context.predict.sequence_length=9')
    assert config_video_batch_size(context) == 9 - 4
    assert config_video_batch_size(dict(custom_hooks=[])) == 8  # not a Lightning Pose config
