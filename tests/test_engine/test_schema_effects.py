"""Every key the schema accepts has an effect: setting it changes what is built, or it is refused
with an error. The walk covers every entry of ``posecfg.config.schema`` (top level, typeless
sections, lr policies, refused keys); a key added there without a case here fails
``test_every_schema_key_is_walked``.

Each case loads the seed config twice: with its ``base`` options, and with those plus the key's
option; the mmengine Runner arguments (``runner_kwargs``) must differ. Keys whose effect lies
outside the runner arguments (``work_dir``, ``custom_imports``) have tests of their own below.
"""
import functools
import os
import sys
import uuid

import pytest

from posecfg.config import Config
from posecfg.config import schema
from posecfg.engine.runner_config import SchemaError, resolve_work_dir, runner_kwargs

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED = os.path.join(REPO, 'configs/body/2d_kpt_sview_rgb_img/topdown_heatmap/coco/'
                          'res50_coco_256x192.py')
FIXED_RUNTIME = ('runtime.autocast=None', 'runtime.channels_last=False', 'runtime.compile=False',
                 'runtime.threads=1')  # no thread probe


@functools.lru_cache(maxsize=None)  # each base is the 'before' of many cases (read only)
def kwargs_for(*options, test=False, cuda=False):
    cfg = Config.fromfile(SEED, [*FIXED_RUNTIME, *options])
    return runner_kwargs(cfg, work_dir='/tmp/w', test=test, cuda=cuda)


def case(option, base=(), **flags):
    return dict(option=option, base=tuple(base), flags=flags)


TEST = dict(test=True)
COSINE = ('lr_config={_delete_:True,policy:cosine}',)
DATALOADER_VALUES = dict(samples_per_gpu=3, workers_per_gpu=1, shuffle=False,
                         persistent_workers=False, pin_memory=True, drop_last=True,
                         prefetch_factor=4, collate_fn='pose_pad_collate')
UNLABELED = ('data.unlabeled={type:TopDownCocoDataset,ann_file:/u.json}',
             'data.unlabeled_dataloader={}')

