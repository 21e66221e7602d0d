"""MPII Human Pose in MMPose's JSON list format, with head sizes for PCKh.

Each entry of the annotation list is one person::

    {"image": "005808361.jpg", "center": [966.0, 340.0], "scale": 4.718488,
     "joints": [[x, y] × 16], "joints_vis": [0/1 × 16]}

Coordinates are MATLAB's, 1-based; ``scale`` is the person's height / 200 px. The test split
has no ``joints``.
"""
from __future__ import annotations

import os
from typing import Optional, Tuple

import numpy as np
from mmengine.logging import MMLogger

from ..geometry import PIXEL_STD
from ..registry import DATASETS
from .coco_files import read_json
from .data_cfg import MPII_KEYS
from .instance_table import InstanceTable, StringPool
from .metainfo import DatasetInfoSpec, DatasetMeta
from .metric_configs import PckProtocol
from .topdown_base import TopDownBaseDataset, example_dataset_args

#: MPII's evaluation (and MMPose's): head size = 0.6 × the head box diagonal.
HEAD_SIZE_FACTOR = 0.6
#: the file MMPose 0.x reads head boxes from, next to the annotation file
DEFAULT_HEADBOX_NAME = 'mpii_gt_val.mat'
#: MMPose 0.x moves MPII's centre down by 15 px per unit of scale "to avoid cropping limbs"
CENTER_SHIFT_PER_SCALE = 15.0
#: … and pads the crop like the COCO-style datasets
CROP_PADDING = 1.25


