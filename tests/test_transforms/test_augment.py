"""Random top-down augmentations and box steps: MMPose 0.x semantics, ranges, joint choice."""
import copy
import warnings

import numpy as np
import pytest

from posecfg.transforms import (LoadImageFromFile, TopDownGetBboxCenterScale,
                                TopDownGetRandomScaleRotation, TopDownHalfBodyTransform,
                                TopDownRandomFlip, TopDownRandomShiftBboxCenter)
from posecfg.transforms.augment import half_body_center_scale, split_half_body
from posecfg.transforms.lazy_image import LazyImage


def flip_record(coco_records):
    rec = TopDownGetBboxCenterScale()(LoadImageFromFile()(coco_records()[0]))
    rec['joints_3d_visible'][16] = 0  # one invisible joint (right ankle)
    return rec


def test_flip_mirrors_joints_swaps_pairs_and_keeps_inputs(coco_records):
    rec = flip_record(coco_records)
    given = (rec['joints_3d'], rec['joints_3d_visible'], rec['center'])  # the dataset's arrays
    joints, visible, center = (a.copy() for a in given)
    width = rec['img'].shape[1]
    out = TopDownRandomFlip(flip_prob=1.0)(rec)
    assert out['flip'] is True and out['flipped'] is True
    assert isinstance(out['img'], LazyImage) and out['img'].mirrored
    # left shoulder (5) now holds the mirrored right shoulder (6), and vice versa
    np.testing.assert_allclose(out['joints_3d'][5, :2], [width - 1 - joints[6, 0], joints[6, 1]])
    np.testing.assert_allclose(out['joints_3d'][6, :2], [width - 1 - joints[5, 0], joints[5, 1]])
    # nose (0) has no partner: mirrored in place
    np.testing.assert_allclose(out['joints_3d'][0, :2], [width - 1 - joints[0, 0], joints[0, 1]])
    # left ankle (15) took the invisible right ankle: zeros, invisible
    np.testing.assert_array_equal(out['joints_3d'][15], 0)
    assert out['joints_3d_visible'][15, 0] == 0 and out['joints_3d_visible'][16, 0] == 1
    np.testing.assert_allclose(out['center'], [width - 1 - center[0], center[1]])
    # the dataset's arrays were replaced, not modified in place
    for array, copied in zip(given, (joints, visible, center)):
        np.testing.assert_array_equal(array, copied)


def test_flip_probability_zero_and_twice(coco_records):
    rec = flip_record(coco_records)
    joints = rec['joints_3d'].copy()
    out = TopDownRandomFlip(flip_prob=0.0)(rec)
    assert out['flip'] is False and not getattr(out['img'], 'mirrored', False)
    twice = TopDownRandomFlip(1.0)(TopDownRandomFlip(1.0)(out))
    assert twice['flip'] is False and not twice['img'].mirrored
    visible = twice['joints_3d_visible'][:, 0] > 0
    np.testing.assert_allclose(twice['joints_3d'][visible], joints[visible])


def test_flip_rate_follows_flip_prob(coco_records):
    np.random.seed(0)
    step = TopDownRandomFlip(flip_prob=0.3)
    rec = flip_record(coco_records)
    flips = [step(dict(rec))['flip'] for _ in range(2000)]
    assert 0.25 < np.mean(flips) < 0.35


# COCO: 0-10 upper body, 11-16 lower body
def half_body_record(coco_ann_info, visible_ids):
    joints = np.zeros((17, 3), np.float32)
    joints[:, 0] = np.arange(17) * 10.0 + 5
    joints[:, 1] = np.arange(17) * 20.0 + 7
    visible = np.zeros((17, 3), np.float32)
    visible[visible_ids, :2] = 1
    return dict(joints_3d=joints, joints_3d_visible=visible, center=np.zeros(2, np.float32),
                scale=np.ones(2, np.float32), ann_info=coco_ann_info)


def test_split_half_body_uses_visible_upper_body_ids(coco_ann_info):
    rec = half_body_record(coco_ann_info, [0, 3, 9, 10, 11, 16])
    upper, lower = split_half_body(rec['joints_3d_visible'], 17, coco_ann_info['upper_body_ids'])
    np.testing.assert_array_equal(upper, [0, 3, 9, 10])
    np.testing.assert_array_equal(lower, [11, 16])


