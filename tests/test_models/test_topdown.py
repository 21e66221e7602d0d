"""TopDown: the three forward modes, flip test, mmengine train/val steps, option keys,
pretrained loading. A ResNet-18 cut after stage 2 (stride 8) on 64×48 crops keeps it fast."""
import math

import numpy as np
import pytest
import torch
from mmengine.optim import OptimWrapper

from posecfg.codecs import keypoints_from_heatmaps
from posecfg.models.data_preprocessor import PoseDataPreprocessor
from posecfg.models.heads import HEATMAP_TEST_CFG_KEYS
from posecfg.models.pose_estimators import TopDown
from posecfg.registry import MODELS, accepts_key

K = 3
FLIP_PAIRS = [[1, 2]]
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
BACKBONE = dict(type='ResNet', depth=18, out_indices=(1,))


def model_cfg(**kwargs):
    cfg = dict(type='TopDown', backbone=BACKBONE,
               keypoint_head=dict(type='TopdownHeatmapSimpleHead', in_channels=128,
                                  out_channels=K, num_deconv_layers=1, num_deconv_filters=(16,),
                                  num_deconv_kernels=(4,),
                                  loss_keypoint=dict(type='JointsMSELoss',
                                                     use_target_weight=True)),
               train_cfg=dict(),
               test_cfg=dict(flip_test=True, post_process='default', shift_heatmap=True,
                             modulate_kernel=11))
    cfg.update(kwargs)
    return cfg


def build(**kwargs):
    torch.manual_seed(0)
    model = MODELS.build(model_cfg(**kwargs))
    model.init_weights()
    return model


def metas(n):
    return [dict(image_file=f'img{i}.jpg', image_id=10 + i, bbox_id=i, bbox_score=0.5 + 0.1 * i,
                 center=np.array([30. + i, 40.], np.float32),
                 scale=np.array([0.3, 0.4], np.float32), rotation=0, flip_pairs=FLIP_PAIRS,
                 img_norm_cfg=dict(mean=MEAN, std=STD)) for i in range(n)]


def raw_batch(n=2, seed=0):
    """A collated batch as the dataloader gives it: uint8 images, heatmap targets, metas."""
    gen = torch.Generator().manual_seed(seed)
    target = torch.zeros(n, K, 16, 12)
    target[:, :, 8, 6] = 1.
    return dict(img=torch.randint(0, 256, (n, 3, 64, 48), dtype=torch.uint8, generator=gen),
                target=target, target_weight=torch.ones(n, K, 1), img_metas=metas(n),
                gt=[dict(keypoints=np.zeros((K, 2), np.float32)) for _ in range(n)])


def test_loss_mode_returns_finite_loss_and_accuracy_with_gradients():
    model = build()
    data = model.data_preprocessor(raw_batch(), True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'heatmap_loss', 'acc_pose'}
    assert all(torch.isfinite(v) for v in losses.values())
    assert 0 <= losses['acc_pose'].item() <= 1 and not losses['acc_pose'].requires_grad
    losses['heatmap_loss'].backward()
    first_backbone_param = next(model.backbone.parameters())  # the stem: gradients reach it
    for param in (first_backbone_param, model.keypoint_head.final_layer.weight):
        assert param.grad is not None and param.grad.abs().sum() > 0


def test_train_step_updates_the_weights():
    model = build()
    before = model.keypoint_head.final_layer.weight.detach().clone()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    log_vars = model.train_step(raw_batch(), wrapper)
    assert {'loss', 'heatmap_loss', 'acc_pose'} <= set(log_vars)
    assert math.isfinite(log_vars['loss'].item())
    assert not torch.equal(before, model.keypoint_head.final_layer.weight)


def test_tensor_mode_returns_heatmaps():
    model = build().eval()
    data = model.data_preprocessor(raw_batch(), False)
    assert model(**data, mode='tensor').shape == (2, K, 16, 12)


