"""DeepLabCut's RMSE and OKS mAP/mAR, against values computed by hand in the tests.

(The functions were also compared with DeepLabCut 3.0.2's own deeplabcut.core.metrics on 59
random single/multi-animal cases with unique bodyparts and per-bodypart cutoffs: identical.)
"""
import math

import numpy as np
import pytest

from posecfg.evaluation.functional.dlc_metrics import (compute_metrics, keypoint_similarity,
                                                        prepare_evaluation_data)


def _pose(xy, third):
    xy = np.asarray(xy, dtype=float)
    return np.concatenate([xy, np.full(xy.shape[:-1] + (1,), third, float)], -1)


def test_oks_by_hand():
    gt = np.array([[0., 0.], [10., 0.], [0., 20.], [np.nan, np.nan]])
    pred = np.array([[1., 0.], [10., 2.], [np.nan, np.nan], [5., 5.]])
    # area = (10 + eps) * (20 + eps); k² = (2 * 0.1)²; visible gt: first three
    area = (10 + np.spacing(1)) * (20 + np.spacing(1))
    denom = 2 * area * 0.04
    expected = (math.exp(-1 / denom) + math.exp(-4 / denom) + 0.0) / 3  # missing → exp(-inf)
    assert keypoint_similarity(pred, gt) == pytest.approx(expected, rel=1e-12)
    assert math.isnan(keypoint_similarity(pred, np.array([[0., 0.], [np.nan, np.nan]] * 2)))


def test_single_animal_rmse_and_cutoff():
    # two images, 3 bodyparts; errors 3-4-5 triangles etc.
    gt = {'a': _pose([[[0, 0], [10, 10], [20, 20]]], 2),
          'b': _pose([[[5, 5], [15, 15], [np.nan, np.nan]]], 2)}
    pred = {'a': np.array([[[3, 4, 0.9], [10, 10, 0.2], [20, 25, 0.8]]]),
            'b': np.array([[[5, 5, 0.7], [21, 23, 0.9], [0, 0, 0.9]]])}
    res = compute_metrics(gt, pred, single_animal=True, pcutoff=0.6, per_keypoint=True)
    # distances: a: 5, 0, 5; b: 0, 10 (6-8-10), gt missing → NaN
    assert res['rmse'] == pytest.approx((5 + 0 + 5 + 0 + 10) / 5)
    # score >= 0.6: a: 5 (0.9), 5 (0.8); b: 0 (0.7), 10 (0.9) → 20 / 4
    assert res['rmse_pcutoff'] == pytest.approx(20 / 4)
    assert res['rmse_keypoint_0'] == pytest.approx(2.5)
    assert res['rmse_keypoint_1'] == pytest.approx(5.0)
    assert res['rmse_keypoint_2'] == pytest.approx(5.0)
    per_bp = compute_metrics(gt, pred, single_animal=True, pcutoff=[0.95, 0.1, 0.1])
    # bodypart cutoffs: 0.95 removes both bodypart-0 errors; the rest pass → (0+5+10)/3
    assert per_bp['rmse_pcutoff'] == pytest.approx(15 / 3)
    assert list(res)[:2] == ['rmse', 'rmse_pcutoff'] and list(res)[-2:] == ['mAP', 'mAR']


def test_map_perfect_and_empty():
    gt = {'a': _pose([[[0, 0], [10, 0], [0, 10]]], 2)}
    perfect = compute_metrics(gt, {'a': _pose([[[0, 0], [10, 0], [0, 10]]], 0.9)},
                              single_animal=True)
    assert perfect['mAP'] == pytest.approx(100.0) and perfect['mAR'] == pytest.approx(100.0)
    assert perfect['rmse'] == 0.0
    none = compute_metrics(gt, {'a': np.zeros((0, 3, 3))})
    assert none['mAP'] == 0 and none['mAR'] == 0 and math.isnan(none['rmse'])


