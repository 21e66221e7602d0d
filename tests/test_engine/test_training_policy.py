"""Lightning Pose 2.4.3's training policy as posecfg hooks, in tiny real training runs:
the backbone frozen then ramped (``UnfreezeBackboneHook``), early stopping on the validation
loss (``EarlyStoppingHook``), the best and periodic checkpoints (``ModelCheckpointHook``).

Facts (lightning-pose 2.4.3): ``callbacks.py:126-196`` the ramp (0 before the unfreeze epoch,
``0.1·h`` at it, then ``min(0.1·h₀·1.5**k, h)`` and hands over to the schedule once it equals
``h``, h the head group's current lr); ``models/heatmap_tracker.py:193-205`` groups
``[backbone (lr 0), head]``; ``callbacks.py:669-704`` EarlyStopping / ModelCheckpoint on
``val_supervised_loss``, mode min, best file ``{epoch}-{step}-best``, periodic
``every_n_epochs`` with ``save_top_k=-1``. Lightning 2.x: improvement means strictly below the
best, ``patience`` validations without one set a sticky stop flag honoured once ``min_epochs``
are done.
"""
import math
import os

import pytest
import torch
from mmengine.hooks import Hook

from posecfg.config import Config
from posecfg.datasets.synthetic import generate_dataset
from posecfg.engine import build_runner
from posecfg.engine.checkpoint import load_checkpoint_file
from posecfg.registry import HOOKS


def policy_config(data, work_dir, tiny_run, total_epochs, custom_hooks, lr=1e-3, **extra):
    settings, backbone, norm, info = tiny_run
    data_cfg = dict(image_size=[64, 64], heatmap_size=[8, 8], num_output_channels=14,
                    num_joints=14, dataset_channel=[list(range(14))],
                    inference_channel=list(range(14)), use_gt_bbox=True)
    pipeline = [dict(type='LoadImageFromFile'), dict(type='TopDownAffine'),
                dict(type='ToTensor'), norm, dict(type='TopDownGenerateTarget', sigma=1),
                dict(type='Collect', keys=['img', 'target', 'target_weight'],
                     meta_keys=['image_file', 'center', 'scale', 'rotation', 'bbox_score',
                                'flip_pairs'])]

    def dataset(split):
        return dict(type='TopDownCocoDataset', ann_file=f'{data}/annotations/{split}.json',
                    img_prefix=f'{data}/images/{split}/', data_cfg=data_cfg, dataset_info=info,
                    pipeline=pipeline)

    cfg = dict(settings(work_dir, lr=lr))
    cfg.update(
        model=dict(type='TopDown', backbone=backbone,
                   keypoint_head=dict(type='TopdownHeatmapSimpleHead', in_channels=32,
                                      out_channels=14, num_deconv_layers=0,
                                      extra=dict(final_conv_kernel=1),
                                      loss_keypoint=dict(type='JointsMSELoss',
                                                         use_target_weight=True)),
                   test_cfg=dict(flip_test=False)),
        data=dict(samples_per_gpu=3, workers_per_gpu=0, train=dataset('train'),
                  val=dataset('val'), test=dataset('val')),
        total_epochs=total_epochs,
        custom_hooks=custom_hooks, **dict(dict(checkpoint_config=dict(interval=1000),
                                              workflow=[('train', 1), ('val', 1)]), **extra))
    return Config.fromdict(cfg)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('policy') / 'data'
    generate_dataset(root, num_train=4, num_val=2, image_size=(64, 64), seed=5)
    return root


