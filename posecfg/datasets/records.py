"""The image-level sample record every dataset yields, and the step that derives top-down samples.

Image record (``dataset.image_record(i)``, DESIGN.md "Image-level sample record"): a plain dict

| key | type / shape | meaning |
|---|---|---|
| ``image_file`` | str | path of the image |
| ``image_id`` | int | id of the image in its dataset |
| ``img_shape`` | (h, w) ints, optional | when the annotation file gives it |
| ``keypoints`` | (N, K, 2) float32 | pixels; unlabelled points hold 0 and have visibility 0 |
| ``keypoints_visible`` | (N, K) float32 | 1 labelled, 0 not |
| ``bboxes`` | (N, 4) float32 | xywh pixels |
| ``bbox_scores`` | (N,) float32 | 1 for ground truth, the detector's score for detections |
| ``instance_ids`` | (N,) int64 | annotation ids (-1 for detections) |
| ``category_ids`` | (N,) int64 | -1 where the format has no categories |
| ``areas`` | (N,) float32 | instance area in pixels² |
| ``dataset`` | str | dataset name |

and, where the dataset has them, ``identities`` (N,) int64 (-1 unknown), ``unique_keypoints``
(1, U, 2) float32 with ``unique_keypoints_visible`` (1, U), ``head_sizes`` (N,) float32 pixels
(NaN: none), and the MMPose 0.x crop region a top-down dataset computed: ``crop_centers``
(N, 2) pixels and ``crop_scales`` (N, 2) (box (w, h) / 200, aspect-fixed and padded).

An instance without any labelled keypoint is not ground truth (a detection, or an entry of a
file without labels): it carries no ``gt`` in test mode, and its top-down sample marks every
keypoint visible, as MMPose 0.x does for detections.

:func:`topdown_sample` is the one step that turns instance ``n`` of an image record into the
per-instance sample of MMPose 0.x (``joints_3d``, ``center``, ``scale``, ...; DESIGN.md "Top-down
sample record"), as MMPose 1.x's ``data_mode='topdown'`` does; :func:`image_ground_truth` is the
``gt`` of a whole-image (``data_mode='bottomup'``) sample.
"""
from __future__ import annotations

from typing import Mapping, Optional

import numpy as np

#: keys every image record has
REQUIRED_KEYS = ('image_file', 'image_id', 'keypoints', 'keypoints_visible', 'bboxes',
                 'bbox_scores', 'instance_ids', 'category_ids', 'areas', 'dataset')
#: per-instance arrays: first axis N
INSTANCE_KEYS = ('keypoints', 'keypoints_visible', 'bboxes', 'bbox_scores', 'instance_ids',
                 'category_ids', 'areas', 'identities', 'head_sizes', 'crop_centers',
                 'crop_scales')
#: per-image arrays with a leading axis of 1 (one set per image)
IMAGE_ARRAY_KEYS = ('unique_keypoints', 'unique_keypoints_visible')
#: (dtype, trailing shape) of each array key; 'K' is the keypoint count, 'U' the unique one
ARRAY_SPECS = {
    'keypoints': (np.float32, ('K', 2)), 'keypoints_visible': (np.float32, ('K',)),
    'bboxes': (np.float32, (4,)), 'bbox_scores': (np.float32, ()),
    'instance_ids': (np.int64, ()), 'category_ids': (np.int64, ()),
    'areas': (np.float32, ()), 'identities': (np.int64, ()), 'head_sizes': (np.float32, ()),
    'crop_centers': (np.float32, (2,)), 'crop_scales': (np.float32, (2,)),
    'unique_keypoints': (np.float32, ('U', 2)), 'unique_keypoints_visible': (np.float32, ('U',)),
}
#: modes of a dataset: one sample per instance (crops), or one per image
DATA_MODES = ('topdown', 'bottomup')


def check_image_record(record: Mapping, owner: str, num_keypoints: Optional[int] = None) -> None:
    """Raise ValueError naming ``owner`` and the key at fault when ``record`` breaks the image
    record contract (missing key, dtype, shape, N inconsistent, NaN keypoints). For dataset
    authors' tests; the datasets here build records that pass it."""
    where = f"{owner}: image record of {record.get('image_file')!r}"
    missing = [k for k in REQUIRED_KEYS if k not in record]
    if missing:
        raise ValueError(f'{where} lacks {missing}; an image record has {list(REQUIRED_KEYS)}')
    num = len(record['keypoints'])
    sizes = {'K': num_keypoints if num_keypoints is not None else
             np.shape(record['keypoints'])[1] if np.ndim(record['keypoints']) == 3 else None}
    if 'unique_keypoints' in record:
        sizes['U'] = np.shape(record['unique_keypoints'])[1]
    for key, (dtype, trailing) in ARRAY_SPECS.items():
        if key not in record:
            continue
        value = record[key]
        lead = (1,) if key in IMAGE_ARRAY_KEYS else (num,)
        shape = lead + tuple(sizes.get(t, t) for t in trailing)
        if not isinstance(value, np.ndarray) or value.dtype != dtype or value.shape != shape:
            got = (f'{value.dtype} {value.shape}' if isinstance(value, np.ndarray)
                   else type(value).__name__)
            raise ValueError(f'{where}: {key!r} must be a {np.dtype(dtype).name} array of shape '
                             f'{shape}, got {got}')
    if not np.isfinite(record['keypoints']).all():
        raise ValueError(f'{where}: keypoints hold NaN or inf; unlabelled points are 0 with '
                         f'keypoints_visible 0')


