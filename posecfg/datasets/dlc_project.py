"""``DLCProjectDataset``: a DeepLabCut project's labelled frames as posecfg image records.

What it reads, as DeepLabCut 3.0.2's ``DLCLoader`` (``pose_estimation_pytorch/data/dlcloader.py``)
does:

- the labels: the shuffle's merged ``training-datasets/iteration-N/UnaugmentedDataSet_<Task>
  <date>/CollectedData_<scorer>.h5`` when it exists (``load_ground_truth``: what the split's
  indices count), else every video's ``labeled-data/<video>/CollectedData_<scorer>`` merged
  as ``create_training_dataset`` merges them (:func:`posecfg.interop.dlc.labels.
  merge_project_labels`);
- the split: the ``Documentation_data-<Task>_<pct>shuffle<k>.pickle`` train/test row indices,
  taken in file order (``load_split``, ``split_data``: ``df.iloc[indices]``), or indices given
  explicitly;
- per image and individual (``to_coco``): a point is visible when labelled and strictly inside
  the image (``0 < x < width``, ``0 < y < height``; its coordinates are kept otherwise, NaN
  become 0); an individual without a visible point is no instance; unique bodyparts are one
  set per image (``unique_keypoints``, not an instance);
- boxes (``_compute_bboxes(method='keypoints', bbox_margin=data.bbox_margin or 20)`` →
  ``utils.py::bbox_from_keypoints``): the visible points' extent ± ``bbox_margin`` pixels,
  clipped to the image, area ``max(1, w·h)``.

Image ids are the rows of the merged labels (so predictions map back to DeepLabCut's files);
instance ids are ``row × individuals + individual``; ``identities`` the individual's index.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np

from ..interop.dlc.labels import DLCLabels, read_labels, read_project_labels
from ..interop.dlc.project import DLCProject, read_project
from ..interop.dlc.training_dataset import merged_labels_path, read_split
from ..registry import DATASETS
from .examples import ExampleArgs, write_tiny_dlc_project
from .instance_table import InstanceTable
from .metainfo import DatasetMeta
from .metric_configs import image_level_builders, metric_names, select_metrics
from .project_base import (NamePairs, ProjectDataError, ProjectDataset, check_choice, image_sizes,
                           instance_table, nan_to_visible, project_meta)

SPLITS = ('train', 'test', 'all')
#: DeepLabCut's ``data.bbox_margin`` when a pose config does not set it (dlcloader.py
#: ``load_data``: ``model_cfg["data"].get("bbox_margin", 20)``)
DLC_BBOX_MARGIN = 20
#: DeepLabCut's smallest box area (base.py ``_compute_bboxes``: ``min_area = 1``)
DLC_MIN_AREA = 1.0
#: ``evaluation.metric`` names that select DeepLabCut's evaluation (one metric computes them)
DLC_METRIC_NAMES = ('RMSE', 'mAP')


def dlc_project_meta(project: DLCProject, flip_pairs: NamePairs = None,
                     dataset_info: Optional[Mapping] = None) -> DatasetMeta:
    """Metainfo of a project: its bodyparts (multi-animal: ``multianimalbodyparts``; unique
    bodyparts are not among the K keypoints), its skeleton, no swap partners unless given."""
    return project_meta(f'{project.task}{project.date}', project.bodyparts,
                        str(project.config_path), skeleton=project.skeleton,
                        flip_pairs=flip_pairs, dataset_info=dataset_info)


@DATASETS.register_module()
class DLCProjectDataset(ProjectDataset):
    """The train or test images of a DeepLabCut shuffle (module docstring).

    Args:
        project_config: the project's ``config.yaml`` (or its folder).
        shuffle: the shuffle index.
        trainset_index: which ``TrainingFraction`` the shuffle was made for.
        split: ``'train'``, ``'test'`` or ``'all'`` (every labelled image, no shuffle needed).
        pipeline: transform configs or callables.
        data_mode: ``'bottomup'`` (a sample per image, DeepLabCut's bottom-up models) or
            ``'topdown'`` (a sample per individual; the pipeline must make the crop from the box
            with ``TopDownGetBboxCenterScale``; unique bodyparts are not in such samples).
        test_mode: samples carry ``gt`` (for evaluation).
        train_indices, test_indices: the split as rows of the merged labels, instead of the
            shuffle's Documentation pickle (both or neither).
        bbox_margin: pixels around the keypoints' extent (DeepLabCut's ``data.bbox_margin``).
        flip_pairs: ``[left, right]`` bodypart names that swap under a horizontal flip
            (DeepLabCut's ``hflip.symmetries``); none by default.
        image_size, heatmap_size: ``[w, h]`` of the model input and heatmaps, for top-down
            crops (``ann_info``, as MMPose's ``data_cfg`` keys).
        dataset_info: a full ``dataset_info`` dict for the bodyparts instead (colours, OKS
            sigmas); its names must be the project's bodyparts in order.
    """

    option_keys: dict = {}
    box_of = 'each individual (unique bodyparts are not in top-down samples)'
    #: a generated 5-frame project (posecfg/datasets/examples.py), split given explicitly
    example_args = ExampleArgs('dlc-tiny', write_tiny_dlc_project, lambda root: dict(
        project_config=str(root / 'config.yaml'), train_indices=[0, 1, 2, 3],
        test_indices=[4]))

    def __init__(self, project_config: Union[str, Path], shuffle: int = 1,
                 trainset_index: int = 0, split: str = 'train', pipeline: Sequence[Any] = (),
                 data_mode: str = 'bottomup', test_mode: bool = False,
                 train_indices: Optional[Sequence[int]] = None,
                 test_indices: Optional[Sequence[int]] = None,
                 bbox_margin: float = DLC_BBOX_MARGIN, flip_pairs: NamePairs = None,
                 dataset_info: Optional[Mapping] = None,
                 image_size: Optional[Sequence[int]] = None,
                 heatmap_size: Optional[Sequence[int]] = None):
        owner = type(self).__name__
        self.split = check_choice(owner, 'split', split, SPLITS)
        if (train_indices is None) != (test_indices is None):
            raise ProjectDataError(f'{owner}: give both train_indices and test_indices, or '
                                   f'neither (then the shuffle\'s Documentation pickle is read)')
        if not bbox_margin >= 0:
            raise ProjectDataError(f'{owner}: bbox_margin must be >= 0 pixels, got '
                                   f'{bbox_margin!r}')
        self.project = read_project(project_config)
        self.shuffle = int(shuffle)
        self.trainset_index = int(trainset_index)
        self.bbox_margin = float(bbox_margin)
        self._given_split = (train_indices, test_indices)
        meta = dlc_project_meta(self.project, flip_pairs, dataset_info)
        self.image_size, self.heatmap_size = image_size, heatmap_size
        super().__init__(pipeline, meta, test_mode, data_mode)

    # ------------------------------------------------------------------ loading
    def _read_labels(self) -> DLCLabels:
        merged = merged_labels_path(self.project)
        if merged.is_file():
            self.labels_file = str(merged)
            return read_labels(merged, self.project)
        self.labels_file = str(self.project.root / 'labeled-data')
        return read_project_labels(self.project)

    def _split_rows(self, num_images: int) -> np.ndarray:
        if self.split == 'all':
            return np.arange(num_images, dtype=np.int64)
        train, test = self._given_split
        if train is None:
            train, test = read_split(self.project, self.shuffle, self.trainset_index, num_images)
        else:
            train = np.asarray(train, dtype=np.int64).reshape(-1)
            test = np.asarray(test, dtype=np.int64).reshape(-1)
            every = np.concatenate([train, test])
            bad = every[(every < 0) | (every >= num_images)]
            if bad.size or len(np.unique(every)) != len(every):
                raise ProjectDataError(
                    f'{type(self).__name__}: train_indices and test_indices must be distinct '
                    f'rows 0..{num_images - 1} of the merged labels ({self.labels_file})'
                    + (f'; {bad.tolist()[:10]} are out of range' if bad.size else
                       '; some rows are given twice'))
        rows = train if self.split == 'train' else test
        if len(rows) == 0:
            raise ProjectDataError(f'{type(self).__name__}: the {self.split} split of shuffle '
                                   f'{self.shuffle} has no images')
        return rows

    def _load(self):
        labels = self._read_labels()
        self.labels = labels
        rows = self._split_rows(labels.num_images)
        root = self.project.root
        paths = [str(root / p) for p in labels.image_paths[rows]]
        sizes = image_sizes(paths, str(self.project.config_path))
        keypoints, visible = nan_to_visible(labels.keypoints[rows], sizes)
        keep = (visible > 0).any(axis=-1)
        table = instance_table(keypoints, visible, keep, sizes, self.bbox_margin, DLC_MIN_AREA,
                               identities=np.arange(keypoints.shape[1]))
        images = dict(img_shape=sizes)
        if labels.unique_bodyparts:
            unique, unique_visible = nan_to_visible(labels.unique_keypoints[rows], sizes)
            images.update(unique_keypoints=unique, unique_visible=unique_visible)
        return table, self._strings(paths), rows.astype(np.int64), InstanceTable(**images)

    # ------------------------------------------------------------------ metainfo, evaluation
    def _extra_metainfo(self) -> dict:
        return dict(unique_keypoint_names=list(self.project.unique_bodyparts),
                    individuals=list(self.project.individuals),
                    multi_animal=self.project.multi_animal, pcutoff=self.project.pcutoff,
                    project_path=str(self.project.root), scorer=self.project.scorer,
                    split=self.split, shuffle=self.shuffle,
                    trainset_index=self.trainset_index, labels_file=self.labels_file)

    @classmethod
    def metric_configs(cls, names: Union[str, Sequence[str]], dataset_cfg: Mapping) -> list:
        """``'RMSE'`` and/or ``'mAP'`` → one ``DLCRMSEMetric`` (DeepLabCut's ``rmse`` and
        ``rmse_pcutoff`` with the project's ``pcutoff``; ``mAP``/``mAR`` when ``'mAP'`` is
        asked for), plus the image-level ``PCK``/``AUC``/``EPE``; read from the project's
        ``config.yaml`` alone."""
        owner = cls.__name__
        names = metric_names(names, owner)
        if 'project_config' not in dataset_cfg:
            raise ProjectDataError(f'{owner}: the dataset config has no project_config')
        project = read_project(dataset_cfg['project_config'])
        meta = dlc_project_meta(project, dataset_cfg.get('flip_pairs'),
                                dataset_cfg.get('dataset_info'))
        builders, unavailable = image_level_builders(meta)
        unavailable.pop('mAP', None)
        builders.pop('mAP', None)
        configs = []
        asked = [n for n in names if n in DLC_METRIC_NAMES]
        if asked:
            configs.append(dict(type='DLCRMSEMetric', pcutoff=project.pcutoff,
                                single_animal=not project.multi_animal,
                                with_map='mAP' in asked))
        others = [n for n in names if n not in DLC_METRIC_NAMES]
        builders_all = dict(builders, **{n: None for n in DLC_METRIC_NAMES})
        for name in others:
            if name not in builders:
                select_metrics([name], builders_all, unavailable, owner)  # raises, listing all
        return configs + (select_metrics(others, builders, unavailable, owner) if others else [])