@HOOKS.register_module(force=True)
class RecordLrAndWeights(Hook):
    """Test probe: per training iteration the (backbone, head) lrs the step uses; per epoch a
    copy of the backbone's parameters and BatchNorm running means."""

    priority = 'LOWEST'
    example_args = {}
    records = {}

    def before_train(self, runner):
        RecordLrAndWeights.records = dict(lrs=[], params=[self.snapshot(runner)])

    @staticmethod
    def snapshot(runner):
        backbone = runner.model.backbone
        return (torch.cat([p.detach().flatten().clone() for p in backbone.parameters()]),
                torch.cat([b.detach().flatten().clone() for n, b in backbone.named_buffers()
                           if n.endswith('running_mean')]))

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        groups = runner.optim_wrapper.optimizer.param_groups
        names = [g.get('name') for g in groups]
        b, h = groups[names.index('backbone')], groups[1 - names.index('backbone')]
        self.records['lrs'].append((runner.epoch, b['lr'], h['lr']))

    def after_train_epoch(self, runner):
        self.records['params'].append(self.snapshot(runner))


def test_backbone_frozen_until_the_unfreezing_epoch_then_ramped_as_lightning_pose(
        data, tmp_path, tiny_run):
    cfg = policy_config(data, tmp_path / 'work', tiny_run, total_epochs=7,
                        lr_config=dict(policy='step', step=[3, 6], gamma=0.5),
                        custom_hooks=[dict(type='UnfreezeBackboneHook', unfreeze_epoch=1),
                                      dict(type='RecordLrAndWeights')])
    runner = build_runner(cfg, validate=False)
    runner.train()
    groups = runner.optim_wrapper.optimizer.param_groups
    # LP's two groups (its order is [backbone, head]; posecfg keeps the head's lr as group 0,
    # the one mmengine logs as train/lr)
    assert len(groups) == 2 and groups[1]['name'] == 'backbone'
    assert {id(p) for p in groups[1]['params']} == {id(p) for p in
                                                    runner.model.backbone.parameters()}
    assert {id(p) for p in groups[0]['params']} == {
        id(p) for p in runner.model.parameters()} - {id(p) for p in groups[1]['params']}
    logged = runner.message_hub.get_scalar('train/backbone_lr').data[0]
    assert logged[-1] == pytest.approx(2.5e-4) and logged[0] == 0.0
    # by hand: head lr h_e = 1e-3 · 0.5^(milestones ≤ e), milestones 3 and 6;
    # backbone: e=0: 0; e=1: lr0 = 0.1·1e-3; e=2: 1.5·lr0; e=3: 2.25·lr0 (h=5e-4);
    # e=4: 3.375·lr0; e=5: min(5.0625·lr0, 5e-4) = 5e-4 → the ramp is done; e=6: the
    # schedule alone halves both groups: 2.5e-4
    head = [1e-3, 1e-3, 1e-3, 5e-4, 5e-4, 5e-4, 2.5e-4]
    backbone = [0.0, 1e-4, 1.5e-4, 2.25e-4, 3.375e-4, 5e-4, 2.5e-4]
    per_epoch = {}
    for epoch, b, h in RecordLrAndWeights.records['lrs']:
        per_epoch.setdefault(epoch, set()).add((round(b, 12), round(h, 12)))
    assert sorted(per_epoch) == list(range(7))
    for e in range(7):
        assert per_epoch[e] == {(round(backbone[e], 12), round(head[e], 12))}, e

    params = RecordLrAndWeights.records['params']  # [before training, after epoch 0, ...]
    assert torch.equal(params[1][0], params[0][0])  # lr 0: the weights do not move
    assert not torch.equal(params[2][0], params[1][0])  # epoch 1 trains the backbone
    # LP keeps the frozen backbone in train mode: BatchNorm statistics move in epoch 0
    assert not torch.equal(params[1][1], params[0][1])


