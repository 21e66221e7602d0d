"""DeepLabCut 3.0.2's PartAffinityFieldGenerator and SequentialGenerator.

Oracles: PAF values worked out by hand, and a line-by-line transcription of DeepLabCut's loops
(``deeplabcut/pose_estimation_pytorch/models/target_generators/pafs_targets.py:47-100``).
"""
from math import sqrt

import numpy as np
import pytest

from posecfg.codecs import dlc_paf
from posecfg.codecs import (HeatmapPlateauGenerator, PartAffinityFieldGenerator,
                            SequentialGenerator)


def dlc_paf_loops(coords, graph, width, stride, height, map_width):
    """pafs_targets.py:47-100 transcribed: coords (B, N, K, 3) (x, y, visibility)."""
    num_limbs = len(graph)
    paf_map = np.zeros((len(coords), height, map_width, num_limbs * 2), dtype=np.float32)
    grid = np.mgrid[:height, :map_width].transpose((1, 2, 0))
    grid[:, :, 0] = grid[:, :, 0] * stride + stride / 2
    grid[:, :, 1] = grid[:, :, 1] * stride + stride / 2
    y, x = np.rollaxis(grid, 2)
    for b in range(len(coords)):
        for kpts_animal in coords[b]:
            visible = set(np.flatnonzero(kpts_animal[..., -1] > 0))
            kpts_animal = kpts_animal[..., :2]
            for limb, (bp1, bp2) in enumerate(graph):
                if not (bp1 in visible and bp2 in visible):
                    continue
                j1_x, j1_y = kpts_animal[bp1]
                j2_x, j2_y = kpts_animal[bp2]
                vec_x, vec_y = j2_x - j1_x, j2_y - j1_y
                dist = sqrt(vec_x ** 2 + vec_y ** 2)
                if dist > 0:
                    vx, vy = vec_x / dist, vec_y / dist
                    vec = [vx * j1_x + vy * j1_y, vx * j2_x + vy * j2_y]
                    vec_ortho = j1_y * vx - j1_x * vy
                    along = vx * x + vy * y
                    across = ((y * vx - x * vy) - vec_ortho) * 1.0 / width
                    mask = (along >= min(vec)) & (along <= max(vec)) & (np.abs(across) <= 1)
                    temp = 1 - np.abs(across)[mask]
                    paf_map[b, mask, limb * 2 + 0] = vx * temp
                    paf_map[b, mask, limb * 2 + 1] = vy * temp
    return paf_map.transpose((0, 3, 1, 2))


def test_horizontal_limb_by_hand():
    # stride 4, 6 × 5 cells: centres x = 2, 6, ..., 22 and y = 2, 6, ..., 18; limb (2, 2) →
    # (18, 2), width 5: on the limb for columns 0-4 (2 <= x <= 18); across = |y - 2| / 5 is
    # 0 (row 0), 0.8 (row 1), 1.6 (row 2: off); value u_x (1 - across), u = (1, 0)
    gen = PartAffinityFieldGenerator(graph=[[0, 1]], width=5, stride=4, heatmap_size=(6, 5))
    maps = gen.encode(np.array([[[2, 2], [18, 2]]], np.float32))['paf_maps']
    expected_x = np.zeros((5, 6), np.float32)
    expected_x[0, :5] = 1.0
    expected_x[1, :5] = 0.2
    assert maps.shape == (2, 5, 6)
    np.testing.assert_allclose(maps[0], expected_x, atol=1e-6)
    np.testing.assert_array_equal(maps[1], 0)


def test_diagonal_limb_by_hand():
    # limb (2, 2) → (10, 10) at stride 4: u = (1, 1)/√2; cells (x, y) with 2√2 <= (x + y)/√2
    # <= 10√2, i.e. 4 <= x + y <= 20, and across = |y - x| / (√2 · 4) <= 1
    gen = PartAffinityFieldGenerator(graph=[[0, 1]], width=4, stride=4, heatmap_size=(4, 4))
    maps = gen.encode(np.array([[[2, 2], [10, 10]]], np.float32))['paf_maps']
    centres = np.array([2, 6, 10, 14])
    x, y = np.meshgrid(centres, centres)
    across = np.abs(y - x) / (sqrt(2) * 4)
    on = (x + y >= 4) & (x + y <= 20) & (across <= 1)
    expected = np.where(on, (1 - across) / sqrt(2), 0)
    np.testing.assert_allclose(maps[0], expected, atol=1e-6)
    np.testing.assert_allclose(maps[1], expected, atol=1e-6)
    assert on[0, 0] and on[1, 1] and on[0, 1] and not on[0, 3] and not on[3, 3]


