"""OKS non-maximum suppression of poses within one image (MMPose 0.x ``oks_nms``/``soft_oks_nms``).

``kpts_db`` is a list of dicts with ``keypoints`` (K, 3) (x, y, score) in pixels, ``score``
(float, the instance score) and ``area`` (pixels²). Both functions return kept indices into it.
The greedy loop runs once per kept pose; each pass compares it with all others at once.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from .oks import oks_iou


def _unpack(kpts_db: Sequence[dict]):
    try:
        scores = np.array([float(k['score']) for k in kpts_db], dtype=np.float64)
        kpts = np.stack([np.asarray(k['keypoints'], dtype=np.float64).reshape(-1, 3)
                         for k in kpts_db])
        areas = np.array([float(k['area']) for k in kpts_db], dtype=np.float64)
    except KeyError as err:
        raise KeyError(f"OKS NMS: every pose needs 'keypoints' (K, 3), 'score' and 'area'; one "
                       f'has no {err.args[0]!r}') from None
    return scores, kpts, areas


def _descending(scores: np.ndarray) -> np.ndarray:
    # stable ascending, reversed: ties keep MMPose's order (later index first)
    return np.argsort(scores, kind='stable')[::-1]


def oks_nms(kpts_db: Sequence[dict], thr: float, sigmas, vis_thr: Optional[float] = None
            ) -> np.ndarray:
    """Greedy OKS-NMS: keep the best pose, drop every other with OKS > ``thr`` to it, repeat.

    Returns (M,) int64 indices of kept poses, best first.
    """
    if len(kpts_db) == 0:
        return np.zeros(0, dtype=np.int64)
    scores, kpts, areas = _unpack(kpts_db)
    order = _descending(scores)
    keep = []
    while len(order):
        best, rest = order[0], order[1:]
        keep.append(best)
        overlap = oks_iou(kpts[best], kpts[rest], areas[best], areas[rest], sigmas, vis_thr)
        order = rest[overlap <= thr]
    return np.array(keep, dtype=np.int64)


def soft_oks_nms(kpts_db: Sequence[dict], thr: float, sigmas, vis_thr: Optional[float] = None,
                 max_dets: int = 20) -> np.ndarray:
    """Soft OKS-NMS: instead of dropping overlapping poses, decay their ranking score by
    ``exp(-oks² / thr)`` and re-rank; keep at most ``max_dets`` poses.

    Returns (M,) int64 indices, in the order they were kept. As MMPose 0.x, the decayed scores
    only decide the order; callers keep each pose's own score.
    """
    if len(kpts_db) == 0:
        return np.zeros(0, dtype=np.int64)
    scores, kpts, areas = _unpack(kpts_db)
    order = _descending(scores)
    scores = scores[order]
    keep = []
    while len(order) and len(keep) < max_dets:
        best, rest = order[0], order[1:]
        keep.append(best)
        overlap = oks_iou(kpts[best], kpts[rest], areas[best], areas[rest], sigmas, vis_thr)
        scores = scores[1:] * np.exp(-overlap ** 2 / thr)
        rank = _descending(scores)
        order, scores = rest[rank], scores[rank]
    return np.array(keep, dtype=np.int64)
