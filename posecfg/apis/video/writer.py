"""Labeled videos: keypoints (and a skeleton) drawn on the frames, written as MP4 through OpenCV.

    with LabeledVideoWriter('out_labeled.mp4', fps=info.fps, frame_size=(info.width, info.height),
                            num_keypoints=K, colormap='rainbow', pcutoff=0.6, dotsize=8) as out:
        for frame, keypoints, scores in ...:     # (H, W, 3) RGB, (K, 2) or (N, K, 2), (K,) / (N, K)
            out.write(frame, keypoints, scores)

What DeepLabCut's ``create_labeled_video`` and Lightning Pose's labeled videos do, and where
posecfg differs:
- Colours (``color_by``, DeepLabCut's ``create_labeled_video(color_by=...)``, default
  ``'bodypart'`` as DeepLabCut's): ``'bodypart'``: keypoint ``k`` of ``K`` gets
  ``colormap(k / (K - 1))`` as
  ``(rgba[:3] * 255).astype(uint8)`` (truncated, not rounded), exactly as DeepLabCut
  (deeplabcut/utils/make_labeled_video.py:127,146,149, ``ScalarMappable(cmap).to_rgba(
  np.linspace(0, 1, K))``) and Lightning Pose (lightning_pose/utils/predictions.py:583-586,
  ``_make_cmap``). Defaults: DeepLabCut ``colormap='rainbow'`` (``create_labeled_video``'s
  argument and new projects' config.yaml, deeplabcut/create_project/new.py:282), Lightning Pose
  ``eval.colormap='cool'`` (seed 001). With DeepLabCut's unique bodyparts (``num_unique`` U)
  the colours are sampled over the K + U bodypart names, unique bodypart u getting colour
  K + u (make_labeled_video.py:129-149: ``nbodyparts`` counts every bodypart name of the
  H5). ``'individual'``: every keypoint of individual n gets ``colormap(n / (I - 1))``
  over the ``num_individuals`` N individuals, plus one for DeepLabCut's ``single``
  individual (the unique bodyparts, last) when U > 0 (``nindividuals`` counts the H5's
  ``individuals`` level, ``single`` included; :146-149, 197-201).
- Skeleton: drawn per individual (DeepLabCut's ``get_segment_indices`` pairs the n-th
  occurrence of each bodypart name, i.e. individual n's), a link when both ends are above
  the cutoff, in ``skeleton_color`` (DeepLabCut's default ``'white'``); all links before
  all dots, the dots in the H5's column order (individuals, then the unique bodyparts), as
  DeepLabCut draws them (:181-201).
- Threshold: a point is drawn when its score is strictly above the cutoff, as both tools do
  (``df_likelihood > pcutoff``, make_labeled_video.py:197; ``> confidence_thresh_for_vid``,
  predictions.py:749); DeepLabCut's ``pcutoff`` default 0.6, Lightning Pose's 0.9.
- Dot size: a filled disc of radius ``dotsize`` pixels (DeepLabCut ``dotsize=8`` in
  ``create_labeled_video``; Lightning Pose ``dotsize=4``).
- Position: the disc is centred on the given coordinates to 1/16 pixel (Lightning Pose
  truncates them with ``int()``, lightning-pose#192), pixel centres at whole numbers.
- Trails (``trailpoints``, DeepLabCut's ``create_labeled_video(trailpoints=N)``): each drawn
  point also shows its positions in the N previous frames of the video as dots of the same
  size and colour (DeepLabCut's default ``fastmode`` draws them so, make_labeled_video.py
  :214-221), under the links and dots. A trail dot needs the point drawn now and the past
  position itself above the cutoff and not NaN (DeepLabCut draws low-confidence past
  positions too). N means N previous frames, as DeepLabCut documents it and its
  ``fastmode=False`` path draws it; its fast path draws N - 1 (``range(1, trailpoints)``).
- Transparency (``confidence_to_alpha``, a function score → alpha in [0, 1]): a point's dot
  is blended as ``alpha·colour + (1 - alpha)·frame`` (skimage ``set_color`` as DeepLabCut,
  :222-226); links and trails stay opaque, as DeepLabCut's. Translucent dots are drawn after
  the opaque ones.
- Codec: ``mp4v`` in an ``.mp4`` (DeepLabCut's default codec). This opencv-python build cannot
  write H.264 (``avc1`` fails to open); ``FFV1`` (lossless) in ``.avi``/``.mkv`` works and is
  what the tests use to read colours back exactly.

The file is written under a temporary name in the same folder and renamed into place by
``close()``; an exception inside the ``with`` block removes the temporary file and leaves any
existing output as it was. An existing output is an error unless ``overwrite=True``.
"""
from __future__ import annotations

