"""PCK, AUC and end-point error on keypoint coordinates (MMPose 0.x ``top_down_eval``).

Shapes: pred and gt (N, K, 2) (x, y) in any common unit (pixels or heatmap cells), mask (N, K)
bool (True where the ground truth is labelled), normalize (N, 2) per-instance factors in that
unit. Everything is vectorized over instances, keypoints and thresholds.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np


def _checked(pred, gt, mask) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    mask = np.asarray(mask).astype(bool)
    if pred.ndim != 3 or pred.shape != gt.shape or mask.shape != pred.shape[:2]:
        raise ValueError(f'pred and gt must be (N, K, D) and mask (N, K); got pred {pred.shape}, '
                         f'gt {gt.shape}, mask {mask.shape}')
    return pred, gt, mask


def normalized_distances(pred, gt, mask, normalize) -> np.ndarray:
    """(N, K) distances ``|(pred - gt) / normalize|``, -1 where masked out.

    As MMPose 0.x, an instance with a 0 in ``normalize`` is masked out entirely, and a negative
    factor is replaced by 1e6 (so that instance's distances are close to 0).
    """
    pred, gt, mask = _checked(pred, gt, mask)
    normalize = np.asarray(normalize, dtype=np.float64)
    if normalize.shape != (pred.shape[0], pred.shape[2]):
        raise ValueError(f'normalize must be (N, D) = {(pred.shape[0], pred.shape[2])}, got '
                         f'{normalize.shape}')
    mask = mask & ~(normalize == 0).any(axis=1)[:, None]
    normalize = np.where(normalize <= 0, 1e6, normalize)
    distances = np.linalg.norm((pred - gt) / normalize[:, None, :], axis=-1)
    return np.where(mask, distances, -1.0)


def _pck_from_distances(distances: np.ndarray, thrs: np.ndarray):
    """Per-threshold PCK. distances (N, K) with -1 = invalid; thrs (T,).

    Returns acc (T, K) (-1 for keypoints with no valid instance), avg (T,) (mean over keypoints
    with a valid instance, 0 if none) and cnt (number of such keypoints).
    """
    valid = distances != -1
    counts = valid.sum(axis=0)  # (K,)
    hits = ((distances[None] < thrs[:, None, None]) & valid[None]).sum(axis=1)  # (T, K)
    has = counts > 0
    acc = np.where(has, hits / np.maximum(counts, 1), -1.0)
    cnt = int(has.sum())
    avg = acc[:, has].mean(axis=1) if cnt else np.zeros(len(thrs))
    return acc, avg, cnt


def keypoint_pck_accuracy(pred, gt, mask, thr: float, normalize) -> Tuple[np.ndarray, float, int]:
    """PCK: the fraction of keypoints within ``thr`` (normalized distance) of the ground truth.

    Args:
        pred, gt: (N, K, 2). mask: (N, K) bool. thr: threshold on the normalized distance.
        normalize: (N, 2) per-instance normalization (e.g. bbox size, head size).

    Returns:
        acc (K,) per-keypoint PCK (-1 where no instance has the keypoint labelled), avg_acc the
        mean over keypoints that have one (0 if none), cnt the number of such keypoints.
    """
    distances = normalized_distances(pred, gt, mask, normalize)
    acc, avg, cnt = _pck_from_distances(distances, np.array([thr], dtype=np.float64))
    return acc[0], float(avg[0]), cnt


def keypoint_auc(pred, gt, mask, normalize: float, num_thrs: int = 20) -> float:
    """Area under the PCK curve for thresholds ``0, 1/num_thrs, ..., (num_thrs - 1)/num_thrs``.

    ``normalize`` is one scalar factor in the unit of pred/gt (MMPose's ``auc_nor``, 30 pixels
    by default in its datasets). Returns the mean PCK over those thresholds.
    """
    pred, gt, mask = _checked(pred, gt, mask)
    factors = np.full((pred.shape[0], pred.shape[2]), float(normalize))
    distances = normalized_distances(pred, gt, mask, factors)
    _, avg, _ = _pck_from_distances(distances, np.arange(num_thrs, dtype=np.float64) / num_thrs)
    return float(avg.mean())


def keypoint_epe(pred, gt, mask) -> float:
    """Mean end-point error: the average Euclidean distance over labelled keypoints (0 if none)."""
    pred, gt, mask = _checked(pred, gt, mask)
    distances = np.linalg.norm(pred - gt, axis=-1)[mask]
    return float(distances.sum() / max(1, distances.size))


def pose_pck_accuracy(output, target, mask, thr: float = 0.05,
                      normalize: Optional[np.ndarray] = None) -> Tuple[np.ndarray, float, int]:
    """Training-time ``acc_pose``: PCK between the arg-max cells of predicted and target heatmaps.

    Args:
        output, target: (N, K, H, W) numpy heatmaps (model output and training target).
        mask: (N, K) bool, True where the target weight is positive.
        thr: threshold on the normalized distance.
        normalize: (N, 2); by default MMPose 0.x's ``[H, W]`` per instance, applied to (x, y)
            in that order (so x is divided by H and y by W, as MMPose computes it; the same
            as ``[H, W] / 10`` at ``thr * 10``).

    Returns:
        acc (K,), avg_acc, cnt as :func:`keypoint_pck_accuracy`; (None, 0, 0) when K is 0.
    """
    from posecfg.codecs.maximum import get_heatmap_maximum  # numpy only, no model code
    output = np.asarray(output)
    target = np.asarray(target)
    if output.ndim != 4 or output.shape != target.shape:
        raise ValueError(f'output and target must be (N, K, H, W) of one shape, got '
                         f'{output.shape} and {target.shape}')
    n, k, height, width = output.shape
    if k == 0:
        return None, 0, 0
    if normalize is None:
        normalize = np.tile(np.array([[height, width]], dtype=np.float64), (n, 1))
    pred, _ = get_heatmap_maximum(output)
    gt, _ = get_heatmap_maximum(target)
    return keypoint_pck_accuracy(pred, gt, mask, thr, normalize)
