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


def flip_heatmaps(heatmaps, flip_pairs, channels_per_keypoint: int = 1, shift: bool = False):
    """Heatmaps of horizontally mirrored inputs, in the original orientation.

    Args:
        heatmaps: (B, C, H, W) numpy array or torch tensor; C = K × ``channels_per_keypoint``
            (1: one map per keypoint; 3: UDP CombinedTarget's response, x-offset, y-offset,
            whose x-offsets change sign).
        flip_pairs: [[left, right], ...] keypoint indices swapped by the mirror.
        shift: move the result one cell right (column x takes column x - 1, column 0 is kept):
            MMPose 0.x's ``shift_heatmap``, compensating its non-UDP flip of pixel x to
            w - 1 - x at the heatmap's coarser grid.

    Returns:
        A new (B, C, H, W) array or tensor of the input's kind (the input is left untouched):
        channels of each pair swapped and every map mirrored (cell x → W - 1 - x). Torch and
        numpy give the same numbers (pure data movement and sign changes).
    """
    is_numpy = isinstance(heatmaps, np.ndarray)
    if heatmaps.ndim != 4:
        raise ValueError(f'heatmaps must be (N, C, H, W), got shape {tuple(heatmaps.shape)}')
    n, c, height, width = heatmaps.shape
    if c % channels_per_keypoint:
        raise ValueError(f'CombinedTarget heatmaps need {channels_per_keypoint} channels per '
                         f'keypoint, got {c}')
    num = c // channels_per_keypoint
    perm = flip_permutation(num, flip_pairs)
    grouped = heatmaps.reshape(n, num, channels_per_keypoint, height, width)
    if is_numpy:
        out = grouped[:, perm, :, :, ::-1].copy()
    else:
        import torch
        out = grouped[:, torch.as_tensor(perm, device=heatmaps.device)].flip(-1)  # a copy
    if channels_per_keypoint == 3:
        out[:, :, 1] *= -1
    out = out.reshape(n, c, height, width)
    if shift:
        out[..., 1:] = out[..., :-1].copy() if is_numpy else out[..., :-1].clone()
    return out


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
        A new contiguous (N, C, H, W) array (see :func:`flip_heatmaps`, without shift).
    """
    heatmaps = np.asarray(heatmaps)
    channels = 3 if target_type_name(target_type) == 'CombinedTarget' else 1
    return flip_heatmaps(heatmaps, flip_pairs, channels)
