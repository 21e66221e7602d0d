"""DeepLabCut 3's DEKR targets and DEKR decoding, against DeepLabCut 3.0.2's rules.

Facts (deeplabcut/pose_estimation_pytorch/, 3.0.2):
- data/dataset.py:481-506 ``add_center_keypoints``: centre = nanmean of the keypoints with
  flag > 0, flag 2; no visible keypoint → (0, 0) flag 0;
- data/dataset.py:328-350: ``area = max(1, box w) · max(1, box h)``;
- models/target_generators/dekr_targets.py:90-92: ``scale = 1/stride``, ``sgm = pos_dist_thresh
  / 2 · scale``, centre ``ct_sgm = pos_dist_thresh · scale``, ``radius = pos_dist_thresh ·
  scale``; :96 weights start at 2, :178 still-2 weights become ``bg_weight``;
- :104-176: per instance, per point: ``ct = int(centre)``, ``ct_sm = (ct - s/2)/s``; flag -1 →
  map weight 0; flag <= 0 skip; ``x_sm = (x - s/2)/s``, off the map skip; Gaussian window
  ``ul = floor(x_sm - 3σ - 1)``, ``br = ceil(x_sm + 3σ + 2)`` clipped, value ``exp(-((sx -
  x_sm)² + (sy - y_sm)²)/(2σ²))`` (max), window weight 1; offsets (keypoints only) on
  ``[max(int(ct_sm - radius), 0), min(int(ct_sm + radius), W))``: ``(pos - x_sm)``, skipped where
  the cell's offset for that keypoint is non-zero and ``area_map < area``; weight
  ``1/sqrt(area)``; ``area_map = area``;
- models/predictors/dekr_predictor.py:112-171 forward, :243-288 peaks (MaxPool2d(5, 1, 2)) and
  topk, :290-338 absorption, :340-363 heat values at ``floor`` of the pose, :365-423 pose NMS;
- models/predictors/identity_predictor.py:63-90 (resize to ``int(h·s)``, bilinear antialias, then
  sigmoid), data/postprocessor.py:474-525 (identity map at ``np.rint`` of each keypoint),
  post_processing/identity.py (``linear_sum_assignment`` of ``mean_k(conf · id score)``).
"""
import math

import numpy as np
import pytest
import torch

from posecfg.codecs.dekr import assign_identities, identity_scores
from posecfg.registry import KEYPOINT_CODECS

pytestmark = pytest.mark.usefixtures('one_thread')  # tests/conftest.py


def generator(num_joints=2, thresh=8, stride=4, size=(8, 8), **kwargs):
    return KEYPOINT_CODECS.build(dict(type='DEKRGenerator', num_joints=num_joints,
                                      pos_dist_thresh=thresh, **kwargs)).at(stride, size)


def dlc_reference(coords, area, stride, size, thresh, bg_weight=0.1):
    """DeepLabCut's DEKRGenerator.forward loops written out for one sample: coords (N, K + 1,
    3) with the centre last (x, y, flag), area (N,)."""
    width, height = size
    k1 = coords.shape[1]
    scale = 1 / stride
    sgm, ct_sgm, radius = thresh / 2 * scale, thresh * scale, thresh * scale
    heat = np.zeros((k1, height, width), np.float32)
    weights = 2 * np.ones((k1, height, width), np.float32)
    offset = np.zeros(((k1 - 1) * 2, height, width), np.float32)
    wmap = np.zeros_like(offset)
    area_map = np.zeros((height, width), np.float32)
    for person, p in enumerate(coords):
        ct_x, ct_y = int(p[-1, 0]), int(p[-1, 1])
        ct_x_sm, ct_y_sm = (ct_x - stride / 2) / stride, (ct_y - stride / 2) / stride
        for idx, pt in enumerate(p):
            if pt[-1] == -1:
                weights[idx] = 0
                continue
            if pt[-1] <= 0:
                continue
            sigma = ct_sgm if idx == k1 - 1 else sgm
            x_sm, y_sm = (pt[0] - stride / 2) / stride, (pt[1] - stride / 2) / stride
            if x_sm < 0 or y_sm < 0 or x_sm >= width or y_sm >= height:
                continue
            ul = int(np.floor(x_sm - 3 * sigma - 1)), int(np.floor(y_sm - 3 * sigma - 1))
            br = int(np.ceil(x_sm + 3 * sigma + 2)), int(np.ceil(y_sm + 3 * sigma + 2))
            cc, dd = max(0, ul[0]), min(br[0], width)
            aa, bb = max(0, ul[1]), min(br[1], height)
            for sy in range(aa, bb):
                for sx in range(cc, dd):
                    g = np.exp(-((sx - x_sm) ** 2 + (sy - y_sm) ** 2) / (2 * sigma ** 2))
                    heat[idx, sy, sx] = max(heat[idx, sy, sx], g)
            weights[idx, aa:bb, cc:dd] = 1
            if idx != k1 - 1:
                for pos_x in range(max(int(ct_x_sm - radius), 0),
                                   min(int(ct_x_sm + radius), width)):
                    for pos_y in range(max(int(ct_y_sm - radius), 0),
                                       min(int(ct_y_sm + radius), height)):
                        if offset[idx * 2, pos_y, pos_x] != 0 or \
                                offset[idx * 2 + 1, pos_y, pos_x] != 0:
                            if area_map[pos_y, pos_x] < area[person]:
                                continue
                        offset[idx * 2, pos_y, pos_x] = pos_x - x_sm
                        offset[idx * 2 + 1, pos_y, pos_x] = pos_y - y_sm
                        wmap[idx * 2:idx * 2 + 2, pos_y, pos_x] = 1 / np.sqrt(area[person])
                        area_map[pos_y, pos_x] = area[person]
    weights[weights == 2] = bg_weight
    return heat, weights, offset, wmap


