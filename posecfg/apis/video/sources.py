"""Frame sources: one video file decoded frame by frame, in order, with each frame's index.

A source decodes into a caller's buffer, converting to RGB and resizing on the way::

    source = open_video('m3v1mp4.mp4')            # backend='auto': OpenCV (see below)
    out = np.empty((source.info.height, source.info.width, 3), np.uint8)
    while (index := source.read(out)) is not None:
        ...                                       # out holds frame `index`, RGB uint8
    source.close()

Frame indices come from the frames' presentation timestamps (``round(t * fps)``), not from
counting, so a frame the decoder cannot decode leaves a gap in the indices instead of shifting
every later frame: predictions stay aligned with the video's own frame numbers. (OpenCV's
FFmpeg reader silently skips a corrupt packet; DeepLabCut and Lightning Pose count frames and
so misnumber everything after it.) Timestamps are trusted only while they sit on the frame grid
and move forward; otherwise the index counts on (variable-frame-rate videos: pass
``timestamps=False``).

Backends (``backend=``):
- ``'opencv'``: ``cv2.VideoCapture`` (FFmpeg inside opencv-python). The same decoder and colour
  conversion as DeepLabCut's ``analyze_videos`` and Lightning Pose's OpenCV reader, so the same
  pixels. The default.
- ``'pyav'``: PyAV (``pip install av``), FFmpeg's own Python binding with frame threading
  (``benchmarks/video_decode.py`` measures both). It gives the same pixels as OpenCV on the
  sample videos, but does not apply a phone video's rotation metadata (OpenCV does).
- ``'auto'``: ``'opencv'``.
"""
from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass
from typing import Callable, Dict, Optional

import cv2
import numpy as np

from .errors import VideoOpenError

