"""DeepLabCut's multi-animal prediction conventions and identity accuracy, by hand.

Oracles: post_processing/identity.py ``assign_identity`` (checked here against a brute force
over every assignment), core/crossvalutils.py ``find_closest_neighbors`` (greedy, queries in
order of their nearest distance, k=3), core/metrics/identity.py ``compute_identity_scores``
(accuracy of the arg-max identity at the prediction closest to each visible label).
"""
import itertools

import numpy as np
import pytest

from posecfg.evaluation.functional.dlc_identity import (closest_neighbors, identity_accuracy,
                                                        identity_order, pad_poses)


def test_pad_poses_with_minus_one():
    poses = np.arange(12, dtype=float).reshape(2, 2, 3)
    out = pad_poses(poses, 3)
    assert out.shape == (3, 2, 3)
    np.testing.assert_array_equal(out[:2], poses)
    assert (out[2] == -1).all()
    np.testing.assert_array_equal(pad_poses(poses, 1), poses[:1])


def brute_force_order(poses, scores):
    """new_order maximising sum_j cost[new_order[j], j], cost = mean_k(conf_k * id_k)."""
    cost = np.mean(poses[:, :, 2:3] * scores, axis=1)
    best = max(itertools.permutations(range(len(poses))),
               key=lambda perm: sum(cost[p, j] for j, p in enumerate(perm)))
    return list(best)


def test_identity_order_is_deeplabcuts_assignment():
    # pose 0 looks like individual 1, pose 1 like individual 0
    poses = np.array([[[0, 0, 0.9], [1, 1, 0.8]], [[5, 5, 0.7], [6, 6, 0.9]]], float)
    scores = np.array([[[0.1, 0.9], [0.2, 0.8]], [[0.8, 0.1], [0.7, 0.3]]])
    assert identity_order(poses, scores).tolist() == [1, 0]
    # with a padded row (-1 pose, -1 identity scores: cost +1 for every identity)
    padded = pad_poses(poses, 3)
    padded_scores = np.concatenate([np.pad(scores, ((0, 0), (0, 0), (0, 1))),
                                    -np.ones((1, 2, 3))])
    order = identity_order(padded, padded_scores)
    assert order.tolist() == brute_force_order(padded, padded_scores)
    assert sorted(order.tolist()) == [0, 1, 2]


def test_closest_neighbors_greedy_by_distance():
    query = np.array([[0.0, 0.0], [10.0, 0.0]])
    ref = np.array([[1.0, 0.0], [9.0, 0.0], [0.5, 0.0]])
    assert closest_neighbors(query, ref).tolist() == [2, 1]
    # both want the one reference point: the closer query (1, 0) gets it
    assert closest_neighbors(np.array([[0.0, 0.0], [1.0, 0.0]]),
                             np.array([[0.9, 0.0]])).tolist() == [-1, 0]
    assert closest_neighbors(np.zeros((0, 2)), ref).tolist() == []
    assert closest_neighbors(query, np.zeros((0, 2))).tolist() == [-1, -1]


def test_identity_accuracy_by_hand():
    # 2 individuals, bodyparts a, b; individual 1's b is not labelled
    gt = np.array([[[10, 10, 1], [20, 20, 1]],
                   [[50, 50, 1], [0, 0, 0]]], float)
    # predictions at the labels (in swapped row order), a padded third row at (-1, -1)
    poses = pad_poses(np.array([[[50, 50, 0.9], [60, 60, 0.9]],
                                [[10, 10, 0.9], [20, 20, 0.9]]], float), 3)
    ids = -np.ones((3, 2, 2))
    ids[0] = [[0.1, 0.9], [0.1, 0.9]]  # the pose at individual 1: says 1 (a) and 1 (b)
    ids[1] = [[0.8, 0.2], [0.3, 0.7]]  # the pose at individual 0: says 0 (a right), 1 (b wrong)
    accuracy = identity_accuracy(['a', 'b'], 2, {'img': poses}, {'img': ids}, {'img': gt})
    # a: individual 0 → pose 1 → 0 (right), individual 1 → pose 0 → 1 (right): 2/2
    # b: individual 0 → pose 1 → 1 (wrong); individual 1 unlabelled: 0/1
    assert accuracy == {'a_accuracy': 1.0, 'b_accuracy': 0.0}
    with pytest.raises(ValueError, match='every ground-truth image'):
        identity_accuracy(['a', 'b'], 2, {}, {}, {'img': gt})
