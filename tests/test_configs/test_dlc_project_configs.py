"""Every config in configs/ that trains on a DeepLabCut project (``DLCProjectDataset``) trains
one epoch and evaluates, as the zoo's configs do in test_train_every_config.py.

The data is posecfg's synthetic quadrupeds written as a small DeepLabCut multi-animal project
(posecfg/datasets/synthetic_dlc.py) with shuffle 1 made as tools/dlc_create_training_dataset.py
makes it; the config's datasets are pointed at it. The model is shrunk (ResNet-18 at a quarter
width with GroupNorm of 4 groups, its heads' input channels to match); the pipelines, target
generators, predictors, criteria, metrics and hooks are the config's.
"""
import csv
import math
import os

import pytest

from posecfg.config import Config
from posecfg.datasets.synthetic_dlc import generate_dlc_project
from tests.test_configs.test_train_every_config import REPO, _model_configs

DLC_CONFIGS = _model_configs(dlc_projects=True)
NARROW = 16
BATCH = 2

pytestmark = pytest.mark.usefixtures('one_thread')


def test_there_is_a_multi_animal_dlc_config():
    assert any('synthetic_animal' in c and 'paf' in c for c in DLC_CONFIGS)


@pytest.fixture(scope='module')
def dlc_project(tmp_path_factory):
    from posecfg.interop.dlc.create_dataset import create_training_dataset
    project = generate_dlc_project(tmp_path_factory.mktemp('dlc_zoo') / 'project',
                                   num_images=5, image_size=(128, 96))
    create_training_dataset(project.config_path, shuffle=1, net_type='resnet_50')
    return project.config_path


def shrink_options(cfg: Config) -> list:
    """A ResNet-18 at a quarter width (last stage 8 × NARROW channels) for the config's
    ResNet, every head's first deconvolution input matched to it."""
    assert cfg['model']['backbone']['type'] == 'ResNet', 'add a shrink rule for this backbone'
    options = ['model.backbone.depth=18', f'model.backbone.stem_channels={NARROW}',
               f'model.backbone.base_channels={NARROW}', 'model.backbone.init_cfg=None']
    if (cfg['model']['backbone'].get('norm_cfg') or {}).get('type') == 'GN':
        options.append('model.backbone.norm_cfg.num_groups=4')
    channels = 8 * NARROW
    for name, head in cfg['model']['heads'].items():
        for key in ('heatmap_config', 'locref_config', 'paf_config'):
            if key in head:
                out = head[key]['channels'][-1]
                options.append(f'model.heads.{name}.{key}.channels=[{channels},{out}]')
    return options


@pytest.mark.parametrize('config', DLC_CONFIGS, ids=[os.path.basename(c)[:-3]
                                                     for c in DLC_CONFIGS])
def test_trains_one_epoch_and_evaluates(config, dlc_project, tmp_path):
    from posecfg.engine import build_runner
    path = os.path.join(REPO, config)
    plain = Config.fromfile(path)
    dataset = os.path.basename(os.path.dirname(path))
    assert plain['dataset_info']['dataset_name'] == dataset
    options = ['total_epochs=1', f'data.samples_per_gpu={BATCH}', 'data.workers_per_gpu=0',
               'evaluation.interval=1', 'log_config.interval=1']
    options += [f'data.{split}.project_config={dlc_project}' for split in ('train', 'val',
                                                                          'test')]
    cfg = Config.fromfile(path, options + shrink_options(plain))
    for split in ('train', 'val', 'test'):
        assert cfg['data'][split]['pipeline'] == plain['data'][split]['pipeline']
    for name, head in plain['model']['heads'].items():
        for key in ('predictor', 'target_generator', 'criterion'):
            assert cfg['model']['heads'][name][key] == head[key]
    work_dir = tmp_path / 'work_dir'
    runner = build_runner(cfg, work_dir=str(work_dir))
    runner.train()
    assert runner.epoch == 1
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert math.isfinite(loss) and loss > 0, loss
    # DeepLabCut's snapshots and learning_stats.csv (the config's DLC hooks)
    assert [n for n in os.listdir(work_dir) if n.startswith('snapshot-')]
    with open(work_dir / 'learning_stats.csv', newline='') as f:
        header = next(csv.reader(f))
    assert 'metrics/test.mAP' in header and 'losses/train.total_loss' in header
    value = runner.message_hub.get_scalar('val/mAP').current()
    assert math.isfinite(value) and 0 <= value <= 100
