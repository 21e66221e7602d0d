"""Pairing predicted instances with ground-truth instances of one image (for per-keypoint
metrics on images with several instances: PCK, EPE, DeepLabCut's RMSE after matching)."""
from __future__ import annotations

from typing import Tuple

import numpy as np


def match_instances(pred: np.ndarray, gt: np.ndarray, gt_visible: np.ndarray
                    ) -> Tuple[np.ndarray, np.ndarray]:
    """The one-to-one pairing of predictions and ground truths with the least total distance.

    Args:
        pred: (N, K, 2) predicted keypoints, pixels.
        gt: (M, K, 2) ground-truth keypoints, pixels.
        gt_visible: (M, K) labelled flags; a ground truth's cost to a prediction is the mean
            distance over its labelled keypoints.

    Returns:
        (pred_index, gt_index), two int64 arrays of length min(N, M') (M' the ground truths with
        a labelled keypoint), pairs minimising the summed cost (Hungarian algorithm). One
        prediction and one ground truth are paired directly (top-down samples).
    """
    pred = np.asarray(pred, dtype=np.float64).reshape(-1, *np.shape(gt)[1:])
    gt = np.asarray(gt, dtype=np.float64)
    visible = np.asarray(gt_visible).reshape(gt.shape[:2]) > 0
    labelled = np.flatnonzero(visible.any(axis=1))
    if len(pred) == 0 or len(labelled) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if len(pred) == 1 and len(labelled) == 1:
        return np.zeros(1, np.int64), labelled.astype(np.int64)
    from scipy.optimize import linear_sum_assignment
    distances = np.linalg.norm(pred[:, None] - gt[None, labelled], axis=-1)  # (N, M', K)
    mask = visible[labelled][None]
    cost = (distances * mask).sum(axis=-1) / mask.sum(axis=-1)
    cost = np.where(np.isfinite(cost), cost, 1e12)  # a non-finite prediction pairs last
    rows, cols = linear_sum_assignment(cost)
    return rows.astype(np.int64), labelled[cols].astype(np.int64)
