"""ToTensor, NormalizeTensor, Collect and pose_collate: shapes, dtypes, errors."""
import numpy as np
import pytest
import torch

from posecfg.registry import FUNCTIONS
from posecfg.transforms import Collect, NormalizeTensor, ToTensor, pose_collate

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def test_to_tensor_keeps_uint8_and_makes_chw():
    img = np.random.default_rng(0).integers(0, 255, (256, 192, 3), dtype=np.uint8)
    out = ToTensor()(dict(img=img))['img']
    assert out.dtype == torch.uint8 and out.shape == (3, 256, 192) and out.is_contiguous()
    np.testing.assert_array_equal(out.numpy(), img.transpose(2, 0, 1))
    grey = ToTensor()(dict(img=img[..., 0]))['img']
    assert grey.shape == (1, 256, 192)
    as_float = ToTensor()(dict(img=img.astype(np.float32)))['img']
    assert as_float.dtype == torch.float32 and float(as_float.max()) > 1  # still 0-255
    with pytest.raises(ValueError, match=r"ToTensor: results\['img'\] must be \(h, w\) or "
                                         r'\(h, w, C\), got shape \(2, 3, 4, 5\)'):
        ToTensor()(dict(img=np.zeros((2, 3, 4, 5))))


def test_normalize_tensor_only_records_the_config():
    img = torch.zeros((3, 4, 5), dtype=torch.uint8)
    out = NormalizeTensor(mean=MEAN, std=STD)(dict(img=img))
    assert out['img'] is img
    assert out['img_norm_cfg'] == dict(mean=MEAN, std=STD)


def test_normalize_tensor_errors():
    with pytest.raises(TypeError, match="mean must be a list of numbers.*got 'abc'"):
        NormalizeTensor(mean='abc', std=STD)
    with pytest.raises(ValueError, match='mean has 3 values but std has 2'):
        NormalizeTensor(mean=MEAN, std=STD[:2])
    with pytest.raises(ValueError, match='std .* has a zero'):
        NormalizeTensor(mean=MEAN, std=[1, 0, 1])
    with pytest.raises(ValueError, match='the image has 1 channels but mean/std have 3 values'):
        NormalizeTensor(mean=MEAN, std=STD)(dict(img=torch.zeros((1, 4, 4))))


def collected_record(**extra):
    return dict(img=torch.zeros((3, 8, 6), dtype=torch.uint8),
                target=np.zeros((17, 4, 3), np.float32),
                target_weight=np.ones((17, 1), np.float32),
                image_file='a.jpg', center=np.array([1, 2], np.float32),
                bbox_id=7, img_norm_cfg=dict(mean=MEAN, std=STD),
                ann_info=dict(flip_pairs=[[1, 2]], image_size=np.array([6, 8])), **extra)


def test_collect_keys_and_meta():
    out = Collect(keys=['img', 'target', 'target_weight'],
                  meta_keys=['image_file', 'center', 'flip_pairs', ('center', 'c')])(
        collected_record(gt=dict(keypoints=np.zeros((17, 2)))))
    assert set(out) == {'img', 'target', 'target_weight', 'img_metas', 'gt'}
    meta = out['img_metas']
    assert meta['flip_pairs'] == [[1, 2]]  # from ann_info, as MMPose's results.update(ann_info)
    assert meta['image_file'] == 'a.jpg' and meta['c'] is meta['center']
    assert meta['bbox_id'] == 7 and meta['img_norm_cfg'] == dict(mean=MEAN, std=STD)
    assert 'gt' not in Collect(keys=['img'], meta_keys=[])(collected_record())


def test_collect_missing_key_is_named():
    with pytest.raises(KeyError, match="Collect: meta key 'rotation' is neither in the sample "
                                       "record nor in its ann_info; the record has "):
        Collect(keys=['img'], meta_keys=['rotation'])(collected_record())
    with pytest.raises(TypeError, match="keys and meta_keys are lists of names"):
        Collect(keys='img')


def test_pose_collate_shapes_and_dtypes():
    collect = Collect(keys=['img', 'target', 'target_weight'], meta_keys=['image_file'])
    batch = [collect(collected_record(gt=dict(bbox_id=i))) for i in range(4)]
    batch[2].pop('gt')  # a sample without ground truth
    out = pose_collate(batch)
    assert out['img'].dtype == torch.uint8 and out['img'].shape == (4, 3, 8, 6)
    assert out['target'].dtype == torch.float32 and out['target'].shape == (4, 17, 4, 3)
    assert out['target_weight'].shape == (4, 17, 1)
    assert [m['bbox_id'] for m in out['img_metas']] == [7] * 4
    assert out['gt'] == [dict(bbox_id=0), dict(bbox_id=1), None, dict(bbox_id=3)]
    assert FUNCTIONS.get('pose_collate') is pose_collate


