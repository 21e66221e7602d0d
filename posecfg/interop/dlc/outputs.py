"""DeepLabCut 3's output files: predictions, evaluation results, learning stats.

Facts (DeepLabCut 3.0.2, deeplabcut/pose_estimation_pytorch/):

* scorer (apis/utils.py ``get_scorer_name``, data/dlcloader.py ``DLCLoader.scorer``):
  ``DLC_<NetType>_<Task><date>shuffle<k>_snapshot_<uid>`` with ``<NetType>`` the net type's
  ``_``-separated words capitalised and joined (``resnet_50`` → ``Resnet50``, ``hrnet_w32`` →
  ``HrnetW32``) and ``<uid>`` the epoch or ``best-<epoch>`` (no zero padding); top-down models
  with a detector: ``..._detector_<det uid>_snapshot_<uid>``;
* video predictions (apis/videos.py ``create_df_from_prediction``): ``<video stem><scorer>.h5``,
  key ``df_with_missing``, ``format="table"``, rows ``0..F-1``, columns
  ``scorer/bodyparts/coords`` (single animal) or ``scorer/individuals/bodyparts/coords``
  (multi-animal, unique bodyparts under ``single``), coords ``x, y, likelihood``; optional
  ``.csv``; ``<video stem><scorer>_meta.pickle`` holding ``{"data": {...}}`` (``_generate_metadata``);
* evaluation (apis/evaluation.py ``evaluate_snapshot``), in
  ``evaluation-results-pytorch/iteration-N/<Task><date>-trainset<pct>shuffle<k>/``:
  ``<scorer>.h5`` (key ``df_with_missing``, default fixed format) with the predictions of every
  labelled image in the merged labels' row order (rows not evaluated are NaN), columns always
  ``scorer/individuals/bodyparts/coords`` (``build_dlc_dataframe_columns``); ``<scorer>-results.csv``
  with index ``%Training dataset, Shuffle number, Training epochs, Detector epochs (TD only),
  pcutoff`` and columns ``train rmse, train rmse_pcutoff, train mAP, train mAR, test ...``
  (values rounded to 2 decimals); ``../CombinedEvaluation-results.csv`` (all evaluations,
  ``combine_first`` then sorted); with per-keypoint evaluation ``<scorer>-keypoint-results.csv``
  (rows ``Train error (px)``, ``Test error (px)``, one column per bodypart);
* ``learning_stats.csv`` in the model's train folder (runners/logger.py ``CSVLogger``): header
  ``step`` + the metric names sorted, one row per epoch (``step`` = epoch), values as Python
  writes floats, empty cells for metrics not logged that epoch; metric names
  ``losses/train.<loss>``, ``losses/eval.<loss>``, ``metrics/test.<metric>``.

Every file is written to a temporary name and renamed into place (DeepLabCut writes in place).
"""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from posecfg.files import atomic_path, write_atomically

from .safe_pickle import dump_pickle, load_pickle

COORDS = ('x', 'y', 'likelihood')
EVALUATION_INDEX = ['%Training dataset', 'Shuffle number', 'Training epochs',
                    'Detector epochs (TD only)', 'pcutoff']


def net_type_label(net_type: str) -> str:
    """``resnet_50`` → ``Resnet50`` (words capitalised, joined)."""
    return ''.join(part.capitalize() for part in net_type.split('_'))


def scorer_name(task: str, date: str, shuffle: int, net_type: str, epoch: int,
                best: bool = False, detector_epoch: Optional[int] = None,
                detector_best: bool = False) -> str:
    uid = f'snapshot_{"best-" if best else ""}{epoch}'
    if detector_epoch is not None:
        uid = f'detector_{"best-" if detector_best else ""}{detector_epoch}_{uid}'
    return f'DLC_{net_type_label(net_type)}_{task}{date}shuffle{shuffle}_{uid}'


def video_output_prefix(video: Union[str, Path], scorer: str) -> str:
    """``<video stem><scorer>``: the stem of ``.h5``, ``.csv``, ``_meta.pickle``, ``_full.pickle``."""
    return f'{Path(video).stem}{scorer}'


