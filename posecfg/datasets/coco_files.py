"""Reading COCO keypoint annotation files and COCO-format detection results into columns.

No dataset logic lives here: each function turns one file into numpy columns (see
:class:`~posecfg.datasets.instance_table.InstanceTable`) and reports, in one log line, what it
left out and why.
"""
from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.logging import MMLogger

from .boxes import sanitize_boxes
from .metainfo import DatasetMeta


def read_json(path: Optional[str], key: str, owner: str):
    """Parse the JSON file ``path``, given by config key ``key`` (both named on error)."""
    if not path:
        raise FileNotFoundError(f'{owner}: {key} is not set; it must be the path of a JSON file')
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{owner}: {key} {path!r} does not exist (resolved against the '
                                f'working directory {os.getcwd()!r})')
    with open(path, encoding='utf-8') as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as exc:
            raise ValueError(f'{owner}: {key} {path!r} is not valid JSON: {exc}') from exc


@dataclass(frozen=True, eq=False)
class CocoImages:
    """The ``images`` of a COCO file, in file order.

    Attributes:
        ids: (M,) int64 image ids.
        file_names: M file names relative to the image folder.
        widths, heights: (M,) float64 pixels; inf where the file gives none (no clipping).
        index: image id → row.
    """

    ids: np.ndarray
    file_names: List[str]
    widths: np.ndarray
    heights: np.ndarray
    index: Dict[int, int]


def coco_images(data: dict, ann_file: str, owner: str) -> CocoImages:
    """The image table of a parsed COCO file; duplicate ids are an error."""
    images = data.get('images')
    if not isinstance(images, list):
        raise ValueError(f"{owner}: ann_file {ann_file!r} has no 'images' list; it is not a "
                         f'COCO keypoint file')
    ids = np.array([int(img['id']) for img in images], dtype=np.int64)
    index = {int(i): row for row, i in enumerate(ids)}
    if len(index) != len(ids):
        dup = sorted({int(i) for i in ids if (ids == i).sum() > 1})[:5]
        raise ValueError(f'{owner}: ann_file {ann_file!r} lists image ids more than once: {dup}')
    return CocoImages(
        ids=ids, file_names=[img['file_name'] for img in images],
        widths=np.array([img.get('width', np.inf) for img in images], dtype=np.float64),
        heights=np.array([img.get('height', np.inf) for img in images], dtype=np.float64),
        index=index)


def check_category_keypoints(data: dict, ann_file: str, meta: DatasetMeta, owner: str) -> None:
    """Each category's ``keypoints`` name list must have the metadata's length."""
    for cat in data.get('categories', []):
        names = cat.get('keypoints')
        if names is not None and len(names) != meta.num_keypoints:
            raise ValueError(
                f'{owner}: keypoint count mismatch: {meta.source} defines '
                f'{meta.num_keypoints} keypoints but ann_file {ann_file!r} has '
                f"{len(names)} (category {cat.get('name')!r}, id {cat.get('id')}, lists "
                f'{len(names)} keypoint names)')


