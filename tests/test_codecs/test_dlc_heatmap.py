"""DeepLabCut 3's heatmap targets and predictor, against DeepLabCut 3.0.2's formulas.

Facts (deeplabcut/pose_estimation_pytorch/models/, DeepLabCut 3.0.1 = 3.0.2 for these files):
- target_generators/heatmap_targets.py:90-102: ``dist_thresh = float(pos_dist_thresh)``,
  ``std = 2 * dist_thresh / 3``, ``locref_scale = 1 / locref_std``;
- :181-183: cell centres ``grid = np.mgrid[:H, :W]`` (int) with ``grid[..., 0] = i*s + s/2``
  (y) and ``grid[..., 1] = j*s + s/2`` (x) written back into the int array (truncated);
- :187-203: per (sample, heatmap, point): ``gradient_masking and v == 0`` → map weight
  ``background_weight``; ``v == -1`` → 0; ``v > 0`` → drawn;
- :277-300 (Gaussian): ``heatmap = max(heatmap, exp(-|grid - p|² / (2 std²)))``; locref over the
  whole map ``(p - grid) * locref_scale``; locref mask 1 where ``|grid - p|² <= dist_thresh²``;
- :307-329 (plateau): heatmap 1 and locref values only where ``d² <= dist_thresh²``;
- predictors/single_predictor.py:50-163: argmax over H·W (first maximum), score at it,
  ``x = j*s + 0.5 s + locref_x * locref_std`` (locref channels (x, y) per keypoint).
"""
import math

import numpy as np
import pytest
import torch

from posecfg.registry import KEYPOINT_CODECS

STD_LOCREF = 7.2801


def generator(kind='HeatmapGaussianGenerator', stride=8, size=(10, 8), **kwargs):
    args = dict(type=kind, num_heatmaps=kwargs.pop('num_heatmaps', 1), pos_dist_thresh=17)
    args.update(kwargs)
    return KEYPOINT_CODECS.build(args).at(stride, size)


def dlc_reference(points, flags, stride, size, plateau, thresh=17.0, gradient_masking=False,
                  background=0.1, locref_std=STD_LOCREF):
    """DeepLabCut's loops, written out: points (C, M, 2), flags (C, M) for one sample."""
    width, height = size
    std = 2 * thresh / 3
    c = points.shape[0]
    heat = np.zeros((c, height, width))
    weights = np.ones(c)
    locref = np.zeros((c, 2, height, width))
    mask = np.zeros((c, 2, height, width))
    for h in range(c):
        for (x, y), v in zip(points[h], flags[h]):
            if gradient_masking and v == 0:
                weights[h] = background
            elif v == -1:
                weights[h] = 0.0
            elif v > 0:
                for i in range(height):
                    for j in range(width):
                        cy, cx = int(i * stride + stride / 2), int(j * stride + stride / 2)
                        d2 = (cy - y) ** 2 + (cx - x) ** 2
                        inside = d2 <= thresh ** 2
                        if plateau:
                            if inside:
                                heat[h, i, j] = 1
                                locref[h, :, i, j] = [(x - cx) / locref_std,
                                                      (y - cy) / locref_std]
                        else:
                            heat[h, i, j] = max(heat[h, i, j], math.exp(-d2 / (2 * std ** 2)))
                            locref[h, :, i, j] = [(x - cx) / locref_std, (y - cy) / locref_std]
                        if inside:
                            mask[h, :, i, j] = 1
    return heat, weights, locref.reshape(2 * c, height, width), mask.reshape(2 * c, height, width)


