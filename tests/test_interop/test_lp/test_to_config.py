"""A Lightning Pose config.yaml as a posecfg config (posecfg.interop.lp.to_config): every wired
key lands where the module docstring says, unsupported keys are refused by name, and the
mirror-mouse example trains through ``tools/train.py`` into Lightning Pose's run-folder files.

Facts (lightning-pose 2.4.3): ``data/utils.py:17-73`` split sizes (train floor(p·N), val
floor(q·N), leftover ≥ 5 → test), ``data/utils.py:104-139`` train_frames > 1 is a count,
``utils/predictions.py:595-614, 223-239`` predictions header ``scorer/bodyparts/coords`` with
``<model_type>_tracker`` and a last ``set`` column, ``metrics.py:47, 244-261`` the pixel error
``‖label − prediction‖₂`` per keypoint (empty for unlabelled),
``cli/commands/train.py:72-80`` ``outputs/<YYYY-MM-DD>/<HH-MM-SS>``, ``callbacks.py:690-696``
``epoch=E-step=S-best.ckpt``.
"""
import math
import os
import re
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from posecfg.config import Config
from posecfg.config.cli import flag_override
from posecfg.config.errors import ConfigError
from posecfg.interop.lp.to_config import format_config, load_as_config
from tests.conftest import shared_path

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
MIRROR = 'config_mirror-mouse-example.yaml'
#: a supervised run small enough for a test: 10 train frames of 128 × 128, 2 epochs
FAST = ['model.losses_to_use=[]', 'model.backbone=resnet18',
        'model.backbone_pretrained=False', 'data.image_resize_dims.height=128',
        'data.image_resize_dims.width=128', 'training.train_frames=10',
        'training.train_batch_size=5', 'training.val_batch_size=9',
        'training.test_batch_size=30', 'training.num_workers=0',
        'training.check_val_every_n_epoch=1', 'training.min_epochs=2',
        'training.max_epochs=2', 'training.unfreezing_epoch=0']


@pytest.fixture(scope='module')
def project(tmp_path_factory):
    """(config.yaml, project folder): a copy of the mirror-mouse project (videos: an empty
    folder, which is all a supervised run needs) and the example config."""
    root = tmp_path_factory.mktemp('lp')
    data = root / 'mirror-mouse'
    shutil.copytree(shared_path('lp-mirror-mouse'), data,
                    ignore=shutil.ignore_patterns('videos'))
    (data / 'videos').mkdir()
    config = root / 'config.yaml'
    shutil.copy(shared_path('lp-configs', MIRROR), config)
    return config, data


def paths(data):
    return [f'data.data_dir={data}', f'data.video_dir={data}/videos']


def load(project, *options, extra=()):
    config, data = project
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return load_as_config(str(config), [*paths(data), *FAST, *options], list(extra))


# ------------------------------------------------------------------------------ mapping

@pytest.mark.parametrize('loss_type,loss', [('mse', 'LPHeatmapMSELoss'),
                                            ('kl', 'LPHeatmapKLLoss'),
                                            ('js', 'LPHeatmapJSLoss')])
def test_heatmap_model_keys(project, loss_type, loss):
    cfg = load(project, f'model.heatmap_loss_type={loss_type}', 'data.downsample_factor=3',
               'training.uniform_heatmaps_for_nan_keypoints=true')
    model = cfg['model']
    assert model['type'] == 'BottomUp' and model['test_cfg'] == {'flip_test': False}
    assert model['backbone'] == {'type': 'ResNet', 'zero_init_residual': False, 'depth': 18}
    head = model['heads']['bodypart']
    # 17 keypoints of the CSV; resnet18's last map has 512 channels at stride 32
    assert (head['type'], head['in_channels'], head['out_channels']) == ('LPHeatmapHead', 512,
                                                                          17)
    assert head['downsample_factor'] == 3 and head['backbone_stride'] == 32
    assert head['codec'] == {'type': 'LPHeatmap', 'downsample_factor': 3,
                             'uniform_heatmaps_for_nan_keypoints': True}
    assert head['loss'] == {'type': loss}


