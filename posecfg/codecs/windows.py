"""Per-keypoint windows painted into heatmap stacks.

A target only touches a small window around each keypoint (13 x 13 cells for a 3-sigma, sigma 2
Gaussian, against 48 x 64 = 3072 cells per map), so the encoders compute values only on the
window cells they paint, found for all keypoints at once.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np


def axis_cells(starts: np.ndarray, size: int, num_cells: int) -> Tuple[np.ndarray, np.ndarray]:
    """Cell indices of K windows along one axis and whether each lies on the map.

    starts (K,) integer first cell of each window; size S cells per window; num_cells the map's
    length (W or H). Returns cells (K, S) int64 and on_map (K, S) bool.
    """
    cells = starts.astype(np.int64)[:, None] + np.arange(size)
    return cells, (cells >= 0) & (cells < num_cells)


def painted_cells(mask: np.ndarray, cells_x: np.ndarray, cells_y: np.ndarray):
    """Where to paint: the window positions where ``mask`` (K, Sy, Sx) holds.

    cells_x (K, Sx) and cells_y (K, Sy) map window positions to heatmap cells. Returns 1-D index
    arrays ``k, iy, ix`` (keypoint, window row, window column) and ``ys, xs`` (heatmap row,
    column), so that ``out[k, ys, xs] = values_y[k, iy] * values_x[k, ix]`` paints them.
    """
    k, iy, ix = np.nonzero(mask)
    return k, iy, ix, cells_y[k, iy], cells_x[k, ix]