def test_predict_returns_one_documented_dict_per_instance():
    model = build().eval()
    results = model.val_step(raw_batch(n=2))
    assert len(results) == 2
    for i, result in enumerate(results):
        assert set(result) == {'keypoints', 'keypoint_scores', 'bbox_scores', 'preds', 'boxes',
                               'image_file', 'image_id', 'bbox_id'}
        assert result['keypoints'].shape == (1, K, 2) and result['keypoints'].dtype == np.float32
        assert result['keypoint_scores'].shape == (1, K)
        np.testing.assert_array_equal(result['preds'][:, :2], result['keypoints'][0])
        np.testing.assert_array_equal(result['preds'][:, 2], result['keypoint_scores'][0])
        assert result['bbox_scores'].tolist() == [np.float32(0.5 + 0.1 * i)]
        assert result['preds'].shape == (K, 3) and result['preds'].dtype == np.float32
        assert result['boxes'].shape == (6,) and result['boxes'].dtype == np.float32
        np.testing.assert_allclose(result['boxes'],
                                   [30 + i, 40, 0.3, 0.4, 60 * 80, 0.5 + 0.1 * i], rtol=1e-5)
        assert (result['image_file'], result['image_id'], result['bbox_id']) == (
            f'img{i}.jpg', 10 + i, i)


def reference_flip_back(heatmaps, flip_pairs, shift):
    out = heatmaps[..., ::-1].copy()
    for left, right in flip_pairs:
        out[:, [left, right]] = out[:, [right, left]]
    if shift:
        out[..., 1:] = out[..., :-1].copy()
    return out


def test_flip_test_averages_original_and_flipped_back_heatmaps():
    shift = True  # the unshifted case differs only inside the head (see test_heads.py)
    model = build(test_cfg=dict(flip_test=True, shift_heatmap=shift)).eval()
    data = model.data_preprocessor(raw_batch(), False)
    with torch.no_grad():
        plain = model(data['img'], mode='tensor').numpy()
        mirrored = model(data['img'].flip(3), mode='tensor').numpy()
    expected = (plain + reference_flip_back(mirrored, FLIP_PAIRS, shift)) / 2
    got = model.predict_heatmaps(data['img'], data['img_metas'])
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-7)


def test_predict_decodes_with_the_test_cfg_settings():
    model = build(test_cfg=dict(flip_test=False, post_process='unbiased', modulate_kernel=5)).eval()
    data = model.data_preprocessor(raw_batch(), False)
    results = model(**data, mode='predict')
    with torch.no_grad():
        heatmaps = model(data['img'], mode='tensor').numpy()
    centers = np.stack([m['center'] for m in data['img_metas']])
    scales = np.stack([m['scale'] for m in data['img_metas']])
    coords, maxvals = keypoints_from_heatmaps(heatmaps, centers, scales, post_process='unbiased',
                                              kernel=5)
    np.testing.assert_allclose(np.stack([r['preds'] for r in results]),
                               np.concatenate([coords, maxvals], axis=-1), rtol=1e-5)


def test_option_keys_are_declared_and_accepted():
    for key in HEATMAP_TEST_CFG_KEYS:
        assert accepts_key('TopDown', ('test_cfg', key))
    assert not accepts_key('TopDown', ('test_cfg', 'flip_tset'))
    assert not accepts_key('TopDown', ('train_cfg', 'anything'))
    model = build(test_cfg=dict(flip_test=False, post_process='default', shift_heatmap=False,
                                modulate_kernel=11, use_udp=True, target_type='GaussianHeatmap',
                                valid_radius_factor=0.05, unbiased_decoding=True))
    assert model.keypoint_head.test_settings.post_process == 'unbiased'
    assert model.use_udp and model.flip_test is False


@pytest.mark.parametrize('kwargs,error,message', [
    (dict(test_cfg=dict(flip_tset=True)), KeyError, "did you mean 'flip_test'"),
    (dict(train_cfg=dict(loss_weights=[1.])), KeyError, "train_cfg has keys \\['loss_weights'\\]"),
])
def test_config_errors_name_the_key(kwargs, error, message):
    with pytest.raises(error, match=message):
        MODELS.build(model_cfg(**kwargs))


