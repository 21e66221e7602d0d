"""The seed's top-down train pipeline (minus target generation) on the MMPose COCO test images,
against a step-by-step MMPose 0.x reference drawing the same random numbers."""
import cv2
import numpy as np
import pytest
import torch

from posecfg.geometry import affine_points, bbox_xywh2cs, fliplr_joints, get_affine_transform
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


def mmpose_reference(rec):
    """MMPose 0.x's steps written out: decode, shift, flip the array, half body, scale/rotate,
    warp; the same np.random calls in the same order."""
    ann = rec['ann_info']
    img = cv2.cvtColor(cv2.imread(rec['image_file']), cv2.COLOR_BGR2RGB)
    joints, visible = rec['joints_3d'].copy(), rec['joints_3d_visible'].copy()
    center, scale = bbox_xywh2cs(rec['bbox'], 192 / 256, padding=1.25)
    if np.random.rand() < 0.3:  # TopDownRandomShiftBboxCenter
        center = center + np.random.uniform(-1, 1, 2) * 0.16 * scale * 200
    if np.random.rand() <= 0.5:  # TopDownRandomFlip
        img = img[:, ::-1]
        joints, visible = fliplr_joints(joints, visible, img.shape[1], ann['flip_pairs'])
        center = np.array([img.shape[1] - 1 - center[0], center[1]])
    if visible[:, 0].sum() > 8 and np.random.rand() < 0.3:  # TopDownHalfBodyTransform
        upper = [joints[k] for k in range(17) if visible[k, 0] > 0 and k in ann['upper_body_ids']]
        lower = [joints[k] for k in range(17)
                 if visible[k, 0] > 0 and k not in ann['upper_body_ids']]
        chosen = upper if (np.random.randn() < 0.5 and len(upper) > 2) else (
            lower if len(lower) > 2 else upper)
        if len(chosen) >= 2:
            chosen = np.array(chosen, np.float32)
            center = chosen.mean(axis=0)[:2]
            w, h = chosen.max(axis=0)[:2] - chosen.min(axis=0)[:2]
            w, h = (w, w / 0.75) if w > 0.75 * h else (h * 0.75, h)
            scale = np.array([w, h], np.float32) / 200 * 1.5
    s = np.clip(np.random.randn() * 0.5 + 1, 0.5, 1.5)  # TopDownGetRandomScaleRotation
    r = np.clip(np.random.randn() * 40, -80, 80)
    r = r if np.random.rand() <= 0.6 else 0
    trans = get_affine_transform(center, scale * s, r, (192, 256))
    crop = cv2.warpAffine(np.ascontiguousarray(img), trans, (192, 256), flags=cv2.INTER_LINEAR)
    moved = joints.copy()
    mask = visible[:, 0] > 0
    moved[mask, :2] = affine_points(joints[mask, :2], trans)
    return crop, moved


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_pipeline_equals_mmpose_step_by_step(coco_records, seed):
    pipeline = train_pipeline(reduced_decode=False)
    np.random.seed(seed)
    ours = [pipeline(rec) for rec in coco_records()]
    np.random.seed(seed)
    refs = [mmpose_reference(rec) for rec in coco_records()]
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
