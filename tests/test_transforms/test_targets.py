"""TopDownGenerateTarget: reads the top-down sample record, writes target / target_weight."""
import numpy as np
import pytest

from posecfg.codecs import megvii_heatmap_target, msra_heatmap_target, udp_heatmap_target
from posecfg.transforms.targets import TopDownGenerateTarget


def record(num_joints=3, use_weights=False):
    joints = np.zeros((num_joints, 3), dtype=np.float32)
    joints[:, :2] = [[40, 40], [100, 150], [300, 10]][:num_joints]
    visible = np.ones((num_joints, 3), dtype=np.float32)
    visible[:, 2] = 0
    return dict(joints_3d=joints, joints_3d_visible=visible, ann_info=dict(
        image_size=np.array([192, 256]), heatmap_size=np.array([48, 64]),
        num_joints=num_joints, joint_weights=np.array([[1.0], [2.0], [3.0]][:num_joints],
                                                       dtype=np.float32),
        use_different_joint_weights=use_weights))


def test_msra_default_writes_target_and_weight():
    results = TopDownGenerateTarget(sigma=2)(record())
    target, weight = results['target'], results['target_weight']
    assert target.shape == (3, 64, 48) and target.dtype == np.float32
    assert weight.shape == (3, 1) and weight.dtype == np.float32
    assert weight[:, 0].tolist() == [1, 1, 0]  # x = 300 px is cell 75 > 48 + 6: out
    # (100, 150) px = (25, 37.5) cells: rounded as int(37.5 + 0.5) = 38
    assert target[0, 10, 10] == 1.0 and target[1, 38, 25] == 1.0
    expected, _ = msra_heatmap_target(record()['joints_3d'], None, (192, 256), (48, 64), 2)
    assert np.array_equal(target, expected)


def test_joint_weights_apply_only_when_asked():
    assert TopDownGenerateTarget()(record(use_weights=True))['target_weight'][:, 0].tolist() == \
        [1, 2, 0]
    assert TopDownGenerateTarget()(record())['target_weight'][:, 0].tolist() == [1, 1, 0]


@pytest.mark.parametrize('kwargs, encode', [
    (dict(encoding='MSRA', unbiased_encoding=True, sigma=3),
     lambda j: msra_heatmap_target(j, None, (192, 256), (48, 64), 3, unbiased=True)),
    (dict(encoding='Megvii', kernel=(7, 7)),
     lambda j: megvii_heatmap_target(j, None, (192, 256), (48, 64), (7, 7))),
    (dict(encoding='UDP', sigma=2),
     lambda j: udp_heatmap_target(j, None, (192, 256), (48, 64), 2)),
    (dict(encoding='UDP', target_type='CombinedTarget', valid_radius_factor=0.05),
     lambda j: udp_heatmap_target(j, None, (192, 256), (48, 64), target_type='CombinedTarget',
                                  valid_radius_factor=0.05)),
])
def test_each_encoding_matches_its_codec_function(kwargs, encode):
    results = TopDownGenerateTarget(**kwargs)(record())
    target, weight = encode(record()['joints_3d'])
    assert np.array_equal(results['target'], target)
    assert np.array_equal(results['target_weight'], weight)


def test_lists_of_settings_give_stacked_targets():
    results = TopDownGenerateTarget(sigma=[2, 3])(record())
    assert results['target'].shape == (2, 3, 64, 48)
    assert results['target_weight'].shape == (2, 3, 1)
    assert results['target'][1, 0, 10, 16] > results['target'][0, 0, 10, 16]  # wider sigma
    results = TopDownGenerateTarget(encoding='Megvii', kernel=[(11, 11), (7, 7)])(record())
    assert results['target'].shape == (2, 3, 64, 48)
    results = TopDownGenerateTarget(encoding='UDP', target_type='CombinedTarget',
                                    valid_radius_factor=[0.05, 0.1])(record())
    assert results['target'].shape == (2, 9, 64, 48)


def test_registered_in_transforms():
    from posecfg.registry import TRANSFORMS
    step = TRANSFORMS.build(dict(type='TopDownGenerateTarget', sigma=2))
    assert isinstance(step, TopDownGenerateTarget)
    assert 'sigma=2' in repr(step)


def test_errors_name_the_key_at_fault():
    with pytest.raises(ValueError, match="encoding must be one of MSRA, Megvii, UDP, got 'msra'"):
        TopDownGenerateTarget(encoding='msra')
    with pytest.raises(ValueError, match="TopDownGenerateTarget: target_type must be"):
        TopDownGenerateTarget(encoding='UDP', target_type='Offsets')
    with pytest.raises(ValueError, match='sigma must be a positive number or a list'):
        TopDownGenerateTarget(sigma=0)
    with pytest.raises(ValueError, match='TopDownGenerateTarget.kernel must be a positive odd'):
        TopDownGenerateTarget(encoding='Megvii', kernel=(10, 10))
    broken = record()
    del broken['ann_info']['heatmap_size']
    with pytest.raises(KeyError, match="results\\['ann_info'\\] has no 'heatmap_size'"):
        TopDownGenerateTarget()(broken)
    broken = record()
    del broken['joints_3d_visible']
    with pytest.raises(KeyError, match="has no 'joints_3d_visible'"):
        TopDownGenerateTarget()(broken)
    broken = record()
    broken['ann_info']['num_joints'] = 4
    with pytest.raises(ValueError, match=r"must both have ann_info\['num_joints'\] = 4 rows"):
        TopDownGenerateTarget()(broken)


def test_generate_target_encodes_every_instance_of_an_image_record():
    from posecfg.transforms import GenerateTarget
    step = GenerateTarget(codec=dict(type='MSRAHeatmap', input_size=(192, 256),
                                     heatmap_size=(48, 64), sigma=2))
    keypoints = np.array([[[40, 40], [100, 150]], [[60, 200], [0, 0]]], np.float32)
    visible = np.array([[1, 1], [1, 0]], np.float32)
    out = step(dict(keypoints=keypoints, keypoints_visible=visible))
    first, w1 = msra_heatmap_target(keypoints[0], visible[0], (192, 256), (48, 64), 2)
    second, w2 = msra_heatmap_target(keypoints[1], visible[1], (192, 256), (48, 64), 2)
    np.testing.assert_array_equal(out['heatmaps'], np.maximum(first, second))
    np.testing.assert_array_equal(out['keypoint_weights'], np.stack([w1[:, 0], w2[:, 0]]))
    # a top-down record counts as one instance: the 0.x step's target
    top_down = step(record())
    np.testing.assert_array_equal(top_down['heatmaps'], TopDownGenerateTarget()(record())['target'])
    assert top_down['keypoint_weights'].shape == (1, 3)
    with pytest.raises(TypeError, match='codec must be a codec config'):
        GenerateTarget(codec='MSRAHeatmap')
