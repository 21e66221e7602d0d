"""Batch prediction functions for :func:`posecfg.apis.video.run_video`: a
:class:`~posecfg.apis.video.FrameBatch` of whole video frames → (B, N, K, 3) rows of x, y
(original video pixels), score; N instances per frame, NaN rows where a frame has fewer.

The frames go through the config's own test pipeline (without ``LoadImageFromFile``: the frame
is the image), so resizing, normalisation and flip test are what ``tools/test.py`` evaluates;
the pipeline records its resize/crop in each sample's ``warp_mat`` (or the box's centre and
scale for top-down crops) and the estimator maps predictions back through its inverse, so the
coordinates are in the video's own pixels whatever the model's input size.
"""
from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from .model import VideoModel

__all__ = ['BottomUpFramePredictor', 'ContextFramePredictor', 'TopDownFramePredictor',
           'pad_instances', 'instance_order', 'assembly_extras', 'test_pipeline_steps']


def pad_instances(keypoints: np.ndarray, scores: np.ndarray, num: int,
                  keep_order: bool = False) -> np.ndarray:
    """(M, K, 2) keypoints and (M, K) scores → (num, K, 3) rows: the ``num`` instances of
    highest mean score (in that order; with ``keep_order`` the first ``num`` as given, e.g.
    sorted by identity), NaN rows after the last instance."""
    keypoints = np.asarray(keypoints, np.float32).reshape(-1, *np.shape(keypoints)[-2:])
    # (M, K) also when M = 0 (a frame where a multi-animal model finds nobody)
    scores = np.asarray(scores, np.float32).reshape(keypoints.shape[:2])
    rows = np.full((num, keypoints.shape[1], 3), np.nan, np.float32)
    order = instance_order(scores, num, keep_order)
    rows[:len(order), :, :2] = keypoints[order]
    rows[:len(order), :, 2] = scores[order]
    return rows


def instance_order(scores: np.ndarray, num: int, keep_order: bool = False) -> np.ndarray:
    """Indices of the instances :func:`pad_instances` keeps, in its row order, for (M, K)
    ``scores``."""
    scores = np.asarray(scores, np.float32)
    if not len(scores):
        return np.zeros(0, np.int64)
    scores = scores.reshape(len(scores), -1)
    order = (np.arange(len(scores)) if keep_order else
             np.argsort(-np.nan_to_num(scores.mean(axis=1), nan=-np.inf), kind='stable'))
    return order[:num]


def test_pipeline_steps(vm: VideoModel) -> list:
    """The test pipeline's steps for a decoded frame: without ``LoadImageFromFile``, and for
    context models the per-frame steps of ``ContextFrames`` (each frame of a run goes through
    them once; the model builds the windows), then what follows it (``Collect``)."""
    steps = []
    from posecfg.apis.inference import inference_dataset_cfg
    for step in inference_dataset_cfg(vm.cfg)['pipeline']:
        if isinstance(step, dict) and step.get('type') == 'ContextFrames':
            steps.extend(test_steps_of(step['transforms']))
        elif not (isinstance(step, dict) and step.get('type') == 'LoadImageFromFile'):
            steps.append(step)
    return steps


def test_steps_of(steps) -> list:
    return [s for s in steps if not (isinstance(s, dict) and s.get('type') == 'LoadImageFromFile')]


class BottomUpFramePredictor:
    """Whole frames through a :class:`BottomUp` model.

    Args:
        vm: the model.
        max_instances: N, instances kept per frame (by mean score); 1 for single-animal
            models.
        video: the video's path (``image_file`` of the samples).
    """

    def __init__(self, vm: VideoModel, max_instances: int = 1, video: str = ''):
        from posecfg.datasets.base import metainfo_ann_info
        from posecfg.transforms import Compose
        self.vm = vm
        self.num = int(max_instances)
        self.pipeline = Compose(test_pipeline_steps(vm))
        self.ann_info = metainfo_ann_info(vm.meta)
        self.video = video
        #: frame → (U, 3) unique bodyparts x, y, score (a DeepLabCut unique-bodypart head)
        self.unique: Dict[int, np.ndarray] = {}
        #: frame → dict(affinity (N',) float (NaN: the model gives none), identity (N', K)
        #: int (-1: no identity head)) of the rows kept (:func:`assembly_extras`)
        self.assembly: Dict[int, dict] = {}

    def record(self, frame: np.ndarray, index: int) -> dict:
        """The image record (CONTRACTS.md) of a video frame: no instances."""
        k = len(self.vm.keypoint_names)
        return dict(img=frame, image_file=self.video, image_id=int(index),
                    img_shape=frame.shape[:2], keypoints=np.zeros((0, k, 2), np.float32),
                    keypoints_visible=np.zeros((0, k), np.float32),
                    bboxes=np.zeros((0, 4), np.float32), bbox_scores=np.zeros(0, np.float32),
                    instance_ids=np.zeros(0, np.int64), category_ids=np.zeros(0, np.int64),
                    areas=np.zeros(0, np.float32), dataset=self.vm.meta.dataset_name,
                    ann_info=dict(self.ann_info))

    def __call__(self, batch) -> np.ndarray:
        from posecfg.transforms.collate import pose_collate
        samples = [self.pipeline(self.record(frame, t))
                   for frame, t in zip(batch.centre_frames, batch.indices)]
        outputs = self.vm.predict(pose_collate(samples))
        for t, o in zip(batch.indices, outputs):
            if o.get('unique_keypoints') is not None:
                xy = np.asarray(o['unique_keypoints'], np.float32).reshape(-1, 2)
                score = np.asarray(o.get('unique_keypoint_scores', np.ones(len(xy))),
                                   np.float32).reshape(-1, 1)
                self.unique[int(t)] = np.concatenate([xy, score], axis=1)
        # an identity head's instances come sorted by identity (row j = individual j, as
        # DeepLabCut's AssignIndividualIdentities): kept in that order
        for t, o in zip(batch.indices, outputs):
            order = instance_order(o['keypoint_scores'], self.num, 'identities' in o)
            self.assembly[int(t)] = assembly_extras(o, order)
        return np.stack([pad_instances(o['keypoints'], o['keypoint_scores'], self.num,
                                       keep_order='identities' in o)
                         for o in outputs])


