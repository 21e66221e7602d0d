"""The model-independent video layer of video inference (issue 14).

- :mod:`.sources`: open a video (OpenCV or PyAV), decode frame by frame with frame indices from
  timestamps; clear errors for files that cannot be opened.
- :mod:`.reader`: :class:`VideoReader`, batches (and 5-frame context windows,
  :mod:`.batching`) decoded ahead in a background thread through a bounded queue; lost frames
  reported (:mod:`.report`).
- :mod:`.geometry`: :class:`ResizeMap`, resized-input pixels ⇄ original-video pixels.
- :mod:`.driver`: :func:`run_video`, a batched prediction function over a video into per-frame
  arrays, with :mod:`.progress` (frames/s, ETA).
- :mod:`.writer`: labeled videos (:class:`LabeledVideoWriter`, :func:`write_labeled_video`).
"""
from .batching import FrameBatch
from .driver import VideoPredictions, run_video
from .errors import VideoDecodeError, VideoDecodeWarning, VideoOpenError, VideoStallError
from .geometry import ResizeMap
from .progress import ProgressReporter
from .reader import VideoReader
from .report import DecodeReport
from .sources import FrameSource, VideoInfo, available_backends, open_video
from .writer import (COLOR_BY, LabeledVideoWriter, keypoint_colors, point_colors,
                     write_labeled_video)

__all__ = ['FrameBatch', 'VideoPredictions', 'run_video', 'VideoDecodeError',
           'VideoDecodeWarning', 'VideoOpenError', 'VideoStallError', 'ResizeMap',
           'ProgressReporter', 'VideoReader', 'DecodeReport', 'FrameSource', 'VideoInfo',
           'available_backends', 'open_video', 'LabeledVideoWriter', 'keypoint_colors',
           'point_colors', 'COLOR_BY',
           'write_labeled_video']
