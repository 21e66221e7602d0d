"""Plane geometry of top-down pose estimation: boxes, crop affines, flips.

Conventions (DESIGN.md): points are (x, y) pixels; like MMPose 0.x and ``cv2.warpAffine``, pixel
``i`` of a row has its centre at x = i, so an image of width W spans x ∈ [-0.5, W - 0.5] and a
horizontal mirror maps x to ``W - 1 - x``. A box "scale" is its (w, h) divided by MMPose's
``pixel_std`` = 200. Affine matrices are (2, 3) float64 arrays acting on column vectors
(x, y, 1): ``dst = M @ [x, y, 1]``, the convention of ``cv2.warpAffine`` (which samples
``src(M⁻¹ · dst)``).

The functions reproduce MMPose 0.x's ``bbox_xywh2cs``, ``get_affine_transform``,
``get_warp_matrix``, ``warp_affine_joints`` and ``fliplr_joints`` numerically, but are written in
closed form (no three-point solve), so composing several of them stays exact.
"""
from __future__ import annotations

import math
from typing import Sequence, Tuple

import numpy as np

#: MMPose's box normalisation: scale = size in pixels / PIXEL_STD.
PIXEL_STD = 200.0


# ----------------------------------------------------------------------------- boxes
def bbox_xywh2cs(bbox: Sequence[float], aspect_ratio: float, padding: float = 1.0,
                 pixel_std: float = PIXEL_STD) -> Tuple[np.ndarray, np.ndarray]:
    """Box (x, y, w, h) → (center, scale) with the box grown to ``aspect_ratio`` and padded.

    Args:
        bbox: (4,) or longer (extra entries, e.g. a score, are ignored); pixels.
        aspect_ratio: wanted width / height of the box (the model input's w / h).
        padding: factor applied to the scale after fixing the aspect ratio (1.25 in MMPose).
        pixel_std: the scale unit in pixels.

    Returns:
        center (2,) float32 pixels, scale (2,) float32 in units of ``pixel_std``.
    """
    x, y, w, h = (float(v) for v in bbox[:4])
    center = np.array([x + w * 0.5, y + h * 0.5], dtype=np.float32)
    # only ever grow one side, so the whole box stays inside the crop
    if w > aspect_ratio * h:
        h = w / aspect_ratio
    elif w < aspect_ratio * h:
        w = h * aspect_ratio
    scale = np.array([w, h], dtype=np.float32) / pixel_std * padding
    return center, scale.astype(np.float32)


def bbox_cs2xywh(center: Sequence[float], scale: Sequence[float], padding: float = 1.0,
                 pixel_std: float = PIXEL_STD) -> np.ndarray:
    """(center, scale) → box (x, y, w, h) (4,) float32; inverse of :func:`bbox_xywh2cs` up to
    its aspect-ratio growth, which cannot be undone."""
    wh = np.asarray(scale, dtype=np.float64) / padding * pixel_std
    xy = np.asarray(center, dtype=np.float64) - 0.5 * wh
    return np.concatenate([xy, wh]).astype(np.float32)


# ----------------------------------------------------------------------------- affines
def get_affine_transform(center: Sequence[float], scale: Sequence[float], rot: float,
                         output_size: Sequence[float], shift: Sequence[float] = (0., 0.),
                         inv: bool = False) -> np.ndarray:
    """MMPose 0.x's crop affine: box (center, scale) rotated by ``rot`` → an output image.

    The box centre (moved by ``shift`` × box size) lands on the output centre
    (w/2, h/2); the box *width* (scale[0] · 200 px) spans the output width, the height follows
    from the same factor (MMPose ignores scale[1] here: the aspect ratio was fixed upstream);
    image content turns by ``rot`` degrees counter-clockwise as displayed (cv2's convention).

    Args:
        center: (2,) box centre, pixels.
        scale: (2,) box (w, h) / 200.
        rot: degrees.
        output_size: (2,) output (w, h), pixels.
        shift: (2,) translation of the box centre as a fraction of the box (w, h).
        inv: return the output → input map instead.

    Returns:
        (2, 3) float64 input → output matrix (output → input when ``inv``).
    """
    src_w = float(scale[0]) * PIXEL_STD
    src_h = float(scale[1]) * PIXEL_STD
    factor = float(output_size[0]) / src_w  # output pixels per input pixel
    theta = math.radians(rot)
    cos, sin = math.cos(theta), math.sin(theta)
    src_c = np.array([float(center[0]) + src_w * float(shift[0]),
                      float(center[1]) + src_h * float(shift[1])])
    dst_c = np.array([float(output_size[0]) * 0.5, float(output_size[1]) * 0.5])
    if inv:
        linear = np.array([[cos, -sin], [sin, cos]]) / factor
        return np.hstack([linear, (src_c - linear @ dst_c)[:, None]])
    linear = np.array([[cos, sin], [-sin, cos]]) * factor
    return np.hstack([linear, (dst_c - linear @ src_c)[:, None]])


