"""Whole-image geometry steps (``data_mode='bottomup'``) with DeepLabCut 3's semantics.

Each step reads and writes the image record (CONTRACTS.md): ``img``, ``keypoints`` (N, K, 2)
and ``keypoints_visible`` (N, K), ``bboxes`` (N, 4) xywh, ``areas`` (N,), the optional
``unique_keypoints`` (1, U, 2) / ``unique_keypoints_visible`` and ``crop_centers`` /
``crop_scales`` / ``head_sizes``; N and shapes never change. Every step composes its (2, 3)
affine into ``warp_mat`` (original-image pixels → model-input pixels; ``Collect`` puts it in
``img_metas``, and ``BottomUp`` maps predictions back through its inverse) and into a pending
:class:`~posecfg.transforms.warped_image.WarpedImage`: the steps of a sample cost one
``cv2.warpAffine`` together.

Pixel centres sit at whole numbers (CONTRACTS.md): a mirror maps x to W - 1 - x and a resize by
s maps x to (x + 0.5)·s - 0.5, the mapping of the pixels ``cv2.resize`` makes, so keypoints stay
on the pixels they label. (albumentations, which DeepLabCut uses, scales keypoints by x·s: up to
(1 - s)/2 px off its own resized pixels.)

A keypoint that leaves the image becomes unlabelled: coordinates 0, visibility 0. DeepLabCut
marks it NaN (crop, covering) or visibility 0 (``data/utils.py:486`` ``out_of_bounds_keypoints``:
x < 0, x > w, y < 0 or y > h of the augmented image) and its target generators skip it; here
each step checks its own canvas with that rule (``KeypointAwareCrop``: 0 ≤ x < w, 0 ≤ y < h, its
rule at ``data/transforms.py:326``). Boxes go through the affine as their four corners (the
enclosing box, albumentations' ``largest_box``), clipped to the canvas; a box entirely outside
becomes (0, 0, 0, 0) (``data/utils.py:478``). ``areas`` scale by the affine's determinant.

Randomness comes from ``np.random`` (the dataset seeds it per sample); draws are made in the
order DeepLabCut / albumentations make theirs. ``p`` draws ``np.random.rand() < p`` first.

DeepLabCut ``pytorch_config.yaml`` ``data.train``/``data.inference`` key → posecfg step
(order of ``build_transforms``, DeepLabCut 3.0.1 ``pose_estimation_pytorch/data/transforms.py``
lines 26-153; the pixel steps live in :mod:`posecfg.transforms.pixel_ops`, the collates in
:mod:`posecfg.transforms.resize_collate`):

============================  =========================================================
``resize: {height, width,     ``Resize(height=, width=, keep_ratio=True)`` (keep_ratio
keep_ratio}``                 pads bottom/right to height × width, DLC lines 206-222)
``longest_max_size: S``       ``LongestMaxSize(max_size=S)`` (int or list to choose from)
``hflip: true``               ``HorizontalFlip(p=0.5)``
``hflip: 0.3`` (a float)      ``HorizontalFlip(p=0.3)`` (DLC: an int such as 1 means 0.5)
``hflip: {p, symmetries}``    ``HorizontalFlip(p=p, symmetries=[[a, b], ...])``
``affine: {p, rotation,       ``RandomAffine(p=p (default 0.9), rotation=r, scaling=[lo,
scaling, translation}``       hi], translation=t)``; all three null: albumentations'
                              defaults (``RandomAffine`` with ``shear`` etc., see class)
``random_bbox_transform``     top-down only (boxes for crops): not a whole-image step
``crop_sampling: {width,      ``PadIfNeeded(min_height=height, min_width=width,
height, max_shift, method}``  pad_height_divisor=None, pad_width_divisor=None,
                              position='center', border_mode='constant')`` then
                              ``KeypointAwareCrop(width, height, max_shift, method)``
``hist_eq: true``             ``Equalize(p=0.5)``
``motion_blur: true``         ``MotionBlur(blur_limit=7, p=0.5)``
``covering: true``            ``CoarseDropout(max_holes=10, max_height=0.05,
                              min_height=0.01, max_width=0.05, min_width=0.01, p=0.5)``
``elastic_transform: true``   ``ElasticTransform(alpha=20, sigma=5, p=0.5)``
``grayscale: true``           ``Grayscale(alpha=(0.5, 1.0), p=0.5)``
``gaussian_noise: true|std``  ``GaussianNoise(std=12.75 or std, p=0.5)``
``auto_padding: {...}``       ``PadIfNeeded(**auto_padding)`` (defaults are DLC's
                              ``build_auto_padding``: divisors 1, position 'random',
                              border 'reflect_101')
``normalize_images: true``    ``NormalizeImage()`` (ImageNet mean/std)
``scale_to_unit_range: true`` ``ScaleToUnitRange()``
neither of the two above      ``NormalizeTensor(mean=[0, 0, 0], std=[1/255] * 3)`` (DLC
                              then feeds 0-255 pixels)
``collate: {type: ...}``      ``collate_fn=dict(type='ResizeFromDataSizeCollate' |
                              'ResizeFromListCollate', ...)`` (same keys)
============================  =========================================================

A DLC pipeline is then ``LoadImageFromFile`` → the steps above → ``ToTensor`` → (normalising
step) → ``GenerateTarget`` → ``Collect(keys=[...], meta_keys=[...])``; with a resizing collate,
targets are made after it (the collate's ``transforms``).
"""
from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from ..geometry import affine_points, compose_affine, hflip_matrix, scale_matrix
from ..registry import TRANSFORMS
from .record import require
from .warped_image import BORDER_MODES, WarpedImage, canvas_size, compose_warp_mat

