"""PoseDataPreprocessor: batch normalization equals MMPose's per-sample float normalization;
everything else passes through."""
import numpy as np
import pytest
import torch

from posecfg.models.data_preprocessor import PoseDataPreprocessor
from posecfg.registry import MODELS

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def batch(n=3, img=None, norm=True, **extra):
    gen = torch.Generator().manual_seed(0)
    if img is None:
        img = torch.randint(0, 256, (n, 3, 8, 6), dtype=torch.uint8, generator=gen)
    metas = [dict(image_file=f'{i}.jpg', **({'img_norm_cfg': dict(mean=MEAN, std=STD)}
                                            if norm else {})) for i in range(n)]
    return dict(img=img, target=torch.rand(n, 2, 4, 3, dtype=torch.float64),
                target_weight=torch.ones(n, 2, 1, dtype=torch.float64), img_metas=metas, **extra)


def per_sample_reference(img_uint8, mean, std):
    """MMPose 0.x: ToTensor (uint8 HWC → float CHW / 255) then NormalizeTensor, per sample."""
    out = []
    for sample in img_uint8:
        x = sample.float() / 255.
        out.append((x - torch.tensor(mean)[:, None, None]) / torch.tensor(std)[:, None, None])
    return torch.stack(out)


def test_uint8_batch_equals_per_sample_float_normalization():
    data = batch()
    out = PoseDataPreprocessor()(data)
    assert out['img'].dtype == torch.float32
    torch.testing.assert_close(out['img'], per_sample_reference(data['img'], MEAN, STD),
                               rtol=0, atol=2e-6)


def test_per_sample_statistics_when_samples_differ():
    data = batch(n=2)
    data['img_metas'][1]['img_norm_cfg'] = dict(mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])
    out = PoseDataPreprocessor()(data)['img']
    torch.testing.assert_close(out[:1], per_sample_reference(data['img'][:1], MEAN, STD),
                               rtol=0, atol=2e-6)
    torch.testing.assert_close(out[1:], per_sample_reference(data['img'][1:], [.5] * 3, [.5] * 3),
                               rtol=0, atol=2e-6)


def test_float_images_are_not_rescaled_only_normalized():
    img = torch.rand(2, 3, 4, 4)
    out = PoseDataPreprocessor()(batch(n=2, img=img))['img']
    expected = (img - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[:, None, None]
    torch.testing.assert_close(out, expected, rtol=0, atol=2e-6)
    # without img_norm_cfg a float image is passed on as it is
    torch.testing.assert_close(PoseDataPreprocessor()(batch(n=2, img=img, norm=False))['img'], img)


def test_uint8_without_norm_cfg_is_scaled_to_unit_range():
    data = batch(norm=False)
    out = PoseDataPreprocessor()(data)['img']
    torch.testing.assert_close(out, data['img'].float() / 255, rtol=0, atol=1e-7)


def test_other_keys_are_kept():
    gt = [dict(keypoints=np.zeros((2, 2)))]
    data = batch(gt=gt)
    out = PoseDataPreprocessor()(data)
    assert out['img_metas'] is data['img_metas'] and out['gt'] is gt
    assert out['target'].dtype == torch.float32 and out['target_weight'].dtype == torch.float32
    torch.testing.assert_close(out['target'], data['target'].float())


def test_list_of_images_is_stacked():
    data = batch(n=2)
    data['img'] = list(data['img'])
    assert PoseDataPreprocessor()(data)['img'].shape == (2, 3, 8, 6)


def test_channels_last_and_registry_build():
    pre = MODELS.build(dict(type='PoseDataPreprocessor', channels_last=True))
    assert isinstance(pre, PoseDataPreprocessor)
    img = pre(batch())['img']
    assert img.is_contiguous(memory_format=torch.channels_last)
    assert not PoseDataPreprocessor()(batch())['img'].is_contiguous(
        memory_format=torch.channels_last)


def test_errors_name_the_key():
    with pytest.raises(KeyError, match="with an 'img' key"):
        PoseDataPreprocessor()(dict(target=torch.zeros(1)))
    data = batch(n=2)
    del data['img_metas'][1]['img_norm_cfg']
    with pytest.raises(ValueError, match='"img_norm_cfg"\\] is set for 1 of 2 images'):
        PoseDataPreprocessor()(data)
    data = batch(n=1)
    data['img_metas'][0]['img_norm_cfg'] = dict(mean=[0.5], std=[0.5])
    with pytest.raises(ValueError, match='img_norm_cfg.mean has 1 values but the images have 3'):
        PoseDataPreprocessor()(data)
    data['img_metas'][0]['img_norm_cfg'] = dict(mean=MEAN, std=[0.2, 0., 0.2])
    with pytest.raises(ValueError, match='img_norm_cfg.std must be positive'):
        PoseDataPreprocessor()(data)


def test_time_axis_and_unlabeled_batches_are_normalized_like_single_frames():
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    metas = [dict(img_norm_cfg=dict(mean=mean, std=std))] * 2
    clips = torch.randint(0, 256, (2, 5, 3, 4, 6), dtype=torch.uint8)
    pre = PoseDataPreprocessor()
    out = pre(dict(img=clips, img_metas=metas,
                   unlabeled=dict(img=clips[:, 0], img_metas=metas)))
    assert out['img'].shape == (2, 5, 3, 4, 6) and out['img'].dtype == torch.float32
    m = torch.tensor(mean)[:, None, None]
    s = torch.tensor(std)[:, None, None]
    expected = (clips.float() / 255 - m) / s  # the formula, frame by frame
    torch.testing.assert_close(out['img'], expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out['unlabeled']['img'], expected[:, 0], rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match=r'img must be \(N, C, h, w\) or \(N, T, C, h, w\)'):
        pre(dict(img=torch.zeros(3, 4, 6)))