def with_centres(keypoints, visible):
    """The centre rule of data/dataset.py:481-506, written out."""
    out = []
    for kp, vis in zip(keypoints, visible):
        shown = vis > 0
        centre = kp[shown].mean(0) if shown.any() else np.zeros(2)
        flag = 2.0 if shown.any() else 0.0
        rows = np.concatenate([kp, vis[:, None]], 1)
        out.append(np.concatenate([rows, [[*np.float32(centre), flag]]], 0))
    return np.array(out)


# ---------------------------------------------------------------------------- generator
def test_generator_by_hand():
    """stride 4, 8 × 8 cells, pos_dist_thresh 8: σ 1 cell (keypoints), 2 (centre), radius 2."""
    gen = generator()
    keypoints = np.array([[[10, 14], [18, 6]]], np.float32)  # centre (14, 10)
    t = gen.encode(keypoints, np.ones((1, 2)), areas=[100.0])
    heat, weights = t['heatmaps'], t['heatmap_weights']
    assert heat.shape == weights.shape == (3, 8, 8)
    # keypoint 0 at cell (x, y) = ((10 - 2)/4, (14 - 2)/4) = (2, 3); window columns [0, 7)
    assert heat[0, 3, 2] == 1 and heat[0, 3, 3] == pytest.approx(math.exp(-0.5), 1e-6)
    assert heat[0, 3, 7] == 0 and weights[0, 3, 7] == pytest.approx(0.1)
    assert weights[0, 3, 6] == 1
    # the centre at cell (3, 2), σ 2
    assert heat[2, 2, 3] == 1 and heat[2, 2, 5] == pytest.approx(math.exp(-4 / 8), 1e-6)
    # offsets of keypoint 0 on columns [int(3 - 2), int(3 + 2)) = 1..4, rows 0..3
    off, ow = t['offset_maps'], t['offset_weights']
    assert off.shape == ow.shape == (4, 8, 8)
    assert off[0:2, 2, 3].tolist() == [1, -1] and off[0:2, 0, 1].tolist() == [-1, -3]
    assert ow[0, 2, 3] == pytest.approx(0.1) and ow[0, 4, 3] == 0 and ow[0, 2, 5] == 0
    # keypoint 1 at cell (4, 1)
    assert off[2:4, 3, 4].tolist() == [0, 2]
    assert (ow[:, :, 0] == 0).all() and (ow[:, 4:] == 0).all()


@pytest.mark.parametrize('seed', range(4))
def test_generator_matches_deeplabcuts_loops(seed):
    """Random overlapping instances (so the area rule decides), invisible and off-map points,
    an instance without visible points, -1 flags, on two samples of different N."""
    rng = np.random.default_rng(seed)
    size, stride, thresh, k = (12, 10), 4, 17, 3
    gen = generator(num_joints=k, thresh=thresh, stride=stride, size=size)
    keypoints, visible, areas = [], [], []
    for n in (3, 2):
        kp = rng.uniform(-4, 50, (n, k, 2)).astype(np.float32)
        vis = (rng.uniform(size=(n, k)) < 0.8).astype(np.float32)
        vis[rng.uniform(size=(n, k)) < 0.1] = -1
        if n == 2:
            vis[1] = 0  # no visible keypoint: no centre
        keypoints.append(kp)
        visible.append(vis)
        areas.append(rng.uniform(50, 900, n).astype(np.float32))
    ours = gen.encode_batch(keypoints, visible, areas)
    for i in range(2):
        coords = with_centres(keypoints[i], visible[i])
        heat, weights, offset, wmap = dlc_reference(coords, areas[i], stride, size, thresh)
        np.testing.assert_allclose(ours['heatmaps'][i], heat, rtol=1e-6, atol=1e-7)
        np.testing.assert_array_equal(ours['heatmap_weights'][i], weights)
        np.testing.assert_allclose(ours['offset_maps'][i], offset, atol=1e-5)
        np.testing.assert_allclose(ours['offset_weights'][i], wmap, rtol=1e-6)


