"""Reading the model's prediction dicts and ``data_batch['gt']`` (DESIGN.md contracts) for metrics.

Every metric keeps only small numpy arrays and numbers per instance in ``self.results``, because
mmengine pickles them to gather results from all ranks.
"""
from __future__ import annotations

from typing import Any, List, Optional

import numpy as np


def _to_numpy(value) -> np.ndarray:
    if hasattr(value, 'detach'):  # a torch tensor, without importing torch here
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def prediction_keypoints(metric: Any, pred: dict, index: int) -> np.ndarray:
    """``pred['preds']`` as (K, 3) float32 (x, y, score) in original-image pixels."""
    if not isinstance(pred, dict) or 'preds' not in pred:
        keys = sorted(pred) if isinstance(pred, dict) else type(pred).__name__
        raise KeyError(f"{type(metric).__name__}: prediction {index} has no 'preds' (K, 3) "
                       f'(x, y, score); it has {keys}. The model\'s predict mode returns one dict '
                       f'per instance with preds, boxes, image_file, image_id, bbox_id')
    preds = _to_numpy(pred['preds']).astype(np.float32)
    if preds.ndim != 2 or preds.shape[1] < 3:
        raise ValueError(f"{type(metric).__name__}: prediction {index}: 'preds' must be (K, 3) "
                         f'(x, y, score), got shape {preds.shape}')
    return preds[:, :3]


def batch_gts(metric: Any, data_batch: Any, count: int, required: bool = True
              ) -> Optional[List[Optional[dict]]]:
    """``data_batch['gt']``: one dict (or None) per prediction of the batch.

    Returns None when the batch carries no ``gt`` and ``required`` is false.
    """
    name = type(metric).__name__
    gts = data_batch.get('gt') if isinstance(data_batch, dict) else None
    if gts is None:
        if not required:
            return None
        keys = sorted(data_batch) if isinstance(data_batch, dict) else type(data_batch).__name__
        raise KeyError(f"{name} reads ground truth from data_batch['gt'] (one dict per instance "
                       f'with keypoints (K, 2), keypoints_visible (K,), bbox, ...; datasets add '
                       f'it in test_mode), but the batch has {keys}')
    if len(gts) != count:
        raise ValueError(f"{name}: data_batch['gt'] has {len(gts)} entries for {count} "
                         f'predictions; it must have one per predicted instance')
    return list(gts)


def gt_keypoints(metric: Any, gt: dict, index: int, num_keypoints: int):
    """(keypoints (K, 2) float32, visible (K,) float32) of one ``gt`` dict."""
    name = type(metric).__name__
    for key in ('keypoints', 'keypoints_visible'):
        if key not in gt:
            raise KeyError(f"{name}: data_batch['gt'][{index}] has no {key!r}; it has "
                           f'{sorted(gt)}')
    keypoints = _to_numpy(gt['keypoints']).astype(np.float32).reshape(-1, 2)
    visible = _to_numpy(gt['keypoints_visible']).astype(np.float32).reshape(-1)
    if len(keypoints) != num_keypoints or len(visible) != num_keypoints:
        raise ValueError(f"{name}: data_batch['gt'][{index}] has {len(keypoints)} keypoints and "
                         f'{len(visible)} visibilities; the prediction has {num_keypoints}')
    return keypoints, visible


def optional_int(value) -> Optional[int]:
    if value is None:
        return None
    return int(_to_numpy(value).reshape(-1)[0])


def dataset_meta_value(metric: Any, key: str, hint: str) -> Any:
    """``metric.dataset_meta[key]`` or an error saying where it comes from."""
    name = type(metric).__name__
    meta = metric.dataset_meta
    if meta is None:
        raise ValueError(f'{name}.dataset_meta is not set: the Evaluator sets it from the '
                         f"dataset's metainfo; it must include {key!r} ({hint})")
    if meta.get(key) is None:
        raise KeyError(f"{name} needs dataset_meta[{key!r}] ({hint}); dataset_meta has "
                       f'{sorted(meta)}')
    return meta[key]
