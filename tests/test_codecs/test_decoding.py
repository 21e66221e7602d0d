"""Decoding: hand-checked MMPose 0.x post-processing and the cell -> pixel mapping."""
import numpy as np
import pytest

from posecfg.codecs import (get_heatmap_maximum, keypoints_from_heatmaps, msra_heatmap_target,
                            transform_preds, udp_heatmap_target)

W, H = 48, 64
# a box whose non-UDP mapping is the identity: 200 * scale = heatmap size, centre = its middle
IDENTITY = dict(center=np.array([[W / 2, H / 2]]), scale=np.array([[W / 200, H / 200]]))


def one_map(peak_xy, neighbours=None):
    heatmaps = np.zeros((1, 1, H, W), dtype=np.float32)
    x, y = peak_xy
    heatmaps[0, 0, y, x] = 1.0
    for (dx, dy), value in (neighbours or {}).items():
        heatmaps[0, 0, y + dy, x + dx] = value
    return heatmaps


def test_get_heatmap_maximum_locations_values_and_misses():
    heatmaps = np.zeros((2, 3, 4, 5), dtype=np.float32)
    heatmaps[0, 0, 2, 3] = 0.7
    heatmaps[0, 1, 1, 1] = heatmaps[0, 1, 3, 4] = 0.5  # tie: the first in row-major order
    heatmaps[1, 2] = -1.0  # nothing above 0: (-1, -1)
    locs, vals = get_heatmap_maximum(heatmaps)
    assert locs.shape == (2, 3, 2) and vals.shape == (2, 3) and locs.dtype == np.float32
    assert locs[0, 0].tolist() == [3, 2] and vals[0, 0] == pytest.approx(0.7)
    assert locs[0, 1].tolist() == [1, 1]
    assert locs[0, 2].tolist() == [-1, -1] and locs[1, 2].tolist() == [-1, -1]
    assert get_heatmap_maximum(heatmaps[0])[0].shape == (3, 2)  # (K, H, W) works too


def test_default_shifts_a_quarter_cell_towards_the_higher_neighbour():
    heatmaps = one_map((10, 20), {(1, 0): 0.5, (-1, 0): 0.2, (0, 1): 0.3, (0, -1): 0.3})
    preds, maxvals = keypoints_from_heatmaps(heatmaps, **IDENTITY, post_process='default')
    assert preds[0, 0].tolist() == [10.25, 20.0]  # equal y neighbours: no y shift
    assert maxvals.shape == (1, 1, 1) and maxvals[0, 0, 0] == 1.0
    preds, _ = keypoints_from_heatmaps(heatmaps, **IDENTITY, post_process=None)
    assert preds[0, 0].tolist() == [10.0, 20.0]


def test_default_leaves_maxima_next_to_the_border_alone():
    # MMPose shifts only when 1 < x < W - 1 and 1 < y < H - 1
    heatmaps = one_map((1, 20), {(1, 0): 0.5})
    preds, _ = keypoints_from_heatmaps(heatmaps, **IDENTITY)
    assert preds[0, 0].tolist() == [1.0, 20.0]
    heatmaps = one_map((2, 20), {(1, 0): 0.5})
    assert keypoints_from_heatmaps(heatmaps, **IDENTITY)[0][0, 0].tolist() == [2.25, 20.0]


def test_megvii_adds_half_a_cell_and_rescales_scores():
    heatmaps = one_map((10, 20), {(1, 0): 0.9, (-1, 0): 0.1}) * 255
    preds, maxvals = keypoints_from_heatmaps(heatmaps, **IDENTITY, post_process='megvii',
                                             kernel=3)
    assert preds[0, 0].tolist() == [10.75, 20.5]
    # the modulated map keeps its maximum (255): 255 / 255 + 0.5
    assert maxvals[0, 0, 0] == pytest.approx(1.5)


@pytest.mark.parametrize('sigma, kernel', [(2, 11), (3, 17)])
def test_dark_recovers_sub_cell_centres_and_beats_default(sigma, kernel):
    rng = np.random.default_rng(0)
    mu = rng.uniform([8, 8], [W - 8, H - 8], size=(40, 2))  # cells
    target, _ = msra_heatmap_target(mu * 4, None, (W * 4, H * 4), (W, H), sigma=sigma,
                                    unbiased=True)
    center = np.tile(IDENTITY['center'], (40, 1))
    scale = np.tile(IDENTITY['scale'], (40, 1))
    dark, _ = keypoints_from_heatmaps(target[:, None], center, scale, 'unbiased', kernel=kernel)
    default, _ = keypoints_from_heatmaps(target[:, None], center, scale, 'default')
    dark_error = np.abs(dark[:, 0] - mu).max()
    default_error = np.abs(default[:, 0] - mu)
    assert dark_error < 0.03
    assert default_error.max() <= 0.5 + 1e-6  # a quarter-cell step from the nearest cell
    assert np.abs(dark[:, 0] - mu).mean() * 10 < default_error.mean()


def test_unbiased_flag_is_mmpose_alias_of_post_process_unbiased():
    heatmaps, _ = msra_heatmap_target(np.array([[41.2, 81.3]]), None, (W * 4, H * 4), (W, H),
                                      unbiased=True)
    a, _ = keypoints_from_heatmaps(heatmaps[None], **IDENTITY, unbiased=True)
    b, _ = keypoints_from_heatmaps(heatmaps[None], **IDENTITY, post_process='unbiased')
    assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="cannot be combined with post_process='megvii'"):
        keypoints_from_heatmaps(heatmaps[None], **IDENTITY, post_process='megvii', unbiased=True)