def test_backbones_and_regression(project):
    cfg = load(project, 'model.model_type=regression', 'model.backbone=resnet50_animal_ap10k',
               'model.backbone_pretrained=true')
    head = cfg['model']['heads']['bodypart']
    assert head == {'type': 'LPRegressionHead', 'in_channels': 2048, 'out_channels': 17}
    assert cfg['model']['backbone']['init_cfg']['checkpoint'].endswith(
        'res50_ap10k_256x256-35760eb8_20211029.pth')
    eff = load(project, 'model.backbone=efficientnet_b2')['model']
    assert eff['heads']['bodypart']['in_channels'] == 1408


def test_feature_channels_match_the_built_backbones():
    import torch
    from posecfg.interop.lp.to_config import FEATURE_CHANNELS
    from posecfg.models.backbones.named import lp_backbone_cfg
    from posecfg.registry import MODELS
    for name in ('resnet18', 'resnet50', 'efficientnet_b0'):
        backbone = MODELS.build(lp_backbone_cfg(name, pretrained=False))
        with torch.no_grad():
            out = backbone(torch.zeros(1, 3, 64, 64))[-1]
        assert out.shape[1] == FEATURE_CHANNELS[name], name


def test_data_training_and_hooks(project):
    config, data = project
    cfg = load(project, 'training.optimizer=AdamW', 'training.optimizer_params.learning_rate=0.02',
               'training.lr_scheduler_params.multisteplr.milestones=[1,2]',
               'training.lr_scheduler_params.multisteplr.gamma=0.3', 'training.num_gpus=2',
               'training.early_stopping=true', 'training.early_stop_patience=4',
               'training.min_epochs=1', 'training.ckpt_every_n_epochs=2',
               'training.accumulate_grad_batches=3', 'training.log_every_n_steps=7',
               'training.check_val_every_n_epoch=2', 'training.rng_seed_model_pt=5')
    assert cfg['optimizer'] == {'type': 'AdamW', 'lr': 0.02}
    assert cfg['lr_config'] == {'policy': 'step', 'step': [1, 2], 'gamma': 0.3}
    assert cfg['optimizer_config'] == {'cumulative_iters': 3}
    assert cfg['total_epochs'] == 2 and cfg['seed'] == 5
    assert cfg['log_config']['interval'] == 7
    assert cfg['workflow'] == [('train', 2), ('val', 1)]
    assert cfg['evaluation'] == {'interval': 2, 'metric': 'pixel_error'}
    d = cfg['data']
    # batch sizes divided by num_gpus, rounded up (data/factory.py:256-269)
    assert (d['samples_per_gpu'], d['val_dataloader']['samples_per_gpu'],
            d['test_dataloader']['samples_per_gpu']) == (3, 5, 15)
    assert d['workers_per_gpu'] == 0
    for split, test_mode in (('train', None), ('val', True), ('test', True)):
        ds = d[split]
        assert ds['type'] == 'LPProjectDataset' and ds['split'] == split
        assert ds['data_dir'] == str(data) and ds['csv_file'] == 'CollectedData.csv'
        assert (ds['train_prob'], ds['val_prob'], ds['train_frames'],
                ds['rng_seed_data_pt']) == (0.8, 0.1, 10, 42)
        assert ds.get('test_mode') == test_mode and ds['data_mode'] == 'bottomup'
    resize = {'type': 'Resize', 'height': 128, 'width': 128, 'keep_ratio': False}
    assert resize in d['train']['pipeline'] and resize in d['test']['pipeline']
    hooks = {h['type'] + str(h.get('monitor', '')): h for h in cfg['custom_hooks']}
    assert hooks['UnfreezeBackboneHook']['unfreeze_epoch'] == 0
    stop = hooks['EarlyStoppingHookval/loss']
    assert (stop['patience'], stop['min_epochs'], stop['rule']) == (4, 1, 'less')
    best, every = hooks['ModelCheckpointHookval/loss'], hooks['ModelCheckpointHookNone']
    assert best['filename'] == 'epoch={epoch_index}-step={step}-best.ckpt'
    assert (every['every_n_epochs'], every['save_top_k']) == (2, -1)
    folder = os.path.join(cfg['work_dir'], 'tb_logs', 'my_base_toy_model', 'version_0',
                          'checkpoints')
    assert best['out_dir'] == folder and every['out_dir'] == folder
    pred = hooks['LPPredictionsHook']
    assert pred['model_type'] == 'heatmap' and pred['dataset']['split'] == 'all'
    assert pred['batch_size'] == 30 and pred['best_from'] == 'val/loss'
    assert re.fullmatch(r'.*/outputs/\d{4}-\d\d-\d\d/\d\d-\d\d-\d\d', cfg['work_dir'])
    # provenance: the translated value names the yaml line or the command-line item
    assert 'config.yaml:' in cfg.explain('model.backbone.depth') or \
        'model.backbone=resnet18' in cfg.explain('model.backbone.depth')
    assert 'training.optimizer_params.learning_rate=0.02' in cfg.explain('optimizer.lr')
    text = open(config).read().splitlines()
    line = next(i for i, t in enumerate(text, 1) if 'rng_seed_data_pt' in t)
    assert f'config.yaml:{line}' in load(project).explain('data.train.rng_seed_data_pt')


