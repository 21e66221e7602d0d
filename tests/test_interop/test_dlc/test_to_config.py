"""The DeepLabCut dialect (posecfg.interop.dlc.to_config): a shuffle's pytorch_config.yaml trains,
prints and explains as a posecfg config; DeepLabCut's keys are checked strictly.

The project is a tmp copy of the openfield sample trimmed to 6 labelled frames (5 train, 1 test
for TrainingFraction 0.95), so an end-to-end run takes seconds. Oracles are DeepLabCut's own
names and values, read from the file ``tools/dlc_create_training_dataset.py`` wrote:
snapshot names ``snapshot-NNN.pt`` / ``snapshot-best-NNN.pt`` (runners/snapshots.py), the
``learning_stats.csv`` header (``step`` then sorted names, runners/logger.py CSVLogger), the
bodypart head / optimizer / scheduler / augmentation values of the file, and the build order of
data/transforms.py ``build_transforms`` (lines 26-153).
"""
import csv
import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from posecfg.config import Config
from posecfg.config.cli import flag_override
from posecfg.config.errors import ConfigError
from posecfg.interop.dlc import pose_config_defaults as D
from posecfg.interop.dlc.to_config import format_config, load_as_config
from posecfg.interop.dlc.yaml_io import load_yaml
from tests.conftest import shared_path

REPO = Path(__file__).resolve().parents[3]
SHUFFLE = 'dlc-models-pytorch/iteration-0/openfieldOct30-trainset95shuffle{}/train'
#: DLC keys shrinking the model for CPU tests: timm resnet18 (512 channels), no pretrained file
SMALL = ['model.backbone.model_name=resnet18', '+model.backbone.pretrained=false',
         'model.backbone.output_stride=32',
         'model.backbone_output_channels=512',
         'model.heads.bodypart.heatmap_config.channels=[512,4]',
         'model.heads.bodypart.locref_config.channels=[512,8]']
FRAMES = 6


def run_tool(*args, timeout=300):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=timeout)


def run_main(tool, *args):
    """``tools/<tool>.py ARGS`` in this process (the script runs ``posecfg.tools.<tool>.main``;
    in-process saves a torch import per run); returns the exit status."""
    module = importlib.import_module(f'posecfg.tools.{tool}')
    argv = sys.argv
    sys.argv = [f'tools/{tool}.py', *map(str, args)]
    try:
        module.main()
    except SystemExit as done:
        return done.code
    finally:
        sys.argv = argv
    raise AssertionError(f'tools/{tool}.py did not exit')


@pytest.fixture(scope='module')
def project(tmp_path_factory):
    """The openfield project, 6 frames, with shuffle 1 (resnet_50) made by the tool."""
    src = shared_path('dlc-openfield-Pranav-2018-10-30')
    root = tmp_path_factory.mktemp('dlcdialect') / 'openfield'

    def copy(s, d):
        if s.endswith('.png'):
            os.symlink(s, d)
        else:
            shutil.copy2(s, d)
            os.chmod(d, 0o644)
    shutil.copytree(src, root, copy_function=copy)
    cfg = root / 'config.yaml'
    placeholder = 'WILL BE AUTOMATICALLY UPDATED BY DEMO CODE'
    cfg.write_text(cfg.read_text().replace(f'project_path: {placeholder}', f'project_path: {root}')
                   .replace(f'  {placeholder}:', f'  {root}/videos/m4s1.mp4:'))
    labels = root / 'labeled-data' / 'm4s1' / 'CollectedData_Pranav.csv'
    (root / 'labeled-data' / 'm4s1' / 'CollectedData_Pranav.h5').unlink()
    labels.write_text(''.join(labels.read_text().splitlines(keepends=True)[:3 + FRAMES]))
    run = run_tool(REPO / 'tools' / 'dlc_create_training_dataset.py', cfg, '--net-type',
                   'resnet_50', '--shuffle', '1')
    assert run.returncode == 0, run.stderr
    assert (root / SHUFFLE.format(1) / 'pytorch_config.yaml').is_file()
    return root


@pytest.fixture
def pose_config(project):
    return project / SHUFFLE.format(1) / 'pytorch_config.yaml'


def write_clip(source, video: Path, frames: int) -> Path:
    """The first ``frames`` frames of ``source`` as an MJPG ``video``."""
    import cv2
    capture = cv2.VideoCapture(str(source))
    images = [capture.read()[1] for _ in range(frames)]
    capture.release()
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*'MJPG'), 30,
                             images[0].shape[1::-1])
    for image in images:
        writer.write(image)
    writer.release()
    return video


