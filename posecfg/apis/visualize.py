"""Drawing poses on images with OpenCV (for the demo, and for looking at predictions)."""
from __future__ import annotations

from typing import Optional, Sequence

import cv2
import numpy as np


def draw_pose(image: np.ndarray, keypoints: np.ndarray, scores: Optional[np.ndarray] = None,
              skeleton: Sequence[Sequence[int]] = (), colors: Optional[np.ndarray] = None,
              score_thr: float = 0.3, radius: int = 3, thickness: int = 2) -> np.ndarray:
    """A copy of ``image`` (H, W, 3) uint8 BGR with keypoints (K, 2) pixels drawn as dots and the
    skeleton's links (index pairs) as lines; keypoints scoring below ``score_thr`` are left out.
    ``colors``: (K, 3) BGR per keypoint (default: one colour)."""
    out = image.copy()
    k = len(keypoints)
    scores = np.ones(k) if scores is None else np.asarray(scores)
    colors = np.tile([[0, 255, 255]], (k, 1)) if colors is None else np.asarray(colors)
    shown = scores >= score_thr
    points = np.round(np.asarray(keypoints, dtype=np.float64)).astype(int)
    for a, b in skeleton:
        if shown[a] and shown[b]:
            cv2.line(out, tuple(points[a]), tuple(points[b]), tuple(int(c) for c in colors[a]),
                     thickness, cv2.LINE_AA)
    for i in np.flatnonzero(shown):
        cv2.circle(out, tuple(points[i]), radius, tuple(int(c) for c in colors[i]), -1,
                   cv2.LINE_AA)
    return out


def tile(images: Sequence[np.ndarray], columns: int = 4, pad: int = 4) -> np.ndarray:
    """Images of any sizes on one canvas, ``columns`` per row, each cell as large as the largest."""
    h = max(i.shape[0] for i in images)
    w = max(i.shape[1] for i in images)
    rows = -(-len(images) // columns)
    canvas = np.full((rows * (h + pad) + pad, min(columns, len(images)) * (w + pad) + pad, 3),
                     255, np.uint8)
    for n, image in enumerate(images):
        r, c = divmod(n, columns)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        canvas[y:y + image.shape[0], x:x + image.shape[1]] = image
    return canvas
