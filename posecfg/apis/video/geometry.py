"""The exact map between a resized frame (the model input) and the original video frame.

posecfg's pixel convention: pixel centres at whole numbers, the top-left pixel's centre is
(0, 0). ``cv2.resize`` (``INTER_LINEAR`` and ``INTER_AREA``) samples the output pixel centre
``x_in`` at the source position ``(x_in + 0.5) * W / w - 0.5``, so a point found at ``x_in`` in
the resized frame lies at

    x_orig = x_in * sx + ox,   sx = W / w,   ox = (sx - 1) / 2

in the original frame (and the same in y with ``H / h``). Dropping the offset (the usual
``x * W / w``) shifts every prediction by half an input pixel's worth of original pixels:
1.5 px for a 4x downscale, the kind of shift lightning-pose#109 reports on videos of another
size.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import numpy as np

__all__ = ['ResizeMap']


@dataclass(frozen=True)
class ResizeMap:
    """Original frame (``source_size`` = (W, H) pixels) resized to ``input_size`` = (w, h)."""
    source_size: Tuple[int, int]
    input_size: Tuple[int, int]

    @property
    def scale(self) -> Tuple[float, float]:
        """(sx, sy): original pixels per input pixel."""
        return (self.source_size[0] / self.input_size[0],
                self.source_size[1] / self.input_size[1])

    @property
    def offset(self) -> Tuple[float, float]:
        """(ox, oy) in original pixels: where the input's pixel (0, 0) centre lies."""
        sx, sy = self.scale
        return ((sx - 1) / 2, (sy - 1) / 2)

    @property
    def is_identity(self) -> bool:
        return tuple(self.source_size) == tuple(self.input_size)

    def to_original(self, points: np.ndarray) -> np.ndarray:
        """Points (..., 2) (x, y) in input pixels → original-frame pixels (float64 maths,
        returned in the input's float dtype; NaN stays NaN)."""
        points = np.asarray(points)
        dtype = points.dtype if points.dtype.kind == 'f' else np.float64
        mapped = points.astype(np.float64) * self.scale + self.offset
        return mapped.astype(dtype, copy=False)

    def to_input(self, points: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`to_original`."""
        points = np.asarray(points)
        dtype = points.dtype if points.dtype.kind == 'f' else np.float64
        mapped = (points.astype(np.float64) - self.offset) / self.scale
        return mapped.astype(dtype, copy=False)
