"""Shared machinery of top-down (one instance per sample) datasets.

A subclass only reads its annotation format into an :class:`InstanceTable` (``_load``) and
says which metrics apply to it (``_metric_builders``); everything a sample is made of — the
record of DESIGN.md ("Top-down sample record"), ``ann_info``, ``gt`` in test mode, the
pipeline, ``metainfo`` — is assembled here, identically for every format.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

import numpy as np
from torch.utils.data import Dataset

from .data_cfg import COCO_STYLE_KEYS, build_ann_info, check_num_joints, parse_data_cfg
from .instance_table import InstanceTable, StringPool
from .metainfo import DatasetInfoSpec, resolve_dataset_meta
from .metric_configs import PckProtocol, auc_config, epe_config, select_metrics
from .sampler import SampleKey, seeded_random, split_key

#: Columns every subclass's table has (see ``_load``).
TABLE_COLUMNS = ('image_row', 'ann_id', 'category_id', 'keypoints', 'visible', 'bbox', 'area',
                 'center', 'scale', 'bbox_score', 'has_gt', 'head_size')


#: Pipeline steps that compute ``center``/``scale`` from ``bbox`` themselves: the MMPose 0.26+
#: config style, whose datasets left the crop to the pipeline.
CROP_STEPS = ('TopDownGetBboxCenterScale',)


def pipeline_sets_crop(pipeline: Optional[Sequence[Any]]) -> bool:
    """Whether ``pipeline`` (config dicts or callables) has one of :data:`CROP_STEPS`."""
    names = [step.get('type') if isinstance(step, dict) else type(step).__name__
             for step in pipeline or ()]
    return any(name in CROP_STEPS for name in names)


def _identity(results: dict) -> dict:
    # module-level, not a lambda: the dataset must pickle for spawned dataloader workers
    return results


def build_pipeline(pipeline: Optional[Sequence[Any]]) -> Callable[[dict], Any]:
    """``posecfg.transforms.Compose`` of the steps (dicts or callables); identity when empty."""
    if not pipeline:
        return _identity
    from ..transforms import Compose  # the transforms package imports cv2 and mmcv
    return Compose(pipeline)


class TopDownBaseDataset(Dataset):
    """Base of the top-down datasets: MMPose 0.x's constructor, posecfg's sample contract.

    Args:
        ann_file: annotation file.
        img_prefix: folder the annotation's image file names are relative to.
        data_cfg: the seed's ``data_cfg`` (see :mod:`posecfg.datasets.data_cfg`).
        pipeline: transform configs or callables, built with ``posecfg.transforms.Compose``.
        dataset_info: a ``dataset_info`` dict, a path to a file defining one, or None for the
            class's default ``configs/_base_/datasets/<default_dataset_info>.py``.
        test_mode: True for validation/testing: no training-time jitter, detection boxes when
            ``data_cfg.use_gt_bbox`` is False, and samples carry ``gt``.

    Records carry ``center`` and ``scale`` (the seed's config style), unless the pipeline has a
    ``TopDownGetBboxCenterScale`` step (MMPose 0.26+ style): then, as MMPose's datasets did for
    such configs, they carry only ``bbox`` and the pipeline makes the crop; a dataset that set
    both would have the padding applied twice.
    """

    #: base file name of the default dataset_info
    default_dataset_info: Optional[str] = None
    #: keys read inside dict-valued arguments (see posecfg.registry)
    option_keys = {'data_cfg': COCO_STYLE_KEYS}
    #: data_cfg keys of MMPose's configs accepted only with the one value implemented
    fixed_data_cfg: dict = {}
    #: PCK threshold and normaliser (MMPose 0.x's default: 0.2 × the box's longer side)
    pck_protocol = PckProtocol(thr=0.2)
    #: whether the crop is made from ``bbox`` (so a pipeline crop step may take it over)
    crop_from_box = True

    def __init__(self, ann_file: str, img_prefix: str, data_cfg: dict,
                 pipeline: Sequence[Any], dataset_info: DatasetInfoSpec = None,
                 test_mode: bool = False):
        owner = type(self).__name__
        self.ann_file = ann_file
        self.img_prefix = img_prefix or ''
        self.test_mode = bool(test_mode)
        self.meta = resolve_dataset_meta(dataset_info, self.default_dataset_info)
        self.data_cfg = parse_data_cfg(data_cfg, owner, self.option_keys['data_cfg'],
                                       self.fixed_data_cfg)
        check_num_joints(self.data_cfg, self.meta)
        self.ann_info = build_ann_info(self.data_cfg, self.meta)
        self.pipeline = build_pipeline(pipeline)
        self.crop_from_pipeline = self.crop_from_box and pipeline_sets_crop(pipeline)
        self._table, self._image_files, self._image_ids = self._load()
        missing = [c for c in TABLE_COLUMNS if c not in self._table]
        if missing:
            raise TypeError(f'{owner}._load returned a table without columns {missing}')
        if len(self._table) == 0:  # formats whose readers do not say why themselves
            raise ValueError(f'{owner}: {ann_file} gives no samples (see the log line above on '
                             f'what was left out)')

    # ------------------------------------------------------------------ for subclasses
    def _load(self) -> Tuple[InstanceTable, StringPool, np.ndarray]:
        """Read the annotations.

        Returns:
            the instance table with :data:`TABLE_COLUMNS`: image_row (N,) int64 into the image
            arrays, ann_id (N,) int64 (-1 for detections), category_id (N,) int64 (-1: the
            format has no categories), keypoints (N, K, 2) float32 pixels,
            visible (N, K) float32 in {0, 1}, bbox (N, 4) float32 xywh pixels, area (N,)
            float32, center (N, 2) float32 pixels, scale (N, 2) float32 (/200), bbox_score
            (N,) float32, has_gt (N,) bool, head_size (N,) float32 pixels (NaN: none);
            the image file paths (M,) and the image ids (M,) int64.
        """
        raise NotImplementedError

    def _metric_builders(self) -> Tuple[Dict[str, Callable[[], dict]], Dict[str, str]]:
        """Metric name → config builder, and name → why it is unavailable."""
        builders, unavailable = {}, {}
        if self.has_ground_truth:
            builders.update(PCK=lambda: self.pck_protocol.config(self.meta), AUC=auc_config,
                            EPE=epe_config)
        else:
            for name in ('PCK', 'AUC', 'EPE'):
                unavailable[name] = self._why_no_ground_truth()
        return builders, unavailable

    def _why_no_ground_truth(self) -> str:
        if not self.test_mode:
            return 'the dataset was built with test_mode=False, so its samples carry no gt'
        return 'no sample carries ground-truth keypoints'

    # ------------------------------------------------------------------ public
    @property
    def has_ground_truth(self) -> bool:
        """Whether samples carry ``gt`` (test mode, and annotations rather than detections)."""
        return self.test_mode and bool(self._table.column('has_gt').any())

    @property
    def metainfo(self) -> dict:
        """``dataset_meta`` for metrics: :meth:`DatasetMeta.as_metainfo` plus ``ann_file``."""
        return {**self.meta.as_metainfo(), 'ann_file': self.ann_file}

    def evaluation_metrics(self, names: Union[str, Sequence[str]]) -> list:
        """Metric configs for the seed's ``evaluation.metric`` names (DESIGN.md)."""
        builders, unavailable = self._metric_builders()
        return select_metrics(names, builders, unavailable, type(self).__name__)

    def __len__(self) -> int:
        return len(self._table)

    def record(self, index: int) -> dict:
        """Sample ``index`` before the pipeline: the top-down sample record of DESIGN.md.

        Keys: image_file, image_id, joints_3d (K, 3) and joints_3d_visible (K, 3) float32,
        bbox (4,) xywh, center (2,) and scale (2,) (unless :attr:`crop_from_pipeline`),
        rotation 0.0, bbox_score, bbox_id (= index),
        ann_id (-1 for a detection), category_id (where the format has categories), dataset,
        ann_info (a per-sample copy of the shared dict), and in test mode ``gt`` where the
        instance has ground truth (with ``category_id``, which COCO mAP needs for files with
        several categories such as AP-10K's).
        """
        row = self._table.row(index)
        num = self.meta.num_keypoints
        joints = np.zeros((num, 3), dtype=np.float32)
        joints[:, :2] = row['keypoints']
        visible = np.zeros((num, 3), dtype=np.float32)
        visible[:, :2] = row['visible'][:, None]
        image_row = row['image_row']
        record = dict(
            image_file=self._image_files[image_row],
            image_id=int(self._image_ids[image_row]),
            joints_3d=joints,
            joints_3d_visible=visible,
            bbox=row['bbox'],
            center=row['center'],
            scale=row['scale'],
            rotation=0.0,
            bbox_score=float(row['bbox_score']),
            bbox_id=int(index),
            ann_id=int(row['ann_id']),
            dataset=self.meta.dataset_name,
            ann_info=dict(self.ann_info),
        )
        if self.crop_from_pipeline:
            del record['center'], record['scale']
        if row['category_id'] >= 0:
            record['category_id'] = int(row['category_id'])
        if self.test_mode and row['has_gt']:
            gt = dict(keypoints=row['keypoints'], keypoints_visible=row['visible'],
                      bbox=row['bbox'].copy(), area=float(row['area']),
                      image_id=record['image_id'], bbox_id=int(index))
            if 'category_id' in record:
                gt['category_id'] = record['category_id']
            if not np.isnan(row['head_size']):
                gt['head_size'] = float(row['head_size'])
            record['gt'] = gt
        return record

    def __getitem__(self, key: SampleKey) -> Any:
        """Sample ``key``: an index, or ``(index, sample_seed)`` from :class:`SeededSampler`
        (the pipeline's random draws then come from that seed: see ``datasets/sampler.py``)."""
        index, seed = split_key(key)
        record = self.record(index)
        try:
            with seeded_random(seed):
                sample = self.pipeline(record)
        except Exception as exc:
            # keep the exception's type for callers; add which sample it was
            exc.add_note(f'{type(self).__name__}: while preparing sample {index}: '
                         f'{self._describe(record)}')
            raise
        if sample is None:
            # MMPose/mmengine would quietly substitute another sample here; we do not
            raise RuntimeError(f'{type(self).__name__}: the pipeline returned None for sample '
                               f'{index} ({self._describe(record)}); a step dropped it')
        metas = sample.get('img_metas') if isinstance(sample, dict) else None
        if isinstance(metas, dict):
            # which instance this is, whatever Collect kept: predictions (and --out) carry it
            for key in ('image_file', 'image_id', 'bbox_id'):
                metas.setdefault(key, record[key])
        return sample

    def _describe(self, record: dict) -> str:
        what = (f"annotation id {record['ann_id']}" if record['ann_id'] >= 0
                else f"detection box {record['bbox'].tolist()}")
        return f"image {record['image_file']} (image id {record['image_id']}), {what}"

    def __repr__(self) -> str:
        mode = 'test' if self.test_mode else 'train'
        return (f'{type(self).__name__}({len(self)} instances of {self.meta.dataset_name!r} '
                f'from {self.ann_file}, {mode} mode)')
