"""``VideoReader``: batches of decoded frames from a background thread, through a bounded queue.

    with VideoReader('m3v1mp4.mp4', batch_size=32, resize=(256, 256)) as reader:
        for batch in reader:                  # FrameBatch: frames (B, 256, 256, 3) uint8 RGB,
            out = model(batch.frames)         #             indices (B,) video frame numbers
            xy = reader.resize_map.to_original(out[..., :2])   # original video pixels
    reader.report                             # DecodeReport: decoded / lost frames and where

Decoding runs in a daemon thread while the caller predicts (OpenCV and PyAV release the GIL
while decoding, resizing and converting colours), so a batch is usually ready when the model
asks for it. The queue holds at most ``queue_size`` batches: memory stays at about
``(queue_size + 2) * B * h * w * 3`` bytes whatever the video's length.

It never hangs (DeepLabCut#3123 hung on ``queue.Full``):
- the decoder's ``put`` waits in short slices and gives up once the reader is closed, so a
  consumer that stops early (``break``, an exception, ``close()``, leaving the ``with`` block)
  releases it;
- an exception in the decoder is passed through the queue and raised in the consumer as
  :class:`VideoDecodeError` (chained to the original);
- a decoder that produces no frame for ``stall_timeout`` seconds while the consumer waits raises
  :class:`VideoStallError` in the consumer. (A thread stuck inside a C decoder call cannot be
  stopped; it is a daemon thread and is left behind.)

A damaged video yields every frame that decodes; at the end a :class:`VideoDecodeWarning` says
how many frames were lost and which (``report.message()``), against the container's frame
count. A file that cannot be opened raises :class:`VideoOpenError` in the constructor, naming the
file and the reason; a file that opens but yields no frame raises :class:`VideoDecodeError`.
"""
from __future__ import annotations

import os
import queue
import threading
import time
import warnings
from typing import Iterator, Optional, Tuple

import cv2

from .batching import FrameBatch, context_batches, plain_batches
from .errors import VideoDecodeError, VideoDecodeWarning, VideoStallError
from .geometry import ResizeMap
from .report import DecodeReport, LossTracker
from .sources import FrameSource, VideoInfo, open_video

__all__ = ['VideoReader']

_END = object()


class _Failure:
    def __init__(self, exc: BaseException):
        self.exc = exc


class _DecoderState:
    """Shared between the decoder thread (writes) and the consumer (reads)."""

    def __init__(self, stop: threading.Event):
        self.tracker = LossTracker()
        self.last_progress = time.monotonic()
        self.stop = stop

    def tracking(self, read):
        """``read`` that records each frame, and ends the video once the reader is closed
        (so a closed reader's decoder stops within one frame, not one batch)."""
        def tracked_read(out):
            if self.stop.is_set():
                return None
            index = read(out)
            self.last_progress = time.monotonic()
            if index is not None:
                self.tracker.add(index)
            return index
        return tracked_read


def _put(out_queue: queue.Queue, item, stop: threading.Event) -> bool:
    """Put ``item`` unless the reader is closed first (then False)."""
    while not stop.is_set():
        try:
            out_queue.put(item, timeout=0.05)
            return True
        except queue.Full:
            continue
    return False


def _decode(source: FrameSource, batches: Iterator[FrameBatch], out_queue: queue.Queue,
            stop: threading.Event) -> None:
    """The decoder thread. Holds no reference to the reader, so an abandoned reader can be
    garbage-collected (and its generator's ``finally`` closes it)."""
    try:
        for batch in batches:
            if not _put(out_queue, batch, stop):
                return
        _put(out_queue, _END, stop)
    except BaseException as exc:  # noqa: B902 (everything goes to the consumer)
        _put(out_queue, _Failure(exc), stop)
    finally:
        try:
            source.close()
        except Exception:  # noqa: S110 (releasing a read-only capture; nothing to lose)
            pass


