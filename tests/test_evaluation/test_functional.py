"""OKS, OKS-NMS, PCK, AUC, EPE and acc_pose on hand-computed cases."""
import numpy as np
import pytest

from posecfg.evaluation.functional import (keypoint_auc, keypoint_epe, keypoint_oks,
                                           keypoint_pck_accuracy, oks_iou, oks_nms,
                                           pose_pck_accuracy, soft_oks_nms)

SIGMAS = np.array([0.1, 0.1])  # variance (2 sigma)² = 0.04


def test_oks_by_hand():
    gt = np.array([[10.0, 10.0], [20.0, 20.0]])
    pred = np.array([[[12.0, 10.0], [20.0, 20.0]]])  # keypoint 0 off by 2 px
    # e = d² / (2 sigma)² / area / 2 = 4 / 0.04 / 100 / 2 = 0.5
    oks = keypoint_oks(pred, gt, [2, 2], area=100, sigmas=SIGMAS)
    assert oks[0] == pytest.approx((np.exp(-0.5) + 1) / 2)
    assert keypoint_oks(pred[0], gt, [2, 0], area=100, sigmas=SIGMAS) == pytest.approx(
        np.exp(-0.5))  # only labelled keypoints count
    # use_area=False: area = w * h * 0.53 (xtcocotools)
    oks = keypoint_oks(pred[0], gt, [2, 0], area=1, sigmas=SIGMAS, gt_bbox=[0, 0, 10, 100 / 5.3],
                       use_area=False)
    assert oks == pytest.approx(np.exp(-0.5))


def test_oks_counts_a_missing_predicted_keypoint_as_zero():
    gt = np.array([[10.0, 10.0], [20.0, 20.0]])
    pred = np.array([[10.0, 10.0], [np.nan, np.nan]])  # perfect, second keypoint missing
    assert keypoint_oks(pred, gt, [2, 2], area=100, sigmas=SIGMAS) == pytest.approx(0.5)
    assert keypoint_oks(pred, gt, [2, 0], area=100, sigmas=SIGMAS) == 1.0
    assert keypoint_oks(pred, np.zeros((2, 2)), [0, 0], 100, SIGMAS,
                        gt_bbox=[0, 0, 30, 30]) == pytest.approx(0.5)


def test_oks_without_labelled_keypoints_measures_distance_to_the_doubled_box():
    gt = np.zeros((2, 2))
    # box (0, 0, 10, 10): the allowed region is [-10, 20] x [-10, 20]
    inside = keypoint_oks(np.array([[5.0, 5.0], [19.0, -9.0]]), gt, [0, 0], 100, SIGMAS,
                          gt_bbox=[0, 0, 10, 10])
    assert inside == 1.0
    outside = keypoint_oks(np.array([[22.0, 5.0], [5.0, 5.0]]), gt, [0, 0], 100, SIGMAS,
                           gt_bbox=[0, 0, 10, 10])
    assert outside == pytest.approx((np.exp(-0.5) + 1) / 2)
    with pytest.raises(ValueError, match='pass gt_bbox'):
        keypoint_oks(np.zeros((2, 2)), gt, [0, 0], 100, SIGMAS)
    with pytest.raises(ValueError, match=r'one value per keypoint \(2\), got 3'):
        keypoint_oks(np.zeros((2, 2)), gt, [1, 1], 100, [0.1, 0.1, 0.1])
    with pytest.raises(ValueError, match='needs per-keypoint sigmas'):
        keypoint_oks(np.zeros((2, 2)), gt, [1, 1], 100, None)


def test_oks_iou_uses_the_mean_area_and_vis_thr():
    g = np.array([[10.0, 10.0, 0.9], [20.0, 20.0, 0.9]])
    d = np.array([[[12.0, 10.0, 0.9], [20.0, 20.0, 0.1]]])
    # mean area (50 + 150) / 2 = 100 -> e0 = 0.5
    assert oks_iou(g, d, 50.0, [150.0], SIGMAS)[0] == pytest.approx((np.exp(-0.5) + 1) / 2)
    assert oks_iou(g, d, 50.0, [150.0], SIGMAS, vis_thr=0.2)[0] == pytest.approx(np.exp(-0.5))
    d[0, 0, 2] = 0.1
    assert oks_iou(g, d, 50.0, [150.0], SIGMAS, vis_thr=0.2)[0] == 0.0


def poses():
    base = np.array([[10.0, 10.0, 1.0], [20.0, 20.0, 1.0]])
    near = base + [0.1, 0.0, 0.0]
    far = base + [100.0, 0.0, 0.0]
    return [dict(keypoints=near, score=0.8, area=100.0),
            dict(keypoints=base, score=0.9, area=100.0),
            dict(keypoints=far, score=0.7, area=100.0)]


def test_oks_nms_drops_the_duplicate():
    keep = oks_nms(poses(), thr=0.9, sigmas=SIGMAS)
    assert keep.tolist() == [1, 2]
    assert oks_nms(poses(), thr=1.0, sigmas=SIGMAS).tolist() == [1, 0, 2]  # nothing above 1
    assert oks_nms([], 0.9, SIGMAS).tolist() == []
    with pytest.raises(KeyError, match="one has no 'area'"):
        oks_nms([dict(keypoints=np.zeros((2, 3)), score=1.0)], 0.9, SIGMAS)