#: dotted schema key → how setting it shows (options relative to the seed config)
EFFECTS = {
    # top level: MMPose 0.x
    'model': case('model.backbone.depth=101'),
    'data': case('data.samples_per_gpu=8'),
    'optimizer': case('optimizer.lr=0.1'),
    'optimizer_config': case('optimizer_config.cumulative_iters=2'),
    'lr_config': case('lr_config.gamma=0.5'),
    'total_epochs': case('total_epochs=5'),
    'workflow': case('workflow=[(train,1),(val,1)]'),
    'evaluation': case('evaluation.interval=2'),
    'checkpoint_config': case('checkpoint_config.interval=2'),
    'log_config': case('log_config.interval=5'),
    'log_level': case('log_level=DEBUG'),
    'load_from': case('load_from=/weights.pth'),
    'resume_from': case('resume_from=/weights.pth'),
    'dist_params': case('dist_params.backend=mpi'),
    'fp16': case('fp16={dtype:float16}'),
    'seed': case('seed=7'),
    'deterministic': case('deterministic=True'),
    'cudnn_benchmark': case('cudnn_benchmark=True'),
    'opencv_num_threads': case('opencv_num_threads=2'),
    'mp_start_method': case('mp_start_method=spawn'),
    # variables: their effect is through the keys written with them
    'data_root': case('data_root=/elsewhere'),
    'channel_cfg': case('channel_cfg.num_output_channels=5'),
    'data_cfg': case('data_cfg.image_size=[96,128]'),
    'train_pipeline': case('train_pipeline.1.flip_prob=0.1'),
    'val_pipeline': case('val_pipeline.1.use_udp=True'),
    'test_pipeline': case('test_pipeline.1.use_udp=True', **TEST),
    'dataset_info': case('dataset_info.dataset_name=other'),
    # mmengine-native
    'default_scope': case('default_scope=mmengine'),
    'default_hooks': case('default_hooks={logger:{interval:7}}'),
    'custom_hooks': case('custom_hooks=[{type:EMAHook}]'),
    'env_cfg': case('env_cfg={cudnn_benchmark:True}'),
    'visualizer': case('visualizer={type:Visualizer,vis_backends:[]}'),
    'vis_backends': case('vis_backends=[{type:LocalVisBackend}]'),
    'log_processor': case('log_processor={window_size:5}'),
    'param_scheduler': case('param_scheduler=[]'),
    'optim_wrapper': case('optim_wrapper={type:OptimWrapper,optimizer:{type:SGD,lr:0.1}}'),
    'randomness': case('randomness={seed:1}'),
    'resume': case('resume=True'),
    'train_cfg': case('train_cfg={max_epochs:3}'),
    'val_cfg': case('val_cfg={fold_bn:False}'),
    'test_cfg': case('test_cfg={fold_bn:False}', **TEST),
    'train_dataloader': case('train_dataloader={batch_size:3}'),
    'val_dataloader': case('val_dataloader={batch_size:3}'),
    'test_dataloader': case('test_dataloader={batch_size:3}', **TEST),
    'val_evaluator': case('val_evaluator={type:PCKAccuracy}'),
    'test_evaluator': case('test_evaluator={type:PCKAccuracy}', **TEST),
    'auto_scale_lr': case('auto_scale_lr={base_batch_size:16,enable:True}'),
    'experiment_name': case('experiment_name=x'),
    'runtime': case('runtime.threads=2'),
    # data
    **{f'data.{k}': case(f'data.{k}={v}') for k, v in DATALOADER_VALUES.items()},
    'data.train': case('data.train.ann_file=/a.json'),
    'data.val': case('data.val.ann_file=/a.json'),
    'data.test': case('data.test.ann_file=/a.json', **TEST),
    'data.train_dataloader': case('data.train_dataloader={samples_per_gpu:3}'),
    'data.val_dataloader': case('data.val_dataloader.samples_per_gpu=3'),
    'data.test_dataloader': case('data.test_dataloader.samples_per_gpu=3', **TEST),
    **{f'data.{split}_dataloader.{k}': case(
        f'data.{split}_dataloader.{k}={v if k != "shuffle" else split != "train"}',
        ('data.val_dataloader={}', 'data.test_dataloader={}'),
        test=split == 'test')
       for split in ('train', 'val', 'test') for k, v in DATALOADER_VALUES.items()},
    'data.unlabeled': case(UNLABELED[0]),
    'data.unlabeled_dataloader': case('data.unlabeled_dataloader.samples_per_gpu=3', UNLABELED),
    **{f'data.unlabeled_dataloader.{k}': case(
        f"data.unlabeled_dataloader.{k}={v}", UNLABELED)
       for k, v in DATALOADER_VALUES.items()},
    # evaluation
    'evaluation.interval': case('evaluation.interval=3'),
    'evaluation.metric': case('evaluation.metric=PCK', ('data_cfg.use_gt_bbox=True',)),
    'evaluation.save_best': case('evaluation.save_best=AR'),
    'evaluation.rule': case('evaluation.rule=less'),
    'evaluation.by_epoch': case('evaluation.by_epoch=False'),  # refused
    'evaluation.start': case('evaluation.start=5'),
    'evaluation.outfile_prefix': case('evaluation.outfile_prefix=/tmp/preds'),
    # checkpoint_config
    'checkpoint_config.interval': case('checkpoint_config.interval=3'),
    'checkpoint_config.max_keep_ckpts': case('checkpoint_config.max_keep_ckpts=2'),
    'checkpoint_config.by_epoch': case('checkpoint_config.by_epoch=False'),
    'checkpoint_config.save_optimizer': case('checkpoint_config.save_optimizer=False'),
    'checkpoint_config.out_dir': case('checkpoint_config.out_dir=/ckpts'),
    'checkpoint_config.save_last': case('checkpoint_config.save_last=False'),
    'checkpoint_config.filename_tmpl': case('checkpoint_config.filename_tmpl=e{}.pth'),
    # log_config
    'log_config.interval': case('log_config.interval=3'),
    'log_config.hooks': case('log_config.hooks=[{type:TextLoggerHook}]'),
    'log_config.by_epoch': case('log_config.by_epoch=False'),
    'log_config.ignore_last': case('log_config.ignore_last=False'),
    # lr_config (each key under a policy that reads it)
    'lr_config.policy': case('lr_config.policy=fixed', ('lr_config={_delete_:True,policy:poly}',)),
    'lr_config.by_epoch': case('lr_config.by_epoch=False'),
    'lr_config.warmup': case('lr_config.warmup=constant'),
    'lr_config.warmup_iters': case('lr_config.warmup_iters=10'),
    'lr_config.warmup_ratio': case('lr_config.warmup_ratio=0.5'),
    'lr_config.warmup_by_epoch': case('lr_config.warmup_by_epoch=True'),
    'lr_config.step': case('lr_config.step=[100]'),
    'lr_config.gamma': case('lr_config.gamma=0.5'),
    'lr_config.min_lr': case('lr_config.min_lr=0.01', COSINE),
    'lr_config.min_lr_ratio': case('lr_config.min_lr_ratio=0.01', COSINE),
    'lr_config.power': case('lr_config.power=2.0', ('lr_config={_delete_:True,policy:poly}',)),
    # optimizer_config
    'optimizer_config.grad_clip': case('optimizer_config.grad_clip={max_norm:1.0}'),
    'optimizer_config.cumulative_iters': case('optimizer_config.cumulative_iters=4'),
    'optimizer_config.grad_clip.max_norm': case('optimizer_config.grad_clip.max_norm=2.0',
                                                ('optimizer_config.grad_clip={max_norm:1.0}',)),
    'optimizer_config.grad_clip.norm_type': case('optimizer_config.grad_clip.norm_type=1.0',
                                                 ('optimizer_config.grad_clip={max_norm:1.0}',)),
    # dist_params
    'dist_params.backend': case('dist_params.backend=mpi'),
    'dist_params.init_method': case('dist_params.init_method=tcp://127.0.0.1:29999'),
    'dist_params.timeout': case('dist_params.timeout=60'),
    # fp16
    'fp16.dtype': case('fp16.dtype=float16', ('fp16={dtype:bfloat16}',)),
    'fp16.loss_scale': case('fp16.loss_scale=512.0', ('fp16={dtype:bfloat16}',), cuda=True),
    # env_cfg (mmengine's own keys, merged)
    'env_cfg.cudnn_benchmark': case('env_cfg={cudnn_benchmark:True}'),
    'env_cfg.mp_cfg': case('env_cfg={mp_cfg:{mp_start_method:spawn}}'),
    'env_cfg.dist_cfg': case('env_cfg={dist_cfg:{timeout:5}}'),
    # runtime switches
    'runtime.autocast': case('runtime.autocast=bf16'),
    'runtime.channels_last': case('runtime.channels_last=True'),
    'runtime.compile': case('runtime.compile=True'),
    'runtime.threads': case('runtime.threads=2'),
    'runtime.fold_bn': case('runtime.fold_bn=False'),
    'runtime.compile_eval': case('runtime.compile_eval=False'),
    'runtime.reuse_memory': case('runtime.reuse_memory=False'),
    # refused
    'momentum_config': case('+momentum_config={policy:cyclic}'),
    'gpu_ids': case('+gpu_ids=[0]'),
    'launcher': case('+launcher=pytorch'),
    'lr_config.periods': case('+lr_config.periods=[5]'),
    'lr_config.restart_weights': case('+lr_config.restart_weights=[1]'),
    'lr_config.T_max': case('+lr_config.T_max=5'),
    'dist_params.port': case('+dist_params.port=29500'),
}
#: keys with tests of their own below
OWN_TESTS = {'work_dir', 'custom_imports',
             'load_partial'}  # a PoseRunner argument: tests/test_engine/test_resume.py