def test_gaussian_peak_and_locref_by_hand():
    out = generator().encode(np.array([[[20.0, 30.0]]]), np.array([[1.0]]))
    assert out['heatmaps'].shape == (1, 8, 10) and out['heatmaps'].dtype == np.float32
    std = 2 * 17 / 3
    # cell (row 3, column 2) has centre (x, y) = (2*8+4, 3*8+4) = (20, 28): d² = 4
    assert out['heatmaps'][0, 3, 2] == pytest.approx(math.exp(-4 / (2 * std ** 2)), rel=1e-6)
    assert out['heatmaps'][0].max() == out['heatmaps'][0, 3, 2]
    # cell (0, 0), centre (4, 4): d² = 16² + 26²
    assert out['heatmaps'][0, 0, 0] == pytest.approx(math.exp(-(256 + 676) / (2 * std ** 2)),
                                                     rel=1e-6)
    np.testing.assert_allclose(out['locref_maps'][:, 3, 2], [0, 2 / STD_LOCREF], rtol=1e-6)
    # the Gaussian's locref covers the whole map: cell (7, 9) centre (76, 60)
    np.testing.assert_allclose(out['locref_maps'][:, 7, 9],
                               [(20 - 76) / STD_LOCREF, (30 - 60) / STD_LOCREF], rtol=1e-6)
    # the mask: cells within 17 pixels, e.g. (3, 2) in, (0, 0) out
    assert out['locref_weights'][:, 3, 2].tolist() == [1, 1]
    assert out['locref_weights'][:, 0, 0].tolist() == [0, 0]
    assert out['heatmap_weights'].shape == (1, 1, 1) and out['heatmap_weights'].item() == 1


def test_plateau_disc_by_hand():
    out = generator('HeatmapPlateauGenerator').encode(np.array([[[20.0, 30.0]]]))
    ys, xs = np.nonzero(out['heatmaps'][0])
    # centres within 17 px of (20, 30): x in {4..36}, y in {12..44} on the 8-pixel grid
    expected = {(i, j) for i in range(8) for j in range(10)
                if (j * 8 + 4 - 20) ** 2 + (i * 8 + 4 - 30) ** 2 <= 289}
    assert set(zip(ys.tolist(), xs.tolist())) == expected and (3, 2) in expected
    assert out['heatmaps'].max() == 1
    outside = out['heatmaps'][0] == 0
    assert (out['locref_maps'][:, outside] == 0).all()
    np.testing.assert_allclose(out['locref_maps'][:, 3, 2], [0, 2 / STD_LOCREF], rtol=1e-6)
    np.testing.assert_array_equal(out['locref_weights'][0], out['heatmaps'][0])


def test_truncated_cell_centres_of_an_odd_stride():
    # stride 5: centres int(j*5 + 2.5) = 2, 7, 12 — a point at x = 7, y = 2 peaks at exp(0) = 1
    out = generator(stride=5, size=(4, 3)).encode(np.array([[[7.0, 2.0]]]))
    assert out['heatmaps'][0, 0, 1] == 1.0
    np.testing.assert_allclose(out['locref_maps'][:, 0, 1], [0, 0])


