"""Sub-cell refinement of heatmap maxima: MMPose 0.x's post-processing, vectorized over keypoints.

All functions take locs (N, K, 2) float32 (x, y) in heatmap cells, as returned by
:func:`get_heatmap_maximum` (-1 where nothing was detected), and heatmaps (N, K, H, W); they
return refined locs (N, K, 2) float32 and never modify their inputs.
"""
from __future__ import annotations

import numpy as np

from .blur import blur_maps, modulate_heatmaps
from .maximum import gather, get_heatmap_maximum


def refine_quarter_offset(locs: np.ndarray, heatmaps: np.ndarray,
                          extra_shift: float = 0.0) -> np.ndarray:
    """Move each maximum a quarter cell towards its higher neighbour, per axis ('default').

    As MMPose 0.x, only maxima with ``1 < x < W - 1`` and ``1 < y < H - 1`` move; those also
    get ``extra_shift`` cells added on both axes (0.5 for 'megvii', whose cells stand for
    [c, c + 1)). Equal neighbours mean no shift on that axis.
    """
    height, width = heatmaps.shape[-2:]
    locs = locs.copy()
    if height < 3 or width < 3:
        return locs
    px = locs[..., 0].astype(np.int64)
    py = locs[..., 1].astype(np.int64)
    inside = (px > 1) & (px < width - 1) & (py > 1) & (py < height - 1)
    px, py = np.clip(px, 1, width - 2), np.clip(py, 1, height - 2)
    dx = gather(heatmaps, px + 1, py) - gather(heatmaps, px - 1, py)
    dy = gather(heatmaps, px, py + 1) - gather(heatmaps, px, py - 1)
    shift = np.sign(np.stack([dx, dy], axis=-1)) * 0.25 + extra_shift
    locs[inside] += shift[inside].astype(np.float32)
    return locs


def _newton_step(locs, inside, dx, dy, dxx, dxy, dyy):
    """``locs - H⁻¹·∇`` where ``inside`` and the Hessian [[dxx, dxy], [dxy, dyy]] inverts."""
    det = dxx * dyy - dxy ** 2
    ok = inside & (det != 0)
    safe_det = np.where(ok, det, 1.0)
    step_x = (dyy * dx - dxy * dy) / safe_det
    step_y = (dxx * dy - dxy * dx) / safe_det
    locs = locs.copy()
    locs[ok] -= np.stack([step_x, step_y], axis=-1)[ok].astype(np.float32)
    return locs


def refine_dark(locs: np.ndarray, heatmaps: np.ndarray, kernel: int = 11) -> np.ndarray:
    """DARK (Zhang et al., CVPR 2020): Taylor expansion of the log of the modulated heatmap.

    The heatmap is blurred with a ``kernel``-sized Gaussian (zero border, same maximum), its
    log taken (floored at 1e-10) and one Newton step taken from the maximum using central
    differences two cells wide for the second derivatives, as MMPose 0.x's ``_taylor``. Only
    maxima with ``1 < x < W - 2`` and ``1 < y < H - 2`` move.
    """
    height, width = heatmaps.shape[-2:]
    if height < 5 or width < 5:
        return locs.copy()
    modulated = modulate_heatmaps(heatmaps, kernel)
    px = locs[..., 0].astype(np.int64)
    py = locs[..., 1].astype(np.int64)
    inside = (px > 1) & (px < width - 2) & (py > 1) & (py < height - 2)
    px, py = np.clip(px, 2, width - 3), np.clip(py, 2, height - 3)

    def log_at(ox, oy):  # the log only where the Taylor step reads it
        return np.log(np.maximum(gather(modulated, px + ox, py + oy), 1e-10)).astype(np.float64)

    centre = log_at(0, 0)
    dx = 0.5 * (log_at(1, 0) - log_at(-1, 0))
    dy = 0.5 * (log_at(0, 1) - log_at(0, -1))
    dxx = 0.25 * (log_at(2, 0) - 2 * centre + log_at(-2, 0))
    dyy = 0.25 * (log_at(0, 2) - 2 * centre + log_at(0, -2))
    dxy = 0.25 * (log_at(1, 1) - log_at(1, -1) - log_at(-1, 1) + log_at(-1, -1))
    return _newton_step(locs, inside, dx, dy, dxx, dxy, dyy)


def refine_dark_udp(locs: np.ndarray, heatmaps: np.ndarray, kernel: int = 11) -> np.ndarray:
    """DARK as UDP decodes it (MMPose 0.x ``post_dark_udp``).

    The heatmap is blurred (OpenCV's mirrored border, no rescaling), clipped to [0.001, 50] and
    its log taken; beyond the map's edge the edge value repeats. One Newton step uses one-cell
    central differences, with ``float32 eps`` added to the Hessian's diagonal. Every detected
    maximum moves, border cells included; undetected ones (-1) stay at -1.
    """
    height, width = heatmaps.shape[-2:]
    blurred = blur_maps(heatmaps, (kernel, kernel))
    detected = (locs >= 0).all(axis=-1)
    px = locs[..., 0].astype(np.int64).clip(0)
    py = locs[..., 1].astype(np.int64).clip(0)

    def log_at(ox, oy):
        # clamping the index repeats the edge cell: MMPose pads the log map with mode='edge'
        xs = np.clip(px + ox, 0, width - 1)
        ys = np.clip(py + oy, 0, height - 1)
        return np.log(np.clip(gather(blurred, xs, ys), 0.001, 50)).astype(np.float64)

    centre = log_at(0, 0)
    right, left, down, up = log_at(1, 0), log_at(-1, 0), log_at(0, 1), log_at(0, -1)
    dx = 0.5 * (right - left)
    dy = 0.5 * (down - up)
    eps = np.finfo(np.float32).eps
    dxx = right - 2 * centre + left + eps
    dyy = down - 2 * centre + up + eps
    dxy = 0.5 * (log_at(1, 1) - right - down + 2 * centre - left - up + log_at(-1, -1))
    return _newton_step(locs, detected, dx, dy, dxx, dxy, dyy)


def decode_combined_target(heatmaps: np.ndarray, kernel: int = 11,
                           valid_radius_factor: float = 0.0546875):
    """UDP CombinedTarget decoding: response maxima plus the offsets predicted there.

    Args:
        heatmaps: (N, 3K, H, W): per keypoint a response map, x-offset and y-offset map.
        kernel: odd blur size in cells; responses are blurred with 2 * kernel + 1, offsets
            with kernel (OpenCV's mirrored border), as MMPose 0.x.
        valid_radius_factor: offsets are in units of ``valid_radius_factor * H`` cells.

    Returns:
        locs (N, K, 2) float32 in heatmap cells (-1 where the response maximum is <= 0) and
        vals (N, K) float32, the blurred responses' maxima.
    """
    height = heatmaps.shape[-2]
    response = blur_maps(heatmaps[:, 0::3], (2 * kernel + 1, 2 * kernel + 1))
    offsets_x = blur_maps(heatmaps[:, 1::3], (kernel, kernel))
    offsets_y = blur_maps(heatmaps[:, 2::3], (kernel, kernel))
    locs, vals = get_heatmap_maximum(response)
    detected = vals > 0
    px = locs[..., 0].astype(np.int64).clip(0)
    py = locs[..., 1].astype(np.int64).clip(0)
    radius = valid_radius_factor * height
    offsets = np.stack([gather(offsets_x, px, py), gather(offsets_y, px, py)], axis=-1) * radius
    locs[detected] += offsets[detected].astype(np.float32)
    return locs, vals
