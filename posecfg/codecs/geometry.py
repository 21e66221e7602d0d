"""Heatmap cells -> original-image pixels for top-down crops (MMPose 0.x ``transform_preds``)."""
from __future__ import annotations

import numpy as np

#: MMPose's ``pixel_std``: a box's ``scale`` is its (w, h) in pixels divided by this.
PIXEL_STD = 200.0


def transform_preds(coords: np.ndarray, center: np.ndarray, scale: np.ndarray, output_size,
                    use_udp: bool = False) -> np.ndarray:
    """Map heatmap coordinates back into the original image.

    Args:
        coords: (K, 2) or (N, K, 2) (x, y) in heatmap cells (extra columns pass through).
        center: (2,) or (N, 2) box centre in original-image pixels.
        scale: (2,) or (N, 2) box size in pixels / 200.
        output_size: (W, H) of the heatmap in cells.
        use_udp: UDP's pixel-centre grid: ``x = c_x - s_w / 2 + x_cell * s_w / (W - 1)`` with
            ``s_w = scale_x * 200`` (and the same for y with H and scale_y). Otherwise the inverse
            of MMPose's ``get_affine_transform`` with no rotation:
            ``x = c_x + (x_cell - W / 2) * s_w / W`` and ``y = c_y + (y_cell - H / 2) * s_w / W``
            (both axes scale by the box *width*, as that transform does).

    Returns:
        float32 array shaped like ``coords``, in original-image pixels.
    """
    coords = np.asarray(coords)
    batched = coords.ndim == 3
    coords3 = coords if batched else coords[None]
    center = np.asarray(center, dtype=np.float64).reshape(-1, 1, 2)
    scale = np.asarray(scale, dtype=np.float64).reshape(-1, 1, 2) * PIXEL_STD
    if len(center) != len(coords3) or len(scale) != len(coords3):
        raise ValueError(f'center and scale need one (x, y) row per instance ({len(coords3)}), '
                         f'got {len(center)} and {len(scale)}')
    width, height = float(output_size[0]), float(output_size[1])
    xy = coords3[..., :2].astype(np.float64)
    if use_udp:
        factor = scale / [width - 1.0, height - 1.0]
        mapped = xy * factor + center - scale * 0.5
    else:
        factor = scale[..., :1] / width  # (N, 1, 1): isotropic, from the box width
        mapped = (xy - [width / 2.0, height / 2.0]) * factor + center
    out = coords3.astype(np.float32, copy=True)
    out[..., :2] = mapped
    return out if batched else out[0]