#: keys that are errors whatever their value (REFUSED) or for their one non-default value
REFUSED_CASES = set(schema.REFUSED) | {'evaluation.by_epoch'}


def schema_keys() -> set:
    keys = set(schema.TOP_LEVEL) | set(schema.REFUSED)
    for section, entries in schema.SECTIONS.items():
        keys |= {f'{section}.{k}' for k in entries}
    return keys


def test_every_schema_key_is_walked():
    missing = schema_keys() - set(EFFECTS) - OWN_TESTS
    assert not missing, f'schema keys without a case in EFFECTS: {sorted(missing)}'
    assert not set(EFFECTS) - schema_keys(), sorted(set(EFFECTS) - schema_keys())


@pytest.mark.parametrize('key', sorted(set(EFFECTS) - REFUSED_CASES))
def test_key_changes_what_is_built(key):
    spec = EFFECTS[key]
    before = kwargs_for(*spec['base'], **spec['flags'])
    after = kwargs_for(*spec['base'], spec['option'], **spec['flags'])
    assert after != before, f'{spec["option"]} changed nothing'


@pytest.mark.parametrize('key', sorted(REFUSED_CASES))
def test_refused_key_is_an_error(key):
    from posecfg.engine.validate import ConfigValidationError, validate_config

    spec = EFFECTS[key]
    cfg = Config.fromfile(SEED, [*FIXED_RUNTIME, *spec['base'], spec['option']])
    with pytest.raises(SchemaError, match=key.replace('.', r'\.')):
        runner_kwargs(cfg, work_dir='/tmp/w', **spec['flags'])
    if key in schema.REFUSED:
        with pytest.raises(ConfigValidationError, match=r'--cfg-options.*not supported'):
            validate_config(cfg)


