"""Reading the model's prediction dicts and ``data_batch['gt']`` (DESIGN.md contracts) for metrics.

Predictions and ground truth are read at image level: a sample has N predicted instances
(``keypoints`` (N, K, 2), ``keypoint_scores`` (N, K)) and M ground-truth instances (``gt`` with
``keypoints`` (M, K, 2), ``keypoints_visible`` (M, K), ``bboxes`` (M, 4), ``areas`` (M,), ...).
A top-down sample is the case N = M = 1, in MMPose 0.x's per-instance keys (``preds`` (K, 3);
``gt`` with ``keypoints`` (K, 2), ``bbox``, ``area``, ``head_size``), read as such.

Every metric keeps one entry per sample in ``self.results`` (mmengine cuts the gathered list at
the dataset's length), holding only small numpy arrays and numbers, because mmengine pickles them
to gather results from all ranks.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

import numpy as np


def _to_numpy(value) -> np.ndarray:
    if hasattr(value, 'detach'):  # a torch tensor, without importing torch here
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def prediction_instances(metric: Any, pred: dict, index: int) -> Tuple[np.ndarray, np.ndarray]:
    """A prediction's instances: keypoints (N, K, 2) float32 original-image pixels and
    keypoint_scores (N, K) float32 (from ``preds`` (K, 3) for MMPose 0.x's top-down outputs)."""
    name = type(metric).__name__
    if isinstance(pred, dict) and pred.get('keypoints') is not None:
        keypoints = _to_numpy(pred['keypoints']).astype(np.float32)
        if keypoints.ndim == 2:
            keypoints = keypoints[None]
        scores = pred.get('keypoint_scores')
        scores = (np.ones(keypoints.shape[:2], np.float32) if scores is None
                  else _to_numpy(scores).astype(np.float32).reshape(keypoints.shape[:2]))
        if keypoints.ndim != 3 or keypoints.shape[-1] != 2:
            raise ValueError(f"{name}: prediction {index}: 'keypoints' must be (N, K, 2) pixels, "
                             f'got shape {keypoints.shape}')
        return keypoints, scores
    if not isinstance(pred, dict) or 'preds' not in pred:
        keys = sorted(pred) if isinstance(pred, dict) else type(pred).__name__
        raise KeyError(f"{name}: prediction {index} has neither 'keypoints' (N, K, 2) nor "
                       f"'preds' (K, 3); it has {keys}. The model's predict mode returns one "
                       f'dict per sample with keypoints, keypoint_scores, image_id, ...')
    preds = _to_numpy(pred['preds']).astype(np.float32)
    if preds.ndim != 2 or preds.shape[1] < 3:
        raise ValueError(f"{name}: prediction {index}: 'preds' must be (K, 3) "
                         f'(x, y, score), got shape {preds.shape}')
    return preds[None, :, :2].copy(), preds[None, :, 2].copy()


def batch_gts(metric: Any, data_batch: Any, count: int, required: bool = True
              ) -> Optional[List[Optional[dict]]]:
    """``data_batch['gt']``: one dict (or None) per sample of the batch.

    Returns None when the batch carries no ``gt`` and ``required`` is false.
    """
    name = type(metric).__name__
    gts = data_batch.get('gt') if isinstance(data_batch, dict) else None
    if gts is None:
        if not required:
            return None
        keys = sorted(data_batch) if isinstance(data_batch, dict) else type(data_batch).__name__
        raise KeyError(f"{name} reads ground truth from data_batch['gt'] (one dict per sample "
                       f'with keypoints, keypoints_visible, bboxes, ...; datasets add it in '
                       f'test_mode), but the batch has {keys}')
    if len(gts) != count:
        raise ValueError(f"{name}: data_batch['gt'] has {len(gts)} entries for {count} "
                         f'predictions; it must have one per sample')
    return list(gts)


def gt_instances(metric: Any, gt: dict, index: int, num_keypoints: int) -> dict:
    """One ``gt`` dict's instances: keypoints (M, K, 2) float32, visible (M, K) float32, and
    where given bboxes (M, 4), areas (M,), head_sizes (M,), category_ids (M,), ids (M,)
    (``bbox_id`` of a top-down sample, else ``instance_ids``); image_id."""
    name = type(metric).__name__
    for key in ('keypoints', 'keypoints_visible'):
        if key not in gt:
            raise KeyError(f"{name}: data_batch['gt'][{index}] has no {key!r}; it has "
                           f'{sorted(gt)}')
    raw = _to_numpy(gt['keypoints']).astype(np.float32)
    single = raw.ndim == 2  # a top-down sample's one instance
    keypoints = raw.reshape(-1, num_keypoints, 2) if raw.shape[-2:] == (num_keypoints, 2) \
        else None
    visible = _to_numpy(gt['keypoints_visible']).astype(np.float32)
    if keypoints is None or raw.ndim not in (2, 3) \
            or visible.size != keypoints.shape[0] * num_keypoints:
        raise ValueError(f"{name}: data_batch['gt'][{index}] has keypoints of shape "
                         f"{np.shape(gt['keypoints'])} and visibilities of shape "
                         f"{np.shape(gt['keypoints_visible'])}; predictions have "
                         f'{num_keypoints} keypoints')
    out = dict(keypoints=keypoints, visible=visible.reshape(len(keypoints), num_keypoints),
               image_id=optional_int(gt.get('image_id')))

    def per_instance(single_key, many_key, width=None):
        value = gt.get(single_key if single else many_key)
        if value is None:
            return None
        array = _to_numpy(value).astype(np.float64)
        return array.reshape(len(keypoints), width) if width else array.reshape(len(keypoints))

    out['bboxes'] = per_instance('bbox', 'bboxes', 4)
    out['areas'] = per_instance('area', 'areas')
    out['head_sizes'] = per_instance('head_size', 'head_sizes')
    categories = per_instance('category_id', 'category_ids')
    out['category_ids'] = None if categories is None else categories.astype(np.int64)
    ids = per_instance('bbox_id', 'instance_ids')
    out['ids'] = None if ids is None else ids.astype(np.int64)
    return out


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


def labelled_pairs(metric: Any, data_batch: Any, data_samples: Sequence[dict]):
    """Per sample with ground truth: ``(index, prediction dict, gt dict, keypoints (N, K, 2),
    keypoint_scores (N, K), gt instances)`` (see :func:`prediction_instances`,
    :func:`gt_instances`); samples whose ``gt`` is None are skipped."""
    gts = batch_gts(metric, data_batch, len(data_samples))
    for i, (pred, gt) in enumerate(zip(data_samples, gts)):
        if gt is None:
            continue
        keypoints, scores = prediction_instances(metric, pred, i)
        yield i, pred, gt, keypoints, scores, gt_instances(metric, gt, i, keypoints.shape[1])
