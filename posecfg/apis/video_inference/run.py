"""``infer_video``: one video through a model into the chosen tool's files (and a labeled video).

    vm = load_video_model('config.py', 'best.pth')
    result = infer_video(vm, 'session1.mp4', fmt='dlc', save_video=True, pcutoff=0.6)
    result.written        # files written (h5, meta pickle, labeled mp4)
    result.report         # DecodeReport: frames lost to damage and where

Decoding runs in the :class:`~posecfg.apis.video.VideoReader`'s thread while the model predicts
the previous batch (:func:`~posecfg.apis.video.run_video`); memory stays bounded by the reader's
queue plus the (T, N, K, 3) result array. The labeled video is drawn from the same decoded
frames and the same rows that go into the prediction file, as the batches come (one decode).

Existing outputs are kept (the video is skipped with a message) unless ``overwrite``; every file
is written under a temporary name and renamed into place, so an interrupted run leaves earlier
files as they were. A damaged video gives rows for every frame that decodes, NaN rows for the
lost ones, and ``result.report.message()`` says how many were lost and which.
"""
from __future__ import annotations

import json
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from ..video import (COLOR_BY, DecodeReport, LabeledVideoWriter, VideoDecodeWarning,
                     VideoReader, run_video)
from .model import VideoModel
from .context_edges import ContextEdgeStream, lp_context_edges
from .outputs import (OutputPaths, default_instances, dlc_multi_animal, dlc_project_of,
                      dlc_scorer, existing, output_paths, stale_side_files,
                      write_outputs)
from .predictors import BottomUpFramePredictor, ContextFramePredictor, TopDownFramePredictor

__all__ = ['VideoResult', 'infer_video', 'load_detections', 'default_format',
           'VIDEO_EXTENSIONS', 'collect_videos']

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.m4v', '.mpg', '.mpeg', '.wmv', '.webm')


@dataclass
class VideoResult:
    video: str
    paths: OutputPaths
    written: List[Path] = field(default_factory=list)
    skipped: bool = False
    message: str = ''
    report: Optional[DecodeReport] = None
    values: Optional[np.ndarray] = None
    frames_per_second: float = float('nan')


def default_format(vm: VideoModel, config_path=None) -> str:
    """The tool's own format for a DeepLabCut/Lightning Pose config file, else ``coco`` for
    top-down and ``dlc`` for whole-image (BottomUp) models."""
    if config_path is not None:
        from posecfg.interop.dialects import detect_dialect
        dialect = detect_dialect(config_path)
        if dialect in ('dlc', 'dlc_project'):
            return 'dlc'
        if dialect == 'lp':
            return 'lp'
    return 'coco' if vm.kind == 'topdown' else 'dlc'


def collect_videos(items) -> List[Path]:
    """Video files named, and those in named folders (by extension, sorted). A named file that
    does not exist is kept: opening it raises :class:`~posecfg.apis.video.VideoOpenError`
    naming it, and the other videos are still analysed."""
    videos = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir()
                           if p.suffix.lower() in VIDEO_EXTENSIONS and not p.name.startswith('.')
                           and not p.stem.endswith('_labeled'))
            if not found:
                raise FileNotFoundError(f'{path}: no video files ({", ".join(VIDEO_EXTENSIONS)})'
                                        ' in this folder')
            videos.extend(found)
        else:
            videos.append(path)
    return videos


