"""The seed schema → mmengine Runner arguments: each key has its effect."""
import math
import os

import pytest
import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope

from posecfg.config import Config
from posecfg.engine.runner_config import SchemaError, runner_kwargs

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED = os.path.join(REPO, 'configs/body/2d_kpt_sview_rgb_img/topdown_heatmap/coco/'
                          'res50_coco_256x192.py')


def kwargs_for(*options, **flags):
    """Runner arguments of the seed config with float32 and NCHW (the schema alone); the
    runtime section has tests of its own."""
    cfg = Config.fromfile(SEED, ['runtime.autocast=None', 'runtime.channels_last=False',
                                 *options])
    return runner_kwargs(cfg, work_dir='/tmp/w', **flags)


def test_seed_config_maps_every_key():
    k = kwargs_for()
    assert k['model']['type'] == 'TopDown' and k['log_level'] == 'INFO'
    assert k['optim_wrapper'] == dict(type='OptimWrapper',
                                      optimizer=dict(type='Adam', lr=5e-4, fused=True))
    assert k['param_scheduler'] == [
        dict(type='LinearLR', start_factor=0.001, end_factor=1.0, by_epoch=False, begin=0,
             end=501),
        dict(type='MultiStepLR', milestones=[170, 200], gamma=0.1, by_epoch=True, begin=0,
             end=210)]
    assert k['train_cfg'] == dict(type='WorkflowTrainLoop', max_epochs=210,
                                  workflow=[['train', 1]], val_interval=10, val_begin=1)
    ckpt = k['default_hooks']['checkpoint']
    assert (ckpt['interval'], ckpt['save_best'], ckpt['rule']) == (10, 'AP', 'greater')
    assert ckpt['backend_args'] == {'backend': 'atomic_local'}
    assert k['default_hooks']['logger']['interval'] == 50
    assert [b['type'] for b in k['visualizer']['vis_backends']] == ['LocalVisBackend',
                                                                    'TensorboardVisBackend']
    assert k['env_cfg']['dist_cfg'] == {'backend': 'gloo'}  # nccl without GPUs
    train, val = k['train_dataloader'], k['val_dataloader']
    assert (train['batch_size'], train['num_workers'], val['batch_size']) == (64, 2, 32)
    assert train['sampler'] == dict(type='SeededSampler', shuffle=True)
    assert val['sampler'] == dict(type='DefaultSampler', shuffle=False)
    assert val['dataset']['test_mode'] is True and 'test_mode' not in train['dataset']
    assert k['val_evaluator'] == [dict(
        type='CocoKeypointMetric', ann_file='data/coco/annotations/person_keypoints_val2017.json',
        use_area=True, keypoint_score_thr=0.2, nms_mode='oks_nms', nms_thr=0.9)]
    assert k['val_cfg'] == dict(type='PoseValLoop', fp16=False, fold_bn='auto', compile_eval='auto')
    assert 'load_from' not in k and 'test_dataloader' not in k


def test_runtime_switches():
    from posecfg.engine.runtime import native_bf16
    k = kwargs_for('runtime.autocast=bf16', 'runtime.channels_last=True', 'runtime.threads=1',
                   'runtime.compile={mode:max-autotune}')
    assert k['optim_wrapper']['type'] == 'AutocastOptimWrapper'
    assert k['val_cfg']['fp16'] is True
    assert k['model']['data_preprocessor'] == {'channels_last': True}
    rt = k['runtime']
    assert (rt.autocast, rt.channels_last, rt.threads) == (torch.bfloat16, True, 1)
    assert rt.compile == {'mode': 'max-autotune'}
    auto = kwargs_for('runtime.autocast=auto')['runtime'].autocast
    assert auto == (torch.bfloat16 if native_bf16() else None)
    assert kwargs_for('runtime.autocast=auto', cuda=True)['runtime'].autocast is None
    with pytest.raises(Exception, match="runtime.autocast must be 'auto', 'bf16' or None"):
        kwargs_for('runtime.autocast=fp8')


