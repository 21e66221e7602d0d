"""Every config in configs/ that defines a ``model`` trains one epoch and evaluates, as configured.

A new config is tested by being added. Each one is loaded with ``--cfg-options`` that point its
data at the MMPose test images of its dataset (``../shared/data/mmpose-tests/<dataset>/``, skipped
where absent) and shrink the run (1 epoch, batches of 2, no dataloader workers, evaluation and
logging every epoch/iteration); the work dir is a temporary folder. The datasets, the pipelines
(augmentation, targets, input and heatmap sizes), the head's test settings (flip test, decoding)
and the metrics are built exactly as the config says. Then ``build_runner(cfg).train()`` must go
through every iteration with a finite loss, write the checkpoints and give finite values for
every metric the config asks for.

Shrunk models: one config per backbone family (``FULL_SIZE``) trains its model as configured;
every other config trains a narrow, shallow member of its family (``shrink_options``: ResNet-18 at
a quarter width, HRNet with one module of one block per branch at a quarter width, 16-filter
deconvolutions), which exercises the same code at a fraction of the compute. What the shrinking
skips, that the config's own head fits its own backbone, is checked for every config by building
its full-size backbone and comparing channels and strides (``test_head_fits_backbone``).

Detection boxes are evaluated where the config uses them only for the seed config and the demo
config (the detection path is the same code for the rest); the others evaluate on their
ground-truth boxes.

The dataset of a config is the folder it is in (the naming convention of seed 003:
``configs/{topic}/{task}/{algorithm}/{dataset}/…``); ``SHARED_FILES`` says which annotation (and
detection) file of the shared data belongs to it. posecfg's own synthetic dataset is generated,
small, into a temporary folder instead.
"""
import glob
import math
import os

import pytest
import torch

from posecfg.config import Config
from posecfg.datasets.synthetic import generate_dataset

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

#: dataset folder name → (annotation file, detection file or None) in mmpose-tests/<dataset>/.
#: Image file names in every annotation file are relative to that folder.
SHARED_FILES = {
    'coco': ('test_coco.json', 'test_coco_det_AP_H_56.json'),
    'crowdpose': ('test_crowdpose.json', 'test_crowdpose_det_AP_40.json'),
    'mpii': ('test_mpii.json', None),
    'ap10k': ('test_ap10k.json', None),
    'animalpose': ('test_animalpose.json', None),
    'horse10': ('test_horse10.json', None),
    'macaque': ('test_macaque.json', None),
    'fly': ('test_fly.json', None),
    'locust': ('test_locust.json', None),
    'zebra': ('test_zebra.json', None),
    'atrw': ('test_atrw.json', None),
    'ak': ('test_animalkingdom.json', None),
}

#: evaluation.metric name → the logged key it must produce, and the range of a valid value
METRIC_KEYS = {'mAP': ('AP', 0.0, 1.0), 'PCK': ('PCK', 0.0, 1.0), 'PCKh': ('PCKh', 0.0, 1.0),
               'AUC': ('AUC', 0.0, 1.0), 'EPE': ('EPE', 0.0, math.inf)}

BATCH = 2
#: configs that keep their detection boxes in this test
DETECTIONS_KEPT = ('res50_coco_256x192.py', 'res18_synthetic_animal_128x128.py')

#: backbone type → the one config of that family trained with its model as configured (picked
#: for the cheapest data: two images, 160x160 inputs)
FULL_SIZE = {'ResNet': 'res50_zebra_160x160.py', 'HRNet': 'hrnet_w32_locust_160x160.py',
             'MobileNetV2': 'mobilenetv2_coco_256x192.py'}
#: channel width of the shrunk models (ResNet's stem and first stage; HRNet's divisor)
NARROW = 16


