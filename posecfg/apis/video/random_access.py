"""Frame-exact reads of a run of frames from anywhere in a video (for training samples drawn in
any order, e.g. unlabeled sequences in DataLoader workers).

:class:`SequenceReader` keeps one open :class:`~.sources.OpenCVSource` per video and process:
a read that continues where the last one stopped decodes on; any other read seeks
(``CAP_PROP_POS_FRAMES``, FFmpeg seeks to the keyframe before and decodes forward) and then
checks the landed frame by its timestamp, ``round(t · fps)``. Seeking is not frame-exact for
every codec/container (the reason :mod:`.sources` never seeks), so when the check fails the video
is reopened and read forward from the first frame to the wanted one: slow but exact.
"""
from __future__ import annotations

import os
from typing import Dict, Optional

import cv2
import numpy as np

from .errors import VideoDecodeError
from .sources import OpenCVSource, VideoInfo

__all__ = ['SequenceReader', 'read_frames']


class SequenceReader:
    """Reads ``frames[start : start + count]`` of one video, resized to ``out``'s size, RGB.

    Attributes:
        seeks, fallbacks: how many reads needed a seek, and how many seeks landed on the wrong
            frame and were redone by reading forward (for benchmarks and tests).
    """

    def __init__(self, path: str, interpolation: int = cv2.INTER_LINEAR):
        self.path = os.fspath(path)
        self.interpolation = interpolation
        self.source = OpenCVSource(self.path, interpolation=interpolation, timestamps=False)
        self.position = 0  # index of the frame the next plain read() decodes
        self.seeks = self.fallbacks = 0

    @property
    def info(self) -> VideoInfo:
        return self.source.info

    def _frame_at_position(self) -> Optional[int]:
        """The index of the frame just read, from its timestamp (None when unknown)."""
        fps = self.info.fps
        msec = self.source.cap.get(cv2.CAP_PROP_POS_MSEC)
        if not fps or not np.isfinite(msec):
            return None
        return int(round(msec / 1000.0 * fps))

    def _reopen_at(self, start: int) -> None:
        self.source.close()
        self.source = OpenCVSource(self.path, interpolation=self.interpolation,
                                   timestamps=False)
        for index in range(start):
            if not self.source.cap.grab():
                raise VideoDecodeError(f'{self.path}: decoding stopped at frame {index} while '
                                       f'reading forward to frame {start}')
        self.position = start

    def read(self, start: int, out: np.ndarray) -> np.ndarray:
        """Decode frames ``start .. start + len(out) - 1`` into ``out`` (n, h, w, 3) uint8 RGB.

        Raises:
            VideoDecodeError: a frame of the range cannot be decoded (naming file and frame).
        """
        count = self.info.frame_count
        if start < 0 or (count is not None and start + len(out) > count):
            raise IndexError(f'{self.path}: frames {start}..{start + len(out) - 1} are outside '
                             f'the video (0..{(count or 0) - 1})')
        first = 0
        if start != self.position:
            self.seeks += 1
            self.source.cap.set(cv2.CAP_PROP_POS_FRAMES, start)
            self._read_one(out[0], start)
            if self._frame_at_position() != start:
                self.fallbacks += 1
                self._reopen_at(start)
            else:
                first, self.position = 1, start + 1
        for i in range(first, len(out)):
            self._read_one(out[i], start + i)
            self.position = start + i + 1
        return out

    def _read_one(self, out: np.ndarray, index: int) -> None:
        ok, frame = self.source.cap.read()
        if not ok:
            self.position = -1  # unknown: the next read seeks
            raise VideoDecodeError(f'{self.path}: cannot decode frame {index} (the container '
                                   f'says {self.info.frame_count} frames)')
        if frame.shape[:2] != out.shape[:2]:
            frame = cv2.resize(frame, (out.shape[1], out.shape[0]),
                               interpolation=self.interpolation)
        cv2.cvtColor(frame, cv2.COLOR_BGR2RGB, dst=out)

    def close(self) -> None:
        self.source.close()


#: path → reader: one open video per file in this process (``_OWNER``)
_READERS: Dict[str, SequenceReader] = {}
_OWNER = os.getpid()
#: readers inherited by a forked child (a DataLoader worker): never used nor released there —
#: releasing a capture whose decoder threads live in the parent can hang the child
_INHERITED: list = []


def read_frames(path: str, start: int, out: np.ndarray) -> np.ndarray:
    """:meth:`SequenceReader.read` through this process's cached reader of ``path``."""
    global _READERS, _OWNER
    if os.getpid() != _OWNER:
        _INHERITED.append(_READERS)
        _READERS, _OWNER = {}, os.getpid()
    path = os.fspath(path)
    reader = _READERS.get(path)
    if reader is None:
        reader = _READERS[path] = SequenceReader(path)
    return reader.read(start, out)
