"""What the datasets of tool projects (DeepLabCut, Lightning Pose) share.

A project dataset reads a tool's files with the readers of ``posecfg/interop/<tool>/`` (numpy
arrays with NaN for unlabelled points, the tool's own convention) and turns them into image
records (CONTRACTS.md "Image-level sample record"): NaN → 0 with visibility 0, boxes from the
keypoints' extent, image sizes from the file headers. Its metainfo (keypoint names, skeleton,
swap partners) comes from the project, not from a ``configs/_base_/datasets`` file.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence, Tuple

import numpy as np

from ..transforms.image_header import read_image_sizes
from .base import PoseDataset, metainfo_ann_info
from .boxes import boxes_from_keypoints
from .instance_table import InstanceTable, StringPool
from .metainfo import DatasetMeta, parse_dataset_info
from .metric_configs import GROUND_TRUTH_METRIC_TYPES
from .topdown_base import pipeline_sets_crop

NamePairs = Optional[Sequence[Sequence[str]]]

#: metric types registered with the project datasets that read the samples' ``gt``
PROJECT_METRIC_TYPES = ('DLCRMSEMetric', 'LPPixelErrorMetric')


class ProjectDataError(ValueError):
    """Project files or arguments a project dataset cannot use; the message names them."""


def project_meta(dataset_name: str, names: Sequence[str], source: str,
                 skeleton: NamePairs = None, flip_pairs: NamePairs = None,
                 dataset_info: Optional[Mapping] = None) -> DatasetMeta:
    """Dataset metainfo of a project's keypoints.

    Args:
        dataset_name: e.g. the DeepLabCut ``<Task><date>``.
        names: (K,) keypoint names in the project's order.
        source: where they come from, for error messages.
        skeleton: ``[name, name]`` links to draw; links naming a keypoint outside ``names``
            (DeepLabCut's unique bodyparts) are left out.
        flip_pairs: ``[left, right]`` names that swap under a horizontal flip (none by default:
            neither tool infers them from names).
        dataset_info: a full ``dataset_info`` dict instead (colours, sigmas, weights); its
            keypoint names must be ``names``, in order.
    """
    if dataset_info is not None:
        meta = parse_dataset_info(dataset_info, source=f'dataset_info for {source}')
        if list(meta.names) != list(names):
            raise ProjectDataError(
                f'dataset_info names the keypoints {list(meta.names)}, but {source} has '
                f'{list(names)}; they must be the same, in the same order')
        return meta
    swap = {}
    for pair in flip_pairs or ():
        if len(pair) != 2 or any(p not in names for p in pair) or pair[0] == pair[1]:
            raise ProjectDataError(
                f'flip_pairs entry {list(pair)!r} must name two different keypoints of {source} '
                f'({list(names)})')
        for a, b in (pair, pair[::-1]):
            if swap.get(a, b) != b:
                raise ProjectDataError(f'flip_pairs gives {a!r} two partners ({swap[a]!r} and '
                                       f'{b!r})')
            swap[a] = b
    keypoint_info = {i: dict(name=n, id=i, swap=swap.get(n, '')) for i, n in enumerate(names)}
    links = [tuple(link) for link in (skeleton or ()) if all(n in names for n in link)]
    skeleton_info = {i: dict(link=link, id=i) for i, link in enumerate(links)}
    return parse_dataset_info(dict(dataset_name=dataset_name, keypoint_info=keypoint_info,
                                   skeleton_info=skeleton_info), source=source)


def image_sizes(paths: Sequence[str], source: str) -> np.ndarray:
    """(M, 2) int64 (height, width) of the images, from their headers; an error listing the
    images that cannot be read."""
    sizes, _, missing = read_image_sizes(paths)
    if missing:
        shown = ', '.join(str(paths[i]) for i in missing[:5]) + (' …' if len(missing) > 5 else '')
        raise ProjectDataError(f'{source}: {len(missing)} of {len(paths)} labelled images cannot '
                               f'be read: {shown}')
    return sizes


def nan_to_visible(keypoints: np.ndarray, sizes: Optional[np.ndarray] = None
                   ) -> Tuple[np.ndarray, np.ndarray]:
    """Reader keypoints (M, ..., K, 2) with NaN → (keypoints with 0 there, float32 visibility).

    With ``sizes`` (M, 2) (height, width), a labelled point counts as visible only strictly
    inside its image, ``0 < x < width`` and ``0 < y < height``, as DeepLabCut 3 marks them
    (``data/dlcloader.py::to_coco``); its coordinates are kept.
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    labelled = ~np.isnan(keypoints).any(axis=-1)
    if sizes is not None:
        shape = (len(keypoints),) + (1,) * (keypoints.ndim - 2)
        height = np.asarray(sizes)[:, 0].reshape(shape)
        width = np.asarray(sizes)[:, 1].reshape(shape)
        with np.errstate(invalid='ignore'):
            labelled &= ((keypoints[..., 0] > 0) & (keypoints[..., 0] < width)
                         & (keypoints[..., 1] > 0) & (keypoints[..., 1] < height))
    clean = np.where(np.isnan(keypoints), 0.0, keypoints).astype(np.float32)
    return clean, labelled.astype(np.float32)


def instance_table(keypoints: np.ndarray, visible: np.ndarray, keep: np.ndarray,
                   sizes: np.ndarray, margin: float, min_area: float,
                   identities: Optional[np.ndarray] = None) -> InstanceTable:
    """The instance table (:data:`~posecfg.datasets.base.INSTANCE_COLUMNS`) of images with N
    slots each.

    Args:
        keypoints: (M, N, K, 2) float32 pixels, 0 where unlabelled.
        visible: (M, N, K) float32.
        keep: (M, N) bool, the slots that are instances.
        sizes: (M, 2) (height, width) per image.
        margin, min_area: of the boxes (:func:`~posecfg.datasets.boxes.boxes_from_keypoints`).
        identities: (N,) int64 identity of each slot, or None.
    """
    m, n = keep.shape
    rows, slots = np.nonzero(keep)  # image-major: instances of an image stay in slot order
    kpts = keypoints[rows, slots]
    vis = visible[rows, slots]
    boxes, areas = boxes_from_keypoints(kpts, vis, sizes[rows], margin, min_area)
    count = len(rows)
    columns = dict(
        image_row=rows.astype(np.int64),
        ann_id=(rows * n + slots).astype(np.int64),
        category_id=np.full(count, -1, np.int64),
        keypoints=kpts.astype(np.float32),
        visible=vis.astype(np.float32),
        bbox=boxes,
        area=areas,
        bbox_score=np.ones(count, np.float32),
        has_gt=(vis > 0).any(axis=1),
    )
    if identities is not None:
        columns['identity'] = np.asarray(identities, dtype=np.int64)[slots]
    return InstanceTable(**columns)


class ProjectDataset(PoseDataset):
    """Base of the datasets that read a tool's project (bottom-up by default).

    Subclasses set ``self.meta`` (a :class:`DatasetMeta`) before calling ``__init__`` through
    ``dataset_info`` and implement ``_load``; records in test mode carry the unique keypoints
    in ``gt`` too, and the project metrics count as metrics that read ground truth.
    """

    #: what a record's box is (for the top-down refusal message)
    box_of = 'each instance'

    #: model input [w, h] and heatmap [w, h] of top-down crops (``ann_info``), set by
    #: subclasses from their ``image_size``/``heatmap_size`` arguments
    image_size: Optional[Sequence[int]] = None
    heatmap_size: Optional[Sequence[int]] = None

    def _prepare(self, pipeline: Sequence[Any]) -> None:
        owner = type(self).__name__
        if self.data_mode != 'topdown':
            return
        if not pipeline_sets_crop(pipeline):
            raise ProjectDataError(
                f"{owner}: data_mode='topdown' gives the box of {self.box_of}, not a crop; put "
                f'TopDownGetBboxCenterScale in the pipeline before the affine step (or use '
                f"data_mode='bottomup' for the tool's whole-image models)")
        if self.image_size is None:
            raise ProjectDataError(
                f"{owner}: data_mode='topdown' needs image_size=[w, h], the crop the model takes "
                f'(and heatmap_size=[w, h] for heatmap targets)')

    @property
    def ann_info(self) -> dict:
        if not hasattr(self, '_ann_info'):
            info = metainfo_ann_info(self.meta)
            for key in ('image_size', 'heatmap_size'):
                value = getattr(self, key)
                if value is not None:
                    info[key] = np.asarray(value, dtype=np.int64)
            self._ann_info = info
        return self._ann_info

    def record(self, index: int) -> dict:
        record = super().record(index)
        gt = record.get('gt')
        if gt is not None and 'unique_keypoints' in record:
            gt['unique_keypoints'] = record['unique_keypoints'].copy()
            gt['unique_keypoints_visible'] = record['unique_keypoints_visible'].copy()
        return record

    def check_evaluator(self, metrics: Sequence) -> None:
        for metric in metrics:
            kind = metric.get('type') if isinstance(metric, dict) else type(metric).__name__
            if kind in GROUND_TRUTH_METRIC_TYPES + PROJECT_METRIC_TYPES and not self.test_mode:
                raise ValueError(f'{type(self).__name__}: the evaluator {kind} reads the '
                                 f"samples' ground truth, but the dataset was built with "
                                 f'test_mode=False, so its samples carry no gt')

    @staticmethod
    def _strings(paths: Sequence[str]) -> StringPool:
        return StringPool(str(p) for p in paths)

    def _extra_metainfo(self) -> dict:
        return {}

    @property
    def metainfo(self) -> dict:
        return {**self.meta.as_metainfo(), **self._extra_metainfo()}

    def __repr__(self) -> str:
        unit = 'instances' if self.data_mode == 'topdown' else 'images'
        return (f'{type(self).__name__}({len(self)} {unit} of {self.meta.dataset_name!r}, '
                f'split {getattr(self, "split", "?")!r}, '
                f'{"test" if self.test_mode else "train"} mode)')


def check_choice(owner: str, key: str, value: Any, choices: Sequence[Any]) -> Any:
    if value not in choices:
        raise ProjectDataError(f'{owner}: {key} must be one of {", ".join(map(repr, choices))}, '
                               f'got {value!r}')
    return value
