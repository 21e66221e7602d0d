"""The seed's top-down train pipeline (minus target generation) on the MMPose COCO test images,
against a step-by-step MMPose 0.x reference drawing the same random numbers, built from MMPose's
formulas written out in conftest.py (never from posecfg's geometry)."""
import cv2
import numpy as np
import pytest
import torch

from posecfg.transforms import Compose, pose_collate

META_KEYS = ['image_file', 'joints_3d', 'joints_3d_visible', 'center', 'scale', 'rotation',
             'bbox_score', 'flip_pairs']


def train_pipeline(reduced_decode=True):
    return Compose([
        dict(type='LoadImageFromFile', reduced_decode=reduced_decode),
        dict(type='TopDownGetBboxCenterScale', padding=1.25),
        dict(type='TopDownRandomShiftBboxCenter', shift_factor=0.16, prob=0.3),
        dict(type='TopDownRandomFlip', flip_prob=0.5),
        dict(type='TopDownHalfBodyTransform', num_joints_half_body=8, prob_half_body=0.3),
        dict(type='TopDownGetRandomScaleRotation', rot_factor=40, scale_factor=0.5),
        dict(type='TopDownAffine'),
        dict(type='ToTensor'),
        dict(type='NormalizeTensor', mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
        dict(type='Collect', keys=['img'], meta_keys=META_KEYS),
    ])


def mmpose_reference(rec, mm):
    """MMPose 0.x's steps written out (``mm``: its formulas, tests/test_transforms/conftest.py):
    decode, box to centre/scale, shift, flip the array, half body, scale/rotate, warp; the same
    np.random calls in the same order."""
    ann = rec['ann_info']
    img = cv2.cvtColor(cv2.imread(rec['image_file']), cv2.COLOR_BGR2RGB)
    joints, visible = rec['joints_3d'].copy(), rec['joints_3d_visible'].copy()
    center, scale = mm.bbox_xywh2cs(rec['bbox'], 192 / 256, padding=1.25)
    if np.random.rand() < 0.3:  # TopDownRandomShiftBboxCenter
        center = center + np.random.uniform(-1, 1, 2) * 0.16 * scale * 200.0
    if np.random.rand() <= 0.5:  # TopDownRandomFlip
        img = img[:, ::-1, :]
        joints, visible = mm.fliplr_joints(joints, visible, img.shape[1], ann['flip_pairs'])
        center = np.array([img.shape[1] - center[0] - 1, center[1]])
    if np.sum(visible[:, 0]) > 8 and np.random.rand() < 0.3:  # TopDownHalfBodyTransform
        half_center, half_scale = mm.half_body_transform(ann, joints, visible)
        if half_center is not None:
            center, scale = half_center, half_scale
    sf, rf = 0.5, 40  # TopDownGetRandomScaleRotation
    scale = scale * np.clip(np.random.randn() * sf + 1, 1 - sf, 1 + sf)
    r_factor = np.clip(np.random.randn() * rf, -rf * 2, rf * 2)
    rotation = r_factor if np.random.rand() <= 0.6 else 0
    return mm.warp(img, joints, visible, center, scale, rotation, (192, 256))


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_pipeline_equals_mmpose_step_by_step(coco_records, mmpose0, seed):
    pipeline = train_pipeline(reduced_decode=False)
    np.random.seed(seed)
    ours = [pipeline(rec) for rec in coco_records()]
    np.random.seed(seed)
    refs = [mmpose_reference(rec, mmpose0) for rec in coco_records()]
    for out, (crop, joints) in zip(ours, refs):
        diff = np.abs(out['img'].permute(1, 2, 0).numpy().astype(np.int16) - crop)
        assert diff.mean() < 0.05 and diff.max() <= 16  # 1/32-pixel rounding on edges only
        np.testing.assert_allclose(out['img_metas']['joints_3d'], joints, atol=1e-3)


def test_pipeline_batch(coco_records):
    np.random.seed(0)
    pipeline = train_pipeline()
    batch = pose_collate([pipeline(rec) for rec in coco_records()])
    assert batch['img'].shape == (14, 3, 256, 192) and batch['img'].dtype == torch.uint8
    assert len(batch['img_metas']) == 14
    meta = batch['img_metas'][0]
    assert set(meta) == set(META_KEYS) | {'bbox_id', 'img_norm_cfg'}
    assert meta['joints_3d'].shape == (17, 3) and meta['joints_3d'].dtype == np.float32
    assert meta['flip_pairs'][0] == [1, 2]


def test_pipeline_is_deterministic_under_a_seed(coco_records):
    pipeline = train_pipeline()
    np.random.seed(5)
    first = [pipeline(rec)['img'] for rec in coco_records()[:4]]
    np.random.seed(5)
    second = [pipeline(rec)['img'] for rec in coco_records()[:4]]
    assert all(torch.equal(a, b) for a, b in zip(first, second))
