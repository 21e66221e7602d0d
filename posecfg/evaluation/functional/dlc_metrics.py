"""DeepLabCut 3's evaluation numbers (numpy): "RMSE" in pixels and OKS mAP / mAR.

Facts (DeepLabCut 3.0.2, deeplabcut/core/metrics/ api.py, distance_metrics.py, matching.py,
and deeplabcut/core/inferenceutils.py ``calc_object_keypoint_similarity``):

* inputs per image: ground truth (n_gt, K, 3) as (x, y, visibility) and predictions
  (n_pred, K, 3) as (x, y, score). Preparation: ground-truth points with visibility <= 0 and
  predicted points with score < 0 become NaN; individuals with no valid point are dropped;
  predictions are sorted by their mean score, highest first (stable sort);
* OKS of a prediction against a ground truth: needs >= 2 visible ground-truth points (else NaN);
  ``area = prod(max - min of the visible points' x and y + eps + 2 margin)``;
  ``oks = mean_k exp(-d_k² / (2 area (2 sigma)²))`` over the visible points, a missing
  prediction counting as infinitely far; sigma 0.1 for every keypoint by default;
* mAP / mAR: individuals with fewer than 2 valid points are dropped; for each OKS threshold
  0.50:0.05:0.95, predictions are matched greedily per image (in score order, each to its
  highest-OKS ground truth if that one is still free and OKS >= threshold); all images'
  predictions are sorted by score; precision is made monotone and sampled at the 101 recall
  points 0:0.01:1 (``searchsorted`` left, 0 past the last recall); mAP = 100 × mean
  precision, mAR = 100 × mean of the final recall; no prediction at all gives 0 and 0;
* "RMSE" is DeepLabCut's name for the **mean Euclidean distance** in pixels between matched
  predicted and ground-truth points (not a root of a mean square). Single animal: the one
  prediction is compared with the one ground truth. Multi-animal: greedy OKS matching with
  threshold 1e-6 (unmatched predictions count nowhere). ``rmse_pcutoff`` keeps points whose
  score >= pcutoff (a number, or one per bodypart then unique bodypart). Unique bodyparts are
  matched as a single animal and pooled into the same sums. Per keypoint: the mean distance of
  each bodypart over matched predictions.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

Cutoff = Union[float, Sequence[float]]
OKS_THRESHOLDS = np.linspace(0.5, 0.95, 10)
RECALL_THRESHOLDS = np.linspace(0.0, 1.0, 101)


def prepare_evaluation_data(ground_truth: Mapping[str, np.ndarray],
                            predictions: Mapping[str, np.ndarray]
                            ) -> List[Tuple[np.ndarray, np.ndarray]]:
    """Per image (gt (n, K, 3), predictions (m, K, 3) sorted by mean score, descending)."""
    data = []
    for image, gt in ground_truth.items():
        gt = np.array(gt, dtype=np.float64)
        gt[gt[..., 2] <= 0] = np.nan
        gt = gt[np.any(np.all(~np.isnan(gt), axis=-1), axis=-1)]
        pred = np.array(predictions[image], dtype=np.float64)[..., :3]
        pred[pred[..., 2] < 0] = np.nan
        pred = pred[np.any(np.all(~np.isnan(pred), axis=-1), axis=-1)]
        with np.errstate(invalid='ignore'):
            scores = np.nanmean(pred[:, :, 2], axis=-1) if len(pred) else np.zeros(0)
        data.append((gt, pred[np.argsort(-scores, kind='mergesort')]))
    return data


def keypoint_similarity(pred_xy: np.ndarray, gt_xy: np.ndarray,
                        sigma: Union[float, np.ndarray] = 0.1, margin: float = 0.0) -> float:
    """OKS of one predicted pose (K, 2) against one ground-truth pose (K, 2); NaN = missing."""
    visible = ~np.isnan(gt_xy).all(axis=1)
    if visible.sum() < 2:
        return float('nan')
    true = gt_xy[visible]
    area = np.prod(np.ptp(true, axis=0) + np.spacing(1) + margin * 2)
    if np.isclose(area, 0):
        return float('nan')
    denom = 2 * area * (2 * np.asarray(sigma, dtype=np.float64)) ** 2
    if np.ndim(denom):
        denom = denom[visible]
    pred = np.where(np.isnan(pred_xy[visible]), np.inf, pred_xy[visible])
    return float(np.mean(np.exp(-np.sum((pred - true) ** 2, axis=1) / denom)))


def oks_matrix(gt: np.ndarray, pred: np.ndarray, sigma=0.1, margin: float = 0.0) -> np.ndarray:
    """(n_pred, n_gt) OKS between every prediction and ground truth of an image."""
    out = np.zeros((len(pred), len(gt)))
    for i, p in enumerate(pred):
        for j, g in enumerate(gt):
            out[i, j] = keypoint_similarity(p[:, :2], g[:, :2], sigma, margin)
    return out


@dataclass
class Match:
    """A prediction (K, 3) and the ground truth (K, 3) it was matched to, if any."""
    pose: np.ndarray
    score: float
    gt: Optional[np.ndarray] = None
    oks: float = 0.0

    def pixel_errors(self) -> np.ndarray:
        if self.gt is None:
            return np.full(len(self.pose), np.nan)
        return np.linalg.norm(self.pose[:, :2] - self.gt[:, :2], axis=1)


def _new_match(pose: np.ndarray) -> Match:
    if np.all(np.isnan(pose[:, 2])):
        raise ValueError('a prediction whose scores are all NaN cannot be matched')
    return Match(pose, float(np.nanmean(pose[:, 2])))


def match_greedy_oks(gt: np.ndarray, pred: np.ndarray, oks: np.ndarray,
                     threshold: float = 0.0) -> List[Match]:
    """Greedy matching (predictions sorted by score): each takes its best-OKS ground truth if
    that one is free and reaches ``threshold``; one :class:`Match` per prediction."""
    matches = [_new_match(p) for p in pred]
    taken = set()
    for i in range(len(pred)):
        row = oks[i]
        if np.all(np.isnan(row)):
            continue
        best = int(np.nanargmax(row))
        if best in taken or row[best] < threshold:
            continue
        taken.add(best)
        matches[i].gt, matches[i].oks = gt[best], float(row[best])
    return matches


def compute_oks_map(data: Sequence[Tuple[np.ndarray, np.ndarray]], sigma=0.1,
                    margin: float = 0.0, thresholds: np.ndarray = OKS_THRESHOLDS,
                    recall_thresholds: np.ndarray = RECALL_THRESHOLDS) -> Dict[str, float]:
    """DeepLabCut's ``mAP`` and ``mAR`` (percent) over prepared per-image data."""
    total_gt = 0
    images = []
    for gt, pred in data:
        gt = gt[np.sum(np.all(~np.isnan(gt), axis=-1), axis=-1) > 1]
        pred = pred[np.sum(np.all(~np.isnan(pred), axis=-1), axis=-1) > 1]
        total_gt += len(gt)
        images.append((gt, pred, oks_matrix(gt, pred, sigma, margin)))
    precisions, recalls = [], []
    for threshold in thresholds:
        matches = [m for gt, pred, oks in images for m in match_greedy_oks(gt, pred, oks,
                                                                          threshold)]
        if not matches:
            return {'mAP': 0, 'mAR': 0}
        order = np.argsort(-np.array([m.score for m in matches]), kind='mergesort')
        oks_values = np.array([m.oks for m in matches])[order]
        tp = np.cumsum(oks_values >= threshold)
        fp = np.cumsum(oks_values < threshold)
        with np.errstate(invalid='ignore', divide='ignore'):
            recall = tp / total_gt
        precision = tp / (tp + fp + np.spacing(1))
        precision = np.maximum.accumulate(precision[::-1])[::-1]  # monotone from the right
        at = np.searchsorted(recall, recall_thresholds, side='left')
        sampled = np.zeros(len(at))
        valid = at < len(precision)
        sampled[valid] = precision[at[valid]]
        precisions.append(sampled)
        recalls.append(recall[-1])
    return {'mAP': 100 * float(np.mean(precisions)), 'mAR': 100 * float(np.mean(recalls))}


