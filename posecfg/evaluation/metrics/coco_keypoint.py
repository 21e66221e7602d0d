"""COCO keypoint AP/AR with MMPose 0.x's rescoring and OKS-NMS (TopDownCocoDataset.evaluate), over
image-level predictions (any number of instances per image)."""
from __future__ import annotations

import logging
import os.path as osp
import tempfile
from collections import defaultdict
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from ...geometry import PIXEL_STD
from ...registry import METRICS
from ..functional import oks_nms, soft_oks_nms
from ._records import (batch_gts, dataset_meta_value, gt_instances, optional_int,
                       prediction_instances)
from .coco_io import (captured_stdout, coco_ground_truth, coco_result, dump_json_atomic,
                      image_id_for_file, image_ids_by_file_name)

#: COCOeval.stats names per iouType, as MMPose 0.x reports them
STATS_NAMES = {
    'keypoints': ('AP', 'AP .5', 'AP .75', 'AP (M)', 'AP (L)',
                  'AR', 'AR .5', 'AR .75', 'AR (M)', 'AR (L)'),
    # CrowdPose: AP/AR and AP on easy, medium, hard images (by crowd index)
    'keypoints_crowd': ('AP', 'AP .5', 'AP .75', 'AR', 'AR .5', 'AR .75',
                        'AP(E)', 'AP(M)', 'AP(H)'),
}
NMS_MODES = ('oks_nms', 'soft_oks_nms', 'none')


def _from_pred_or_gt(pred: dict, gt: Optional[dict], key: str):
    """``pred[key]``, else ``gt[key]``, else None."""
    if pred.get(key) is not None:
        return pred[key]
    return gt.get(key) if gt else None


