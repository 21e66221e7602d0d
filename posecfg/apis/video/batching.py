"""Grouping decoded frames into batches, with or without temporal context.

Both generators pull frames through ``read(out) -> index | None`` (a
:class:`~posecfg.apis.video.sources.FrameSource`'s ``read``), decoding each frame once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Optional, Tuple

import numpy as np

__all__ = ['FrameBatch', 'plain_batches', 'context_batches']

ReadFn = Callable[[np.ndarray], Optional[int]]


@dataclass
class FrameBatch:
    """B frames of a video.

    Without context (``context == 0``): ``frames`` (B, h, w, 3) uint8 RGB, frame ``i`` is video
    frame ``indices[i]``.

    With context ``c``: ``frames`` (B + 2c, h, w, 3) is the run of frames from c before the
    first centre frame to c after the last, so frame ``indices[i]``'s window is
    ``frames[i : i + 2c + 1]``: each frame is in the batch once, and a model can run its
    backbone once per frame and build the windows from the features (as Lightning Pose's context
    models do, lightning_pose/models/base.py ``get_context_from_sequence``). Before the first and
    after the last decoded frame the window repeats that frame (edge padding, as that function
    does); a frame lost to damage is skipped, so its neighbours' windows hold the nearest decoded
    frames.
    """
    frames: np.ndarray
    indices: np.ndarray
    context: int = 0

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def centre_frames(self) -> np.ndarray:
        """(B, h, w, 3): the frames the predictions are for (``frames`` without context)."""
        return self.frames[self.context:self.context + len(self)]

    def windows(self) -> np.ndarray:
        """(B, 2c + 1, h, w, 3): each frame's window, a read-only view (no copy)."""
        size = 2 * self.context + 1
        view = np.lib.stride_tricks.sliding_window_view(self.frames, size, axis=0)
        return np.moveaxis(view, -1, 1)[:len(self)]


def plain_batches(read: ReadFn, batch_size: int,
                  frame_shape: Tuple[int, int, int]) -> Iterator[FrameBatch]:
    """Batches of ``batch_size`` frames (the last one shorter), decoded straight into the
    batch array."""
    while True:
        frames = np.empty((batch_size, *frame_shape), np.uint8)
        indices = np.empty(batch_size, np.int64)
        n = 0
        while n < batch_size:
            index = read(frames[n])
            if index is None:
                break
            indices[n] = index
            n += 1
        if n:
            yield FrameBatch(frames[:n], indices[:n])
        if n < batch_size:
            return


def context_batches(read: ReadFn, batch_size: int, frame_shape: Tuple[int, int, int],
                    context: int) -> Iterator[FrameBatch]:
    """Batches of ``batch_size`` centre frames with ``context`` frames on each side.

    Holds at most ``batch_size + 2 * context`` decoded frames besides the batch being built:
    ``sequence`` is always ``context`` frames of history followed by the frames whose batch
    has not been emitted yet (``pending`` holds their indices).
    """
    sequence, pending = [], []
    while True:
        frame = np.empty(frame_shape, np.uint8)
        index = read(frame)
        if index is None:
            break
        if not sequence:
            sequence = [frame] * context  # edge padding before the first frame
        sequence.append(frame)
        pending.append(index)
        if len(pending) >= batch_size + context:  # the last centre's right context is here
            yield FrameBatch(np.stack(sequence[:batch_size + 2 * context]),
                             np.array(pending[:batch_size], np.int64), context)
            del sequence[:batch_size], pending[:batch_size]
    if pending:
        sequence.extend([sequence[-1]] * context)  # edge padding after the last frame
        while pending:
            n = min(batch_size, len(pending))
            yield FrameBatch(np.stack(sequence[:n + 2 * context]),
                             np.array(pending[:n], np.int64), context)
            del sequence[:n], pending[:n]