def test_cuda_keeps_nccl():
    assert kwargs_for(cuda=True)['env_cfg']['dist_cfg'] == {'backend': 'nccl'}


def test_no_validate_and_test_mode():
    k = kwargs_for(validate=False)
    assert 'val_dataloader' not in k and k['train_cfg']['val_interval'] > 10**8
    k = kwargs_for(test=True)
    assert 'train_dataloader' not in k
    assert k['test_cfg'] == dict(type='PoseTestLoop', fp16=False, fold_bn='auto',
                                 compile_eval='auto')
    assert k['test_dataloader']['batch_size'] == 32


def test_load_and_resume():
    assert kwargs_for('load_from=a.pth')['load_from'] == 'a.pth'
    assert kwargs_for('load_from=a.pth')['resume'] is False
    k = kwargs_for('load_from=a.pth', 'resume_from=b.pth')
    assert (k['load_from'], k['resume']) == ('b.pth', True)


def test_optimizer_options():
    k = kwargs_for('optimizer={_delete_:True,type:SGD,lr:0.1,momentum:0.9,'
                   'paramwise_cfg:{norm_decay_mult:0.0}}',
                   'optimizer_config.grad_clip={max_norm:35,norm_type:2}',
                   '+optimizer_config.cumulative_iters=4', '+fp16.loss_scale=512.0')
    assert k['optim_wrapper'] == dict(
        type='AutocastOptimWrapper', dtype='bfloat16',
        optimizer=dict(type='SGD', lr=0.1, momentum=0.9, fused=True),
        paramwise_cfg=dict(norm_decay_mult=0.0), clip_grad=dict(max_norm=35, norm_type=2),
        accumulative_counts=4)
    k = kwargs_for('+fp16.loss_scale=512.0', cuda=True)
    assert k['optim_wrapper']['type'] == 'AmpOptimWrapper'
    assert k['optim_wrapper']['loss_scale'] == 512.0


def test_workflow_val_phase_uses_the_train_pipeline():
    k = kwargs_for('workflow=[(train,1),(val,1)]')
    loop = k['train_cfg']
    assert loop['workflow'] == [['train', 1], ['val', 1]]
    val_loss = loop['val_loss_dataloader']
    assert val_loss['dataset']['test_mode'] is False
    assert val_loss['dataset']['ann_file'].endswith('person_keypoints_val2017.json')
    assert [s['type'] for s in val_loss['dataset']['pipeline']][-2] == 'TopDownGenerateTarget'


@pytest.mark.parametrize('workflow', ['[(val,1)]', '[(train,0)]', '[(test,1)]', 'train'])
def test_bad_workflow(workflow):
    with pytest.raises(SchemaError, match='workflow must be a list of'):
        kwargs_for(f'workflow={workflow}')


def test_a_test_run_builds_no_scalar_logger_backend():
    """A test run logs no scalars (its metrics go to the text log and mmengine's JSON file):
    TensorBoard is left out (importing it and writing an events file of the config was
    ~0.1-0.2 s of a DeepLabCut evaluation); training keeps it. Both use posecfg's
    visualizer, whose matplotlib figure is made on first use."""
    train, test = kwargs_for(), kwargs_for(test=True)
    assert [b['type'] for b in train['visualizer']['vis_backends']] == [
        'LocalVisBackend', 'TensorboardVisBackend']
    assert [b['type'] for b in test['visualizer']['vis_backends']] == ['LocalVisBackend']
    assert train['visualizer']['type'] == test['visualizer']['type'] == 'PoseVisualizer'
    # backends the config lists itself are the user's choice, in a test run too
    given = kwargs_for('vis_backends=[{type:TensorboardVisBackend}]', test=True)
    assert given['visualizer']['vis_backends'] == [dict(type='TensorboardVisBackend')]