#: per-instance point arrays (..., 2) moved by the affine, with their visibility key
POINT_KEYS = (('keypoints', 'keypoints_visible'),
              ('unique_keypoints', 'unique_keypoints_visible'))


# ----------------------------------------------------------------------------- the record
def outside(points: np.ndarray, width: int, height: int, strict: bool = False) -> np.ndarray:
    """(...) bool: points (..., 2) off a (width, height) image by DeepLabCut's rule
    (``data/utils.py:500``: x < 0, x > w, y < 0, y > h, or NaN); ``strict``: x ≥ w or y ≥ h
    are off too (``KeypointAwareCrop``, ``data/transforms.py:326``)."""
    x, y = points[..., 0], points[..., 1]
    if strict:
        inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)
    else:
        inside = (x >= 0) & (x <= width) & (y >= 0) & (y <= height)
    return ~inside  # NaN compares False: outside


def move_points(results: dict, matrix: np.ndarray, width: int, height: int,
                strict: bool = False) -> None:
    """Move every point array of the record by ``matrix``; points leaving the (width, height)
    canvas become unlabelled (0, visibility 0). Unlabelled points stay (0, 0)."""
    for key, vis_key in POINT_KEYS:
        if key not in results:
            continue
        if vis_key not in results:
            raise KeyError(f'the image record has {key!r} but no {vis_key!r}; every point '
                           f'array comes with its visibility')
        points = np.asarray(results[key], dtype=np.float32)
        visible = np.array(results[vis_key], dtype=np.float32)
        moved = affine_points(points, matrix).astype(np.float32)
        labelled = visible > 0
        drop = labelled & outside(moved, width, height, strict)
        visible[drop] = 0
        moved[visible <= 0] = 0
        results[key], results[vis_key] = moved, visible


