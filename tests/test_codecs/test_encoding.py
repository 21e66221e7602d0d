"""Target generation: hand-checked values of MMPose 0.x's MSRA, Megvii and UDP encodings."""
import numpy as np
import pytest

from posecfg.codecs import megvii_heatmap_target, msra_heatmap_target, udp_heatmap_target

IMAGE = (192, 256)  # input (w, h) pixels
HEATMAP = (48, 64)  # (W, H) cells: stride 4 (MSRA, Megvii); UDP stride 191/47, 255/63


def test_msra_peak_rounded_centre_and_3_sigma_window():
    # (25, 33) px / 4 = (6.25, 8.25) cells -> centre int(6.25 + 0.5) = 6, int(8.75) = 8
    target, weight = msra_heatmap_target(np.array([[25.0, 33.0]]), None, IMAGE, HEATMAP, sigma=2)
    assert target.shape == (1, 64, 48) and target.dtype == np.float32
    assert weight.tolist() == [[1.0]] and weight.dtype == np.float32
    row = target[0, 8]
    assert row[6] == 1.0
    assert row[7] == pytest.approx(np.exp(-1 / 8), rel=1e-6)
    assert row[12] == pytest.approx(np.exp(-36 / 8), rel=1e-6)  # 3 sigma = 6 cells: last one
    assert row[13] == 0.0 and row[0] == pytest.approx(np.exp(-36 / 8), rel=1e-6)
    assert target[0, 2, 6] > 0 and target[0, 15, 6] == 0.0
    assert target[0, 9, 7] == pytest.approx(np.exp(-2 / 8), rel=1e-6)  # exp(-(dx²+dy²)/2σ²)


def test_msra_unbiased_centre_is_sub_cell_and_untruncated():
    target, _ = msra_heatmap_target(np.array([[25.0, 33.0]]), None, IMAGE, HEATMAP, sigma=2,
                                    unbiased=True)
    mu = (6.25, 8.25)
    assert target[0, 8, 6] == pytest.approx(np.exp(-(0.25 ** 2 * 2) / 8), rel=1e-6)
    assert target[0, 8, 20] == pytest.approx(np.exp(-((20 - mu[0]) ** 2 + 0.25 ** 2) / 8),
                                             rel=1e-5)  # beyond 3 sigma: not cut


def test_msra_window_at_the_left_border_truncates_toward_zero():
    # x = -25 px = -6.25 cells: centre int(-5.75) = -5, window [int(-11), int(2)) = [-11, 2)
    target, weight = msra_heatmap_target(np.array([[-25.0, 100.0]]), None, IMAGE, HEATMAP)
    assert weight[0, 0] == 1.0
    row = target[0, 25]
    assert row[0] == pytest.approx(np.exp(-25 / 8), rel=1e-6)  # cell 0 is 5 cells from -5
    assert row[1] == pytest.approx(np.exp(-36 / 8), rel=1e-6) and row[2] == 0.0
    # x = -30 px: centre int(-7.0) = -7, window [-13, 0) is empty yet not "< 0": weight stays
    target, weight = msra_heatmap_target(np.array([[-30.0, 100.0]]), None, IMAGE, HEATMAP)
    assert weight[0, 0] == 1.0 and not target.any()
    # x = -34 px: centre -8, window end int(-1) = -1 < 0: out
    _, weight = msra_heatmap_target(np.array([[-34.0, 100.0]]), None, IMAGE, HEATMAP)
    assert weight[0, 0] == 0.0


def test_msra_weights_visibility_out_of_window_and_joint_weights():
    joints = np.array([[100.0, 100.0], [100.0, 100.0], [-60.0, 100.0], [100.0, 300.0],
                       [np.nan, 3.0]])
    visible = np.array([1, 0, 1, 1, 1], dtype=np.float32)
    target, weight = msra_heatmap_target(joints, visible, IMAGE, HEATMAP, sigma=2,
                                         joint_weights=np.array([[2.0]] * 5))
    # -60 px = -15 cells: window [-21, -8) misses; 300 px = 75 cells > 64 + 6
    assert weight[:, 0].tolist() == [2.0, 0.0, 0.0, 0.0, 0.0]
    assert target[0].max() == 1.0 and not target[1:].any()


def test_msra_checks_its_inputs():
    with pytest.raises(ValueError, match=r'joints must be \(K, 2\)'):
        msra_heatmap_target(np.zeros(3), None, IMAGE, HEATMAP)
    with pytest.raises(ValueError, match=r'joints_visible must be \(K,\) = \(2,\)'):
        msra_heatmap_target(np.zeros((2, 2)), np.ones(3), IMAGE, HEATMAP)
    with pytest.raises(ValueError, match=r'heatmap_size must be \(w, h\)'):
        msra_heatmap_target(np.zeros((2, 2)), None, IMAGE, (48,))
    with pytest.raises(ValueError, match='one weight per joint \\(2\\)'):
        msra_heatmap_target(np.zeros((2, 2)), None, IMAGE, HEATMAP, joint_weights=[1.0])