def get_warp_matrix(theta: float, size_input: Sequence[float], size_dst: Sequence[float],
                    size_target: Sequence[float]) -> np.ndarray:
    """MMPose 0.x's unbiased (UDP) crop affine.

    ``TopDownAffine(use_udp=True)`` calls it as
    ``get_warp_matrix(rotation, center * 2, image_size - 1, scale * 200)``: the point
    ``size_input / 2`` (the box centre) goes to ``size_target / 2`` scaled to the output, the box
    (``size_target`` px) to ``size_dst`` + 1 output pixels, each axis with its own factor. Note
    MMPose turns the content the other way than :func:`get_affine_transform` for the same
    ``theta`` (clockwise as displayed); we keep that so UDP configs behave identically.

    Args:
        theta: degrees.
        size_input: (2,) twice the box centre, pixels.
        size_dst: (2,) output (w - 1, h - 1), pixels.
        size_target: (2,) box (w, h), pixels.

    Returns:
        (2, 3) float64 input → output matrix.
    """
    t = math.radians(theta)
    cos, sin = math.cos(t), math.sin(t)
    sx = float(size_dst[0]) / float(size_target[0])
    sy = float(size_dst[1]) / float(size_target[1])
    half_in = 0.5 * np.asarray(size_input, dtype=np.float64)
    half_tg = 0.5 * np.asarray(size_target, dtype=np.float64)
    return np.array([
        [cos * sx, -sin * sx, sx * (-half_in[0] * cos + half_in[1] * sin + half_tg[0])],
        [sin * sy, cos * sy, sy * (-half_in[0] * sin - half_in[1] * cos + half_tg[1])],
    ])


def hflip_matrix(img_width: float) -> np.ndarray:
    """(2, 3) affine of a left-right mirror of an image ``img_width`` pixels wide: x → W - 1 - x,
    which is what ``img[:, ::-1]`` does to pixel centres."""
    return np.array([[-1.0, 0.0, float(img_width) - 1.0], [0.0, 1.0, 0.0]])


def scale_matrix(factor_x: float, factor_y: float, offset_x: float = 0.0,
                 offset_y: float = 0.0) -> np.ndarray:
    """(2, 3) affine x → factor_x · x + offset_x, y → factor_y · y + offset_y."""
    return np.array([[float(factor_x), 0.0, float(offset_x)],
                     [0.0, float(factor_y), float(offset_y)]])


def compose_affine(*matrices: np.ndarray) -> np.ndarray:
    """The (2, 3) affine that applies ``matrices[-1]`` first and ``matrices[0]`` last
    (like function composition: ``compose_affine(a, b)(p) == a(b(p))``)."""
    total = None
    for m in matrices:
        m = np.asarray(m, dtype=np.float64)
        if m.shape != (2, 3):
            raise ValueError(f'compose_affine: expected (2, 3) matrices, got shape {m.shape}')
        if total is None:
            total = m.copy()
        else:  # total ∘ m: linear parts multiply, m's offset goes through total's linear part
            total = np.hstack([total[:, :2] @ m[:, :2], total[:, :2] @ m[:, 2:] + total[:, 2:]])
    if total is None:
        return np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    return total


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Inverse (2, 3) affine of an invertible (2, 3) affine."""
    m = np.asarray(matrix, dtype=np.float64)
    linear_inv = np.linalg.inv(m[:, :2])
    return np.hstack([linear_inv, -(linear_inv @ m[:, 2:])])


def affine_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a (2, 3) affine to points (..., 2); returns (..., 2) in ``points``' float dtype
    (float64 for integer input). MMPose's ``affine_transform`` / ``warp_affine_joints``."""
    pts = np.asarray(points)
    dtype = pts.dtype if np.issubdtype(pts.dtype, np.floating) else np.float64
    m = np.asarray(matrix, dtype=np.float64)
    out = pts.reshape(-1, 2).astype(np.float64) @ m[:, :2].T + m[:, 2]
    return out.reshape(pts.shape).astype(dtype, copy=False)


