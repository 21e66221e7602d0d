"""UDP targets (Huang et al., "The Devil is in the Details", CVPR 2020), as MMPose 0.x built them.

UDP measures positions on the grid of pixel centres: input pixel 0 and pixel w - 1 map to heatmap
cells 0 and W - 1, so the stride is (w - 1) / (W - 1) instead of w / W.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from ._checks import (as_heatmap_size, as_size, joint_weights_vector, joints_and_visibility,
                      target_type_name)
from .gaussian_window import paint_truncated, truncated_axis
from .windows import axis_cells, painted_cells


def udp_stride(image_size, heatmap_size) -> np.ndarray:
    """(2,) input pixels per heatmap cell under UDP: (size - 1) / (heatmap_size - 1)."""
    image_size = as_size(image_size, 'image_size')
    heatmap_size = np.asarray(as_heatmap_size(heatmap_size), dtype=np.float64)
    if np.any(heatmap_size < 2):
        raise ValueError(f'UDP needs a heatmap of at least 2 x 2 cells, got {heatmap_size}')
    return (image_size - 1.0) / (heatmap_size - 1.0)


def udp_heatmap_target(joints, visibility, image_size, heatmap_size, sigma: float = 2.0,
                       target_type: str = 'GaussianHeatmap',
                       valid_radius_factor: float = 0.0546875,
                       joint_weights: Optional[np.ndarray] = None
                       ) -> Tuple[np.ndarray, np.ndarray]:
    """UDP heatmap targets for K keypoints of one instance.

    Args:
        joints: (K, 2) keypoints in input-image pixels; visibility: (K,) (None: all visible).
        image_size: (w, h) in pixels; heatmap_size: (W, H) in cells.
        sigma: for 'GaussianHeatmap', the Gaussian's standard deviation in cells. The Gaussian
            is centred at the exact sub-cell position, inside a 3-sigma window placed around
            the nearest cell (as MMPose 0.x).
        target_type: 'GaussianHeatmap' -> (K, H, W); 'CombinedTarget' -> (3K, H, W), for each
            keypoint a response map (1 within ``valid_radius_factor * H`` cells of the
            keypoint, else 0) followed by x and y offset maps ``(keypoint - cell) / radius``
            inside that disc.
        valid_radius_factor: the disc radius as a fraction of the heatmap height.
        joint_weights: (K,) or (K, 1) multipliers of the weights, or None.

    Returns:
        target float32 as above and target_weight (K, 1) float32: the visibility, 0 where the
        Gaussian window, or the CombinedTarget disc, has no cell on the heatmap (MMPose 0.x
        kept such CombinedTarget weights at the visibility; posecfg treats them as the other
        encodings do).
    """
    joints, visibility = joints_and_visibility(joints, visibility)
    target_type = target_type_name(target_type)
    width, height = as_heatmap_size(heatmap_size)
    finite = np.isfinite(joints).all(axis=1)
    centres = np.where(finite[:, None], joints / udp_stride(image_size, heatmap_size), -1e6)
    weight = visibility.copy()
    if target_type == 'GaussianHeatmap':
        rounded = np.trunc(centres + 0.5)
        x = truncated_axis(rounded[:, 0], centres[:, 0] - rounded[:, 0], width, sigma)
        y = truncated_axis(rounded[:, 1], centres[:, 1] - rounded[:, 1], height, sigma)
        weight[x.outside | y.outside | ~finite] = 0.0
        target = paint_truncated(x, y, weight > 0.5, width, height)
    else:
        target = np.zeros((len(joints), 3, height, width), dtype=np.float32)
        radius = valid_radius_factor * height
        # the disc's cells lie within [mu - r, mu + r]; one spare cell per side absorbs rounding
        size = int(np.floor(2 * radius)) + 3
        start = np.ceil(centres - radius) - 1
        cells_x, on_x = axis_cells(start[:, 0], size, width)
        cells_y, on_y = axis_cells(start[:, 1], size, height)
        offset_x = (centres[:, 0, None] - cells_x) / radius  # (K, S)
        offset_y = (centres[:, 1, None] - cells_y) / radius
        disc = offset_y[:, :, None] ** 2 + offset_x[:, None, :] ** 2 <= 1  # (K, S, S)
        positive = disc & on_y[:, :, None] & on_x[:, None, :]
        weight[~positive.any(axis=(1, 2)) | ~finite] = 0.0
        positive &= (weight > 0.5)[:, None, None]
        k, iy, ix, ys, xs = painted_cells(positive, cells_x, cells_y)
        target[k, 0, ys, xs] = 1.0
        target[k, 1, ys, xs] = offset_x[k, ix]
        target[k, 2, ys, xs] = offset_y[k, iy]
        target = target.reshape(3 * len(joints), height, width)
    if joint_weights is not None:
        weight = weight * joint_weights_vector(joint_weights, len(joints))
    return target, weight[:, None].astype(np.float32)