def line_of(path, *patterns):
    """1-based line of the first line matching the last pattern, each pattern searched after
    the line of the one before (the test's own oracle)."""
    number, todo = 0, list(patterns)
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if re.match(todo[0], line):
            todo.pop(0)
            if not todo:
                return number
    raise AssertionError(patterns)


def test_train_writes_deeplabcut_snapshots_and_learning_stats(project, pose_config):
    train = pose_config.parent
    before = pose_config.read_text()
    assert run_main('train', pose_config, '--cfg-options', 'train_settings.epochs=2',
                    'runner.eval_interval=1', 'data.train.crop_sampling.width=256',
                    'data.train.crop_sampling.height=256', *SMALL) == 0
    assert pose_config.read_text() == before  # DeepLabCut's file is kept; posecfg's is beside it
    assert Config.fromfile(str(train / 'pytorch_config.py')).total_epochs == 2
    snapshots = sorted(n for n in os.listdir(train) if n.endswith('.pt'))
    # key_metric test.mAP (larger is better, strictly): the best is epoch 1 or 2; the last
    # epoch is saved as a regular snapshot unless it is the new best (snapshots.py:90-127)
    assert snapshots in (['snapshot-002.pt', 'snapshot-best-001.pt'], ['snapshot-best-002.pt'])
    state = torch.load(train / snapshots[-1], weights_only=True)  # as DeepLabCut reads it
    assert set(state) >= {'metadata', 'model'} and 'optimizer' not in state
    # DeepLabCut's PoseModel keys (models/model.py; timm ResNet under backbone.model.)
    assert {'backbone.model.conv1.weight', 'heads.bodypart.heatmap_head.deconv_layers.0.weight',
            'heads.bodypart.locref_head.deconv_layers.0.weight'} <= set(state['model'])
    with open(train / 'learning_stats.csv', newline='') as f:
        rows = list(csv.reader(f))
    header = rows[0]
    assert header[0] == 'step' and header[1:] == sorted(header[1:])
    # DeepLabCut's PoseModel.get_loss names (models/model.py:88-103) and its metrics
    assert {'losses/train.total_loss', 'losses/train.bodypart_total_loss',
            'losses/train.bodypart_heatmap', 'losses/train.bodypart_locref', 'metrics/test.rmse',
            'metrics/test.rmse_pcutoff', 'metrics/test.mAP', 'metrics/test.mAR'} <= set(header)
    # one head: the model's total is that head's total
    for row in rows[1:]:
        values = dict(zip(header, row))
        assert float(values['losses/train.total_loss']) == pytest.approx(
            float(values['losses/train.bodypart_total_loss']), rel=1e-5)
    assert [r[0] for r in rows[1:]] == ['1', '2']
    # TensorBoard always (issue 11: the logger key): mmengine's event files in the train folder
    assert list(train.rglob('events.out.tfevents.*'))

    # tools/test.py without CHECKPOINT: the snapshot DeepLabCut evaluates (the best), and
    # DeepLabCut's evaluation files (DLCEvaluationHook)
    assert run_main('test', pose_config, '--cfg-options', *SMALL) == 0
    best = next(n for n in snapshots if '-best-' in n)
    epoch = int(best[-6:-3])
    results = project / 'evaluation-results-pytorch' / 'iteration-0' / train.parent.name
    scorer = f'DLC_Resnet50_openfieldOct30shuffle1_snapshot_best-{epoch}'
    assert (results / f'{scorer}-results.csv').is_file()
    assert (results / f'{scorer}.h5').is_file()

    # DeepLabCut's analyze_videos on the project: the same snapshot, DeepLabCut's video files
    import pandas as pd
    from posecfg.apis import dlc
    video = write_clip(shared_path('dlc-openfield-Pranav-2018-10-30', 'videos', 'm3v1mp4.mp4'),
                       project / 'videos' / 'clip.avi', 4)
    assert dlc.analyze_videos(project / 'config.yaml', [video], shuffle=1, save_as_csv=True,
                              cfg_options=list(SMALL), progress=False) == scorer
    table = pd.read_hdf(project / 'videos' / f'clip{scorer}.h5')
    assert table.shape == (4, 3 * 4)  # 4 frames; 4 bodyparts × (x, y, likelihood)
    assert list(table.columns.names) == ['scorer', 'bodyparts', 'coords']
    assert (project / 'videos' / f'clip{scorer}.csv').is_file()
    # create_labeled_video finds those predictions by the same scorer and draws them, with
    # the project's pcutoff (config.yaml: pcutoff: 0.4), as DeepLabCut does
    assert dlc.create_labeled_video(project / 'config.yaml', [video], shuffle=1,
                                    cfg_options=list(SMALL)) == \
        [str(project / 'videos' / f'clip{scorer}_p40_labeled.mp4')]