def test_work_dir_flag_wins(project, tmp_path):
    cfg = load(project, extra=[flag_override('--work-dir', 'work_dir', str(tmp_path / 'w'))])
    assert cfg['work_dir'] == str(tmp_path / 'w')
    best = [h for h in cfg['custom_hooks'] if h['type'] == 'ModelCheckpointHook'][0]
    assert best['out_dir'] == str(tmp_path / 'w' / 'tb_logs' / 'my_base_toy_model' /
                                  'version_0' / 'checkpoints')


# ------------------------------------------------------------------------------ refusals

@pytest.mark.parametrize('options,match', [
    # semi-supervised refusals Lightning Pose makes too (the rest: test_to_config_semi.py)
    (['model.losses_to_use=[temporal_heatmap_mse]', 'model.model_type=regression',
      '+losses.temporal_heatmap_mse={log_weight: 1.0, epsilon: 0.0, prob_threshold: 0.0}'],
     r'model\.losses_to_use: temporal_heatmap_mse measures predicted heatmaps.*regression'),
    (['model.losses_to_use=[temporal_heatmap_kl]'],
     r'temporal_heatmap_kl needs its settings in losses\.temporal_heatmap_kl'),
    # (context models, model_type=heatmap_mhcrnn, translate: test_mhcrnn.py)
    (['training.max_epoch=3'], r'training\.max_epoch is not a key.*did you mean '
                               r'training\.max_epochs'),
    (['model.backbone=resnet19'], r'resnet19.*resnet18'),
    (['+training.max_steps=100', '+training.min_steps=10'], 'mixes epoch-based and step-based'),
    (['+training.optimizer_params.weight_decay=0.1'], 'weight_decay.*Lightning Pose does not '
                                                     'read it'),
    (['model.checkpoint=/nonexistent.ckpt'], 'model.checkpoint.*does not exist'),
])
def test_unsupported_keys_are_refused_by_name(project, options, match):
    with pytest.raises(ConfigError, match=match):
        load(project, *options)