def crop_to_image(points: np.ndarray, center: Sequence[float], scale: Sequence[float],
                  input_size: Sequence[float], use_udp: bool = False) -> np.ndarray:
    """Points in a top-down crop's pixels → original-image pixels, MMPose 0.x's inverse crop.

    Args:
        points: (..., 2) (x, y) in pixels of the (w, h) = ``input_size`` crop.
        center: (2,) crop centre, pixels; scale: (2,) crop (w, h) / 200.
        use_udp: the crop was made by :func:`get_warp_matrix` (UDP): per axis,
            ``x = c_x - s_w / 2 + x_in * s_w / (w - 1)``. Otherwise by
            :func:`get_affine_transform`, isotropic by the box width:
            ``x = c_x + (x_in - w / 2) * s_w / w`` and ``y = c_y + (y_in - h / 2) * s_w / w``.
            As in MMPose 0.x (``transform_preds``) a rotation of the crop is not undone.

    Returns:
        (..., 2) float64 original-image pixels.
    """
    pts = np.asarray(points, dtype=np.float64)
    center = np.asarray(center, dtype=np.float64).reshape(2)
    size = np.asarray(scale, dtype=np.float64).reshape(2) * PIXEL_STD
    width, height = (float(v) for v in np.asarray(input_size).reshape(2))
    if use_udp:
        return pts * (size / [width - 1.0, height - 1.0]) + center - size * 0.5
    return (pts - [width / 2.0, height / 2.0]) * (size[0] / width) + center


# ----------------------------------------------------------------------------- flips
def flip_permutation(num_joints: int, flip_pairs: Sequence[Sequence[int]]) -> np.ndarray:
    """(K,) int index array: entry k is the joint whose data joint k takes after a mirror
    (its left/right partner, or itself)."""
    perm = np.arange(num_joints)
    for pair in flip_pairs:
        left, right = int(pair[0]), int(pair[1])
        perm[left], perm[right] = right, left
    return perm


def fliplr_joints(joints_3d: np.ndarray, joints_3d_visible: np.ndarray, img_width: float,
                  flip_pairs: Sequence[Sequence[int]]) -> Tuple[np.ndarray, np.ndarray]:
    """Mirror joints left-right in an image ``img_width`` pixels wide, swapping left/right names.

    Like MMPose 0.x: x → W - 1 - x, partners in ``flip_pairs`` exchange rows, and the joints
    are multiplied by their visibility (invisible joints become 0, z becomes 0).

    Args:
        joints_3d: (K, 3) float (x, y, z) pixels.
        joints_3d_visible: (K, 3) float (v, v, 0).
        img_width: width W of the image the joints live in, pixels.
        flip_pairs: [[left, right], …] joint indices.

    Returns:
        New (K, 3) joints and (K, 3) visibility arrays (inputs are not modified).
    """
    joints_3d = np.asarray(joints_3d)
    joints_3d_visible = np.asarray(joints_3d_visible)
    if len(joints_3d) != len(joints_3d_visible):
        raise ValueError(f'fliplr_joints: joints_3d has {len(joints_3d)} joints but '
                         f'joints_3d_visible has {len(joints_3d_visible)}')
    perm = flip_permutation(len(joints_3d), flip_pairs)
    joints = joints_3d[perm].copy()
    visible = joints_3d_visible[perm].copy()
    joints[:, 0] = float(img_width) - 1 - joints[:, 0]
    return joints * visible, visible
