"""Undo a horizontal flip on heatmaps predicted for a mirrored image (flip test)."""
from __future__ import annotations

import numpy as np

from ._checks import target_type_name


def flip_permutation(num_keypoints: int, flip_pairs) -> np.ndarray:
    """(K,) index array that swaps each left/right pair of ``flip_pairs`` [[l, r], ...]."""
    perm = np.arange(num_keypoints)
    pairs = np.asarray(flip_pairs, dtype=np.int64).reshape(-1, 2)
    if pairs.size and (pairs.min() < 0 or pairs.max() >= num_keypoints):
        raise ValueError(f'flip_pairs must index keypoints 0..{num_keypoints - 1}, got '
                         f'{pairs.tolist()}')
    perm[pairs[:, 0]] = pairs[:, 1]
    perm[pairs[:, 1]] = pairs[:, 0]
    return perm


def flip_back(heatmaps: np.ndarray, flip_pairs, target_type: str = 'GaussianHeatmap'
              ) -> np.ndarray:
    """Heatmaps of a horizontally flipped input, flipped back to the original orientation.

    Args:
        heatmaps: (N, C, H, W) numpy array; C = K, or 3K for 'CombinedTarget'
            (response, x-offset, y-offset per keypoint).
        flip_pairs: [[left, right], ...] keypoint indices swapped by the mirror.
        target_type: 'GaussianHeatmap' (MMPose's 'GaussianHeatMap' is accepted) or
            'CombinedTarget', whose x-offset maps change sign.

    Returns:
        A new contiguous (N, C, H, W) array (the input is left untouched): channels of each pair
        swapped and every map mirrored left-right. The mirror maps cell x to W - 1 - x; the
        caller's ``shift_heatmap`` (one cell to the right) compensates MMPose's non-UDP
        flip of pixel x to w - 1 - x, and is not applied here.
    """
    heatmaps = np.asarray(heatmaps)
    if heatmaps.ndim != 4:
        raise ValueError(f'heatmaps must be (N, C, H, W), got shape {heatmaps.shape}')
    channels = 3 if target_type_name(target_type) == 'CombinedTarget' else 1
    n, c, height, width = heatmaps.shape
    if c % channels:
        raise ValueError(f"CombinedTarget heatmaps need 3 channels per keypoint, got {c}")
    grouped = heatmaps.reshape(n, c // channels, channels, height, width)
    out = grouped[:, flip_permutation(c // channels, flip_pairs), :, :, ::-1].copy()
    if channels == 3:
        out[:, :, 1] *= -1
    return out.reshape(n, c, height, width)
