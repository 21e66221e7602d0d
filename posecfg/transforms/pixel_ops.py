"""Pixel augmentations and input scaling with DeepLabCut 3's semantics (albumentations 1.4.3).

Each works on ``img`` (h, w, 3) uint8 (``Compose`` hands it the decoded array, any pending warp
applied) and keeps its dtype; ``CoarseDropout`` and ``ElasticTransform`` also update the
keypoints as DeepLabCut's subclasses do. Randomness from ``np.random``; ``p`` is drawn first
(``np.random.rand() < p``). The DeepLabCut key → step table is in
:mod:`posecfg.transforms.whole_image`.

``NormalizeImage`` and ``ScaleToUnitRange`` leave the pixels uint8 and record the arithmetic in
``img_norm_cfg`` (mean, std on the 0–1 scale), which ``PoseDataPreprocessor`` applies to the
batch as ``(x / 255 - mean) / std``: the float32 (3, h, w) input DeepLabCut's ``A.Normalize`` /
``ScaleToUnitRange`` give, at a quarter of the bytes through the dataloader.
"""
from __future__ import annotations

from numbers import Real
from typing import Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from ..registry import TRANSFORMS
from .record import require
from .whole_image import POINT_KEYS, _prob

#: ImageNet statistics (0–1 scale, RGB): DeepLabCut's ``normalize_images``
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _image(results: dict, step) -> np.ndarray:
    require(results, step, 'img')
    img = np.asarray(results['img'])
    if img.dtype != np.uint8:
        raise TypeError(f'{type(step).__name__}: img must be uint8 (h, w, 3) pixels, got '
                        f'{img.dtype}; put pixel augmentations before any float conversion')
    return img


def _unlabel(results: dict, key: str, vis_key: str, drop: np.ndarray) -> None:
    visible = np.array(results[vis_key], dtype=np.float32)
    points = np.array(results[key], dtype=np.float32)
    visible[drop] = 0
    points[visible <= 0] = 0
    results[key], results[vis_key] = points, visible


def each_channel(fn, img: np.ndarray) -> np.ndarray:
    """``fn`` (a single-channel uint8 → uint8 function, e.g. ``cv2.equalizeHist``) applied to
    each channel of an (h, w[, c]) image."""
    if img.ndim == 2:
        return fn(img)
    return np.stack([fn(np.ascontiguousarray(img[..., c])) for c in range(img.shape[2])],
                    axis=-1)


class _RandomPixelOp(BaseTransform):
    """A pixel step applied with probability ``p``."""

    def __init__(self, p: float):
        self.p = _prob(p, type(self).__name__)

    def transform(self, results: dict) -> dict:
        img = _image(results, self)
        if not np.random.rand() < self.p:
            return results
        return self.apply(results, img)

    def apply(self, results: dict, img: np.ndarray) -> dict:
        raise NotImplementedError


@TRANSFORMS.register_module()
class GaussianNoise(_RandomPixelOp):
    """Add Gaussian noise: σ = sqrt(U(0, std²)), one N(0, σ) value per pixel and channel
    (``per_channel``; else one per pixel), then clip to 0–255 and truncate to uint8
    (DeepLabCut ``gaussian_noise`` → ``A.GaussNoise(var_limit=(0, std**2), mean=0,
    per_channel=True, p=0.5)``, std 0.05 · 255 = 12.75 when the key is just true,
    ``data/transforms.py:126-138``)."""

    example_args = dict(std=12.75, p=0.5)

    def __init__(self, std: float = 12.75, p: float = 0.5, per_channel: bool = True):
        super().__init__(p)
        if isinstance(std, bool) or not isinstance(std, Real) or std < 0:
            raise ValueError(f'GaussianNoise: std must be a non-negative number of pixel '
                             f'levels (0-255), got {std!r}')
        self.std, self.per_channel = float(std), bool(per_channel)

    def apply(self, results, img):
        sigma = np.random.uniform(0.0, self.std ** 2) ** 0.5
        shape = img.shape if self.per_channel or img.ndim == 2 else img.shape[:2] + (1,)
        noise = np.random.normal(0.0, sigma, shape)
        results['img'] = np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)
        return results


