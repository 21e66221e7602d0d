"""Arg-max of heatmaps, vectorized over every map."""
from __future__ import annotations

from typing import Tuple

import numpy as np


def get_heatmap_maximum(heatmaps: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Location and value of each map's maximum.

    Args:
        heatmaps: (..., H, W), e.g. (K, H, W) or (N, K, H, W).

    Returns:
        locs (..., 2) float32 (x, y) in heatmap cells (the first maximum in row-major order),
        -1 where the maximum is <= 0 (nothing detected, as MMPose 0.x); and
        vals (...) float32, the maxima.
    """
    heatmaps = np.asarray(heatmaps)
    if heatmaps.ndim < 2:
        raise ValueError(f'heatmaps must be (..., H, W), got shape {heatmaps.shape}')
    *lead, height, width = heatmaps.shape
    flat = heatmaps.reshape(*lead, height * width)
    index = np.argmax(flat, axis=-1)
    vals = np.take_along_axis(flat, index[..., None], axis=-1)[..., 0].astype(np.float32)
    locs = np.stack([index % width, index // width], axis=-1).astype(np.float32)
    locs[vals <= 0] = -1
    return locs, vals


def gather(maps: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """``maps[n, k, ys[n, k], xs[n, k]]`` for every (n, k): maps (N, K, H, W), xs/ys (N, K) int."""
    n_idx, k_idx = np.indices(xs.shape)
    return maps[n_idx, k_idx, ys, xs]
