"""Shared machinery of the MMPose 0.x-style datasets (``data_cfg``, ``ann_info``, crops).

A subclass only reads its annotation format into an :class:`InstanceTable` (``_load``) and
says which metrics apply to it (``_metric_builders``); image records and samples (the top-down
record of DESIGN.md, or whole images with ``data_mode='bottomup'``) come from
:class:`~posecfg.datasets.base.PoseDataset`, identically for every format.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple, Union

from .base import PoseDataset, build_pipeline  # noqa: F401  (build_pipeline: public here too)
from .data_cfg import (COCO_STYLE_KEYS, TopDownDataConfig, build_ann_info, check_num_joints,
                       parse_data_cfg)
from .metainfo import DatasetInfoSpec, DatasetMeta, resolve_dataset_meta
from .metric_configs import (GROUND_TRUTH_METRIC_TYPES, PckProtocol, auc_config, epe_config,
                             select_metrics)

#: ``evaluation.metric`` names whose metrics read the samples' ground truth (``gt``)
GROUND_TRUTH_METRICS = ('PCK', 'PCKh', 'AUC', 'EPE')

Builders = Tuple[Dict[str, Callable[[], dict]], Dict[str, str]]

#: Columns every subclass's table has (see ``_load``): the base's plus the crop region and the
#: head size (NaN where there is none).
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


class TopDownBaseDataset(PoseDataset):
    """Base of the MMPose 0.x datasets: MMPose 0.x's constructor, posecfg's sample contract.

    Args:
        ann_file: annotation file.
        img_prefix: folder the annotation's image file names are relative to.
        data_cfg: the seed's ``data_cfg`` (see :mod:`posecfg.datasets.data_cfg`).
        pipeline: transform configs or callables, built with ``posecfg.transforms.Compose``.
        dataset_info: a ``dataset_info`` dict, a path to a file defining one, or None for the
            class's default ``configs/_base_/datasets/<default_dataset_info>.py``.
        test_mode: True for validation/testing: no training-time jitter, detection boxes when
            ``data_cfg.use_gt_bbox`` is False, and samples carry ``gt``.
        data_mode: ``'topdown'`` (default: a sample per instance, MMPose 0.x) or ``'bottomup'``
            (a sample per image: the image record; needs ground-truth boxes).

    Records carry ``center`` and ``scale`` (the seed's config style), unless the pipeline has a
    ``TopDownGetBboxCenterScale`` step (MMPose 0.26+ style): then, as MMPose's datasets did for
    such configs, they carry only ``bbox`` and the pipeline makes the crop; a dataset that set
    both would have the padding applied twice.
    """

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
                 test_mode: bool = False, data_mode: str = 'topdown'):
        self.ann_file = ann_file
        self.img_prefix = img_prefix or ''
        self._data_cfg_spec = data_cfg
        super().__init__(pipeline, dataset_info, test_mode, data_mode)
        missing = [c for c in TABLE_COLUMNS if c not in self._table]
        if missing:
            raise TypeError(f'{type(self).__name__}._load returned a table without columns '
                            f'{missing}')
        if len(self._table) == 0:  # formats whose readers do not say why themselves
            raise ValueError(f'{type(self).__name__}: {ann_file} gives no samples (see the log '
                             f'line above on what was left out)')

    def _prepare(self, pipeline: Sequence[Any]) -> None:
        owner = type(self).__name__
        self.data_cfg = parse_data_cfg(self._data_cfg_spec, owner, self.option_keys['data_cfg'],
                                       self.fixed_data_cfg)
        check_num_joints(self.data_cfg, self.meta)
        self._ann_info = build_ann_info(self.data_cfg, self.meta)
        self.crop_from_pipeline = self.crop_from_box and pipeline_sets_crop(pipeline)

    def _topdown_with_crop(self) -> bool:
        return not self.crop_from_pipeline

    # ------------------------------------------------------------------ for subclasses
    @classmethod
    def metric_builders(cls, meta: DatasetMeta, data_cfg: TopDownDataConfig,
                        ann_file: Optional[str]) -> Builders:
        """What the config alone says: ``evaluation.metric`` name → metric config builder, and
        name → why the name does not apply to this dataset."""
        return dict(PCK=lambda: cls.pck_protocol.config(meta), AUC=auc_config,
                    EPE=epe_config), {}

    def _metric_builders(self) -> Builders:
        """:meth:`metric_builders` less what the loaded data cannot give (ground truth)."""
        builders, unavailable = self.metric_builders(self.meta, self.data_cfg, self.ann_file)
        reason = self._why_no_ground_truth_metrics()
        for name in GROUND_TRUTH_METRICS:
            if reason and name in builders:
                del builders[name]
                unavailable[name] = reason
        return builders, unavailable

    def _why_no_ground_truth_metrics(self) -> Optional[str]:
        return None if self.has_ground_truth else self._why_no_ground_truth()

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

    @classmethod
    def metric_configs(cls, names: Union[str, Sequence[str]], dataset_cfg: Mapping) -> list:
        """Metric configs for the seed's ``evaluation.metric`` names, from the dataset's config
        dict alone (``ann_file``, ``data_cfg``, ``dataset_info``): how
        ``posecfg.engine.runner_config`` expands ``evaluation.metric`` into
        ``val_evaluator``/``test_evaluator`` without loading any data."""
        meta = resolve_dataset_meta(dataset_cfg.get('dataset_info'), cls.default_dataset_info)
        data_cfg = parse_data_cfg(dataset_cfg.get('data_cfg'), cls.__name__,
                                  cls.option_keys['data_cfg'], cls.fixed_data_cfg)
        builders, unavailable = cls.metric_builders(meta, data_cfg, dataset_cfg.get('ann_file'))
        return select_metrics(names, builders, unavailable, cls.__name__)

    def evaluation_metrics(self, names: Union[str, Sequence[str]]) -> list:
        """Metric configs for the seed's ``evaluation.metric`` names (DESIGN.md), checked
        against the loaded data."""
        builders, unavailable = self._metric_builders()
        return select_metrics(names, builders, unavailable, type(self).__name__)

    def check_evaluator(self, metrics: Sequence) -> None:
        """Raise ValueError, saying why, when a metric config in ``metrics`` reads ground truth
        this dataset's samples do not carry (detections, a test split without labels)."""
        reason = self._why_no_ground_truth_metrics()
        for metric in metrics:
            kind = metric.get('type') if isinstance(metric, dict) else type(metric).__name__
            if reason and kind in GROUND_TRUTH_METRIC_TYPES:
                raise ValueError(f'{type(self).__name__}: the evaluator {kind} reads the '
                                 f"samples' ground truth, but {reason}")

    def __repr__(self) -> str:
        mode = 'test' if self.test_mode else 'train'
        unit = 'instances' if self.data_mode == 'topdown' else 'images'
        return (f'{type(self).__name__}({len(self)} {unit} of {self.meta.dataset_name!r} '
                f'from {self.ann_file}, {mode} mode)')


def example_dataset_args(ann_file: str, num_keypoints: int) -> dict:
    """``example_args`` of a top-down dataset class: its annotation file among the sample data
    (a path relative to the sample-data folder, ``POSECFG_SHARED_DATA``; the registry test joins
    them), images next to it, a 48 × 64 input and an empty pipeline."""
    return dict(ann_file=ann_file, img_prefix=os.path.dirname(ann_file) + '/',
                data_cfg=dict(image_size=[48, 64], heatmap_size=[12, 16],
                              num_output_channels=num_keypoints, num_joints=num_keypoints,
                              dataset_channel=[list(range(num_keypoints))],
                              inference_channel=list(range(num_keypoints))),
                pipeline=[])
