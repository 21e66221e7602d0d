"""``DLCRMSEMetric``: DeepLabCut 3's evaluation numbers (``rmse``, ``rmse_pcutoff``, ``mAP``, ``mAR``).

The arithmetic is :mod:`posecfg.evaluation.functional.dlc_metrics` (DeepLabCut 3.0.2's
``core/metrics``): "RMSE" is the mean Euclidean distance in pixels between matched predicted and
labelled points (single animal: the one prediction against the one labelled animal;
multi-animal: greedy OKS matching), ``rmse_pcutoff`` the same over predicted points whose score
is at least ``pcutoff``. Run on a dataset's train split it is DeepLabCut's "Train error", on the
test split its "Test error".

Ground truth is the image-level ``gt`` of the samples (``keypoints`` (M, K, 2),
``keypoints_visible`` (M, K), and for DeepLabCut's unique bodyparts ``unique_keypoints`` (1, U, 2)
with ``unique_keypoints_visible``); predictions are the model's per-sample dicts
(``keypoints`` (N, K, 2), ``keypoint_scores`` (N, K), and ``unique_keypoints`` (1, U, 2) with
``unique_keypoint_scores`` (1, U) for a model that predicts unique bodyparts).
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from ...registry import METRICS
from ..functional.dlc_metrics import compute_oks_map, compute_rmse, prepare_evaluation_data
from ._records import _to_numpy, labelled_pairs


def _with_scores(keypoints: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """(N, K, 2) and (N, K) → (N, K, 3) float64."""
    return np.concatenate([np.asarray(keypoints, np.float64),
                           np.asarray(scores, np.float64)[..., None]], axis=-1)


def dlc_poses(keypoints: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """A prediction's (N, K, 2) keypoints and (N, K) scores → DeepLabCut's (N, K, 3) poses.

    A keypoint missing from an assembly has NaN x, y and score 0 in DeepLabCut (its PAF
    predictor) and in posecfg's PAF decoding (models/heads/dlcrnet_head.py ``decode``): it
    counts in no error, and its 0 counts in the individual's mean score (DeepLabCut's
    ``prepare_evaluation_data`` ``nanmean``), so it is kept as it is.
    """
    return _with_scores(keypoints, scores)


def unique_prediction(pred: Any):
    """(unique keypoints (1, U, 2), scores (1, U)) of a prediction dict, or None: at its top
    level or in a further head's dict (``BottomUp`` puts the ``unique_bodypart`` head's
    decoded ``unique_keypoints`` under the head's name)."""
    if not isinstance(pred, dict):
        return None
    for source in [pred] + [v for v in pred.values() if isinstance(v, dict)]:
        if source.get('unique_keypoints') is not None:
            unique = _to_numpy(source['unique_keypoints']).reshape(1, -1, 2)
            scores = source.get('unique_keypoint_scores')
            scores = (np.ones(unique.shape[:2]) if scores is None else
                      _to_numpy(scores).reshape(unique.shape[:2]))
            return unique, scores
    return None


