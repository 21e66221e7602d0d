"""The model-independent video layer of video inference (issue 14).

- :mod:`.sources`: open a video (OpenCV or PyAV), decode frame by frame with frame indices from
  timestamps; clear errors for files that cannot be opened.
- :mod:`.reader`: :class:`VideoReader`, batches (and 5-frame context windows) decoded ahead in a
  background thread through a bounded queue; lost frames reported.
- :mod:`.geometry`: :class:`ResizeMap`, resized-input pixels ⇄ original-video pixels.
"""
from .batching import FrameBatch
from .errors import VideoDecodeError, VideoDecodeWarning, VideoOpenError, VideoStallError
from .geometry import ResizeMap
from .reader import VideoReader
from .report import DecodeReport
from .sources import FrameSource, VideoInfo, available_backends, open_video

__all__ = ['FrameBatch', 'VideoDecodeError', 'VideoDecodeWarning', 'VideoOpenError',
           'VideoStallError', 'ResizeMap', 'VideoReader', 'DecodeReport', 'FrameSource',
           'VideoInfo', 'available_backends', 'open_video']
