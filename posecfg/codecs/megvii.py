"""Megvii heatmap targets (MSPN/RSN): a blurred one-hot per keypoint, peak value 255."""
from __future__ import annotations

from typing import Optional, Tuple

import cv2
import numpy as np

from ._checks import (as_heatmap_size, as_size, joint_weights_vector, joints_and_visibility,
                      odd_kernel_pair)
from .windows import axis_cells, painted_cells


def megvii_heatmap_target(joints, visibility, image_size, heatmap_size, kernel=(11, 11),
                          joint_weights: Optional[np.ndarray] = None
                          ) -> Tuple[np.ndarray, np.ndarray]:
    """MMPose 0.x's 'Megvii' encoding for K keypoints of one instance.

    Each keypoint marks the cell ``(int(x * W / w), int(y * H / h))`` (so cell c stands for the
    pixels [c, c + 1) · stride), the one-hot map is blurred with ``cv2.GaussianBlur(kernel,
    sigma=0)`` (OpenCV's mirrored border, as MMPose) and scaled so that the marked cell is 255.

    Args:
        joints: (K, 2) keypoints in input-image pixels.
        visibility: (K,) visibility; a keypoint is drawn only where it is >= 1.
        image_size: (w, h) input size in pixels; heatmap_size: (W, H) in cells.
        kernel: (kx, ky) odd blur kernel in cells, or one odd int for both.
        joint_weights: (K,) or (K, 1) multipliers of the weights, or None. (MMPose 0.x ignored
            ``use_different_joint_weights`` for this encoding; posecfg applies it everywhere.)

    Returns:
        target (K, H, W) float32 and target_weight (K, 1) float32: the visibility, 0 where the
        marked cell is outside the heatmap.
    """
    joints, visibility = joints_and_visibility(joints, visibility)
    kernel = odd_kernel_pair(kernel)
    width, height = as_heatmap_size(heatmap_size)
    image_w, image_h = as_size(image_size, 'image_size')
    weight = visibility.copy()
    finite = np.isfinite(joints).all(axis=1)
    safe = np.where(finite[:, None], joints, -1.0)
    cell_x = np.trunc(safe[:, 0] * width / image_w).astype(np.int64)
    cell_y = np.trunc(safe[:, 1] * height / image_h).astype(np.int64)
    considered = weight >= 1  # MMPose skips the rest and leaves their weight as it was
    outside = (cell_x < 0) | (cell_x >= width) | (cell_y < 0) | (cell_y >= height) | ~finite
    weight[considered & outside] = 0.0
    draw = considered & ~outside

    target = np.zeros((len(joints), height, width), dtype=np.float32)
    cells_x, values_x, on_x = _blurred_one_hot(cell_x, kernel[0], width)
    cells_y, values_y, on_y = _blurred_one_hot(cell_y, kernel[1], height)
    # the marked cell is the middle of each window; MMPose scales it to 255
    scale = 255.0 / (values_y[:, kernel[1] // 2] * values_x[:, kernel[0] // 2])
    mask = on_y[:, :, None] & on_x[:, None, :] & draw[:, None, None]
    k, iy, ix, ys, xs = painted_cells(mask, cells_x, cells_y)
    target[k, ys, xs] = values_y[k, iy] * values_x[k, ix] * scale[k]
    if joint_weights is not None:
        weight = weight * joint_weights_vector(joint_weights, len(joints))
    return target, weight[:, None].astype(np.float32)


def _blurred_one_hot(marked: np.ndarray, ksize: int, num_cells: int):
    """One axis of ``cv2.GaussianBlur`` applied to one-hot maps, on the kernel-sized window
    around each marked cell (K,).

    OpenCV's default border mirrors without repeating the edge cell (BORDER_REFLECT_101), so a
    one at cell t also appears at -t and at 2(n - 1) - t; those images add kernel taps near the
    borders. A 2D Gaussian blur of a one-hot map is the outer product of its two axes.
    Returns cells (K, k) int64, values (K, k) float64 and on_map (K, k) bool.
    """
    radius = ksize // 2
    if radius > num_cells - 1:
        raise ValueError(f'Megvii kernel {ksize} is wider than twice the heatmap ({num_cells} '
                         f'cells); use a kernel of at most {2 * num_cells - 1}')
    # taps[ksize] = 0 stands for "no tap" so that missing mirror images need no branch
    taps = np.append(cv2.getGaussianKernel(ksize, 0).ravel(), 0.0)  # GaussianBlur's kernel
    marked = np.minimum(np.maximum(marked, 0), num_cells - 1)[:, None]  # off-map ones: masked
    position = np.arange(ksize)
    # window position i is cell t - r + i; the image at -t adds tap i + 2t, the image at
    # 2(n - 1) - t adds tap i + 2t - 2(n - 1), where those are within the kernel
    left = position + 2 * marked
    right = left - 2 * (num_cells - 1)
    left = np.where((marked > 0) & (left < ksize), left, ksize)
    right = np.where((marked < num_cells - 1) & (right >= 0), right, ksize)
    values = taps[position] + taps[left] + taps[right]
    cells, on_map = axis_cells(marked[:, 0] - radius, ksize, num_cells)
    return cells, values, on_map