def test_unfreeze_hook_arguments_are_checked():
    with pytest.raises(ValueError, match='exactly one of unfreeze_epoch and unfreeze_step'):
        HOOKS.build(dict(type='UnfreezeBackboneHook'))
    with pytest.raises(ValueError, match='exactly one'):
        HOOKS.build(dict(type='UnfreezeBackboneHook', unfreeze_epoch=1, unfreeze_step=3))
    with pytest.raises(ValueError, match='>= 0'):
        HOOKS.build(dict(type='UnfreezeBackboneHook', unfreeze_epoch=-1))
    hook = HOOKS.build(dict(type='UnfreezeBackboneHook', unfreeze_step=10))
    # step mode: the same rule on optimizer steps
    assert hook.backbone_lr(9, 1.0, None) == (0.0, None, False)
    assert hook.backbone_lr(10, 1.0, None) == (0.1, 0.1, False)
    assert hook.backbone_lr(12, 1.0, 0.1) == (pytest.approx(0.225), 0.1, False)
    assert hook.backbone_lr(16, 1.0, 0.1)[0] == 1.0 and hook.backbone_lr(16, 1.0, 0.1)[2]


@HOOKS.register_module(force=True)
class FeedValLoss(Hook):
    """Test probe: replaces the logged validation loss by the values of ``sequence`` (one per
    validation), recording the real one first."""

    priority = 'HIGHEST'  # before the hooks that monitor it
    example_args = dict(sequence=[1.0])
    real = []

    def __init__(self, sequence):
        self.sequence = list(sequence)
        FeedValLoss.real = []

    def after_val_loss_epoch(self, runner, metrics):
        FeedValLoss.real.append(metrics['val/loss'])
        metrics['val/loss'] = self.sequence[runner.epoch - 1]


def test_early_stopping_and_checkpoints_follow_the_validation_loss(data, tmp_path, tiny_run):
    # best 4.0 after epoch 2, 4.5 waits (1), 3.9 after epoch 4 improves and resets the count,
    # 4.0 and 4.1 wait (1, 2), the tie 3.9 after epoch 7 is no improvement (Lightning: strictly
    # less; mmengine's own hook would count it as one) → 3 → stop after epoch 7
    losses = [5.0, 4.0, 4.5, 3.9, 4.0, 4.1, 3.9, 1.0, 1.0, 1.0, 1.0, 1.0]
    work = tmp_path / 'work'
    cfg = policy_config(data, work, tiny_run, total_epochs=12, custom_hooks=[
        dict(type='FeedValLoss', sequence=losses),
        dict(type='EarlyStoppingHook', monitor='val/loss', patience=3),
        dict(type='ModelCheckpointHook', monitor='val/loss',
             filename='epoch={epoch_index}-step={step}-best.ckpt'),
        dict(type='ModelCheckpointHook', monitor=None, every_n_epochs=3, save_top_k=-1,
             filename='epoch={epoch_index}-step={step}.ckpt')])
    runner = build_runner(cfg, validate=False)
    steps = len(runner.train_dataloader)
    runner.train()
    assert runner.epoch == 7
    assert len(FeedValLoss.real) == 7 and all(math.isfinite(v) and v > 0
                                              for v in FeedValLoss.real)
    ckpts = sorted(n for n in os.listdir(work) if n.endswith('.ckpt'))
    # LP's names: 0-based epoch index, optimizer steps done
    assert ckpts == sorted([f'epoch=3-step={4 * steps}-best.ckpt',
                            f'epoch=2-step={3 * steps}.ckpt', f'epoch=5-step={6 * steps}.ckpt'])
    best = load_checkpoint_file(work / f'epoch=3-step={4 * steps}-best.ckpt')
    assert best['meta']['epoch'] == 4 and best['meta']['iter'] == 4 * steps
    assert not [n for n in os.listdir(work) if n.endswith('.tmp')]


def test_early_stopping_waits_for_min_epochs(data, tmp_path, tiny_run):
    # rising loss: the stop flag is set after epoch 2 (patience 1), training goes on to 4
    cfg = policy_config(data, tmp_path / 'work', tiny_run, total_epochs=10, custom_hooks=[
        dict(type='FeedValLoss', sequence=[float(i) for i in range(1, 11)]),
        dict(type='EarlyStoppingHook', monitor='val/loss', patience=1, min_epochs=4)])
    # LP's other optimizer: training.optimizer=AdamW, optimizer_params.learning_rate → lr,
    # torch's defaults otherwise (models/base.py:465-468): the schema's optimizer key covers it
    cfg = Config.fromdict(dict(cfg.to_dict(), optimizer=dict(type='AdamW', lr=1e-3)))
    runner = build_runner(cfg, validate=False)
    runner.train()
    assert runner.epoch == 4
    optimizer = runner.optim_wrapper.optimizer
    assert type(optimizer) is torch.optim.AdamW and optimizer.param_groups[0]['weight_decay'] \
        == 0.01