import collections
import glob
import os
import re
import tempfile
from typing import Callable, Optional, Sequence, Tuple

import cv2
import numpy as np

from ..visualize import draw_keypoints

__all__ = ['keypoint_colors', 'point_colors', 'LabeledVideoWriter', 'DEFAULT_FOURCC',
           'COLOR_BY']

#: DeepLabCut's ``color_by`` choices (make_labeled_video.py:933-934)
COLOR_BY = ('bodypart', 'individual')

DEFAULT_FOURCC = {'.mp4': 'mp4v', '.m4v': 'mp4v', '.mov': 'mp4v', '.avi': 'MJPG',
                  '.mkv': 'FFV1'}


def keypoint_colors(colormap: str, num_keypoints: int) -> np.ndarray:
    """(K, 3) uint8 RGB: keypoint k's colour from the matplotlib colormap, as DeepLabCut and
    Lightning Pose sample it (see the module docstring)."""
    import matplotlib
    try:
        cmap = matplotlib.colormaps[colormap]
    except KeyError:
        import difflib
        close = difflib.get_close_matches(colormap, list(matplotlib.colormaps), n=3)
        raise ValueError(f'unknown colormap {colormap!r}; did you mean {close}? (any '
                         'matplotlib colormap name, e.g. rainbow, jet, cool, viridis)') from None
    # ScalarMappable(cmap).to_rgba(linspace(0, 1, K)) normalises the values to their own range
    # first, which for linspace(0, 1, K) (K > 1) is the identity
    rgba = cmap(np.linspace(0, 1, num_keypoints))
    return (rgba[:, :3] * 255).astype(np.uint8)


def point_colors(colormap: str, num_keypoints: int, num_individuals: int = 1,
                 num_unique: int = 0, color_by: str = 'bodypart') -> np.ndarray:
    """(N·K + U, 3) uint8 RGB: the colour of every point of a frame, in the H5's column
    order (individual 0's K keypoints, ..., individual N-1's, then the U unique bodyparts),
    by DeepLabCut's ``color_by`` rule (see the module docstring)."""
    if color_by not in COLOR_BY:
        raise ValueError(f"color_by must be 'bodypart' or 'individual' (DeepLabCut's "
                         f'choices), got {color_by!r}')
    k, n, u = int(num_keypoints), int(num_individuals), int(num_unique)
    if color_by == 'bodypart':
        by_name = keypoint_colors(colormap, k + u)
        return np.concatenate([np.tile(by_name[:k], (n, 1)), by_name[k:]])
    by_individual = keypoint_colors(colormap, n + (u > 0))
    return np.concatenate([np.repeat(by_individual[:n], k, axis=0),
                           np.repeat(by_individual[n:], u, axis=0)])