@pytest.mark.parametrize('kind', ['HeatmapGaussianGenerator', 'HeatmapPlateauGenerator'])
@pytest.mark.parametrize('masking', [False, True])
def test_matches_deeplabcut_loops_on_random_labels(kind, masking):
    rng = np.random.default_rng(3)
    b, n, k, size, stride = 3, 3, 4, (12, 9), 8
    keypoints = [rng.uniform(-10, 100, (n, k, 2)).astype(np.float32) for _ in range(b)]
    flags = [rng.choice([-1.0, 0.0, 1.0, 2.0], (n, k)).astype(np.float32) for _ in range(b)]
    gen = generator(kind, stride, size, num_heatmaps=k, gradient_masking=masking)
    out = gen.encode_batch(keypoints, flags)
    for i in range(b):
        heat, weights, locref, mask = dlc_reference(
            keypoints[i].transpose(1, 0, 2).astype(np.float64), flags[i].T, stride, size,
            kind == 'HeatmapPlateauGenerator', gradient_masking=masking)
        np.testing.assert_allclose(out['heatmaps'][i], heat, rtol=1e-6, atol=1e-7)
        # DeepLabCut's weights array is float32 too
        np.testing.assert_array_equal(out['heatmap_weights'][i, :, 0, 0],
                                      weights.astype(np.float32))
        np.testing.assert_allclose(out['locref_maps'][i], locref, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(out['locref_weights'][i], mask)


def test_missing_and_undefined_keypoints():
    keypoints = np.array([[[20.0, 30.0], [40.0, 40.0], [10.0, 10.0]]])
    plain = generator(num_heatmaps=3).encode(keypoints, np.array([[1.0, 0.0, -1.0]]))
    assert plain['heatmaps'][1].max() == 0 and plain['heatmaps'][2].max() == 0
    assert plain['heatmap_weights'][:, 0, 0].tolist() == [1, 1, 0]  # 0: still learnt as empty
    assert plain['locref_weights'][2:].max() == 0
    masked = generator(num_heatmaps=3, gradient_masking=True, background_weight=0.25).encode(
        keypoints, np.array([[1.0, 0.0, -1.0]]))
    assert masked['heatmap_weights'][:, 0, 0].tolist() == [1, 0.25, 0]
    with pytest.raises(ValueError, match='keypoint 1 of instance 0 is visible'):
        generator(num_heatmaps=3).encode(np.array([[[1.0, 1], [np.nan, 2], [3, 3]]]))


def test_several_instances_keypoint_mode():
    gen = generator(num_heatmaps=1)
    out = gen.encode(np.array([[[20.0, 30.0]], [[60.0, 30.0]], [[0.0, 0.0]]]),
                     np.array([[1.0], [1.0], [0.0]]))
    std = 2 * 17 / 3
    # both peaks, maximum over instances; cell (3, 7) centre (60, 28)
    assert out['heatmaps'][0, 3, 7] == pytest.approx(math.exp(-4 / (2 * std ** 2)), rel=1e-6)
    assert out['heatmaps'][0, 3, 2] == pytest.approx(math.exp(-4 / (2 * std ** 2)), rel=1e-6)
    # Gaussian locref: the last drawn instance's offsets everywhere, even near the first
    np.testing.assert_allclose(out['locref_maps'][:, 3, 2],
                               [(60 - 20) / STD_LOCREF, 2 / STD_LOCREF], rtol=1e-6)
    assert out['locref_weights'][0, 3, 2] == 1 and out['locref_weights'][0, 3, 7] == 1


def test_individual_mode_orders_maps_by_identity():
    gen = generator(num_heatmaps=3, heatmap_mode='individual')
    keypoints = np.array([[[20.0, 30.0], [60.0, 30.0]], [[5.0, 5.0], [6.0, 6.0]]])
    out = gen.encode(keypoints, np.ones((2, 2)), identities=np.array([2, -1]))
    # individual 2 has both keypoints on map 2; individuals 0 and 1 are absent: weight 0
    assert out['heatmap_weights'][:, 0, 0].tolist() == [0, 0, 1]
    assert out['heatmaps'][:2].max() == 0
    assert out['heatmaps'][2, 3, 2] > 0.98 and out['heatmaps'][2, 3, 7] > 0.98
    with pytest.raises(ValueError, match='needs the instances'):
        gen.encode(keypoints, np.ones((2, 2)))


def test_empty_image_and_batch_padding():
    gen = generator(num_heatmaps=2)
    out = gen.encode_batch([np.zeros((0, 2, 2)), np.array([[[20.0, 30.0], [5, 5]]])],
                           [np.zeros((0, 2)), np.array([[1.0, 1.0]])])
    assert out['heatmaps'].shape == (2, 2, 8, 10) and out['heatmaps'][0].max() == 0
    assert out['heatmap_weights'][0].ravel().tolist() == [1, 1]
    assert out['locref_weights'][0].max() == 0 and out['locref_weights'][1].max() == 1
    alone = gen.encode(np.array([[[20.0, 30.0], [5, 5]]]))
    for key, value in alone.items():
        np.testing.assert_array_equal(out[key][1], value)


def test_generator_errors():
    with pytest.raises(ValueError, match='KEYPOINT or INDIVIDUAL'):
        KEYPOINT_CODECS.build(dict(type='HeatmapGaussianGenerator', num_heatmaps=1,
                                   pos_dist_thresh=17, heatmap_mode='bodypart'))
    with pytest.raises(ValueError, match='stride and heatmap_size are not set'):
        KEYPOINT_CODECS.build(dict(type='HeatmapGaussianGenerator', num_heatmaps=1,
                                   pos_dist_thresh=17)).encode(np.zeros((1, 1, 2)))
    with pytest.raises(ValueError, match='num_heatmaps is 2 but the labels have 3'):
        generator(num_heatmaps=2).encode(np.zeros((1, 3, 2)))


# ---------------------------------------------------------------------------- predictor
def predictor(**kwargs):
    return KEYPOINT_CODECS.build(dict(type='HeatmapPredictor', **kwargs)).at(8)


def test_predictor_argmax_plus_locref_by_hand():
    heat = torch.zeros(1, 2, 6, 7)
    heat[0, 0, 3, 5] = 0.9
    heat[0, 1, 1, 2] = 1.7
    heat[0, 1, 4, 4] = 1.7  # a tie: the first maximum in row-major order wins
    locref = torch.zeros(1, 4, 6, 7)
    locref[0, 0, 3, 5], locref[0, 1, 3, 5] = 1.5 / STD_LOCREF, -2.25 / STD_LOCREF
    locref[0, 2, 1, 2], locref[0, 3, 1, 2] = 0.5 / STD_LOCREF, 3.0 / STD_LOCREF
    keypoints, scores = predictor(apply_sigmoid=False).decode(dict(heatmap=heat, locref=locref))
    assert keypoints.shape == (1, 1, 2, 2) and scores.shape == (1, 1, 2)
    assert keypoints.dtype == np.float32 and scores.dtype == np.float32
    np.testing.assert_allclose(keypoints[0, 0], [[5 * 8 + 4 + 1.5, 3 * 8 + 4 - 2.25],
                                                 [2 * 8 + 4 + 0.5, 1 * 8 + 4 + 3.0]], rtol=1e-6)
    np.testing.assert_allclose(scores[0, 0], [0.9, 1.7], rtol=1e-6)
    _, clipped = predictor(apply_sigmoid=False, clip_scores=True).decode(
        dict(heatmap=heat, locref=locref))
    np.testing.assert_allclose(clipped[0, 0], [0.9, 1.0])
    _, sig = predictor().decode(dict(heatmap=heat, locref=locref))
    np.testing.assert_allclose(sig[0, 0], 1 / (1 + np.exp(-np.array([0.9, 1.7]))), rtol=1e-6)
    plain, _ = predictor(location_refinement=False).decode(heat)
    np.testing.assert_allclose(plain[0, 0], [[44, 28], [20, 12]])


def test_encode_then_decode_recovers_sub_cell_positions():
    rng = np.random.default_rng(0)
    keypoints = rng.uniform(5, 55, (1, 3, 2)).astype(np.float32)  # inside the 80 × 64 px grid
    out = generator(num_heatmaps=3).encode(keypoints)
    decoded, scores = predictor(apply_sigmoid=False).decode(
        dict(heatmap=torch.from_numpy(out['heatmaps'])[None],
             locref=torch.from_numpy(out['locref_maps'])[None]))
    np.testing.assert_allclose(decoded[0], keypoints, atol=1e-4)
    assert (scores > 0.88).all()  # at most 4√2 px from a cell centre: exp(-32 / (2 std²))


def test_num_animals_pads_like_deeplabcut_for_gradient_masking():
    # data/dataset.py:347 pads labels to max_num_animals with flag 0: with gradient masking an
    # image with fewer animals gets the background weight on every map
    gen = generator(num_heatmaps=2, gradient_masking=True, num_animals=2)
    out = gen.encode(np.array([[[20.0, 30.0], [5.0, 5.0]]]), np.ones((1, 2)))
    assert out['heatmap_weights'].ravel().tolist() == pytest.approx([0.1, 0.1])
    assert out['heatmaps'][0, 3, 2] > 0.98  # still drawn
    empty = generator(num_heatmaps=2, gradient_masking=True, num_animals=1).encode(
        np.zeros((0, 2, 2)), np.zeros((0, 2)))
    assert empty['heatmap_weights'].ravel().tolist() == pytest.approx([0.1, 0.1])
    unpadded = generator(num_heatmaps=2, gradient_masking=True).encode(
        np.zeros((0, 2, 2)), np.zeros((0, 2)))
    assert unpadded['heatmap_weights'].ravel().tolist() == [1, 1]