def _matches_for_rmse(data, single_animal: bool, margin: float = 0.0) -> List[Match]:
    matches = []
    for gt, pred in data:
        if single_animal:
            if len(gt) > 1 or len(pred) > 1:
                raise ValueError(f'single-animal RMSE takes at most one ground truth and one '
                                 f'prediction per image, found {gt.shape} and {pred.shape}')
            if len(gt) == 1 and len(pred) == 1:
                match = _new_match(pred[0])
                match.gt, match.oks = gt[0], float('nan')
                matches.append(match)
        else:
            matches += match_greedy_oks(gt, pred, oks_matrix(gt, pred, 0.1, margin), 1e-6)
    return matches


def _pixel_error_sums(errors: np.ndarray, scores: np.ndarray, cutoff) -> Tuple[float, int, float, int]:
    support = int(np.sum(~np.isnan(errors)))
    if support == 0:
        return 0.0, 0, 0.0, 0
    kept = errors[scores >= np.asarray(cutoff)]
    cut_support = int(np.sum(~np.isnan(kept)))
    return (float(np.nansum(errors)), support,
            float(np.nansum(kept)) if cut_support else 0.0, cut_support)


def compute_rmse(data, single_animal: bool, pcutoff: Cutoff, data_unique=None,
                 per_keypoint: bool = False, margin: float = 0.0) -> Dict[str, float]:
    """DeepLabCut's ``rmse`` / ``rmse_pcutoff`` (mean pixel distance; see module docstring);
    with ``per_keypoint``, ``rmse_keypoint_<k>`` (and ``rmse_unique_keypoint_<u>``)."""
    sums = [0.0, 0, 0.0, 0]
    per_part = []
    matches = _matches_for_rmse(data, single_animal, margin)
    if matches:
        errors = np.stack([m.pixel_errors() for m in matches])
        scores = np.stack([m.pose[:, 2] for m in matches])
        cut = pcutoff if np.ndim(pcutoff) == 0 else list(pcutoff)[:errors.shape[1]]
        sums = [a + b for a, b in zip(sums, _pixel_error_sums(errors, scores, cut))]
        per_part.append(('rmse_keypoint', errors))
    if data_unique is not None:
        u_matches = _matches_for_rmse(data_unique, True)
        if u_matches:
            errors = np.stack([m.pixel_errors() for m in u_matches])
            scores = np.stack([m.pose[:, 2] for m in u_matches])
            cut = pcutoff if np.ndim(pcutoff) == 0 else list(pcutoff)[-errors.shape[1]:]
            sums = [a + b for a, b in zip(sums, _pixel_error_sums(errors, scores, cut))]
            per_part.append(('rmse_unique_keypoint', errors))
    results = {'rmse': float('nan'), 'rmse_pcutoff': float('nan')}
    if sums[1] > 0:
        results['rmse'] = sums[0] / sums[1]
    if sums[3] > 0:
        results['rmse_pcutoff'] = sums[2] / sums[3]
    if per_keypoint:
        for prefix, errors in per_part:
            for k, column in enumerate(errors.T):
                results[f'{prefix}_{k}'] = (float(np.nanmean(column))
                                            if np.any(~np.isnan(column)) else float('nan'))
    return results