class VideoReader:
    """Batches of frames of one video, decoded ahead in a background thread.

    Args:
        path: the video file.
        batch_size: frames per batch (B); the last batch may be shorter.
        resize: (width, height) to resize each frame to (the model input size), or None for the
            video's own size. ``resize_map`` maps points back to the original frame exactly.
        context: c > 0 gives each frame the window of frames t-c … t+c (Lightning Pose's
            context models: c = 2); see :class:`FrameBatch`.
        backend: ``'auto'``, ``'opencv'``, ``'pyav'`` (see :mod:`.sources`), or a callable
            ``(path, interpolation=, timestamps=) -> FrameSource``.
        queue_size: batches decoded ahead (the memory bound).
        stall_timeout: seconds without a decoded frame, while the consumer waits, after which
            :class:`VideoStallError` is raised.
        interpolation: cv2 interpolation flag for resizing.
        timestamps: number frames by their timestamps (gaps show lost frames) rather than by
            counting (use False for variable-frame-rate videos).
    """

    def __init__(self, path, batch_size: int = 16, resize: Optional[Tuple[int, int]] = None,
                 context: int = 0, backend='auto', queue_size: int = 2,
                 stall_timeout: float = 60.0, interpolation: int = cv2.INTER_LINEAR,
                 timestamps: bool = True):
        self.path = os.fspath(path)
        for name, value, least in (('batch_size', batch_size, 1), ('context', context, 0),
                                   ('queue_size', queue_size, 1)):
            if not isinstance(value, int) or value < least:
                raise ValueError(f'VideoReader: {name} must be an integer >= {least}, '
                                 f'got {value!r}')
        if resize is not None and (len(resize) != 2 or min(resize) < 1
                                   or any(int(v) != v for v in resize)):
            raise ValueError(f'VideoReader: resize must be (width, height) in whole pixels, '
                             f'got {resize!r}')
        if not stall_timeout > 0:
            raise ValueError(f'VideoReader: stall_timeout must be > 0 s, got {stall_timeout!r}')
        self.batch_size = batch_size
        self.context = context
        self.stall_timeout = float(stall_timeout)
        self.source = open_video(self.path, backend, interpolation=interpolation,
                                 timestamps=timestamps)
        info = self.source.info
        width, height = (int(resize[0]), int(resize[1])) if resize else (info.width, info.height)
        self.resize_map = ResizeMap((info.width, info.height), (width, height))
        self.report: Optional[DecodeReport] = None
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._state = _DecoderState(self._stop)
        self._thread: Optional[threading.Thread] = None
        self._stalled = False

    @property
    def info(self) -> VideoInfo:
        return self.source.info

    @property
    def frame_shape(self) -> Tuple[int, int, int]:
        """(h, w, 3) of the frames in the batches."""
        width, height = self.resize_map.input_size
        return (height, width, 3)

    def __iter__(self) -> Iterator[FrameBatch]:
        if self._thread is not None or self._stop.is_set():
            raise RuntimeError(f'VideoReader({self.path!r}) can be iterated once; '
                               'open a new reader to read the video again')
        read = self._state.tracking(self.source.read)
        if self.context:
            batches = context_batches(read, self.batch_size, self.frame_shape, self.context)
        else:
            batches = plain_batches(read, self.batch_size, self.frame_shape)
        self._state.last_progress = time.monotonic()
        self._thread = threading.Thread(
            target=_decode, args=(self.source, batches, self._queue, self._stop),
            name=f'decode {os.path.basename(self.path)}', daemon=True)
        self._thread.start()
        return self._consume()

    def _consume(self) -> Iterator[FrameBatch]:
        try:
            while True:
                item = self._get()
                if item is _END:
                    break
                if isinstance(item, _Failure):
                    last = self._state.tracker.last
                    raise VideoDecodeError(
                        f'{self.path}: the decoder failed after frame {last}: '
                        f'{type(item.exc).__name__}: {item.exc}') from item.exc
                yield item
            self._finish()
        finally:
            self.close()

    def _get(self):
        waiting_since = time.monotonic()
        while True:
            try:
                return self._queue.get(timeout=min(0.5, self.stall_timeout))
            except queue.Empty:
                pass
            if not self._thread.is_alive() and self._queue.empty():
                raise VideoDecodeError(f'{self.path}: the decoder thread ended without a result')
            idle = time.monotonic() - max(waiting_since, self._state.last_progress)
            if idle > self.stall_timeout:
                self._stalled = True
                self._stop.set()
                raise VideoStallError(
                    f'{self.path}: the decoder produced no frame for {idle:.1f} s (last '
                    f'decoded frame: {self._state.tracker.last}); giving up '
                    f'(stall_timeout={self.stall_timeout:g} s)')

    def _finish(self) -> None:
        tracker = self._state.tracker
        self.report = tracker.report(self.path, self.info.frame_count, self.source.note())
        if tracker.decoded == 0:
            raise VideoDecodeError(f'{self.path}: opened, but no frame could be decoded '
                                   f'({self.report.message()})')
        if self.report.lost:
            warnings.warn(self.report.message(), VideoDecodeWarning, stacklevel=3)

    def close(self) -> None:
        """Stop the decoder and free the queued batches (safe to call more than once)."""
        self._stop.set()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        if self._thread is None:
            self.source.close()
        elif not self._stalled and self._thread is not threading.current_thread():
            # the decoder sees the stop within one put slice (0.05 s) or after its current
            # frame; one stuck in C code (a stall) is not waited for: it stays behind, a daemon
            self._thread.join(timeout=5.0)

    def __enter__(self) -> 'VideoReader':
        return self

    def __exit__(self, *exc) -> None:
        self.close()