class LabeledVideoWriter:
    """Writes frames with keypoints drawn on them.

    Args:
        path: the output video (``.mp4`` by default codec ``mp4v``).
        fps: frames per second of the output (the source video's).
        frame_size: (width, height) of the frames written.
        num_keypoints: K, for the colours.
        colormap: matplotlib colormap name.
        color_by: ``'bodypart'`` (colour per keypoint) or ``'individual'`` (colour per
            individual), DeepLabCut's rule (module docstring).
        num_individuals: N, the individuals of the predictions (the H5's); a frame may give
            fewer rows, not more.
        num_unique: U, DeepLabCut's unique bodyparts, given to :meth:`write` separately.
        pcutoff: points with score <= pcutoff (and NaN points) are not drawn.
        dotsize: dot radius in pixels.
        skeleton: keypoint index pairs to connect with lines.
        skeleton_color: RGB of the links (None: the first keypoint's colour).
        thickness: link width in pixels.
        fourcc: four-character codec code (default from the extension, ``DEFAULT_FOURCC``).
        overwrite: replace an existing ``path``.
        trailpoints: draw each point's positions in the previous ``trailpoints`` frames
            (those given to :meth:`write` or :meth:`remember`), module docstring.
        confidence_to_alpha: score → opacity in [0, 1] of a point's dot (None: opaque).
    """

    def __init__(self, path, fps: float, frame_size: Tuple[int, int], num_keypoints: int,
                 colormap: str = 'rainbow', pcutoff: float = 0.6, dotsize: float = 8,
                 skeleton: Sequence[Sequence[int]] = (),
                 skeleton_color: Optional[Sequence[int]] = (255, 255, 255), thickness: int = 1,
                 fourcc: Optional[str] = None, overwrite: bool = False,
                 color_by: str = 'bodypart', num_individuals: int = 1, num_unique: int = 0,
                 trailpoints: int = 0,
                 confidence_to_alpha: Optional[Callable[[float], float]] = None):
        self.path = os.path.abspath(os.fspath(path))
        if os.path.exists(self.path) and not overwrite:
            raise FileExistsError(f'{self.path} exists; it is kept (pass overwrite=True to '
                                  'replace it)')
        stem, ext = os.path.splitext(self.path)
        fourcc = fourcc or DEFAULT_FOURCC.get(ext.lower())
        if fourcc is None or len(fourcc) != 4:
            raise ValueError(f'{self.path}: give a four-character fourcc for {ext!r} files '
                             f'(defaults: {DEFAULT_FOURCC})')
        if int(trailpoints) != trailpoints or trailpoints < 0:
            raise ValueError(f'{self.path}: trailpoints must be a whole number >= 0, got '
                             f'{trailpoints!r}')
        if confidence_to_alpha is not None and not callable(confidence_to_alpha):
            raise TypeError(f'{self.path}: confidence_to_alpha must be a function score -> '
                            f'alpha, got {confidence_to_alpha!r}')
        if not fps or fps <= 0:
            raise ValueError(f'{self.path}: fps must be > 0, got {fps!r}')
        for a, b in skeleton:
            if not (0 <= a < num_keypoints and 0 <= b < num_keypoints):
                raise ValueError(f'{self.path}: skeleton link ({a}, {b}) names a keypoint '
                                 f'outside 0..{num_keypoints - 1}')
        self.frame_size = (int(frame_size[0]), int(frame_size[1]))
        self.num_keypoints = num_keypoints
        self.num_individuals = int(num_individuals)
        self.num_unique = int(num_unique)
        self.pcutoff = pcutoff
        self.dotsize = dotsize
        self.skeleton = [tuple(link) for link in skeleton]
        self.thickness = thickness
        self.color_by = color_by
        self.confidence_to_alpha = confidence_to_alpha
        # (points (P, 2), visible (P,)) of the last frames, oldest first
        self._history = collections.deque(maxlen=int(trailpoints))
        self.trailpoints = int(trailpoints)
        # drawn on BGR frames (what VideoWriter takes): colours reversed once here
        palette = point_colors(colormap, num_keypoints, max(self.num_individuals, 1),
                               self.num_unique, color_by)[:, ::-1]
        split = len(palette) - self.num_unique
        self.instance_bgr = palette[:split].reshape(-1, num_keypoints, 3)  # (N, K, 3)
        self.unique_bgr = palette[split:]  # (U, 3)
        self.colors_bgr = self.instance_bgr[0]  # (K, 3): one individual's colours
        self.link_bgr = None if skeleton_color is None else tuple(skeleton_color)[::-1]
        directory = os.path.dirname(self.path)
        os.makedirs(directory, exist_ok=True)
        # the extension stays last so that OpenCV picks the container from it
        fd, self.tmp_path = tempfile.mkstemp(prefix=f'.{os.path.basename(stem)}.',
                                             suffix=f'.tmp{ext}', dir=directory)
        os.close(fd)
        self.frames_written = 0
        self._writer = cv2.VideoWriter(self.tmp_path, cv2.VideoWriter_fourcc(*fourcc),
                                       float(fps), self.frame_size)
        if not self._writer.isOpened():
            self._writer.release()
            os.remove(self.tmp_path)
            raise ValueError(f'{self.path}: OpenCV cannot write codec {fourcc!r} in a {ext!r} '
                             f'file on this installation (opencv-python writes mp4v in .mp4 '
                             'and FFV1/MJPG/XVID in .avi, not H.264)')

    def write(self, frame: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
              unique: Optional[np.ndarray] = None) -> None:
        """Draw and write one frame.

        Args:
            frame: (H, W, 3) uint8 RGB, H, W = ``frame_size``; not modified.
            keypoints: (K, 2) or (N', K, 2) pixels of ``frame``, NaN for none; N' <=
                ``num_individuals`` rows, row n being individual n.
            scores: (K,) or (N', K) confidences; NaN or <= ``pcutoff`` hides the point.
            unique: (U, 3) x, y, score of the unique bodyparts (``num_unique`` > 0).
        """
        if frame.shape != (self.frame_size[1], self.frame_size[0], 3) or frame.dtype != np.uint8:
            raise ValueError(f'{self.path}: frame {self.frames_written} is {frame.shape} '
                             f'{frame.dtype}; expected ({self.frame_size[1]}, '
                             f'{self.frame_size[0]}, 3) uint8 RGB')
        points, point_scores, colors, n = self._points(keypoints, scores, unique)
        with np.errstate(invalid='ignore'):
            visible = (point_scores > self.pcutoff) & np.isfinite(points).all(axis=1)
        k = self.num_keypoints
        canvas = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        for past_points, past_visible in self._history:  # trails under everything else
            m = min(len(past_points), len(points))
            draw_keypoints(canvas, past_points[:m], past_visible[:m] & visible[:m],
                           colors[:m], (), self.dotsize)
        alpha = np.ones(len(points))
        if self.confidence_to_alpha is not None:
            for i in np.flatnonzero(visible):
                alpha[i] = float(np.clip(self.confidence_to_alpha(point_scores[i]), 0, 1))
        # one call: every individual's links first, then the dots in the H5's column order
        links = [(a + i * k, b + i * k) for i in range(n) for a, b in self.skeleton]
        draw_keypoints(canvas, points, visible, colors, links, self.dotsize, self.thickness,
                       self.link_bgr, dots=alpha >= 1)
        for i in np.flatnonzero(visible & (alpha < 1)):
            self._blend_dot(canvas, points[i], colors[i], alpha[i])
        self._writer.write(canvas)
        self.last_frame = canvas  # (H, W, 3) BGR as written, e.g. to save it as an image
        self._history.append((points, visible))
        self.frames_written += 1

    def remember(self, keypoints: np.ndarray, scores: np.ndarray,
                 unique: Optional[np.ndarray] = None) -> None:
        """Record a frame's predictions for the trails without writing the frame (a frame
        left out of the video, e.g. DeepLabCut's ``Frames2plot``); arguments as :meth:`write`."""
        if self.trailpoints:
            points, point_scores, _, _ = self._points(keypoints, scores, unique)
            with np.errstate(invalid='ignore'):
                visible = (point_scores > self.pcutoff) & np.isfinite(points).all(axis=1)
            self._history.append((points, visible))

    def _points(self, keypoints, scores, unique):
        """(P, 2) points, (P,) scores, (P, 3) BGR colours and the instance count N' of one
        frame (fewer rows than ``num_individuals`` padded with NaN rows up to it), the unique
        bodyparts last (the H5's column order)."""
        keypoints = np.asarray(keypoints, dtype=np.float64).reshape(-1, self.num_keypoints, 2)
        scores = np.asarray(scores, dtype=np.float64).reshape(-1, self.num_keypoints)
        if len(scores) != len(keypoints):
            raise ValueError(f'{self.path}: frame {self.frames_written}: {len(keypoints)} '
                             f'instances of keypoints but {len(scores)} of scores')
        n = len(keypoints)
        if n < self.num_individuals:  # NaN rows: every frame's points in the same layout N·K+U,
            # which the trails pair between frames
            missing = self.num_individuals - n
            keypoints = np.concatenate([keypoints, np.full((missing, self.num_keypoints, 2),
                                                           np.nan)])
            scores = np.concatenate([scores, np.full((missing, self.num_keypoints), np.nan)])
            n = self.num_individuals
        if n <= len(self.instance_bgr):
            colors = self.instance_bgr[:n].reshape(-1, 3)
        elif self.color_by == 'bodypart':  # e.g. as many top-down boxes as a frame has
            colors = np.tile(self.colors_bgr, (n, 1))
        else:
            raise ValueError(f'{self.path}: frame {self.frames_written} has {n} instances; '
                             f'the writer colours num_individuals={self.num_individuals}')
        points, point_scores = keypoints.reshape(-1, 2), scores.reshape(-1)
        if self.num_unique:
            unique = (np.full((self.num_unique, 3), np.nan) if unique is None
                      else np.asarray(unique, np.float64).reshape(self.num_unique, 3))
            points = np.concatenate([points, unique[:, :2]])
            point_scores = np.concatenate([point_scores, unique[:, 2]])
            colors = np.concatenate([colors, self.unique_bgr])
        elif unique is not None and np.size(unique):
            raise ValueError(f'{self.path}: unique bodyparts given but the writer was made '
                             'with num_unique=0')
        return points, point_scores, colors, n

    def _blend_dot(self, canvas: np.ndarray, point: np.ndarray, color, alpha: float) -> None:
        """A dot at ``alpha`` opacity over ``canvas``, blended in its bounding box only."""
        h, w = canvas.shape[:2]
        reach = int(np.ceil(self.dotsize)) + 2
        x0, y0 = max(int(point[0]) - reach, 0), max(int(point[1]) - reach, 0)
        x1, y1 = min(int(point[0]) + reach + 1, w), min(int(point[1]) + reach + 1, h)
        if x0 >= x1 or y0 >= y1:
            return
        box = canvas[y0:y1, x0:x1]
        layer = box.copy()
        draw_keypoints(layer, point[None] - (x0, y0), [True], [color], (), self.dotsize)
        cv2.addWeighted(layer, alpha, box, 1 - alpha, 0, dst=box)

    def close(self) -> str:
        """Finish the file and rename it into place; returns the path."""
        self._writer.release()
        if self.frames_written == 0:
            os.remove(self.tmp_path)
            raise ValueError(f'{self.path}: no frame was written; nothing kept')
        os.replace(self.tmp_path, self.path)
        return self.path

    def abort(self) -> None:
        """Drop the temporary file; an existing output stays as it was."""
        self._writer.release()
        if os.path.exists(self.tmp_path):
            os.remove(self.tmp_path)

    def __enter__(self) -> 'LabeledVideoWriter':
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_labeled_video(video, keypoints: np.ndarray, scores: np.ndarray, out_path,
                        overwrite: bool = False, batch_size: int = 16, backend='auto',
                        unique: Optional[np.ndarray] = None, frames: Optional[Sequence[int]] = None,
                        keypoints_only: bool = False, frames_dir=None,
                        **writer_kwargs) -> Optional[str]:
    """Decode ``video`` again and write it with row ``t`` of the predictions drawn on frame t.

    Args:
        keypoints: (T, K, 2) or (T, N, K, 2) original-video pixels (NaN: none), T >= the
            video's frame count.
        scores: (T, K) or (T, N, K).
        unique: (T, U, 3) DeepLabCut unique bodyparts (x, y, score), or None.
        out_path: the labeled video; kept, and None returned, when it exists and ``overwrite``
            is False.
        frames: write only these frame indices (DeepLabCut's ``Frames2plot``); the others
            still count for the trails. Indices outside the predictions are an error.
        keypoints_only: draw on black frames of the video's size instead of the video's
            (DeepLabCut's ``keypoints_only``), one per prediction row; nothing is decoded.
        frames_dir: also save each frame written as ``file<t>.png`` there, ``t`` zero-padded
            to ``ceil(log10(frame count))`` digits (DeepLabCut's ``save_frames``); the
            ``file<t>.png`` images an earlier run left there are removed first, so the folder
            holds this video's frames only.
        writer_kwargs: :class:`LabeledVideoWriter`'s (colormap, pcutoff, dotsize, skeleton, …;
            ``fps`` defaults to the video's).
    Returns:
        the path written, or None when an existing file was kept.

    Frames that do not decode are left out of the labeled video (the reader warns which).
    To label while predicting instead (one decode), call :meth:`LabeledVideoWriter.write` from
    ``run_video``'s ``on_batch_result`` with a reader that does not resize.
    """
    from .reader import VideoReader
    from .sources import open_video
    out_path = os.fspath(out_path)
    if os.path.exists(out_path) and not overwrite:
        return None
    keypoints = np.asarray(keypoints)
    scores = np.asarray(scores)
    num_keypoints = keypoints.shape[-2]
    unique = None if unique is None or not np.size(unique) else np.asarray(unique)
    writer_kwargs.setdefault('num_individuals', keypoints.shape[1] if keypoints.ndim == 4 else 1)
    writer_kwargs.setdefault('num_unique', 0 if unique is None else unique.shape[1])
    if frames is not None:
        frames = sorted({int(t) for t in frames})
        outside = [t for t in frames if not 0 <= t < len(keypoints)]
        if outside:
            raise ValueError(f'{video}: frames {outside[:10]} to plot are outside the '
                             f'predictions (frames 0..{len(keypoints) - 1})')
        frames = set(frames)

    def open_writer(info):
        # a container without a frame rate: pass fps= explicitly
        fps = writer_kwargs.pop('fps', None)
        fps = info.fps if fps is None else fps
        return LabeledVideoWriter(out_path, fps=fps, frame_size=(info.width, info.height),
                                  num_keypoints=num_keypoints, overwrite=overwrite,
                                  **writer_kwargs)

    def put(writer, frame, t):
        row = (keypoints[t], scores[t], None if unique is None else unique[t])
        if frames is None or t in frames:
            writer.write(frame, *row)
            if frames_dir is not None:
                name = os.path.join(frames_dir, f'file{t:0{digits}d}.png')
                if not cv2.imwrite(name, writer.last_frame):
                    raise OSError(f'{name}: OpenCV could not write the frame image')
        else:
            writer.remember(*row)

    if frames_dir is not None:
        os.makedirs(frames_dir, exist_ok=True)
        for old in glob.glob(os.path.join(glob.escape(os.fspath(frames_dir)), 'file*.png')):
            if re.fullmatch(r'file\d+\.png', os.path.basename(old)):
                os.remove(old)
        digits = int(np.ceil(np.log10(max(len(keypoints), 1))))
    if keypoints_only:
        source = open_video(video, backend=backend)
        try:
            info = source.info
        finally:
            source.close()
        black = np.zeros((info.height, info.width, 3), np.uint8)
        with open_writer(info) as writer:
            for t in range(len(keypoints)):
                put(writer, black, t)
        return writer.path
    with VideoReader(video, batch_size=batch_size, backend=backend) as reader:
        with open_writer(reader.info) as writer:
            for batch in reader:
                if batch.indices[-1] >= len(keypoints):
                    raise ValueError(f'{video}: frame {batch.indices[-1]} has no row in the '
                                     f'predictions ({len(keypoints)} rows)')
                for frame, t in zip(batch.frames, batch.indices):
                    put(writer, frame, t)
    return writer.path