@METRICS.register_module()
class CocoKeypointMetric(BaseMetric):
    """COCO keypoint mAP through xtcocotools, with ``dataset_meta['sigmas']``.

    Per image, as MMPose 0.x: each instance's score becomes its box score times the mean score
    of its keypoints scored above ``keypoint_score_thr`` (0 if none), then OKS-NMS
    (``nms_mode``) at ``nms_thr`` removes duplicates; the survivors are written as COCO results
    and evaluated with ``COCOeval(iouType='keypoints', sigmas, use_area)``.

    Args:
        ann_file: COCO keypoint annotation file. If None, the ground truth is built from
            ``data_batch['gt']`` (its instances only, so predictions need GT boxes).
        use_area: OKS scale from the annotation ``area`` (else bbox w * h * 0.53, for datasets
            without areas such as CrowdPose).
        keypoint_score_thr: MMPose's ``vis_thr`` for rescoring.
        nms_mode: 'oks_nms', 'soft_oks_nms' or 'none'. nms_thr: OKS threshold (``oks_thr``).
        outfile_prefix: write ``<outfile_prefix>.keypoints.json`` (atomically); otherwise the
            results go to a temporary directory that is removed afterwards.
        format_only: only write the results file (needs ``outfile_prefix``), return {}.
        iou_type: 'keypoints', or 'keypoints_crowd' for CrowdPose (whose images carry
            ``crowdIndex``; MMPose 0.x used it with ``use_area=False``).
        collect_device, prefix: mmengine's. Keys have no prefix unless ``prefix`` is given.

    Returns keys ``AP``, ``AP .5``, ``AP .75``, ``AP (M)``, ``AP (L)``, ``AR``, ``AR .5``,
    ``AR .75``, ``AR (M)``, ``AR (L)`` ('keypoints_crowd': ``AP``, ``AP .5``, ``AP .75``,
    ``AR``, ``AR .5``, ``AR .75``, ``AP(E)``, ``AP(M)``, ``AP(H)``).

    Predictions are read per sample at image level (``keypoints`` (N, K, 2),
    ``keypoint_scores`` (N, K), ``bboxes``, ``bbox_scores``: any number of instances per image,
    as whole-image models give), or as MMPose 0.x's top-down ``preds``/``boxes`` (one instance).
    A prediction's image is ``image_id``, or else its ``image_file`` matched against the
    annotation file's ``file_name`` s; its category is ``category_id`` from the prediction or its
    ``gt``, or the annotation file's only category.
    """

    example_args = dict(use_area=True, nms_mode='oks_nms', nms_thr=0.9)

    default_prefix: Optional[str] = ''  # DESIGN.md: MMPose 0.x metric names, no prefix

    def __init__(self, ann_file: Optional[str] = None, use_area: bool = True,
                 keypoint_score_thr: float = 0.2, nms_mode: str = 'oks_nms',
                 nms_thr: float = 0.9, outfile_prefix: Optional[str] = None,
                 format_only: bool = False, iou_type: str = 'keypoints',
                 collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if nms_mode not in NMS_MODES:
            raise ValueError(f"CocoKeypointMetric: nms_mode must be one of "
                             f"{', '.join(map(repr, NMS_MODES))}, got {nms_mode!r}")
        if iou_type not in STATS_NAMES:
            raise ValueError(f"CocoKeypointMetric: iou_type must be 'keypoints' or "
                             f"'keypoints_crowd', got {iou_type!r}")
        if format_only and not outfile_prefix:
            raise ValueError('CocoKeypointMetric: format_only=True writes the results file only, '
                             'so it needs outfile_prefix (e.g. work_dirs/x/results)')
        if ann_file is not None and not osp.isfile(ann_file):
            raise FileNotFoundError(f'CocoKeypointMetric: ann_file {ann_file!r} does not exist')
        self.ann_file = ann_file
        self.use_area = use_area
        self.keypoint_score_thr = keypoint_score_thr
        self.nms_mode = nms_mode
        self.nms_thr = nms_thr
        self.outfile_prefix = outfile_prefix
        self.format_only = format_only
        self.iou_type = iou_type
        self._coco = None  # loaded on first use, on the main process only

    # ---------------------------------------------------------------- per batch
    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Keep, per sample, its predicted instances' (K, 3) keypoints, boxes and ids (and its
        ground-truth instances when there is no annotation file)."""
        gts = batch_gts(self, data_batch, len(data_samples), required=self.ann_file is None)
        for i, pred in enumerate(data_samples):
            gt = gts[i] if gts is not None else None
            image_id = optional_int(_from_pred_or_gt(pred, gt, 'image_id'))
            if image_id is None and pred.get('image_file') is None:
                raise KeyError(f"CocoKeypointMetric: prediction {i} has neither 'image_id' nor "
                               f"'image_file'; one of them must name its image")
            instances = self._instances(pred, i)
            for record in instances:
                record.update(image_id=image_id, image_file=pred.get('image_file'),
                              category_id=optional_int(_from_pred_or_gt(pred, gt,
                                                                        'category_id')))
            sample = dict(instances=instances)
            if self.ann_file is None:
                sample['gt'] = self._gt_records(gt, i, image_id,
                                                instances[0]['keypoints'].shape[0]
                                                if instances else None)
            self.results.append(sample)

    @staticmethod
    def _instances(pred: dict, index: int) -> List[dict]:
        """The sample's instances: keypoints (K, 3), center, scale, area, score, bbox_id.

        Top-down predictions carry MMPose 0.x's ``boxes`` (cx, cy, sw, sh, area, score) and
        ``bbox_id``; image-level ones ``bboxes`` (N, 4) xywh (else the keypoints' extent) and
        ``bbox_scores`` (N,) (else 1), and their instances are numbered 0..N-1 in the image.
        """
        keypoints, scores = prediction_instances(CocoKeypointMetric, pred, index)
        points = np.concatenate([keypoints, scores[..., None]], axis=-1)
        if pred.get('boxes') is not None:
            boxes = np.asarray(pred['boxes'], dtype=np.float64).reshape(-1)
            return [dict(keypoints=points[0], center=boxes[0:2].copy(), scale=boxes[2:4].copy(),
                         area=float(boxes[4]), score=float(boxes[5]),
                         bbox_id=optional_int(pred.get('bbox_id')))]
        if pred.get('bboxes') is not None:
            bboxes = np.asarray(pred['bboxes'], dtype=np.float64).reshape(-1, 4)
        else:
            low, high = keypoints.min(axis=1), keypoints.max(axis=1)
            bboxes = np.concatenate([low, high - low], axis=1).astype(np.float64)
        box_scores = (np.asarray(pred['bbox_scores'], np.float64).reshape(-1)
                      if pred.get('bbox_scores') is not None else np.ones(len(keypoints)))
        return [dict(keypoints=points[n], center=bboxes[n, :2] + bboxes[n, 2:] / 2,
                     scale=bboxes[n, 2:] / PIXEL_STD, area=float(bboxes[n, 2] * bboxes[n, 3]),
                     score=float(box_scores[n]), bbox_id=n) for n in range(len(keypoints))]

    def _gt_records(self, gt: Optional[dict], index: int, image_id: Optional[int],
                    num_keypoints: Optional[int]) -> List[dict]:
        """The sample's ground-truth instances as COCO annotation ingredients."""
        if gt is None:
            raise ValueError(f"CocoKeypointMetric without ann_file builds the ground truth from "
                             f"data_batch['gt'], but entry {index} is None; pass ann_file or "
                             f'evaluate on ground-truth boxes')
        if num_keypoints is None:
            num_keypoints = np.shape(gt['keypoints'])[-2]
        truth = gt_instances(self, gt, index, num_keypoints)
        image_id = truth['image_id'] if truth['image_id'] is not None else image_id
        if truth['bboxes'] is None or image_id is None:
            raise KeyError(f"CocoKeypointMetric without ann_file needs 'bbox' (or 'bboxes') and "
                           f"'image_id' in data_batch['gt'][{index}]; it has {sorted(gt)}")
        records = []
        for m in range(len(truth['keypoints'])):
            records.append(dict(
                keypoints=truth['keypoints'][m], keypoints_visible=truth['visible'][m],
                bbox=truth['bboxes'][m], image_id=image_id,
                area=None if truth['areas'] is None else float(truth['areas'][m]),
                category_id=None if truth['category_ids'] is None
                else int(truth['category_ids'][m]),
                bbox_id=None if truth['ids'] is None else int(truth['ids'][m])))
        return records

    # ---------------------------------------------------------------- whole set
    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        instances = [r for sample in results for r in sample['instances']]
        sigmas = self._sigmas(instances)
        coco = self._ground_truth(results)
        self._resolve_image_ids(instances, coco)
        kept = [self._nms(group, sigmas) for group in self._by_image(instances).values()]
        coco_results = [coco_result(r, self._category(r, coco)) for rs in kept for r in rs]

        if self.outfile_prefix:
            return self._evaluate_file(coco, coco_results, f'{self.outfile_prefix}.keypoints.json',
                                       sigmas)
        with tempfile.TemporaryDirectory() as tmp_dir:
            return self._evaluate_file(coco, coco_results,
                                       osp.join(tmp_dir, 'results.keypoints.json'), sigmas)

    def _evaluate_file(self, coco, coco_results: list, path: str, sigmas) -> Dict[str, float]:
        dump_json_atomic(coco_results, path)
        if self.format_only:
            print_log(f'CocoKeypointMetric: results written to {osp.abspath(path)}',
                      logger='current')
            return {}
        if not coco.dataset.get('annotations'):
            # COCOeval would report AP -1 and the run would look successful
            raise ValueError(f'CocoKeypointMetric: the ground truth '
                             f'{self.ann_file or "(from the samples)"} has no annotations, so '
                             f'AP cannot be computed; give an annotated file, or set '
                             f'format_only=True to only write the results')
        if not coco_results:
            print_log('CocoKeypointMetric: no predictions to evaluate; AP and AR are 0',
                      logger='current', level=logging.WARNING)
            return {name: 0.0 for name in STATS_NAMES[self.iou_type]}
        from xtcocotools.cocoeval import COCOeval
        with captured_stdout() as log:
            coco_dt = coco.loadRes(path, resData=coco_results)
            coco_eval = COCOeval(coco, coco_dt, self.iou_type, sigmas, use_area=self.use_area)
            coco_eval.params.useSegm = None
            coco_eval.evaluate()
            coco_eval.accumulate()
            coco_eval.summarize()
        # keep COCOeval's summary table; drop its progress chatter
        summary = [line for line in log.getvalue().splitlines()
                   if line.lstrip().startswith('Average')]
        print_log('\n'.join(summary), logger='current')
        return {name: float(value)
                for name, value in zip(STATS_NAMES[self.iou_type], coco_eval.stats)}

    def _sigmas(self, results: List[dict]) -> np.ndarray:
        sigmas = dataset_meta_value(
            self, 'sigmas', 'one OKS sigma per keypoint, set in the dataset config '
            'configs/_base_/datasets/<name>.py')
        sigmas = np.asarray(sigmas, dtype=np.float64).reshape(-1)
        if results and len(sigmas) != len(results[0]['keypoints']):
            raise ValueError(f"CocoKeypointMetric: dataset_meta['sigmas'] has {len(sigmas)} "
                             f"values but predictions have {len(results[0]['keypoints'])} "
                             f'keypoints; they must match')
        return sigmas

    def _ground_truth(self, results: List[dict]):
        from xtcocotools.coco import COCO
        if self.ann_file is not None:
            if self._coco is None:
                with captured_stdout():
                    self._coco = COCO(self.ann_file)
            return self._coco
        unique = {}
        for sample in results:
            for n, gt in enumerate(sample['gt']):
                key = gt['bbox_id'] if gt['bbox_id'] is not None else (id(sample), n)
                unique[(gt['image_id'], key)] = gt
        gts = list(unique.values())
        num_keypoints = len(gts[0]['keypoints']) if gts else 0
        with captured_stdout():
            return COCO('data_batch[gt]', ann_data=coco_ground_truth(unique.values(),
                                                                      num_keypoints))

    def _resolve_image_ids(self, results: List[dict], coco) -> None:
        """Fill ``image_id`` from ``image_file`` (MMPose 0.x's ``name2id``) where missing, and
        check every id is an image of the annotations."""
        names = None
        known = set(coco.getImgIds())
        for r in results:
            if r['image_id'] is None:
                if names is None:
                    names = image_ids_by_file_name(coco)
                match = image_id_for_file(r['image_file'], names)
                if match is None:
                    raise KeyError(f"CocoKeypointMetric: image_file {r['image_file']!r} matches "
                                   f"no file_name in {self.ann_file}; give predictions an "
                                   f"'image_id' or use the annotation file of the dataset")
                r['image_id'] = match
            if r['image_id'] not in known:
                raise KeyError(f"CocoKeypointMetric: prediction for image_id {r['image_id']} "
                               f"({r['image_file']}) but {self.ann_file or 'the ground truth'} "
                               f'has no such image')

    @staticmethod
    def _by_image(results: List[dict]) -> Dict[int, List[dict]]:
        """Instances per image in bbox_id order, repeats of a bbox_id (from samplers padding the
        last batch) removed; instances without a bbox_id are kept, after the others."""
        by_image = defaultdict(dict)
        for order, r in enumerate(results):
            key = (0, r['bbox_id']) if r['bbox_id'] is not None else (1, order)
            by_image[r['image_id']].setdefault(key, r)
        return {image_id: [rs[k] for k in sorted(rs)] for image_id, rs in by_image.items()}

    def _nms(self, instances: List[dict], sigmas: np.ndarray) -> List[dict]:
        """Rescore the instances of one image and suppress duplicates."""
        scores = np.stack([r['keypoints'][:, 2] for r in instances])  # (M, K)
        counted = scores > self.keypoint_score_thr
        num = counted.sum(axis=1)
        mean = np.where(counted, scores, 0).sum(axis=1) / np.maximum(num, 1)
        rescored = []
        for r, kpt_score in zip(instances, np.where(num > 0, mean, 0.0)):
            rescored.append({**r, 'score': float(kpt_score) * r['score']})
        if self.nms_mode == 'none':
            return rescored
        nms = oks_nms if self.nms_mode == 'oks_nms' else soft_oks_nms
        keep = nms(rescored, self.nms_thr, sigmas)
        return [rescored[i] for i in keep]

    def _category(self, record: dict, coco) -> int:
        if record['category_id'] is not None:
            return record['category_id']
        cat_ids = coco.getCatIds()
        if len(cat_ids) != 1:
            raise ValueError(f'CocoKeypointMetric: {self.ann_file} has {len(cat_ids)} '
                             f"categories; predictions (or their gt) must carry 'category_id'")
        return cat_ids[0]