def test_keys_become_posecfg_parts(project, pose_config):
    dlc = load_yaml(pose_config)
    assert set(dlc) == set(D.POSE_CONFIG)  # every top-level key DeepLabCut 3 writes is there
    cfg = load_as_config(pose_config, ['train_settings.batch_size=3', 'runner.eval_interval=4'])
    ts, runner = dlc['train_settings'], dlc['runner']
    assert cfg.total_epochs == ts['epochs'] == 200 and cfg.seed == ts['seed'] == 42
    assert cfg.data.samples_per_gpu == 3 and cfg.evaluation.interval == 4
    assert cfg.data.workers_per_gpu == ts['dataloader_workers']
    assert dict(cfg.optimizer) == dict(type=runner['optimizer']['type'],
                                       **runner['optimizer']['params'])
    scheduler = runner['scheduler']['params']
    assert [dict(s) for s in cfg.param_scheduler] == [dict(
        type='LRListScheduler', milestones=scheduler['milestones'],
        lr_list=scheduler['lr_list'])]
    head = cfg.model.heads.bodypart
    yaml_head = dlc['model']['heads']['bodypart']
    assert cfg.model.type == 'BottomUp' and head.type == 'DLCHeatmapHead'
    # DeepLabCut's objective: the mean of the heads' total losses (models/model.py:93-102)
    assert cfg.model.head_loss_reduction == 'mean'
    assert head.target_generator.type == yaml_head['target_generator']['type']
    assert head.target_generator.pos_dist_thresh == 17
    assert head.criterion.locref.weight == yaml_head['criterion']['locref']['weight']
    assert cfg.model.backbone.depth == 50 and cfg.model.backbone.output_stride == 16
    # DeepLabCut trains from ImageNet weights unless resuming (apis/training.py:76-97)
    assert cfg.model.backbone.init_cfg.checkpoint == 'timm://resnet50_gn'
    # build_transforms order for aug_default.yaml's keys
    steps = [s['type'] for s in cfg.data.train.pipeline]
    assert steps == ['LoadImageFromFile', 'RandomAffine', 'PadIfNeeded', 'KeypointAwareCrop',
                     'MotionBlur', 'GaussianNoise', 'NormalizeImage', 'ToTensor', 'Collect']
    crop = dlc['data']['train']['crop_sampling']
    assert cfg.data.train.pipeline[3]['width'] == crop['width'] == 448
    assert cfg.data.train.pipeline[1]['p'] == dlc['data']['train']['affine']['p']
    assert [s['type'] for s in cfg.data.test.pipeline] == ['LoadImageFromFile', 'NormalizeImage',
                                                           'ToTensor', 'Collect']
    assert cfg.data.train.split == 'train' and cfg.data.val.split == 'test'
    assert cfg.data.train.shuffle == 1 and cfg.data.train.bbox_margin == dlc['data']['bbox_margin']
    assert cfg.work_dir == str(pose_config.parent)
    hook = cfg.custom_hooks[0]
    assert hook.type == 'DLCSnapshotHook' and hook.key_metric == 'mAP' and hook.key_metric_asc
    assert hook.max_snapshots == runner['snapshots']['max_snapshots']
    assert hook.save_epochs == runner['snapshots']['save_epochs']
    assert cfg.custom_hooks[1].type == 'DLCLearningStatsHook'
    # the evaluator: DLCRMSEMetric with the project's pcutoff (config.yaml: pcutoff: 0.4)
    from posecfg.engine.runner_config import evaluator_configs
    metrics = evaluator_configs(cfg.to_dict(), ['val'])['val_evaluator']
    assert metrics[0]['type'] == 'DLCRMSEMetric' and metrics[0]['pcutoff'] == 0.4


def test_resume_training_from(pose_config):
    cfg = load_as_config(pose_config, ['resume_training_from=/x/snapshot-010.pt', 'device=cpu'])
    assert cfg.resume_from == '/x/snapshot-010.pt'
    assert 'init_cfg' not in cfg.model.backbone  # no ImageNet weights when resuming