def move_boxes(results: dict, matrix: np.ndarray, width: int, height: int) -> None:
    """``bboxes`` (N, 4) xywh → the box enclosing each moved box, clipped to the canvas;
    ``areas`` × |det|; ``crop_centers`` moved; ``crop_scales``/``head_sizes`` × sqrt|det|."""
    det = abs(float(np.linalg.det(np.asarray(matrix, np.float64)[:, :2])))
    if 'bboxes' in results:
        boxes = np.asarray(results['bboxes'], dtype=np.float64).reshape(-1, 4)
        x0, y0 = boxes[:, 0], boxes[:, 1]
        x1, y1 = x0 + boxes[:, 2], y0 + boxes[:, 3]
        corners = np.stack([np.stack([x0, y0], -1), np.stack([x1, y0], -1),
                            np.stack([x1, y1], -1), np.stack([x0, y1], -1)], axis=1)
        moved = affine_points(corners, matrix)
        low = np.clip(moved.min(axis=1), 0, [width, height])
        high = np.clip(moved.max(axis=1), 0, [width, height])
        out = np.concatenate([low, high - low], axis=1)
        gone = (out[:, 2] <= 0) | (out[:, 3] <= 0)
        out[gone] = 0  # entirely outside: DeepLabCut's zero box
        results['bboxes'] = out.astype(np.float32)
    if 'areas' in results:
        results['areas'] = (np.asarray(results['areas'], np.float32) * det).astype(np.float32)
    if 'crop_centers' in results:
        results['crop_centers'] = affine_points(
            np.asarray(results['crop_centers'], np.float32), matrix).astype(np.float32)
    for key in ('crop_scales', 'head_sizes'):
        if key in results:
            results[key] = (np.asarray(results[key], np.float32)
                            * np.float32(np.sqrt(det))).astype(np.float32)


def apply_affine(results: dict, matrix: np.ndarray, size: Tuple[int, int],
                 border_mode: str = 'constant', border_value=None,
                 strict: bool = False) -> dict:
    """Apply the (2, 3) affine ``matrix`` (current image pixels → new pixels, new canvas
    (w, h) = ``size``) to the whole record: pending pixels, points, boxes and ``warp_mat``."""
    width, height = int(size[0]), int(size[1])
    results['img'] = WarpedImage.wrap(results['img']).then(matrix, (width, height),
                                                           border_mode, border_value)
    results['warp_mat'] = compose_warp_mat(results, matrix)
    move_points(results, matrix, width, height, strict)
    move_boxes(results, matrix, width, height)
    return results


def resize_matrix(old_size: Tuple[int, int], new_size: Tuple[int, int]) -> np.ndarray:
    """(2, 3) affine of ``cv2.resize`` from (w, h) = ``old_size`` to ``new_size``: per axis
    x → (x + 0.5)·s - 0.5 with s = new / old (pixel centres at whole numbers)."""
    sx = new_size[0] / old_size[0]
    sy = new_size[1] / old_size[1]
    return scale_matrix(sx, sy, 0.5 * sx - 0.5, 0.5 * sy - 0.5)


def _positive_int(value, name: str, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f'{owner}: {name} must be a positive integer (pixels), got {value!r}')
    return int(value)


def _prob(p, owner: str) -> float:
    if isinstance(p, bool) or not isinstance(p, Real) or not 0 <= p <= 1:
        raise ValueError(f'{owner}: p must be a probability in [0, 1], got {p!r}')
    return float(p)


def _range(value, name: str, owner: str, symmetric: bool) -> Optional[Tuple[float, float]]:
    """None, a number (symmetric: (-v, v); else (v, v)) or a [low, high] pair."""
    if value is None:
        return None
    if isinstance(value, Real) and not isinstance(value, bool):
        return (-float(value), float(value)) if symmetric else (float(value), float(value))
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(
            isinstance(v, Real) and not isinstance(v, bool) for v in value):
        low, high = float(value[0]), float(value[1])
        if low > high:
            raise ValueError(f'{owner}: {name} range [{low}, {high}] has low > high')
        return low, high
    raise ValueError(f'{owner}: {name} must be a number or a [low, high] pair, got {value!r}')