@pytest.mark.parametrize('chunk', [None, 1])
def test_matches_deeplabcuts_loops(chunk, monkeypatch):
    """Several individuals (overlapping limbs: the later one wins), invisible keypoints, a
    zero-length limb, non-integer stride cell centres, a batch of two images; all edges at
    once or one edge at a time."""
    if chunk is not None:
        monkeypatch.setattr(dlc_paf, 'CHUNK_ELEMENTS', chunk)
    rng = np.random.default_rng(3)
    graph = [[0, 1], [1, 2], [0, 2], [2, 3]]
    stride, h, w = 6, 9, 11
    coords = rng.uniform(0, 60, (2, 3, 4, 2)).astype(np.float32)
    coords[0, 1, 2] = coords[0, 1, 3]  # zero-length limb 2-3 of individual 1
    coords[0, 2] = coords[0, 0] + 3  # individual 2 overlaps individual 0
    flags = np.ones((2, 3, 4), np.float32)
    flags[1, 0, 1] = 0  # invisible: limbs 0-1 and 1-2 of that individual are not drawn
    gen = PartAffinityFieldGenerator(graph=graph, width=7).at(stride, (w, h))
    ours = gen.encode_batch(list(coords), list(flags))['paf_maps']
    theirs = dlc_paf_loops(np.concatenate([coords, flags[..., None]], -1), graph, 7, stride,
                           h, w)
    assert ours.shape == theirs.shape == (2, 8, h, w) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    assert np.abs(theirs).max() > 0.5  # the test draws something


def test_different_numbers_of_individuals_per_image():
    gen = PartAffinityFieldGenerator(graph=[[0, 1]], width=10).at(4, (8, 8))
    one = np.array([[[4, 4], [20, 20]]], np.float32)
    none = np.zeros((0, 2, 2), np.float32)
    maps = gen.encode_batch([one, none], [np.ones((1, 2)), np.zeros((0, 2))])['paf_maps']
    assert maps[0].any() and not maps[1].any()


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match='graph edge'):
        PartAffinityFieldGenerator(graph=[[0, 1, 2]], width=20)
    with pytest.raises(ValueError, match='width'):
        PartAffinityFieldGenerator(graph=[[0, 1]], width=0)
    gen = PartAffinityFieldGenerator(graph=[[0, 5]], width=20).at(4, (8, 8))
    with pytest.raises(ValueError, match='keypoint 5'):
        gen.encode(np.zeros((1, 3, 2)))
    with pytest.raises(ValueError, match='stride and heatmap_size'):
        PartAffinityFieldGenerator(graph=[[0, 1]], width=20).encode(np.zeros((1, 2, 2)))


def test_sequential_generator_is_the_union_of_its_generators():
    cfgs = [dict(type='HeatmapPlateauGenerator', num_heatmaps=2, pos_dist_thresh=17),
            dict(type='PartAffinityFieldGenerator', graph=[[0, 1]], width=20)]
    seq = SequentialGenerator(cfgs).at(8, (6, 8))
    points = np.array([[[10.3, 12.6], [30.8, 40.1]]], np.float32)
    out = seq.encode_batch([points], [np.ones((1, 2))])
    heat = HeatmapPlateauGenerator(num_heatmaps=2, pos_dist_thresh=17).at(8, (6, 8))
    paf = PartAffinityFieldGenerator(graph=[[0, 1]], width=20).at(8, (6, 8))
    expected = {**heat.encode_batch([points], [np.ones((1, 2))]),
                **paf.encode_batch([points], [np.ones((1, 2))])}
    assert sorted(out) == sorted(expected)
    for key in expected:
        np.testing.assert_array_equal(out[key], expected[key])
    assert seq.heatmap_mode == 'KEYPOINT' and seq.batch_key == 'keypoints'
    with pytest.raises(ValueError, match='non-empty list'):
        SequentialGenerator([])
    with pytest.raises(ValueError, match='different labels'):
        SequentialGenerator([cfgs[0], dict(cfgs[1], label_keypoint_key='keypoints_unique')])