def test_project_config_with_shuffle_is_the_same_config(project, pose_config):
    via_project = load_as_config(project / 'config.yaml', shuffle=1)
    assert via_project.to_dict() == load_as_config(pose_config).to_dict()
    with pytest.raises(ConfigError, match='dlc_create_training_dataset.py'):
        load_as_config(project / 'config.yaml', shuffle=7)


def test_collate_and_scheduler_keys(pose_config):
    cfg = load_as_config(pose_config, [
        '+data.train.collate={type:ResizeFromDataSizeCollate,min_scale:0.4,max_scale:1.0}',
        'runner.scheduler={_delete_:True,type:StepLR,params:{step_size:10,gamma:0.5}}',
        '+runner.load_scheduler_state_dict=false', 'data.train.hflip=0.3'])
    assert dict(cfg.data.collate_fn) == dict(type='ResizeFromDataSizeCollate', min_scale=0.4,
                                             max_scale=1.0, seed=42)
    assert cfg.data.val_dataloader.collate_fn == 'pose_collate'
    assert [dict(s) for s in cfg.param_scheduler] == [dict(
        type='TorchLRScheduler', scheduler=dict(type='StepLR', params=dict(step_size=10,
                                                                             gamma=0.5)),
        load_scheduler_state_dict=False)]
    flip = [s for s in cfg.data.train.pipeline if s['type'] == 'HorizontalFlip']
    assert [dict(s) for s in flip] == [dict(type='HorizontalFlip', p=0.3)]


@pytest.mark.parametrize('options,message', [
    (['train_settings.epoch=5'], r"train_settings\.epoch.*did you mean train_settings\.epochs"),
    (['data.train.crop_sampling.widht=256'], r'did you mean data\.train\.crop_sampling\.width'),
    (['runner.optimizer.type=AdamX'], r"'AdamX'.*did you mean Adam"),
    (['runner.key_metric=test.rmze'], r'did you mean test\.rmse'),
    (['+runner.snapshot.max_snapshots=2'], r'runner.snapshot.*did you mean runner\.snapshots'),
    (['+model.heads.bodypart.predictor.locref_stdd=7'], r'did you mean .*locref_std'),
    (['train_settings.epochs=many'], r'train_settings\.epochs: must be an integer'),
    (['runner.key_metric_asc=1'], r'key_metric_asc: must be true or false'),
])
def test_option_typos_name_close_matches(pose_config, options, message):
    with pytest.raises(ConfigError, match=message) as err:
        load_as_config(pose_config, options)
    assert 'pytorch_config.yaml' in str(err.value) or '--cfg-options' in str(err.value)


def test_yaml_typos_name_the_file_line_and_close_matches(project, tmp_path):
    text = (project / SHUFFLE.format(1) / 'pytorch_config.yaml').read_text()
    folder = project / SHUFFLE.format(1).replace('shuffle1', 'shuffle9')
    folder.mkdir(parents=True)
    bad = folder / 'pytorch_config.yaml'
    try:
        bad.write_text(text.replace('  display_iters:', '  display_iter:'))
        line = line_of(bad, r'  display_iter:')
        with pytest.raises(ConfigError, match=rf'pytorch_config.yaml:{line}: '
                                              rf'train_settings\.display_iter: unknown key.*'
                                              rf'did you mean train_settings\.display_iters'):
            load_as_config(bad)
        bad.write_text(text.replace('        pos_dist_thresh:', '        pos_dist_tresh:'))
        line = line_of(bad, r'        pos_dist_tresh:')
        with pytest.raises(ConfigError, match=rf'pytorch_config.yaml:{line}: .*pos_dist_tresh.*'
                                              rf'did you mean .*pos_dist_thresh'):
            load_as_config(bad)
    finally:
        shutil.rmtree(folder.parent)


