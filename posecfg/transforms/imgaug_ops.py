"""Whole-image augmentations with imgaug 0.4.0's semantics (Lightning Pose's pipelines), no imgaug.

Lightning Pose 2.4.3 builds its augmentations from imgaug 0.4.0 augmenters
(``lightning_pose/data/augmentations.py``; the presets are written out in
:mod:`posecfg.transforms.lp_imgaug`). Those whose imgaug behaviour differs from the
albumentations-based steps DeepLabCut uses (:mod:`~posecfg.transforms.pixel_ops`,
:mod:`~posecfg.transforms.whole_image`) are here, each a registered transform reading and writing
the image record (CONTRACTS.md: ``img`` uint8 (h, w, 3), ``keypoints`` (N, K, 2) pixels with
pixel centres at whole numbers, ``keypoints_visible`` (N, K), ...):

======================================  ===============================================
imgaug 0.4.0 augmenter                  posecfg step
======================================  ===============================================
``Rot90(k=[...])`` (keep_size)          :class:`Rot90` (geometric: composed into the warp)
``CropAndPad(percent=(a, b),            :class:`CropAndPad` (geometric)
keep_size=False)``
``MotionBlur(k, angle)``                :class:`ImgaugMotionBlur`
``CoarseDropout(p, size_percent,        :class:`ImgaugCoarseDropout`
per_channel)``
``CoarseSalt`` / ``CoarsePepper``       :class:`CoarseSalt` / :class:`CoarsePepper`
``ElasticTransformation(alpha, sigma)`` :class:`ImgaugElasticTransformation`
``AllChannelsCLAHE()``                  :class:`AllChannelsCLAHE`
``Emboss(alpha, strength)``             :class:`Emboss`
======================================  ===============================================

imgaug's ``Sometimes(p, op)`` is every step's ``p`` (default 1: always, as the bare imgaug
augmenter): ``np.random.rand() < p`` is drawn first, then the step's own parameters. Randomness comes from ``np.random`` (the dataset seeds it per
sample); the streams are not imgaug's, the distributions are.

Keypoints: imgaug moves them with the geometry and never drops them; Lightning Pose marks a
keypoint unlabelled (NaN) when it ends outside the final resized image (``data/datasets.py:
496-506``: x < 0, y < 0, x ≥ W or y ≥ H). Here each geometric step applies posecfg's rule on its
own canvas (coordinates 0, visibility 0, :func:`~posecfg.transforms.whole_image.move_points`); a
point rotated off the canvas and brought back by a later pad stays unlabelled (Lightning Pose
would keep it). Pixel-only steps (blur, dropout, salt, CLAHE, emboss) never touch keypoints, as
in imgaug (unlike DeepLabCut's ``CoarseDropout``, which unlabels covered keypoints).
"""
from __future__ import annotations

from numbers import Integral, Real
from typing import Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from ..geometry import compose_affine
from ..registry import TRANSFORMS
from .pixel_ops import _RandomPixelOp, each_channel
from .record import require
from .warped_image import canvas_size
from .whole_image import (POINT_KEYS, _prob, _range, albumentations_affine, apply_affine,
                          outside, resize_matrix)


def _interval(value, name: str, owner: str) -> Tuple[float, float]:
    """A number (always that value) or a [low, high] pair (uniform), as imgaug reads tuples."""
    out = _range(value, name, owner, symmetric=False)
    if out is None:
        raise ValueError(f'{owner}: {name} must be a number or a [low, high] pair, got None')
    return out


def _uniform(interval: Tuple[float, float]) -> float:
    low, high = interval
    return low if low == high else float(np.random.uniform(low, high))