# ----------------------------------------------------------------------------- resizing
@TRANSFORMS.register_module()
class Resize(BaseTransform):
    """Resize the image to (width, height) pixels (DeepLabCut ``resize``).

    ``keep_ratio=True`` (DeepLabCut's default): scale by s = min(height / h, width / w) to
    (int(w·s), int(h·s)) (``KeepAspectRatioResize``, mode 'pad') and pad at the bottom and
    right with 0 to exactly width × height (``PadIfNeeded`` top-left); otherwise stretch to
    width × height (``A.Resize``). DeepLabCut 3.0.1 ``data/transforms.py:206-222, 337-386``.
    """

    accepts_lazy_image = True
    example_args = dict(height=32, width=48)

    def __init__(self, height: int, width: int, keep_ratio: bool = True):
        self.height = _positive_int(height, 'height', 'Resize')
        self.width = _positive_int(width, 'width', 'Resize')
        self.keep_ratio = bool(keep_ratio)

    def transform(self, results: dict) -> dict:
        require(results, self, 'img')
        w, h = canvas_size(results['img'])
        if self.keep_ratio:
            s = min(self.height / h, self.width / w)
            new = (int(w * s), int(h * s))
        else:
            new = (self.width, self.height)
        return apply_affine(results, resize_matrix((w, h), new), (self.width, self.height))

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(height={self.height}, width={self.width}, '
                f'keep_ratio={self.keep_ratio})')


@TRANSFORMS.register_module()
class LongestMaxSize(BaseTransform):
    """Scale the image so its longer side is ``max_size`` pixels, up or down
    (``A.LongestMaxSize``: s = max_size / max(w, h), size (round(w·s), round(h·s)); a list of
    sizes: one chosen per sample)."""

    accepts_lazy_image = True
    example_args = dict(max_size=40)

    def __init__(self, max_size):
        sizes = list(max_size) if isinstance(max_size, (list, tuple)) else [max_size]
        if not sizes:
            raise ValueError('LongestMaxSize: max_size must be a size or a non-empty list')
        self.sizes = [_positive_int(s, 'max_size', 'LongestMaxSize') for s in sizes]
        self.max_size = max_size

    def transform(self, results: dict) -> dict:
        require(results, self, 'img')
        size = self.sizes[0] if len(self.sizes) == 1 else int(np.random.choice(self.sizes))
        w, h = canvas_size(results['img'])
        s = size / max(w, h)
        if s == 1.0:
            return results
        new = (int(round(w * s)), int(round(h * s)))
        return apply_affine(results, resize_matrix((w, h), new), new)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(max_size={self.max_size!r})'


# ----------------------------------------------------------------------------- flip, affine
@TRANSFORMS.register_module()
class HorizontalFlip(BaseTransform):
    """With probability ``p``, mirror the image left-right: x → w - 1 - x, and keypoints
    ``symmetries`` [[a, b], ...] (bodypart indices) exchange data (DeepLabCut ``hflip``,
    ``HFlip``, ``data/transforms.py:225-237``). Without symmetries keypoints keep their names
    (DeepLabCut warns; so do we). Unique keypoints are not swapped.

    DeepLabCut indexes ``symmetries`` into the flattened list of all individuals' keypoints;
    here they index bodyparts of every instance (the same for single-animal projects).
    """

    accepts_lazy_image = True
    example_args = dict(p=0.5, symmetries=[[0, 1]])

    def __init__(self, p: float = 0.5, symmetries: Optional[Sequence[Sequence[int]]] = None):
        self.p = _prob(p, 'HorizontalFlip')
        self.symmetries = None
        if symmetries is not None:
            pairs = []
            for pair in symmetries:
                if (not isinstance(pair, (list, tuple)) or len(pair) != 2 or not all(
                        isinstance(v, Integral) and not isinstance(v, bool) and v >= 0
                        for v in pair)):
                    raise ValueError(f'HorizontalFlip: symmetries must be pairs of keypoint '
                                     f'indices such as [[0, 1], [2, 3]], got {symmetries!r}')
                pairs.append((int(pair[0]), int(pair[1])))
            self.symmetries = pairs
        else:
            warnings.warn('HorizontalFlip without symmetries: left/right keypoints keep their '
                          'names when mirrored; give symmetries=[[left, right], ...] if the '
                          'animal has symmetric keypoints', stacklevel=2)

    def permutation(self, num_keypoints: int) -> np.ndarray:
        perm = np.arange(num_keypoints)
        for a, b in self.symmetries or ():
            if max(a, b) >= num_keypoints:
                raise ValueError(f'HorizontalFlip: symmetry pair ({a}, {b}) indexes beyond the '
                                 f'{num_keypoints} keypoints of the record')
            perm[a], perm[b] = b, a
        return perm

    def transform(self, results: dict) -> dict:
        require(results, self, 'img')
        if not np.random.rand() < self.p:
            return results
        w, h = canvas_size(results['img'])
        if self.symmetries and 'keypoints' in results:
            require(results, self, 'keypoints_visible')
            perm = self.permutation(np.shape(results['keypoints'])[1])
            results['keypoints'] = np.asarray(results['keypoints'])[:, perm]
            results['keypoints_visible'] = np.asarray(results['keypoints_visible'])[:, perm]
        return apply_affine(results, hflip_matrix(w), (w, h))

    def __repr__(self) -> str:
        return f'{type(self).__name__}(p={self.p}, symmetries={self.symmetries})'