def test_a_monitor_the_run_never_computes_is_refused(data, tmp_path, tiny_run):
    cfg = policy_config(data, tmp_path / 'work', tiny_run, total_epochs=1, custom_hooks=[
        dict(type='EarlyStoppingHook', monitor='val/loss', patience=1)])
    cfg = Config.fromdict(dict(cfg.to_dict(), workflow=[('train', 1)]))
    runner = build_runner(cfg, validate=False)
    with pytest.raises(ValueError, match=r"no \('val', n\) phase"):
        runner.train()
    cfg = policy_config(data, tmp_path / 'work2', tiny_run, total_epochs=1, custom_hooks=[
        dict(type='ModelCheckpointHook', monitor='val/nonexistent')])
    with pytest.raises(KeyError, match="'val/nonexistent' is not among the validation values"):
        build_runner(cfg, validate=False).train()


def test_a_resumed_run_continues_the_ramp_and_the_patience_count(data, tmp_path, tiny_run):
    hooks = [dict(type='UnfreezeBackboneHook', unfreeze_epoch=1),
             dict(type='RecordLrAndWeights'),
             dict(type='FeedValLoss', sequence=[3.0, 2.0, 2.5, 2.6, 2.7, 2.8]),
             dict(type='EarlyStoppingHook', monitor='val/loss', patience=2)]
    whole = policy_config(data, tmp_path / 'whole', tiny_run, total_epochs=6,
                          custom_hooks=hooks)
    runner = build_runner(whole, validate=False)
    runner.train()
    assert runner.epoch == 4  # best after 2; 2.5, 2.6 wait → stop after epoch 4
    uninterrupted = RecordLrAndWeights.records['lrs']

    first = policy_config(data, tmp_path / 'part', tiny_run, total_epochs=6, custom_hooks=hooks,
                          checkpoint_config=dict(interval=1))
    runner = build_runner(Config.fromdict(dict(first.to_dict(), total_epochs=3)),
                          validate=False)
    runner.train()
    resumed = build_runner(Config.fromdict(dict(
        first.to_dict(), resume_from=str(tmp_path / 'part' / 'epoch_3.pth'))), validate=False)
    resumed.train()
    # epoch_3.pth is written at the end of train epoch 3, before that epoch's val-loss phase
    # (as mmcv's workflow did), so the resumed run never sees 2.5: it comes back with best 2.0
    # and count 0 (after epoch 2), then 2.6, 2.7 wait → stop after epoch 5. A lost count
    # (best None) would train to the end (6).
    assert resumed.epoch == 5
    # epoch index 3: the ramp continued from the remembered lr0 (0.1 · 1e-3 · 1.5²)
    assert [r for r in RecordLrAndWeights.records['lrs'] if r[0] == 3] == \
        [r for r in uninterrupted if r[0] == 3]
    groups = resumed.optim_wrapper.optimizer.param_groups
    assert [g.get('name') for g in groups] == [None, 'backbone']


@HOOKS.register_module(force=True)
class FeedMetric(Hook):
    """Test probe: replaces the evaluator's ``EPE`` by the values of ``sequence``."""

    priority = 'HIGHEST'
    example_args = dict(sequence=[1.0])

    def __init__(self, sequence):
        self.sequence = list(sequence)

    def after_val_epoch(self, runner, metrics=None):
        assert math.isfinite(metrics['EPE'])
        metrics['EPE'] = self.sequence[runner.epoch - 1]