def prediction_columns(scorer: str, bodyparts: Sequence[str],
                       individuals: Optional[Sequence[str]] = None,
                       unique_bodyparts: Sequence[str] = (),
                       coords: Sequence[str] = COORDS) -> pd.MultiIndex:
    """Columns: ``scorer/bodyparts/coords`` when ``individuals`` is None, otherwise
    ``scorer/individuals/bodyparts/coords`` with unique bodyparts under ``single``."""
    if individuals is None:
        if unique_bodyparts:
            raise ValueError('unique bodyparts need the individuals level')
        return pd.MultiIndex.from_tuples([(scorer, b, c) for b in bodyparts for c in coords],
                                         names=['scorer', 'bodyparts', 'coords'])
    cols = [(scorer, i, b, c) for i in individuals for b in bodyparts for c in coords]
    cols += [(scorer, 'single', b, c) for b in unique_bodyparts for c in coords]
    return pd.MultiIndex.from_tuples(cols, names=['scorer', 'individuals', 'bodyparts', 'coords'])


def predictions_frame(predictions: np.ndarray, scorer: str, bodyparts: Sequence[str],
                      individuals: Optional[Sequence[str]] = None,
                      unique_predictions: Optional[np.ndarray] = None,
                      unique_bodyparts: Sequence[str] = (), index=None) -> pd.DataFrame:
    """A predictions DataFrame in DeepLabCut's layout.

    Args:
        predictions: (F, N, K, 3) x, y (pixels), likelihood; N = 1 for the 3-level layout.
        individuals: None for the single-animal (3-level) layout.
        unique_predictions: (F, U, 3) or None.
        index: row index (default ``0..F-1`` as for videos; evaluation files pass the image
            index tuples).
    """
    predictions = np.asarray(predictions, dtype=np.float64)
    if predictions.ndim != 4 or predictions.shape[-1] != 3:
        raise ValueError(f'predictions must be (frames, individuals, bodyparts, 3), '
                         f'found {predictions.shape}')
    n_ind = 1 if individuals is None else len(individuals)
    if predictions.shape[1:3] != (n_ind, len(bodyparts)):
        raise ValueError(f'predictions {predictions.shape} do not match {n_ind} individual(s) '
                         f'x {len(bodyparts)} bodyparts')
    values = predictions.reshape(len(predictions), -1)
    if unique_bodyparts:
        unique = np.asarray(unique_predictions, dtype=np.float64)
        if unique.shape != (len(predictions), len(unique_bodyparts), 3):
            raise ValueError(f'unique predictions must be (frames, {len(unique_bodyparts)}, 3), '
                             f'found {unique.shape}')
        values = np.concatenate([values, unique.reshape(len(unique), -1)], axis=1)
    columns = prediction_columns(scorer, bodyparts, individuals, unique_bodyparts)
    if index is None:
        index = range(len(predictions))
    elif not isinstance(index, pd.Index) and len(index) and isinstance(index[0], tuple):
        index = pd.MultiIndex.from_tuples(index)
    return pd.DataFrame(values, index=index, columns=columns)


def write_predictions(df: pd.DataFrame, h5_path: Union[str, Path], csv: bool = False,
                      table_format: bool = True) -> List[Path]:
    """Write a predictions DataFrame to ``h5_path`` (key ``df_with_missing``) and optionally
    the ``.csv`` beside it. ``table_format`` as for video analysis; evaluation files use
    pandas' default fixed format (``table_format=False``)."""
    h5_path = Path(h5_path)
    if csv:  # before the .h5, whose presence means a complete output
        with atomic_path(h5_path.with_suffix('.csv')) as tmp:
            df.to_csv(tmp)
    with atomic_path(h5_path) as tmp:
        if table_format:
            df.to_hdf(tmp, key='df_with_missing', format='table', mode='w')
        else:
            df.to_hdf(tmp, key='df_with_missing', mode='w')
    return [h5_path, h5_path.with_suffix('.csv')] if csv else [h5_path]