def _fraction(value, name: str, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 <= value <= 1:
        raise ValueError(f'{owner}: {name} must be a fraction in [0, 1], got {value!r}')
    return float(value)


# ----------------------------------------------------------------------------- geometry
def rot90_matrix(width: int, height: int) -> np.ndarray:
    """(2, 3) affine of one clockwise quarter turn of a (width, height) image onto a (height,
    width) canvas (``np.rot90(img, 1, axes=(1, 0))``): pixel (x, y) → (height - 1 - y, x)."""
    return np.array([[0.0, -1.0, height - 1.0], [1.0, 0.0, 0.0]])


@TRANSFORMS.register_module()
class Rot90(BaseTransform):
    """Rotate clockwise by k quarter turns, k drawn uniformly from ``k`` (imgaug 0.4.0
    ``Rot90``, ``augmenters/geometric.py:4796``, image by ``np.rot90(arr, k, axes=(1, 0))``
    at line 4953). ``keep_size=True`` (imgaug's default, the one Lightning Pose gets): an odd
    k's (h, w) result is resized back to the input's (w, h), so the image keeps its size.

    Lightning Pose: ``dlc-lr`` → k ∈ {0, 2}, ``dlc-top-down`` → k ∈ {0, 1, 2, 3}, p 1
    (``data/augmentations.py:152-157``).
    """

    accepts_lazy_image = True
    example_args = dict(k=[0, 1, 2, 3])

    def __init__(self, k: Sequence[int] = (0, 1, 2, 3), keep_size: bool = True, p: float = 1.0):
        values = [k] if isinstance(k, Integral) else list(k) if isinstance(
            k, (list, tuple)) else None
        if not values or not all(isinstance(v, Integral) and not isinstance(v, bool)
                                 for v in values):
            raise ValueError(f'Rot90: k must be a quarter-turn count or a non-empty list of '
                             f'them (e.g. [0, 2]), got {k!r}')
        self.k = [int(v) for v in values]
        self.keep_size = bool(keep_size)
        self.p = _prob(p, 'Rot90')

    def transform(self, results: dict) -> dict:
        require(results, self, 'img')
        if not np.random.rand() < self.p:
            return results
        turns = self.k[int(np.random.randint(len(self.k)))] % 4
        if turns == 0:
            return results
        w, h = canvas_size(results['img'])
        matrix, size = np.eye(3)[:2], (w, h)
        for _ in range(turns):
            matrix = compose_affine(rot90_matrix(*size), matrix)
            size = (size[1], size[0])
        if self.keep_size and size != (w, h):
            matrix = compose_affine(resize_matrix(size, (w, h)), matrix)
            size = (w, h)
        return apply_affine(results, matrix, size)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(k={self.k}, keep_size={self.keep_size}, p={self.p})'


@TRANSFORMS.register_module()
class CropAndPad(BaseTransform):
    """Crop (negative) or pad (positive, with ``pad_value``) each side by a fraction of the
    image: fractions drawn independently for top, right, bottom, left from U(``percent``),
    pixels = round(fraction · height) for top/bottom, · width for left/right (imgaug 0.4.0
    ``CropAndPad(percent=(a, b), keep_size=False)``, ``augmenters/size.py:1561``, rounding at
    lines 2096-2099). The output size changes (keep_size False, Lightning Pose's setting,
    ``data/augmentations.py:229-234``; a later ``Resize`` sets the model's size); with
    ``keep_size`` (imgaug's default) the result is resized back to the input's size.

    Cropping stays below half the image per side (percent low > -0.5), so the image never
    vanishes (imgaug shrinks such crops instead).
    """

    accepts_lazy_image = True
    example_args = dict(percent=[-0.15, 0.15], p=1.0)

    def __init__(self, percent=(-0.15, 0.15), p: float = 1.0, pad_value: float = 0,
                 keep_size: bool = False):
        self.keep_size = bool(keep_size)
        self.percent = _interval(percent, 'percent', 'CropAndPad')
        if self.percent[0] <= -0.5:
            raise ValueError(f'CropAndPad: percent must stay above -0.5 (a crop of both sides '
                             f'would remove the whole image), got {percent!r}')
        self.p = _prob(p, 'CropAndPad')
        self.pad_value = pad_value

    def transform(self, results: dict) -> dict:
        require(results, self, 'img')
        if not np.random.rand() < self.p:
            return results
        w, h = canvas_size(results['img'])
        top, right, bottom, left = np.random.uniform(*self.percent, size=4)
        top, bottom = int(np.round(h * top)), int(np.round(h * bottom))
        right, left = int(np.round(w * right)), int(np.round(w * left))
        matrix = np.array([[1.0, 0.0, left], [0.0, 1.0, top]])
        size = (w + left + right, h + top + bottom)
        if self.keep_size:
            matrix = compose_affine(resize_matrix(size, (w, h)), matrix)
            size = (w, h)
        return apply_affine(results, matrix, size, border_value=self.pad_value)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(percent={list(self.percent)}, p={self.p}, '
                f'pad_value={self.pad_value!r}, keep_size={self.keep_size})')


# ----------------------------------------------------------------------------- blur, emboss
@TRANSFORMS.register_module()
class ImgaugMotionBlur(_RandomPixelOp):
    """Motion blur (imgaug 0.4.0 ``MotionBlur(k, angle, direction=(-1, 1), order=1)``,
    ``augmenters/blur.py:983``, kernel at lines 1110-1134): a k × k kernel (k, or k ~ U{low..
    high} for a [low, high] range, made odd by adding 1) whose
    middle column holds linspace(d, 1 - d, k), d = (direction + 1) / 2, rotated by ``angle``
    degrees about its centre (bilinear, via uint8 as imgaug does), normalised to sum 1, and
    convolved with every channel (``cv2.filter2D``, uint8 saturation).

    Draw order: k, angle ~ U(angle), direction ~ U(direction). Lightning Pose: k 5, angle
    (-90, 90), p 0.5 (``data/augmentations.py:165-170``).
    """

    example_args = dict(k=5, angle=[-90, 90], p=0.5)

    def __init__(self, k=5, angle=(-90, 90), direction=(-1.0, 1.0), p: float = 1.0):
        super().__init__(p)
        sizes = _interval(k, 'k', 'ImgaugMotionBlur')
        if any(v != int(v) or v < 1 for v in sizes):
            raise ValueError(f'ImgaugMotionBlur: k must be a positive kernel size (pixels) or '
                             f'a [low, high] range of them, got {k!r}')
        self.k_range = (int(sizes[0]), int(sizes[1]))
        self.k = self.k_range[0] if sizes[0] == sizes[1] else list(self.k_range)
        self.angle = _interval(angle, 'angle', 'ImgaugMotionBlur')
        self.direction = _interval(direction, 'direction', 'ImgaugMotionBlur')

    def kernel(self) -> np.ndarray:
        """(k, k) float32 kernel of one draw (after the ``p`` draw)."""
        low, high = self.k_range
        k = low if low == high else int(np.random.randint(low, high + 1))
        k = k if k % 2 else k + 1  # blur.py:1117
        angle = _uniform(self.angle)
        d = (float(np.clip(_uniform(self.direction), -1.0, 1.0)) + 1.0) / 2.0
        line = np.zeros((k, k), np.float32)
        line[:, k // 2] = np.linspace(d, 1.0 - d, num=k)
        matrix = albumentations_affine(k, k, (1.0, 1.0), angle, (0.0, 0.0))
        rotated = cv2.warpAffine((line * 255).astype(np.uint8), matrix, (k, k),
                                 flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                                 borderValue=0)
        kernel = rotated.astype(np.float32) / 255.0
        return kernel / kernel.sum()

    def apply(self, results, img):
        results['img'] = cv2.filter2D(img, -1, self.kernel())
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(k={self.k}, angle={list(self.angle)}, '
                f'direction={list(self.direction)}, p={self.p})')


@TRANSFORMS.register_module()
class Emboss(_RandomPixelOp):
    """Emboss blended with the image (imgaug 0.4.0 ``Emboss(alpha, strength)``,
    ``augmenters/convolutional.py:356``, matrix at lines 440-462): with a ~ U(alpha),
    s ~ U(strength) (that order), convolve every channel (``cv2.filter2D``, uint8 saturation)
    with (1 - a)·I + a·[[-1-s, -s, 0], [-s, 1, s], [0, s, 1+s]], I the identity kernel.
    Lightning Pose: alpha (0, 0.5), strength (0.5, 1.5), p 0.1
    (``data/augmentations.py:220-226``)."""

    example_args = dict(alpha=[0.0, 0.5], strength=[0.5, 1.5], p=0.5)

    def __init__(self, alpha=(0.0, 1.0), strength=(0.25, 1.0), p: float = 1.0):
        super().__init__(p)
        self.alpha = _interval(alpha, 'alpha', 'Emboss')
        if not 0 <= self.alpha[0] <= self.alpha[1] <= 1:
            raise ValueError(f'Emboss: alpha must lie in [0, 1], got {alpha!r}')
        self.strength = _interval(strength, 'strength', 'Emboss')

    def matrix(self) -> np.ndarray:
        """(3, 3) float32 kernel of one draw."""
        a, s = _uniform(self.alpha), _uniform(self.strength)
        identity = np.zeros((3, 3), np.float32)
        identity[1, 1] = 1
        effect = np.array([[-1 - s, -s, 0], [-s, 1, s], [0, s, 1 + s]], np.float32)
        return ((1 - a) * identity + a * effect).astype(np.float32)

    def apply(self, results, img):
        results['img'] = cv2.filter2D(img, -1, self.matrix())
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(alpha={list(self.alpha)}, '
                f'strength={list(self.strength)}, p={self.p})')


@TRANSFORMS.register_module()
class AllChannelsCLAHE(_RandomPixelOp):
    """Contrast-limited adaptive histogram equalisation of each channel (imgaug 0.4.0
    ``AllChannelsCLAHE()`` defaults, ``augmenters/contrast.py:906-1080``): clip limit ~
    U(clip_limit), t ~ U{tile_grid_size_px} raised to ``tile_grid_size_px_min``, one draw for
    all channels (per_channel False); ``cv2.createCLAHE(clipLimit, tileGridSize=(t, t))`` — t
    is the number of tiles per side, as imgaug passes it (line 1065). Lightning Pose: defaults,
    p 0.1 (``data/augmentations.py:218``)."""

    example_args = dict(p=0.5)

    def __init__(self, clip_limit=(0.1, 8.0), tile_grid_size_px=(3, 12),
                 tile_grid_size_px_min: int = 3, p: float = 1.0):
        super().__init__(p)
        self.clip_limit = _interval(clip_limit, 'clip_limit', 'AllChannelsCLAHE')
        if self.clip_limit[0] <= 0:
            raise ValueError(f'AllChannelsCLAHE: clip_limit must be positive, got '
                             f'{clip_limit!r}')
        tiles = _interval(tile_grid_size_px, 'tile_grid_size_px', 'AllChannelsCLAHE')
        if any(t != int(t) or t < 1 for t in tiles):
            raise ValueError(f'AllChannelsCLAHE: tile_grid_size_px must be positive whole '
                             f'tile counts, got {tile_grid_size_px!r}')
        self.tile_grid_size_px = (int(tiles[0]), int(tiles[1]))
        self.tile_grid_size_px_min = int(tile_grid_size_px_min)

    def apply(self, results, img):
        clip = _uniform(self.clip_limit)
        tiles = int(np.random.randint(self.tile_grid_size_px[0], self.tile_grid_size_px[1] + 1))
        tiles = max(tiles, self.tile_grid_size_px_min)
        if tiles <= 1:
            return results
        clahe = cv2.createCLAHE(clipLimit=clip, tileGridSize=(tiles, tiles))
        results['img'] = each_channel(clahe.apply, img)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(clip_limit={list(self.clip_limit)}, '
                f'tile_grid_size_px={list(self.tile_grid_size_px)}, p={self.p})')


# ----------------------------------------------------------------------------- coarse masks
def coarse_mask(height: int, width: int, channels: int, fraction: float,
                size_percent: Tuple[float, float], min_size: int = 3) -> np.ndarray:
    """(height, width, channels) bool: elements hit with probability ``fraction``, drawn on a
    coarse grid and enlarged (imgaug 0.4.0 ``FromLowerResolution``, ``parameters.py:1461``,
    lines 1600-1625): grid (max(int(h·ph), min_size), max(int(w·pw), min_size)) with ph, pw ~
    U(size_percent) drawn separately, nearest-neighbour resize to the image."""
    ph, pw = np.random.uniform(*size_percent, size=2) if size_percent[0] != size_percent[1] \
        else size_percent
    small_h = max(int(height * ph), min_size)
    small_w = max(int(width * pw), min_size)
    hits = (np.random.rand(small_h, small_w, channels) < fraction).astype(np.uint8)
    big = cv2.resize(hits, (width, height), interpolation=cv2.INTER_NEAREST)
    return big.reshape(height, width, channels).astype(bool)


class _CoarseOp(_RandomPixelOp):
    """Shared arguments of the coarse-grid steps: ``fraction`` (imgaug's ``p``: probability of
    a coarse cell being hit), ``size_percent`` (grid size / image size, a number or [low,
    high]), ``per_channel`` (probability of drawing the mask per channel), ``min_size``."""

    def __init__(self, fraction: float, size_percent, per_channel: float = 0.0,
                 min_size: int = 3, p: float = 1.0):
        super().__init__(p)
        owner = type(self).__name__
        self.fraction = _fraction(fraction, 'fraction', owner)
        self.size_percent = _interval(size_percent, 'size_percent', owner)
        if not 0 < self.size_percent[0] <= self.size_percent[1] <= 1:
            raise ValueError(f'{owner}: size_percent must lie in (0, 1], got {size_percent!r}')
        self.per_channel = _fraction(float(per_channel), 'per_channel', owner)
        if isinstance(min_size, bool) or not isinstance(min_size, Integral) or min_size < 1:
            raise ValueError(f'{owner}: min_size must be a positive int, got {min_size!r}')
        self.min_size = int(min_size)

    def mask(self, img: np.ndarray) -> Tuple[np.ndarray, bool]:
        """(h, w, c) bool hits (c = 1 unless drawn per channel) and whether per channel."""
        per_channel = bool(np.random.rand() < self.per_channel) if self.per_channel else False
        channels = img.shape[2] if per_channel and img.ndim == 3 else 1
        return coarse_mask(img.shape[0], img.shape[1], channels, self.fraction,
                           self.size_percent, self.min_size), per_channel

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(fraction={self.fraction}, '
                f'size_percent={list(self.size_percent)}, per_channel={self.per_channel}, '
                f'min_size={self.min_size}, p={self.p})')


@TRANSFORMS.register_module()
class ImgaugCoarseDropout(_CoarseOp):
    """Set coarse rectangles to 0 (imgaug 0.4.0 ``CoarseDropout(p, size_percent,
    per_channel)``, ``augmenters/arithmetic.py:2839``: the image times a Binomial(1 - p) mask
    from :func:`coarse_mask`, lines 2802-2804; with probability ``per_channel`` the mask is
    drawn per channel). Keypoints are kept (imgaug drops pixels only). Lightning Pose: p 0.02,
    size_percent 0.3, per_channel 0.5, applied with p 0.5 (``data/augmentations.py:172-183``).
    """

    example_args = dict(fraction=0.02, size_percent=0.3, per_channel=0.5, p=0.5)

    def __init__(self, fraction: float = 0.02, size_percent=0.3, per_channel: float = 0.5,
                 min_size: int = 3, p: float = 1.0):
        super().__init__(fraction, size_percent, per_channel, min_size, p)

    def apply(self, results, img):
        hits, _ = self.mask(img)
        out = img.copy()
        if img.ndim == 2:
            out[hits[..., 0]] = 0
        else:
            out[np.broadcast_to(hits, img.shape)] = 0
        results['img'] = out
        return results


class _CoarseReplace(_CoarseOp):
    """Replace hit elements with values 255 · (0.5 ± |B - 0.5|), B ~ Beta(0.5, 0.5) (imgaug
    0.4.0 ``ReplaceElementwise``, ``augmenters/arithmetic.py:896``: one value per hit pixel,
    the same in every channel unless drawn per channel; stored rounded to uint8)."""

    #: +1: salt (values 127.5-255), -1: pepper (0-127.5)
    sign = 0

    def __init__(self, fraction: float = 0.01, size_percent=(0.05, 0.1),
                 per_channel: float = 0.0, min_size: int = 3, p: float = 1.0):
        super().__init__(fraction, size_percent, per_channel, min_size, p)

    def apply(self, results, img):
        hits, per_channel = self.mask(img)
        out = img.copy()
        if per_channel and img.ndim == 3:
            out[hits] = self.values(int(hits.sum()))
        else:  # one value per hit pixel, in every channel
            pixels = hits[..., 0]
            values = self.values(int(pixels.sum()))
            out[pixels] = values if img.ndim == 2 else values[:, None]
        results['img'] = out
        return results

    def values(self, n: int) -> np.ndarray:
        """(n,) uint8 replacement values."""
        b = np.abs(np.random.beta(0.5, 0.5, size=n) - 0.5)
        return np.clip(np.round(255.0 * (0.5 + self.sign * b)), 0, 255).astype(np.uint8)


@TRANSFORMS.register_module()
class CoarseSalt(_CoarseReplace):
    """Coarse rectangles of white-ish noise (imgaug 0.4.0 ``CoarseSalt(p, size_percent)``,
    ``augmenters/arithmetic.py:3921``, values 255 · (0.5 + |B - 0.5|), line 4050); see
    :class:`_CoarseReplace`. Lightning Pose: p 0.01, size_percent (0.05, 0.1), applied with
    p 0.5 (``data/augmentations.py:190-198``)."""

    sign = 1
    example_args = dict(fraction=0.05, size_percent=[0.05, 0.1], p=0.5)


@TRANSFORMS.register_module()
class CoarsePepper(_CoarseReplace):
    """Coarse rectangles of black-ish noise (imgaug 0.4.0 ``CoarsePepper(p, size_percent)``,
    ``augmenters/arithmetic.py:4147``, values 255 · (0.5 - |B - 0.5|), line 4274); see
    :class:`_CoarseReplace`. Lightning Pose: as :class:`CoarseSalt`
    (``data/augmentations.py:199-202``)."""

    sign = -1
    example_args = dict(fraction=0.05, size_percent=[0.05, 0.1], p=0.5)


# ----------------------------------------------------------------------------- elastic
def gaussian_ksize(sigma: float) -> int:
    """Odd kernel size imgaug 0.4.0 blurs its shift maps with (``augmenters/blur.py:370-382``
    ``_compute_gaussian_blur_ksize``, made odd at ``geometric.py:4529-4530``)."""
    factor = 3.3 if sigma < 3.0 else 2.9 if sigma < 5.0 else 2.6
    ksize = int(max(factor * sigma, 5))
    return ksize + 1 if ksize % 2 == 0 else ksize


@TRANSFORMS.register_module()
class ImgaugElasticTransformation(_RandomPixelOp):
    """Elastic deformation (imgaug 0.4.0 ``ElasticTransformation(alpha, sigma)``,
    ``augmenters/geometric.py:4032``; order 3 (bicubic), black border, line 4234).

    With a ~ U(alpha), s ~ U(sigma): two independent fields U(-1, 1) on the image padded by
    ksize = :func:`gaussian_ksize` (s) on every side, each blurred (``cv2.GaussianBlur``,
    ksize × ksize, s, reflect-101), cropped and times a (``_generate_shift_maps``, lines
    4525-4555): dx, dy (pixels). Output pixel (x, y) reads the input at (x + dx, y + dy).

    Keypoints move where the image content moves: p → q with q + d(q) = p, solved by fixed-point
    iteration on the bilinearly interpolated field (exact for the smooth, sub-pixel fields
    Lightning Pose uses; imgaug approximates it from the keypoint's 3 × 3 neighbourhood and
    leaves keypoints alone when a ≤ 0.05). A keypoint that ends off the image is unlabelled.
    Lightning Pose: alpha (0, 10), sigma 5, p 0.5 (``data/augmentations.py:204-211``).
    """

    example_args = dict(alpha=[0.0, 10.0], sigma=5.0, p=0.5)

    def __init__(self, alpha=(0.0, 10.0), sigma=5.0, order: int = 3, p: float = 1.0):
        super().__init__(p)
        self.alpha = _interval(alpha, 'alpha', 'ImgaugElasticTransformation')
        self.sigma = _interval(sigma, 'sigma', 'ImgaugElasticTransformation')
        if self.alpha[0] < 0 or self.sigma[0] <= 0:
            raise ValueError(f'ImgaugElasticTransformation: alpha must be >= 0 and sigma > 0, '
                             f'got alpha={alpha!r}, sigma={sigma!r}')
        flags = {0: cv2.INTER_NEAREST, 1: cv2.INTER_LINEAR, 3: cv2.INTER_CUBIC}
        if order not in flags:
            raise ValueError(f'ImgaugElasticTransformation: order must be 0, 1 or 3 (nearest, '
                             f'bilinear, bicubic), got {order!r}')
        self.order, self.flag = int(order), flags[order]

    def shift_maps(self, height: int, width: int) -> Tuple[np.ndarray, np.ndarray]:
        """(dx, dy), each (height, width) float32 pixels, of one draw."""
        alpha, sigma = _uniform(self.alpha), _uniform(self.sigma)
        ksize = gaussian_ksize(sigma)
        hp, wp = height + 2 * ksize, width + 2 * ksize
        fields = (np.random.random_sample((2 * hp, wp)) * 2 - 1).astype(np.float32)
        maps = []
        for field in (fields[:hp], fields[hp:]):
            blurred = cv2.GaussianBlur(np.ascontiguousarray(field), (ksize, ksize), sigma,
                                       borderType=cv2.BORDER_REFLECT_101)
            maps.append(blurred[ksize:-ksize, ksize:-ksize] * np.float32(alpha))
        return maps[0], maps[1]

    def apply(self, results, img):
        height, width = img.shape[:2]
        dx, dy = self.shift_maps(height, width)
        x, y = np.meshgrid(np.arange(width, dtype=np.float32),
                           np.arange(height, dtype=np.float32))
        results['img'] = cv2.remap(img, x + dx, y + dy, self.flag,
                                   borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        for key, vis_key in POINT_KEYS:
            if key in results:
                self._move(results, key, vis_key, dx, dy)
        return results

    @staticmethod
    def _move(results, key, vis_key, dx, dy, iterations: int = 20):
        points = np.array(results[key], np.float32)
        visible = np.array(results[vis_key], np.float32)
        height, width = dx.shape
        flat, flat_vis = points.reshape(-1, 2), visible.reshape(-1)
        labelled = flat_vis > 0
        if not labelled.any():
            return  # unlabelled points stay (0, 0), visibility 0
        target = flat[labelled].reshape(1, -1, 2)
        moved = target.copy()
        for _ in range(iterations):
            sample_x = cv2.remap(dx, moved[..., 0], moved[..., 1], cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_REPLICATE)
            sample_y = cv2.remap(dy, moved[..., 0], moved[..., 1], cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_REPLICATE)
            moved = target - np.stack([sample_x, sample_y], axis=-1)
        flat[labelled] = moved.reshape(-1, 2)
        drop = labelled & outside(flat, width, height)
        flat_vis[drop] = 0
        flat[flat_vis <= 0] = 0
        results[key] = flat.reshape(points.shape)
        results[vis_key] = flat_vis.reshape(visible.shape)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(alpha={list(self.alpha)}, sigma={list(self.sigma)}, '
                f'order={self.order}, p={self.p})')