def test_overlapping_centres_the_smaller_instance_owns_the_cells():
    """Two instances with the same centre (12, 10): whatever their order, the smaller area's
    offsets stay on the cells both write (dekr_targets.py:165-170)."""
    keypoints = np.array([[[10, 10], [14, 10]], [[22, 10], [2, 10]]], np.float32)
    for areas, small in (([400, 100], 1), ([100, 400], 0)):
        out = generator().encode(keypoints, np.ones((2, 2)), areas=areas)
        x_sm = (keypoints[small, 0, 0] - 2) / 4  # keypoint 0 of the owner, in cells
        assert out['offset_maps'][0, 1, 1] == pytest.approx(1 - x_sm)
        assert out['offset_weights'][0, 1, 1] == pytest.approx(1 / math.sqrt(min(areas)))


def test_generator_default_areas_and_errors():
    gen = generator()
    kp = np.array([[[10, 14], [18, 6]]], np.float32)
    # DeepLabCut's box: extent ± 20 clipped to the 32 × 32 input → (0, 0)-(32, 32)
    assert gen.default_areas(kp.astype(float), np.ones((1, 2))).tolist() == [32 * 32]
    with pytest.raises(ValueError, match='num_joints is 2 but sample 0 has 3 keypoints'):
        gen.encode(np.zeros((1, 3, 2)), np.ones((1, 3)))
    with pytest.raises(ValueError, match='stride and heatmap_size are not set'):
        KEYPOINT_CODECS.build(dict(type='DEKRGenerator', num_joints=1,
                                   pos_dist_thresh=17)).encode(np.zeros((1, 1, 2)))



def test_generator_encodes_a_crop_without_animals_beside_one_with():
    """Crop sampling can cut every animal out of a sample: its targets are all background
    (it crashed computing the default areas of zero instances)."""
    gen = generator()
    kp = np.array([[[10, 14], [18, 6]]], np.float32)
    both = gen.encode_batch([np.zeros((0, 2, 2), np.float32), kp],
                            [np.zeros((0, 2), np.float32), np.ones((1, 2), np.float32)])
    alone = gen.encode_batch([kp], [np.ones((1, 2), np.float32)])
    for name, value in both.items():
        empty = np.asarray(value[0])
        if name == 'heatmap_weights':  # background everywhere: DeepLabCut's bg_weight
            assert empty.size and (empty == empty.flat[0]).all() and 0 < empty.flat[0] < 1
        else:
            assert not empty.any(), name
        np.testing.assert_array_equal(value[1], alone[name][0])


# ---------------------------------------------------------------------------- predictor
def predictor(**kwargs):
    args = dict(type='DEKRPredictor', num_animals=2, apply_sigmoid=False, use_heatmap=False)
    args.update(kwargs)
    return KEYPOINT_CODECS.build(args).at(4)


def constructed_outputs(third=False):
    """16 × 16 cells, K = 2: centre peaks 0.9 at (x 4, y 3) and 0.8 at (12, 10) (0.7 at (7, 3)
    with ``third``: the first pose again)."""
    heat = torch.zeros(1, 3, 16, 16)
    offset = torch.zeros(1, 4, 16, 16)
    heat[0, 2, 3, 4], heat[0, 2, 10, 12] = 0.9, 0.8
    offset[0, :, 3, 4] = torch.tensor([1., 2., -2., 0.])  # poses cells (3, 1), (6, 3)
    offset[0, :, 10, 12] = torch.tensor([0., 1., 2., -1.])  # (12, 9), (10, 11)
    if third:
        heat[0, 2, 3, 7] = 0.7
        offset[0, :, 3, 7] = torch.tensor([4., 2., 1., 0.])  # (3, 1), (6, 3) again
    heat[0, 0, 1, 3], heat[0, 1, 3, 6] = 0.5, 0.25  # keypoint maps under the first pose
    heat[0, 0, 9, 12], heat[0, 1, 11, 10] = 1.0, 0.5
    return dict(heatmap=heat, offset=offset)


