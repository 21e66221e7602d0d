"""data_cfg checking and the ann_info it yields."""
import numpy as np
import pytest

from posecfg.datasets import resolve_dataset_meta
from posecfg.datasets.data_cfg import (MPII_KEYS, build_ann_info, check_num_joints,
                                       parse_data_cfg)


def test_defaults_and_ann_info(make_data_cfg):
    cfg = parse_data_cfg(make_data_cfg(17), 'TopDownCocoDataset')
    assert cfg.aspect_ratio == pytest.approx(0.75)
    assert cfg['use_gt_bbox'] is True and cfg['oks_thr'] == 0.9 and cfg['bbox_file'] is None
    meta = resolve_dataset_meta(None, 'coco')
    info = build_ann_info(cfg, meta)
    assert info['image_size'].tolist() == [192, 256] and info['heatmap_size'].tolist() == [48, 64]
    assert info['joint_weights'].shape == (17, 1) and info['joint_weights'].dtype == np.float32
    assert info['flip_pairs'][0] == [1, 2] and info['flip_index'].shape == (17,)
    assert info['num_joints'] == 17 and info['use_different_joint_weights'] is False
    assert info['upper_body_ids'] == meta.upper_body_ids and len(info['skeleton']) == 19
    with pytest.raises(ValueError):  # shared by every sample, so never writable
        info['joint_weights'][0, 0] = 2.0


def test_unknown_key_suggests_the_right_one(make_data_cfg):
    with pytest.raises(ValueError, match=r"TopDownCocoDataset: data_cfg has unknown key "
                                         r"'use_gt_box' \(did you mean 'use_gt_bbox'\?\)"):
        parse_data_cfg(make_data_cfg(17, use_gt_box=True), 'TopDownCocoDataset')
    with pytest.raises(ValueError, match=r"MMPose's 'image_thr' is called 'det_bbox_thr' here"):
        parse_data_cfg(make_data_cfg(17, image_thr=0.1), 'TopDownCocoDataset')
    with pytest.raises(ValueError, match=r"TopDownMpiiDataset: data_cfg has unknown key "
                                         r"'soft_nms'.*reads data_cfg keys: image_size"):
        parse_data_cfg(make_data_cfg(16, soft_nms=False), 'TopDownMpiiDataset', MPII_KEYS)


def test_missing_and_malformed_keys(make_data_cfg):
    cfg = make_data_cfg(17)
    del cfg['heatmap_size']
    with pytest.raises(KeyError, match=r"TopDownCocoDataset: data_cfg is missing 'heatmap_size'"):
        parse_data_cfg(cfg, 'TopDownCocoDataset')
    with pytest.raises(ValueError, match=r'data_cfg.image_size must be \[width, height\] in '
                                         r'pixels, got 256'):
        parse_data_cfg(make_data_cfg(17, image_size=256), 'TopDownCocoDataset')


def test_num_joints_must_match_the_metadata(make_data_cfg):
    cfg = parse_data_cfg(make_data_cfg(17), 'TopDownCrowdPoseDataset')
    meta = resolve_dataset_meta(None, 'crowdpose')
    with pytest.raises(ValueError, match=r'TopDownCrowdPoseDataset: data_cfg.num_joints is 17 '
                                         r'but .*crowdpose\.py defines 14 keypoints'):
        check_num_joints(cfg, meta)


def test_mmpose_keys_with_their_only_implemented_value(make_data_cfg):
    """MMPose's MPII configs carry use_gt_bbox=True, bbox_file=None, CrowdPose's
    crowd_matching=False: those files load unchanged; another value is an error."""
    from posecfg.datasets import TopDownCrowdPoseDataset, TopDownMpiiDataset
    for cls, key, good, bad in ((TopDownMpiiDataset, 'use_gt_bbox', True, False),
                                (TopDownCrowdPoseDataset, 'crowd_matching', False, True)):
        accepted = cls.option_keys['data_cfg']
        parsed = parse_data_cfg(make_data_cfg(16, **{key: good}), cls.__name__, accepted,
                                cls.fixed_data_cfg)
        assert parsed[key] == good
        with pytest.raises(ValueError) as e:
            parse_data_cfg(make_data_cfg(16, **{key: bad}), cls.__name__, accepted,
                           cls.fixed_data_cfg)
        assert str(e.value) == (f'{cls.__name__}: data_cfg.{key}={bad!r} is not supported; '
                                f'{cls.__name__} only implements {key}={good!r}')