@pytest.mark.parametrize('option,message', [
    ('logger={type:WandbLogger,project_name:x,image_log_interval:2}',
     'logger.type: WandbLogger needs the wandb package'),
    ('logger={type:TensorboardLogger}', "'TensorboardLogger': DeepLabCut has the loggers"),
    ('logger={type:CSVLogger,log_filename:stats.csv}', 'posecfg writes learning_stats.csv'),
    ('method=td', 'top-down'),
    ('inference.compile={enabled:true,backend:eager}', "'eager': posecfg compiles evaluation "
                                                        'with inductor'),
    ('inference.multithreading.enabled=false', "posecfg's video reader always decodes ahead"),
    ('inference.snapshot=3', 'snapshotindex picks the snapshot'),
    ('inference.output_dir=x', 'evaluation-results-pytorch'),
    ('inference.conditions={shuffle:1}', 'CTD'),
    ('inference.eval.mode=train', "'train': posecfg's evaluation reports the test split"),
    ('inference.eval.pcutoff=0.3', "0.3: posecfg evaluates with the project's pcutoff"),
    ('inference.eval.comparison_bodyparts=[snout]', 'subset of the bodyparts'),
    ('inference.eval.force_multi_animal=true', 'multi-animal evaluation'),
    ('+train_settings.weight_init={snapshot_path:x.pt}', 'not supported by posecfg yet'),
    ('runner.gpus=[0,1]', 'dist_train'),
    ('data.colormode=BGR', 'RGB'),
    ('device=mps', 'only auto'),
    ('with_center_keypoints=true', 'DEKR heads only'),
])
def test_keys_posecfg_cannot_honour_are_errors(pose_config, option, message):
    with pytest.raises(ConfigError, match=message):
        load_as_config(pose_config, [option])


def test_explain_names_the_yaml_line_or_option(pose_config):
    cfg = load_as_config(pose_config, ['runner.eval_interval=3'],
                         extra=[flag_override('--work-dir', 'work_dir', '/tmp/elsewhere')])
    epochs = line_of(pose_config, r'  epochs:')
    assert f'pytorch_config.yaml:{epochs}' in cfg.explain('total_epochs')
    assert '--cfg-options runner.eval_interval=3' in cfg.explain('evaluation.interval')
    width = line_of(pose_config, r'data:', r'  train:', r'    crop_sampling:', r'      width:')
    assert f'pytorch_config.yaml:{width}' in cfg.explain('data.train.pipeline.3.width')
    assert f'pytorch_config.yaml:{width}' in cfg.explain('data.train.pipeline.2.min_width')
    crop = line_of(pose_config, r'data:', r'  train:', r'    crop_sampling:')
    # a value DeepLabCut's build_transforms fixes (the padding's position) → the section's line
    assert f'pytorch_config.yaml:{crop}' in cfg.explain('data.train.pipeline.2.position')
    assert cfg.work_dir == '/tmp/elsewhere' and '--work-dir' in cfg.explain('work_dir')
    run = run_tool(REPO / 'tools' / 'print_config.py', pose_config, '--explain', 'seed')
    assert run.returncode == 0, run.stderr
    assert f'pytorch_config.yaml:{line_of(pose_config, r"  seed:")}' in run.stdout


@pytest.mark.parametrize('options,inherited', [
    (['train_settings.epochs=3'], True),
    (['runner.snapshots.max_snapshots=2', 'runner.optimizer={_delete_:True,type:SGD,'
      'params:{momentum:0.9}}'], False),
])
def test_printed_py_inherits_the_dlc_base_and_loads_back(pose_config, tmp_path, options,
                                                         inherited):
    cfg = load_as_config(pose_config, options)
    text, notes = format_config(cfg, 'py')
    assert not notes
    assert "configs/_base_/dlc/pytorch_config.py']" in text
    # the base holds DeepLabCut's runtime: the default hooks are inherited, not repeated
    assert ('custom_hooks = ' not in text) == inherited
    assert 'evaluation = ' not in text and 'default_hooks = ' not in text
    path = tmp_path / 'openfield_shuffle1.py'
    path.write_text(text)
    loaded = Config.fromfile(str(path))
    assert loaded.to_dict() == cfg.to_dict()
    if not inherited:  # SGD without lr: the base's AdamW dict is replaced, not merged
        assert dict(loaded.optimizer) == dict(type='SGD', momentum=0.9)


@pytest.mark.parametrize('net_type,shuffle,channels', [('hrnet_w32', 2, 32),
                                                       ('cspnext_m', 3, 768)])
def test_other_net_types_translate_build_and_run(project, net_type, shuffle, channels):
    from posecfg.interop.dlc.create_dataset import create_training_dataset
    from posecfg.registry import MODELS
    create_training_dataset(project / 'config.yaml', shuffle=shuffle, net_type=net_type)
    path = project / SHUFFLE.format(shuffle) / 'pytorch_config.yaml'
    assert load_yaml(path)['model']['backbone_output_channels'] == channels
    cfg = load_as_config(path, ['+model.backbone.pretrained=false'])
    if net_type.startswith('hrnet'):  # the backbone yaml's auto_padding, train and inference
        padding = [s for s in cfg.data.test.pipeline if s['type'] == 'PadIfNeeded']
        assert padding[0]['pad_height_divisor'] == 32 == padding[0]['pad_width_divisor']
    model = MODELS.build(cfg.to_dict()['model']).eval()
    with torch.no_grad():
        out = model(torch.zeros(1, 3, 64, 64), mode='tensor')
    heatmap = out['heatmap'] if 'heatmap' in out else out['bodypart']['heatmap']
    assert heatmap.shape[:2] == (1, 4)


