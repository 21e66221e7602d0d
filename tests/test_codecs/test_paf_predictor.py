"""DeepLabCut 3.0.2's PartAffinityFieldPredictor: peaks, line integrals, assembly.

Facts (deeplabcut/pose_estimation_pytorch/models/predictors/paf_predictor.py, 3.0.2 = 3.0.1):
smoothing kernel ``softmax(-d² / 2σ²)`` outer product (lines 253-256), peaks = max-pool
(kernel nms_radius, padding nms_radius // 2) maxima >= 0.01 (247-251), position
``s·(col, row) + s // 2 + locref·locref_stdev`` (258-268), affinity ``|trapz(F, p)| / |b - a|``
over 10 truncated points, rounded to 3 decimals (381-393); assembly rules of
deeplabcut/core/inferenceutils.py ``Assembler`` (extract_best_links 432-489, _assemble 653-800).
"""
import copy

import numpy as np
import pytest
import torch

from posecfg.codecs import PartAffinityFieldGenerator, PartAffinityFieldPredictor
from posecfg.codecs.dlc_paf_predictor import edge_costs, find_peaks, gaussian_kernel
from posecfg.codecs.paf_assembly import Assembly, Joint, overlaps

pytestmark = pytest.mark.usefixtures('one_thread')

STRIDE = 4


def blobs(peaks, k, size=12, values=None):
    """(1, k, size, size) heatmaps with a Gaussian blob (σ = 1 cell) of height ``value`` at
    each (keypoint, row, col)."""
    rows, cols = np.mgrid[:size, :size]
    maps = np.zeros((1, k, size, size), np.float32)
    for n, (kp, r, c) in enumerate(peaks):
        value = 1.0 if values is None else values[n]
        maps[0, kp] = np.maximum(maps[0, kp],
                                 value * np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / 2))
    return torch.from_numpy(maps)


