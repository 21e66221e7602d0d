"""COCO files for keypoint evaluation: atomic JSON, result records, in-memory ground truth."""
from __future__ import annotations

import contextlib
import io
import json
import os
from typing import Iterable, Optional

import numpy as np


def dump_json_atomic(obj, path: str) -> None:
    """Write ``obj`` as JSON to ``path`` through a temporary file in the same directory, so a
    reader never sees a half-written file (DESIGN.md, "Files users keep")."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}'
    try:
        with open(tmp, 'w') as f:
            json.dump(obj, f)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


@contextlib.contextmanager
def captured_stdout():
    """Collect what pycocotools-style code prints; yields the buffer."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        yield buffer


def coco_result(record: dict, category_id: int) -> dict:
    """One COCO keypoint result: keypoints flattened [x1, y1, s1, ...], score, center, scale."""
    return {
        'image_id': int(record['image_id']),
        'category_id': int(category_id),
        'keypoints': np.asarray(record['keypoints'], dtype=np.float64).reshape(-1).tolist(),
        'score': float(record['score']),
        'center': [float(v) for v in record['center']],
        'scale': [float(v) for v in record['scale']],
    }


def coco_ground_truth(gts: Iterable[dict], num_keypoints: int) -> dict:
    """A COCO keypoint annotation dict from ``data_batch['gt']`` records.

    Each record: ``keypoints`` (K, 2), ``keypoints_visible`` (K,), ``bbox`` (4,) xywh, ``area``
    (pixels², bbox w * h if absent), ``image_id``, ``category_id`` (1 if absent). Records are
    already unique per instance.
    """
    images, categories, annotations = set(), set(), []
    for ann_id, gt in enumerate(gts, start=1):
        visible = np.asarray(gt['keypoints_visible'], dtype=np.float64).reshape(-1) > 0
        keypoints = np.zeros((num_keypoints, 3))
        keypoints[:, :2] = np.asarray(gt['keypoints'], dtype=np.float64).reshape(-1, 2)
        keypoints[:, 2] = np.where(visible, 2, 0)
        keypoints[~visible] = 0  # COCO stores unlabelled keypoints as (0, 0, 0)
        bbox = [float(v) for v in np.asarray(gt['bbox'], dtype=np.float64).reshape(-1)[:4]]
        area = gt.get('area')
        category_id = int(gt.get('category_id') or 1)
        images.add(int(gt['image_id']))
        categories.add(category_id)
        annotations.append(dict(
            id=ann_id, image_id=int(gt['image_id']), category_id=category_id, iscrowd=0,
            keypoints=keypoints.reshape(-1).tolist(), num_keypoints=int(visible.sum()),
            bbox=bbox, area=float(area if area is not None else bbox[2] * bbox[3])))
    return dict(images=[dict(id=i) for i in sorted(images)],
                categories=[dict(id=c, name=str(c)) for c in sorted(categories)],
                annotations=annotations)


def image_ids_by_file_name(coco) -> dict:
    """``file_name`` -> image id of a COCO object's images ('/' separators)."""
    return {img['file_name'].replace('\\', '/'): img['id']
            for img in coco.dataset.get('images', []) if 'file_name' in img}


def image_id_for_file(path: str, ids_by_name: dict) -> Optional[int]:
    """The id of the image whose ``file_name`` is ``path`` or a trailing part of it
    (``data/coco/val2017/x.jpg`` matches ``x.jpg`` and ``val2017/x.jpg``), else None."""
    parts = str(path).replace('\\', '/').split('/')
    for i in range(len(parts)):  # longest suffix first
        found = ids_by_name.get('/'.join(parts[i:]))
        if found is not None:
            return found
    return None