def load_coco_instances(data: dict, images: CocoImages, ann_file: str, meta: DatasetMeta,
                        owner: str) -> Dict[str, np.ndarray]:
    """Annotated instances of a parsed COCO keypoint file, in image order, then file order.

    Left out (and counted in one log line with the first annotation ids): crowd annotations,
    annotations without any labelled keypoint (visibility > 0), and boxes that are empty after
    clipping to the image or have ``area`` 0. Masked (visibility 0, coordinates 0, counted in
    the same line): keypoints with a NaN/inf value and labelled keypoints outside the image.
    A file without an ``annotations`` list, or with no instance left, is an error that says
    what the filters removed.

    Returns:
        columns: image_row (N,) int64 into ``images``, ann_id (N,) int64, category_id (N,)
        int64, keypoints (N, K, 2) float32 pixels, visible (N, K) float32 in {0, 1},
        bbox (N, 4) float32 clipped xywh pixels, area (N,) float32 square pixels (the file's
        ``area``, else the box's).
    """
    num_kpts = meta.num_keypoints
    annotations = data.get('annotations')
    if not isinstance(annotations, list):
        raise ValueError(f"{owner}: ann_file {ann_file!r} has no 'annotations' list; a COCO "
                         f'keypoint file needs images, annotations and categories')
    per_image = defaultdict(list)
    for ann in annotations:
        image_id = int(ann.get('image_id', -1))
        if image_id not in images.index:
            raise ValueError(f"{owner}: ann_file {ann_file!r}: annotation id {ann.get('id')} "
                             f'refers to image id {image_id}, which is not in its images')
        per_image[image_id].append(ann)
    total = sum(len(v) for v in per_image.values())
    # annotation ids of what is left out (skipped) or has keypoints masked, by reason
    dropped: Dict[str, List[int]] = defaultdict(list)
    masked: Dict[str, List[int]] = defaultdict(list)
    rows, ann_ids, cat_ids, kpts, raw_boxes, areas = [], [], [], [], [], []
    for row, image_id in enumerate(images.ids.tolist()):
        for ann in per_image.get(image_id, ()):
            ann_id = int(ann.get('id', -1))
            if ann.get('iscrowd', 0):
                dropped['crowd'].append(ann_id)
                continue
            values = ann.get('keypoints')
            if values is None:
                dropped['unlabelled'].append(ann_id)
                continue
            if len(values) != 3 * num_kpts:
                raise ValueError(
                    f'{owner}: keypoint count mismatch: {meta.source} defines {num_kpts} '
                    f"keypoints but ann_file {ann_file!r} annotation id {ann.get('id')} has "
                    f'{len(values)} keypoint values ({len(values) / 3:g} keypoints)')
            if ann.get('num_keypoints', 0) > num_kpts:
                raise ValueError(
                    f'{owner}: keypoint count mismatch: {meta.source} defines {num_kpts} '
                    f"keypoints but ann_file {ann_file!r} annotation id {ann.get('id')} has "
                    f"num_keypoints={ann['num_keypoints']} labelled")
            values = np.asarray(values, dtype=np.float32).reshape(num_kpts, 3)
            _mask_bad_keypoints(values, images.widths[row], images.heights[row], ann_id, masked)
            if not (values[:, 2] > 0).any():
                dropped['unlabelled'].append(ann_id)
                continue
            if 'bbox' not in ann or ann.get('area', 1) <= 0:
                dropped['empty_box'].append(ann_id)
                continue
            rows.append(row)
            ann_ids.append(ann_id)
            cat_ids.append(int(ann.get('category_id', -1)))
            kpts.append(values)
            raw_boxes.append(ann['bbox'][:4])
            areas.append(ann.get('area', np.nan))
    rows = np.asarray(rows, dtype=np.int64)
    bbox, valid = sanitize_boxes(np.asarray(raw_boxes, dtype=np.float64).reshape(-1, 4),
                                 images.widths[rows], images.heights[rows])
    dropped['empty_box'] += [a for a, ok in zip(ann_ids, valid.tolist()) if not ok]
    kpts = np.asarray(kpts, dtype=np.float32).reshape(-1, num_kpts, 3)
    areas = np.asarray(areas, dtype=np.float64)
    areas = np.where(np.isnan(areas), bbox[:, 2] * bbox[:, 3], areas)
    summary = _filter_summary(dropped, masked)
    MMLogger.get_current_instance().info(
        f'{owner}: kept {int(valid.sum())} of {total} annotations in {ann_file}'
        f'{"; " + summary if summary else ""}')
    if not valid.any():
        raise ValueError(
            f'{owner}: ann_file {ann_file!r} leaves no instance to use: '
            + (f'of its {total} annotations, {summary}' if total else
               f"its 'annotations' list is empty ({len(images.ids)} images)")
            + '. Check the file, or that dataset_info matches its keypoints')
    return dict(
        image_row=rows[valid],
        ann_id=np.asarray(ann_ids, dtype=np.int64)[valid],
        category_id=np.asarray(cat_ids, dtype=np.int64)[valid],
        keypoints=kpts[valid, :, :2].copy(),
        visible=np.minimum(1.0, kpts[valid, :, 2]).astype(np.float32),
        bbox=bbox[valid],
        area=areas[valid].astype(np.float32),
    )


