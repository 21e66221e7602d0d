"""Gaussian heatmaps from per-axis profiles: exp(-(dx² + dy²) / 2σ²) = exp(-dx² / 2σ²) ·
exp(-dy² / 2σ²), so K maps cost two small exponentials and one product per painted cell."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .windows import axis_cells, painted_cells


class AxisWindows(NamedTuple):
    """K truncated Gaussian profiles along one axis (see :func:`truncated_axis`)."""

    cells: np.ndarray     # (K, S) int64 heatmap cells of each window
    values: np.ndarray    # (K, S) float32 Gaussian values there
    support: np.ndarray   # (K, S) bool: on the map and inside MMPose's window
    outside: np.ndarray   # (K,) bool: the window misses the map


def truncated_axis(centres: np.ndarray, subcell: np.ndarray, num_cells: int,
                   sigma: float) -> AxisWindows:
    """MMPose 0.x's 3-sigma window along one axis, for K keypoints.

    centres (K,) integer window centres in heatmap cells; subcell (K,) the true centre minus that
    integer centre (0 for MSRA, the sub-cell part for UDP). The window spans cells
    ``[trunc(c - 3σ), trunc(c + 3σ + 1))``; at window position i (cell start + i) the value is
    ``exp(-(i - floor((6σ + 1) / 2) - subcell)² / 2σ²)``, which is ``exp(-(x - c - subcell)² /
    2σ²)`` except where MMPose's truncation toward zero shifts a window starting left of cell 0
    (non-integer 3σ). ``outside`` is MMPose's test: start >= num_cells or end < 0.
    """
    tmp_size = 3.0 * sigma
    start = np.trunc(centres - tmp_size)
    end = np.trunc(centres + tmp_size + 1)
    size = int(np.ceil(2 * tmp_size + 1))
    cells, on_map = axis_cells(start, size, num_cells)
    offsets = np.arange(size) - np.floor((2 * tmp_size + 1) / 2) - subcell[:, None]
    values = np.exp(-offsets ** 2 / (2.0 * sigma ** 2)).astype(np.float32)
    return AxisWindows(cells, values, on_map & (cells < end[:, None]),
                       (start >= num_cells) | (end < 0))


def paint_truncated(x: AxisWindows, y: AxisWindows, draw: np.ndarray, width: int,
                    height: int) -> np.ndarray:
    """(K, H, W) float32 maps ``profile_y ⊗ profile_x`` on each window, for keypoints where
    ``draw`` (K,) holds; zeros elsewhere."""
    target = np.zeros((len(draw), height, width), dtype=np.float32)
    mask = y.support[:, :, None] & x.support[:, None, :] & draw[:, None, None]
    k, iy, ix, ys, xs = painted_cells(mask, x.cells, y.cells)
    target[k, ys, xs] = y.values[k, iy] * x.values[k, ix]
    return target


def full_profiles(centres: np.ndarray, num_cells: int, sigma: float) -> np.ndarray:
    """Untruncated Gaussian profiles (K, num_cells) float32 centred at float ``centres`` (K,)."""
    cells = np.arange(num_cells, dtype=np.float64)
    return np.exp(-(cells[None, :] - centres[:, None]) ** 2 / (2.0 * sigma ** 2)).astype(
        np.float32)


def outer_maps(profiles_x: np.ndarray, profiles_y: np.ndarray, draw: np.ndarray) -> np.ndarray:
    """(K, H, W) float32 full maps ``profile_y ⊗ profile_x`` where ``draw`` (K,), else zeros."""
    profiles_x = np.where(draw[:, None], profiles_x, np.float32(0))
    return profiles_y[:, :, None] * profiles_x[:, None, :]
