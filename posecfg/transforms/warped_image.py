"""An image whose pending geometric steps are composed into one warp.

Whole-image geometry steps (:mod:`posecfg.transforms.whole_image`: flip, resize, affine, pad,
crop) do not touch pixels: each composes its (2, 3) affine into a :class:`WarpedImage`, and the
first step that needs pixels (any step without ``accepts_lazy_image = True``: ``Compose`` hands
it ``np.asarray(img)``) gets the result of ONE ``cv2.warpAffine`` of the source image. The
source may be a :class:`~posecfg.transforms.lazy_image.LazyImage` not decoded yet: a JPEG is then
decoded at 1/2, 1/4 or 1/8 size when the warp shrinks it enough, and a pending mirror is folded
in (:func:`~posecfg.transforms.lazy_image.warp_affine`).

Exactness. Composing is exact when every step fills what lies outside its input with the same
constant (``border_mode='constant'``, one ``border_value``) — up to interpolation, which is
applied once instead of per step (less blur). A step's canvas also cuts: a crop followed by a
pad must show the border value where the cropped-away pixels would reappear, so the canvases of
intermediate steps (convex quadrilaterals in output pixels) are kept and pixels outside any of
them are set to the border value. A step with another border (``reflect_101`` padding) first
materialises what is pending, then starts a new pending warp with its border.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import cv2
import numpy as np

from ..geometry import affine_points, compose_affine, invert_affine
from .lazy_image import LazyImage, warp_affine

#: border modes a step may fill with (DeepLabCut's ``auto_padding.border_mode`` names)
BORDER_MODES = {'constant': cv2.BORDER_CONSTANT, 'reflect_101': cv2.BORDER_REFLECT_101}
IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def _is_identity(matrix: np.ndarray) -> bool:
    return bool(np.allclose(matrix, IDENTITY, rtol=0, atol=1e-12))


def _same_fill(mode_a: str, value_a, mode_b: str, value_b) -> bool:
    """Whether two steps fill uncovered pixels alike with a constant (so they compose)."""
    if mode_a != 'constant' or mode_b != 'constant':
        return False
    a = np.asarray(0 if value_a is None else value_a, np.float64)
    b = np.asarray(0 if value_b is None else value_b, np.float64)
    try:
        return bool(np.all(a == b))
    except ValueError:  # shapes that do not broadcast: different fills
        return False


def _border_value(value, channels: int):
    if value is None:
        return 0
    if np.ndim(value) == 0:
        return float(value)
    values = [float(v) for v in value]
    if len(values) != channels:
        raise ValueError(f'border_value {value!r} has {len(values)} entries but the image has '
                         f'{channels} channels')
    return tuple(values)


class WarpedImage:
    """``source`` warped by ``matrix`` onto a (w, h) = ``size`` canvas, not computed yet.

    Attributes:
        source: (H, W[, C]) array or :class:`LazyImage`.
        matrix: (2, 3) float64 affine from source pixels to output pixels.
        size: output (w, h).
        border_mode: 'constant' or 'reflect_101'; border_value: fill of 'constant'.
        shape: (h, w[, C]) — what ``np.asarray`` returns.
    """

    def __init__(self, source, matrix: np.ndarray, size: Tuple[int, int],
                 border_mode: str = 'constant', border_value=None,
                 canvases: Optional[List[Tuple[np.ndarray, Tuple[int, int]]]] = None):
        if border_mode not in BORDER_MODES:
            raise ValueError(f'border_mode must be one of {sorted(BORDER_MODES)}, got '
                             f'{border_mode!r}')
        self.source = source
        self.matrix = np.asarray(matrix, dtype=np.float64)
        self.size = (int(size[0]), int(size[1]))
        if self.size[0] < 1 or self.size[1] < 1:
            raise ValueError(f'WarpedImage: output size (w, h) = {self.size} must be positive')
        self.border_mode = border_mode
        self.border_value = border_value
        # (matrix from that canvas to the output, canvas (w, h)) of intermediate steps
        self.canvases = list(canvases or [])
        self._pixels: Optional[np.ndarray] = None

    @classmethod
    def wrap(cls, img) -> 'WarpedImage':
        """``img`` (array, :class:`LazyImage` or :class:`WarpedImage`) as a WarpedImage."""
        if isinstance(img, WarpedImage):
            return img
        if not isinstance(img, LazyImage):
            img = np.asarray(img)
        return cls(img, IDENTITY, (img.shape[1], img.shape[0]))

    # ------------------------------------------------------------------ array-like surface
    @property
    def shape(self) -> Tuple[int, ...]:
        return (self.size[1], self.size[0]) + tuple(self.source.shape[2:])

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def dtype(self) -> np.dtype:
        return self.source.dtype

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        pixels = self.pixels()
        return pixels if dtype is None else pixels.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return (f'WarpedImage(source shape={tuple(self.source.shape)}, size={self.size}, '
                f'border={self.border_mode!r}, matrix={self.matrix.round(4).tolist()})')

    # ------------------------------------------------------------------ operations
    def then(self, matrix: np.ndarray, size: Tuple[int, int], border_mode: str = 'constant',
             border_value=None) -> 'WarpedImage':
        """This image followed by the affine ``matrix`` onto a (w, h) = ``size`` canvas whose
        uncovered pixels are filled by ``border_mode``/``border_value``. Composed when the
        borders agree (module docstring), otherwise applied to the materialised pixels."""
        matrix = np.asarray(matrix, dtype=np.float64)
        same_border = _same_fill(border_mode, border_value, self.border_mode,
                                 self.border_value)
        pending = not (_is_identity(self.matrix) and self.size == (self.source.shape[1],
                                                                   self.source.shape[0]))
        if same_border or not pending:
            canvases = [(compose_affine(matrix, m), s) for m, s in self.canvases]
            if pending:  # this canvas cuts what lies outside it
                canvases.append((matrix, self.size))
            return WarpedImage(self.source, compose_affine(matrix, self.matrix), size,
                               border_mode, border_value, canvases)
        return WarpedImage(self.pixels(), matrix, size, border_mode, border_value)

    def pixels(self) -> np.ndarray:
        """The warped pixels (h, w[, C]), computed once."""
        if self._pixels is None:
            self._pixels = self._warp()
        return self._pixels

    def _warp(self) -> np.ndarray:
        src = self.source
        if _is_identity(self.matrix) and self.size == (src.shape[1], src.shape[0]):
            out = np.asarray(src)
        elif (self.border_mode == 'constant' and np.all(np.asarray(
                self.border_value if self.border_value is not None else 0) == 0)):
            out = warp_affine(src, self.matrix, self.size)  # reduced decode, folded mirror
        else:
            arr = np.asarray(src)
            channels = arr.shape[2] if arr.ndim == 3 else 1
            out = cv2.warpAffine(arr, self.matrix, self.size, flags=cv2.INTER_LINEAR,
                                 borderMode=BORDER_MODES[self.border_mode],
                                 borderValue=_border_value(self.border_value, channels))
        return self._cut(out)

    def _cut(self, out: np.ndarray) -> np.ndarray:
        """Set pixels outside any intermediate canvas to the border value."""
        w, h = self.size
        corners = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float64)
        mask = None
        for to_out, (cw, ch) in self.canvases:
            back = affine_points(corners, invert_affine(to_out))
            if (back.min(axis=0) >= -0.5).all() and (back <= [cw - 0.5, ch - 0.5]).all():
                continue  # covers the whole output
            # centres of the canvas' corner pixels: cv2 fills the polygon's boundary too
            quad = affine_points(np.array([[0, 0], [cw - 1, 0], [cw - 1, ch - 1], [0, ch - 1]],
                                          np.float64), to_out)
            inside = np.zeros((h, w), np.uint8)
            cv2.fillConvexPoly(inside, np.round(quad * 16).astype(np.int32),
                               1, lineType=cv2.LINE_8, shift=4)
            mask = inside if mask is None else mask & inside
        if mask is None:
            return out
        out = np.array(out, copy=True)
        channels = out.shape[2] if out.ndim == 3 else 1
        value = _border_value(self.border_value, channels)
        out[mask == 0] = value if np.ndim(value) == 0 else np.asarray(value, out.dtype)
        return out


def canvas_size(img) -> Tuple[int, int]:
    """(w, h) of an image record's ``img`` (array, LazyImage or WarpedImage)."""
    shape = img.shape
    return int(shape[1]), int(shape[0])


def compose_warp_mat(results: dict, matrix: np.ndarray) -> np.ndarray:
    """The record's accumulated (2, 3) original → input affine after ``matrix``."""
    previous = results.get('warp_mat')
    return compose_affine(matrix, IDENTITY if previous is None else previous)