@TRANSFORMS.register_module()
class MotionBlur(_RandomPixelOp):
    """Convolve with a random line kernel (``A.MotionBlur(blur_limit=7, allow_shifted=True,
    p=0.5)``, albumentations 1.4.3 blur/transforms.py:89-125): odd size k ~ {3, 5, ..,
    blur_limit}; a 1-px line from (x1, y1) to (x2, y2), x's ~ U{0..k-1} (equal x's: two
    distinct y's), normalised to sum 1 (``cv2.filter2D``)."""

    example_args = dict(blur_limit=7, p=0.5)

    def __init__(self, blur_limit=7, p: float = 0.5):
        super().__init__(p)
        low, high = (3, blur_limit) if isinstance(blur_limit, int) else tuple(blur_limit)
        if low < 3 or high < low or low % 2 == 0 or high % 2 == 0:
            raise ValueError(f'MotionBlur: blur_limit must be an odd size >= 3 or an odd '
                             f'[low, high] range, got {blur_limit!r}')
        self.blur_limit = (int(low), int(high))

    def kernel(self) -> np.ndarray:
        ksize = int(np.random.choice(np.arange(self.blur_limit[0], self.blur_limit[1] + 1, 2)))
        kernel = np.zeros((ksize, ksize), np.uint8)
        x1, x2 = np.random.randint(0, ksize, size=2)
        if x1 == x2:
            y1, y2 = np.random.choice(ksize, size=2, replace=False)
        else:
            y1, y2 = np.random.randint(0, ksize, size=2)
        cv2.line(kernel, (int(x1), int(y1)), (int(x2), int(y2)), 1, thickness=1)
        return kernel.astype(np.float32) / kernel.sum()

    def apply(self, results, img):
        results['img'] = cv2.filter2D(img, -1, self.kernel())
        return results


@TRANSFORMS.register_module()
class Equalize(_RandomPixelOp):
    """Histogram equalisation of each channel (``cv2.equalizeHist``; DeepLabCut ``hist_eq`` →
    ``A.Equalize(p=0.5)``, mode 'cv', by channels)."""

    example_args = dict(p=0.5)

    def __init__(self, p: float = 0.5):
        super().__init__(p)

    def apply(self, results, img):
        results['img'] = each_channel(cv2.equalizeHist, img)
        return results


def _hole_size(extent: int, low, high) -> int:
    if isinstance(low, float) or isinstance(high, float):
        return int(extent * np.random.uniform(low, high))
    return int(np.random.randint(low, high + 1))


