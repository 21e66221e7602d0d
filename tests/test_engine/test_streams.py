"""A second data stream (``data.unlabeled``): the combined loader cycles the shorter stream, and a
tiny model trained by the runner receives a labelled and an unlabeled batch in every step."""
import numpy as np
import pytest
import torch
from mmengine.hooks import Hook

from posecfg.config import Config
from posecfg.datasets.synthetic import generate_dataset
from posecfg.engine import build_runner
from posecfg.engine.streams import CombinedLoader
from posecfg.models.heads import TopdownHeatmapSimpleHead
from posecfg.registry import MODELS


class Loader(list):
    """A list of batches with a sampler whose epoch can be set, like a DataLoader."""

    class Sampler:
        epoch = 0

        def set_epoch(self, epoch):
            self.epoch = epoch

    def __init__(self, batches):
        super().__init__(batches)
        self.sampler = self.Sampler()
        self.dataset = f'dataset of {len(batches)}'


def test_the_shorter_stream_cycles_and_epochs_follow_the_labelled_sampler():
    labelled = Loader([dict(i=i) for i in range(3)])
    unlabeled = Loader([dict(j=j) for j in range(5)])
    combined = CombinedLoader(labelled, dict(unlabeled=unlabeled))
    assert len(combined) == 5 and combined.dataset == 'dataset of 3'
    combined.sampler.set_epoch(7)  # what mmengine's DistSamplerSeedHook does
    batches = list(combined)
    assert [b['i'] for b in batches] == [0, 1, 2, 0, 1]
    assert [b['unlabeled']['j'] for b in batches] == [0, 1, 2, 3, 4]
    assert unlabeled.sampler.epoch == 7
    longer = CombinedLoader(Loader([dict(i=i) for i in range(4)]),
                            dict(unlabeled=Loader([dict(j=0), dict(j=1)])))
    assert [b['unlabeled']['j'] for b in longer] == [0, 1, 0, 1]
    with pytest.raises(ValueError, match='the unlabeled stream has no batches'):
        CombinedLoader(labelled, dict(unlabeled=Loader([])))
    with pytest.raises(KeyError, match="already has a key 'i'"):
        list(CombinedLoader(labelled, dict(i=unlabeled)))


@MODELS.register_module(force=True)
class HeadWithUnlabeledLoss(TopdownHeatmapSimpleHead):
    """A test head: the simple heatmap head plus a loss on unlabeled images (the mean squared
    heatmap, pushing responses down), recording what each call saw."""

    seen = []

    def loss_unlabeled(self, feats, batch):
        HeadWithUnlabeledLoss.seen.append((tuple(batch['img'].shape), batch['img'].dtype))
        return dict(heatmap_loss=self.forward(feats).pow(2).mean())


def tiny_config(data, work_dir, tiny_run):
    settings, backbone, norm, info = tiny_run
    data_cfg = dict(image_size=[64, 64], heatmap_size=[16, 16], num_output_channels=14,
                    num_joints=14, dataset_channel=[list(range(14))],
                    inference_channel=list(range(14)))
    train = dict(type='TopDownCocoDataset', ann_file=f'{data}/annotations/train.json',
                 img_prefix=f'{data}/images/train/', data_cfg=data_cfg, dataset_info=info,
                 pipeline=[dict(type='LoadImageFromFile'), dict(type='TopDownAffine'),
                           dict(type='ToTensor'), norm,
                           dict(type='TopDownGenerateTarget', sigma=2),
                           dict(type='Collect', keys=['img', 'target', 'target_weight'],
                                meta_keys=['image_file'])])
    # the val images as whole 64 x 64 frames whose labels are not used (what a frame stream
    # gives the model)
    unlabeled = dict(type='TopDownCocoDataset', ann_file=f'{data}/annotations/val.json',
                     img_prefix=f'{data}/images/val/', data_cfg=data_cfg, dataset_info=info,
                     data_mode='bottomup',
                     pipeline=[dict(type='LoadImageFromFile'), dict(type='ToTensor'), norm,
                               dict(type='Collect', keys=['img'], meta_keys=['image_file'])])
    return Config.fromdict(dict(
        model=dict(type='TopDown',
                   backbone=backbone,
                   keypoint_head=dict(type='HeadWithUnlabeledLoss', in_channels=32,
                                      out_channels=14, num_deconv_layers=1,
                                      num_deconv_filters=(16,), num_deconv_kernels=(4,),
                                      loss_keypoint=dict(type='JointsMSELoss',
                                                         use_target_weight=True)),
                   train_cfg=dict(), test_cfg=dict(flip_test=False)),
        data=dict(samples_per_gpu=4, workers_per_gpu=0, train=train, unlabeled=unlabeled,
                  unlabeled_dataloader=dict(samples_per_gpu=1)),
        **settings(work_dir, lr=1e-3)))


def test_a_tiny_model_learns_from_both_streams_in_every_step(tmp_path, tiny_run):
    data = tmp_path / 'data'
    generate_dataset(data, num_train=3, num_val=5, image_size=(64, 64), seed=2)
    cfg = tiny_config(data, tmp_path / 'work', tiny_run)
    runner = build_runner(cfg, validate=False)
    loader = runner.train_loop.dataloader
    labelled_batches = len(loader.main)
    assert isinstance(loader, CombinedLoader) and len(loader.extras['unlabeled']) == 5
    assert len(loader) == max(labelled_batches, 5) and runner.train_loop.max_iters == len(loader)
    HeadWithUnlabeledLoss.seen.clear()
    losses = []
    runner.register_hook(_LossRecorder(losses), 'LOW')
    runner.train()
    # every step: one unlabeled frame, normalized by the preprocessor, and a loss for it
    assert HeadWithUnlabeledLoss.seen == [((1, 3, 64, 64), torch.float32)] * len(loader)
    assert len(losses) == len(loader)
    assert all({'heatmap_loss', 'unlabeled_heatmap_loss'} <= set(step) for step in losses)
    assert all(np.isfinite(v) for step in losses for v in step.values())


def test_without_a_head_that_learns_from_unlabeled_data_the_stream_is_refused(tmp_path,
                                                                            tiny_run):
    data = tmp_path / 'data'
    generate_dataset(data, num_train=1, num_val=1, image_size=(64, 64), seed=2)
    cfg = tiny_config(data, tmp_path / 'work', tiny_run).to_dict()
    cfg['model']['keypoint_head']['type'] = 'TopdownHeatmapSimpleHead'
    runner = build_runner(Config.fromdict(cfg), validate=False)
    with pytest.raises(ValueError, match='no head of this TopDown learns from unlabeled data'):
        runner.train()


class _LossRecorder(Hook):
    """A hook recording the logged losses of every training iteration."""

    def __init__(self, out):
        self.out = out

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.out.append({k: float(v.detach()) for k, v in outputs.items()})