def _mask_bad_keypoints(values: np.ndarray, width: float, height: float, ann_id: int,
                        masked: Dict[str, List[int]]) -> None:
    """Zero (visibility 0) the keypoints of one annotation (K, 3) that are not finite or are
    labelled outside the image (pixel centres 0..W-1, so the image spans -0.5..W-0.5); record
    ``ann_id`` once per keypoint under the reason."""
    bad = ~np.isfinite(values).all(axis=1)
    outside = ~bad & (values[:, 2] > 0) & (
        (values[:, 0] < -0.5) | (values[:, 1] < -0.5)
        | (values[:, 0] > width - 0.5) | (values[:, 1] > height - 0.5))
    for reason, mask in (('nan', bad), ('outside', outside)):
        if mask.any():
            values[mask] = 0.0
            masked[reason] += [ann_id] * int(mask.sum())


def _ids(ids: List[int], limit: int = 5) -> str:
    unique = list(dict.fromkeys(ids))
    shown = ', '.join(map(str, unique[:limit]))
    return f'annotation ids {shown}{" …" if len(unique) > limit else ""}'


def _filter_summary(dropped: Dict[str, List[int]], masked: Dict[str, List[int]]) -> str:
    """``skipped 2 crowd (annotation ids 5, 9), …; masked 3 keypoints that were not finite
    (NaN/inf) (annotation ids 4); …``: one phrase for everything left out or masked."""
    reasons = dict(unlabelled='without any labelled keypoint', crowd='crowd',
                   empty_box='with an empty box')
    kinds = dict(nan='that were not finite (NaN/inf)', outside='labelled outside the image')
    skipped = [f'{len(dropped[k])} {text} ({_ids(dropped[k])})' for k, text in reasons.items()
               if dropped.get(k)]
    parts = ['skipped ' + ', '.join(skipped)] if skipped else []
    parts += [f'masked {len(masked[k])} keypoints {text} ({_ids(masked[k])})'
              for k, text in kinds.items() if masked.get(k)]
    return '; '.join(parts)


def load_detections(bbox_file: str, images: CocoImages, category_ids: Sequence[int],
                    det_bbox_thr: float, owner: str) -> Dict[str, np.ndarray]:
    """Detected boxes from a COCO results file (``[{image_id, category_id, bbox, score}]``).

    Kept: boxes of one of ``category_ids`` (the annotation file's categories, so person/1 for
    COCO) with ``score >= det_bbox_thr``. Boxes are used as given (MMPose does not clip them).

    Returns:
        columns: image_row (N,) int64, bbox (N, 4) float32 xywh pixels, score (N,) float32,
        category_id (N,) int64.
    """
    dets = read_json(bbox_file, 'data_cfg.bbox_file', owner)
    if not isinstance(dets, list) or not dets:
        raise ValueError(f'{owner}: data_cfg.bbox_file {bbox_file!r} holds no detections; it '
                         f'must be a non-empty COCO results list [{{"image_id", "category_id", '
                         f'"bbox", "score"}}, …]')
    wanted = set(int(c) for c in category_ids)
    rows, boxes, scores, cats = [], [], [], []
    for i, det in enumerate(dets):
        try:
            image_id, cat, box, score = (int(det['image_id']), int(det['category_id']),
                                         det['bbox'], float(det['score']))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f'{owner}: data_cfg.bbox_file {bbox_file!r}: detection {i} is not '
                             f'a COCO result with image_id, category_id, bbox and score '
                             f'({exc!r})') from exc
        if cat not in wanted or score < det_bbox_thr:
            continue
        if image_id not in images.index:
            raise ValueError(f'{owner}: data_cfg.bbox_file {bbox_file!r}: detection {i} is for '
                             f'image id {image_id}, which the annotation file does not list')
        rows.append(images.index[image_id])
        boxes.append(box[:4])
        scores.append(score)
        cats.append(cat)
    MMLogger.get_current_instance().info(
        f'{owner}: kept {len(rows)} of {len(dets)} detections in {bbox_file} (category in '
        f'{sorted(wanted)}, score >= {det_bbox_thr})')
    if not rows:
        raise ValueError(f'{owner}: data_cfg.bbox_file {bbox_file!r}: none of its {len(dets)} '
                         f'detections is of a category in {sorted(wanted)} with score >= '
                         f'data_cfg.det_bbox_thr={det_bbox_thr}; nothing to test')
    return dict(image_row=np.asarray(rows, dtype=np.int64),
                bbox=np.asarray(boxes, dtype=np.float32).reshape(-1, 4),
                score=np.asarray(scores, dtype=np.float32),
                category_id=np.asarray(cats, dtype=np.int64))