def test_dlc_python_api_goes_through_this_translator(project):
    from posecfg.apis.dlc import load_shuffle_config
    cfg = load_shuffle_config(project / 'config.yaml', shuffle=1, epochs=3,
                              max_snapshots_to_keep=2,
                              pytorch_cfg_updates={'runner.optimizer.params.lr': 1e-4})
    assert cfg.total_epochs == 3 and cfg.optimizer.lr == 1e-4
    assert cfg.custom_hooks[0].max_snapshots == 2
    assert '--cfg-options train_settings.epochs=3' in cfg.explain('total_epochs')


def test_logger_wandb_becomes_mmengine_wandb_backend(pose_config, tmp_path, monkeypatch):
    """DeepLabCut's WandbLogger (config/logger.py WandbLoggerConfig; runners/logger.py:294-298
    calls ``wandb.init(project=project_name, name=run_name, **wandb_kwargs)``) → mmengine's
    WandbVisBackend with those init arguments, beside TensorBoard. A stand-in ``wandb`` package
    makes it importable (it is not installed here)."""
    from posecfg.engine.runner_config import runner_kwargs
    (tmp_path / 'wandb').mkdir()
    (tmp_path / 'wandb' / '__init__.py').write_text('')
    monkeypatch.syspath_prepend(str(tmp_path))
    option = ('logger={type:WandbLogger,project_name:mice,run_name:exp1,'
              'wandb_kwargs:{tags:[a,b],group:g1}}')
    cfg = load_as_config(pose_config, [option, *SMALL])
    assert [h['type'] for h in cfg.log_config.hooks] == [
        'TextLoggerHook', 'TensorboardLoggerHook', 'WandbLoggerHook']
    backends = runner_kwargs(cfg, work_dir=str(tmp_path / 'work'))['visualizer']['vis_backends']
    assert [b['type'] for b in backends] == ['LocalVisBackend', 'TensorboardVisBackend',
                                             'WandbVisBackend']
    assert backends[2]['init_kwargs'] == dict(project='mice', name='exp1', tags=['a', 'b'],
                                              group='g1')
    with pytest.raises(ConfigError, match=r'logger.image_log_interval: logging train/test'):
        load_as_config(pose_config, ['logger={type:WandbLogger,image_log_interval:5}'])
    with pytest.raises(ConfigError, match=r'logger.tags: unknown key for a WandbLogger'):
        load_as_config(pose_config, ['logger={type:WandbLogger,tags:[a]}'])


def test_inference_keys_become_runtime_and_evaluation_settings(pose_config):
    """DeepLabCut 3.0.2's InferenceConfig (config/inference.py): its runner compiles and
    autocasts when told (runners/inference.py:139-141, 494-495); evaluate_network's
    per_keypoint_evaluation and train/test modes (apis/evaluation.py)."""
    cfg = load_as_config(pose_config)
    assert 'runtime' not in cfg  # DeepLabCut's defaults: posecfg's own runtime defaults
    assert cfg.custom_hooks[2].evaluate_train is True and cfg.custom_hooks[2].per_keypoint is False
    cfg = load_as_config(pose_config, ['inference.compile.enabled=true',
                                       'inference.autocast.enabled=true',
                                       'inference.eval.mode=test',
                                       'inference.eval.per_keypoint_evaluation=true'])
    assert dict(cfg.runtime) == dict(compile_eval=True, autocast='bf16')
    hook = cfg.custom_hooks[2]
    assert hook.type == 'DLCEvaluationHook'
    assert hook.evaluate_train is False and hook.per_keypoint is True
    assert 'inference.compile.enabled' in cfg.explain('runtime.compile_eval')
    # the project's own pcutoff written in the file is the same setting
    from posecfg.interop.dlc.project import read_project
    project = read_project(pose_config.parents[4] / 'config.yaml')
    load_as_config(pose_config, [f'inference.eval.pcutoff={project.pcutoff}'])
