"""``PoseDataset``: the base of every keypoint dataset, whatever its file format.

A subclass reads its files into columns (``_load``); this class turns them into image records
(:mod:`posecfg.datasets.records`) and into samples, in one of two modes:

- ``data_mode='topdown'``: one sample per instance, MMPose 0.x's per-instance record derived from
  the image record by :func:`~posecfg.datasets.records.topdown_sample`; ``len`` = instances;
- ``data_mode='bottomup'``: one sample per image, the image record itself (plus ``ann_info`` and,
  in test mode, the image's ``gt``); ``len`` = images (also those without instances).

Storage is columnar (:class:`~posecfg.datasets.instance_table.InstanceTable`): dataloader workers
that read a sample touch array data only, never millions of Python objects.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from torch.utils.data import Dataset

from .instance_table import InstanceTable, StringPool
from .metainfo import DatasetInfoSpec, resolve_dataset_meta
from .metric_configs import GROUND_TRUTH_METRIC_TYPES, image_level_builders, select_metrics
from .records import DATA_MODES, image_ground_truth, topdown_sample
from .sampler import SampleKey, seeded_random, split_key

#: instance columns every ``_load`` returns
INSTANCE_COLUMNS = ('image_row', 'ann_id', 'category_id', 'keypoints', 'visible', 'bbox', 'area',
                    'bbox_score', 'has_gt')
#: optional instance columns → image record keys
OPTIONAL_INSTANCE_COLUMNS = {'identity': 'identities', 'head_size': 'head_sizes',
                             'center': 'crop_centers', 'scale': 'crop_scales'}
#: optional per-image columns → image record keys
IMAGE_COLUMNS = {'img_shape': 'img_shape', 'unique_keypoints': 'unique_keypoints',
                 'unique_visible': 'unique_keypoints_visible'}


def _identity(results: dict) -> dict:
    # module-level, not a lambda: the dataset must pickle for spawned dataloader workers
    return results


def build_pipeline(pipeline: Optional[Sequence[Any]]) -> Callable[[dict], Any]:
    """``posecfg.transforms.Compose`` of the steps (dicts or callables); identity when empty."""
    if not pipeline:
        return _identity
    from ..transforms import Compose  # the transforms package imports cv2 and mmcv
    return Compose(pipeline)


def metainfo_ann_info(meta) -> dict:
    """The keypoint facts transforms read from ``results['ann_info']``, for datasets without a
    ``data_cfg``: num_joints, flip_pairs, flip_index, upper/lower_body_ids, joint_weights
    (K, 1), skeleton."""
    joint_weights = meta.joint_weights.reshape(-1, 1).copy()
    flip_index = meta.flip_index.copy()
    for array in (joint_weights, flip_index):
        array.setflags(write=False)  # shared by every sample
    return dict(num_joints=meta.num_keypoints, flip_pairs=meta.flip_pairs.tolist(),
                flip_index=flip_index, upper_body_ids=meta.upper_body_ids,
                lower_body_ids=meta.lower_body_ids, joint_weights=joint_weights,
                use_different_joint_weights=False, skeleton=meta.skeleton.tolist())


class PoseDataset(Dataset):
    """Base of keypoint datasets: image records and their per-mode samples.

    Args:
        pipeline: transform configs or callables, built with ``posecfg.transforms.Compose``.
        dataset_info: a ``dataset_info`` dict, a path to a file defining one, or None for the
            class's default ``configs/_base_/datasets/<default_dataset_info>.py``.
        test_mode: True for validation/testing: samples carry ``gt``.
        data_mode: ``'topdown'`` (a sample per instance) or ``'bottomup'`` (a sample per image).

    Subclasses implement :meth:`_load` and may override :meth:`_prepare` (checks that need
    ``self.meta`` before loading) and :attr:`ann_info`.
    """

    #: base file name of the default dataset_info
    default_dataset_info: Optional[str] = None
    #: keys read inside dict-valued arguments (see posecfg.registry)
    option_keys: dict = {}

    def __init__(self, pipeline: Sequence[Any] = (), dataset_info: DatasetInfoSpec = None,
                 test_mode: bool = False, data_mode: str = 'topdown'):
        owner = type(self).__name__
        if data_mode not in DATA_MODES:
            raise ValueError(f"{owner}: data_mode must be 'topdown' (one sample per instance) "
                             f"or 'bottomup' (one sample per image), got {data_mode!r}")
        self.data_mode = data_mode
        self.test_mode = bool(test_mode)
        self.meta = resolve_dataset_meta(dataset_info, self.default_dataset_info)
        self._prepare(pipeline)
        self.pipeline = build_pipeline(pipeline)
        loaded = self._load()
        if len(loaded) == 3:
            loaded = (*loaded, None)
        self._table, self._image_files, self._image_ids, self._images = loaded
        missing = [c for c in INSTANCE_COLUMNS if c not in self._table]
        if missing:
            raise TypeError(f'{owner}._load returned a table without columns {missing}')
        if len(self._image_ids) != len(self._image_files):
            raise TypeError(f'{owner}._load returned {len(self._image_files)} image files but '
                            f'{len(self._image_ids)} image ids')
        # instances of image i: rows _order[_starts[i]:_starts[i + 1]], in table order
        image_row = self._table.column('image_row')
        self._order = np.argsort(image_row, kind='stable')
        self._starts = np.searchsorted(image_row[self._order],
                                       np.arange(len(self._image_files) + 1))
        # position of each instance within its image record
        self._position = np.empty(len(image_row), dtype=np.int64)
        self._position[self._order] = (np.arange(len(image_row))
                                       - self._starts[image_row[self._order]])

    # ------------------------------------------------------------------ for subclasses
    def _prepare(self, pipeline: Sequence[Any]) -> None:
        """Checks and settings that need ``self.meta`` before :meth:`_load` (none here)."""

    def _load(self) -> Tuple[InstanceTable, StringPool, np.ndarray,
                             Optional[InstanceTable]]:
        """Read the annotations.

        Returns:
            the instance table with :data:`INSTANCE_COLUMNS`: image_row (N,) int64 into the
            image arrays, ann_id (N,) int64 (-1 for detections), category_id (N,) int64 (-1:
            the format has no categories), keypoints (N, K, 2) float32 pixels (0 where
            unlabelled), visible (N, K) float32 in {0, 1}, bbox (N, 4) float32 xywh pixels,
            area (N,) float32, bbox_score (N,) float32, has_gt (N,) bool; optionally
            :data:`OPTIONAL_INSTANCE_COLUMNS` (identity (N,) int64, head_size (N,) float32
            with NaN for none, center (N, 2) and scale (N, 2) of a top-down crop);
            the image file paths (M,), the image ids (M,) int64, and an optional table of
            per-image columns (:data:`IMAGE_COLUMNS`: img_shape (M, 2) int64 (h, w),
            unique_keypoints (M, U, 2) float32, unique_visible (M, U) float32), or only the
            first three.
        """
        raise NotImplementedError

    # ------------------------------------------------------------------ evaluation
    @classmethod
    def metric_configs(cls, names: Union[str, Sequence[str]], dataset_cfg: Mapping) -> list:
        """Metric configs for ``evaluation.metric`` names from the dataset's config dict alone
        (how ``runner_config`` expands them into ``val_evaluator``/``test_evaluator``): here
        the image-level ones every dataset supports
        (:func:`~posecfg.datasets.metric_configs.image_level_builders`); subclasses add their
        own (DeepLabCut's RMSE, ...)."""
        meta = resolve_dataset_meta(dataset_cfg.get('dataset_info'), cls.default_dataset_info)
        builders, unavailable = image_level_builders(meta)
        return select_metrics(names, builders, unavailable, cls.__name__)

    def check_evaluator(self, metrics: Sequence) -> None:
        """Raise ValueError when a metric config reads ground truth the samples lack (the
        evaluation loops call it with their evaluator configs)."""
        for metric in metrics:
            kind = metric.get('type') if isinstance(metric, dict) else type(metric).__name__
            if kind in GROUND_TRUTH_METRIC_TYPES and not self.test_mode:
                raise ValueError(f'{type(self).__name__}: the evaluator {kind} reads the '
                                 f"samples' ground truth, but the dataset was built with "
                                 f'test_mode=False, so its samples carry no gt')

    # ------------------------------------------------------------------ public
    @property
    def ann_info(self) -> dict:
        """Keypoint facts transforms read from ``results['ann_info']`` (flip pairs, ...)."""
        if not hasattr(self, '_ann_info'):
            self._ann_info = metainfo_ann_info(self.meta)
        return self._ann_info

    @property
    def metainfo(self) -> dict:
        """``dataset_meta`` for metrics: :meth:`DatasetMeta.as_metainfo`."""
        return self.meta.as_metainfo()

    @property
    def num_images(self) -> int:
        return len(self._image_files)

    @property
    def num_instances(self) -> int:
        return len(self._table)

    def __len__(self) -> int:
        return self.num_instances if self.data_mode == 'topdown' else self.num_images

    def image_record(self, index: int) -> dict:
        """The image record (DESIGN.md "Image-level sample record") of image ``index``."""
        index = range(self.num_images)[index]  # IndexError as a list raises it
        rows = self._order[self._starts[index]:self._starts[index + 1]]
        return self._record(index, rows)

    def _record(self, image: int, rows: np.ndarray) -> dict:
        table = self._table
        num = self.meta.num_keypoints

        def column(name, dtype):
            return table.column(name)[rows].astype(dtype, copy=True)

        record = dict(
            image_file=self._image_files[image],
            image_id=int(self._image_ids[image]),
            keypoints=column('keypoints', np.float32).reshape(-1, num, 2),
            keypoints_visible=column('visible', np.float32).reshape(-1, num),
            bboxes=column('bbox', np.float32).reshape(-1, 4),
            bbox_scores=column('bbox_score', np.float32),
            instance_ids=column('ann_id', np.int64),
            category_ids=column('category_id', np.int64),
            areas=column('area', np.float32),
            dataset=self.meta.dataset_name,
        )
        for name, key in OPTIONAL_INSTANCE_COLUMNS.items():
            if name in table:
                dtype = np.int64 if name == 'identity' else np.float32
                record[key] = column(name, dtype)
        if self._images is not None:
            for name, key in IMAGE_COLUMNS.items():
                if name in self._images:
                    value = self._images.column(name)[image]
                    record[key] = (tuple(int(v) for v in value) if name == 'img_shape'
                                   else value[None].astype(np.float32, copy=True))
        return record

    def record(self, index: int) -> dict:
        """Sample ``index`` before the pipeline: the top-down sample record (``'topdown'``) or
        the image record with ``ann_info`` and, in test mode, ``gt`` (``'bottomup'``)."""
        if self.data_mode == 'topdown':
            index = range(self.num_instances)[index]
            image = int(self._table.column('image_row')[index])
            record = self._record(image, np.array([index]))
            return topdown_sample(record, 0, bbox_id=index, ann_info=self.ann_info,
                                  test_mode=self.test_mode,
                                  with_crop=self._topdown_with_crop())
        record = self.image_record(index)
        record['ann_info'] = dict(self.ann_info)
        if self.test_mode:
            record['gt'] = image_ground_truth(record)
        return record

    def _topdown_with_crop(self) -> bool:
        """Whether top-down samples take ``center``/``scale`` from the record."""
        return 'center' in self._table

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
            # which image/instance this is, whatever Collect kept: predictions (and --out) carry it
            for name in ('image_file', 'image_id', 'bbox_id'):
                if name in record:
                    metas.setdefault(name, record[name])
            if seed is not None:  # lets a batch-level step (resizing collate) draw per (seed, epoch)
                metas.setdefault('sample_seed', seed)
        return sample

    def _describe(self, record: dict) -> str:
        where = f"image {record['image_file']} (image id {record['image_id']})"
        if 'ann_id' not in record:
            return f"{where}, {len(record['keypoints'])} instances"
        what = (f"annotation id {record['ann_id']}" if record['ann_id'] >= 0
                else f"detection box {record['bbox'].tolist()}")
        return f'{where}, {what}'

    def __repr__(self) -> str:
        mode = 'test' if self.test_mode else 'train'
        unit = (f'{len(self)} instances' if self.data_mode == 'topdown'
                else f'{len(self)} images')
        return (f'{type(self).__name__}({unit} of {self.meta.dataset_name!r}, '
                f'{self.data_mode}, {mode} mode)')
