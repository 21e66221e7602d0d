"""Input checks shared by the codecs: each error names the argument at fault and what is right."""
from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np


def as_size(value, name: str) -> np.ndarray:
    """``value`` as a float64 array ``[w, h]`` of positive numbers (pixels or heatmap cells)."""
    arr = np.asarray(value, dtype=np.float64).reshape(-1)
    if arr.shape != (2,) or not np.all(arr > 0):
        raise ValueError(f'{name} must be (w, h) with two positive numbers, got {value!r}')
    return arr


def as_heatmap_size(value, name: str = 'heatmap_size') -> Tuple[int, int]:
    """``value`` as integers ``(W, H)`` in heatmap cells."""
    arr = as_size(value, name)
    if not np.all(arr == np.round(arr)):
        raise ValueError(f'{name} must be whole numbers of heatmap cells (w, h), got {value!r}')
    return int(arr[0]), int(arr[1])


def joints_and_visibility(joints, visibility,
                          name: str = 'joints') -> Tuple[np.ndarray, np.ndarray]:
    """``joints`` as (K, 2) float64 and ``visibility`` as (K,) float32 (ones when None).

    ``joints`` may carry extra columns (``joints_3d`` is (K, 3)); only x, y are used.
    ``visibility`` may be (K,) or (K, C) (``joints_3d_visible``); its first column is used.
    """
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 2 or joints.shape[1] < 2:
        raise ValueError(f'{name} must be (K, 2) pixel coordinates, got shape {joints.shape}')
    joints = joints[:, :2]
    if visibility is None:
        return joints, np.ones(len(joints), dtype=np.float32)
    visibility = np.asarray(visibility, dtype=np.float32)
    if visibility.ndim == 2:
        visibility = visibility[:, 0]
    if visibility.shape != (len(joints),):
        raise ValueError(f'{name}_visible must be (K,) = ({len(joints)},) (or (K, C), first column '
                         f'used), got shape {visibility.shape}')
    return joints, visibility


def joint_weights_vector(joint_weights, num_joints: int) -> np.ndarray:
    """``joint_weights`` ((K,) or (K, 1)) as a (K,) float32 array."""
    weights = np.asarray(joint_weights, dtype=np.float32).reshape(-1)
    if weights.shape != (num_joints,):
        raise ValueError(f'joint_weights must hold one weight per joint ({num_joints}), got '
                         f'{weights.size} values')
    return weights


def odd_kernel(kernel, name: str = 'kernel') -> int:
    """A Gaussian kernel size: a positive odd integer."""
    numeric = (isinstance(kernel, (int, float, np.integer, np.floating))
               and not isinstance(kernel, bool))
    if not numeric or not float(kernel).is_integer() or kernel <= 0 or kernel % 2 != 1:
        raise ValueError(f'{name} must be a positive odd integer (e.g. 11 for sigma 2, 17 for '
                         f'sigma 3), got {kernel!r}')
    return int(kernel)


def odd_kernel_pair(kernel, name: str = 'kernel') -> Tuple[int, int]:
    """A Gaussian kernel ``(kx, ky)`` of positive odd integers; an int means (k, k)."""
    if np.isscalar(kernel):
        k = odd_kernel(kernel, name)
        return k, k
    pair: Sequence = tuple(kernel)
    if len(pair) != 2:
        raise ValueError(f'{name} must be an odd integer or a pair (kx, ky) of odd integers, '
                         f'got {kernel!r}')
    return odd_kernel(pair[0], name), odd_kernel(pair[1], name)


def heatmap_batch(heatmaps, name: str = 'heatmaps') -> np.ndarray:
    """``heatmaps`` as a float32 (N, K, H, W) array (no copy if it already is one; decoders
    never write into it)."""
    arr = np.asarray(heatmaps, dtype=np.float32)
    if arr.ndim != 4:
        raise ValueError(f'{name} must be (N, K, H, W), got shape {arr.shape}')
    return arr


TARGET_TYPES = {'gaussianheatmap': 'GaussianHeatmap', 'combinedtarget': 'CombinedTarget'}


def target_type_name(target_type: str) -> str:
    """Canonical spelling of a UDP target type; MMPose 0.x accepted 'GaussianHeatMap' too."""
    canonical = TARGET_TYPES.get(str(target_type).lower())
    if canonical is None:
        raise ValueError(f"target_type must be 'GaussianHeatmap' or 'CombinedTarget', got "
                         f'{target_type!r}')
    return canonical