def test_logging_and_checkpoints():
    k = kwargs_for('log_config.interval=7', 'log_config.hooks=[{type:TextLoggerHook}]',
                   'checkpoint_config={interval:2,max_keep_ckpts:3}',
                   'evaluation={save_best:EPE,interval:2,start:3}', 'log_level=DEBUG')
    assert k['default_hooks']['logger']['interval'] == 7
    assert [b['type'] for b in k['visualizer']['vis_backends']] == ['LocalVisBackend']
    ckpt = k['default_hooks']['checkpoint']
    assert (ckpt['interval'], ckpt['max_keep_ckpts'], ckpt['rule']) == (2, 3, 'less')
    assert (k['train_cfg']['val_interval'], k['train_cfg']['val_begin']) == (2, 3)
    assert k['log_level'] == 'DEBUG'
    with pytest.raises(SchemaError, match="log_config.hooks: 'PaviLoggerHook' is not one of"):
        kwargs_for('log_config.hooks=[{type:PaviLoggerHook}]')


def test_native_keys_win():
    k = kwargs_for('+default_hooks={checkpoint:{interval:3},timer:{type:IterTimerHook}}',
                   '+param_scheduler=[{type:ConstantLR,factor:1.0}]',
                   '+env_cfg={cudnn_benchmark:True}', '+train_cfg={max_epochs:5}')
    assert k['default_hooks']['checkpoint']['interval'] == 3
    assert k['default_hooks']['checkpoint']['save_best'] == 'AP'  # merged key by key
    assert k['param_scheduler'] == [dict(type='ConstantLR', factor=1.0)]  # replaced
    assert k['env_cfg']['cudnn_benchmark'] is True
    assert k['env_cfg']['dist_cfg'] == {'backend': 'gloo'}
    assert k['train_cfg']['max_epochs'] == 5 and k['train_cfg']['type'] == 'WorkflowTrainLoop'


def test_native_keys_of_a_phase_the_run_lacks_are_left_out():
    """A test run has no training loop and ``--no-validate`` no validation loop; the config's
    native keys for them (the Lightning Pose dialect's ``train_cfg`` holds its validation-loss
    loader) are left out, since mmengine refuses a loop without its dataloader."""
    native = ['+train_cfg={max_epochs:5}', '+train_dataloader={num_workers:1}',
              '+optim_wrapper={type:OptimWrapper,optimizer:{type:SGD,lr:0.1}}',
              '+param_scheduler=[{type:ConstantLR,factor:1.0}]', '+val_cfg={fp16:True}',
              '+val_dataloader={num_workers:1}', '+test_cfg={fp16:True}']
    test = kwargs_for(*native, test=True)
    assert not {'train_cfg', 'train_dataloader', 'optim_wrapper', 'param_scheduler', 'val_cfg',
                'val_dataloader'} & set(test)
    assert test['test_cfg']['fp16'] is True  # the phase that runs still takes its keys
    train = kwargs_for(*native, validate=False)
    assert not {'val_cfg', 'val_dataloader'} & set(train)
    assert train['train_cfg']['max_epochs'] == 5
    assert train['train_dataloader']['num_workers'] == 1
    assert train['optim_wrapper']['optimizer']['type'] == 'SGD'
    both = kwargs_for(*native)
    assert both['val_cfg']['fp16'] is True and both['val_dataloader']['num_workers'] == 1


def test_a_training_run_keeps_the_configs_test_keys():
    """Hooks such as ``LPPredictionsHook(dataset=None)`` build the config's test dataloader after
    training, so a training run passes the test keys on (with or without validation)."""
    native = ['+test_cfg={fp16:True}', '+test_dataloader={batch_size:2}',
              '+test_evaluator=[{type:EPE}]']
    for validate in (True, False):
        k = kwargs_for(*native, validate=validate)
        assert k['test_cfg'] == dict(fp16=True)
        assert k['test_dataloader'] == dict(batch_size=2)
        assert k['test_evaluator'] == [dict(type='EPE')]


