"""``LPMultiviewProjectDataset``: a Lightning Pose multi-view project (one labels CSV per camera
view) as posecfg samples holding every view of a frame.

What it reads, as Lightning Pose 2.4.3 does (``lightning_pose/data/datasets.py``,
``MultiviewHeatmapDataset`` l. 574-1262, built by ``data/factory.py:get_dataset`` l. 160-200 when
``data.view_names`` lists more than one view):

- one :class:`~posecfg.datasets.lp_project.LPProjectDataset` per view (Lightning Pose: one
  ``HeatmapDataset`` per view, l. 660-676), from ``data.csv_file`` (a list, in
  ``data.view_names`` order; ``len(view_names) != len(csv_paths)`` is an error, l. 649-650);
- the views must have the same number of rows (l. 836-837), the same keypoint names in the same
  order (l. 839-844), and row ``i`` must name the same image file (the file name, not the folder:
  ``Path(image_names[i]).name``, l. 846-854) — the same frame seen by each camera;
- ``num_keypoints`` is per view (``cfg.data.num_keypoints``, ``models/factory.py:260``); a sample's
  keypoints are the views' keypoints concatenated view after view (``fusion``, l. 1141-1186:
  ``torch.cat(keypoints per view).reshape(-1)``, heatmaps ``(V·K, h, w)``);
- the split: Lightning Pose's rule on the number of frames (``random_split(range(N))`` of the
  multi-view dataset, ``data/datamodules.py:111-200``), so frame ``i`` is in the same set for
  every view; each view dataset makes that split from the same N and seed
  (:func:`posecfg.interop.lp.split.lp_split`), checked equal here;
- augmentation: each view goes through the pipeline on its own (Lightning Pose calls each view's
  ``HeatmapDataset.__getitem__``, which draws its own imgaug parameters, l. 1196-1198) — here
  each view gets its own seed derived from the sample's (``SeedSequence([seed, view])``), so a
  sample is reproducible and its views are augmented independently. ``imgaug_hflip`` is refused
  for multi-view projects (``data/factory.py:163-166``), as here (no flip pairs).

A sample (after the pipeline; V views, K keypoints per view):

- ``img`` (V, 3, h, w) — collated to (B, V, 3, h, w), Lightning Pose's multi-view batch;
- every other collected key holds the views' values stacked on a new first axis: ``keypoints``
  (V, 1, K, 2), ``keypoints_visible`` (V, 1, K), ...;
- ``img_metas``: ``image_id`` (the frame's row), ``image_file`` (view 0's), ``view_names`` and
  ``views`` (the per-view metas, each with its own ``image_file`` and ``warp_mat``);
- ``gt`` (test mode): one instance whose ``keypoints`` (1, V·K, 2) and ``keypoints_visible``
  (1, V·K) are the views' concatenated (a view without labels contributes invisible zeros),
  ``bboxes`` the extent of all labelled points (in each view's own pixels: only a size for
  metrics that want one), ``image_id``.

:class:`~posecfg.models.pose_estimators.multiview.MultiviewBottomUp` folds the views into the
batch for the shared backbone and head and concatenates its predictions the same way.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, List, Optional, Sequence, Union

import numpy as np
import torch
from torch.utils.data import Dataset

from ..registry import DATASETS
from .examples import ExampleArgs, write_tiny_lp_multiview_project
from .lp_project import LPProjectDataset
from .metric_configs import image_level_builders, metric_names, select_metrics
from .project_base import ProjectDataError, project_meta
from .sampler import split_key


def view_seed(seed: Optional[int], view: int) -> Optional[int]:
    """The augmentation seed of ``view`` of a sample seeded ``seed`` (None stays None: the
    global random streams then advance from view to view)."""
    if seed is None:
        return None
    state = np.random.SeedSequence([int(seed) & (2 ** 64 - 1), int(view)]).generate_state(
        2, np.uint32)
    return int(state[0]) << 31 | int(state[1]) >> 1


def multiview_keypoint_names(view_names: Sequence[str], keypoint_names: Sequence[str]
                             ) -> List[str]:
    """Names of the V·K concatenated keypoints: ``<keypoint>_<view>``, view after view (the
    mirrored-rig naming of Lightning Pose's examples, e.g. ``paw1LH_top``)."""
    return [f'{name}_{view}' for view in view_names for name in keypoint_names]


@DATASETS.register_module()
class LPMultiviewProjectDataset(Dataset):
    """One set of a Lightning Pose multi-view project's labelled frames (module docstring).

    Args:
        data_dir: ``data.data_dir``.
        csv_file: ``data.csv_file``: one labels CSV per view, in ``view_names`` order.
        view_names: ``data.view_names`` (at least two, distinct).
        split: ``'train'``, ``'val'``, ``'test'`` or ``'all'``.
        train_prob, val_prob, train_frames, rng_seed_data_pt: the split (Lightning Pose's keys).
        keypoint_names: ``data.keypoint_names``: the keypoints of one view (every view has the
            same), checked against each CSV.
        pipeline: transform configs, applied to each view's image record on its own.
        test_mode: samples carry ``gt``.
        dataset_name: the name in records and metainfo.
    """

    #: samples hold every view of a frame (tests/test_registry.py checks them as such)
    sample_kind = 'multiview'
    example_args = ExampleArgs('lp-tiny-multiview', write_tiny_lp_multiview_project,
                               lambda root: dict(data_dir=str(root),
                                                 csv_file=['CollectedData_top.csv',
                                                           'CollectedData_bot.csv'],
                                                 view_names=['top', 'bot'], train_prob=0.6,
                                                 val_prob=0.2))

    def __init__(self, data_dir: str, csv_file: Sequence[str], view_names: Sequence[str],
                 split: str = 'train', train_prob: float = 0.95,
                 val_prob: Optional[float] = 0.05,
                 train_frames: Union[int, float, None] = 1, rng_seed_data_pt: int = 0,
                 keypoint_names: Optional[Sequence[str]] = None, pipeline: Sequence[Any] = (),
                 test_mode: bool = False, dataset_name: str = 'lightning_pose_multiview',
                 data_mode: str = 'bottomup'):
        owner = type(self).__name__
        if data_mode != 'bottomup':
            raise ProjectDataError(f"{owner}: data_mode must be 'bottomup' (one sample per frame "
                                   f"with every view, Lightning Pose's multi-view models), got "
                                   f'{data_mode!r}')
        if isinstance(csv_file, (str, os.PathLike)) or isinstance(view_names, str):
            raise ProjectDataError(f'{owner}: csv_file and view_names must be lists (one labels '
                                   f'CSV per view), got {csv_file!r} and {view_names!r}')
        csv_file, view_names = list(csv_file), [str(v) for v in view_names]
        if len(view_names) < 2 or len(set(view_names)) != len(view_names):
            raise ProjectDataError(f'{owner}: view_names must name at least two different views, '
                                   f'got {view_names}')
        if len(csv_file) != len(view_names):  # datasets.py:649-650
            raise ProjectDataError(f'{owner}: {len(csv_file)} labels CSVs for {len(view_names)} '
                                   f'views {view_names}; give one CSV per view, in view order')
        self.view_names, self.test_mode, self.split = view_names, bool(test_mode), split
        self.views: List[LPProjectDataset] = [
            LPProjectDataset(data_dir, csv, split=split, train_prob=train_prob,
                             val_prob=val_prob, train_frames=train_frames,
                             rng_seed_data_pt=rng_seed_data_pt, keypoint_names=keypoint_names,
                             pipeline=pipeline, data_mode='bottomup', test_mode=test_mode,
                             dataset_name=f'{dataset_name}/{view}')
            for view, csv in zip(view_names, csv_file)]
        self._check_views()
        first = self.views[0]
        self.data_dir, self.lp_split = first.data_dir, first.lp_split
        self.csv_files = [v.csv_file for v in self.views]
        self.keypoint_names = list(first.labels.keypoint_names)
        #: one view image's keypoints: what the shared model predicts for one image (video
        #: inference of a view's video reads it)
        self.meta = project_meta(dataset_name, self.keypoint_names, self.csv_files[0])
        #: a sample's V·K joined keypoints (``metainfo``: evaluation)
        self.joint_meta = project_meta(dataset_name, multiview_keypoint_names(
            view_names, self.keypoint_names), ', '.join(self.csv_files))

    def _check_views(self) -> None:
        """Lightning Pose's ``check_data_images_names`` (datasets.py:823-854)."""
        first = self.views[0]
        for name, view in zip(self.view_names[1:], self.views[1:]):
            a, b = first.labels, view.labels
            if b.num_images != a.num_images:
                raise ProjectDataError(
                    f'{b.csv_file} (view {name!r}) has {b.num_images} labelled frames but '
                    f'{a.csv_file} (view {self.view_names[0]!r}) has {a.num_images}; every view '
                    f'labels the same frames, row by row')
            if b.keypoint_names != a.keypoint_names:
                raise ProjectDataError(
                    f'{b.csv_file} (view {name!r}) has keypoints {list(b.keypoint_names)} but '
                    f'{a.csv_file} has {list(a.keypoint_names)}; every view needs the same '
                    f'keypoints in the same order')
            for row, (x, y) in enumerate(zip(a.image_names, b.image_names)):
                if Path(x).name != Path(y).name:
                    raise ProjectDataError(
                        f'row {row}: {a.csv_file} names {x!r} but {b.csv_file} (view {name!r}) '
                        f'names {y!r}; row i of every view must be the same frame (the same '
                        f'file name, in each view\'s folder)')
            if not np.array_equal(first.rows, view.rows):  # same N and seed: cannot differ
                raise ProjectDataError(f'{type(self).__name__}: the views split differently')

    # ------------------------------------------------------------------ public
    @property
    def rows(self) -> np.ndarray:
        """(M,) the CSV rows (frames) of this set, in Lightning Pose's order."""
        return self.views[0].rows

    @property
    def num_views(self) -> int:
        return len(self.views)

    @property
    def metainfo(self) -> dict:
        return {**self.joint_meta.as_metainfo(), 'view_names': list(self.view_names),
                'view_keypoint_names': list(self.keypoint_names), 'csv_files': self.csv_files,
                'data_dir': self.data_dir, 'split': self.split,
                'split_sizes': self.lp_split.sizes}

    def __len__(self) -> int:
        return len(self.views[0])

    def view_records(self, index: int) -> List[dict]:
        """The image record of frame ``index`` in each view (before the pipeline)."""
        return [view.record(index) for view in self.views]

    def image_record(self, index: int) -> dict:
        """Frame ``index`` as one image record of the V·K concatenated keypoints (view 0's
        ``image_file``; ``view_image_files`` all of them); boxes as in :meth:`merge_gt`."""
        records = [view.image_record(index) for view in self.views]
        gt = self.merge_gt([dict(r, image_id=r['image_id']) for r in records])
        return dict(image_file=records[0]['image_file'], image_id=records[0]['image_id'],
                    keypoints=gt['keypoints'], keypoints_visible=gt['keypoints_visible'],
                    bboxes=gt['bboxes'], bbox_scores=np.ones(1, np.float32),
                    instance_ids=gt['instance_ids'], category_ids=gt['category_ids'],
                    areas=gt['areas'], dataset=self.joint_meta.dataset_name,
                    view_image_files=[r['image_file'] for r in records])

    def __getitem__(self, key) -> dict:
        index, seed = split_key(key)
        samples = [view[index if seed is None else (index, view_seed(seed, v))]
                   for v, view in enumerate(self.views)]
        return self.merge(samples, index)

    def merge(self, samples: Sequence[dict], index: int) -> dict:
        """The views' pipeline outputs → one multi-view sample (module docstring)."""
        keys = [k for k in samples[0] if k not in ('img_metas', 'gt')]
        out = {}
        for key in keys:
            values = [s[key] for s in samples]
            if torch.is_tensor(values[0]):
                out[key] = torch.stack(values)
            elif isinstance(values[0], np.ndarray):
                out[key] = np.stack(values)
            else:
                out[key] = list(values)
        if 'img_metas' in samples[0]:
            metas = [s['img_metas'] for s in samples]
            out['img_metas'] = dict(image_id=int(metas[0].get('image_id', self.rows[index])),
                                    image_file=metas[0].get('image_file'),
                                    view_names=list(self.view_names), views=metas)
        if self.test_mode and 'gt' in samples[0]:
            out['gt'] = self.merge_gt([s['gt'] for s in samples])
        return out

    def merge_gt(self, gts: Sequence[dict]) -> dict:
        """The views' ``gt`` (each with 0 or 1 instance of K keypoints) → one instance of the
        V·K concatenated keypoints."""
        k = len(self.keypoint_names)
        points = np.zeros((1, len(gts) * k, 2), np.float32)
        visible = np.zeros((1, len(gts) * k), np.float32)
        for v, gt in enumerate(gts):
            if len(gt['keypoints']):
                points[0, v * k:(v + 1) * k] = gt['keypoints'][0]
                visible[0, v * k:(v + 1) * k] = gt['keypoints_visible'][0]
        labelled = points[0][visible[0] > 0]
        if len(labelled):
            low, high = labelled.min(0), labelled.max(0)
            box = np.array([[*low, *(high - low)]], np.float32)
        else:
            box = np.zeros((1, 4), np.float32)
        return dict(keypoints=points, keypoints_visible=visible, bboxes=box,
                    areas=(box[:, 2] * box[:, 3]).astype(np.float32),
                    category_ids=np.full(1, -1, np.int64), instance_ids=np.full(1, -1, np.int64),
                    image_id=int(gts[0]['image_id']))

    def check_evaluator(self, metrics: Sequence) -> None:
        self.views[0].check_evaluator(metrics)

    @classmethod
    def metric_configs(cls, names: Union[str, Sequence[str]], dataset_cfg: dict) -> list:
        """``'pixel_error'`` → ``LPPixelErrorMetric`` over every view's keypoints, plus the
        image-level metrics."""
        owner = cls.__name__
        names = metric_names(names, owner)
        views = dataset_cfg.get('view_names') or ()
        from ..interop.lp.labels import read_lp_labels, resolve_csv_path
        csv = resolve_csv_path(list(dataset_cfg['csv_file'])[0],
                               os.path.expanduser(str(dataset_cfg['data_dir'])))
        per_view = read_lp_labels(csv, key=f'{owner}.csv_file').keypoint_names
        meta = project_meta(dataset_cfg.get('dataset_name', 'lightning_pose_multiview'),
                            multiview_keypoint_names(views, per_view), csv)
        builders, unavailable = image_level_builders(meta)
        builders['pixel_error'] = lambda: dict(type='LPPixelErrorMetric')
        return select_metrics(names, builders, unavailable, owner)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}({len(self)} frames x {self.num_views} views '
                f'{self.view_names}, split {self.split!r}, '
                f'{"test" if self.test_mode else "train"} mode)')
