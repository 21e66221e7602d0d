"""``LPProjectDataset``: a Lightning Pose project's labelled frames as posecfg image records.

What it reads, as Lightning Pose 2.4.3 does:

- the labels CSV (``data.csv_file``, relative to ``data.data_dir`` unless absolute), with
  :func:`posecfg.interop.lp.labels.read_lp_labels` (its empty-first-row repair and checks);
  image ``i`` is row ``i`` of the file and its id;
- the split by Lightning Pose's rule (:func:`posecfg.interop.lp.split.lp_split`:
  ``train_prob``, ``val_prob``, ``train_frames``, ``rng_seed_data_pt``), the images of a set in
  the order ``random_split`` gives them;
- the frames, used as RGB: Lightning Pose opens them with ``PIL.Image.open(path).convert("RGB")``
  (``data/datasets.py`` l. 278), which repeats a grey frame over three channels; posecfg's
  ``LoadImageFromFile`` (``color_type='color'``) gives the same array.

One animal per frame (N = 1 in every record, also for a frame without labels, whose keypoints
are all invisible); NaN → 0 with visibility 0. With ``visible`` columns only a 2 (visible) is
visibility 1: Lightning Pose trains an occluded point (1) towards a uniform heatmap and an
unlabelled one (0) not at all, whatever its coordinates (``data/datasets.py``, the flag "takes
precedence"); those flags stay in ``dataset.labels.visibility`` for a target that needs them. Boxes are the labelled keypoints' extent (no margin), clipped to the frame.
"""
from __future__ import annotations

import inspect
import os
from typing import Any, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ..interop.lp.labels import LPLabels, read_lp_labels, resolve_csv_path
from ..interop.lp.split import LPSplit, lp_split
from ..registry import DATASETS
from .examples import ExampleArgs, write_tiny_lp_project
from .instance_table import InstanceTable
from .metainfo import DatasetMeta
from .metric_configs import image_level_builders, metric_names, select_metrics
from .project_base import (NamePairs, ProjectDataError, ProjectDataset, check_choice, image_sizes,
                           instance_table, nan_to_visible, project_meta)

#: split names → the :class:`~posecfg.interop.lp.split.LPSplit` field (``all``: every row)
SPLITS = {'train': 'train', 'val': 'validation', 'test': 'test', 'all': None}
#: the ``LPProjectDataset`` arguments that fix its labels and split
SPLIT_KEYS = ('data_dir', 'csv_file', 'train_prob', 'val_prob', 'train_frames',
              'rng_seed_data_pt')


def read_labels_and_split(owner: str, data_dir, csv_file, train_prob, val_prob, train_frames,
                          rng_seed_data_pt) -> Tuple[str, str, LPLabels, LPSplit]:
    """``(data_dir, csv path, labels, split)`` of a Lightning Pose project (the arguments of
    :class:`LPProjectDataset`; ``owner`` names it in errors), without reading any image."""
    data_dir = os.path.expanduser(str(data_dir))
    if not os.path.isdir(data_dir):
        raise FileNotFoundError(f'{owner}: data_dir {data_dir} is not a folder')
    if not isinstance(csv_file, (str, os.PathLike)):
        raise ProjectDataError(
            f'{owner}: csv_file must be one labels CSV, got {csv_file!r}; multi-view '
            f'projects (one CSV per view) are read by LPMultiviewProjectDataset')
    csv_file = resolve_csv_path(csv_file, data_dir)
    labels = read_lp_labels(csv_file, key=f'{owner}.csv_file')
    split = lp_split(labels.num_images, train_prob, val_prob, train_frames, rng_seed_data_pt)
    return data_dir, csv_file, labels, split


def lp_training_keypoints(dataset) -> np.ndarray:
    """(N, K, 2) labels (original-frame pixels, NaN missing) of the training split
    (``lp_split.train``) of an :class:`LPProjectDataset`, or of its config (a mapping with
    ``data_dir`` and the other :data:`SPLIT_KEYS` or the dataset's defaults; no image read)."""
    if isinstance(dataset, Mapping):
        owner = str(dataset.get('type', 'LPProjectDataset'))
        if 'data_dir' not in dataset:
            raise ProjectDataError(f'{owner}: the dataset config has no data_dir')
        defaults = inspect.signature(LPProjectDataset).parameters
        args = {key: dataset.get(key, defaults[key].default) for key in SPLIT_KEYS}
        _, _, labels, split = read_labels_and_split(owner, **args)
    else:
        labels, split = dataset.labels, dataset.lp_split
    return labels.keypoints[split.train]


def lp_labels_meta(labels: LPLabels, keypoint_names: Optional[Sequence[str]],
                   flip_pairs: NamePairs, dataset_info: Optional[Mapping],
                   dataset_name: str) -> DatasetMeta:
    names = list(labels.keypoint_names)
    if keypoint_names is not None and list(keypoint_names) != names:
        raise ProjectDataError(
            f'keypoint_names {list(keypoint_names)} differ from the keypoints of '
            f'{labels.csv_file} ({names}); Lightning Pose refuses that too (the predictions '
            f'header would mislabel keypoints); give them in the CSV order or leave them out')
    return project_meta(dataset_name, names, labels.csv_file, flip_pairs=flip_pairs,
                        dataset_info=dataset_info)