def test_every_lr_policy_builds_its_own_schedule():
    built = {}
    for policy, keys in schema.LR_POLICIES.items():
        extra = {'step': ',step:3', 'exp': ',gamma:0.9'}.get(policy, '')
        k = kwargs_for(f'lr_config={{_delete_:True,policy:{policy}{extra}}}')
        built[policy] = [s['type'] for s in k['param_scheduler']]
    assert built == {'step': ['StepLR'], 'fixed': [], 'cosine': ['CosineAnnealingLR'],
                     'CosineAnnealing': ['CosineAnnealingLR'], 'poly': ['PolyLR'],
                     'exp': ['ExponentialLR']}


@pytest.mark.parametrize('options, message', [
    (('lr_config={_delete_:True,policy:step,step:3,power:2.0}',),
     "lr_config.power: has no effect: policy 'step' does not read it"),
    (('lr_config={_delete_:True,policy:poly,warmup_iters:5}',),
     'lr_config.warmup_iters: has no effect: warmup is not set'),
    (('lr_config={_delete_:True,policy:CosineRestart,periods:[5]}',),
     "lr_config.policy='CosineRestart' is not one of"),
])
def test_lr_keys_the_policy_ignores_are_errors(options, message):
    with pytest.raises(SchemaError, match=message.replace('.', r'\.').replace('[', r'\[')):
        kwargs_for(*options)


def test_warmup_switched_off_keeps_the_bases_warmup_keys_inert():
    """``lr_config.warmup=None`` over a base with warmup_iters/ratio is MMPose's way to switch
    warm-up off (mmcv ignores the rest): accepted, and no warm-up is scheduled."""
    from posecfg.engine.validate import validate_config
    cfg = Config.fromfile(SEED, [*FIXED_RUNTIME, 'lr_config.warmup=None'])
    validate_config(cfg)
    with_warmup = kwargs_for()['param_scheduler']
    without = kwargs_for('lr_config.warmup=None')['param_scheduler']
    assert len(without) == len(with_warmup) - 1 and without == with_warmup[1:]


def test_typo_in_a_section_and_at_the_top_level(tmp_path):
    from posecfg.engine.validate import ConfigValidationError, validate_config

    path = tmp_path / 'typo.py'
    path.write_text(f"_base_ = ['{SEED}']\n"
                    "checkpoint_config = dict(intervall=5)\n"
                    "lr_confg = dict(policy='step', step=[3])\n"
                    "target_kind = 'GaussianHeatmap'\n")  # a file variable: accepted
    with pytest.raises(ConfigValidationError) as error:
        validate_config(Config.fromfile(str(path)))
    text = str(error.value)
    assert 'typo.py:2: checkpoint_config.intervall: not a key of checkpoint_config; ' \
           'did you mean interval?' in text
    assert 'typo.py:3: lr_confg: not a config key, and no key is computed from it; ' \
           'did you mean lr_config?' in text
    assert 'target_kind' not in text


def test_a_variable_that_looks_like_a_typo_is_accepted_when_used(tmp_path):
    from posecfg.engine.validate import validate_config

    path = tmp_path / 'variable.py'
    path.write_text(f"_base_ = ['{SEED}']\n"
                    "lr_configs = [170, 200]\n"
                    "lr_config = dict(step=lr_configs)\n")
    cfg = Config.fromfile(str(path))
    assert validate_config(cfg) is None
    assert runner_kwargs(cfg, work_dir='/w')['param_scheduler'][-1]['milestones'] == [170, 200]


def test_work_dir():
    cfg = Config.fromfile(SEED)
    assert resolve_work_dir(cfg) == os.path.join('work_dirs', 'res50_coco_256x192')
    assert resolve_work_dir(cfg.with_options(['work_dir=/runs/a'])) == '/runs/a'
    assert resolve_work_dir(cfg.with_options(['work_dir=/runs/a']), '/cli') == '/cli'


