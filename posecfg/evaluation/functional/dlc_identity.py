"""DeepLabCut 3's multi-animal prediction conventions and identity-head accuracy (numpy).

Facts (DeepLabCut 3.0.x, mirror HEAD 2df0f46c8):

* a bottom-up model's per-image poses are padded to ``max_individuals`` rows of ``-1``
  (data/postprocessor.py ``build_bottom_up_postprocessor``: ``PadOutputs(pad_value=-1)``;
  the PAF predictor itself starts from ``-torch.ones``), and a keypoint missing from an
  assembly is NaN; both reach the evaluation ``.h5`` as they are
  (apis/utils.py ``build_predictions_dataframe``);
* with an identity head, each pose's identity scores are the identity maps at its keypoints
  (``PredictKeypointIdentities``), padded with -1 like the poses, and the rows are reordered so
  that row ``j`` is the pose assigned to individual ``j``
  (``AssignIndividualIdentities`` → post_processing/identity.py ``assign_identity``:
  ``linear_sum_assignment`` maximising ``mean_k(score_k · id_score_k)``, then
  ``new_order[identity] = pose``). A padded row has score -1 and identity scores -1, so its cost
  is +1: DeepLabCut's assignment prefers padded rows; posecfg reproduces the ordering as is
  (a keypoint missing from an assembly, NaN, adds 0 to the cost, where DeepLabCut's
  ``linear_sum_assignment`` would refuse the NaN);
* identity accuracy (core/metrics/identity.py ``compute_identity_scores``, reported by
  apis/evaluation.py as ``id_head_<bodypart>_accuracy``): per image and bodypart, each visible
  ground-truth keypoint of individual ``j`` takes the closest predicted keypoint of that
  bodypart (``crossvalutils.find_closest_neighbors``, k=3, greedy in order of distance, a
  prediction used once), whose identity is the arg-max of its identity scores; accuracy =
  correct / matched over all images and individuals (sklearn ``accuracy_score``).
"""
from __future__ import annotations

from typing import Dict, Mapping, Sequence

import numpy as np

#: DeepLabCut's value for a pose row beyond the predicted individuals
PAD_VALUE = -1.0


def pad_poses(poses: np.ndarray, rows: int) -> np.ndarray:
    """(N, K, C) → (rows, K, C): the first ``rows`` poses, then rows of -1."""
    poses = np.asarray(poses, np.float64)
    out = np.full((rows,) + poses.shape[1:], PAD_VALUE)
    n = min(rows, len(poses))
    out[:n] = poses[:n]
    return out


def identity_order(poses: np.ndarray, identity_scores: np.ndarray) -> np.ndarray:
    """DeepLabCut's ``assign_identity``: padded poses (I, K, 3) and identity scores (I, K, I)
    → ``new_order`` (I,), row ``j`` of the reordered poses is pose ``new_order[j]``."""
    from scipy.optimize import linear_sum_assignment
    poses = np.asarray(poses, np.float64)
    scores = np.asarray(identity_scores, np.float64)
    if len(poses) != len(scores):
        raise ValueError(f'{len(poses)} poses but {len(scores)} identity score rows')
    # a keypoint missing from an assembly (NaN score) adds 0: DeepLabCut's NaN cost would make
    # linear_sum_assignment fail
    cost = np.mean(np.nan_to_num(poses[:, :, 2:3] * scores, nan=0.0), axis=1)
    rows, cols = linear_sum_assignment(cost, maximize=True)
    order = np.zeros_like(rows)
    order[cols] = rows
    return order


def closest_neighbors(query: np.ndarray, ref: np.ndarray, k: int = 3) -> np.ndarray:
    """DeepLabCut's ``find_closest_neighbors``: for each query point (Q, 2) the index of a
    reference point (R, 2), queries served in order of their nearest distance, each taking its
    nearest of ``k`` not yet taken; -1 when none is left."""
    from scipy.spatial import cKDTree
    query = np.asarray(query, np.float64).reshape(-1, 2)
    ref = np.asarray(ref, np.float64).reshape(-1, 2)
    neighbors = np.full(len(query), -1, dtype=int)
    if len(query) == 0 or len(ref) == 0:
        return neighbors
    tree = cKDTree(ref)
    dist, inds = tree.query(query, k=k)
    dist, inds = dist.reshape(len(query), -1), inds.reshape(len(query), -1)
    order = np.argsort(dist[:, 0])
    picked = {tree.n}
    for i, candidates in zip(order, inds[order]):
        for j in candidates:
            if j not in picked:
                picked.add(j)
                neighbors[i] = j
                break
        if len(picked) == len(ref) + 1:
            break
    return neighbors


def identity_accuracy(bodyparts: Sequence[str], num_individuals: int,
                      predictions: Mapping[object, np.ndarray],
                      identity_scores: Mapping[object, np.ndarray],
                      ground_truth: Mapping[object, np.ndarray]) -> Dict[str, float]:
    """``{<bodypart>_accuracy}`` as DeepLabCut's ``compute_identity_scores``.

    Args:
        predictions: image → poses (P, K, 3) (x, y, score; -1 padding, NaN missing).
        identity_scores: image → (P, K, I).
        ground_truth: image → (I, K, 3) x, y, visibility, row ``j`` = individual ``j``.
    """
    if len(predictions) != len(ground_truth):
        raise ValueError('identity accuracy needs predictions for every ground-truth image')
    k = len(bodyparts)
    truth, guess = [[] for _ in range(k)], [[] for _ in range(k)]
    for image, gt in ground_truth.items():
        gt = np.array(gt, np.float64)
        gt[gt[..., 2] <= 0, :2] = np.nan
        pred = np.asarray(predictions[image], np.float64)[..., :2]
        scores = np.asarray(identity_scores[image], np.float64)
        for b in range(k):
            gt_b, pred_b, id_b = gt[:num_individuals, b, :2], pred[:, b], scores[:, b]
            visible = np.flatnonzero(~np.isnan(gt_b).any(axis=1))
            finite = np.isfinite(pred_b).all(axis=1)
            neighbors = closest_neighbors(gt_b[visible], pred_b[finite])
            found = neighbors != -1
            truth[b] += visible[found].tolist()
            guess[b] += np.argmax(id_b[finite][neighbors[found]], axis=1).tolist()
    out = {}
    for b, name in enumerate(bodyparts):
        t, g = np.asarray(truth[b]), np.asarray(guess[b])
        out[f'{name}_accuracy'] = float(np.mean(t == g)) if len(t) else float('nan')
    return out