def test_augmentation_presets(project):
    def types(cfg, split):
        return [step['type'] for step in cfg['data'][split]['pipeline']]

    resize_only = ['LoadImageFromFile', 'Resize', 'ToTensor', 'NormalizeTensor', 'Collect']
    cfg = load(project, 'training.imgaug=dlc')
    assert types(cfg, 'val') == types(cfg, 'test') == resize_only  # no augmentation
    train = types(cfg, 'train')
    assert 'RandomAffine' in train and 'CropAndPad' in train
    assert train.index('Resize') == train.index('ToTensor') - 1  # LP resizes last
    assert 'Rot90' in types(load(project, 'training.imgaug=dlc-top-down'), 'train')
    assert types(load(project, 'training.imgaug=none'), 'train') == resize_only
    with pytest.raises(ConfigError, match=r'training\.imgaug.*dlc-lr'):
        load(project, 'training.imgaug=dlc_lr')
    # a mapping of imgaug transforms (data/augmentations.py:25-119) goes through too
    custom = load(project, 'training.imgaug={Rot90: {p: 1.0, kwargs: {k: [0, 2]}}}')
    assert 'Rot90' in types(custom, 'train') and types(custom, 'train')[-4] == 'Resize'
    # the flip comes after the resize; the mirror-mouse names have no _left/_right pairs
    flipped = load(project, 'training.imgaug=default', 'training.imgaug_hflip=true')
    steps = flipped['data']['train']['pipeline']
    assert [s['type'] for s in steps[1:3]] == ['Resize', 'HorizontalFlip']
    assert steps[2]['p'] == 0.5 and not steps[2]['symmetries']


def test_eval_video_keys_reach_the_predictions_hook(project):
    def hook(cfg):
        return [h for h in cfg['custom_hooks'] if h['type'] == 'LPPredictionsHook'][0]

    # the example sets eval.predict_vids_after_training: true → the run folder's config.yaml
    assert hook(load(project))['eval_videos'] == 'config.yaml'
    assert hook(load(project, 'eval.predict_vids_after_training=false'))['eval_videos'] is None


# ------------------------------------------------------------------------------ printing

@pytest.mark.parametrize('options,inherited', [
    (['model.model_type=regression'], ('optimizer', 'lr_config', 'default_hooks')),
    (['training.optimizer=AdamW', 'training.max_epochs=7', 'training.min_epochs=7'],
     ('lr_config', 'default_hooks')),
])
def test_printed_py_loads_back_equal(project, tmp_path, options, inherited):
    """print_config.py config.yaml --format py: a .py inheriting configs/_base_/lp/ (Lightning
    Pose's config_default.yaml), holding only what differs, loads back to the same config."""
    cfg = load(project, *options)
    text, _ = format_config(cfg, 'py')
    assert "configs/_base_/lp/config_default.py']" in text
    for key in inherited:  # equal to the base's: not repeated
        assert f'\n{key} = ' not in text
    assert '\nseed = 44' in text  # the example's rng_seed_model_pt differs from the base's 0
    path = tmp_path / 'lp_translated.py'
    path.write_text(text)
    again = Config.fromfile(str(path))
    assert again.to_dict() == cfg.to_dict()