def load_detections(path) -> Dict[int, np.ndarray]:
    """A per-frame detection file → frame index → (M, 5) x, y, w, h, score.

    Accepted: a COCO detection results list (``[{"image_id": frame, "bbox": [x, y, w, h],
    "score": s}, ...]``, every record a box; ``score`` default 1) or a dict
    ``{"<frame>": [[x, y, w, h(, score)], ...]}``.
    """
    with open(path, encoding='utf-8') as f:
        data = json.load(f)
    boxes: Dict[int, list] = {}
    if isinstance(data, dict):
        for key, items in data.items():
            try:
                frame = int(key)
            except ValueError:
                raise ValueError(f'{path}: key {key!r} is not a frame index') from None
            for i, box in enumerate(items):
                if len(box) not in (4, 5):
                    raise ValueError(f'{path}: frame {key} box {i} has {len(box)} values; '
                                     'expected x, y, w, h[, score]')
                boxes.setdefault(frame, []).append([*box[:4], box[4] if len(box) == 5 else 1.0])
    elif isinstance(data, list):
        for i, rec in enumerate(data):
            if not isinstance(rec, dict) or 'bbox' not in rec or 'image_id' not in rec:
                raise ValueError(f'{path}: record {i} needs "image_id" (the frame index) and '
                                 f'"bbox" [x, y, w, h] (COCO detection results)')
            if len(rec['bbox']) != 4:
                raise ValueError(f'{path}: record {i} bbox {rec["bbox"]} is not [x, y, w, h]')
            boxes.setdefault(int(rec['image_id']), []).append(
                [*rec['bbox'], float(rec.get('score', 1.0))])
    else:
        raise ValueError(f'{path}: expected a COCO detection results list or a dict frame → '
                         f'boxes, got {type(data).__name__}')
    return {t: np.asarray(v, np.float32).reshape(-1, 5) for t, v in boxes.items()}