def test_a_metric_of_the_evaluator_can_be_monitored(data, tmp_path, tiny_run):
    work = tmp_path / 'work'
    # best 1.0 after epoch 4, then 1.5, 1.6 wait → stop after epoch 6 of 8
    cfg = policy_config(data, work, tiny_run, total_epochs=8, custom_hooks=[
        dict(type='FeedMetric', sequence=[3.0, 2.0, 2.0, 1.0, 1.5, 1.6, 0.5, 0.5]),
        dict(type='EarlyStoppingHook', monitor='EPE', patience=2),
        dict(type='ModelCheckpointHook', monitor='EPE', filename='best_{epoch}.pth')],
        evaluation=dict(interval=1, metric='EPE'), workflow=[('train', 1)])
    runner = build_runner(cfg)
    runner.train()
    assert runner.epoch == 6
    assert sorted(n for n in os.listdir(work) if n.startswith('best_')) == ['best_4.pth']


def test_monitor_hook_arguments():
    # rule inferred as evaluation.save_best does: losses and errors are better smaller
    assert HOOKS.build(dict(type='EarlyStoppingHook', monitor='val/loss')).rule == 'less'
    assert HOOKS.build(dict(type='EarlyStoppingHook', monitor='EPE')).rule == 'less'
    assert HOOKS.build(dict(type='ModelCheckpointHook', monitor='AP')).rule == 'greater'
    with pytest.raises(ValueError, match='strict=False'):
        HOOKS.build(dict(type='EarlyStoppingHook', strict=False))
    with pytest.raises(ValueError, match='patience must be an integer >= 1'):
        HOOKS.build(dict(type='EarlyStoppingHook', patience=0))
    with pytest.raises(ValueError, match='keeps the one best checkpoint'):
        HOOKS.build(dict(type='ModelCheckpointHook', monitor='val/loss', save_top_k=-1))
    with pytest.raises(ValueError, match="filename 'e{epochs}.pth'"):
        HOOKS.build(dict(type='ModelCheckpointHook', filename='e{epochs}.pth'))
    hook = HOOKS.build(dict(type='ModelCheckpointHook', monitor=None, every_n_epochs=2,
                            save_top_k=-1, filename='epoch={epoch_index}-step={step}.ckpt'))
    assert hook.name_for(epoch=4, step=40, value=None) == 'epoch=3-step=40.ckpt'


@HOOKS.register_module(force=True)
class RecordGroupLrs(Hook):
    """Test probe: per training iteration, the set of lrs of the backbone's groups and of the
    others."""

    priority = 'LOWEST'
    example_args = {}
    records = []

    def before_train(self, runner):
        RecordGroupLrs.records = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        inside = {id(p) for p in runner.model.backbone.parameters()}
        groups = runner.optim_wrapper.optimizer.param_groups
        backbone = {g['lr'] for g in groups if id(g['params'][0]) in inside}
        others = {g['lr'] for g in groups if id(g['params'][0]) not in inside}
        self.records.append((runner.epoch, len(groups), backbone, others))


def test_per_parameter_groups_ramp_towards_their_share_of_the_head_lr(data, tmp_path,
                                                                      tiny_run):
    # paramwise_cfg gives one group per parameter (mmengine); the backbone's groups, at half
    # the lr (lr_mult 0.5), are used as they are and ramp towards 0.5 · head lr
    cfg = policy_config(data, tmp_path / 'work', tiny_run, total_epochs=2, custom_hooks=[
        dict(type='UnfreezeBackboneHook', unfreeze_epoch=1), dict(type='RecordGroupLrs')],
        optimizer=dict(type='Adam', lr=1e-3,
                       paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.5)})))
    runner = build_runner(cfg, validate=False)
    runner.train()
    count = len(list(runner.model.parameters()))
    for epoch, groups, backbone, others in RecordGroupLrs.records:
        assert groups == count  # nothing split
        assert others == {1e-3}
        assert len(backbone) == 1
        assert backbone.pop() == (0.0 if epoch == 0 else pytest.approx(0.1 * 0.5 * 1e-3))