def test_pose_collate_errors():
    a = dict(img=torch.zeros((3, 8, 6), dtype=torch.uint8), img_metas={})
    b = dict(img=torch.zeros((3, 8, 7), dtype=torch.uint8), img_metas={})
    with pytest.raises(ValueError, match=r"'img' has different shapes across the batch "
                                         r'\[\(3, 8, 6\), \(3, 8, 7\)\]; .*pose_pad_collate'):
        pose_collate([a, b])
    with pytest.raises(KeyError, match=r"sample 1 has keys \['img'\] but sample 0 has "
                                       r"\['img', 'img_metas'\]"):
        pose_collate([a, dict(img=a['img'])])
    with pytest.raises(ValueError, match='empty batch'):
        pose_collate([])


def test_pose_collate_in_dataloader_workers():
    class Samples(torch.utils.data.Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return dict(img=torch.full((3, 4, 2), i, dtype=torch.uint8),
                        target=np.full((2, 3, 3), i, np.float32), img_metas=dict(i=i))

    loader = torch.utils.data.DataLoader(Samples(), batch_size=2, num_workers=1,
                                         collate_fn=pose_collate)
    batches = list(loader)
    assert [b['img'].shape for b in batches] == [(2, 3, 4, 2)] * 2
    assert batches[1]['img'].dtype == torch.uint8 and batches[1]['target'].dtype == torch.float32
    assert batches[1]['target'][:, 0, 0, 0].tolist() == [2.0, 3.0]
    assert [m['i'] for m in batches[1]['img_metas']] == [2, 3]


def whole_image_sample(n, height, width, seed):
    """A collected whole-image sample with n instances of 3 keypoints."""
    rng = np.random.default_rng(seed)
    return dict(img=torch.from_numpy(rng.integers(0, 255, (3, height, width), dtype=np.uint8)),
                keypoints=rng.random((n, 3, 2)).astype(np.float32),
                keypoints_visible=np.ones((n, 3), np.float32),
                bboxes=np.zeros((n, 4), np.float32), keypoint_weights=np.ones((n, 3), np.float32),
                heatmaps=np.zeros((3, 4, 4), np.float32), img_metas=dict(image_id=seed))


def test_pose_collate_keeps_instance_arrays_per_sample():
    batch = [whole_image_sample(n, 8, 6, seed) for seed, n in enumerate((2, 0, 2))]
    out = pose_collate(batch)
    assert out['img'].shape == (3, 3, 8, 6) and out['heatmaps'].shape == (3, 3, 4, 4)
    # instance arrays are lists even when the counts happen to agree, so their type never
    # depends on the batch
    for key in ('keypoints', 'keypoints_visible', 'bboxes', 'keypoint_weights'):
        assert isinstance(out[key], list) and [len(v) for v in out[key]] == [2, 0, 2]
    np.testing.assert_array_equal(out['keypoints'][2], batch[2]['keypoints'])
    with pytest.raises(ValueError, match="'heatmaps' has different shapes.*list_keys"):
        pose_collate([batch[0], dict(batch[1], heatmaps=np.zeros((3, 5, 4), np.float32))])
    out = pose_collate([batch[0], dict(batch[1], heatmaps=np.zeros((3, 5, 4), np.float32))],
                       list_keys=['heatmaps'])
    assert [h.shape for h in out['heatmaps']] == [(3, 4, 4), (3, 5, 4)]


def test_pose_pad_collate_pads_bottom_right_and_records_sizes():
    from posecfg.transforms import pose_pad_collate
    batch = [whole_image_sample(1, 8, 6, 0), whole_image_sample(2, 5, 9, 1)]
    out = pose_pad_collate(batch, size_divisor=4, pad_value=7)
    assert out['img'].shape == (2, 3, 8, 12) and out['img'].dtype == torch.uint8
    assert torch.equal(out['img'][1, :, :5, :9], batch[1]['img'])  # pixels do not move
    assert (out['img'][1, :, 5:] == 7).all() and (out['img'][0, :, :, 6:] == 7).all()
    assert [m['img_shape'] for m in out['img_metas']] == [(8, 6), (5, 9)]
    assert [m['pad_shape'] for m in out['img_metas']] == [(8, 12)] * 2
    assert [len(k) for k in out['keypoints']] == [1, 2]
    assert FUNCTIONS.get('pose_pad_collate') is pose_pad_collate
    # a time axis (T, C, h, w) is padded on its last two dimensions
    clips = [dict(img=torch.zeros(5, 3, 4, 4, dtype=torch.uint8), img_metas={}),
             dict(img=torch.zeros(5, 3, 6, 2, dtype=torch.uint8), img_metas={})]
    assert pose_pad_collate(clips)['img'].shape == (2, 5, 3, 6, 4)
    with pytest.raises(ValueError, match='size_divisor must be a positive int'):
        pose_pad_collate(batch, size_divisor=0)
