"""flip_back: heatmaps of a mirrored image, flipped back (flip test)."""
import numpy as np
import pytest

from posecfg.codecs import flip_back, udp_heatmap_target

FLIP_PAIRS = [[1, 2]]


def test_flip_back_reverses_a_flip_and_swaps_pairs():
    rng = np.random.default_rng(0)
    heatmaps = rng.random((2, 3, 8, 6)).astype(np.float32)
    # what a model sees for the mirrored image: maps mirrored, left/right channels swapped
    mirrored = heatmaps[:, [0, 2, 1], :, ::-1]
    restored = flip_back(mirrored, FLIP_PAIRS)
    assert np.array_equal(restored, heatmaps)
    assert restored.flags['C_CONTIGUOUS']
    assert np.array_equal(flip_back(flip_back(heatmaps, FLIP_PAIRS), FLIP_PAIRS), heatmaps)


def test_flip_back_hand_case():
    heatmaps = np.zeros((1, 3, 2, 4), dtype=np.float32)
    heatmaps[0, 1, 0, 0] = 1.0  # keypoint 1 at cell (0, 0)
    out = flip_back(heatmaps, FLIP_PAIRS)
    assert out[0, 2, 0, 3] == 1.0 and out.sum() == 1.0  # now keypoint 2, at x = W - 1 - 0


def test_flip_back_combined_target_negates_x_offsets():
    # a keypoint at x on the heatmap grid is at W - 1 - x in the mirrored image (UDP)
    image, heatmap = (48, 64), (48, 64)  # UDP stride 1
    joints = np.array([[10.3, 20.0], [30.0, 40.0], [5.0, 50.0]])
    target, _ = udp_heatmap_target(joints, None, image, heatmap, target_type='CombinedTarget')
    mirrored_joints = joints[[0, 2, 1]] * [-1, 1] + [47, 0]
    mirrored, _ = udp_heatmap_target(mirrored_joints, None, image, heatmap,
                                     target_type='CombinedTarget')
    restored = flip_back(mirrored[None], FLIP_PAIRS, target_type='CombinedTarget')
    np.testing.assert_allclose(restored[0], target, atol=1e-6)
    original = mirrored.copy()
    flip_back(mirrored[None], FLIP_PAIRS, target_type='CombinedTarget')
    assert np.array_equal(mirrored, original)  # the input is not modified


def test_flip_back_errors():
    with pytest.raises(ValueError, match=r'flip_pairs must index keypoints 0..2, got \[\[1, 3\]\]'):
        flip_back(np.zeros((1, 3, 2, 2)), [[1, 3]])
    with pytest.raises(ValueError, match='3 channels per keypoint, got 4'):
        flip_back(np.zeros((1, 4, 2, 2)), [], target_type='CombinedTarget')
    with pytest.raises(ValueError, match=r'heatmaps must be \(N, C, H, W\)'):
        flip_back(np.zeros((3, 2, 2)), [])
    assert flip_back(np.zeros((1, 1, 2, 2)), [], 'GaussianHeatMap').shape == (1, 1, 2, 2)
