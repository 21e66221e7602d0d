"""A BottomUp model with Lightning Pose's heatmap head trains on a labelled batch plus a batch of
unlabeled sequences of the real mirror-mouse video (``UnlabeledVideoDataset``, the
``data.unlabeled`` stream's batch) with the temporal and Pose PCA losses in one step.

Oracle of the temporal loss (lightning_pose 2.4.3 ``models/heatmap_tracker.py:264-286``,
``losses/losses.py:651-703``): keypoints decoded from the head's heatmaps, the sequence's warp
undone, mapped to original-video pixels (``x · W/w + (W/w - 1)/2``), then
``0.5 · mean relu(‖p_t+1 - p_t‖ - ε)`` over each sequence's frame pairs and keypoints.
"""
import numpy as np
import pytest
import torch
from mmengine.optim import OptimWrapper

from posecfg.datasets.unlabeled_video import UnlabeledVideoDataset, unlabeled_sequence_collate
from posecfg.geometry import affine_points, invert_affine
from posecfg.registry import MODELS
from tests.conftest import shared_path

COLUMNS = [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14]  # config_mirror-mouse-example.yaml


def test_one_step_on_labelled_and_unlabeled_batches(one_thread):
    videos = shared_path('lp-mirror-mouse', 'videos')
    csv = shared_path('lp-mirror-mouse', 'CollectedData.csv')
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='BottomUp',
        backbone=dict(type='ResNet', depth=18, stem_channels=8, base_channels=8,
                      out_indices=(3,)),
        heads=dict(bodypart=dict(
            type='LPHeatmapHead', in_channels=64, out_channels=17, downsample_factor=2,
            unsupervised_losses=dict(
                temporal=dict(type='LPTemporalLoss', log_weight=0.0, epsilon=0.05,
                              prob_threshold=0.0),
                pca_singleview=dict(type='LPPCASingleviewLoss', labels=str(csv),
                                    columns_for_singleview_pca=COLUMNS,
                                    components_to_keep=0.99))))))
    model.init_weights()
    # LP's head starts near uniform maps (xavier gain 0.01) whose peaks do not move between
    # frames; larger weights make the predictions follow the frames, as a trained head does
    for layer in model.heads['bodypart'].upsampling_layers[1:]:
        torch.nn.init.normal_(layer.weight, std=0.5)
    rng = np.random.default_rng(0)
    labelled = dict(
        img=torch.from_numpy(rng.random((2, 3, 64, 64), dtype=np.float32)),
        keypoints=[rng.uniform(4, 60, (1, 17, 2)).astype(np.float32) for _ in range(2)],
        keypoints_visible=[np.ones((1, 17), np.float32)] * 2,
        img_metas=[dict(image_file=f'{i}.png', image_id=i) for i in range(2)])
    ds = UnlabeledVideoDataset(str(videos), sequence_length=4, image_resize_dims=(64, 64),
                               imgaug='dlc')
    unlabeled = unlabeled_sequence_collate([ds[(3, 11)], ds[(40, 12)]])
    batch = dict(labelled, unlabeled=unlabeled)

    # the losses of the step, and the temporal loss against the written-out oracle
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode='loss')
    assert {'heatmap_mse_loss', 'unlabeled_temporal_loss',
            'unlabeled_pca_singleview_loss'} <= set(losses)
    assert all(torch.isfinite(v) for v in losses.values())
    head = model.heads['bodypart']
    with torch.no_grad():
        maps = head(model.extract_feat(data['unlabeled']['img']))
    codec = head.codec.sized((64, 64), maps.shape[:1:-1])
    points = codec.decode_torch(maps)[0].numpy().astype(np.float64).reshape(2, 4, 17, 2)
    want = []
    for u in range(2):
        meta = unlabeled['img_metas'][4 * u]
        frame = affine_points(points[u], invert_affine(meta['warp_mat']))
        frame = frame * (396 / 64, 406 / 64) + ((396 / 64 - 1) / 2, (406 / 64 - 1) / 2)
        moves = np.linalg.norm(np.diff(frame, axis=0), axis=-1)  # (3, 17)
        want.append(np.maximum(moves - 0.05, 0.0))
    assert np.mean(want) > 0
    assert float(losses['unlabeled_temporal_loss'].detach()) == pytest.approx(
        0.5 * np.mean(want), rel=1e-3)

    # the step: the unlabeled losses alone reach the backbone, and the weights move
    model.zero_grad()
    losses['unlabeled_temporal_loss'].backward()
    grads = [p.grad for p in model.backbone.parameters() if p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads)
    before = [p.detach().clone() for p in model.parameters()]
    log = model.train_step(batch, OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3)))
    assert torch.isfinite(log['loss'])
    assert any(not torch.equal(a, p) for a, p in zip(before, model.parameters()))

    # sequences collated as images (the default collate) are refused by name
    with pytest.raises(KeyError, match='unlabeled_sequence_collate'):
        head.loss_unlabeled(model.extract_feat(data['unlabeled']['img']),
                            dict(img=data['unlabeled']['img']))

    # the annealed weight (AnnealWeightHook) scales the unlabeled losses
    model.total_unsupervised_importance = 0.0
    losses = model(**model.data_preprocessor(batch, True), mode='loss')
    assert float(losses['unlabeled_temporal_loss'].detach()) == 0.0