def assembly_extras(output: dict, order: np.ndarray) -> dict:
    """What DeepLabCut's trackers read beside the rows of a frame, for the instances
    ``order`` of a model's ``'predict'`` output: ``affinity`` (N',) the mean part-affinity of
    each individual's links (a ``DLCRNetHead``'s ``individual_affinities``; NaN for models
    without one) and ``identity`` (N', K) int64, each keypoint's most likely identity (argmax
    of an identity head's ``identity_scores``, DeepLabCut's ``_generate_assemblies_file``;
    -1 without an identity head)."""
    k = np.shape(output['keypoint_scores'])[-1]
    affinity = output.get('individual_affinities')
    affinity = (np.full(len(order), np.nan) if affinity is None
                else np.asarray(affinity, np.float64).reshape(-1)[order])
    scores = output.get('identity_scores')
    identity = (np.full((len(order), k), -1, np.int64) if scores is None
                else np.argmax(np.asarray(scores), axis=-1).astype(np.int64)[order])
    return dict(affinity=affinity, identity=identity)


class ContextFramePredictor(BottomUpFramePredictor):
    """Runs of frames through a context model (``vm.context`` = c > 0; batches of a
    :class:`~posecfg.apis.video.VideoReader` with ``context=c``): every frame of the run
    (B + 2c, edge frames repeated at the video's ends) goes through the per-frame test steps
    once and the model reads each centre frame's window of 2c + 1 (``frame_context``)."""

    def __call__(self, batch) -> np.ndarray:
        from posecfg.transforms.collate import pose_collate
        c = int(batch.context)
        if c != self.vm.context:
            raise ValueError(f'the video batches carry {c} context frames but the model reads '
                             f'{self.vm.context}; open the VideoReader with context='
                             f'{self.vm.context}')
        first = int(batch.indices[0])
        samples = [self.pipeline(self.record(frame, first - c + i))
                   for i, frame in enumerate(batch.frames)]
        data = pose_collate(samples)
        for meta, t in zip(data['img_metas'][c:], batch.indices):
            meta['image_id'] = int(t)  # a frame lost to damage shifts the run: the true index
        data['frame_context'] = c
        outputs = self.vm.predict(data)
        return np.stack([pad_instances(o['keypoints'], o['keypoint_scores'], self.num)
                         for o in outputs])


class TopDownFramePredictor:
    """Boxes of each frame (or the whole frame) through a :class:`TopDown` model.

    Args:
        vm: the model.
        detections: frame index → (M, 5) boxes x, y, w, h (pixels), score; None: one box, the
            whole frame. A frame without detections gets NaN rows.
        max_instances: N (default: the most boxes any frame has, 1 without detections).
    """

    def __init__(self, vm: VideoModel, detections: Optional[Dict[int, np.ndarray]] = None,
                 max_instances: Optional[int] = None):
        from posecfg.apis.inference import topdown_pipeline
        self.vm = vm
        self.detections = detections
        self.num = self.instances(detections, max_instances)
        self.pipeline, self.make_record = topdown_pipeline(vm.model, from_array=True)

    @staticmethod
    def instances(detections: Optional[Dict[int, np.ndarray]] = None,
                  max_instances: Optional[int] = None) -> int:
        """N: ``max_instances``, else the most boxes any frame has (1 without detections)."""
        most = max((len(v) for v in detections.values()), default=1) if detections else 1
        return int(max_instances or most)

    def boxes(self, index: int, frame_size) -> np.ndarray:
        """(M, 5) boxes of frame ``index`` (frames of ``frame_size`` = (w, h) pixels): the
        detections kept (highest scores first), or the whole frame."""
        if self.detections is None:
            return np.array([[0, 0, frame_size[0], frame_size[1], 1.0]], np.float32)
        boxes = np.asarray(self.detections.get(int(index), np.zeros((0, 5))), np.float32)
        order = np.argsort(-boxes[:, 4], kind='stable')[:self.num]
        return boxes[order]

    def __call__(self, batch) -> np.ndarray:
        from posecfg.transforms.collate import pose_collate
        k = len(self.vm.keypoint_names)
        rows = np.full((len(batch), self.num, k, 3), np.nan, np.float32)
        samples, where = [], []
        for i, (frame, t) in enumerate(zip(batch.centre_frames, batch.indices)):
            for j, box in enumerate(self.boxes(t, (frame.shape[1], frame.shape[0]))):
                samples.append(self.pipeline(self.make_record(
                    frame, box[:4], bbox_id=j, image_id=int(t), bbox_score=box[4])))
                where.append((i, j))
        if samples:
            for (i, j), out in zip(where, self.vm.predict(pose_collate(samples))):
                rows[i, j] = np.asarray(out['preds'], np.float32)
        return rows