@DATASETS.register_module()
class TopDownMpiiDataset(TopDownBaseDataset):
    """MPII (MMPose 0.x ``TopDownMpiiDataset``).

    Crop region as MMPose 0.x: ``center`` is the annotated centre moved down by
    15 × scale px, ``scale`` = annotated scale × 1.25 for both axes (a square crop; MPII
    configs use square inputs), both then converted to 0-based pixels; keypoints too. An entry
    whose centre is -1 (unknown) keeps centre and scale as given. ``bbox`` is the square of
    side 200 × scale around the annotated centre: the person box MPII implies, used as the
    normaliser of plain PCK.

    Head sizes (for ``gt['head_size']`` and PCKh) are 0.6 × the diagonal of each person's head
    box from ``headbox_file`` (MPII's ``mpii_gt_val.mat``, entries in annotation order). When
    it is not given, a test-mode dataset looks for ``mpii_gt_val.mat`` next to ``ann_file`` as
    MMPose 0.x did (used if its count matches). Without head boxes the head size is the
    length of the head segment, ``upper_neck``–``head_top``: the quantity PCKh is defined by
    and the 0.6 × diagonal stands in for. A person lacking one of those two keypoints gets
    the median segment / scale ratio of the others times its own scale (MPII's scale is
    proportional to the person's height).

    Args:
        headbox_file: path of a .mat file with ``headboxes_src`` (2, 2, N): top-left and
            bottom-right corner (x, y) of each entry's head box, 1-based pixels.
        others: see :class:`TopDownBaseDataset`.
    """

    example_args = example_dataset_args('mmpose-tests/mpii/test_mpii.json', 16)

    default_dataset_info = 'mpii'
    #: MMPose's MPII configs say use_gt_bbox=True, bbox_file=None: MPII has no detections
    fixed_data_cfg = dict(use_gt_bbox=True, bbox_file=None)
    option_keys = {'data_cfg': MPII_KEYS + tuple(fixed_data_cfg)}
    #: plain PCK: 0.2 × the person box's side (200 × scale)
    pck_protocol = PckProtocol(thr=0.2)
    #: PCKh: 0.5 × head size
    pckh_protocol = PckProtocol(thr=0.5, norm_item='head')
    #: the crop is MPII's annotated centre and scale, never derived from ``bbox``
    crop_from_box = False

    def __init__(self, ann_file: str, img_prefix: str, data_cfg: dict, pipeline,
                 dataset_info: DatasetInfoSpec = None, test_mode: bool = False,
                 headbox_file: Optional[str] = None, data_mode: str = 'topdown'):
        self.headbox_file = headbox_file
        super().__init__(ann_file, img_prefix, data_cfg, pipeline, dataset_info, test_mode,
                         data_mode)

    def _load(self):
        owner = type(self).__name__
        entries = read_json(self.ann_file, 'ann_file', owner)
        if not isinstance(entries, list):
            raise ValueError(f'{owner}: ann_file {self.ann_file!r} must be a JSON list of '
                             f'{{image, center, scale[, joints, joints_vis]}}')
        num, count = self.meta.num_keypoints, len(entries)
        centers = np.array([e['center'] for e in entries], dtype=np.float64).reshape(-1, 2)
        scales = np.array([e['scale'] for e in entries], dtype=np.float64)
        keypoints, visible, has_gt = self._read_joints(entries, num)

        known = centers[:, 0] != -1
        crop_center = centers.copy()
        crop_center[known, 1] += CENTER_SHIFT_PER_SCALE * scales[known]
        crop_scale = np.where(known, scales * CROP_PADDING, scales)
        # MATLAB's 1-based pixels → 0-based
        crop_center -= 1.0
        side = scales * PIXEL_STD
        bbox = np.stack([centers[:, 0] - 1 - side / 2, centers[:, 1] - 1 - side / 2, side, side],
                        axis=1)

        names = [e['image'] for e in entries]
        unique = list(dict.fromkeys(names))
        row_of = {name: i for i, name in enumerate(unique)}
        table = InstanceTable(
            image_row=np.array([row_of[n] for n in names], dtype=np.int64),
            ann_id=np.arange(count, dtype=np.int64),
            category_id=np.full(count, -1, np.int64),
            keypoints=keypoints, visible=visible,
            bbox=bbox.astype(np.float32), area=(side * side).astype(np.float32),
            center=crop_center.astype(np.float32),
            scale=np.stack([crop_scale, crop_scale], axis=1).astype(np.float32),
            bbox_score=np.ones(count, np.float32), has_gt=has_gt,
            head_size=self._head_sizes(keypoints, visible, has_gt, scales))
        files = StringPool(os.path.join(self.img_prefix, n) for n in unique)
        return table, files, _image_ids(unique)

    def _read_joints(self, entries: list, num: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """keypoints (N, K, 2) float32 0-based px, visible (N, K) float32, has_gt (N,) bool."""
        count = len(entries)
        keypoints = np.zeros((count, num, 2), np.float32)
        visible = np.zeros((count, num), np.float32)
        has_gt = np.zeros(count, bool)
        for i, entry in enumerate(entries):
            if 'joints' not in entry:
                continue
            joints = np.asarray(entry['joints'], dtype=np.float32).reshape(-1, 2)
            if len(joints) != num:
                raise ValueError(
                    f'{type(self).__name__}: keypoint count mismatch: {self.meta.source} '
                    f'defines {num} keypoints but ann_file {self.ann_file!r} entry {i} '
                    f"({entry.get('image')}) has {len(joints)} joints")
            keypoints[i] = joints - 1.0
            visible[i] = np.minimum(1.0, np.asarray(entry.get('joints_vis', [1] * num)))
            has_gt[i] = True
        return keypoints, visible, has_gt

    def _head_sizes(self, keypoints: np.ndarray, visible: np.ndarray, has_gt: np.ndarray,
                    scales: np.ndarray) -> np.ndarray:
        """(N,) float32 head sizes in pixels, NaN where none can be given."""
        sizes = self._head_sizes_from_file(len(keypoints))
        if sizes is None:
            sizes = head_segment_lengths(keypoints, visible * has_gt[:, None], scales, self.meta)
        return np.where(has_gt, sizes, np.nan).astype(np.float32)

    def _head_sizes_from_file(self, count: int) -> Optional[np.ndarray]:
        owner = type(self).__name__
        path, explicit = self.headbox_file, self.headbox_file is not None
        if not explicit:
            path = os.path.join(os.path.dirname(self.ann_file), DEFAULT_HEADBOX_NAME)
            if not (self.test_mode and os.path.isfile(path)):
                return None
        boxes = read_headboxes(path, owner)
        if len(boxes) != count:
            message = (f'{owner}: head boxes in {path} are for {len(boxes)} people but ann_file '
                       f'{self.ann_file!r} has {count}; the two must list the same people in '
                       f'the same order')
            if explicit:
                raise ValueError(message)
            MMLogger.get_current_instance().warning(
                f'{message}. Not using it: head sizes come from the head segment instead')
            return None
        MMLogger.get_current_instance().info(f'{owner}: head sizes from {path}')
        return HEAD_SIZE_FACTOR * np.linalg.norm(boxes[:, 1] - boxes[:, 0], axis=1)

    @classmethod
    def metric_builders(cls, meta, data_cfg, ann_file):
        builders, unavailable = super().metric_builders(meta, data_cfg, ann_file)
        builders = dict(PCKh=lambda: cls.pckh_protocol.config(meta), **builders)
        unavailable['mAP'] = 'MPII has no COCO-format annotations or OKS sigmas; use PCKh'
        return builders, unavailable

    def _metric_builders(self):
        builders, unavailable = super()._metric_builders()
        if 'PCKh' in builders and (reason := self._why_no_head_sizes()):
            del builders['PCKh']
            unavailable['PCKh'] = reason
        return builders, unavailable

    def _why_no_head_sizes(self) -> Optional[str]:
        heads = self._table.column('head_size')[self._table.column('has_gt')]
        if np.isnan(heads).any():
            return ("some people have no head size: give headbox_file, or a dataset_info with "
                    "'upper_neck' and 'head_top'")
        return None

    def check_evaluator(self, metrics) -> None:
        super().check_evaluator(metrics)
        reason = self._why_no_head_sizes()
        for metric in metrics:
            if reason and isinstance(metric, dict) and metric.get('norm_item') == 'head':
                raise ValueError(f'TopDownMpiiDataset: PCKh (PCKAccuracy with '
                                 f"norm_item='head') needs head sizes, but {reason}")

    def _why_no_ground_truth(self) -> str:
        if self.test_mode:
            return f'ann_file {self.ann_file!r} has no joints (the MPII test split)'
        return super()._why_no_ground_truth()


def read_headboxes(path: str, owner: str) -> np.ndarray:
    """``headboxes_src`` of an MPII ground-truth .mat file → (N, 2, 2) corners × (x, y), px."""
    from scipy.io import loadmat  # scipy only for this one file format
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{owner}: headbox_file {path!r} does not exist')
    mat = loadmat(path)
    if 'headboxes_src' not in mat:
        keys = sorted(k for k in mat if not k.startswith('__'))
        raise ValueError(f"{owner}: headbox_file {path!r} has no 'headboxes_src' (it has "
                         f'{keys}); expected MPII\'s mpii_gt_val.mat')
    boxes = np.asarray(mat['headboxes_src'], dtype=np.float64)
    if boxes.ndim != 3 or boxes.shape[:2] != (2, 2):
        raise ValueError(f"{owner}: headbox_file {path!r}: 'headboxes_src' has shape "
                         f'{boxes.shape}; expected (2, 2, N)')
    return boxes.transpose(2, 0, 1)


def head_segment_lengths(keypoints: np.ndarray, visible: np.ndarray, scales: np.ndarray,
                         meta: DatasetMeta) -> np.ndarray:
    """Head size without head boxes: the ``upper_neck``–``head_top`` distance.

    Args:
        keypoints: (N, K, 2) pixels.
        visible: (N, K) labelled flags.
        scales: (N,) MPII scales (person height / 200 px).

    Returns:
        (N,) float64 pixels; a person without both keypoints gets the median segment / scale
        ratio of the others × its scale; all NaN when no person has both (or the metadata
        lacks the two keypoints).
    """
    try:
        neck, top = meta.index('upper_neck'), meta.index('head_top')
    except KeyError:
        return np.full(len(keypoints), np.nan)
    segment = np.linalg.norm(keypoints[:, top] - keypoints[:, neck], axis=1)
    both = (visible[:, top] > 0) & (visible[:, neck] > 0)
    ratio = np.median(segment[both] / scales[both]) if both.any() else np.nan
    return np.where(both, segment, ratio * scales)


def _image_ids(names) -> np.ndarray:
    """MPII image names are numbers (``005808361.jpg``); use them as ids, else the position."""
    stems = [os.path.splitext(os.path.basename(n))[0] for n in names]
    if all(s.isdigit() for s in stems):
        return np.array([int(s) for s in stems], dtype=np.int64)
    return np.arange(len(names), dtype=np.int64)
