"""Lightning Pose's prediction and metric CSVs, byte for byte, written atomically.

Layouts (Lightning Pose 2.4.3):

- ``predictions.csv`` (labelled images; ``utils/predictions.py``): pandas columns
  ``MultiIndex.from_product([[f'{model_type}_tracker'], keypoint_names, ['x', 'y',
  'likelihood']], names=['scorer', 'bodyparts', 'coords'])`` (l. 595-614), float64 values, a
  last column ``('set', '', '')`` holding ``train`` / ``validation`` / ``test`` / ``unused``
  (l. 223-239), the index the CSV's image paths (l. 327), written by ``DataFrame.to_csv``. So the
  file starts ``scorer,heatmap_tracker,…,set`` / ``bodyparts,nose,nose,nose,…,`` /
  ``coords,x,y,likelihood,…,`` and each row is ``labeled-data/img01.png,x,y,likelihood,…,train``;
- ``video_preds/<video>.csv``: the same without ``set``, the index the frame number 0…T-1;
- metric files (``metrics.py::compute_metrics_single``, l. 187-327) next to the predictions,
  named ``<predictions stem>_pixel_error.csv``, ``_temporal_norm.csv`` (videos only),
  ``_pca_singleview_error.csv``, ``_pca_multiview_error.csv``: one header row ``,<keypoint>,…``
  (plus ``,set`` for labelled images), the predictions' index, one float per keypoint (empty for
  NaN).

Lightning Pose copies ``image_preds/<csv name>/predictions*.csv`` to the run folder as
``predictions.csv`` etc. (``train.py:227-246``); posecfg writes the run-folder names directly.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from posecfg.files import write_atomically

PREDICTION_COORDS = ('x', 'y', 'likelihood')
SET_COLUMN = 'set'
METRIC_SUFFIXES = {
    'pixel_error': '_pixel_error.csv',
    'temporal_norm': '_temporal_norm.csv',
    'pca_singleview': '_pca_singleview_error.csv',
    'pca_multiview': '_pca_multiview_error.csv',
}


class LPOutputError(ValueError):
    """Arrays that do not fit the file asked for."""


def scorer_name(model_type: str) -> str:
    """The ``scorer`` header value Lightning Pose writes: ``<model_type>_tracker``."""
    return f'{model_type}_tracker'


def predictions_frame(keypoints: np.ndarray, likelihood: np.ndarray,
                      keypoint_names: Sequence[str], model_type: str,
                      index: Optional[Sequence] = None, sets: Optional[Sequence[str]] = None):
    """The predictions as Lightning Pose's DataFrame.

    Args:
        keypoints: (N, K, 2) predictions in original-image pixels.
        likelihood: (N, K) confidences (regression models: 0, as Lightning Pose writes them).
        keypoint_names: (K,).
        model_type: ``model.model_type`` (the scorer is ``<model_type>_tracker``).
        index: (N,) image paths for labelled images; None for videos (frame numbers 0…N-1).
        sets: (N,) ``train`` / ``validation`` / ``test`` / ``unused`` (labelled images only).
    """
    import pandas as pd

    keypoints = np.asarray(keypoints, dtype=np.float64)
    likelihood = np.asarray(likelihood, dtype=np.float64)
    n, k = len(keypoints), len(keypoint_names)
    if keypoints.shape != (n, k, 2) or likelihood.shape != (n, k):
        raise LPOutputError(f'predictions: keypoints {keypoints.shape} and likelihood '
                            f'{likelihood.shape} must be (N, {k}, 2) and (N, {k}) for the '
                            f'{k} keypoint names')
    values = np.concatenate([keypoints, likelihood[..., None]], axis=2).reshape(n, 3 * k)
    columns = pd.MultiIndex.from_product(
        [[scorer_name(model_type)], list(keypoint_names), list(PREDICTION_COORDS)],
        names=['scorer', 'bodyparts', 'coords'])
    frame = pd.DataFrame(values, columns=columns)
    if sets is not None:
        frame[SET_COLUMN] = _sets(sets, n)
    if index is not None:
        frame.index = _index(index, n)
    return frame


def metric_frame(values: np.ndarray, keypoint_names: Sequence[str], index: Sequence,
                 sets: Optional[Sequence[str]] = None):
    """A per-keypoint metric as Lightning Pose's DataFrame: (N, K) values, keypoint columns,
    the predictions' index, ``set`` last when given."""
    import pandas as pd

    values = np.asarray(values)
    if values.shape != (len(index), len(keypoint_names)):
        raise LPOutputError(f'metric values {values.shape} must be ({len(index)} rows, '
                            f'{len(keypoint_names)} keypoints)')
    frame = pd.DataFrame(values, index=pd.Index(list(index)), columns=pd.Index(keypoint_names))
    if sets is not None:
        frame[SET_COLUMN] = _sets(sets, len(index))
    return frame