def test_udp_gaussian_decodes_to_the_encoded_position():
    image = np.array([W * 4, H * 4])
    stride = (image - 1) / (np.array([W, H]) - 1)
    mu = np.array([[10.3, 20.6], [30.81, 5.45]])
    target, _ = udp_heatmap_target(mu * stride, None, image, (W, H), sigma=2)
    # UDP mapping: x = c - s/2 + x_cell * s / (W - 1); s = W - 1, c = (W - 1) / 2 is identity
    center = np.array([[(W - 1) / 2, (H - 1) / 2]])
    scale = np.array([[(W - 1) / 200, (H - 1) / 200]])
    preds, _ = keypoints_from_heatmaps(target[None], center, scale, use_udp=True, kernel=11)
    np.testing.assert_allclose(preds[0], mu, atol=0.03)


def test_udp_combined_adds_the_offset_read_at_the_response_maximum():
    heatmaps = np.zeros((1, 3, H, W), dtype=np.float32)
    heatmaps[0, 0, 20, 10] = 1.0
    heatmaps[0, 1] = 0.2  # constant offsets survive the blur exactly
    heatmaps[0, 2] = -0.1
    center = np.array([[(W - 1) / 2, (H - 1) / 2]])
    scale = np.array([[(W - 1) / 200, (H - 1) / 200]])
    preds, _ = keypoints_from_heatmaps(heatmaps, center, scale, use_udp=True,
                                       target_type='CombinedTarget', valid_radius_factor=0.0625)
    radius = 0.0625 * H  # 4 cells
    np.testing.assert_allclose(preds[0, 0], [10 + 0.2 * radius, 20 - 0.1 * radius], atol=1e-4)


def test_transform_preds_by_hand():
    coords = np.array([[[24.0, 32.0], [0.0, 0.0]]])
    center, scale = np.array([[100.0, 200.0]]), np.array([[1.0, 4 / 3]])  # 200 x 266.7 px box
    # non-UDP: x = cx + (x_cell - W/2) * 200 * s_x / W on both axes
    out = transform_preds(coords, center, scale, (W, H))
    np.testing.assert_allclose(out[0], [[100, 200], [100 - 100, 200 - 32 * 200 / 48]], rtol=1e-6)
    # UDP: x = cx - 200 s_x / 2 + x_cell * 200 s_x / (W - 1)
    out = transform_preds(coords, center, scale, (W, H), use_udp=True)
    np.testing.assert_allclose(out[0, 1], [0.0, 200 - 400 / 3], rtol=1e-6)
    np.testing.assert_allclose(out[0, 0], [24 * 200 / 47, 200 - 400 / 3 + 32 * 800 / 3 / 63],
                               rtol=1e-6)
    assert transform_preds(coords[0], center[0], scale[0], (W, H)).shape == (2, 2)


def test_decoding_errors_name_the_argument():
    heatmaps = np.zeros((1, 1, H, W), dtype=np.float32)
    with pytest.raises(ValueError, match=r"post_process must be one of .* got 'dark'"):
        keypoints_from_heatmaps(heatmaps, **IDENTITY, post_process='dark')
    with pytest.raises(ValueError, match='kernel must be a positive odd integer'):
        keypoints_from_heatmaps(heatmaps, **IDENTITY, post_process='unbiased', kernel=10)
    with pytest.raises(ValueError, match="'megvii' cannot be used with use_udp"):
        keypoints_from_heatmaps(heatmaps, **IDENTITY, post_process='megvii', use_udp=True)
    with pytest.raises(ValueError, match=r'heatmaps must be \(N, K, H, W\)'):
        keypoints_from_heatmaps(heatmaps[0], **IDENTITY)
    with pytest.raises(ValueError, match='3 channels per keypoint, got 1'):
        keypoints_from_heatmaps(heatmaps, **IDENTITY, use_udp=True, target_type='CombinedTarget')
    with pytest.raises(ValueError, match=r'one \(x, y\) row per instance \(1\), got 2'):
        keypoints_from_heatmaps(heatmaps, np.zeros((2, 2)), np.ones((2, 2)))


def test_deprecated_boolean_post_process_maps_to_names():
    heatmaps = one_map((10, 20), {(1, 0): 0.5})
    with pytest.warns(DeprecationWarning, match="post_process=True/False is deprecated"):
        on, _ = keypoints_from_heatmaps(heatmaps, **IDENTITY, post_process=True)
    with pytest.warns(DeprecationWarning):
        off, _ = keypoints_from_heatmaps(heatmaps, **IDENTITY, post_process=False)
    assert on[0, 0].tolist() == [10.25, 20.0] and off[0, 0].tolist() == [10.0, 20.0]


@pytest.mark.parametrize('kwargs', [dict(post_process='default'), dict(post_process='unbiased'),
                                    dict(post_process='megvii'), dict(use_udp=True)])
def test_decoding_leaves_the_heatmaps_untouched(kwargs):
    heatmaps = np.random.default_rng(0).random((1, 3, H, W)).astype(np.float32)
    before = heatmaps.copy()
    keypoints_from_heatmaps(heatmaps, **IDENTITY, **kwargs)
    assert np.array_equal(heatmaps, before)