@METRICS.register_module()
class DLCRMSEMetric(BaseMetric):
    """DeepLabCut's pixel errors (and OKS mAP/mAR) over image-level predictions.

    Args:
        pcutoff: score threshold of ``rmse_pcutoff`` (the project's ``pcutoff``; a number, or
            one per bodypart followed by one per unique bodypart).
        single_animal: one labelled and one predicted animal per image, compared without
            matching (DeepLabCut's single-animal projects); False matches by OKS.
        with_map: also compute ``mAP`` and ``mAR`` (percent; OKS thresholds .50:.05:.95).
        oks_sigma: DeepLabCut's OKS sigma (0.1 for every keypoint by default).
        oks_margin: DeepLabCut's OKS area margin in pixels.
        per_keypoint: also ``rmse_<bodypart>`` (mean distance of each bodypart; names from the
            dataset metainfo, indices otherwise).

    Keys: ``rmse``, ``rmse_pcutoff`` (pixels), with ``with_map`` ``mAP``, ``mAR`` (NaN when
    nothing could be compared).
    """

    default_prefix: Optional[str] = ''  # DESIGN.md: no prefix unless the config gives one
    example_args = dict(pcutoff=0.6, single_animal=False)

    def __init__(self, pcutoff: Union[float, Sequence[float]] = 0.6, single_animal: bool = True,
                 with_map: bool = False, oks_sigma: float = 0.1, oks_margin: float = 0.0,
                 per_keypoint: bool = False, collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        cutoffs = np.atleast_1d(np.asarray(pcutoff, dtype=np.float64))
        if cutoffs.size == 0 or not np.all((cutoffs >= 0) & (cutoffs <= 1)):
            raise ValueError(f'DLCRMSEMetric: pcutoff must be a score between 0 and 1 (or one '
                             f'per bodypart), got {pcutoff!r}')
        if not oks_sigma > 0 or oks_margin < 0:
            raise ValueError(f'DLCRMSEMetric: oks_sigma must be > 0 and oks_margin >= 0, got '
                             f'{oks_sigma!r} and {oks_margin!r}')
        self.pcutoff = float(pcutoff) if np.ndim(pcutoff) == 0 else [float(c) for c in pcutoff]
        self.single_animal = bool(single_animal)
        self.with_map = bool(with_map)
        self.oks_sigma = float(oks_sigma)
        self.oks_margin = float(oks_margin)
        self.per_keypoint = bool(per_keypoint)

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for _, pred, gt, keypoints, scores, truth in labelled_pairs(self, data_batch,
                                                                    data_samples):
            entry = dict(gt=_with_scores(truth['keypoints'], truth['visible']),
                         pred=dlc_poses(keypoints, scores))
            if gt.get('unique_keypoints') is not None:
                entry['unique_gt'] = _with_scores(_to_numpy(gt['unique_keypoints']),
                                                  _to_numpy(gt['unique_keypoints_visible']))
                unique = unique_prediction(pred)
                if unique is not None:
                    entry['unique_pred'] = _with_scores(*unique)
            self.results.append(entry)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        if not results:
            raise ValueError('DLCRMSEMetric: no sample had ground truth (build the dataset with '
                             'test_mode=True)')
        gt = {i: r['gt'] for i, r in enumerate(results)}
        pred = {i: r['pred'] for i, r in enumerate(results)}
        data = prepare_evaluation_data(gt, pred)
        data_unique = None
        with_unique = [i for i, r in enumerate(results) if 'unique_gt' in r]
        if with_unique:
            predicted = [i for i in with_unique if 'unique_pred' in results[i]]
            if len(predicted) < len(with_unique):
                print_log(f'DLCRMSEMetric: {len(with_unique) - len(predicted)} images have '
                          f'labelled unique bodyparts but the model predicted none for them; '
                          f'those unique bodyparts are left out of rmse', logger='current',
                          level=logging.WARNING)
            if predicted:
                data_unique = prepare_evaluation_data(
                    {i: results[i]['unique_gt'] for i in predicted},
                    {i: results[i]['unique_pred'] for i in predicted})
        metrics = compute_rmse(data, self.single_animal, self.pcutoff, data_unique,
                               self.per_keypoint, self.oks_margin)
        if self.per_keypoint:
            metrics = self._named(metrics)
        if self.with_map:
            metrics.update(compute_oks_map(data, self.oks_sigma, self.oks_margin))
        return {k: float(v) for k, v in metrics.items()}

    def _named(self, metrics: Dict[str, float]) -> Dict[str, float]:
        meta = self.dataset_meta or {}
        names = {'rmse_keypoint': meta.get('keypoint_names') or [],
                 'rmse_unique_keypoint': meta.get('unique_keypoint_names') or []}
        out = {}
        for key, value in metrics.items():
            for prefix, known in names.items():
                head, _, index = key.rpartition('_')
                if head == prefix and index.isdigit() and int(index) < len(known):
                    key = f'rmse_{known[int(index)]}'
            out[key] = value
        return out