def test_soft_oks_nms_ranks_the_duplicate_last():
    # the duplicate's score 0.8 decays by exp(-oks² / 0.9) with oks ~ 1: 0.26 < 0.7
    assert soft_oks_nms(poses(), thr=0.9, sigmas=SIGMAS).tolist() == [1, 2, 0]
    assert soft_oks_nms(poses(), thr=0.9, sigmas=SIGMAS, max_dets=2).tolist() == [1, 2]


def pck_case():
    gt = np.zeros((1, 3, 2))
    pred = np.array([[[1.0, 0.0], [3.0, 0.0], [50.0, 0.0]]])
    mask = np.array([[True, True, False]])
    return pred, gt, mask


def test_pck_by_hand():
    pred, gt, mask = pck_case()
    acc, avg, cnt = keypoint_pck_accuracy(pred, gt, mask, 0.2, np.array([[10.0, 10.0]]))
    # distances 0.1 (hit), 0.3 (miss), masked (-1)
    assert acc.tolist() == [1.0, 0.0, -1.0] and avg == 0.5 and cnt == 2
    # an instance with a zero normalizer is left out
    acc, avg, cnt = keypoint_pck_accuracy(pred, gt, mask, 0.2, np.array([[0.0, 10.0]]))
    assert acc.tolist() == [-1, -1, -1] and avg == 0 and cnt == 0
    with pytest.raises(ValueError, match=r'normalize must be \(N, D\) = \(1, 2\)'):
        keypoint_pck_accuracy(pred, gt, mask, 0.2, np.array([10.0, 10.0]))


def test_auc_and_epe_by_hand():
    pred, gt, mask = pck_case()
    # thresholds 0, .25, .5, .75 of 10 px; distances 0.1 and 0.3: PCK 0, .5, 1, 1
    assert keypoint_auc(pred, gt, mask, 10.0, num_thrs=4) == pytest.approx(0.625)
    assert keypoint_epe(pred, gt, mask) == pytest.approx(2.0)
    assert keypoint_epe(pred, gt, np.zeros((1, 3), bool)) == 0.0
    with pytest.raises(ValueError, match=r'mask \(N, K\); got pred \(1, 3, 2\)'):
        keypoint_epe(pred, gt, mask[0])


def test_pose_pck_accuracy_normalizes_x_by_height_and_y_by_width_as_mmpose():
    output = np.zeros((1, 2, 64, 48), dtype=np.float32)
    target = np.zeros_like(output)
    output[0, 0, 10, 10] = target[0, 0, 10, 12] = 1  # dx = 2: 2 / 64 = 0.031 < 0.05
    output[0, 1, 10, 10] = target[0, 1, 13, 10] = 1  # dy = 3: 3 / 48 = 0.0625 >= 0.05
    acc, avg, cnt = pose_pck_accuracy(output, target, np.ones((1, 2), bool))
    assert acc.tolist() == [1.0, 0.0] and avg == 0.5 and cnt == 2
    acc, _, cnt = pose_pck_accuracy(output, target, np.array([[True, False]]))
    assert acc.tolist() == [1.0, -1.0] and cnt == 1
    assert pose_pck_accuracy(output[:, :0], target[:, :0], np.ones((1, 0), bool)) == (None, 0, 0)
    with pytest.raises(ValueError, match=r'\(N, K, H, W\) of one shape'):
        pose_pck_accuracy(output, target[:, :1], np.ones((1, 2), bool))


def test_match_instances_minimises_the_total_distance():
    """Oracle: every assignment tried."""
    import itertools
    from posecfg.evaluation.functional import match_instances
    rng = np.random.default_rng(3)
    for n, m in ((3, 3), (2, 4), (4, 2)):
        gt = rng.uniform(0, 100, (m, 5, 2))
        visible = rng.random((m, 5)) > 0.3
        visible[:, 0] = True
        pred = gt[rng.permutation(m)][:n] + rng.normal(0, 3, (min(n, m), 5, 2)) \
            if n <= m else rng.uniform(0, 100, (n, 5, 2))

        def cost(p, g):
            d = np.linalg.norm(pred[p] - gt[g], axis=-1)
            return d[visible[g]].mean()

        best = min(sum(cost(p, g) for p, g in zip(ps, gs))
                   for gs in itertools.permutations(range(m), min(n, m))
                   for ps in [range(min(n, m))]) if n <= m else \
            min(sum(cost(p, g) for p, g in zip(ps, range(m)))
                for ps in itertools.permutations(range(n), m))
        rows, cols = match_instances(pred, gt, visible)
        assert len(rows) == min(n, m) and len(set(cols)) == len(cols)
        assert sum(cost(p, g) for p, g in zip(rows, cols)) == pytest.approx(best)
    # ground truth without a labelled keypoint is never paired; one and one pair directly
    rows, cols = match_instances(np.zeros((2, 5, 2)), np.zeros((2, 5, 2)),
                                 np.array([[0] * 5, [1] * 5]))
    assert cols.tolist() == [1]
    assert [a.tolist() for a in match_instances(np.zeros((1, 5, 2)), np.ones((1, 5, 2)),
                                                np.ones((1, 5)))] == [[0], [0]]