@pytest.mark.parametrize('randn,expected', [(0.0, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
                                            (1.0, [11, 12, 13, 14, 15, 16])])
def test_half_body_picks_upper_or_lower_body(coco_ann_info, monkeypatch, randn, expected):
    rec = half_body_record(coco_ann_info, list(range(17)))
    monkeypatch.setattr(np.random, 'randn', lambda: randn)  # MMPose: upper if randn() < 0.5
    out = TopDownHalfBodyTransform(num_joints_half_body=8, prob_half_body=1.0)(rec)
    chosen = rec['joints_3d'][expected, :2]
    np.testing.assert_allclose(out['center'], chosen.mean(axis=0), rtol=1e-6)
    w, h = chosen.max(axis=0) - chosen.min(axis=0)
    h = max(h, w / 0.75)  # these joints lie on a steep line: the height decides
    np.testing.assert_allclose(out['scale'], [h * 0.75 / 200 * 1.5, h / 200 * 1.5], rtol=1e-5)
    assert out['scale'].dtype == np.float32


def test_half_body_falls_back_to_lower_and_skips_small_samples(coco_ann_info, monkeypatch):
    monkeypatch.setattr(np.random, 'randn', lambda: 0.0)  # would pick the upper body
    step = TopDownHalfBodyTransform(num_joints_half_body=3, prob_half_body=1.0)
    # only 2 upper joints visible: the lower body (4 joints) is taken instead
    rec = step(half_body_record(coco_ann_info, [0, 1, 11, 12, 13, 14]))
    np.testing.assert_allclose(rec['center'], rec['joints_3d'][[11, 12, 13, 14], :2].mean(0))
    # no more than num_joints_half_body visible joints: unchanged
    rec = step(half_body_record(coco_ann_info, [0, 1, 11]))
    np.testing.assert_array_equal(rec['center'], [0, 0])
    # prob 0: unchanged
    rec = TopDownHalfBodyTransform(3, 0.0)(half_body_record(coco_ann_info, list(range(17))))
    np.testing.assert_array_equal(rec['scale'], [1, 1])


def test_half_body_center_scale_degenerate_is_none():
    assert half_body_center_scale(np.array([[3.0, 4.0], [3.0, 4.0]]), 0.75) is None


def test_scale_rotation_ranges():
    np.random.seed(1)
    step = TopDownGetRandomScaleRotation(rot_factor=40, scale_factor=0.5, rot_prob=0.6)
    outs = [step(dict(scale=np.array([1.0, 2.0], np.float32))) for _ in range(3000)]
    assert all(out['scale'].dtype == np.float32 for out in outs)
    both = np.array([out['scale'] for out in outs])
    np.testing.assert_allclose(both[:, 1], 2 * both[:, 0], rtol=1e-6)  # one factor for w and h
    scales, rotations = both[:, 0], np.array([out['rotation'] for out in outs])
    assert scales.min() == pytest.approx(0.5) and scales.max() == pytest.approx(1.5)  # clipped
    assert 0.3 < np.std(scales) < 0.45  # N(1, 0.5) clipped at ±1 sigma
    assert np.abs(rotations).max() == pytest.approx(80)  # clipped at 2 * rot_factor
    assert 0.55 < np.mean(rotations != 0) < 0.65  # rot_prob


def test_scale_rotation_needs_scale():
    with pytest.raises(KeyError, match="TopDownGetRandomScaleRotation: the sample record has "
                                       "no 'scale'"):
        TopDownGetRandomScaleRotation()({})


def test_get_bbox_center_scale(coco_ann_info):
    rec = TopDownGetBboxCenterScale(padding=1.25)(
        dict(bbox=np.array([10, 20, 30, 80], np.float32), ann_info=coco_ann_info))
    np.testing.assert_allclose(rec['center'], [25, 60])
    np.testing.assert_allclose(rec['scale'], [60 / 200 * 1.25, 80 / 200 * 1.25], rtol=1e-6)
    # MMPose 0.x: existing center/scale are kept, padding applied again, with a warning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        again = TopDownGetBboxCenterScale(padding=2.0)(copy.deepcopy(rec))
    assert 'already has "center" and "scale"' in str(caught[0].message)
    np.testing.assert_allclose(again['scale'], rec['scale'] * 2)
    with pytest.raises(KeyError, match="TopDownGetBboxCenterScale: the sample record has no "
                                       "'bbox'"):
        TopDownGetBboxCenterScale()(dict(ann_info=coco_ann_info))


def test_random_shift_bbox_center_range():
    np.random.seed(2)
    scale = np.array([1.0, 2.0], np.float32)
    step = TopDownRandomShiftBboxCenter(shift_factor=0.16, prob=1.0)
    shifts = np.array([step(dict(center=np.zeros(2, np.float32), scale=scale))['center']
                       for _ in range(2000)])
    limit = 0.16 * scale * 200  # up to ±16 % of the box (scale * 200 px) per axis
    assert np.all(np.abs(shifts) <= limit) and np.all(np.abs(shifts).max(axis=0) > 0.95 * limit)
    center = np.array([5.0, 6.0], np.float32)
    out = TopDownRandomShiftBboxCenter(prob=0.0)(dict(center=center, scale=scale))
    np.testing.assert_array_equal(out['center'], [5, 6])