@DATASETS.register_module()
class LPProjectDataset(ProjectDataset):
    """One set of a Lightning Pose project's labelled frames (module docstring).

    Args:
        data_dir: ``data.data_dir``: the folder the CSV's image paths are relative to.
        csv_file: ``data.csv_file``: the labels CSV, relative to ``data_dir`` unless absolute.
        split: ``'train'``, ``'val'``, ``'test'`` or ``'all'``.
        train_prob, val_prob, train_frames, rng_seed_data_pt: Lightning Pose's
            ``training.*`` keys of the split (defaults: its ``config_default.yaml``).
        keypoint_names: ``data.keypoint_names``; when given they must be the CSV's.
        pipeline: transform configs or callables.
        data_mode: ``'bottomup'`` (a sample per frame, Lightning Pose's models) or
            ``'topdown'`` (a sample per labelled frame, cropped by the pipeline's
            ``TopDownGetBboxCenterScale`` from the keypoints' box).
        test_mode: samples carry ``gt`` (for evaluation).
        flip_pairs: ``[left, right]`` keypoint names that swap under a horizontal flip (none by
            default; Lightning Pose pairs ``_left``/``_right`` names under ``imgaug_hflip``).
        image_size, heatmap_size: ``[w, h]`` of the model input and heatmaps, for top-down
            crops (``ann_info``, as MMPose's ``data_cfg`` keys).
        dataset_info: a full ``dataset_info`` dict for the keypoints instead.
        dataset_name: the name in records and metainfo.
    """

    box_of = 'the animal (frames without labels are left out)'
    #: a generated 5-frame project (posecfg/datasets/examples.py)
    example_args = ExampleArgs('lp-tiny', write_tiny_lp_project, lambda root: dict(
        data_dir=str(root), train_prob=0.6, val_prob=0.2))

    def __init__(self, data_dir: str, csv_file: str = 'CollectedData.csv',
                 split: str = 'train', train_prob: float = 0.95,
                 val_prob: Optional[float] = 0.05,
                 train_frames: Union[int, float, None] = 1, rng_seed_data_pt: int = 0,
                 keypoint_names: Optional[Sequence[str]] = None, pipeline: Sequence[Any] = (),
                 data_mode: str = 'bottomup', test_mode: bool = False,
                 flip_pairs: NamePairs = None, dataset_info: Optional[Mapping] = None,
                 dataset_name: str = 'lightning_pose',
                 image_size: Optional[Sequence[int]] = None,
                 heatmap_size: Optional[Sequence[int]] = None):
        owner = type(self).__name__
        self.split = check_choice(owner, 'split', split, tuple(SPLITS))
        self.lp_split: LPSplit
        self.data_dir, self.csv_file, self.labels, self.lp_split = read_labels_and_split(
            owner, data_dir, csv_file, train_prob, val_prob, train_frames, rng_seed_data_pt)
        meta = lp_labels_meta(self.labels, keypoint_names, flip_pairs, dataset_info,
                              dataset_name)
        self.image_size, self.heatmap_size = image_size, heatmap_size
        super().__init__(pipeline, meta, test_mode, data_mode)

    @property
    def rows(self) -> np.ndarray:
        """(M,) int64 the CSV rows of this set, in Lightning Pose's order."""
        field = SPLITS[self.split]
        if field is None:
            return np.arange(self.labels.num_images, dtype=np.int64)
        return getattr(self.lp_split, field)

    def _load(self):
        labels = self.labels
        rows = self.rows
        if len(rows) == 0:
            raise ProjectDataError(f'{type(self).__name__}: the {self.split} set of '
                                   f'{self.csv_file} is empty (split sizes '
                                   f'{self.lp_split.sizes} train/val/test)')
        paths = [os.path.join(self.data_dir, labels.image_names[r]) for r in rows]
        sizes = image_sizes(paths, self.csv_file)
        keypoints, visible = nan_to_visible(labels.instance_keypoints[rows])
        if labels.visibility is not None:
            # 2 visible; 1 occluded and 0 unlabelled have no position target in Lightning Pose
            visible *= (labels.visibility[rows] == 2)[:, None].astype(np.float32)
        if self.data_mode == 'topdown':
            keep = (visible > 0).any(axis=-1)  # a frame without labels has no box to crop
        else:
            keep = np.ones(visible.shape[:2], dtype=bool)
        table = instance_table(keypoints, visible, keep, sizes, margin=0.0, min_area=0.0)
        return (table, self._strings(paths), rows.astype(np.int64),
                InstanceTable(img_shape=sizes))

    def _extra_metainfo(self) -> dict:
        return dict(csv_file=self.csv_file, data_dir=self.data_dir, split=self.split,
                    split_sizes=self.lp_split.sizes)

    @classmethod
    def metric_configs(cls, names: Union[str, Sequence[str]], dataset_cfg: Mapping) -> list:
        """``'pixel_error'`` → ``LPPixelErrorMetric`` (Lightning Pose's per-keypoint pixel
        error, averaged), plus the image-level ``PCK``/``AUC``/``EPE``; the keypoint names come
        from the CSV header."""
        owner = cls.__name__
        names = metric_names(names, owner)
        data_dir = dataset_cfg.get('data_dir')
        if data_dir is None:
            raise ProjectDataError(f'{owner}: the dataset config has no data_dir')
        csv_file = resolve_csv_path(dataset_cfg.get('csv_file', 'CollectedData.csv'),
                                    os.path.expanduser(str(data_dir)))
        labels = read_lp_labels(csv_file, key=f'{owner}.csv_file')
        meta = lp_labels_meta(labels, dataset_cfg.get('keypoint_names'),
                              dataset_cfg.get('flip_pairs'), dataset_cfg.get('dataset_info'),
                              dataset_cfg.get('dataset_name', 'lightning_pose'))
        builders, unavailable = image_level_builders(meta)
        builders['pixel_error'] = lambda: dict(type='LPPixelErrorMetric')
        return select_metrics(names, builders, unavailable, owner)
