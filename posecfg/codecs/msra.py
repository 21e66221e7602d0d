"""MSRA Gaussian heatmap targets (Xiao et al., "Simple Baselines"), as MMPose 0.x generated them."""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from ._checks import as_heatmap_size, as_size, joint_weights_vector, joints_and_visibility
from .gaussian_window import full_profiles, outer_maps, paint_truncated, truncated_axis


def msra_heatmap_target(joints, visibility, image_size, heatmap_size, sigma: float = 2.0,
                        unbiased: bool = False,
                        joint_weights: Optional[np.ndarray] = None
                        ) -> Tuple[np.ndarray, np.ndarray]:
    """Gaussian heatmaps for K keypoints of one instance.

    Args:
        joints: (K, 2) keypoints in input-image pixels (extra columns are ignored).
        visibility: (K,) visibility (or (K, C), first column); None means all visible.
        image_size: (w, h) of the model input in pixels.
        heatmap_size: (W, H) of the heatmap in cells; the stride is image_size / heatmap_size.
        sigma: Gaussian standard deviation in heatmap cells.
        unbiased: DARK's unbiased encoding: the Gaussian is centred at the exact sub-cell
            position and covers the whole map. Otherwise (MMPose's default) the centre is
            rounded to a cell (``int(x / stride + 0.5)``) and the Gaussian is cut to a
            3-sigma window, with a peak of exactly 1.
        joint_weights: (K,) or (K, 1) multipliers of the weights, or None.

    Returns:
        target (K, H, W) float32 and target_weight (K, 1) float32. A weight is the visibility,
        0 where the 3-sigma window lies entirely outside the heatmap or the position is not
        finite; a map is drawn where the weight before joint_weights exceeds 0.5.
    """
    joints, visibility = joints_and_visibility(joints, visibility)
    width, height = as_heatmap_size(heatmap_size)
    stride = as_size(image_size, 'image_size') / [width, height]
    weight = visibility.copy()
    finite = np.isfinite(joints).all(axis=1)
    centres = np.where(finite[:, None], joints / stride, 0.0)
    if unbiased:
        tmp_size = 3.0 * sigma
        start, end = centres - tmp_size, centres + tmp_size + 1
        outside = ((start[:, 0] >= width) | (start[:, 1] >= height)
                   | (end[:, 0] < 0) | (end[:, 1] < 0))
        weight[outside | ~finite] = 0.0
        target = outer_maps(full_profiles(centres[:, 0], width, sigma),
                            full_profiles(centres[:, 1], height, sigma), weight > 0.5)
    else:
        rounded = np.trunc(centres + 0.5)  # int(x + 0.5) as MMPose: truncation toward zero
        no_subcell = np.zeros(len(joints))
        x = truncated_axis(rounded[:, 0], no_subcell, width, sigma)
        y = truncated_axis(rounded[:, 1], no_subcell, height, sigma)
        weight[x.outside | y.outside | ~finite] = 0.0
        target = paint_truncated(x, y, weight > 0.5, width, height)
    if joint_weights is not None:
        weight = weight * joint_weights_vector(joint_weights, len(joints))
    return target, weight[:, None].astype(np.float32)