def test_map_multi_animal_by_hand():
    """Two animals, three predictions: one exact (score .9), one with OKS 0.72 (score .8), one
    false positive (score .95). Hand-computed precision/recall per threshold."""
    g1 = np.array([[0., 0.], [10., 0.], [0., 10.]])
    g2 = g1 + 100
    area = (10 + np.spacing(1)) ** 2
    denom = 2 * area * 0.04
    # shift all points of animal 2's prediction by d so that OKS = exp(-d² / denom) = 0.72,
    # between two thresholds (0.70, 0.75): at a threshold itself the last bit of exp decides
    d = math.sqrt(-math.log(0.72) * denom)
    p_exact, p_shift = g1, g2 + [d, 0]
    p_false = g1 + 50
    gt = {'img': _pose(np.stack([g1, g2]), 2)}
    pred = {'img': np.stack([_pose(p_false, 0.95), _pose(p_exact, 0.9), _pose(p_shift, 0.8)])}
    res = compute_metrics(gt, pred)
    # thresholds t: order by score = [false, exact, shifted]; TP flags [0, 1, t <= 0.72]
    precisions, recalls = [], []
    recall_points = np.linspace(0, 1, 101)
    for t in np.linspace(0.5, 0.95, 10):
        tp = np.cumsum([0, 1, 0.72 >= t])
        fp = np.arange(1, 4) - tp
        rc = tp / 2
        pr = tp / (tp + fp + np.spacing(1))
        pr = np.maximum.accumulate(pr[::-1])[::-1]
        sampled = [pr[np.searchsorted(rc, r, 'left')] if np.searchsorted(rc, r, 'left') < 3
                   else 0 for r in recall_points]
        precisions.append(np.mean(sampled))
        recalls.append(rc[-1])
    assert res['mAP'] == pytest.approx(100 * np.mean(precisions), rel=1e-9)
    assert res['mAR'] == pytest.approx(100 * np.mean(recalls), rel=1e-9)
    # RMSE: matching at OKS >= 1e-6; the false positive has OKS ~0 with both → unmatched
    assert res['rmse'] == pytest.approx(d * 3 / 6)


def test_prepare_drops_invisible_and_sorts():
    gt = {'a': np.array([[[1, 1, 2], [2, 2, 0]], [[np.nan, np.nan, 2], [3, 3, -1]]], float)}
    pred = {'a': np.array([[[0, 0, 0.1], [0, 0, 0.2]], [[0, 0, 0.9], [0, 0, -1]]], float)}
    [(g, p)] = prepare_evaluation_data(gt, pred)
    assert g.shape == (1, 2, 3) and np.isnan(g[0, 1]).all()
    assert p[0, 0, 2] == 0.9 and np.isnan(p[0, 1]).all()  # score < 0 → NaN, sorted by mean


def test_keypoint_missing_from_an_assembly_counts_nowhere():
    """A decoded individual lacking a keypoint (NaN x, y, score 0: DeepLabCut's Assembly and
    posecfg's DLCRNetHead.decode) through dlc_poses: that keypoint adds no distance and no OKS
    term, its 0 still lowers the individual's mean score."""
    from posecfg.evaluation.metrics.dlc_rmse import dlc_poses
    gt = _pose([[[0., 0.], [10., 0.], [0., 20.]]], 2.0)
    keypoints = np.array([[[0.6, 0.8], [10.6, 0.8], [np.nan, np.nan]]], np.float32)
    scores = np.array([[0.9, 0.9, 0.0]], np.float32)
    pred = dlc_poses(keypoints, scores)
    assert np.isnan(pred[0, 2, :2]).all() and pred[0, 2, 2] == 0
    # distances 1 and 1 (the missing point: none); OKS = (2 exp(-1 / (2 area 0.04)) + 0) / 3
    # = 0.626 with area = 10 x 20: matched at OKS thresholds 0.50, 0.55, 0.60 → 3 of 10
    area = (10 + np.spacing(1)) * (20 + np.spacing(1))
    oks = 2 * math.exp(-1 / (2 * area * 0.04)) / 3
    assert 0.60 < oks < 0.65
    out = compute_metrics({'img': gt}, {'img': pred}, pcutoff=0.6)
    assert out['rmse'] == pytest.approx(1.0, rel=1e-6)
    assert out['rmse_pcutoff'] == pytest.approx(1.0, rel=1e-6)
    assert out['mAP'] == pytest.approx(30.0) and out['mAR'] == pytest.approx(30.0)
    (_, sorted_pred), = prepare_evaluation_data({'img': gt}, {'img': pred})
    assert np.nanmean(sorted_pred[0, :, 2]) == pytest.approx(0.6)
