"""Video inference with a trained posecfg model (issue 14): every frame of a video through a
BottomUp (whole-image: DeepLabCut / Lightning Pose heads) or TopDown (boxes from a per-frame
detection file, or the whole frame) model into DeepLabCut's ``.h5``/``.csv``, Lightning Pose's
``video_preds/<video>.csv`` or COCO keypoint JSON, and labeled videos.

- :mod:`.model`: :func:`load_video_model` (config + checkpoint + runtime switches);
- :mod:`.predictors`: batch prediction functions over :class:`~posecfg.apis.video.FrameBatch`;
- :mod:`.outputs`: file names and writers of each format;
- :mod:`.run`: :func:`infer_video` (one video), on the model-independent layer
  :mod:`posecfg.apis.video` (decoding thread, bounded queue, progress, decode report).

Command line: ``tools/infer_video.py``; DeepLabCut-style calls: :mod:`posecfg.apis.dlc_video`.
"""
from .model import VideoModel, load_video_model, model_kind
from .outputs import FORMATS, dlc_scorer, output_paths
from .run import (VIDEO_EXTENSIONS, VideoResult, collect_videos, default_format, infer_video,
                  load_detections)

__all__ = ['VideoModel', 'load_video_model', 'model_kind', 'FORMATS', 'dlc_scorer',
           'output_paths', 'VIDEO_EXTENSIONS', 'VideoResult', 'collect_videos', 'default_format',
           'infer_video', 'load_detections']