def test_predictor_two_centres_two_poses():
    out = predictor().predict(constructed_outputs())
    poses, kept = out['poses'][0].numpy(), out['kept'][0].numpy()
    assert kept.tolist() == [True, True]
    # pixels: cell · 4 + 2; kept poses in reverse score order (DeepLabCut's sort keys)
    np.testing.assert_allclose(poses[0, :, :2], [[50, 38], [42, 46]])
    np.testing.assert_allclose(poses[1, :, :2], [[14, 6], [26, 14]])
    # combined scores: centre score × keypoint heatmap at the pose's cell
    np.testing.assert_allclose(poses[0, :, 2], [0.8 * 1.0, 0.8 * 0.5], rtol=1e-6)
    np.testing.assert_allclose(poses[1, :, 2], [0.9 * 0.5, 0.9 * 0.25], rtol=1e-6)
    keypoints, scores = predictor(keypoint_score_type='center').decode(constructed_outputs())
    assert keypoints.shape == (1, 2, 2, 2)
    np.testing.assert_allclose(scores[0], [[0.8, 0.8], [0.9, 0.9]], rtol=1e-6)


def test_pose_nms_removes_the_duplicate():
    out = predictor(num_animals=3).predict(constructed_outputs(third=True))
    poses, kept = out['poses'][0].numpy(), out['kept'][0].numpy()
    assert kept.tolist() == [True, True, False]
    np.testing.assert_allclose(poses[1, :, :2], [[14, 6], [26, 14]])
    assert (poses[2] == -1).all()
    # without NMS the duplicate stays, in score order
    out = predictor(num_animals=3, apply_pose_nms=False).predict(constructed_outputs(True))
    np.testing.assert_allclose(out['poses'][0, 2, :, :2].numpy(), [[14, 6], [26, 14]])


def test_use_heatmap_absorbs_keypoints_into_nearby_peaks():
    outputs = constructed_outputs()
    outputs['heatmap'][0, 0, 1, 3] = 0
    outputs['heatmap'][0, 0, 1, 4] = 0.6  # one cell right of the first pose's keypoint 0
    out = predictor(use_heatmap=True, keypoint_score_type='heatmap').predict(outputs)
    first = out['poses'][0, 1].numpy()
    assert first[0].tolist() == pytest.approx([4 * 4 + 2, 1 * 4 + 2, 0.6])
    out = predictor(use_heatmap=True, max_absorb_distance=0.5).predict(outputs)
    assert out['poses'][0, 1, 0, :2].tolist() == [14, 6]


def test_predictor_sigmoid_and_clip():
    outputs = constructed_outputs()
    out = predictor(apply_sigmoid=True, keypoint_score_type='center').predict(outputs)
    assert out['poses'][0, 1, 0, 2].item() == pytest.approx(1 / (1 + math.exp(-0.9)))
    outputs['heatmap'][0, 2, 3, 4] = 3.0
    out = predictor(clip_scores=True, keypoint_score_type='center').predict(outputs)
    assert out['poses'][0, 1, 0, 2].item() == 1.0


# ---------------------------------------------------------------------------- identity
def test_identity_maps_scores_and_assignment():
    pred = KEYPOINT_CODECS.build(dict(type='IdentityPredictor')).at(2)
    logits = torch.zeros(1, 2, 3, 4)
    logits[0, 1] = 10.0
    maps = pred.identity_maps(dict(heatmap=logits))
    assert maps.shape == (1, 6, 8, 2)
    assert maps[0, ..., 0].numpy() == pytest.approx(0.5)  # sigmoid(0)
    # the maps at rint of each keypoint, clipped; non-finite keypoints score 0
    table = np.arange(6 * 8 * 2, dtype=np.float32).reshape(6, 8, 2)
    kp = np.array([[[1.4, 2.6], [20.0, -3.0], [np.nan, 1.0]]])
    got = identity_scores(table, kp)
    np.testing.assert_array_equal(got[0], [table[3, 1], table[0, 7], [0, 0]])
    # two poses, two identities: pose 0 looks like identity 1, pose 1 like identity 0
    scores = np.array([[[0.2, 0.9], [0.1, 0.8]], [[0.7, 0.3], [0.9, 0.2]]])
    conf = np.ones((2, 2))
    assert assign_identities(conf, scores).tolist() == [1, 0]
    # three poses, two identities: the weakest is left without one
    scores3 = np.concatenate([scores, [[[0.6, 0.6], [0.6, 0.6]]]])
    assert assign_identities(np.array([[1, 1], [1, 1], [0.1, 0.1]]), scores3).tolist() == \
        [1, 0, -1]
