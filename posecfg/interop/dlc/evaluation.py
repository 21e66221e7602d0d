"""One DeepLabCut evaluation (a snapshot of a shuffle on its train and test splits) → its files.

:class:`EvaluationRun` gathers, per split, the model's per-sample prediction dicts and the
batches they came from (``data_batch['gt']``), computes DeepLabCut's numbers with
:class:`~posecfg.evaluation.metrics.DLCRMSEMetric` and writes the files of
:mod:`.outputs` where DeepLabCut's ``evaluate_snapshot`` puts them (the file list and the facts
are in :mod:`posecfg.engine.hooks.dlc_evaluation`). It knows nothing of the runner: the hook
hands it what the test loop produced.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from posecfg.files import atomic_path

from .outputs import (evaluation_scores, predictions_frame, scorer_name,
                      write_evaluation_results, write_keypoint_results, write_predictions)
from .project import read_project
from .training_dataset import evaluation_folder, pose_config_path

METRIC_ORDER = ('rmse', 'rmse_pcutoff', 'mAP', 'mAR')  # evaluation.py's results order


def label_index(image_path: Union[str, Path], where: str = '') -> Tuple[str, str, str]:
    """``('labeled-data', <video>, <image>)`` of an image path (DeepLabCut's
    ``image_to_dlc_df_index``, apis/evaluation.py:817-831)."""
    parts = Path(str(image_path).replace('\\', '/')).parts
    if len(parts) < 3 or parts[-3] != 'labeled-data':
        raise ValueError(f'{where}image {image_path} is not in <project>/labeled-data/<video>/ '
                         f'(DeepLabCut names evaluation rows by that path)')
    return tuple(parts[-3:])


class EvaluationRun:
    """The evaluation of one snapshot of one shuffle.

    Args:
        project: the project's ``config.yaml`` (or folder, or a read project).
        shuffle, trainset_index: the shuffle evaluated.
        epoch: the snapshot's epoch; ``best``: it is a ``snapshot-best-NNN.pt``.
        net_type: DeepLabCut net type for the scorer (None: the shuffle's pytorch_config.yaml).
        pcutoff: None for the project's ``pcutoff``.
    """

    def __init__(self, project, shuffle: int, trainset_index: int = 0, epoch: int = 0,
                 best: bool = False, net_type: Optional[str] = None,
                 pcutoff: Optional[Union[float, Sequence[float]]] = None):
        self.project = read_project(project)
        self.shuffle, self.trainset_index = int(shuffle), int(trainset_index)
        self.fraction = self.project.training_fraction(self.trainset_index)
        self.epoch, self.best = int(epoch), bool(best)
        self.pose_config = self._pose_config()
        self.net_type = net_type or self._net_type()
        # DeepLabCut's columns and matching use the shuffle's metadata.individuals
        # (data/dlcloader.py:172); one individual means single animal (apis/evaluation.py:202)
        metadata = self.pose_config.get('metadata') or {}
        self.individuals = list(metadata.get('individuals') or self.project.individuals)
        self.single_animal = len(self.individuals) == 1
        self.pcutoff = self.project.pcutoff if pcutoff is None else pcutoff
        if isinstance(self.pcutoff, (list, tuple)):
            self.pcutoff = [float(v) for v in self.pcutoff]
            count = len(self.project.bodyparts) + len(self.project.unique_bodyparts)
            if len(self.pcutoff) != count:  # DeepLabCut's _validate_pcutoff (evaluation.py:894)
                raise ValueError(f'pcutoff has {len(self.pcutoff)} values; a list needs one per '
                                 f'bodypart then unique bodypart ({count})')
        self.scorer = scorer_name(self.project.task, self.project.date, self.shuffle,
                                  self.net_type, self.epoch, self.best)
        self.folder = evaluation_folder(self.project, self.fraction, self.shuffle)
        self.results: Dict[str, Dict[str, float]] = {}
        self.per_bodypart: Dict[str, Dict[str, float]] = {}
        self.predictions: Dict[Tuple[str, ...], Tuple[np.ndarray, np.ndarray]] = {}
        self.identity_scores: Dict[Tuple[str, ...], np.ndarray] = {}
        self.split_of: Dict[Tuple[str, ...], str] = {}
        self.row_order: Optional[List[Tuple[str, ...]]] = None

    def _pose_config(self) -> dict:
        """The shuffle's ``train/pytorch_config.yaml`` ({} when there is none)."""
        from .yaml_io import load_yaml
        path = pose_config_path(self.project, self.fraction, self.shuffle)
        return load_yaml(path) if path.is_file() else {}

    def _net_type(self) -> str:
        net_type = self.pose_config.get('net_type')
        if not net_type:
            path = pose_config_path(self.project, self.fraction, self.shuffle)
            raise ValueError(f'{path}: no net_type to name the evaluation scorer with (create '
                             f'the shuffle first, or give net_type)')
        return str(net_type)

    # -- gathering -------------------------------------------------------------------------
    def add_split(self, split: str, dataset: Any, batches: Sequence[Tuple[Any, Sequence]]):
        """Score one split: ``batches`` = ``(data_batch, outputs)`` pairs of the model's test
        steps over ``dataset`` (a DLCProjectDataset in test mode)."""
        from posecfg.evaluation.metrics.dlc_rmse import DLCRMSEMetric
        if split not in ('train', 'test'):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        metric = DLCRMSEMetric(pcutoff=self.pcutoff, single_animal=self.single_animal,
                               with_map=True, per_keypoint=True)
        metric.dataset_meta = {}  # per-bodypart keys stay rmse_keypoint_<k>; named below
        seen = set()
        truth: Dict[Tuple[str, ...], np.ndarray] = {}
        for data_batch, outputs in batches:
            # one entry per image: a distributed sampler repeats samples to even out ranks
            keep = [i for i, pred in enumerate(outputs)
                    if self._image_key(pred, split) not in seen]
            seen.update(self._image_key(outputs[i], split) for i in keep)
            gts = data_batch.get('gt') if isinstance(data_batch, dict) else None
            metric.process({'gt': None if gts is None else [gts[i] for i in keep]},
                           [outputs[i] for i in keep])
            for i in keep:
                self._keep_prediction(outputs[i], split)
                if gts is not None and gts[i] is not None:
                    truth[self._image_key(outputs[i], split)] = self._individual_rows(gts[i])
        if not metric.results:
            raise ValueError(f'the {split} split had no labelled image to evaluate')
        values = metric.compute_metrics(metric.results)
        self.results[split] = {k: values.get(k, math.nan) for k in METRIC_ORDER}
        scored = [key for key in truth if key in self.identity_scores]
        if scored:  # apis/evaluation.py: id_head_<name> after the pose metrics
            from posecfg.evaluation.functional.dlc_identity import identity_accuracy
            accuracy = identity_accuracy(
                self.project.bodyparts, len(self.individuals),
                {key: self.predictions[key][0] for key in scored},
                {key: self.identity_scores[key] for key in scored},
                {key: truth[key] for key in scored})
            self.results[split].update({f'id_head_{k}': v for k, v in accuracy.items()})
        self.per_bodypart[split] = self._bodypart_errors(values)
        labels = getattr(dataset, 'labels', None)
        if labels is not None and self.row_order is None:
            self.row_order = [label_index(p, f'{type(dataset).__name__}: ')
                              for p in labels.image_paths]

    def _individual_rows(self, gt: dict) -> np.ndarray:
        """An image's ground truth as (I, K, 3) x, y, visibility, row ``j`` = individual ``j``
        (DeepLabCut's ``ground_truth_keypoints``), from ``gt`` and its ``identities``."""
        from posecfg.evaluation.metrics._records import _to_numpy
        k = len(self.project.bodyparts)
        rows = np.zeros((len(self.individuals), k, 3))
        keypoints = _to_numpy(gt['keypoints']).reshape(-1, k, 2)
        visible = _to_numpy(gt['keypoints_visible']).reshape(-1, k)
        ids = gt.get('identities')
        ids = np.arange(len(keypoints)) if ids is None else _to_numpy(ids).astype(int)
        for j, xy, vis in zip(ids, keypoints, visible):
            if 0 <= j < len(rows):
                rows[j, :, :2], rows[j, :, 2] = xy, vis
        return rows

    @staticmethod
    def _image_key(pred: dict, split: str) -> Tuple[str, ...]:
        """The DeepLabCut row of a prediction, from its ``image_file``."""
        image = pred.get('image_file') if isinstance(pred, dict) else None
        if image is None:
            raise KeyError(f"{split} split: a prediction has no 'image_file' (collect it with "
                           f"meta_keys=['image_file', ...]); DeepLabCut's rows are named by it")
        return label_index(image, f'{split} split: ')

    def _keep_prediction(self, pred: dict, split: str) -> None:
        """The image's row of DeepLabCut's predictions table: poses padded to the individuals
        with -1 (NaN for keypoints missing from an assembly), reordered by identity when the
        model has an identity head, unique bodyparts (:mod:`~posecfg.evaluation.functional.
        dlc_identity` for the facts)."""
        from posecfg.evaluation.functional.dlc_identity import identity_order, pad_poses
        from posecfg.evaluation.metrics._records import prediction_instances
        from posecfg.evaluation.metrics.dlc_rmse import dlc_poses, unique_prediction
        keypoints, scores = prediction_instances(self, pred, 0)
        poses = pad_poses(dlc_poses(keypoints, scores), len(self.individuals))
        identity = self._identity_scores(pred, keypoints, len(poses))
        if identity is not None:
            order = identity_order(poses, identity)
            poses, identity = poses[order], identity[order]
        unique = np.full((len(self.project.unique_bodyparts), 3), np.nan)
        found = unique_prediction(pred)
        if unique.size and found is not None:
            unique[:, :2], unique[:, 2] = found[0].reshape(-1, 2), found[1].reshape(-1)
        key = self._image_key(pred, split)
        self.predictions[key] = (poses, unique)
        self.split_of[key] = split
        if identity is not None:
            self.identity_scores[key] = identity

    def _identity_scores(self, pred: dict, keypoints: np.ndarray, rows: int):
        """(rows, K, I) identity scores of the predicted poses (-1 padding), or None without an
        identity head: the prediction's ``identity_scores`` (``BottomUp`` reads the identity
        maps at its keypoints), else the identity head's ``identity_maps`` read at the
        keypoints (input-size maps; DeepLabCut's evaluation feeds whole images, data.inference
        resizes nothing, so the keypoints are read there as they are)."""
        from posecfg.evaluation.functional.dlc_identity import pad_poses
        from posecfg.evaluation.metrics._records import _to_numpy
        if pred.get('identity_scores') is not None:  # BottomUp's, at its keypoints
            return pad_poses(_to_numpy(pred['identity_scores']), rows)
        maps = None
        for value in pred.values():
            if isinstance(value, dict) and value.get('identity_maps') is not None:
                maps = value['identity_maps']
        if maps is None:
            return None
        from posecfg.codecs.dekr import identity_scores
        scores = identity_scores(maps, keypoints) if len(keypoints) else \
            np.zeros((0, keypoints.shape[1], len(self.individuals)))
        return pad_poses(scores, rows)

    def _bodypart_errors(self, values: Dict[str, float]) -> Dict[str, float]:
        """``rmse_keypoint_<k>`` → bodypart names (DeepLabCut's ``_extract_rmse_per_bodypart``,
        evaluation.py:962-990: bodyparts then unique bodyparts)."""
        out = {}
        for prefix, names in (('rmse_keypoint', self.project.bodyparts),
                              ('rmse_unique_keypoint', self.project.unique_bodyparts)):
            for i, name in enumerate(names):
                if f'{prefix}_{i}' in values:
                    out[name] = values[f'{prefix}_{i}']
        return out

    # -- writing ---------------------------------------------------------------------------
    def predictions_table(self) -> pd.DataFrame:
        """Every evaluated image's predictions, reindexed to the merged labels' rows."""
        index = list(self.predictions)
        poses = np.stack([p for p, _ in self.predictions.values()])
        unique = np.stack([u for _, u in self.predictions.values()])
        df = predictions_frame(poses, self.scorer, self.project.bodyparts,
                               individuals=self.individuals,
                               unique_predictions=unique,
                               unique_bodyparts=self.project.unique_bodyparts, index=index)
        if self.row_order is not None:
            df = df.reindex(pd.MultiIndex.from_tuples(self.row_order))
        return df

    def write(self, per_keypoint: bool = False, plot: bool = False,
              predictions_csv: bool = True) -> List[Path]:
        self.folder.mkdir(parents=True, exist_ok=True)
        results = {split: self.results.get(split, {k: math.nan for k in METRIC_ORDER})
                   for split in ('train', 'test')}
        scores = evaluation_scores(self.fraction, self.shuffle, self.epoch, self.pcutoff,
                                   results)
        written = write_predictions(self.predictions_table(), self.folder / f'{self.scorer}.h5',
                                    csv=predictions_csv, table_format=False)
        written += list(write_evaluation_results(self.folder, self.scorer, scores))
        if per_keypoint:
            written.append(write_keypoint_results(
                self.folder, self.scorer,
                {split: self.per_bodypart[split] for split in ('train', 'test')
                 if split in self.per_bodypart}))
        if plot:
            written += self.plot()
        return written

    def plot(self) -> List[Path]:
        """The evaluated images with their predictions (score >= pcutoff) drawn, in
        ``LabeledImages_<scorer>/Training-<video>-<image>`` or ``Test-<video>-<image>``
        (DeepLabCut's names, utils/visualization.py:258-270; its figures also mark the labels)."""
        import cv2
        from posecfg.apis.visualize import draw_pose
        out_dir = self.folder / f'LabeledImages_{self.scorer}'
        out_dir.mkdir(parents=True, exist_ok=True)
        cutoff = self.pcutoff if np.ndim(self.pcutoff) == 0 else np.asarray(self.pcutoff)
        written = []
        for index, (poses, unique) in self.predictions.items():
            image = cv2.imread(str(self.project.root.joinpath(*index)))
            if image is None:
                raise FileNotFoundError(f'{self.project.root.joinpath(*index)}: cannot read the '
                                        f'image to plot the predictions on')
            points = np.concatenate([poses.reshape(-1, 3), unique.reshape(-1, 3)])
            valid = ~np.isnan(points).any(axis=1)
            cut = cutoff if np.ndim(cutoff) == 0 else np.concatenate(
                [np.tile(cutoff[:poses.shape[1]], len(poses)), cutoff[poses.shape[1]:]])
            shown = valid & (np.nan_to_num(points[:, 2], nan=-1) >= cut)
            xy = np.where(valid[:, None], points[:, :2], 0)
            canvas = draw_pose(image, xy, shown.astype(float), score_thr=0.5)
            kind = 'Training' if self.split_of[index] == 'train' else 'Test'
            path = out_dir / '-'.join((kind, index[1], index[2]))
            with atomic_path(path) as tmp:
                if not cv2.imwrite(str(tmp), canvas):
                    raise OSError(f'could not write {path}')
            written.append(path)
        return written

    def summary(self) -> str:
        parts = []
        for split in ('train', 'test'):
            if split in self.results:
                r = self.results[split]
                parts.append(f"{split} rmse {r['rmse']:.2f} px, rmse_pcutoff "
                             f"{r['rmse_pcutoff']:.2f} px, mAP {r['mAP']:.2f}, mAR {r['mAR']:.2f}")
        return f'{self.scorer}: ' + '; '.join(parts)