def test_a_test_runner_builds_from_a_config_with_train_cfg(tmp_path):
    """What ``tools/test.py`` builds for a config with a native ``train_cfg`` (no workaround in
    the tool): mmengine accepts the arguments."""
    from mmengine.runner import Runner
    k = kwargs_for('+train_cfg={max_epochs:5}', 'model.pretrained=None', test=True)
    k.pop('runtime')
    k['work_dir'] = str(tmp_path)
    with DefaultScope.overwrite_default_scope('posecfg'):
        import posecfg.engine.registration  # noqa: F401
        runner = Runner(**k)
    assert runner.train_loop is None


def learning_rates(schedulers, epochs, iters_per_epoch, lr=1.0):
    """The lr of every iteration when the mapped schedulers drive an optimizer."""
    import posecfg.engine.registration  # noqa: F401
    from mmengine.registry import PARAM_SCHEDULERS
    param = torch.nn.Parameter(torch.zeros(1))
    wrapper = OptimWrapper(torch.optim.SGD([param], lr=lr))
    with DefaultScope.overwrite_default_scope('posecfg'):
        built = [PARAM_SCHEDULERS.build(dict(s, optimizer=wrapper)) for s in schedulers]
    seen = []
    for _ in range(epochs):
        for _ in range(iters_per_epoch):
            seen.append(wrapper.get_lr()['lr'][0])
            for s in built:
                if not s.by_epoch:
                    s.step()
        for s in built:
            if s.by_epoch:
                s.step()
    return seen


@pytest.mark.parametrize('warmup', ['linear', 'constant', 'exp'])
def test_warmup_follows_mmcv(warmup):
    k = kwargs_for(f'lr_config={{_delete_:True,policy:fixed,warmup:{warmup},warmup_iters:10,'
                   'warmup_ratio:0.01}')
    lrs = learning_rates(k['param_scheduler'], epochs=2, iters_per_epoch=10)
    for i, lr in enumerate(lrs[:10]):
        expected = {'linear': 1 - (1 - i / 10) * (1 - 0.01),  # mmcv's formulas
                    'constant': 0.01,
                    'exp': 0.01 ** (1 - i / 10)}[warmup]
        assert lr == pytest.approx(expected, rel=1e-6), (i, lrs[:10])
    assert all(lr == pytest.approx(1.0) for lr in lrs[10:])


def test_step_policy():
    k = kwargs_for('lr_config={_delete_:True,policy:step,step:[1,2],gamma:0.5}',
                   'total_epochs=3')
    lrs = learning_rates(k['param_scheduler'], epochs=3, iters_per_epoch=2)
    assert lrs == pytest.approx([1, 1, 0.5, 0.5, 0.25, 0.25])
    k = kwargs_for('lr_config={_delete_:True,policy:step,step:2}', 'total_epochs=4')
    assert learning_rates(k['param_scheduler'], 4, 1) == pytest.approx([1, 1, 0.1, 0.1])


def test_cosine_and_poly_reach_min_lr():
    k = kwargs_for('lr_config={_delete_:True,policy:CosineAnnealing,min_lr:0.1}',
                   'total_epochs=4')
    lrs = learning_rates(k['param_scheduler'], 4, 1)
    assert lrs[0] == pytest.approx(1.0)
    assert lrs[2] == pytest.approx(0.1 + 0.9 * (1 + math.cos(math.pi * 2 / 4)) / 2)
    k = kwargs_for('lr_config={_delete_:True,policy:poly,power:1.0,min_lr:0.0}',
                   'total_epochs=4')
    assert learning_rates(k['param_scheduler'], 4, 1) == pytest.approx([1, 0.75, 0.5, 0.25])


