"""``MultiviewBottomUp`` against Lightning Pose 2.4.3's multi-view heatmap model
(``models/heatmap_tracker.py:107-131``): images (B, V, 3, H, W) →
``images.reshape(-1, C, H, W)`` → backbone → head → ``heatmaps.reshape(B, -1, h, w)``, i.e. one
shared backbone and head over every view, heatmaps view after view within a sample."""
import numpy as np
import pytest
import torch
from mmengine.optim import OptimWrapper

from posecfg.registry import MODELS

pytestmark = pytest.mark.usefixtures('one_thread')

B, V, K, SIZE = 2, 3, 4, 64


def tiny(kind='MultiviewBottomUp'):
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type=kind, backbone=dict(type='ResNet', depth=18, stem_channels=8, base_channels=8,
                                 out_indices=(3,)),
        heads=dict(bodypart=dict(type='LPHeatmapHead', in_channels=64, out_channels=K,
                                 downsample_factor=2))))
    model.init_weights()
    return model


def batch():
    rng = np.random.default_rng(0)
    img = torch.from_numpy(rng.random((B, V, 3, SIZE, SIZE), dtype=np.float32))
    keypoints = rng.uniform(4, SIZE - 4, (B, V, 1, K, 2)).astype(np.float32)
    visible = np.ones((B, V, 1, K), np.float32)
    visible[0, 1, 0, 2] = 0
    # view v of every sample was resized by 1 / (v + 1) from its original image
    metas = [dict(image_id=b, image_file=f'{b}.png', views=[
        dict(image_id=b, image_file=f'v{v}/{b}.png',
             warp_mat=np.array([[1 / (v + 1), 0, 0], [0, 1 / (v + 1), 0]]))
        for v in range(V)]) for b in range(B)]
    return dict(img=img, keypoints=list(keypoints), keypoints_visible=list(visible),
                img_metas=metas)


def test_views_share_backbone_and_head_in_lightning_poses_layout():
    model = tiny().eval()
    data = batch()
    img = data['img']
    with torch.no_grad():
        out = model(img, mode='tensor')
        # Lightning Pose's forward written out (heatmap_tracker.py:118-128)
        folded = model.heads['bodypart'](model.extract_feat(img.reshape(-1, 3, SIZE, SIZE)))
        want = folded.reshape(B, -1, folded.shape[-2], folded.shape[-1])
        assert out.shape == (B, V * K, SIZE // 4, SIZE // 4)
        torch.testing.assert_close(out, want)
        for b in range(B):
            for v in range(V):
                alone = model(img[b, v][None], mode='tensor')[0]
                torch.testing.assert_close(out[b, v * K:(v + 1) * K], alone, rtol=1e-4,
                                           atol=1e-7)


def test_loss_is_the_single_view_loss_of_every_view_image():
    model = tiny().train()
    data = batch()
    torch.manual_seed(1)
    losses = model(data['img'], mode='loss', **{k: v for k, v in data.items() if k != 'img'})
    # the same images as a single-view batch, sample-major (b0v0, b0v1, ..., b1v0, ...)
    single = dict(keypoints=[data['keypoints'][b][v] for b in range(B) for v in range(V)],
                  keypoints_visible=[data['keypoints_visible'][b][v]
                                     for b in range(B) for v in range(V)],
                  img_metas=[m for meta in data['img_metas'] for m in meta['views']])
    torch.manual_seed(1)
    want = model(data['img'].reshape(-1, 3, SIZE, SIZE), mode='loss', **single)
    assert set(losses) == {'heatmap_mse_loss', 'supervised_rmse'}
    for key in losses:
        torch.testing.assert_close(losses[key], want[key])
    # a view-major fold would pair images with other samples' targets: a different loss
    wrong = dict(single, keypoints=[data['keypoints'][b][v] for v in range(V) for b in range(B)])
    assert not torch.allclose(model(data['img'].reshape(-1, 3, SIZE, SIZE), mode='loss',
                                    **wrong)['heatmap_mse_loss'], losses['heatmap_mse_loss'])


def test_predictions_join_the_views_each_in_its_own_pixels():
    """View v was resized by 1/(v+1): its keypoints come back multiplied by v+1 (the inverse of
    its own warp), then the views are concatenated: (1, V·K, 2) per frame."""
    model = tiny().eval()
    data = batch()
    with torch.no_grad():
        preds = model(data['img'], mode='predict', img_metas=data['img_metas'])
        plain = model(data['img'].reshape(-1, 3, SIZE, SIZE), mode='predict',
                      img_metas=[dict(image_id=i) for i in range(B * V)])
    assert len(preds) == B
    for b, pred in enumerate(preds):
        assert pred['keypoints'].shape == (1, V * K, 2)
        assert pred['keypoint_scores'].shape == (1, V * K)
        assert pred['image_id'] == b and pred['view_image_files'] == [
            f'v{v}/{b}.png' for v in range(V)]
        for v in range(V):
            input_pixels = plain[b * V + v]['keypoints'][0]
            np.testing.assert_allclose(pred['keypoints'][0, v * K:(v + 1) * K],
                                       input_pixels * (v + 1), rtol=1e-5)
            np.testing.assert_allclose(pred['keypoint_scores'][0, v * K:(v + 1) * K],
                                       plain[b * V + v]['keypoint_scores'][0])


def test_trains_and_refuses_batches_without_views():
    model = tiny()
    data = batch()
    wrapper = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-2))
    losses = [model.train_step(data, wrapper)['loss'].item() for _ in range(6)]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    bad = dict(data, img_metas=[dict(image_id=b) for b in range(B)])
    with pytest.raises(KeyError, match="img_metas need 'views'"):
        model(data['img'], mode='loss', **{k: v for k, v in bad.items() if k != 'img'})