def write_frame(frame, path: str) -> str:
    """``frame.to_csv()`` written to ``path`` atomically (temporary file + rename)."""
    write_atomically(frame.to_csv(), path)
    return path


def write_predictions(path: str, keypoints, likelihood, keypoint_names, model_type: str,
                      index: Optional[Sequence] = None,
                      sets: Optional[Sequence[str]] = None) -> str:
    """Write ``predictions.csv`` (``index`` = image paths and ``sets`` given) or a video's
    ``<video>.csv`` (both None); see :func:`predictions_frame`."""
    return write_frame(predictions_frame(keypoints, likelihood, keypoint_names, model_type,
                                         index, sets), path)


def metric_path(predictions_file: str, metric: str) -> str:
    """Where Lightning Pose puts ``metric`` for ``predictions_file``:
    ``<dir>/<stem><suffix>`` (e.g. ``predictions_pixel_error.csv``,
    ``video_preds/test_vid_temporal_norm.csv``)."""
    if metric not in METRIC_SUFFIXES:
        raise LPOutputError(f'metric must be one of {", ".join(METRIC_SUFFIXES)}, got {metric!r}')
    stem, _ = os.path.splitext(predictions_file)
    return stem + METRIC_SUFFIXES[metric]


def write_metric(predictions_file: str, metric: str, values, keypoint_names, index,
                 sets: Optional[Sequence[str]] = None) -> str:
    """Write ``metric`` (a key of :data:`METRIC_SUFFIXES`) next to ``predictions_file``."""
    return write_frame(metric_frame(values, keypoint_names, index, sets),
                       metric_path(predictions_file, metric))


@dataclass(frozen=True)
class LPPredictions:
    """A predictions CSV read back (as ``compute_metrics_single`` reads it, metrics.py:205-216).

    ``keypoints`` (N, K, 2) and ``likelihood`` (N, K) float64; ``index`` image paths (labelled
    images) or frame numbers (videos); ``sets`` (N,) or None for videos.
    """
    keypoints: np.ndarray
    likelihood: np.ndarray
    keypoint_names: tuple
    scorer: str
    index: tuple
    sets: Optional[np.ndarray]

    @property
    def is_video(self) -> bool:
        return self.sets is None


def read_predictions(path: str) -> LPPredictions:
    """Read a Lightning Pose predictions CSV (labelled images or a video)."""
    import pandas as pd

    frame = pd.read_csv(path, header=[0, 1, 2], index_col=0)
    sets = None
    if frame.columns[-1][0] == SET_COLUMN:
        sets = frame.iloc[:, -1].to_numpy()
        frame = frame.iloc[:, :-1]
    coords = list(frame.columns.get_level_values(2))
    if coords != list(PREDICTION_COORDS) * (len(coords) // 3) or len(coords) % 3:
        raise LPOutputError(f'{path}: expected x, y, likelihood columns per keypoint, got '
                            f'{coords[:6]}…')
    values = frame.to_numpy(dtype=np.float64).reshape(len(frame), -1, 3)
    names = tuple(frame.columns.get_level_values(1)[::3])
    return LPPredictions(keypoints=values[..., :2], likelihood=values[..., 2],
                         keypoint_names=names, scorer=str(frame.columns[0][0]),
                         index=tuple(frame.index), sets=sets)


def _sets(sets: Sequence[str], n: int) -> np.ndarray:
    sets = np.asarray(list(sets), dtype=object)
    if sets.shape != (n,):
        raise LPOutputError(f'set column has {len(sets)} entries for {n} rows')
    unknown = set(sets) - {'train', 'validation', 'test', 'unused'}
    if unknown:
        raise LPOutputError(f'set values {sorted(unknown)}: Lightning Pose writes train, '
                            'validation, test or unused')
    return sets


def _index(index: Sequence, n: int):
    import pandas as pd

    if len(index) != n:
        raise LPOutputError(f'index has {len(index)} entries for {n} rows')
    return pd.Index(list(index))