# -- custom_imports ----------------------------------------------------------------------------
PLUGIN = '''
from posecfg.registry import MODELS, TRANSFORMS
from posecfg.models.backbones.resnet import ResNet

CALLS = []


@TRANSFORMS.register_module(name='{transform}')
class PluginMark:
    """Marks each sample it sees."""

    def __call__(self, results):
        CALLS.append(results['image_file'])
        return results


@MODELS.register_module(name='{backbone}')
class PluginResNet(ResNet):
    """A ResNet registered under the plugin's name."""
'''


@pytest.fixture
def plugin(tmp_path):
    """A plugin module beside a config that imports it and uses its transform and backbone;
    the registries and sys.modules are cleaned afterwards."""
    from posecfg.registry import MODELS, TRANSFORMS

    tag = uuid.uuid4().hex[:8]
    names = dict(module=f'posecfg_plugin_{tag}', transform=f'PluginMark{tag}',
                 backbone=f'PluginResNet{tag}')
    (tmp_path / f'{names["module"]}.py').write_text(PLUGIN.format(**names))
    config = tmp_path / 'with_plugin.py'
    config.write_text(
        f"_base_ = ['{SEED}']\n"
        f"custom_imports = dict(imports=['{names['module']}'], allow_failed_imports=False)\n"
        f"model = dict(backbone=dict(_delete_=True, type='{names['backbone']}', depth=18,\n"
        "                            base_channels=8, stem_channels=8),\n"
        "             keypoint_head=dict(in_channels=64, num_deconv_filters=(8, 8, 8)))\n"
        f"train_pipeline = [dict(type='LoadImageFromFile'), dict(type='{names['transform']}')]"
        "\ndata = dict(train=dict(pipeline=train_pipeline))\n")
    yield dict(names, config=str(config))
    sys.modules.pop(names['module'], None)
    MODELS.module_dict.pop(names['backbone'], None)
    TRANSFORMS.module_dict.pop(names['transform'], None)
    if str(tmp_path) in sys.path:
        sys.path.remove(str(tmp_path))


def test_custom_imports_register_parts_the_config_uses(plugin, mmpose_tests):
    import posecfg.engine.registration  # noqa: F401
    from posecfg.engine import build_runner
    from posecfg.engine.custom_imports import import_custom_modules
    from posecfg.engine.validate import ConfigValidationError, validate_config
    from posecfg.registry import DATASETS

    root = mmpose_tests / 'coco'
    cfg = Config.fromfile(plugin['config'], [
        f'data.train.ann_file={root}/test_coco.json', f'data.train.img_prefix={root}/',
        'data.workers_per_gpu=0', *FIXED_RUNTIME])
    # without the import, the plugin's names are unknown
    with pytest.raises(ConfigValidationError, match=f"{plugin['backbone']}' is not registered"):
        validate_config(cfg)
    # build_runner imports the module (found beside the config) and builds its backbone
    runner = build_runner(cfg, work_dir='/tmp/unused', validate=False)
    module = sys.modules[plugin['module']]
    assert type(runner.model.backbone).__name__ == 'PluginResNet'
    assert runner.model.backbone.out_channels == (64,)
    # the dataset's pipeline runs the plugin's transform
    dataset = DATASETS.build(dict(cfg['data']['train']))
    sample = dataset[0]
    assert module.CALLS == [sample['image_file']]
    assert import_custom_modules(cfg) == [module]


def test_custom_imports_failures(tmp_path):
    from posecfg.engine.custom_imports import CustomImportError, import_custom_modules

    def load(spec):
        return Config.fromfile(SEED, [f'custom_imports={spec}'])

    with pytest.raises(CustomImportError, match="could not import 'no_such_posecfg_plugin'"):
        import_custom_modules(load('{imports:[no_such_posecfg_plugin]}'))
    with pytest.warns(UserWarning, match="could not import 'no_such_posecfg_plugin'"):
        assert import_custom_modules(load(
            '{imports:[no_such_posecfg_plugin,json],allow_failed_imports:True}')) == \
            [sys.modules['json']]
    with pytest.raises(CustomImportError, match=r'custom_imports must be dict\(imports='):
        import_custom_modules(load('{modules:[json]}'))
    # a module that raises while importing is reported with its error
    (tmp_path / 'posecfg_broken_plugin.py').write_text('raise RuntimeError("broken on purpose")')
    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.raises(CustomImportError, match='broken on purpose'):
            import_custom_modules(load('{imports:[posecfg_broken_plugin]}'))
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop('posecfg_broken_plugin', None)
