"""Object keypoint similarity (COCO), vectorized over detections."""
from __future__ import annotations

from typing import Optional

import numpy as np


def _sigmas(sigmas, num_keypoints: int) -> np.ndarray:
    if sigmas is None:
        raise ValueError('OKS needs per-keypoint sigmas (the dataset config\'s `sigmas`, '
                         'configs/_base_/datasets/<name>.py); got None')
    sigmas = np.asarray(sigmas, dtype=np.float64).reshape(-1)
    if sigmas.shape != (num_keypoints,):
        raise ValueError(f'sigmas must hold one value per keypoint ({num_keypoints}), got '
                         f'{sigmas.size}')
    return sigmas


def keypoint_oks(pred, gt, gt_visible, area: float, sigmas, gt_bbox=None,
                 use_area: bool = True) -> np.ndarray:
    """OKS between detections and one ground-truth instance, as xtcocotools' COCOeval computes it.

    Args:
        pred: (M, K, 2) or (K, 2) detected keypoints, pixels; a non-finite one (a keypoint
            missing from the detection) contributes 0 to the OKS.
        gt: (K, 2) ground-truth keypoints, pixels. gt_visible: (K,) COCO visibility (> 0 labelled).
        area: the ground truth's area in pixels² (COCO ``area``).
        sigmas: (K,) per-keypoint OKS sigmas.
        gt_bbox: (4,) x, y, w, h of the ground truth. Needed when no keypoint is labelled: then
            the distance is measured to the box enlarged to [x - w, x + 2w] × [y - h, y + 2h].
            With ``use_area=False`` the area is ``w * h * 0.53`` instead of ``area``.

    Returns:
        (M,) float64 OKS in [0, 1] (a float for a single (K, 2) detection):
        ``mean over labelled k of exp(-d_k² / (2 · area · (2σ_k)²))``.
    """
    pred = np.asarray(pred, dtype=np.float64)
    single = pred.ndim == 2
    pred = pred[None] if single else pred
    gt = np.asarray(gt, dtype=np.float64)[:, :2]
    num_keypoints = len(gt)
    variances = (2 * _sigmas(sigmas, num_keypoints)) ** 2
    labelled = np.asarray(gt_visible).reshape(-1) > 0
    if labelled.any():
        d2 = ((pred[..., :2] - gt) ** 2).sum(axis=-1)
    else:
        if gt_bbox is None:
            raise ValueError('keypoint_oks: the ground truth has no labelled keypoint; pass '
                             'gt_bbox (x, y, w, h) to measure the distance to its box')
        x, y, w, h = np.asarray(gt_bbox, dtype=np.float64)[:4]
        dx = np.maximum(0, x - w - pred[..., 0]) + np.maximum(0, pred[..., 0] - (x + 2 * w))
        dy = np.maximum(0, y - h - pred[..., 1]) + np.maximum(0, pred[..., 1] - (y + 2 * h))
        d2 = dx ** 2 + dy ** 2
    if use_area:
        scale_area = float(area)
    else:
        if gt_bbox is None:
            raise ValueError('keypoint_oks: use_area=False needs gt_bbox (x, y, w, h)')
        scale_area = float(gt_bbox[2]) * float(gt_bbox[3]) * 0.53
    e = d2 / variances / (scale_area + np.spacing(1)) / 2
    e = np.where(np.isfinite(e), e, np.inf)  # a missing (NaN) predicted keypoint scores 0
    if labelled.any():
        e = e[:, labelled]
    oks = np.exp(-e).mean(axis=1)
    return float(oks[0]) if single else oks


def oks_iou(g, d, area_g: float, area_d, sigmas, vis_thr: Optional[float] = None) -> np.ndarray:
    """OKS between one pose and several, as OKS-NMS uses it (MMPose ``oks_iou``).

    Args:
        g: (K, 3) keypoints (x, y, score) of the kept pose, pixels.
        d: (M, K, 3) the other poses.
        area_g, area_d: area of g and (M,) areas of d, pixels²; the OKS scale is their mean.
        sigmas: (K,) OKS sigmas.
        vis_thr: if given, only keypoints scored above it in both poses count (MMPose 0.x's
            code effectively looked at the other pose's scores only; 1.x at both, as here).

    Returns:
        (M,) float64; 0 for a pose with no counted keypoint.
    """
    g = np.asarray(g, dtype=np.float64).reshape(-1, 3)
    d = np.asarray(d, dtype=np.float64).reshape(-1, len(g), 3)
    variances = (2 * _sigmas(sigmas, len(g))) ** 2
    d2 = ((d[..., :2] - g[None, :, :2]) ** 2).sum(axis=-1)  # (M, K)
    scale = (area_g + np.asarray(area_d, dtype=np.float64)) / 2 + np.spacing(1)
    e = d2 / variances / scale[:, None] / 2
    counted = np.ones_like(e, dtype=bool)
    if vis_thr is not None:
        counted = (g[None, :, 2] > vis_thr) & (d[..., 2] > vis_thr)
    num = counted.sum(axis=1)
    total = np.where(counted, np.exp(-e), 0.0).sum(axis=1)
    return np.where(num > 0, total / np.maximum(num, 1), 0.0)