@TRANSFORMS.register_module()
class CoarseDropout(_RandomPixelOp):
    """Fill random rectangles with ``fill_value``; keypoints inside one become unlabelled
    (DeepLabCut ``covering`` → its ``CoarseDropout(max_holes=10, max_height=0.05,
    min_height=0.01, max_width=0.05, min_width=0.01, p=0.5)``, ``data/transforms.py:507-561``).

    Holes: n ~ U{min_holes..max_holes} (min_holes None: max_holes); per hole, height =
    int(h · U(min_height, max_height)) for fractions (pixels U{min..max} for ints), width
    likewise, top-left (x1 ~ U{0..w - width}, y1 ~ U{0..h - height}); a keypoint is in a hole
    when x1 ≤ x < x1 + width and y1 ≤ y < y1 + height.
    """

    example_args = dict(max_holes=10, max_height=0.05, min_height=0.01, max_width=0.05,
                        min_width=0.01, p=0.5)

    def __init__(self, max_holes: int = 8, max_height=8, max_width=8, min_holes=None,
                 min_height=None, min_width=None, fill_value=0, p: float = 0.5):
        super().__init__(p)
        self.max_holes = int(max_holes)
        self.min_holes = self.max_holes if min_holes is None else int(min_holes)
        if not 0 < self.min_holes <= self.max_holes:
            raise ValueError(f'CoarseDropout: need 0 < min_holes <= max_holes, got '
                             f'{[min_holes, max_holes]}')
        self.max_height, self.max_width = max_height, max_width
        self.min_height = max_height if min_height is None else min_height
        self.min_width = max_width if min_width is None else min_width
        for name in ('height', 'width'):
            low, high = getattr(self, f'min_{name}'), getattr(self, f'max_{name}')
            if not 0 < low <= high or (isinstance(high, float) and high > 1):
                raise ValueError(f'CoarseDropout: need 0 < min_{name} <= max_{name} (fractions '
                                 f'<= 1 of the image, or pixels), got [{low}, {high}]')
        self.fill_value = fill_value

    def holes(self, width: int, height: int) -> np.ndarray:
        """(n, 4) int holes (x1, y1, x2, y2)."""
        holes = []
        for _ in range(np.random.randint(self.min_holes, self.max_holes + 1)):
            hole_h = _hole_size(height, self.min_height, self.max_height)
            hole_w = _hole_size(width, self.min_width, self.max_width)
            y1 = np.random.randint(0, height - hole_h + 1)
            x1 = np.random.randint(0, width - hole_w + 1)
            holes.append((x1, y1, x1 + hole_w, y1 + hole_h))
        return np.array(holes, dtype=np.int64).reshape(-1, 4)

    def apply(self, results, img):
        holes = self.holes(img.shape[1], img.shape[0])
        out = img.copy()
        for x1, y1, x2, y2 in holes:
            out[y1:y2, x1:x2] = self.fill_value
        results['img'] = out
        for key, vis_key in POINT_KEYS:
            if key not in results:
                continue
            pts = np.asarray(results[key], np.float64)[..., None, :]  # (..., 1, 2)
            inside = ((pts[..., 0] >= holes[:, 0]) & (pts[..., 0] < holes[:, 2])
                      & (pts[..., 1] >= holes[:, 1]) & (pts[..., 1] < holes[:, 3])).any(-1)
            _unlabel(results, key, vis_key, inside & (np.asarray(results[vis_key]) > 0))
        return results


