"""An image whose pixels are decoded by the first step that needs them.

``LoadImageFromFile`` reads the file's bytes and header only. Geometry steps that need just the
image size (``TopDownRandomFlip``) read ``shape``; a mirror is recorded, not performed
(``mirror()``); ``TopDownAffine`` then calls :func:`warp_affine`, which folds the pending
mirror and, for JPEGs, a decode at 1/2, 1/4 or 1/8 resolution (libjpeg's DCT-domain
downscaling, much cheaper than a full decode) into one ``cv2.warpAffine``, and converts BGR to
RGB on the small output rather than the whole image.

Any other consumer gets MMPose's pixels with ``np.asarray(img)``: the full decode, mirrored if
a mirror is pending.

JPEGs are decoded with simplejpeg where it is installed: the same libjpeg-turbo with the same
settings as OpenCV, bit-identical pixels (tested) at every scale, a third faster (OpenCV's
``imdecode`` adds copies around it). Other formats, EXIF-rotated JPEGs and CMYK ones go through
OpenCV.
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import cv2
import numpy as np

try:
    import simplejpeg
except ImportError:  # optional: OpenCV decodes everything without it, a third slower
    simplejpeg = None

from ..geometry import compose_affine, hflip_matrix, scale_matrix
from .image_header import ImageHeader, read_header

#: color_type → cv2 flag, the names of mmcv's ``imread``.
IMREAD_FLAGS = {
    'color': cv2.IMREAD_COLOR,
    'grayscale': cv2.IMREAD_GRAYSCALE,
    'unchanged': cv2.IMREAD_UNCHANGED,
    'color_ignore_orientation': cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION,
    'grayscale_ignore_orientation': cv2.IMREAD_GRAYSCALE | cv2.IMREAD_IGNORE_ORIENTATION,
}
CHANNEL_ORDERS = ('rgb', 'bgr')
# cv2 flags of a decode at 1/r of the size: r → (colour flag, grey flag)
_REDUCED_FLAGS = {
    2: (cv2.IMREAD_REDUCED_COLOR_2, cv2.IMREAD_REDUCED_GRAYSCALE_2),
    4: (cv2.IMREAD_REDUCED_COLOR_4, cv2.IMREAD_REDUCED_GRAYSCALE_4),
    8: (cv2.IMREAD_REDUCED_COLOR_8, cv2.IMREAD_REDUCED_GRAYSCALE_8),
}
REDUCTIONS = (8, 4, 2)


class LazyImage:
    """Encoded image bytes (or a decoded array) plus a pending left-right mirror.

    Attributes:
        path: the file the bytes came from (None for an array-backed image); named in errors.
        shape: (H, W, 3) for colour, (H, W) for greyscale: the shape ``np.asarray`` returns.
        mirrored: a left-right mirror is pending; ``np.asarray`` and :func:`warp_affine`
            apply it.
        allow_reduced: :func:`warp_affine` may decode at reduced size (JPEG only).
    """

    def __init__(self, path: Optional[str], data: Optional[bytes] = None,
                 color_type: str = 'color', channel_order: str = 'rgb',
                 to_float32: bool = False, array: Optional[np.ndarray] = None,
                 mirrored: bool = False, allow_reduced: bool = True):
        self.path = path
        self.allow_reduced = allow_reduced
        self.color_type = color_type
        self.channel_order = channel_order
        self.to_float32 = to_float32
        self.mirrored = mirrored
        self._data = data
        # decoded full-resolution pixels, shared with mirror() views so one decode serves all
        self._decoded = {'full': array}
        self.header: Optional[ImageHeader] = None
        if array is not None:
            self.shape = tuple(array.shape)
            return
        self.header = read_header(data)
        shape = self._shape_from_header()
        if shape is None:  # format without a header we read, or an undecided shape
            shape = tuple(self.pixels().shape)
        self.shape = shape

    @classmethod
    def from_array(cls, array: np.ndarray, mirrored: bool = False) -> 'LazyImage':
        """Wrap decoded pixels (H, W[, C]) so a mirror can be recorded and folded into a warp."""
        return cls(None, array=array, mirrored=mirrored)

    # ------------------------------------------------------------------ array-like surface
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def dtype(self) -> np.dtype:
        full = self._decoded['full']
        if full is not None:
            return full.dtype
        return np.dtype(np.float32 if self.to_float32 else np.uint8)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        pixels = self.pixels()
        if self.mirrored:
            pixels = pixels[:, ::-1]
        return pixels if dtype is None else pixels.astype(dtype, copy=False)

    def __repr__(self) -> str:
        source = self.path if self.path is not None else 'array'
        return (f'LazyImage({source!r}, shape={self.shape}, mirrored={self.mirrored}, '
                f'decoded={self._decoded["full"] is not None})')

    # ------------------------------------------------------------------ operations
    def mirror(self) -> 'LazyImage':
        """A view of this image mirrored left-right (x → W - 1 - x); nothing is decoded."""
        view = object.__new__(LazyImage)
        view.__dict__.update(self.__dict__)
        view.mirrored = not self.mirrored
        return view

    @property
    def max_reduction(self) -> int:
        """Largest r in (1, 2, 4, 8) :meth:`pixels` can decode at 1/r directly: 8 for JPEGs read
        in colour or greyscale whose stored and displayed orientation agree, else 1."""
        if (not self.allow_reduced or self._data is None or self.header is None
                or self.header.format != 'jpeg'):
            return 1
        if self.color_type not in ('color', 'grayscale', 'color_ignore_orientation',
                                   'grayscale_ignore_orientation'):
            return 1
        # EXIF rotations/mirrors move the partial edge block of an odd-sized reduction to the
        # other side, which our pixel-centre mapping does not model: decode those in full.
        if self.header.orientation != 1 and not self.color_type.endswith('orientation'):
            return 1
        return 8

    @property
    def is_decoded(self) -> bool:
        """Whether full-resolution pixels are decoded (and cached) already."""
        return self._decoded['full'] is not None

    def pixels(self, reduction: int = 1) -> np.ndarray:
        """Decoded pixels, NOT mirrored, at 1/``reduction`` of the size (ceil of each side), in
        the loader's channel order and dtype.

        Reduced pixel j covers full pixels [r·j, r·j + r), so its centre sits at full-resolution
        x = r·j + (r - 1) / 2. Full-resolution pixels are decoded once and cached.
        """
        if reduction == 1:
            if self._decoded['full'] is None:
                self._decoded['full'] = self.finish(self.raw_pixels(1))
            return self._decoded['full']
        return self.finish(self.raw_pixels(reduction))

    def raw_pixels(self, reduction: int = 1) -> np.ndarray:
        """What OpenCV decodes at 1/``reduction`` of the size: uint8, BGR for colour (before
        :meth:`finish`); not cached."""
        if reduction == 1:
            if self._data is None:  # array-backed: the array is the finished pixels
                return self._decoded['full']
            return self._decode(IMREAD_FLAGS[self.color_type], 1)
        if reduction not in _REDUCED_FLAGS or reduction > self.max_reduction:
            raise ValueError(f'{self.path}: cannot decode at 1/{reduction} of the size '
                             f'(possible: 1..{self.max_reduction} in powers of 2)')
        colour, grey = _REDUCED_FLAGS[reduction]
        flag = grey if self.color_type.startswith('grayscale') else colour
        if self.color_type.endswith('orientation'):
            flag |= cv2.IMREAD_IGNORE_ORIENTATION
        return self._decode(flag, reduction)

    def finish(self, raw: np.ndarray) -> np.ndarray:
        """Decoded (or warped decoded) pixels → the loader's channel order and dtype. Per-pixel,
        so it may run after a warp, on fewer pixels."""
        if self._data is None:
            return raw
        if (self.color_type in ('color', 'color_ignore_orientation')
                and self.channel_order == 'rgb'):
            raw = cv2.cvtColor(raw, cv2.COLOR_BGR2RGB)
        if self.to_float32:
            raw = raw.astype(np.float32)
        return raw

    # ------------------------------------------------------------------ internals
    def _shape_from_header(self) -> Optional[Tuple[int, ...]]:
        header = self.header
        if header is None or self.color_type == 'unchanged':
            return None  # 'unchanged' keeps stored channels and bit depth: only a decode knows
        width, height = header.width, header.height
        if header.orientation >= 5 and not self.color_type.endswith('orientation'):
            width, height = height, width  # EXIF 5–8 turn the image by 90 degrees
        if self.color_type.startswith('grayscale'):
            return (height, width)
        return (height, width, 3)

    def _decode_jpeg(self, reduction: int) -> Optional[np.ndarray]:
        """simplejpeg's decode of what ``cv2.imdecode`` would give, or None where it does not
        apply (no simplejpeg, not a 1- or 3-channel JPEG, EXIF rotation to apply, 'unchanged')."""
        header = self.header
        if simplejpeg is None or header is None or header.format != 'jpeg' \
                or header.channels not in (1, 3) or self.color_type == 'unchanged':
            return None
        if header.orientation != 1 and not self.color_type.endswith('orientation'):
            return None
        grey = self.color_type.startswith('grayscale')
        try:
            img = simplejpeg.decode_jpeg(
                self._data, 'GRAY' if grey else 'BGR', min_factor=reduction,
                min_height=-(-header.height // reduction), min_width=-(-header.width // reduction))
        except ValueError:
            return None  # let OpenCV decode (or report) a file libjpeg-turbo calls odd
        return img[..., 0] if grey else img

    def _decode(self, flag: int, reduction: int) -> np.ndarray:
        img = self._decode_jpeg(reduction)
        if img is None:
            img = cv2.imdecode(np.frombuffer(self._data, dtype=np.uint8), flag)
        if img is None:
            raise ValueError(f'cannot decode image file {self.path!r}: it is not an image '
                             f'OpenCV can read, or it is damaged')
        expected = getattr(self, 'shape', None)  # unset while the constructor decodes
        if expected is not None:
            # flips were computed from the header's width: a decoder disagreeing would
            # silently misplace every mirrored joint
            expected = (-(-expected[0] // reduction), -(-expected[1] // reduction),
                        *expected[2:])
            if img.shape != expected:
                raise ValueError(f'image file {self.path!r}: its header gives shape {expected} '
                                 f'at 1/{reduction} size but OpenCV decoded {img.shape}: '
                                 f'posecfg.transforms.image_header misread it (please report '
                                 f'the file; re-encoding the image works around it)')
        return img


def largest_stretch(matrix: np.ndarray) -> float:
    """Largest singular value of a (2, 3) affine's linear part: the most output pixels one input
    pixel spans, along any direction (closed form for 2x2; an SVD costs more than the rest)."""
    (a, b), (c, d) = np.asarray(matrix, dtype=np.float64)[:, :2].tolist()
    sum_sq = a * a + b * b + c * c + d * d
    det = a * d - b * c
    return math.sqrt(max(0.0, (sum_sq + math.sqrt(max(0.0, sum_sq * sum_sq - 4 * det * det)))
                         / 2.0))


def reduction_for(matrix: np.ndarray, max_reduction: int) -> int:
    """Largest r ≤ ``max_reduction`` (a power of 2) a warp by ``matrix`` can read from a 1/r
    image without losing detail its output can show.

    The output samples the input at steps of 1 / σ input pixels along its densest direction,
    σ = :func:`largest_stretch` (output pixels per input pixel). A 1/r image keeps detail down
    to r input pixels, so any r ≤ 1 / σ keeps everything the output grid can represent; a
    full-resolution warp only adds aliasing beyond that.
    """
    sigma = largest_stretch(matrix)
    if sigma <= 0 or not math.isfinite(sigma):
        return 1
    for r in REDUCTIONS:
        if r <= max_reduction and r * sigma <= 1.0 + 1e-9:
            return r
    return 1


def warp_affine(img, matrix: np.ndarray, out_size: Tuple[int, int],
                allow_reduced: bool = True) -> np.ndarray:
    """``cv2.warpAffine(np.asarray(img), matrix, out_size, flags=cv2.INTER_LINEAR)``, in one warp.

    Args:
        img: an (H, W[, C]) array or a :class:`LazyImage` (possibly mirrored).
        matrix: (2, 3) affine from ``img``'s pixel coordinates (as ``np.asarray(img)`` shows
            them, i.e. after any pending mirror) to output pixels.
        out_size: output (w, h) pixels.
        allow_reduced: let a JPEG be decoded at 1/r size when :func:`reduction_for` allows.

    Returns:
        (h, w[, C]) output, equal to the expression above up to interpolation: for a
        :class:`LazyImage` the pending mirror and any reduced decode are composed into the
        matrix, and the RGB conversion runs on the output pixels instead of the input's.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if not isinstance(img, LazyImage):
        return cv2.warpAffine(np.asarray(img), matrix, out_size, flags=cv2.INTER_LINEAR)
    steps = [matrix]
    if img.mirrored:
        steps.append(hflip_matrix(img.shape[1]))
    if img.is_decoded or img._data is None:
        return cv2.warpAffine(img.pixels(), compose_affine(*steps), out_size,
                              flags=cv2.INTER_LINEAR)
    r = reduction_for(matrix, img.max_reduction) if allow_reduced else 1
    if r > 1:
        offset = (r - 1) / 2.0
        steps.append(scale_matrix(r, r, offset, offset))
    raw = img.raw_pixels(r)
    if img.to_float32:  # MMPose warps float pixels: keep the unrounded interpolation
        return cv2.warpAffine(img.finish(raw), compose_affine(*steps), out_size,
                              flags=cv2.INTER_LINEAR)
    return img.finish(cv2.warpAffine(raw, compose_affine(*steps), out_size,
                                     flags=cv2.INTER_LINEAR))