def test_megvii_one_hot_blurred_to_255():
    # (50, 70) px -> cell (int(50 * 48 / 192), int(70 * 64 / 256)) = (12, 17)
    target, weight = megvii_heatmap_target(np.array([[50.0, 70.0]]), None, IMAGE, HEATMAP,
                                           kernel=(11, 11))
    assert weight.tolist() == [[1.0]]
    assert target[0, 17, 12] == pytest.approx(255.0)
    assert target[0].max() == pytest.approx(255.0)
    # OpenCV's 11-tap kernel has sigma 2: the neighbour is exp(-1/8) of the peak
    assert target[0, 17, 13] == pytest.approx(255 * np.exp(-1 / 8), rel=1e-4)
    assert target[0, 17, 18] == 0.0  # beyond the 5-cell kernel radius


def test_megvii_weights():
    joints = np.array([[50.0, 70.0], [50.0, 70.0], [192.0, 70.0], [-5.0, 5.0], [-1.0, 5.0]])
    target, weight = megvii_heatmap_target(joints, np.array([1, 0.5, 1, 1, 1]), IMAGE, HEATMAP,
                                           kernel=(3, 3))
    # visibility < 1 is not drawn and keeps its weight (MMPose); x = 192 is cell 48 = W: out;
    # x = -5 is cell int(-1.25) = -1: out; x = -1 is cell int(-0.25) = 0: in
    assert weight[:, 0].tolist() == [1.0, 0.5, 0.0, 0.0, 1.0]
    assert target[0].any() and not target[1:4].any() and target[4, 1, 0] == pytest.approx(255)
    with pytest.raises(ValueError, match='kernel must be a positive odd integer'):
        megvii_heatmap_target(joints, None, IMAGE, HEATMAP, kernel=(10, 11))


def test_udp_gaussian_is_centred_on_the_sub_cell_position():
    stride = (np.array(IMAGE) - 1) / (np.array(HEATMAP) - 1)
    mu = np.array([10.3, 20.6])
    target, weight = udp_heatmap_target((mu * stride)[None], None, IMAGE, HEATMAP, sigma=2)
    assert weight.tolist() == [[1.0]]
    expected = np.exp(-((10 - mu[0]) ** 2 + (21 - mu[1]) ** 2) / 8)
    assert target[0, 21, 10] == pytest.approx(expected, rel=1e-5)
    # the window is placed around the nearest cell (10, 21): cells 4..16 in x
    assert target[0, 21, 4] > 0 and target[0, 21, 17] == 0.0


def test_udp_combined_target_disc_and_offsets():
    stride = (np.array(IMAGE) - 1) / (np.array(HEATMAP) - 1)
    mu = np.array([10.3, 20.6])
    target, weight = udp_heatmap_target((mu * stride)[None], None, IMAGE, HEATMAP,
                                        target_type='CombinedTarget', valid_radius_factor=0.0546875)
    radius = 0.0546875 * 64  # 3.5 cells
    assert target.shape == (3, 64, 48) and weight.tolist() == [[1.0]]
    response, off_x, off_y = target
    ys, xs = np.nonzero(response)
    assert np.all((xs - mu[0]) ** 2 + (ys - mu[1]) ** 2 <= radius ** 2)
    assert response.sum() == len(xs) > 30  # about pi * 3.5² cells
    # every positive cell points at the keypoint: cell + offset * radius = mu
    np.testing.assert_allclose(xs + off_x[ys, xs] * radius, mu[0], atol=1e-5)
    np.testing.assert_allclose(ys + off_y[ys, xs] * radius, mu[1], atol=1e-5)
    assert not off_x[response == 0].any()


def test_udp_out_of_map_joints_get_weight_zero_for_both_target_types():
    joints = np.array([[-40.0, 50.0], [50.0, 50.0]])
    for kind in ('GaussianHeatmap', 'CombinedTarget'):
        target, weight = udp_heatmap_target(joints, None, IMAGE, HEATMAP, target_type=kind)
        assert weight[:, 0].tolist() == [0.0, 1.0]
    with pytest.raises(ValueError, match="target_type must be 'GaussianHeatmap' or"):
        udp_heatmap_target(joints, None, IMAGE, HEATMAP, target_type='Heatmap')


def test_megvii_blur_mirrors_at_the_border_like_opencv():
    # kernel 3 has taps (1/4, 1/2, 1/4). A one at cell x = 1 is mirrored to x = -1 by OpenCV's
    # default border, so cell 0 collects 1/4 + 1/4 = 1/2: as much as cell 1 itself
    target, _ = megvii_heatmap_target(np.array([[5.0, 50.0]]), None, IMAGE, HEATMAP,
                                      kernel=(3, 3))
    row = target[0, 12]  # y = 50 px is cell 12
    assert row[:4] == pytest.approx([255.0, 255.0, 127.5, 0.0])