def albumentations_affine(width: int, height: int, scale: Tuple[float, float],
                          rotate: float, translate: Tuple[float, float],
                          shear: Tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """The (2, 3) affine ``A.Affine`` (albumentations 1.4.3, geometric/transforms.py:802-826)
    makes from its drawn parameters, all as albumentations uses them (``rotate`` and ``shear``
    already negated as it does, in degrees): about the image centre (w/2 - 0.5, h/2 - 0.5),
    shear along y, then scale (sx, sy), rotation, shear along x (skimage's ``AffineTransform``
    conventions), then translation (tx, ty) pixels."""
    cx, cy = width / 2 - 0.5, height / 2 - 0.5
    r, shx, shy = np.deg2rad(rotate), np.deg2rad(shear[0]), np.deg2rad(shear[1])
    sx, sy = scale
    tx, ty = translate
    to_topleft = np.array([[1, 0, -cx], [0, 1, -cy]], np.float64)
    rot_m90 = np.array([[0, 1, 0], [-1, 0, 0]], np.float64)    # rotation by -pi/2
    rot_p90 = np.array([[0, -1, 0], [1, 0, 0]], np.float64)    # rotation by +pi/2
    shear_y = np.array([[1, -np.sin(shy), 0], [0, np.cos(shy), 0]], np.float64)
    main = np.array([[sx * np.cos(r), -sy * np.sin(r + shx), tx],
                     [sx * np.sin(r), sy * np.cos(r + shx), ty]], np.float64)
    to_center = np.array([[1, 0, cx], [0, 1, cy]], np.float64)
    return compose_affine(to_center, main, rot_p90, shear_y, rot_m90, to_topleft)


@TRANSFORMS.register_module()
class RandomAffine(BaseTransform):
    """With probability ``p``, scale, rotate and translate the image about its centre, on the
    same canvas (DeepLabCut ``affine`` → ``A.Affine(scale=scaling, rotate=(-rotation,
    rotation), translate_px=(-translation, translation), keep_ratio=True, p)``,
    ``data/transforms.py:59-76``; black border, bilinear).

    Args:
        p: probability (DeepLabCut's default 0.9).
        rotation: degrees; r → angle ~ U(-r, r), or a [low, high] pair.
        scaling: [low, high] → one factor ~ U(low, high) for both axes (keep_ratio), or a
            number (that factor).
        translation: pixels; t → integer shifts ~ U{-t..t}, drawn for x and y separately, or
            a [low, high] pair.
        shear: degrees (albumentations' ``shear``; DeepLabCut never sets it): [low, high] →
            x and y shears drawn separately.

    When ``rotation``, ``scaling``, ``translation`` and ``shear`` are all None, albumentations'
    defaults apply as DeepLabCut then gets them: scale U(0.9, 1.1), translation U(-0.1, 0.1) of
    the width/height, rotation U(-15, 15), shear U(-10, 10) per axis (albumentations 1.4.3
    geometric/transforms.py:635-640). Draw order: translation x, y; shear x, y; scale;
    rotation.
    """

    accepts_lazy_image = True
    example_args = dict(p=1.0, rotation=10, scaling=[0.9, 1.1], translation=2)

    def __init__(self, p: float = 0.9, rotation=None, scaling=None, translation=None,
                 shear=None):
        self.p = _prob(p, 'RandomAffine')
        self.rotation, self.scaling = rotation, scaling
        self.translation, self.shear = translation, shear
        self.translate_percent = None
        if all(v is None for v in (rotation, scaling, translation, shear)):
            self.rot_range, self.scale_range = (-15.0, 15.0), (0.9, 1.1)
            self.shear_range, self.translate_range = (-10.0, 10.0), None
            self.translate_percent = (-0.1, 0.1)
        else:
            self.rot_range = _range(rotation, 'rotation', 'RandomAffine', True) or (0.0, 0.0)
            self.scale_range = _range(scaling, 'scaling', 'RandomAffine', False) or (1.0, 1.0)
            self.translate_range = (_range(translation, 'translation', 'RandomAffine', True)
                                    or (0.0, 0.0))
            self.shear_range = _range(shear, 'shear', 'RandomAffine', True) or (0.0, 0.0)
            if any(v != int(v) for v in self.translate_range):
                raise ValueError(f'RandomAffine: translation is in whole pixels, got '
                                 f'{translation!r}')
        if self.scale_range[0] <= 0:
            raise ValueError(f'RandomAffine: scaling must be positive, got {scaling!r}')

    def draw(self, width: int, height: int) -> np.ndarray:
        """The (2, 3) affine of one random draw (after the ``p`` draw)."""
        if self.translate_percent is not None:
            tx = np.random.uniform(*self.translate_percent) * width
            ty = np.random.uniform(*self.translate_percent) * height
        else:
            low, high = int(self.translate_range[0]), int(self.translate_range[1])
            tx, ty = np.random.randint(low, high + 1), np.random.randint(low, high + 1)
        shx = -np.random.uniform(*self.shear_range)
        shy = -np.random.uniform(*self.shear_range)
        s = np.random.uniform(*self.scale_range)
        rotate = -np.random.uniform(*self.rot_range)
        return albumentations_affine(width, height, (s, s), rotate, (tx, ty), (shx, shy))

    def transform(self, results: dict) -> dict:
        require(results, self, 'img')
        if not np.random.rand() < self.p:
            return results
        w, h = canvas_size(results['img'])
        return apply_affine(results, self.draw(w, h), (w, h))

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(p={self.p}, rotation={self.rotation!r}, '
                f'scaling={self.scaling!r}, translation={self.translation!r}, '
                f'shear={self.shear!r})')


# ----------------------------------------------------------------------------- pad, crop
PAD_POSITIONS = ('center', 'top_left', 'top_right', 'bottom_left', 'bottom_right', 'random')


@TRANSFORMS.register_module()
class PadIfNeeded(BaseTransform):
    """Pad the image to at least ``min_height`` × ``min_width``, or to multiples of
    ``pad_height_divisor`` / ``pad_width_divisor`` (``A.PadIfNeeded``, albumentations 1.4.3
    geometric/transforms.py:1055-1306; defaults: DeepLabCut's ``build_auto_padding``,
    ``data/transforms.py:156-203``).

    Per axis exactly one of ``min_*`` / ``pad_*_divisor`` is set (as albumentations requires;
    to use ``min_height``, set ``pad_height_divisor=None``). The padding is split in half
    (the extra pixel at the bottom/right), then moved by ``position``: 'center',
    'top_left', 'top_right', 'bottom_left', 'bottom_right', or 'random' (top and left
    padding ~ U{0..total}). ``border_mode`` 'constant' fills with ``border_value`` (default
    0); 'reflect_101' mirrors the image (cv2.BORDER_REFLECT_101).
    """

    accepts_lazy_image = True
    example_args = dict(pad_height_divisor=32, pad_width_divisor=32)

    def __init__(self, min_height: Optional[int] = None, min_width: Optional[int] = None,
                 pad_height_divisor: Optional[int] = 1, pad_width_divisor: Optional[int] = 1,
                 position: str = 'random', border_mode: str = 'reflect_101',
                 border_value=None, border_mask_value=None):
        for axis, minimum, divisor in (('height', min_height, pad_height_divisor),
                                       ('width', min_width, pad_width_divisor)):
            if (minimum is None) == (divisor is None):
                raise ValueError(
                    f'PadIfNeeded: set exactly one of min_{axis} ({minimum!r}) and '
                    f'pad_{axis}_divisor ({divisor!r}); pad_{axis}_divisor defaults to 1, so '
                    f'give pad_{axis}_divisor=None with min_{axis} (as albumentations requires)')
            for name, value in ((f'min_{axis}', minimum), (f'pad_{axis}_divisor', divisor)):
                if value is not None:
                    _positive_int(value, name, 'PadIfNeeded')
        if position not in PAD_POSITIONS:
            raise ValueError(f'PadIfNeeded: position must be one of {PAD_POSITIONS}, got '
                             f'{position!r}')
        if border_mode not in BORDER_MODES:
            raise ValueError(f'PadIfNeeded: border_mode must be one of {sorted(BORDER_MODES)} '
                             f'(DeepLabCut auto_padding), got {border_mode!r}')
        self.min_height, self.min_width = min_height, min_width
        self.pad_height_divisor, self.pad_width_divisor = pad_height_divisor, pad_width_divisor
        self.position, self.border_mode = position, border_mode
        self.border_value = border_value
        self.border_mask_value = border_mask_value  # masks are not part of the record

    @staticmethod
    def _split(size: int, minimum: Optional[int], divisor: Optional[int]) -> Tuple[int, int]:
        if minimum is not None:
            if size >= minimum:
                return 0, 0
            before = int((minimum - size) / 2.0)
            return before, minimum - size - before
        remainder = size % divisor
        total = divisor - remainder if remainder > 0 else 0
        return total // 2, total - total // 2

    def padding(self, width: int, height: int) -> Tuple[int, int, int, int]:
        """(top, bottom, left, right) pixels for a (width, height) image (draws for 'random')."""
        top, bottom = self._split(height, self.min_height, self.pad_height_divisor)
        left, right = self._split(width, self.min_width, self.pad_width_divisor)
        pos = self.position
        if pos in ('top_left', 'top_right'):
            top, bottom = 0, top + bottom
        if pos in ('bottom_left', 'bottom_right'):
            top, bottom = top + bottom, 0
        if pos in ('top_left', 'bottom_left'):
            left, right = 0, left + right
        if pos in ('top_right', 'bottom_right'):
            left, right = left + right, 0
        if pos == 'random':
            total_h, total_w = top + bottom, left + right
            top = np.random.randint(0, total_h + 1)
            left = np.random.randint(0, total_w + 1)
            bottom, right = total_h - top, total_w - left
        return top, bottom, left, right

    def transform(self, results: dict) -> dict:
        require(results, self, 'img')
        w, h = canvas_size(results['img'])
        top, bottom, left, right = self.padding(w, h)
        if top == bottom == left == right == 0:
            return results
        matrix = np.array([[1.0, 0.0, left], [0.0, 1.0, top]])
        return apply_affine(results, matrix, (w + left + right, h + top + bottom),
                            self.border_mode, self.border_value)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(min_height={self.min_height}, '
                f'min_width={self.min_width}, pad_height_divisor={self.pad_height_divisor}, '
                f'pad_width_divisor={self.pad_width_divisor}, position={self.position!r}, '
                f'border_mode={self.border_mode!r}, border_value={self.border_value!r})')


CROP_METHODS = ('uniform', 'keypoints', 'density', 'hybrid')


@TRANSFORMS.register_module()
class KeypointAwareCrop(BaseTransform):
    """Crop ``width`` × ``height`` pixels, placed near keypoints (DeepLabCut ``crop_sampling``
    → ``KeypointAwareCrop``, ``data/transforms.py:240-334``; put ``PadIfNeeded`` to at least
    that size before it, as DeepLabCut does).

    Draws (np.random, DeepLabCut's order): shift = max_shift · U[0, 1)² · (width, height)
    with max_shift clipped to [0, 0.4]; for 'hybrid' the method ~ {'uniform', 'density'};
    'uniform' (or no labelled keypoint): the anchor (u, v) ~ U[0, 1)²; 'keypoints': a
    labelled keypoint chosen uniformly, 'density': chosen with probability ∝ 1 + its number
    of labelled neighbours within 0.1 · min(h, w) px; then (u, v) = clip((keypoint + shift)
    / (w, h), 0, 1). The crop's top-left is (int((w - width + 1) · u), int((h - height + 1)
    · v)) (albumentations' ``get_random_crop_coords``). Keypoints outside [0, width) ×
    [0, height) become unlabelled.
    """

    accepts_lazy_image = True
    example_args = dict(width=32, height=32, max_shift=0.1, method='hybrid')

    def __init__(self, width: int, height: int, max_shift: float = 0.4,
                 method: str = 'hybrid'):
        self.width = _positive_int(width, 'width', 'KeypointAwareCrop')
        self.height = _positive_int(height, 'height', 'KeypointAwareCrop')
        if isinstance(max_shift, bool) or not isinstance(max_shift, Real):
            raise ValueError(f'KeypointAwareCrop: max_shift must be a number (a fraction of '
                             f'the crop size), got {max_shift!r}')
        self.max_shift = max(0.0, min(float(max_shift), 0.4))
        if method not in CROP_METHODS:
            raise ValueError(f'KeypointAwareCrop: method must be one of {CROP_METHODS}, got '
                             f'{method!r}')
        self.method = method

    @staticmethod
    def labelled_points(results: dict) -> np.ndarray:
        """(M, 2) labelled keypoints of every instance and the unique ones."""
        points = []
        for key, vis_key in POINT_KEYS:
            if key in results:
                pts = np.asarray(results[key], np.float64).reshape(-1, 2)
                vis = np.asarray(results[vis_key]).reshape(-1) > 0
                points.append(pts[vis])
        return np.concatenate(points) if points else np.zeros((0, 2))

    def anchor(self, points: np.ndarray, width: int, height: int) -> Tuple[float, float]:
        """(u, v) in [0, 1): the crop position as albumentations' (w_start, h_start)."""
        shift = self.max_shift * np.random.random(2) * np.array([self.width, self.height])
        method = self.method
        if method == 'hybrid':
            method = str(np.random.choice(['uniform', 'density']))
        if len(points) == 0:
            method = 'uniform'
        if method == 'uniform':
            u, v = np.random.random(2)
            return float(u), float(v)
        if method == 'density':
            radius = 0.1 * min(height, width)
            diff = points[:, None] - points[None]
            near = (diff ** 2).sum(-1) <= radius * radius
            np.fill_diagonal(near, False)
            counts = near.sum(axis=0) + 1.0
            prob = counts / counts.sum()
        else:
            prob = np.ones(len(points)) / len(points)
        center = points[np.random.choice(np.arange(len(points)), p=prob)]
        center = np.clip((center + shift) / [width, height], 0, np.nextafter(1, 0))
        return float(center[0]), float(center[1])

    def transform(self, results: dict) -> dict:
        require(results, self, 'img')
        w, h = canvas_size(results['img'])
        if w < self.width or h < self.height:
            raise ValueError(f'KeypointAwareCrop: the image is {w}x{h} px, smaller than the '
                             f'{self.width}x{self.height} crop; pad it first '
                             f"(dict(type='PadIfNeeded', min_width={self.width}, "
                             f"min_height={self.height}, pad_width_divisor=None, "
                             f"pad_height_divisor=None, position='center', "
                             f"border_mode='constant'))")
        u, v = self.anchor(self.labelled_points(results), w, h)
        x1 = int((w - self.width + 1) * u)
        y1 = int((h - self.height + 1) * v)
        matrix = np.array([[1.0, 0.0, -x1], [0.0, 1.0, -y1]])
        return apply_affine(results, matrix, (self.width, self.height), strict=True)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(width={self.width}, height={self.height}, '
                f'max_shift={self.max_shift}, method={self.method!r})')