class _Recorder:
    """Records each step's unlabeled losses and the annealed weight (a LOW-priority hook)."""

    def __init__(self):
        from mmengine.hooks import Hook

        steps = self.steps = []

        class Hooked(Hook):
            def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
                model = runner.model
                steps.append((runner.epoch, model.total_unsupervised_importance,
                              {k: float(v) for k, v in outputs.items()
                               if k.startswith('unlabeled_')}))
        self.hook = Hooked()


def test_a_py_config_trains_with_the_unlabeled_stream_and_annealing(tmp_path, tiny_run):
    """The parts from a plain config: data.unlabeled = UnlabeledVideoDataset (the tiny generated
    videos: 5 sequences of 4 frames) with unlabeled_sequence_collate, the LP head's temporal
    loss, AnnealWeightHook (0 in epoch 0, 0.5 in epoch 1)."""
    from posecfg.config import Config
    from posecfg.engine import build_runner
    settings, _, norm, _ = tiny_run
    project = shared_path('lp-mirror-mouse')
    videos = UnlabeledVideoDataset.example_args['video_dir']
    pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', height=64, width=64,
                                                     keep_ratio=False),
                dict(type='ToTensor'), norm,
                dict(type='Collect', keys=['img', 'keypoints', 'keypoints_visible'],
                     meta_keys=['image_file', 'image_id', 'warp_mat'])]
    cfg = settings(tmp_path / 'work', lr=1e-3)
    cfg.update(
        total_epochs=2,
        model=dict(type='BottomUp',
                   backbone=dict(type='ResNet', depth=18, stem_channels=8, base_channels=8,
                                 out_indices=(3,)),
                   heads=dict(bodypart=dict(
                       type='LPHeatmapHead', in_channels=64, out_channels=17,
                       unsupervised_losses=dict(temporal=dict(type='LPTemporalLoss',
                                                              epsilon=0.0))))),
        data=dict(samples_per_gpu=2, workers_per_gpu=0,
                  train=dict(type='LPProjectDataset', data_dir=str(project), train_frames=4,
                             data_mode='bottomup', pipeline=pipeline),
                  unlabeled=dict(type='UnlabeledVideoDataset', video_dir=videos,
                                 sequence_length=4, image_resize_dims=(64, 64), imgaug='dlc'),
                  unlabeled_dataloader=dict(samples_per_gpu=1, collate_fn=dict(
                      type='unlabeled_sequence_collate'))),
        custom_hooks=[dict(type='AnnealWeightHook', attr_name='total_unsupervised_importance',
                           init_val=0.0, increase_factor=0.5, final_val=1.0,
                           freeze_until_epoch=0)])
    runner = build_runner(Config.fromdict(cfg), validate=False)
    recorder = _Recorder()
    runner.register_hook(recorder.hook, 'LOW')
    runner.train()
    steps = recorder.steps
    assert len(steps) == 2 * 5  # an epoch: the longer (unlabeled) stream's 5 batches
    assert [w for _, w, _ in steps] == [0.0] * 5 + [0.5] * 5
    assert all(set(losses) == {'unlabeled_temporal_loss'} for _, _, losses in steps)
    assert all(losses['unlabeled_temporal_loss'] == 0.0 for e, _, losses in steps if e == 0)
    assert all(np.isfinite(losses['unlabeled_temporal_loss']) for _, _, losses in steps)
    assert any(losses['unlabeled_temporal_loss'] > 0 for e, _, losses in steps if e == 1)
