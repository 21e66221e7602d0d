"""A Lightning Pose project: config + labels CSV(s) + frames + split, checked together.

:func:`load_lp_project` is what a runner calls after :func:`~.config.load_lp_config`: it reads
the labels (one CSV, or one per view), checks the config against them (:func:`.checks.
check_project`), checks that ``data_dir``/``video_dir`` and every labelled frame exist, reads the
frames' sizes from their file headers (no decoding), and makes Lightning Pose's split.
:func:`fit_lp_pca` fits a keypoint PCA on the training labels as Lightning Pose does.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

from posecfg.evaluation.functional.lp_metrics import (KeypointPCA, PCA_MULTIVIEW, PCA_SINGLEVIEW,
                                                      fit_keypoint_pca, lp_pca_training_keypoints)

from .checks import check_paths, check_project, resolve_video_dir
from .config import LPConfig
from .labels import LPLabels, read_lp_labels, resolve_csv_path
from .split import LPSplit, lp_split

#: how many missing frames an error lists
_SHOWN = 5


class LPProjectError(ValueError):
    """Project files that do not match the config or each other."""


@dataclass(frozen=True)
class LPProject:
    """A checked Lightning Pose project.

    Attributes:
        cfg: the config.
        data_dir: ``data.data_dir`` (user folder expanded).
        video_dir: ``data.video_dir`` joined to ``data_dir`` when relative.
        views: one :class:`~.labels.LPLabels` per labels CSV (one for single-view and mirrored
            projects, one per ``data.view_names`` entry for multi-view projects).
        keypoint_names: (K,) per view, in CSV order.
        frame_sizes: per view, (M, 2) int (height, width) of each labelled frame.
        channels: per view, (M,) channels stored in each frame file (1 grey, 3 colour, 4 …);
            every frame is used as RGB, a grey one repeated over the channels (Lightning Pose:
            ``PIL.Image.convert('RGB')``).
        split: Lightning Pose's train/validation/test split of the M labelled images.
    """
    cfg: LPConfig
    data_dir: str
    video_dir: str
    views: Tuple[LPLabels, ...]
    keypoint_names: Tuple[str, ...]
    frame_sizes: Tuple[np.ndarray, ...]
    channels: Tuple[np.ndarray, ...]
    split: LPSplit

    @property
    def labels(self) -> LPLabels:
        """The labels of a single-view (or mirrored) project."""
        if len(self.views) != 1:
            raise LPProjectError(f'{self.cfg.path}: a multi-view project has one labels file per '
                                 'view; use .views')
        return self.views[0]

    def image_paths(self, view: int = 0) -> List[str]:
        """Absolute paths of the labelled frames of ``view``."""
        return [os.path.join(self.data_dir, name) for name in self.views[view].image_names]


def load_lp_project(cfg: LPConfig, check_frames: bool = True) -> LPProject:
    """Read and check the project ``cfg`` points at (module docstring)."""
    check_paths(cfg)
    data_dir = os.path.expanduser(cfg.get('data.data_dir'))
    csv_files = cfg.get('data.csv_file')
    csv_files = csv_files if isinstance(csv_files, list) else [csv_files]
    views = tuple(read_lp_labels(resolve_csv_path(f, data_dir), key='data.csv_file')
                  for f in csv_files)
    for view in views[1:]:
        if view.num_images != views[0].num_images or view.keypoint_names != \
                views[0].keypoint_names:
            raise LPProjectError(
                f'{view.csv_file}: {view.num_images} images of {view.num_keypoints} keypoints, '
                f'but {views[0].csv_file} has {views[0].num_images} of '
                f'{views[0].num_keypoints}; every view needs the same images (in the same order) '
                'and the same keypoints')
    split = lp_split(views[0].num_images, cfg.get('training.train_prob'),
                     cfg.get('training.val_prob'), cfg.get('training.train_frames'),
                     cfg.get('training.rng_seed_data_pt'))
    names = check_project(cfg, views[0].keypoint_names, num_train_frames=len(split.train))
    sizes, channels = zip(*(frame_headers(data_dir, view, check_frames) for view in views))
    return LPProject(cfg=cfg, data_dir=data_dir, video_dir=resolve_video_dir(cfg), views=views,
                     keypoint_names=tuple(names), frame_sizes=tuple(sizes),
                     channels=tuple(channels), split=split)


def frame_headers(data_dir: str, labels: LPLabels,
                  require: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """(M, 2) (height, width) and (M,) channels of the labelled frames, from file headers
    (decoding only formats other than PNG/JPEG). Missing frames are an error listing them."""
    from posecfg.transforms.image_header import read_image_sizes

    # stored size: Lightning Pose's PIL reading applies no EXIF orientation
    paths = [os.path.join(data_dir, name) for name in labels.image_names]
    sizes, channels, missing = read_image_sizes(paths)
    if missing and require:
        names = [labels.image_names[i] for i in missing]
        shown = ', '.join(names[:_SHOWN]) + (' …' if len(names) > _SHOWN else '')
        raise LPProjectError(
            f'{labels.csv_file}: {len(missing)} of {labels.num_images} labelled frames are not '
            f'in data.data_dir ({data_dir}): {shown}')
    return sizes, channels


def fit_lp_pca(project: LPProject, kind: str, units: str = 'lightning_pose',
               settings: Optional[dict] = None) -> KeypointPCA:
    """The keypoint PCA Lightning Pose fits for ``kind`` (``pca_singleview``/``pca_multiview``)
    on the training images (after ``train_frames``), with the config's settings.

    Args:
        project: a loaded project (single-view or mirrored).
        kind: ``'pca_singleview'`` or ``'pca_multiview'``.
        units: ``'lightning_pose'``: the labels in resized-image pixels with out-of-image
            keypoints dropped, as Lightning Pose 2.4.3 fits (see
            :func:`~posecfg.evaluation.functional.lp_metrics.lp_pca_training_keypoints`);
            ``'frame'``: in original-frame pixels, the units of predictions.
        settings: overrides of ``losses.<kind>`` (e.g. Lightning Pose's metric files use
            ``losses.pca_singleview.components_to_keep`` for both kinds, metrics.py:307-315).
    """
    cfg = project.cfg
    labels = project.labels
    train = project.split.train
    keypoints = labels.keypoints[train]
    if units == 'lightning_pose':
        heatmap = 'heatmap' in cfg.get('model.model_type')
        keypoints = lp_pca_training_keypoints(
            keypoints, project.frame_sizes[0][train],
            (cfg.get('data.image_resize_dims.height'), cfg.get('data.image_resize_dims.width')),
            drop_outside=heatmap)
    elif units != 'frame':
        raise ValueError(f"units must be 'lightning_pose' or 'frame', got {units!r}")
    options = dict(cfg.get(f'losses.{kind}', None) or {})
    options.update(settings or {})
    return fit_keypoint_pca(
        kind, keypoints,
        components_to_keep=options.get('components_to_keep', 0.95),
        columns=cfg.get('data.columns_for_singleview_pca') if kind == PCA_SINGLEVIEW else None,
        mirrored_column_matches=cfg.get('data.mirrored_column_matches')
        if kind == PCA_MULTIVIEW else None,
        centering_method=options.get('centering_method') if kind == PCA_SINGLEVIEW else None,
        empirical_epsilon_percentile=options.get('empirical_epsilon_percentile', 99.0),
        empirical_epsilon_multiplier=options.get('empirical_epsilon_multiplier', 1.0),
        keypoint_names=project.keypoint_names)