def read_predictions(path: Union[str, Path]) -> Dict[str, Any]:
    """A DeepLabCut predictions file (.h5) → arrays.

    Returns a dict: ``scorer``, ``index`` (row labels), ``bodyparts``, ``individuals`` (None
    for the 3-level layout), ``keypoints`` (F, N, K, 3), ``unique_bodyparts``,
    ``unique_keypoints`` (F, U, 3).
    """
    df = pd.read_hdf(path, key='df_with_missing')
    names = list(df.columns.names)
    multi = names == ['scorer', 'individuals', 'bodyparts', 'coords']
    if not multi and names != ['scorer', 'bodyparts', 'coords']:
        raise ValueError(f'{path}: column levels {names} are not DeepLabCut predictions')
    scorer = df.columns.get_level_values('scorer')[0]
    if multi:
        inds = df.columns.get_level_values('individuals')
        individuals = [i for i in dict.fromkeys(inds) if i != 'single']
        animal = df.loc[:, inds != 'single']
        bodyparts = list(dict.fromkeys(animal.columns.get_level_values('bodyparts')))
        unique_df = df.loc[:, inds == 'single']
        unique_bodyparts = list(dict.fromkeys(unique_df.columns.get_level_values('bodyparts')))
    else:
        individuals, animal, unique_df, unique_bodyparts = None, df, None, []
        bodyparts = list(dict.fromkeys(df.columns.get_level_values('bodyparts')))
    n_ind = 1 if individuals is None else len(individuals)
    keypoints = animal.to_numpy(np.float64).reshape(len(df), n_ind, len(bodyparts), 3)
    unique = (np.zeros((len(df), 0, 3)) if not unique_bodyparts else
              unique_df.to_numpy(np.float64).reshape(len(df), len(unique_bodyparts), 3))
    return {'scorer': scorer, 'index': list(df.index), 'bodyparts': bodyparts,
            'individuals': individuals, 'keypoints': keypoints,
            'unique_bodyparts': unique_bodyparts, 'unique_keypoints': unique}


def write_video_metadata(path: Union[str, Path], *, scorer: str, pose_config: Mapping,
                         fps: float, batch_size: int, frame_dimensions: Tuple[int, int],
                         nframes: int, iteration: int, train_fraction: float,
                         start: float, stop: float,
                         cropping: Optional[Sequence[int]] = None) -> None:
    """``<prefix>_meta.pickle`` with DeepLabCut's keys (apis/videos.py ``_generate_metadata``).

    DeepLabCut pickles its pydantic config dump, which holds its own enum classes and
    ``pathlib`` objects, so reading its file needs DeepLabCut importable and trusts the file to
    run code. posecfg writes the same keys with plain values only (``pose_config`` as plain
    data, paths as strings, tuples for ``frame_dimensions``): DeepLabCut reads it like its own,
    and :func:`~.safe_pickle.load_pickle` reads it without running anything.
    """
    w, h = frame_dimensions
    data = {
        'start': float(start), 'stop': float(stop), 'run_duration': float(stop - start),
        'Scorer': scorer, 'pytorch-config': _plain(pose_config), 'fps': float(fps),
        'batch_size': int(batch_size), 'frame_dimensions': (int(w), int(h)),
        'nframes': int(nframes), 'iteration (active-learning)': int(iteration),
        'training set fraction': train_fraction, 'cropping': cropping is not None,
        'cropping_parameters': list(cropping) if cropping is not None else [0, w, 0, h],
        'individuals': list(pose_config['metadata']['individuals']),
        'bodyparts': list(pose_config['metadata']['bodyparts']),
        'unique_bodyparts': list(pose_config['metadata']['unique_bodyparts']),
    }
    dump_pickle({'data': data}, path)


def read_video_metadata(path: Union[str, Path]) -> Dict[str, Any]:
    """A ``_meta.pickle``'s ``data`` dict, read with the restricted unpickler."""
    obj = load_pickle(path)
    if not isinstance(obj, dict) or 'data' not in obj:
        raise ValueError(f"{path}: expected {{'data': {{...}}}} (DeepLabCut video metadata)")
    return obj['data']


def _plain(obj):
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


# --------------------------------------------------------------------------------------------
# Evaluation results
# --------------------------------------------------------------------------------------------