def cell_pixel(r, c):
    return (c * STRIDE + STRIDE // 2, r * STRIDE + STRIDE // 2)


def outputs_for(individuals, graph, k, size=12, width=4.0, values=None):
    """Heatmaps with blobs at each individual's cells, zero locref, PAFs drawn along their
    limbs: individuals = list of {keypoint: (row, col)}."""
    peaks = [(kp, r, c) for ind in individuals for kp, (r, c) in ind.items()]
    gen = PartAffinityFieldGenerator(graph=graph, width=width).at(STRIDE, (size, size))
    points = np.zeros((len(individuals), k, 2), np.float32)
    flags = np.zeros((len(individuals), k), np.float32)
    for n, ind in enumerate(individuals):
        for kp, (r, c) in ind.items():
            points[n, kp] = cell_pixel(r, c)
            flags[n, kp] = 1
    paf = torch.from_numpy(gen.encode(points, flags)['paf_maps'])[None]
    return dict(heatmap=blobs(peaks, k, size, values),
                locref=torch.zeros(1, 2 * k, size, size), paf=paf)


def predictor(**kw):
    args = dict(num_animals=2, num_multibodyparts=3, graph=[[0, 1], [1, 2]],
                edges_to_keep=[0, 1], apply_sigmoid=False, stride=STRIDE)
    args.update(kw)
    return PartAffinityFieldPredictor(**args)


def individuals_of(poses):
    """Assembled individuals → set of tuples of (x, y) per keypoint (None when absent)."""
    found = set()
    for ind in poses:
        if (ind[:, :3] == -1).all():
            continue
        found.add(tuple(None if np.isnan(p[0]) else (round(float(p[0]), 3), round(float(p[1]), 3))
                        for p in ind))
    return found


def test_gaussian_kernel_is_deeplabcuts():
    d = np.arange(-2, 3) ** 2
    w = np.exp(-d / 2.0) / np.exp(-d / 2.0).sum()
    np.testing.assert_allclose(gaussian_kernel(1.0, 5).numpy(), np.outer(w, w), rtol=1e-6)


def test_peaks_and_positions():
    heat = blobs([(0, 3, 4), (0, 8, 9), (1, 5, 5)], k=2)
    peaks = find_peaks(heat, 5, 0.01)
    assert peaks.tolist() == [[0, 0, 3, 4], [0, 0, 8, 9], [0, 1, 5, 5]]
    locref = torch.zeros(1, 4, 12, 12)
    locref[0, 0, 3, 4], locref[0, 1, 3, 4] = 0.5, -0.25  # keypoint 0 offsets (x, y)
    pred = PartAffinityFieldPredictor(num_animals=3, num_multibodyparts=2, graph=[[0, 1]],
                                      apply_sigmoid=False, stride=STRIDE, min_n_links=0)
    out = pred.predict_poses(dict(heatmap=heat, locref=locref, paf=torch.zeros(1, 2, 12, 12)))
    coords = out['preds'][0]['coordinates'][0]
    # x = 4·col + 2 + 0.5·7.2801, y = 4·row + 2 - 0.25·7.2801
    np.testing.assert_allclose(coords[0], [[18 + 0.5 * 7.2801, 14 - 0.25 * 7.2801], [38, 34]],
                               rtol=1e-6)
    np.testing.assert_allclose(coords[1], [[22, 22]])
    # confidence: the smoothed heatmap at the peak (a σ=1 blob under a σ=1 kernel)
    d = np.arange(-5, 6) ** 2
    w = np.exp(-d / 2.0) / np.exp(-d / 2.0).sum()
    expected = (np.outer(w, w) * np.exp(-np.add.outer(d, d) / 2)).sum()
    np.testing.assert_allclose(out['preds'][0]['confidence'][1], [[expected]], rtol=1e-5)


def test_bfloat16_outputs_under_autocast_decode_as_float32():
    """tools/train.py evaluates under posecfg's CPU autocast (bfloat16 on CPUs with native
    bf16): the predictor must decode as it does in float32 (bf16 smoothing would round the
    plateaus into other peaks, and numpy has no bfloat16)."""
    a = {0: (1, 1), 1: (5, 9), 2: (9, 1)}
    b = {0: (2, 11), 1: (6, 2), 2: (11, 10)}
    outputs = outputs_for([a, b], [[0, 1], [1, 2]], 3, size=14)
    expected = predictor().predict_poses(outputs)['poses']
    halved = {name: value.bfloat16() for name, value in outputs.items()}
    with torch.autocast('cpu', dtype=torch.bfloat16):
        poses = predictor().predict_poses(halved)['poses']
    assert poses.dtype == np.float32
    np.testing.assert_allclose(poses, expected, atol=0.05)  # the inputs' bf16 rounding


def test_line_integral_affinities_by_hand():
    pafs = torch.zeros(1, 2, 2, 8, 8)
    pafs[0, 0, 0] = 1.0  # edge 0: field (1, 0) everywhere
    pafs[0, 1, 0], pafs[0, 1, 1] = 0.6, 0.8  # edge 1: field (0.6, 0.8)
    # keypoint 0 at (row 3, col 1); keypoint 1 at (3, 7) and (0, 1); keypoint 2 at (4, 4)
    peaks = torch.tensor([[0, 0, 3, 1], [0, 1, 0, 1], [0, 1, 3, 7], [0, 2, 4, 4]])
    costs = edge_costs(pafs, peaks, [(0, 1), (1, 2)], [0, 1])[0]
    # edge 0: (3,1)→(0,1) vertical: ∫F_x dcol = 0, F_y = 0 → 0; (3,1)→(3,7): 6 / 6 = 1
    np.testing.assert_allclose(costs[0]['m1'], [[0.0, 1.0]])
    np.testing.assert_allclose(costs[0]['distance'], [[3.0, 6.0]])
    # edge 1: (0,1)→(4,4): (0.6·3, 0.8·4) / 5 → |(1.8, 3.2)| / 5 = 0.734 (3 decimals);
    # (3,7)→(4,4): columns 7→4, rows 3→4: |(0.6·-3, 0.8·1)| / √10 = 0.623
    np.testing.assert_allclose(costs[1]['m1'], [[0.734], [0.623]], atol=1e-6)


def test_two_animals_crossing_are_grouped_along_their_limbs():
    # A: (1,1) → (5,9) → (9,1); B: (2,11) → (6,2) → (11,10) (row, col): both limbs cross
    a = {0: (1, 1), 1: (5, 9), 2: (9, 1)}
    b = {0: (2, 11), 1: (6, 2), 2: (11, 10)}
    outputs = outputs_for([a, b], [[0, 1], [1, 2]], 3, size=14)
    out = predictor().predict_poses(outputs)
    expected = {tuple(cell_pixel(*ind[kp]) for kp in range(3)) for ind in (a, b)}
    assert individuals_of(out['poses'][0]) == expected
    assert out['found'][0].tolist() == [True, True]
    # DeepLabCut's layout: x, y, confidence, group -1, mean affinity of the links
    assert (out['poses'][0, :, :, 3] == -1).all() and (out['poses'][0, :, :, 4] > 0.1).all()
    # nearest-neighbour grouping would pair A's keypoint 1 with B's keypoint 0 (3.6 cells
    # apart against 8.9): the PAFs decide
    keypoints, scores = predictor().decode(outputs)
    assert keypoints.shape == (1, 2, 3, 2) and scores.shape == (1, 2, 3)


def test_pose_nms_drops_an_individual_inside_a_better_ones_box():
    # the same crossing with both individuals spanning the same box: DeepLabCut's pose NMS
    # (max_overlap 0.8, Assembler._assemble lines 724-738) keeps the one with the larger
    # summed affinity (B: 0.318 + 0.64 against A: 0.347 + 0.173)
    a = {0: (1, 1), 1: (5, 9), 2: (9, 1)}
    b = {0: (1, 9), 1: (5, 1), 2: (9, 9)}
    outputs = outputs_for([a, b], [[0, 1], [1, 2]], 3)
    found = individuals_of(predictor().predict_poses(outputs)['poses'][0])
    assert found == {tuple(cell_pixel(*b[kp]) for kp in range(3))}
    found = individuals_of(predictor(max_overlap=1.0).predict_poses(outputs)['poses'][0])
    assert len(found) == 2


def test_individuals_need_min_n_links():
    a = {0: (1, 1), 1: (1, 4), 2: (1, 7)}
    c = {0: (8, 1), 1: (8, 4)}  # keypoint 2 missing: one link only
    outputs = outputs_for([a, c], [[0, 1], [1, 2]], 3)
    found = individuals_of(predictor().predict_poses(outputs)['poses'][0])
    assert found == {tuple(cell_pixel(*a[kp]) for kp in range(3))}
    found = individuals_of(predictor(min_n_links=1).predict_poses(outputs)['poses'][0])
    assert found == {tuple(cell_pixel(*a[kp]) for kp in range(3)),
                     (cell_pixel(*c[0]), cell_pixel(*c[1]), None)}
    keypoints, scores = predictor(min_n_links=1).decode(outputs)
    assert np.isnan(keypoints[0]).any() and np.isfinite(keypoints[0]).sum() == 10


def test_at_most_num_animals_most_confident_peaks_are_linked():
    rows = (2, 8, 14)
    animals = [{0: (r, 2), 1: (r, 8), 2: (r, 14)} for r in rows]
    values = [0.5] * 3 + [1.0] * 3 + [0.8] * 3  # animal at row 2 is the least confident
    outputs = outputs_for(animals, [[0, 1], [1, 2]], 3, size=17, values=values)
    found = individuals_of(predictor(num_animals=2).predict_poses(outputs)['poses'][0])
    assert found == {tuple(cell_pixel(r, c) for c in (2, 8, 14)) for r in (8, 14)}
    found = individuals_of(predictor(num_animals=3).predict_poses(outputs)['poses'][0])
    assert len(found) == 3
    # peaks below pcutoff are never linked (smoothed confidences ≈ 0.5, 0.4, 0.25)
    found = individuals_of(predictor(num_animals=3, pcutoff=0.3).predict_poses(outputs)
                           ['poses'][0])
    assert len(found) == 2


def test_min_affinity_and_edges_to_keep():
    a = {0: (1, 1), 1: (1, 4), 2: (1, 7)}
    outputs = outputs_for([a], [[0, 1], [1, 2]], 3)
    outputs['paf'][:, 2:] = 0  # edge 1 has no field: affinity 0 < min_affinity
    pred = predictor(num_animals=2, min_n_links=1)
    found = individuals_of(pred.predict_poses(outputs)['poses'][0])
    assert found == {(cell_pixel(1, 1), cell_pixel(1, 4), None)}
    # only edge 1 kept: no link at all → no individual
    out = predictor(edges_to_keep=[1], min_n_links=1).predict_poses(outputs)
    assert not out['found'].any() and (out['poses'] == -1).all()


def test_no_peaks_gives_no_individuals():
    out = predictor().predict_poses(dict(heatmap=torch.zeros(2, 3, 8, 8),
                                         locref=torch.zeros(2, 6, 8, 8),
                                         paf=torch.zeros(2, 4, 8, 8)))
    assert out['poses'].shape == (2, 2, 3, 5) and (out['poses'] == -1).all()


def test_errors():
    with pytest.raises(ValueError, match='nms_radius=4 must be odd'):
        predictor(nms_radius=4)
    with pytest.raises(ValueError, match='edges_to_keep'):
        predictor(edges_to_keep=[2])
    with pytest.raises(ValueError, match='keypoint 3'):
        predictor(graph=[[0, 3]])
    with pytest.raises(ValueError, match='paf must be'):
        predictor().predict_poses(dict(heatmap=torch.zeros(1, 3, 8, 8),
                                       locref=torch.zeros(1, 6, 8, 8),
                                       paf=torch.zeros(1, 2, 8, 8)))


def test_overlap_of_two_individuals_by_hand():
    # inferenceutils.py Assembly.intersection_with: box (x1, y1, x2, y2) of the two extents'
    # intersection, then min over both of (their points inside) / (their points)
    a, b, c = Assembly(3), Assembly(3), Assembly(3)
    for assembly, points in ((a, [(0, 0), (10, 10), (4, 6)]), (b, [(5, 5), (20, 20), None]),
                             (c, [(30, 30), (40, 40), None])):
        for label, pos in enumerate(points):
            if pos is not None:
                assembly.add_joint(Joint(pos, 1.0, label, label))
    # a ∩ b box: (5, 5)-(10, 10): a has (10, 10) inside → 1/3; b has (5, 5) → 1/2
    expected = np.array([[1, 1 / 3, 0], [1 / 3, 1, 0], [0, 0, 1]])
    np.testing.assert_allclose(overlaps([a, b, c]), expected)


def test_integrating_only_linkable_pairs_changes_no_pose():
    """With the optimal pairing DeepLabCut only reads the pairs of each keypoint's num_animals
    most confident peaks above pcutoff (extract_best_links); posecfg integrates only those
    unless return_preds asks for every pair: same poses on noisy maps with many peaks."""
    torch.manual_seed(0)
    a = {0: (2, 2), 1: (2, 8), 2: (2, 14)}
    b = {0: (12, 3), 1: (9, 9), 2: (13, 14)}
    outputs = outputs_for([a, b], [[0, 1], [1, 2]], 3, size=17)
    outputs = {name: value + 0.3 * torch.randn(value.shape) for name, value in outputs.items()}
    fast = predictor().predict_poses(outputs)
    full = predictor(return_preds=True).predict_poses(outputs)
    np.testing.assert_array_equal(fast['poses'], full['poses'])
    m1_fast = fast['preds'][0]['costs'][0]['m1']
    m1_full = full['preds'][0]['costs'][0]['m1']
    assert m1_full.shape == m1_fast.shape and m1_fast.size > 4  # many peaks per keypoint
    assert not np.isnan(m1_full).any() and np.isnan(m1_fast).sum() > 0
    linked = ~np.isnan(m1_fast)
    np.testing.assert_array_equal(m1_fast[linked], m1_full[linked])
    distance_fast = fast['preds'][0]['costs'][0]['distance']
    np.testing.assert_array_equal(distance_fast[linked],
                                  full['preds'][0]['costs'][0]['distance'][linked])
    assert np.isnan(distance_fast[~linked]).all()  # pairs never integrated: not computed
    assert linked.any(axis=1).sum() <= 2 and linked.any(axis=0).sum() <= 2  # num_animals


def test_dlcrnet_head_keeps_the_individuals_assembled():
    """DLCRNetHead.decode: per image the individuals found, a keypoint one lacks at NaN with
    score 0 (as DeepLabCut: NaN coordinates, confidence 0), and their mean affinities."""
    from posecfg.models.heads import DLCRNetHead
    args = copy.deepcopy(DLCRNetHead.example_args)
    args['predictor'].update(graph=[[0, 1], [1, 2]], edges_to_keep=[0, 1], apply_sigmoid=False,
                             min_n_links=1)
    args['target_generator']['generators'][1]['graph'] = [[0, 1], [1, 2]]
    args['paf_config']['channels'][-1] = 4
    head = DLCRNetHead(**args)
    a = {0: (1, 1), 1: (1, 4), 2: (1, 7)}
    c = {0: (12, 1), 1: (12, 4)}
    outputs = outputs_for([a, c], [[0, 1], [1, 2]], 3, size=17)
    # 17 output cells come from 4 feature cells (2·(2·4) + 1): input 64 px at stride 16 / 4
    preds = head.decode(outputs, (64, 64))
    assert len(preds) == 1
    keypoints, scores = preds[0]['keypoints'], preds[0]['keypoint_scores']
    assert keypoints.shape == (2, 3, 2) and keypoints.dtype == np.float32
    found = {tuple(map(tuple, np.nan_to_num(k, nan=-1.0).tolist())) for k in keypoints}
    assert found == {tuple(cell_pixel(*a[i]) for i in range(3)),
                     (cell_pixel(*c[0]), cell_pixel(*c[1]), (-1.0, -1.0))}
    lacking = [i for i, k in enumerate(keypoints) if np.isnan(k[2]).all()][0]
    assert scores[lacking, 2] == 0 and (scores[lacking, :2] > 0.1).all()
    assert preds[0]['individual_affinities'].shape == (2,)


def test_importing_the_codecs_and_models_leaves_scipy_out():
    # scipy.optimize (the assignment of PAF links) is imported when an assembly needs it: its
    # ~0.7 CPU s import was paid by every process that imported the codecs, e.g. each
    # Lightning Pose video prediction before its first frame
    import subprocess
    import sys
    code = ('import sys, posecfg.codecs, posecfg.models, posecfg.apis.video_inference; '
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))")
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.strip() == '[]', result.stdout + result.stderr