__all__ = ['VideoInfo', 'FrameSource', 'OpenCVSource', 'PyAVSource', 'open_video',
           'available_backends', 'BACKENDS']


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about its video stream.

    ``frame_count`` is the container's count (None when it gives none); a damaged file may
    decode fewer frames, and for some containers (MKV, WebM) it is FFmpeg's estimate from the
    duration. ``fps`` is the average frame rate (0.0 when unknown).
    """
    path: str
    width: int
    height: int
    fps: float
    frame_count: Optional[int]
    codec: str
    backend: str


class FrameClock:
    """Frame indices from presentation timestamps (seconds from the stream start).

    ``next_index(t)`` is ``round(t * fps)`` when ``t`` lies within a quarter frame of the
    grid and after the previous index, else the previous index + 1.
    """

    def __init__(self, fps: float, timestamps: bool = True):
        self.fps = fps if fps and math.isfinite(fps) and fps > 0 else 0.0
        self.timestamps = timestamps and self.fps > 0
        self.last = -1

    def next_index(self, seconds: Optional[float]) -> int:
        index = self.last + 1
        if self.timestamps and seconds is not None and math.isfinite(seconds):
            position = seconds * self.fps
            nearest = int(round(position))
            if nearest > index and abs(position - nearest) < 0.25:
                index = nearest
        self.last = index
        return index


class FrameSource:
    """One opened video: ``info``, ``read(out) -> index | None``, ``close()``."""
    info: VideoInfo

    def read(self, out: np.ndarray) -> Optional[int]:
        """Decode the next frame into ``out`` ((h, w, 3) uint8, RGB; resized from the video's
        size with ``interpolation`` when ``out`` is smaller or larger) and return its frame
        index, or None after the last frame."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def note(self) -> str:
        """What the decoder itself said about damage (empty when nothing)."""
        return ''

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _check_size(path: str, width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise VideoOpenError(f'cannot open video {path}: its stream reports no frame size '
                             f'({width}x{height}); the header is damaged')


def _store(frame: np.ndarray, out: np.ndarray, interpolation: int, bgr: bool,
           info: VideoInfo, index: int) -> None:
    """``frame`` (H, W, 3) converted to RGB and resized into ``out`` (h, w, 3) in one pass each."""
    if frame.shape[:2] != (info.height, info.width):
        # a resize map is for one source size: a stream that changes size cannot be mapped back
        raise ValueError(f'{info.path}: frame {index} is {frame.shape[1]}x{frame.shape[0]} '
                         f'pixels but the stream declared {info.width}x{info.height}; videos '
                         'that change size part-way are not supported')
    if frame.shape[:2] != out.shape[:2]:
        frame = cv2.resize(frame, (out.shape[1], out.shape[0]), interpolation=interpolation)
    if bgr:
        cv2.cvtColor(frame, cv2.COLOR_BGR2RGB, dst=out)
    else:
        np.copyto(out, frame)


class OpenCVSource(FrameSource):
    """``cv2.VideoCapture`` reading forward (never seeking, which is not frame-exact for
    every codec).

    A failed ``read()`` before the container's last frame is retried (up to
    ``max_failed_reads`` in a row): OpenCV reports a damaged stretch as a failed read and
    decodes the frames after it on the next calls.
    """

    def __init__(self, path: str, interpolation: int = cv2.INTER_LINEAR,
                 timestamps: bool = True, max_failed_reads: int = 64):
        self.path = path
        self.interpolation = interpolation
        self.max_failed_reads = max_failed_reads
        self.cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
        if not self.cap.isOpened():
            self.cap.release()
            raise VideoOpenError(f'cannot open video {path}: {diagnose_unopenable(path)}')
        count = int(self.cap.get(cv2.CAP_PROP_FRAME_COUNT))
        fourcc = int(self.cap.get(cv2.CAP_PROP_FOURCC))
        codec = fourcc.to_bytes(4, 'little').decode('latin-1').strip('\0 ') if fourcc else ''
        self.info = VideoInfo(path=path, width=int(self.cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                              height=int(self.cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                              fps=float(self.cap.get(cv2.CAP_PROP_FPS)),
                              frame_count=count if count > 0 else None, codec=codec,
                              backend='opencv')
        _check_size(path, self.info.width, self.info.height)
        self.clock = FrameClock(self.info.fps, timestamps)

    def read(self, out: np.ndarray) -> Optional[int]:
        failures = 0
        while True:
            ok, frame = self.cap.read()
            if ok:
                break
            failures += 1
            at_end = (self.info.frame_count is not None
                      and self.clock.last + 1 >= self.info.frame_count)
            if at_end or failures >= self.max_failed_reads:
                return None
        # POS_MSEC: the timestamp of the frame just read, from the stream's start
        index = self.clock.next_index(self.cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0)
        _store(frame, out, self.interpolation, True, self.info, index)
        return index

    def close(self) -> None:
        self.cap.release()


class PyAVSource(FrameSource):
    """PyAV (FFmpeg) decoding with frame threading; an undecodable packet is skipped and
    counted (``decode_errors``), an unreadable rest of the file ends the video
    (``end_reason``)."""

    def __init__(self, path: str, interpolation: int = cv2.INTER_LINEAR,
                 timestamps: bool = True, thread_type: str = 'AUTO'):
        import av
        self.path = path
        self.interpolation = interpolation
        self.decode_errors = 0
        self.end_reason: Optional[str] = None
        reason = _file_problem(path)
        if reason:
            raise VideoOpenError(f'cannot open video {path}: {reason}')
        try:
            self.container = av.open(path)
        except av.error.FFmpegError as e:
            raise VideoOpenError(f'cannot open video {path}: {diagnose_unopenable(path)} '
                                 f'(FFmpeg: {e.strerror or e})') from e
        if not self.container.streams.video:
            self.container.close()
            raise VideoOpenError(f'cannot open video {path}: the file has no video stream')
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = thread_type
        rate = self.stream.average_rate or self.stream.guessed_rate
        fps = float(rate) if rate else 0.0
        count = self.stream.frames
        if not count and self.container.duration and fps:
            # containers without a frame count (MKV): FFmpeg's estimate, as OpenCV reports it
            count = int(round(self.container.duration / 1e6 * fps))
        ctx = self.stream.codec_context
        self.info = VideoInfo(path=path, width=ctx.width, height=ctx.height, fps=fps,
                              frame_count=count or None, codec=ctx.name, backend='pyav')
        _check_size(path, ctx.width, ctx.height)
        self.start = float(self.stream.start_time * self.stream.time_base) \
            if self.stream.start_time is not None else 0.0
        self.clock = FrameClock(fps, timestamps)
        self._frames = self._decode()

    def _decode(self):
        import av
        try:
            for packet in self.container.demux(self.stream):
                try:
                    frames = packet.decode()
                except av.error.EOFError:
                    return
                except av.error.FFmpegError:
                    self.decode_errors += 1
                    continue
                yield from frames
        except av.error.FFmpegError as e:
            self.end_reason = f'FFmpeg stopped reading the file: {e.strerror or e}'

    def read(self, out: np.ndarray) -> Optional[int]:
        frame = next(self._frames, None)
        if frame is None:
            return None
        index = self.clock.next_index(None if frame.time is None else frame.time - self.start)
        _store(frame.to_ndarray(format='rgb24'), out, self.interpolation, False, self.info,
               index)
        return index

    def note(self) -> str:
        parts = [f'{self.decode_errors} packets failed to decode'] if self.decode_errors else []
        return '; '.join(parts + ([self.end_reason] if self.end_reason else []))

    def close(self) -> None:
        self._frames.close()
        self.container.close()


def _pyav_available() -> bool:
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


BACKENDS: Dict[str, Callable[..., FrameSource]] = {'opencv': OpenCVSource, 'pyav': PyAVSource}


def available_backends():
    """Names of the backends that can be used here (``'pyav'`` only where PyAV is installed)."""
    return ['opencv'] + (['pyav'] if _pyav_available() else [])


def open_video(path, backend='auto', **kwargs) -> FrameSource:
    """Open ``path`` with ``backend`` (``'auto'``, ``'opencv'``, ``'pyav'``, or a callable
    ``(path, **kwargs) -> FrameSource``). ``kwargs``: ``interpolation`` (cv2 flag for resizing),
    ``timestamps`` (index frames by timestamp, default True).

    Raises:
        VideoOpenError: naming the file and why it cannot be read.
    """
    path = os.fspath(path)
    if callable(backend):
        return backend(path, **kwargs)
    name = 'opencv' if backend == 'auto' else backend
    if name not in BACKENDS:
        raise ValueError(f'unknown video backend {backend!r}; choose one of '
                         f'{["auto", *BACKENDS]}')
    if name == 'pyav' and not _pyav_available():
        raise ValueError("video backend 'pyav' needs PyAV: pip install av")
    return BACKENDS[name](path, **kwargs)


def _file_problem(path: str) -> Optional[str]:
    """Why ``path`` cannot be read as a file at all, or None."""
    if not os.path.exists(path):
        return 'no such file'
    if os.path.isdir(path):
        return 'it is a directory, not a video file'
    if not os.access(path, os.R_OK):
        return 'permission denied'
    if os.path.getsize(path) == 0:
        return 'the file is empty (0 bytes)'
    return None


def _mp4_top_level_boxes(f, size: int):
    """Types of the top-level boxes of an ISO-BMFF (MP4/MOV) file and whether the last one
    runs past the end of the file."""
    types, offset = [], 0
    while offset + 8 <= size:
        f.seek(offset)
        length, kind = struct.unpack('>I4s', f.read(8))
        if length == 1:
            length = struct.unpack('>Q', f.read(8))[0]
        elif length == 0:
            length = size - offset
        types.append(kind.decode('latin-1'))
        if length < 8:
            return types, True
        offset += length
    return types, offset > size


def diagnose_unopenable(path: str) -> str:
    """A sentence saying why FFmpeg could not open ``path``, from the file's first bytes."""
    problem = _file_problem(path)
    if problem:
        return problem
    size = os.path.getsize(path)
    with open(path, 'rb') as f:
        head = f.read(12)
        if head[4:8] == b'ftyp':
            types, cut = _mp4_top_level_boxes(f, size)
            if 'moov' not in types:
                return ("an MP4/MOV file without its 'moov' box, the index FFmpeg needs to find "
                        'any frame (it is written last, so the recording or copy was cut off '
                        f'before the file was finished: {size} bytes, top-level boxes '
                        f'{types}); the frames cannot be located without rebuilding the index '
                        '(e.g. with untrunc and a complete file from the same camera)')
            if cut:
                return f'a truncated MP4/MOV file ({size} bytes; its last box runs past the end)'
            return 'an MP4/MOV file whose header FFmpeg cannot read (damaged, or an unknown codec)'
    if head[:4] == b'RIFF' and head[8:12] == b'AVI ':
        kind = 'an AVI file'
    elif head[:4] == b'\x1a\x45\xdf\xa3':
        kind = 'a Matroska/WebM file'
    else:
        return (f'not a video container FFmpeg recognises (the file starts with bytes '
                f'{head.hex(" ")})')
    return f'{kind} whose header FFmpeg cannot read (damaged, or an unknown codec)'