def shrink_options(cfg: Config) -> list:
    """``--cfg-options`` items that replace the config's model by a small one of its family,
    or [] when the config is its family's full-size one."""
    backbone = cfg['model']['backbone']
    kind = backbone['type']
    assert kind in FULL_SIZE, f'no full-size config and shrink rule for {kind} backbones'
    if os.path.basename(cfg.filename) == FULL_SIZE[kind]:
        return []
    head = cfg['model']['keypoint_head']
    if kind == 'ResNet':
        # BasicBlocks: stage i has NARROW * 2**i channels
        options = ['model.backbone.depth=18', f'model.backbone.stem_channels={NARROW}',
                   f'model.backbone.base_channels={NARROW}']
        channels = [NARROW * 2 ** i for i in backbone.get('out_indices', (3,))]
    elif kind == 'HRNet':
        options, channels = [], None
        for stage, spec in backbone['extra'].items():
            if not stage.startswith('stage'):
                continue
            widths = tuple(max(c // 4, 8) for c in spec['num_channels'])
            options += [f'model.backbone.extra.{stage}.num_modules=1',
                        f'model.backbone.extra.{stage}.num_blocks={(1,) * len(widths)}',
                        f'model.backbone.extra.{stage}.num_channels={widths}']
            channels = widths if spec.get('multiscale_output') else widths[:1]
        channels = [c * (4 if backbone['extra']['stage4']['block'] == 'BOTTLENECK' else 1)
                    for c in channels]
    else:
        raise AssertionError(f'no shrink rule for {kind}; add one or make it FULL_SIZE')
    in_index = head.get('in_index', 0)
    in_channels = channels if isinstance(in_index, (list, tuple)) else channels[in_index]
    options.append(f'model.keypoint_head.in_channels={in_channels}')
    if head.get('num_deconv_layers', 3) > 0:
        layers = head.get('num_deconv_layers', 3)
        options.append(f'model.keypoint_head.num_deconv_filters={(NARROW,) * layers}')
    return options


def is_dlc_project_config(cfg: Config) -> bool:
    """A config training on a DeepLabCut project (tests/test_configs/test_dlc_project_configs.py
    trains those on a generated project)."""
    train = (cfg.get('data') or {}).get('train') or {}
    return isinstance(train, dict) and train.get('type') == 'DLCProjectDataset'


def _model_configs(dlc_projects: bool = False):
    paths = sorted(glob.glob(os.path.join(REPO, 'configs', '**', '*.py'), recursive=True))
    paths = [p for p in paths if os.sep + '_base_' + os.sep not in p]
    configs = {p: Config.fromfile(p) for p in paths}
    return [os.path.relpath(p, REPO) for p, cfg in configs.items()
            if 'model' in cfg and is_dlc_project_config(cfg) == dlc_projects]


CONFIGS = _model_configs()


def test_every_zoo_dataset_has_configs():
    datasets = {os.path.basename(os.path.dirname(c)) for c in CONFIGS}
    assert set(SHARED_FILES) <= datasets, sorted(set(SHARED_FILES) - datasets)


# full-size models: one torch thread (tests/conftest.py); build_runner sets the count from
# runtime.threads, which the options set to 1 too, and the fixture restores it afterwards
pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.fixture(scope='module')
def synthetic_animal(tmp_path_factory):
    """A few images of posecfg's synthetic quadrupeds (tools/make_synthetic_dataset.py)."""
    root = tmp_path_factory.mktemp('synthetic') / 'data'
    generate_dataset(root, num_train=4, num_val=2)
    return root


def data_files(dataset: str, request) -> dict:
    """split → (ann_file, img_prefix) for train/val/test; 'det': the detection file or None."""
    if dataset == 'synthetic_animal':
        root = str(request.getfixturevalue('synthetic_animal'))
        val = (f'{root}/annotations/val.json', f'{root}/images/val/')
        return dict(train=(f'{root}/annotations/train.json', f'{root}/images/train/'), val=val,
                    test=val, det=f'{root}/annotations/val_detections.json')
    assert dataset in SHARED_FILES, f'no shared test data listed for dataset {dataset!r}'
    root = str(request.getfixturevalue('mmpose_tests') / dataset)  # skips when absent
    ann, det = SHARED_FILES[dataset]
    split = (f'{root}/{ann}', f'{root}/')
    return dict(train=split, val=split, test=split, det=det and f'{root}/{det}')


def run_options(cfg: Config, files: dict, keep_detections: bool = True) -> list:
    """``--cfg-options`` items: the test data for every split, and a small run."""
    options = ['total_epochs=1', f'data.samples_per_gpu={BATCH}', 'data.workers_per_gpu=0',
               'evaluation.interval=1', 'log_config.interval=1']
    if 'runtime' in cfg:  # build_runner sets torch's threads from it (see one_thread)
        options.append('runtime.threads=1')
    for split in ('train', 'val', 'test'):
        ann, images = files[split]
        options += [f'data.{split}.ann_file={ann}', f'data.{split}.img_prefix={images}']
        if split != 'train' and f'{split}_dataloader' in cfg['data']:
            options.append(f'data.{split}_dataloader.samples_per_gpu={BATCH}')
        if split != 'train' and not cfg['data'][split]['data_cfg'].get('use_gt_bbox', True):
            assert files['det'], 'the config evaluates on detections; the test data has none'
            options.append(f"data.{split}.data_cfg.bbox_file={files['det']}")
            if not keep_detections:
                options.append(f'data.{split}.data_cfg.use_gt_bbox=True')
    return options


@pytest.mark.parametrize('config', CONFIGS, ids=[os.path.basename(c)[:-3] for c in CONFIGS])
def test_trains_one_epoch_and_evaluates(config, request, tmp_path):
    from posecfg.engine import build_runner  # torch-heavy: only when a test runs

    path = os.path.join(REPO, config)
    plain = Config.fromfile(path)
    dataset = os.path.basename(os.path.dirname(path))
    assert plain['dataset_info']['dataset_name'] == dataset, \
        f'{config} is in the folder of {dataset!r} but uses the dataset_info of ' \
        f"{plain['dataset_info']['dataset_name']!r}"

    work_dir = str(tmp_path / 'work_dir')
    keep = os.path.basename(path) in DETECTIONS_KEPT
    shrink = shrink_options(plain)
    cfg = Config.fromfile(path, run_options(plain, data_files(dataset, request), keep) + shrink)
    # the run and the network are shrunk; the data, pipelines, codec and metrics are not
    for key in ('data_cfg', 'train_pipeline', 'val_pipeline', 'evaluation'):
        if key == 'evaluation':
            assert cfg[key]['metric'] == plain[key]['metric']
        else:
            assert cfg.get(key) == plain.get(key), key
    for key in ('type', 'train_cfg', 'test_cfg'):
        assert cfg['model'][key] == plain['model'][key], key
    head, plain_head = cfg['model']['keypoint_head'], plain['model']['keypoint_head']
    assert {k: v for k, v in head.items() if k not in ('in_channels', 'num_deconv_filters')} \
        == {k: v for k, v in plain_head.items() if k not in ('in_channels', 'num_deconv_filters')}
    assert (cfg['model'] == plain['model']) == (not shrink)
    for split in ('train', 'val', 'test'):
        assert cfg['data'][split]['pipeline'] == plain['data'][split]['pipeline']
        assert cfg['data'][split]['type'] == plain['data'][split]['type']

    runner = build_runner(cfg, work_dir=work_dir)
    runner.train()

    # it trained: every iteration of the one epoch ran, with a finite loss
    train_size = len(runner.train_dataloader.dataset)
    assert train_size > 0
    assert runner.epoch == 1
    assert runner.iter == math.ceil(train_size / BATCH)
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert math.isfinite(loss) and loss > 0, loss
    assert os.path.isfile(os.path.join(work_dir, 'epoch_1.pth'))

    # it evaluated: every metric the config asks for came back, finite and in range
    evaluation = cfg['evaluation']
    names = evaluation['metric']
    for name in [names] if isinstance(names, str) else names:
        key, low, high = METRIC_KEYS[name]
        value = runner.message_hub.get_scalar(f'val/{key}').current()
        assert math.isfinite(value) and low <= value <= high, (key, value)
    best = evaluation.get('save_best')
    if best:
        value = runner.message_hub.get_scalar(f'val/{best}').current()
        assert math.isfinite(value), (best, value)
        assert os.path.isfile(os.path.join(work_dir, f'best_{best}_epoch_1.pth'))


@pytest.mark.parametrize('config', CONFIGS, ids=[os.path.basename(c)[:-3] for c in CONFIGS])
def test_head_fits_backbone(config):
    """The config's own full-size backbone gives the head the channels it expects, at the stride
    that makes heatmap_size = image_size / stride (what the shrunk training run cannot show)."""
    from posecfg.registry import MODELS

    cfg = Config.fromfile(os.path.join(REPO, config))
    head = cfg['model']['keypoint_head']
    with torch.device('meta'):  # shapes only: no memory, no weight initialisation
        backbone = MODELS.build(cfg['model']['backbone'])
    in_index = head.get('in_index', 0)
    indices = in_index if isinstance(in_index, (list, tuple)) else [in_index]
    channels = [backbone.out_channels[i] for i in indices]
    assert head['in_channels'] == (channels if isinstance(in_index, (list, tuple))
                                   else channels[0]), (head['in_channels'], channels)
    # each deconvolution doubles the resolution; HRNet-style heads have none
    upsampling = 2 ** head.get('num_deconv_layers', 3)
    stride = backbone.out_strides[indices[0]] / upsampling
    image_size, heatmap_size = cfg['data_cfg']['image_size'], cfg['data_cfg']['heatmap_size']
    assert [s / stride for s in image_size] == list(heatmap_size), (image_size, heatmap_size,
                                                                    stride)
