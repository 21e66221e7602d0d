"""``run_video``: a batched prediction function over a whole video, decoding overlapped.

    def predict(batch):                       # FrameBatch → (B, K, 3): x, y, score
        ...
    with VideoReader(path, batch_size=32, resize=(256, 256)) as reader:
        result = run_video(reader, predict)
    result.values     # (T, K, 3) float32, one row per video frame; NaN rows: not decoded
    result.decoded    # (T,) bool

The function owns its model; ``run_video`` owns the loop: it takes the batches the reader's
thread decoded while the previous batch was being predicted, stores each batch's rows at its
frames' indices in arrays allocated once for the container's frame count (grown if the video
has more), and reports progress.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from .batching import FrameBatch
from .progress import ProgressReporter
from .reader import VideoReader
from .report import DecodeReport
from .sources import VideoInfo

__all__ = ['run_video', 'VideoPredictions']


@dataclass
class VideoPredictions:
    """Per-frame results of one video.

    ``values`` (T, ...) as the prediction function returns them per frame, NaN in the rows of
    frames that did not decode; ``decoded`` (T,) bool; T = the container's frame count (or
    more, if more frames decoded). ``seconds``: wall time of the loop.
    """
    values: np.ndarray
    decoded: np.ndarray
    report: DecodeReport
    info: VideoInfo
    seconds: float

    @property
    def frames_per_second(self) -> float:
        return float(self.decoded.sum()) / self.seconds if self.seconds > 0 else float('nan')


def _grow(array: np.ndarray, size: int, fill) -> np.ndarray:
    bigger = np.full((size, *array.shape[1:]), fill, dtype=array.dtype)
    bigger[:len(array)] = array
    return bigger


def run_video(reader: VideoReader, predict_batch_fn: Callable[[FrameBatch], Any],
              on_batch_result: Optional[Callable[[FrameBatch, np.ndarray], None]] = None,
              progress: Any = True, dtype=np.float32) -> VideoPredictions:
    """Run ``predict_batch_fn`` over every batch of ``reader`` and collect per-frame rows.

    Args:
        reader: a fresh :class:`VideoReader`; it is closed on return or on an exception.
        predict_batch_fn: ``FrameBatch -> array-like (B, ...)``, one row per frame of the batch
            (for context batches: per centre frame), e.g. (B, K, 3) x, y, score.
        on_batch_result: called with each batch and its rows (as ``dtype``) after storing them
            (e.g. to write a labeled video as it goes).
        progress: True (a :class:`ProgressReporter` on stderr), False/None, or an object with
            ``update(n)`` and ``close()``.
        dtype: float dtype of ``values``.
    """
    info = reader.info
    if progress is True:
        progress = ProgressReporter(info.frame_count, os.path.basename(reader.path))
    values: Optional[np.ndarray] = None
    decoded = np.zeros(info.frame_count or 0, dtype=bool)
    start = time.perf_counter()
    try:
        with reader:
            for batch in reader:
                rows = np.asarray(predict_batch_fn(batch), dtype=dtype)
                if rows.ndim == 0 or rows.shape[0] != len(batch):
                    raise ValueError(f'{reader.path}: predict_batch_fn returned shape '
                                     f'{rows.shape} for a batch of {len(batch)} frames; the '
                                     'first dimension must be the batch')
                end = int(batch.indices.max()) + 1
                if values is None:
                    values = np.full((max(len(decoded), end), *rows.shape[1:]), np.nan, dtype)
                elif rows.shape[1:] != values.shape[1:]:
                    raise ValueError(f'{reader.path}: predict_batch_fn returned rows of shape '
                                     f'{rows.shape[1:]} after {values.shape[1:]}')
                if end > len(values):  # the container undercounted: grow geometrically
                    size = max(end, 2 * len(values))
                    values = _grow(values, size, np.nan)
                if end > len(decoded):
                    decoded = _grow(decoded, len(values), False)
                values[batch.indices] = rows
                decoded[batch.indices] = True
                if on_batch_result is not None:
                    on_batch_result(batch, rows)
                if progress:
                    progress.update(len(batch))
    finally:
        if progress:
            progress.close()
    report = reader.report
    total = report.num_frames
    return VideoPredictions(values=values[:total], decoded=decoded[:total], report=report,
                            info=info, seconds=time.perf_counter() - start)