def test_runtime_errors_name_the_missing_input():
    model = build().eval()
    data = model.data_preprocessor(raw_batch(), False)
    with pytest.raises(ValueError, match="mode must be one of tensor, loss, predict, got 'train'"):
        model(**data, mode='train')
    with pytest.raises(ValueError, match="needs 'target' in the batch"):
        model(data['img'], img_metas=data['img_metas'], mode='loss')
    for meta in data['img_metas']:
        del meta['flip_pairs']
    with pytest.raises(KeyError, match="img_metas\\[0\\]\\['flip_pairs'\\]"):
        model(**data, mode='predict')
    with pytest.raises(ValueError, match='one img_metas dict per image'):
        model(data['img'], mode='predict')
    model = build(test_cfg=dict(flip_test=False)).eval()
    with pytest.raises(KeyError, match="no 'scale'.*Collect"):
        model(data['img'], img_metas=[dict(center=np.zeros(2))] * 2, mode='predict')


def test_without_head_tensor_mode_gives_backbone_features():
    model = TopDown(backbone=BACKBONE)
    out = model(torch.rand(1, 3, 64, 48), mode='tensor')
    assert isinstance(out, tuple) and out[0].shape == (1, 128, 8, 6)
    with pytest.raises(ValueError, match="mode='predict' needs a keypoint_head"):
        model(torch.rand(1, 3, 64, 48), img_metas=metas(1), mode='predict')


def test_data_preprocessor_default_and_config():
    assert isinstance(build().data_preprocessor, PoseDataPreprocessor)
    model = build(data_preprocessor=dict(type='PoseDataPreprocessor', channels_last=True))
    assert model.data_preprocessor.channels_last
    # options without a type configure the default preprocessor (a --cfg-options override)
    assert accepts_key('TopDown', ('data_preprocessor', 'channels_last'))
    model = build(data_preprocessor=dict(channels_last=True))
    assert isinstance(model.data_preprocessor, PoseDataPreprocessor)
    assert model.data_preprocessor.channels_last


def test_deprecated_loss_pose_becomes_the_head_loss():
    cfg = model_cfg(loss_pose=dict(type='JointsMSELoss', loss_weight=3.))
    del cfg['keypoint_head']['loss_keypoint']
    with pytest.warns(DeprecationWarning, match='loss_pose'):
        model = MODELS.build(cfg)
    assert model.keypoint_head.loss_module.loss_weight == 3.


def test_pretrained_is_loaded_into_the_backbone_by_init_weights(tmp_path):
    torch.manual_seed(1)
    source = MODELS.build(BACKBONE)
    path = tmp_path / 'resnet18.pth'
    torch.save(source.state_dict(), path)
    model = build(pretrained=str(path))  # build() calls init_weights()
    for name, value in source.state_dict().items():
        torch.testing.assert_close(model.backbone.state_dict()[name], value, msg=name)


def test_a_udp_codec_maps_back_through_udps_crop():
    """UDP's crop (pixel 0 and w - 1 at the box edges) is inverted when the head decodes with
    UDP's codec, as test_cfg.use_udp=True does in MMPose 0.x configs."""
    from posecfg.geometry import crop_to_image
    head = dict(model_cfg()['keypoint_head'], codec=dict(type='UDPHeatmap'))
    udp = build(keypoint_head=head, test_cfg=dict(flip_test=False)).eval()
    assert udp.use_udp and not build(test_cfg=dict(flip_test=False)).use_udp
    data = udp.data_preprocessor(raw_batch(), False)
    (result, _) = udp(**data, mode='predict')
    with torch.no_grad():
        heatmaps = udp(data['img'], mode='tensor')
    in_crop, _ = udp.keypoint_head.codec.sized((48, 64)).decode(heatmaps)
    meta = data['img_metas'][0]
    expected = crop_to_image(in_crop[0], meta['center'], meta['scale'], (48, 64), use_udp=True)
    np.testing.assert_allclose(result['keypoints'], expected, rtol=1e-5)