def compute_metrics(ground_truth: Mapping[str, np.ndarray], predictions: Mapping[str, np.ndarray],
                    single_animal: bool = False, pcutoff: Cutoff = -1,
                    unique_ground_truth: Optional[Mapping[str, np.ndarray]] = None,
                    unique_predictions: Optional[Mapping[str, np.ndarray]] = None,
                    oks_sigma=0.1, oks_margin: float = 0.0,
                    per_keypoint: bool = False) -> Dict[str, float]:
    """``rmse``, ``rmse_pcutoff``, ``mAP``, ``mAR`` as DeepLabCut's evaluation computes them.

    Args:
        ground_truth: image id → (n_gt, K, 3) x, y, visibility (pixels).
        predictions: image id → (n_pred, K, 3) x, y, score; the same image ids.
        single_animal: one ground truth and one prediction per image (no matching).
        pcutoff: score threshold for ``rmse_pcutoff`` (number, or one per bodypart followed by
            one per unique bodypart).
        unique_ground_truth, unique_predictions: image id → (1, U, 3), for unique bodyparts.
        per_keypoint: add per-bodypart mean distances (``rmse_keypoint_<k>``).
    """
    missing = [k for k in ground_truth if k not in predictions]
    if missing:
        raise KeyError(f'no predictions for images {missing[:5]}')
    data = prepare_evaluation_data(ground_truth, predictions)
    data_unique = None
    if unique_ground_truth is not None:
        if unique_predictions is None:
            raise ValueError('unique ground truth given without unique predictions')
        data_unique = prepare_evaluation_data(unique_ground_truth, unique_predictions)
    results = compute_rmse(data, single_animal, pcutoff, data_unique, per_keypoint)
    results.update(compute_oks_map(data, oks_sigma, oks_margin))
    return results