@TRANSFORMS.register_module()
class ElasticTransform(_RandomPixelOp):
    """Elastic deformation (DeepLabCut ``elastic_transform`` → its ``ElasticTransform(sigma=5,
    p=0.5)``: alpha 20, no affine prior, bicubic, black border, albumentations' approximate
    displacement with dx = dy; ``data/transforms.py:440-504``).

    Displacement: d = alpha · GaussianBlur(U(-1, 1)^(h × w), 17 × 17, sigma); output pixel
    (x, y) samples the input at (x + d, y + d). A keypoint p moves to the mean of the output
    pixels whose nearest input pixel lies within 3 px of p (DeepLabCut's disc rule); one that
    no output pixel reaches becomes unlabelled.
    """

    example_args = dict(alpha=20.0, sigma=5.0, p=0.5)

    def __init__(self, alpha: float = 20.0, sigma: float = 5.0, p: float = 0.5):
        super().__init__(p)
        self.alpha, self.sigma = float(alpha), float(sigma)

    def apply(self, results, img):
        height, width = img.shape[:2]
        d = np.random.rand(height, width).astype(np.float32) * 2 - 1
        cv2.GaussianBlur(d, (17, 17), self.sigma, dst=d)
        d *= self.alpha
        x, y = np.meshgrid(np.arange(width, dtype=np.float32),
                           np.arange(height, dtype=np.float32))
        map_x, map_y = x + d, y + d
        results['img'] = cv2.remap(img, map_x, map_y, cv2.INTER_CUBIC,
                                   borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        # nearest input pixel each output pixel reads (INTER_NEAREST on DLC's disc maps)
        src_x, src_y = np.floor(map_x + 0.5), np.floor(map_y + 0.5)
        for key, vis_key in POINT_KEYS:
            if key not in results:
                continue
            pts = np.array(results[key], np.float32)
            vis = np.array(results[vis_key], np.float32)
            flat, flat_vis = pts.reshape(-1, 2), vis.reshape(-1)
            for i in np.flatnonzero(flat_vis > 0):
                # input pixels of the disc: integer points within 3 px of the keypoint
                near = (src_x - flat[i, 0]) ** 2 + (src_y - flat[i, 1]) ** 2 <= 9
                near &= (src_x >= 0) & (src_x < width) & (src_y >= 0) & (src_y < height)
                if not near.any():
                    flat_vis[i] = 0
                    flat[i] = 0
                    continue
                flat[i] = (x[near].mean(), y[near].mean())
            results[key], results[vis_key] = flat.reshape(pts.shape), flat_vis.reshape(vis.shape)
        return results


@TRANSFORMS.register_module()
class Grayscale(_RandomPixelOp):
    """Blend towards grey: img · (1 - a) + grey · a with a ~ U(alpha) (or the number alpha),
    truncated to uint8; grey = ``cv2.cvtColor(RGB2GRAY)`` in every channel (DeepLabCut
    ``grayscale`` → its ``Grayscale(alpha=(0.5, 1.0))``, p 0.5, ``data/transforms.py:392-437``)."""

    example_args = dict(alpha=(0.5, 1.0), p=0.5)

    def __init__(self, alpha=(0.5, 1.0), p: float = 0.5):
        super().__init__(p)
        values = (alpha,) if isinstance(alpha, Real) else tuple(alpha)
        if len(values) not in (1, 2) or not all(0 <= float(v) <= 1 for v in values):
            raise ValueError(f'Grayscale: alpha must be a number or a (low, high) pair in '
                             f'[0, 1], got {alpha!r}')
        self.alpha = tuple(float(v) for v in values)

    def apply(self, results, img):
        alpha = self.alpha[0] if len(self.alpha) == 1 else np.random.uniform(*self.alpha)
        grey = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
        results['img'] = (img * (1 - alpha) + grey * alpha).astype(np.uint8)
        return results


# ----------------------------------------------------------------------------- input scaling
def _stats(values, name: str, owner: str) -> Tuple[float, ...]:
    if isinstance(values, Real) or len(values) != 3:
        raise ValueError(f'{owner}: {name} must hold one value per RGB channel, got {values!r}')
    return tuple(float(v) for v in values)


@TRANSFORMS.register_module()
class NormalizeImage(BaseTransform):
    """DeepLabCut ``normalize_images`` (``A.Normalize``): the model gets (x / 255 - mean) / std
    per channel. Pixels stay uint8; ``img_norm_cfg`` records mean and std (0–1 scale) for
    ``PoseDataPreprocessor``. A later ``ScaleToUnitRange`` divides the result by 255, as
    DeepLabCut's does."""

    accepts_lazy_image = True  # records only
    example_args = dict()

    def __init__(self, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD):
        self.mean = _stats(mean, 'mean', 'NormalizeImage')
        self.std = _stats(std, 'std', 'NormalizeImage')
        if any(s <= 0 for s in self.std):
            raise ValueError(f'NormalizeImage: std must be positive, got {self.std}')

    def transform(self, results: dict) -> dict:
        if 'img_norm_cfg' in results:
            raise ValueError(f"NormalizeImage: the record already has img_norm_cfg "
                             f"{results['img_norm_cfg']}; normalise once")
        results['img_norm_cfg'] = dict(mean=list(self.mean), std=list(self.std))
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(mean={list(self.mean)}, std={list(self.std)})'


@TRANSFORMS.register_module()
class ScaleToUnitRange(BaseTransform):
    """DeepLabCut ``scale_to_unit_range``: divide the model input by 255. Alone, the model
    gets x / 255 (what ``PoseDataPreprocessor`` does to uint8 images without
    ``img_norm_cfg``); after ``NormalizeImage`` it gets ((x / 255 - mean) / std) / 255
    (std × 255 in ``img_norm_cfg``)."""

    accepts_lazy_image = True  # records only
    example_args = dict()

    def transform(self, results: dict) -> dict:
        cfg = results.get('img_norm_cfg')
        if cfg is not None:
            results['img_norm_cfg'] = dict(mean=list(cfg['mean']),
                                           std=[float(s) * 255.0 for s in cfg['std']])
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'