def has_labels(keypoints_visible: np.ndarray) -> np.ndarray:
    """(N,) bool: which instances have at least one labelled keypoint (are ground truth)."""
    visible = np.asarray(keypoints_visible)
    return (visible > 0).any(axis=tuple(range(1, visible.ndim)))


def topdown_sample(record: Mapping, n: int, *, bbox_id: int, ann_info: Mapping,
                   test_mode: bool, with_crop: bool = True) -> dict:
    """Instance ``n`` of an image record → MMPose 0.x's top-down sample record.

    Args:
        record: an image record (above) with ``crop_centers``/``crop_scales`` when
            ``with_crop``.
        n: the instance.
        bbox_id: the sample's running id (its index in the dataset).
        ann_info: the dataset's shared ``ann_info`` (copied per sample).
        test_mode: add ``gt`` when the instance is ground truth.
        with_crop: set ``center``/``scale`` from the record; False when the pipeline computes
            them from ``bbox`` (``TopDownGetBboxCenterScale``).

    Returns:
        image_file, image_id, joints_3d (K, 3) = (x, y, 0), joints_3d_visible (K, 3) = (v, v,
        0), bbox (4,), center (2,), scale (2,), rotation 0.0, bbox_score, bbox_id, ann_id,
        category_id (when >= 0), dataset, ann_info, and in test mode ``gt`` = dict(keypoints
        (K, 2), keypoints_visible (K,), bbox (4,), area, image_id, bbox_id[, category_id,
        head_size]).
    """
    keypoints = record['keypoints'][n]
    visible = record['keypoints_visible'][n]
    labelled = bool(has_labels(visible[None])[0])
    num = len(keypoints)
    joints = np.zeros((num, 3), dtype=np.float32)
    joints[:, :2] = keypoints
    joints_visible = np.zeros((num, 3), dtype=np.float32)
    # MMPose 0.x marks every keypoint of a detection visible: nothing is known about them
    joints_visible[:, :2] = (visible if labelled else np.ones(num, np.float32))[:, None]
    category_id = int(record['category_ids'][n])
    sample = dict(
        image_file=record['image_file'],
        image_id=int(record['image_id']),
        joints_3d=joints,
        joints_3d_visible=joints_visible,
        bbox=record['bboxes'][n].copy(),
        rotation=0.0,
        bbox_score=float(record['bbox_scores'][n]),
        bbox_id=int(bbox_id),
        ann_id=int(record['instance_ids'][n]),
        dataset=record['dataset'],
        ann_info=dict(ann_info),
    )
    if with_crop:
        sample['center'] = record['crop_centers'][n].copy()
        sample['scale'] = record['crop_scales'][n].copy()
    if category_id >= 0:
        sample['category_id'] = category_id
    if test_mode and labelled:
        gt = dict(keypoints=keypoints.copy(), keypoints_visible=visible.copy(),
                  bbox=sample['bbox'].copy(), area=float(record['areas'][n]),
                  image_id=sample['image_id'], bbox_id=sample['bbox_id'])
        if category_id >= 0:
            gt['category_id'] = category_id
        head_sizes = record.get('head_sizes')
        if head_sizes is not None and not np.isnan(head_sizes[n]):
            gt['head_size'] = float(head_sizes[n])
        sample['gt'] = gt
    return sample


def image_ground_truth(record: Mapping) -> dict:
    """The ``gt`` of a whole-image sample: the record's labelled instances.

    Returns dict(keypoints (M, K, 2), keypoints_visible (M, K), bboxes (M, 4), areas (M,),
    category_ids (M,), instance_ids (M,), image_id[, head_sizes (M,), identities (M,)]), M the
    instances with at least one labelled keypoint (M may be 0).
    """
    keep = has_labels(record['keypoints_visible'])
    gt = {key: record[key][keep].copy() for key in
          ('keypoints', 'keypoints_visible', 'bboxes', 'areas', 'category_ids', 'instance_ids')}
    for key in ('head_sizes', 'identities'):
        if key in record:
            gt[key] = record[key][keep].copy()
    gt['image_id'] = int(record['image_id'])
    return gt
