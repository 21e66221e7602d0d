"""The seed schema's ``data_cfg`` for top-down datasets: checked once, read everywhere.

``data_cfg`` is the dict MMPose 0.x configs pass to every top-down dataset (seed 003)::

    data_cfg = dict(image_size=[192, 256], heatmap_size=[48, 64], num_output_channels=17,
                    num_joints=17, dataset_channel=[[0, ..., 16]], inference_channel=[0, ..., 16],
                    soft_nms=False, nms_thr=1.0, oks_thr=0.9, vis_thr=0.2, use_gt_bbox=False,
                    det_bbox_thr=0.0, bbox_file='...json')

The first six keys are required; the rest have MMPose's values as defaults, except
``use_gt_bbox``, which defaults to True so that a config without a detection file evaluates on
ground-truth boxes instead of failing. A key the dataset does not read is an error (a typo
such as ``use_gt_box`` would otherwise be ignored silently).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from .metainfo import DatasetMeta

#: Keys every top-down dataset needs.
REQUIRED_KEYS = ('image_size', 'heatmap_size', 'num_output_channels', 'num_joints',
                 'dataset_channel', 'inference_channel')
#: Keys of the COCO-style datasets' box and evaluation settings, with MMPose 0.x defaults.
BOX_AND_NMS_DEFAULTS = dict(soft_nms=False, nms_thr=1.0, oks_thr=0.9, vis_thr=0.2,
                            use_gt_bbox=True, det_bbox_thr=0.0, bbox_file=None, use_nms=True)
#: Optional for every top-down dataset.
COMMON_DEFAULTS = dict(use_different_joint_weights=False)

#: The data_cfg keys of the COCO-style datasets (their ``option_keys``).
COCO_STYLE_KEYS = REQUIRED_KEYS + tuple(BOX_AND_NMS_DEFAULTS) + tuple(COMMON_DEFAULTS)
#: The data_cfg keys of MPII, which has no detection boxes and no NMS.
MPII_KEYS = REQUIRED_KEYS + tuple(COMMON_DEFAULTS)

_RENAMED = {'image_thr': 'det_bbox_thr'}  # MMPose's deprecated spelling


@dataclass(frozen=True, eq=False)
class TopDownDataConfig:
    """A checked ``data_cfg``.

    Attributes:
        image_size: (2,) int64 model input [w, h], pixels.
        heatmap_size: (2,) int64 heatmap [w, h], heatmap cells (or an (S, 2) array for
            multi-resolution targets, kept as given).
        options: every accepted key with its value or default, for ``ann_info`` and metrics.
    """

    owner: str
    image_size: np.ndarray
    heatmap_size: np.ndarray
    num_joints: int
    options: Mapping

    @property
    def aspect_ratio(self) -> float:
        """Model input width / height."""
        return float(self.image_size[0]) / float(self.image_size[1])

    def __getitem__(self, key: str) -> Any:
        return self.options[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)


def parse_data_cfg(data_cfg: Optional[Mapping], owner: str,
                   accepted: Sequence[str] = COCO_STYLE_KEYS,
                   fixed: Optional[Mapping[str, Any]] = None) -> TopDownDataConfig:
    """Check ``data_cfg`` against the keys a dataset class reads and fill in defaults.

    Args:
        data_cfg: the config's ``data_cfg`` dict.
        owner: the dataset class name, used in error messages.
        accepted: the keys that class reads (its ``option_keys['data_cfg']``).
        fixed: keys MMPose's configs of this dataset carry that the class accepts only with the
            one value it implements (MPII's ``use_gt_bbox=True``), so those files load unchanged
            while any other value is an error.

    Raises:
        KeyError: a required key is missing.
        ValueError: a key is unknown, or a value has the wrong shape.
    """
    if not isinstance(data_cfg, Mapping):
        raise TypeError(f'{owner}: data_cfg must be a dict with keys {", ".join(REQUIRED_KEYS)}, '
                        f'…; got {type(data_cfg).__name__}')
    for key in data_cfg:
        if key not in accepted:
            hint = (f"; MMPose's {key!r} is called {_RENAMED[key]!r} here" if key in _RENAMED
                    else _suggest(key, accepted))
            raise ValueError(f'{owner}: data_cfg has unknown key {key!r}{hint}. {owner} reads '
                             f'data_cfg keys: {", ".join(accepted)}')
    for key, value in (fixed or {}).items():
        if key in data_cfg and data_cfg[key] != value:
            raise ValueError(f'{owner}: data_cfg.{key}={data_cfg[key]!r} is not supported; '
                             f'{owner} only implements {key}={value!r}')
    missing = [k for k in REQUIRED_KEYS if k not in data_cfg]
    if missing:
        raise KeyError(f'{owner}: data_cfg is missing {", ".join(map(repr, missing))} '
                       f'(required: {", ".join(REQUIRED_KEYS)})')
    defaults = {**BOX_AND_NMS_DEFAULTS, **COMMON_DEFAULTS, **(fixed or {})}
    options = {k: data_cfg[k] if k in data_cfg else defaults[k] for k in accepted}
    image_size = _size(data_cfg['image_size'], 'image_size', owner)
    heatmap_size = np.asarray(data_cfg['heatmap_size'])
    if heatmap_size.shape[-1:] != (2,):
        raise ValueError(f'{owner}: data_cfg.heatmap_size must be [width, height] in heatmap '
                         f'cells, got {data_cfg["heatmap_size"]!r}')
    return TopDownDataConfig(owner=owner, image_size=image_size, heatmap_size=heatmap_size,
                             num_joints=int(data_cfg['num_joints']), options=options)


def check_num_joints(cfg: TopDownDataConfig, meta: DatasetMeta) -> None:
    """data_cfg.num_joints must equal the metadata's keypoint count (both named on error)."""
    if cfg.num_joints != meta.num_keypoints:
        raise ValueError(f'{cfg.owner}: data_cfg.num_joints is {cfg.num_joints} but '
                         f'{meta.source} defines {meta.num_keypoints} keypoints; set '
                         f'num_joints={meta.num_keypoints} or use the dataset_info that '
                         f'matches the annotations')


def build_ann_info(cfg: TopDownDataConfig, meta: DatasetMeta) -> dict:
    """The ``ann_info`` dict of the top-down sample record (DESIGN.md), arrays read-only.

    Returns:
        dict with image_size (2,) and heatmap_size as np arrays, num_joints,
        num_output_channels, flip_pairs [[l, r], …], flip_index (K,), upper_body_ids,
        lower_body_ids, joint_weights (K, 1) float32, use_different_joint_weights,
        dataset_channel, inference_channel, skeleton [[a, b], …].
    """
    joint_weights = meta.joint_weights.reshape(-1, 1).copy()
    arrays = dict(image_size=cfg.image_size.copy(), heatmap_size=cfg.heatmap_size.copy(),
                  flip_index=meta.flip_index.copy(), joint_weights=joint_weights)
    for array in arrays.values():
        # shared by every sample: a transform that writes into it would corrupt all others
        array.setflags(write=False)
    return dict(
        **arrays,
        num_joints=meta.num_keypoints,
        num_output_channels=cfg['num_output_channels'],
        flip_pairs=meta.flip_pairs.tolist(),
        upper_body_ids=meta.upper_body_ids,
        lower_body_ids=meta.lower_body_ids,
        use_different_joint_weights=bool(cfg['use_different_joint_weights']),
        dataset_channel=cfg['dataset_channel'],
        inference_channel=cfg['inference_channel'],
        skeleton=meta.skeleton.tolist(),
    )


def _size(value: Any, key: str, owner: str) -> np.ndarray:
    size = np.asarray(value)
    if size.shape != (2,) or not np.all(size > 0):
        raise ValueError(f'{owner}: data_cfg.{key} must be [width, height] in pixels, '
                         f'got {value!r}')
    return size


def _suggest(word: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=3, cutoff=0.6)
    return f' (did you mean {" or ".join(map(repr, close))}?)' if close else ''