def test_unknown_policy_and_warmup():
    with pytest.raises(SchemaError, match="lr_config.policy='linear' is not one of step"):
        kwargs_for('lr_config.policy=linear')
    with pytest.raises(SchemaError, match="lr_config.warmup='cos' is not one of linear"):
        kwargs_for('lr_config.warmup=cos')
    with pytest.raises(SchemaError, match="lr_config.min_lr: has no effect: policy 'step' "
                                          "does not read it"):
        kwargs_for('+lr_config.min_lr=0.001')


def test_collate_fn_is_configurable_per_dataloader():
    k = kwargs_for()
    assert k['train_dataloader']['collate_fn'] == dict(type='posecfg.pose_collate')
    k = kwargs_for('+data.collate_fn={type:pose_pad_collate,size_divisor:32}',
                   '+data.test_dataloader={collate_fn:pose_collate}', test=True)
    assert k['test_dataloader']['collate_fn'] == dict(type='posecfg.pose_collate')
    k = kwargs_for('+data.collate_fn={type:pose_pad_collate,size_divisor:32}')
    assert k['train_dataloader']['collate_fn'] == dict(type='posecfg.pose_pad_collate',
                                                       size_divisor=32)
    with pytest.raises(SchemaError, match='collate_fn must name a registered collate function'):
        kwargs_for('+data.collate_fn=[1]')


def test_evaluation_metric_is_expanded_into_explicit_evaluators(tmp_path):
    from posecfg.engine.runner_config import expanded_config
    k = kwargs_for('evaluation.metric=[mAP,PCK]', 'data_cfg.use_gt_bbox=True',
                   '+evaluation.outfile_prefix=/tmp/res', test=True)
    assert [m['type'] for m in k['test_evaluator']] == ['CocoKeypointMetric', 'PCKAccuracy']
    assert k['test_evaluator'][0]['outfile_prefix'] == '/tmp/res'
    assert 'val_evaluator' not in k
    # an unsupported name fails while the config is read, before any data is loaded
    with pytest.raises(SchemaError, match=r"evaluation.metric='PCKh' for data.val: "
                                          r"TopDownCocoDataset: evaluation metric 'PCKh' is not "
                                          r"supported; supported: 'mAP'"):
        kwargs_for('evaluation.metric=PCKh')
    # explicit evaluators win, and apply only where their phase runs
    k = kwargs_for('+val_evaluator=[{type:EPE}]')
    assert k['val_evaluator'] == [dict(type='EPE')]
    assert 'val_evaluator' not in kwargs_for('+val_evaluator=[{type:EPE}]', validate=False)
    # the resolved config (work dir, print_config --engine) carries the expansion; loaded
    # again it gives the same runner arguments
    cfg = Config.fromfile(SEED, ['runtime.autocast=None', 'runtime.channels_last=False'])
    expanded = expanded_config(cfg)
    plain = kwargs_for()
    assert expanded['val_evaluator'] == expanded['test_evaluator'] == plain['val_evaluator']
    path = tmp_path / 'resolved.py'
    path.write_text(expanded.pretty_text)
    again = runner_kwargs(Config.fromfile(str(path)), work_dir='/tmp/w')
    assert again['val_evaluator'] == plain['val_evaluator']
    assert again['train_dataloader'] == plain['train_dataloader']


def test_unlabeled_stream_becomes_an_extra_training_dataloader():
    k = kwargs_for('+data.unlabeled={type:TopDownCocoDataset,ann_file:u.json,img_prefix:u,'
                   'data_cfg:{},pipeline:[]}', '+data.unlabeled_dataloader={samples_per_gpu:7}')
    extra = k['train_cfg']['extra_dataloaders']['unlabeled']
    assert extra['batch_size'] == 7 and extra['num_workers'] == 2  # data-level default
    assert extra['sampler'] == dict(type='SeededSampler', shuffle=True)  # exact resume
    assert extra['dataset']['ann_file'] == 'u.json' and 'test_mode' not in extra['dataset']
    assert 'extra_dataloaders' not in kwargs_for()['train_cfg']