def test_print_config_tool(project):
    config, data = project
    out = subprocess.run(
        [sys.executable, os.path.join(REPO, 'tools', 'print_config.py'), str(config),
         '--cfg-options', *paths(data), 'model.losses_to_use=[]', 'training.max_epoch=3'],
        capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 2
    assert 'did you mean training.max_epochs' in out.stderr


# ------------------------------------------------------------------------------ training

def lp_sets(n, train_prob, val_prob, train_frames):
    """Lightning Pose's set sizes (data/utils.py:17-73, 104-139) written out."""
    train, val = math.floor(train_prob * n), math.floor(val_prob * n)
    test = n - train - val
    if test < 5:
        train, test = train + test, 0
    return dict(train=min(train_frames, train), validation=val, test=test,
                unused=train - min(train_frames, train))


def check_run_folder(run, data, model_type):
    labels = pd.read_csv(data / 'CollectedData.csv', header=[0, 1, 2], index_col=0)
    names = list(dict.fromkeys(labels.columns.get_level_values(1)))
    lines = (run / 'predictions.csv').read_text().splitlines()
    scorer = f'{model_type}_tracker'
    assert lines[0] == 'scorer,' + ','.join([scorer] * 3 * len(names)) + ',set'
    assert lines[1] == 'bodyparts,' + ','.join(n for n in names for _ in range(3)) + ','
    assert lines[2] == 'coords,' + ','.join(['x', 'y', 'likelihood'] * len(names)) + ','
    preds = pd.read_csv(run / 'predictions.csv', header=[0, 1, 2], index_col=0)
    assert list(preds.index) == list(labels.index)  # every labelled frame, in CSV order
    sets = preds.iloc[:, -1].value_counts().to_dict()
    assert sets == {k: v for k, v in lp_sets(len(labels), 0.8, 0.1, 10).items() if v}
    values = preds.iloc[:, :-1].to_numpy(float).reshape(len(preds), -1, 3)
    assert np.isfinite(values).all()
    if model_type == 'regression':
        assert (values[..., 2] == 0).all()
    else:
        assert ((values[..., 2] >= 0) & (values[..., 2] <= 1)).all()
    # pixel error: ‖label − prediction‖ per keypoint, empty where unlabelled
    truth = labels.to_numpy(float).reshape(len(labels), -1, 2)
    expected = np.sqrt(((truth - values[..., :2]) ** 2).sum(-1))
    errors = pd.read_csv(run / 'predictions_pixel_error.csv', index_col=0)
    assert list(errors.columns) == names + ['set']
    assert list(errors.index) == list(labels.index)
    assert (errors['set'] == preds.iloc[:, -1]).all()
    np.testing.assert_allclose(errors[names].to_numpy(float), expected, rtol=1e-6, atol=1e-6)
    return float(np.nanmean(expected[(errors['set'] == 'test').to_numpy()]))


def test_trains_with_tools_train_into_lightning_pose_files(project, tmp_path):
    config, data = project
    out = subprocess.run(
        [sys.executable, os.path.join(REPO, 'tools', 'train.py'), str(config), '--cfg-options',
         *paths(data), *FAST], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    runs = list((tmp_path / 'outputs').glob('*/*'))
    assert len(runs) == 1 and re.fullmatch(r'\d{4}-\d\d-\d\d/\d\d-\d\d-\d\d',
                                           f'{runs[0].parent.name}/{runs[0].name}')
    run = runs[0]
    test_error = check_run_folder(run, data, 'heatmap')
    printed = re.search(r'Pixel error \(test set, 9 frames\): ([\d.]+) px', out.stdout)
    assert printed and float(printed.group(1)) == pytest.approx(test_error, abs=1e-4)
    ckpts = os.listdir(run / 'tb_logs' / 'my_base_toy_model' / 'version_0' / 'checkpoints')
    assert len(ckpts) == 1 and re.fullmatch(r'epoch=[01]-step=[24]-best\.ckpt', ckpts[0])
    # Lightning Pose's small files (train.py:295-371, callbacks.py:535-633)
    import json
    import yaml
    saved = yaml.safe_load((run / 'config.yaml').read_text())
    original = yaml.safe_load(open(config).read())
    assert saved['data']['data_dir'] == str(data)  # the override, as Lightning Pose saves it
    assert saved['eval']['test_videos_directory'] == '${data.video_dir}'  # interpolation kept
    assert saved['losses'] == original['losses']
    assert saved['training']['max_epochs'] == 2 and 'creation_datetime' in saved
    assert list(saved['model'])[-1] == 'lightning_pose_version'
    assert (run / 'CollectedData.csv').read_bytes() == (data / 'CollectedData.csv').read_bytes()
    hparams = yaml.safe_load((run / 'tb_logs' / 'my_base_toy_model' / 'version_0' /
                              'hparams.yaml').read_text())
    assert (hparams['num_keypoints'], hparams['num_targets'], hparams['backbone'],
            hparams['torch_seed']) == (17, 34, 'resnet18', 44)
    status = json.loads((run / 'train_status.json').read_text())
    assert status['status'] == 'COMPLETED' and status['progress']['completed'] == 2
    assert status['progress']['total'] == 2
    assert (run / 'config.py').is_file()  # posecfg's resolved config, beside LP's


def test_regression_model_trains_and_writes_predictions(project, tmp_path):
    from posecfg.engine import build_runner
    cfg = load(project, 'model.model_type=regression', 'training.max_epochs=1',
               'training.min_epochs=1', extra=[flag_override('--work-dir', 'work_dir',
                                                             str(tmp_path / 'run'))])
    runner = build_runner(cfg)
    # the validation loss (what early stopping and the best checkpoint follow) on resized,
    # not augmented, val frames, as Lightning Pose's val set
    val_loss = runner.train_loop._val_loss_dataloader
    assert val_loss['dataset']['split'] == 'val' and not val_loss['dataset']['test_mode']
    assert [s['type'] for s in val_loss['dataset']['pipeline']] == [
        'LoadImageFromFile', 'Resize', 'ToTensor', 'NormalizeTensor', 'Collect']
    runner.train()
    check_run_folder(tmp_path / 'run', project[1], 'regression')


# ------------------------------------------------------------------------------ step mode

#: the example switched to Lightning Pose's step mode (api/model_config.py
#: _validate_steps_vs_epochs: min/max_steps, unfreezing_step, milestone_steps; no epoch keys)
STEPS = ['~training.min_epochs', '~training.max_epochs', '~training.unfreezing_epoch',
         '~training.lr_scheduler_params.multisteplr.milestones', '+training.min_steps=2',
         '+training.max_steps=3', '+training.unfreezing_step=1',
         '+training.lr_scheduler_params.multisteplr.milestone_steps=[3]']


def test_step_mode_translates_to_iterations(project):
    """train.py:64-83 steps_per_epoch = ceil(train images / batch) = ceil(10 / 5) = 2;
    train.py:325-333 milestones = ceil(step / steps_per_epoch); train.py:391-418 Lightning
    stops after max_steps optimizer steps (accumulate_grad_batches batches each), min_steps
    bounds early stopping; callbacks.py:677-683 UnfreezeBackbone(unfreeze_step)."""
    cfg = load(project, *STEPS, 'training.early_stopping=true')
    assert cfg['train_cfg']['max_iters'] == 3 and 'epoch_length' not in cfg['train_cfg']
    assert cfg['total_epochs'] == math.ceil(3 / 2)
    assert cfg['lr_config']['step'] == [math.ceil(3 / 2)]
    hooks = {h['type']: h for h in cfg['custom_hooks']}
    assert hooks['UnfreezeBackboneHook'] == dict(type='UnfreezeBackboneHook', unfreeze_step=1)
    assert hooks['EarlyStoppingHook']['min_steps'] == 2
    assert 'min_epochs' not in hooks['EarlyStoppingHook']
    # Lightning Pose writes the converted milestones into the saved config and hparams
    run_folder = hooks['LPRunFolderHook']
    assert run_folder['lp_config']['training']['lr_scheduler_params']['multisteplr'][
        'milestones'] == [2]
    assert run_folder['hparams']['lr_scheduler_params']['milestones'] == [2]
    assert 'training.max_steps' in cfg.explain('train_cfg.max_iters')
    accumulated = load(project, *STEPS, 'training.accumulate_grad_batches=2')
    assert accumulated['train_cfg']['max_iters'] == 6 and accumulated['total_epochs'] == 3
    # mixing the modes stays refused (Lightning Pose's rule)
    with pytest.raises(ConfigError, match='training.max_epochs.*mixes epoch-based and step-based'):
        load(project, *STEPS, '+training.max_epochs=4')


@pytest.mark.parametrize('limit,length', [(1, 1), (0.5, 1), (1.0, 2), (7, 7)])
def test_limit_train_batches_is_the_epoch_length(project, limit, length):
    """train.py:425 ``limit_train_batches=cfg or steps_per_epoch``; Lightning: an int caps the
    batches, a float is int(fraction · batches) (2 batches here)."""
    cfg = load(project, f'training.limit_train_batches={limit}')
    assert cfg['train_cfg']['epoch_length'] == length
    assert cfg['total_epochs'] == 2


@pytest.mark.parametrize('option,match', [
    ('training.limit_train_batches=0.4', 'would have no batch'),
    ('training.val_check_interval=0.5', 'validation inside an epoch'),
    ('training.val_check_interval=20', 'validation inside an epoch'),
])
def test_training_length_refusals(project, option, match):
    with pytest.raises(ConfigError, match=match):
        load(project, option)
    load(project, 'training.val_check_interval=1.0')  # a whole epoch: the default behaviour


def test_step_mode_and_epoch_length_train_that_many_iterations(project, tmp_path):
    from posecfg.engine import build_runner
    work = tmp_path / 'run'
    cfg = load(project, *STEPS, 'eval.predict_vids_after_training=false',
               extra=[flag_override('--work-dir', 'work_dir', str(work))])
    runner = build_runner(cfg)
    runner.train()
    # 3 optimizer steps: epoch 0 (2 batches), then one batch of epoch 1, which ends there
    assert (runner.iter, runner.epoch) == (3, 2)
    ckpts = os.listdir(work / 'tb_logs' / 'my_base_toy_model' / 'version_0' / 'checkpoints')
    assert len(ckpts) == 1 and re.fullmatch(r'epoch=[01]-step=[23]-best\.ckpt', ckpts[0])
    # train_status.json counts steps in step mode (callbacks.py:535-633)
    import json
    status = json.loads((work / 'train_status.json').read_text())
    assert status['status'] == 'COMPLETED'
    assert (status['progress']['completed'], status['progress']['total']) == (3, 3)
    cfg = load(project, 'training.limit_train_batches=1', 'training.max_epochs=2',
               'eval.predict_vids_after_training=false',
               extra=[flag_override('--work-dir', 'work_dir', str(tmp_path / 'run2'))])
    runner = build_runner(cfg)
    runner.train()
    assert (runner.iter, runner.epoch) == (2, 2)  # one batch per epoch


# ------------------------------------------------------------------------------ tools/test.py

def test_test_tool_evaluates_a_run_folder_in_place(project, tmp_path, monkeypatch):
    """tools/test.py on a Lightning Pose model: as ``litpose predict <model_dir>
    <labels CSV>`` (cli/commands/predict.py, api/model.py predict_on_label_csv): the best
    checkpoint of the run folder (utils/io.py ckpt_path_from_base_path) predicts the labelled
    frames into ``<model_dir>/image_preds/<CSV file name>/predictions.csv`` (+ pixel error),
    not into a new outputs/<date>/<time>/ folder. Same weights as the predictions written after
    training, so the same numbers."""
    from posecfg.engine import build_runner
    from tests.test_interop.test_dlc.test_to_config import run_main
    run = tmp_path / 'run'
    cfg = load(project, 'training.limit_train_batches=1', 'training.max_epochs=1',
               'training.min_epochs=1', 'eval.predict_vids_after_training=false',
               extra=[flag_override('--work-dir', 'work_dir', str(run))])
    build_runner(cfg).train()
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        assert run_main('test', run / 'config.yaml') == 0
    assert not (elsewhere / 'outputs').exists()
    preds = run / 'image_preds' / 'CollectedData.csv' / 'predictions.csv'
    after_training = pd.read_csv(run / 'predictions.csv', header=[0, 1, 2], index_col=0)
    tested = pd.read_csv(preds, header=[0, 1, 2], index_col=0)
    assert list(tested.columns) == list(after_training.columns)
    np.testing.assert_allclose(tested.iloc[:, :-1].to_numpy(float),
                               after_training.iloc[:, :-1].to_numpy(float), rtol=1e-4,
                               atol=1e-3)
    assert (preds.parent / 'predictions_pixel_error.csv').is_file()
    # the project's config.yaml with a run's checkpoint: that run folder is the model dir
    config, data = project
    ckpt = next((run / 'tb_logs' / 'my_base_toy_model' / 'version_0' / 'checkpoints').iterdir())
    preds.unlink()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        assert run_main('test', config, str(ckpt), '--cfg-options', *paths(data), *FAST) == 0
    assert preds.is_file() and not (elsewhere / 'outputs').exists()
    # ... and without a checkpoint it says what to give
    with pytest.raises(ConfigError, match='no checkpoint to test.*not in a Lightning Pose run'):
        from posecfg.interop.lp.to_config import evaluation_checkpoint
        evaluation_checkpoint(load(project))
