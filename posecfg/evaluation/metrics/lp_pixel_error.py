"""``LPPixelErrorMetric``: Lightning Pose's pixel error over image-level predictions.

Lightning Pose 2.4.3 (``lightning_pose/metrics.py::pixel_error``, l. 47; ``compute_metrics``,
l. 244-261) writes ``‖label − prediction‖₂`` per frame and keypoint (NaN where the label is
missing) to ``predictions_pixel_error.csv``; its summary is the mean of that table over the
labelled entries. One animal per frame: the first predicted instance is compared with the
frame's label.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from ...registry import METRICS
from ..functional.lp_metrics import pixel_error
from ._records import labelled_pairs


@METRICS.register_module()
class LPPixelErrorMetric(BaseMetric):
    """Mean Lightning Pose pixel error (original-frame pixels) → key ``pixel_error``.

    Args:
        per_keypoint: also ``pixel_error_<keypoint>`` (mean over the frames where that keypoint
            is labelled; names from the dataset metainfo, indices otherwise).

    Frames whose ``gt`` has no labelled animal count nowhere (their row would be all NaN).
    """

    default_prefix: Optional[str] = ''
    example_args = dict(per_keypoint=True)

    def __init__(self, per_keypoint: bool = False, collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.per_keypoint = bool(per_keypoint)

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for i, _, _, keypoints, _, truth in labelled_pairs(self, data_batch, data_samples):
            if len(truth['keypoints']) == 0:
                continue
            if len(keypoints) == 0:
                raise ValueError(f'LPPixelErrorMetric: prediction {i} has no instance; '
                                 f'Lightning Pose models predict one animal per frame')
            label = np.where(truth['visible'][:1, :, None] > 0, truth['keypoints'][:1], np.nan)
            self.results.append(pixel_error(label, keypoints[:1])[0])

    def compute_metrics(self, results: List[np.ndarray]) -> Dict[str, float]:
        errors = np.stack(results) if results else np.zeros((0, 0))
        if not np.isfinite(errors).any():
            raise ValueError('LPPixelErrorMetric: no labelled keypoint to compare (build the '
                             'dataset with test_mode=True)')
        metrics = {'pixel_error': float(np.nanmean(errors))}
        if self.per_keypoint:
            names = (self.dataset_meta or {}).get('keypoint_names') or \
                [str(k) for k in range(errors.shape[1])]
            for k, name in enumerate(names[:errors.shape[1]]):
                column = errors[:, k]
                metrics[f'pixel_error_{name}'] = (float(np.nanmean(column))
                                                  if np.isfinite(column).any() else float('nan'))
        return metrics