def evaluation_scores(train_fraction: float, shuffle: int, epochs: int,
                      pcutoff: Union[float, Sequence[float]],
                      results: Mapping[str, Mapping[str, float]],
                      detector_epochs: int = -1) -> pd.DataFrame:
    """The one-row results table of ``evaluate_snapshot``.

    ``results`` maps ``'train'``/``'test'`` to metric dicts (``rmse``, ``rmse_pcutoff``,
    ``mAP``, ``mAR`` in that order, as :func:`posecfg.evaluation.functional.dlc_metrics.
    compute_metrics` returns); values are rounded to 2 decimals as DeepLabCut does.
    """
    scores: Dict[str, Any] = {
        '%Training dataset': train_fraction, 'Shuffle number': shuffle,
        'Training epochs': epochs, 'Detector epochs (TD only)': detector_epochs,
        'pcutoff': (', '.join(str(v) for v in pcutoff) if isinstance(pcutoff, (list, tuple))
                    else pcutoff)}
    for split in ('train', 'test'):
        for name, value in results[split].items():
            scores[f'{split} {name}'] = round(value, 2)
    return pd.DataFrame([scores]).set_index(EVALUATION_INDEX)


def write_evaluation_results(folder: Union[str, Path], scorer: str,
                             scores: pd.DataFrame) -> Tuple[Path, Path]:
    """``<scorer>-results.csv`` in ``folder`` and ``CombinedEvaluation-results.csv`` in its
    parent (existing rows kept, this one replacing an equal index, sorted)."""
    folder = Path(folder)
    path = folder / f'{scorer}-results.csv'
    with atomic_path(path) as tmp:
        scores.to_csv(tmp)
    combined_path = folder.parent / 'CombinedEvaluation-results.csv'
    combined = scores
    if combined_path.exists():
        existing = pd.read_csv(combined_path, index_col=[0, 1, 2, 3, 4])
        combined = scores.combine_first(existing)
    with atomic_path(combined_path) as tmp:
        combined.sort_index().to_csv(tmp)
    return path, combined_path


def write_keypoint_results(folder: Union[str, Path], scorer: str,
                           rmse_per_bodypart: Mapping[str, Mapping[str, float]]) -> Path:
    """``<scorer>-keypoint-results.csv``: rows ``Train error (px)``/``Test error (px)``."""
    path = Path(folder) / f'{scorer}-keypoint-results.csv'
    index = [f'{split.capitalize()} error (px)' for split in rmse_per_bodypart]
    df = pd.DataFrame(list(rmse_per_bodypart.values()), index=index)
    with atomic_path(path) as tmp:
        df.to_csv(tmp)
    return path


# --------------------------------------------------------------------------------------------
# learning_stats.csv
# --------------------------------------------------------------------------------------------

class LearningStats:
    """DeepLabCut's ``CSVLogger``: per-step metric rows, the whole file rewritten each log.

    Resuming reads an existing file (values as floats, empty cells as None) and appends.
    """

    def __init__(self, path: Union[str, Path]):
        self.path = Path(path)
        self.steps: List[int] = []
        self.rows: List[Dict[str, Any]] = []
        self.names: set = set()
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        with open(self.path, newline='') as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None or 'step' not in reader.fieldnames:
                raise ValueError(f"{self.path}: not a learning_stats.csv (no 'step' column)")
            names = [n for n in reader.fieldnames if n != 'step']
            self.names.update(names)
            for row in reader:
                values = {}
                for name in names:
                    text = (row.get(name) or '').strip()
                    try:
                        values[name] = float(text) if text else None
                    except ValueError:
                        values[name] = text
                self.steps.append(int(row['step']))
                self.rows.append(values)

    def log(self, metrics: Mapping[str, Any], step: Optional[int] = None) -> None:
        """Add ``metrics`` at ``step`` (merged into the last row when it is the same step)."""
        if step is None:
            step = self.steps[-1] + 1 if self.steps else 0
        self.names.update(metrics)
        if self.steps and step == self.steps[-1]:
            self.rows[-1].update(metrics)
        else:
            self.steps.append(step)
            self.rows.append(dict(metrics))
        self.save()

    def text(self) -> str:
        if not self.rows:
            return ''
        names = sorted(self.names)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(['step'] + names)
        for step, row in zip(self.steps, self.rows):
            writer.writerow([step] + ['' if row.get(n) is None else row.get(n) for n in names])
        return out.getvalue()

    def save(self) -> None:
        write_atomically(self.text(), self.path)