def infer_video(vm: VideoModel, video, fmt: str = 'dlc', out_dir=None, batch_size: int = 8,
                save_csv: bool = False, save_video: bool = False, pcutoff: float = 0.6,
                colormap: str = 'rainbow', dotsize: float = 8, color_by: str = 'bodypart',
                overwrite: bool = False, full_pickle: bool = False,
                detections: Optional[Dict[int, np.ndarray]] = None,
                max_instances: Optional[int] = None, progress=True, backend='auto',
                scorer: Optional[str] = None, log=None, trailpoints: int = 0,
                metric_pcas: Optional[Dict] = None) -> VideoResult:
    """Predict every frame of ``video`` and write ``fmt``'s files (see the module docstring).

    Args:
        fmt: ``'dlc'``, ``'lp'`` or ``'coco'`` (:mod:`.outputs`).
        out_dir: output folder (default: the video's).
        save_csv: DeepLabCut's ``.csv`` beside the ``.h5``.
        save_video: write the labeled video too (points with score > ``pcutoff`` drawn in
            ``colormap``, skeleton of the dataset metainfo, per individual).
        color_by: labeled video: ``'bodypart'`` or ``'individual'`` colours, DeepLabCut's
            ``create_labeled_video(color_by=...)`` (:mod:`posecfg.apis.video.writer`).
        trailpoints: labeled video: each point's positions in that many previous frames
            (DeepLabCut's ``trailpoints``).
        full_pickle: DeepLabCut format with several individuals: also DeepLabCut's
            ``_full.pickle`` (:mod:`.assemblies`; slow for long videos).
        detections: top-down models: frame → (M, 5) boxes (:func:`load_detections`); None:
            the whole frame is the box.
        max_instances: instances per frame kept (default: for BottomUp the individuals of a
            DeepLabCut multi-animal project it was trained on, else 1; the most boxes any
            frame has for top-down).
        scorer: DeepLabCut scorer (default :func:`~.outputs.dlc_scorer`).
        log: where messages go (default stderr).
        metric_pcas: ``lp``: the PCAs of the error files
            (:func:`~posecfg.interop.lp.metric_files.video_metric_pcas`, to fit them once for
            several videos); None: fitted before the first frame is read.
    Raises:
        VideoOpenError: the video cannot be opened (the message names the file and why).
    """
    log = log or sys.stderr
    video = os.fspath(video)
    scorer = scorer or (dlc_scorer(vm.cfg, vm.checkpoint_meta, checkpoint=vm.checkpoint)
                        if fmt == 'dlc' else '')
    if color_by not in COLOR_BY:
        raise ValueError(f"color_by must be 'bodypart' or 'individual' (DeepLabCut's "
                         f'choices), got {color_by!r}')
    if vm.kind == 'topdown':
        num = TopDownFramePredictor.instances(detections, max_instances)
    else:
        num = int(max_instances or (1 if vm.context else default_instances(vm)))
    multi = fmt == 'dlc' and dlc_multi_animal(vm, num)
    paths = output_paths(video, fmt, out_dir, scorer, pcutoff, save_csv, multi, color_by,
                         full_pickle)
    found = existing(paths, include_labeled=save_video)
    if found and not overwrite:
        message = (f'{video}: output exists, kept (pass --overwrite / overwrite=True to '
                   f'replace): {", ".join(str(p) for p in found)}')
        print(message, file=log)
        return VideoResult(video, paths, skipped=True, message=message)
    if fmt == 'lp' and metric_pcas is None:  # a bad hook or labels CSV fails before the frames
        from posecfg.interop.lp.metric_files import video_metric_pcas
        metric_pcas = video_metric_pcas(vm.cfg, vm.keypoint_names)
    if found:  # overwriting: an earlier run's files this run will not rewrite would disagree
        every = output_paths(video, fmt, out_dir, scorer, pcutoff, save_csv=True,
                             multi_animal=True, full_pickle=True)
        for stale in stale_side_files(fmt, paths, every, list(metric_pcas or ())):
            os.remove(stale)
            print(f'{video}: removed {stale} of the earlier run (this run does not write it)',
                  file=log)
    context = vm.context
    if vm.kind == 'topdown':
        predictor = TopDownFramePredictor(vm, detections, num)
    elif context:  # each frame with its neighbours; Lightning Pose's rule at the video's ends
        predictor = ContextFramePredictor(vm, num, video)
    else:
        predictor = BottomUpFramePredictor(vm, num, video)
    project = dlc_project_of(vm) if multi else None
    num_unique = len(project.unique_bodyparts) if project is not None else 0
    unique = getattr(predictor, 'unique', {})
    reader = VideoReader(video, batch_size=batch_size, backend=backend, context=context)
    info = reader.info
    writer = None
    if save_video:
        fps = info.fps if info.fps and info.fps > 0 else 30.0  # a container without a rate
        try:
            writer = LabeledVideoWriter(paths['labeled'], fps=fps,
                                        frame_size=(info.width, info.height),
                                        num_keypoints=len(vm.keypoint_names),
                                        colormap=colormap, pcutoff=pcutoff, dotsize=dotsize,
                                        skeleton=vm.skeleton, overwrite=overwrite,
                                        color_by=color_by, num_individuals=num,
                                        num_unique=num_unique, trailpoints=trailpoints)
        except BaseException:
            reader.close()
            raise

    def draw_row(frame, row, t=None):
        writer.write(frame, row[..., :2], row[..., 2], unique.get(t) if num_unique else None)

    # context models: the rows of the first and last frames follow their neighbours'
    # (context_edges), also in the labeled video
    edges = ContextEdgeStream(context, draw_row) if context and writer else None

    def draw(batch, rows):
        for frame, row, t in zip(batch.centre_frames, rows, batch.indices):
            if edges:
                edges.push(frame, row)
            else:
                draw_row(frame, row, int(t))

    start = time.time()
    try:
        with warnings.catch_warnings():  # the message is printed below, with what it means
            warnings.simplefilter('ignore', VideoDecodeWarning)
            result = run_video(reader, predictor, on_batch_result=draw if writer else None,
                               progress=progress)
        if context:
            lp_context_edges(result.values, result.decoded, context)
            if edges:
                edges.finish()
        boxes = None
        if vm.kind == 'topdown':
            size = (info.width, info.height)
            boxes = {int(t): predictor.boxes(int(t), size)
                     for t in np.flatnonzero(result.decoded)}
        written = write_outputs(fmt, paths, result.values, vm, result, scorer=scorer,
                                batch_size=batch_size, boxes=boxes, start=start,
                                unique=getattr(predictor, 'unique', None),
                                assembly=getattr(predictor, 'assembly', None),
                                metric_pcas=metric_pcas)
    except BaseException:
        if writer is not None:  # no labeled video without its predictions
            writer.abort()
        raise
    if writer is not None:
        written.append(Path(writer.close()))
    message = result.report.message()
    if result.report.lost:
        print(f'warning: {message}; predictions were made for the {result.report.decoded} '
              f'decoded frames, the rows of the lost ones are NaN', file=log)
    return VideoResult(video, paths, written=written, message=message, report=result.report,
                       values=result.values, frames_per_second=result.frames_per_second)
