"""Heatmaps -> keypoints with MMPose 0.x's ``keypoints_from_heatmaps`` semantics."""
from __future__ import annotations

import warnings
from typing import Optional, Tuple, Union

import numpy as np

from ._checks import heatmap_batch, odd_kernel, target_type_name
from .blur import modulate_heatmaps
from .geometry import transform_preds
from .maximum import get_heatmap_maximum
from .refine import (decode_combined_target, refine_dark, refine_dark_udp,
                     refine_quarter_offset)

POST_PROCESSES = (None, 'default', 'unbiased', 'megvii')


def _post_process_name(post_process: Union[str, bool, None], unbiased: bool) -> Optional[str]:
    """Resolve MMPose's deprecated spellings (True/False, ``unbiased=True``) to one name."""
    if post_process is True or post_process is False:
        warnings.warn("post_process=True/False is deprecated; use 'default', 'unbiased' or None",
                      DeprecationWarning, stacklevel=3)
        post_process = ('unbiased' if unbiased else 'default') if post_process else None
    if post_process not in POST_PROCESSES:
        raise ValueError(f"post_process must be one of 'default', 'unbiased', 'megvii' or None, "
                         f'got {post_process!r}')
    if unbiased:
        if post_process in (None, 'megvii'):
            raise ValueError(f'unbiased=True (DARK) cannot be combined with '
                             f'post_process={post_process!r}; use post_process=\'unbiased\'')
        post_process = 'unbiased'
    return post_process


def decode_heatmaps(heatmaps, post_process: Union[str, bool, None] = 'default', kernel: int = 11,
                    valid_radius_factor: float = 0.0546875, use_udp: bool = False,
                    target_type: str = 'GaussianHeatmap', unbiased: bool = False
                    ) -> Tuple[np.ndarray, np.ndarray]:
    """Keypoints in heatmap cells, before mapping back to the image.

    Arguments as :func:`keypoints_from_heatmaps`. Returns locs (N, K, 2) float32 in heatmap
    cells (for 'megvii', cell c covers [c, c + 1)) and maxvals (N, K) float32 (for 'megvii'
    ``max / 255 + 0.5``, MMPose 0.x's scale for its 255-peak targets).
    """
    heatmaps = heatmap_batch(heatmaps)
    post_process = _post_process_name(post_process, unbiased)
    target_type = target_type_name(target_type)
    if use_udp and post_process == 'megvii':
        raise ValueError("post_process='megvii' cannot be used with use_udp=True")
    if use_udp or post_process in ('unbiased', 'megvii'):
        kernel = odd_kernel(kernel)
    if target_type == 'CombinedTarget' and not use_udp:
        raise ValueError("target_type='CombinedTarget' is a UDP target: set use_udp=True")

    if post_process == 'megvii':
        heatmaps = modulate_heatmaps(heatmaps, kernel)
    if use_udp and target_type == 'CombinedTarget':
        if heatmaps.shape[1] % 3:
            raise ValueError(f'CombinedTarget heatmaps need 3 channels per keypoint, got '
                             f'{heatmaps.shape[1]}')
        return decode_combined_target(heatmaps, kernel, valid_radius_factor)
    locs, maxvals = get_heatmap_maximum(heatmaps)
    if use_udp:  # UDP always refines with its DARK variant, whatever post_process says
        locs = refine_dark_udp(locs, heatmaps, kernel)
    elif post_process == 'unbiased':
        locs = refine_dark(locs, heatmaps, kernel)
    elif post_process is not None:
        locs = refine_quarter_offset(locs, heatmaps, 0.5 if post_process == 'megvii' else 0.0)
    if post_process == 'megvii':
        maxvals = maxvals / 255.0 + 0.5
    return locs, maxvals


def keypoints_from_heatmaps(heatmaps, center, scale,
                            post_process: Union[str, bool, None] = 'default', kernel: int = 11,
                            valid_radius_factor: float = 0.0546875, use_udp: bool = False,
                            target_type: str = 'GaussianHeatmap', unbiased: bool = False
                            ) -> Tuple[np.ndarray, np.ndarray]:
    """Top-down keypoints in original-image pixels from predicted heatmaps (MMPose 0.x).

    Args:
        heatmaps: (N, K, H, W) model output (numpy; 3K channels for UDP 'CombinedTarget').
        center: (N, 2) box centres in original-image pixels.
        scale: (N, 2) box sizes in pixels / 200.
        post_process: None (arg-max cell), 'default' (quarter-cell shift towards the higher
            neighbour), 'unbiased' (DARK: Gaussian modulation with ``kernel``, log, Taylor
            step) or 'megvii' (modulation, quarter shift plus half a cell, scores
            ``max / 255 + 0.5``). Ignored with ``use_udp`` except that 'megvii' is refused.
        kernel: odd Gaussian kernel in cells for 'unbiased', 'megvii' and UDP
            (11 for sigma 2, 17 for sigma 3).
        valid_radius_factor: CombinedTarget's offset unit as a fraction of the heatmap height.
        use_udp: UDP decoding: DARK-UDP refinement ('GaussianHeatmap') or response + offsets
            ('CombinedTarget'), and the UDP cell -> pixel mapping.
        target_type: 'GaussianHeatmap' or 'CombinedTarget'.
        unbiased: MMPose's deprecated alias of post_process='unbiased'.

    Returns:
        preds (N, K, 2) float32 in original-image pixels and maxvals (N, K, 1) float32 scores.
    """
    locs, maxvals = decode_heatmaps(heatmaps, post_process, kernel, valid_radius_factor,
                                    use_udp, target_type, unbiased)
    height, width = np.shape(heatmaps)[-2:]
    preds = transform_preds(locs, center, scale, (width, height), use_udp=use_udp)
    return preds, maxvals[..., None]
