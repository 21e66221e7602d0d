"""PCK / PCKh / AUC / EPE over predicted instances against ``data_batch['gt']`` (MMPose 0.x),
on image-level predictions: each image's instances are paired with its ground truths first."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from ...registry import METRICS
from ..functional import keypoint_auc, keypoint_epe, keypoint_pck_accuracy, match_instances
from ._records import batch_gts, gt_instances, prediction_instances

#: norm_item -> metric key (MMPose 0.x names; 'tPCK' as MMPose 1.x)
PCK_KEYS = {'bbox': 'PCK', 'head': 'PCKh', 'torso': 'tPCK', 'keypoint_distance': 'PCK'}
#: keypoint names that span the torso, tried in order (COCO-style, then JHMDB-style)
TORSO_NAMES = (('left_shoulder', 'right_hip', 'right_shoulder', 'left_hip'),
               ('lsho', 'rhip', 'rsho', 'lhip'))


class _GroundTruthMetric(BaseMetric):
    """Keeps, per sample with ground truth, its predicted and ground-truth instances paired
    (:func:`~posecfg.evaluation.functional.match_instances`; a top-down sample is one pair):
    pred (n, K, 2), gt (n, K, 2), mask (n, K), and the ground truths' bbox (n, 4) and head size
    (n,) where given.

    Samples whose ``data_batch['gt']`` entry is None (no ground truth) are skipped; a batch
    without ``gt`` at all is an error. Ground-truth instances no prediction is paired with are
    left out of the metric and counted in a log line.
    """

    default_prefix: Optional[str] = ''  # DESIGN.md: MMPose 0.x metric names, no prefix

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        gts = batch_gts(self, data_batch, len(data_samples))
        for i, (pred, gt) in enumerate(zip(data_samples, gts)):
            if gt is None:
                continue
            keypoints, _ = prediction_instances(self, pred, i)
            truth = gt_instances(self, gt, i, keypoints.shape[1])
            rows, cols = match_instances(keypoints, truth['keypoints'], truth['visible'])
            labelled = int((truth['visible'] > 0).any(axis=1).sum())
            self.results.append(dict(
                pred=keypoints[rows], gt=truth['keypoints'][cols],
                mask=truth['visible'][cols] > 0,
                bbox=None if truth['bboxes'] is None else truth['bboxes'][cols].astype(np.float32),
                head_size=None if truth['head_sizes'] is None else truth['head_sizes'][cols],
                unmatched=labelled - len(cols)))

    def _stacked(self, results: List[dict]):
        """pred, gt (N, K, 2) and mask (N, K) of all paired instances."""
        if not any(len(r['pred']) for r in results):
            raise ValueError(f"{type(self).__name__}: no prediction had ground truth "
                             f"(data_batch['gt'] entries were all None or the set was empty)")
        unmatched = sum(r['unmatched'] for r in results)
        if unmatched:
            print_log(f'{type(self).__name__}: {unmatched} ground-truth instances had no '
                      f'prediction to pair with and are left out', logger='current',
                      level=logging.WARNING)
        return tuple(np.concatenate([r[key] for r in results]) for key in ('pred', 'gt', 'mask'))

    @staticmethod
    def _column(results: List[dict], key: str) -> Optional[np.ndarray]:
        """The ``key`` arrays of all samples joined, or None if a sample lacks them."""
        if any(r[key] is None for r in results):
            return None
        return np.concatenate([r[key] for r in results])


@METRICS.register_module()
class PCKAccuracy(_GroundTruthMetric):
    """Percentage of correct keypoints: distance < ``thr`` × a per-instance size.

    Args:
        thr: threshold as a fraction of the size.
        norm_item: the size: 'bbox' (max of the GT box's w, h; key ``PCK``), 'head'
            (``gt['head_size']``; key ``PCKh``), 'torso' (left shoulder to right hip, from
            ``dataset_meta`` keypoint names; key ``tPCK``) or 'keypoint_distance' (between the
            two ground-truth keypoints ``keypoint_indices``, e.g. Horse-10's nose to eye; key
            ``PCK``), or a list of them.
        keypoint_indices: the two keypoints of 'keypoint_distance'.

    Instances whose size is 0 are left out, as MMPose 0.x does.
    """

    example_args = dict(thr=0.2, norm_item='bbox')

    def __init__(self, thr: float = 0.2, norm_item: Union[str, Sequence[str]] = 'bbox',
                 keypoint_indices: Optional[Sequence[int]] = None, collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        items = [norm_item] if isinstance(norm_item, str) else list(norm_item)
        for item in items:
            if item not in PCK_KEYS:
                raise ValueError(f"PCKAccuracy: norm_item must be 'bbox', 'head', 'torso' or "
                                 f"'keypoint_distance' (or a list of them), got {norm_item!r}")
        if 'keypoint_distance' in items and (keypoint_indices is None
                                             or len(keypoint_indices) != 2):
            raise ValueError(f"PCKAccuracy(norm_item='keypoint_distance') needs "
                             f'keypoint_indices=[i, j], two keypoints whose ground-truth distance '
                             f'is the size; got {keypoint_indices!r}')
        if len({PCK_KEYS[item] for item in items}) != len(items):
            raise ValueError(f'PCKAccuracy: norm_item {norm_item!r} gives two results of one '
                             f'name (bbox and keypoint_distance are both PCK); use one '
                             f'PCKAccuracy per normalisation')
        self.thr = thr
        self.norm_item = norm_item
        self.norm_items = items
        self.keypoint_indices = None if keypoint_indices is None else [int(i) for i in
                                                                       keypoint_indices]

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        pred, gt, mask = self._stacked(results)
        metrics = {}
        for item in self.norm_items:
            size = {'bbox': self._bbox_sizes, 'head': self._head_sizes,
                    'torso': self._torso_sizes,
                    'keypoint_distance': self._keypoint_distances}[item](results, gt)
            _, pck, _ = keypoint_pck_accuracy(pred, gt, mask, self.thr,
                                              np.repeat(size[:, None], 2, axis=1))
            metrics[PCK_KEYS[item]] = float(pck)
        return metrics

    def _bbox_sizes(self, results: List[dict], gt: np.ndarray) -> np.ndarray:
        boxes = self._column(results, 'bbox')
        if boxes is None:
            raise KeyError("PCKAccuracy(norm_item='bbox') needs data_batch['gt'][i]['bbox'] "
                           "(x, y, w, h) (or 'bboxes' (M, 4)) for every instance")
        return np.maximum(boxes[:, 2], boxes[:, 3]).astype(np.float64)

    def _head_sizes(self, results: List[dict], gt: np.ndarray) -> np.ndarray:
        sizes = self._column(results, 'head_size')
        if sizes is None:
            raise KeyError("PCKAccuracy(norm_item='head') needs data_batch['gt'][i]['head_size'] "
                           '(pixels) for every instance; datasets with head boxes (MPII) add it')
        return sizes.astype(np.float64)

    def _keypoint_distances(self, results: List[dict], gt: np.ndarray) -> np.ndarray:
        first, second = self.keypoint_indices
        if max(first, second) >= gt.shape[1]:
            raise ValueError(f'PCKAccuracy: keypoint_indices {self.keypoint_indices} must index '
                             f'the {gt.shape[1]} keypoints')
        return np.linalg.norm(gt[:, first] - gt[:, second], axis=-1)

    def _torso_sizes(self, results: List[dict], gt: np.ndarray) -> np.ndarray:
        ids = self._keypoint_ids()
        for names in TORSO_NAMES:
            if all(n in ids for n in names):
                ls, rh, rs, lh = (ids[n] for n in names)
                break
        else:
            raise KeyError("PCKAccuracy(norm_item='torso') needs keypoints named left_shoulder, "
                           'right_hip, right_shoulder, left_hip (or lsho, rhip, rsho, lhip) in '
                           f"dataset_meta; it has {sorted(ids)[:20]}")
        size = np.linalg.norm(gt[:, ls] - gt[:, rh], axis=-1)
        other = np.linalg.norm(gt[:, rs] - gt[:, lh], axis=-1)
        # a degenerate diagonal (< 1 px) falls back to the other one; 0 masks the instance
        size = np.where(size < 1, other, size)
        return np.where(size < 1, 0.0, size)

    def _keypoint_ids(self) -> Dict[str, int]:
        meta = self.dataset_meta or {}
        if meta.get('keypoint_name2id'):
            return dict(meta['keypoint_name2id'])
        if meta.get('keypoint_names'):
            return {name: i for i, name in enumerate(meta['keypoint_names'])}
        if meta.get('keypoint_info'):
            return {info['name']: int(i) for i, info in meta['keypoint_info'].items()}
        raise KeyError("PCKAccuracy(norm_item='torso') needs keypoint names in dataset_meta "
                       "('keypoint_name2id', 'keypoint_names' or 'keypoint_info'); it has "
                       f'{sorted(meta)}')


@METRICS.register_module()
class AUC(_GroundTruthMetric):
    """Area under the PCK curve, thresholds ``i / num_thrs`` (i < num_thrs) of ``norm_factor``
    pixels (MMPose 0.x's ``auc_nor``) -> key ``AUC``."""

    example_args = dict(norm_factor=30, num_thrs=20)

    def __init__(self, norm_factor: float = 30, num_thrs: int = 20, collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not norm_factor > 0 or int(num_thrs) < 1:
            raise ValueError(f'AUC: norm_factor must be > 0 pixels and num_thrs >= 1, got '
                             f'{norm_factor!r} and {num_thrs!r}')
        self.norm_factor = norm_factor
        self.num_thrs = int(num_thrs)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        pred, gt, mask = self._stacked(results)
        return {'AUC': keypoint_auc(pred, gt, mask, self.norm_factor, self.num_thrs)}


@METRICS.register_module()
class EPE(_GroundTruthMetric):
    """Mean end-point error in original-image pixels over labelled keypoints -> key ``EPE``."""

    example_args: dict = {}  # no arguments

    def __init__(self, collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        pred, gt, mask = self._stacked(results)
        return {'EPE': keypoint_epe(pred, gt, mask)}
