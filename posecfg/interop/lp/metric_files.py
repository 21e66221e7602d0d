"""Which metric files Lightning Pose writes next to a predictions file, and their values.

One rule for labelled-frame predictions (``predictions.csv``, ``image_preds/<csv>/
predictions.csv``) and video predictions (``video_preds/<video>.csv``), as Lightning Pose's
``metrics.py::compute_metrics_single`` applies it (lightning-pose main; called after training by
``api/model.py::predict_on_label_csv`` and ``predict_on_video_file`` with
``compute_metrics=True``, ``train.py::_evaluate_on_training_dataset`` /
``_predict_test_videos``):

- labelled frames (the predictions have a ``set`` column): ``<stem>_pixel_error.csv``;
  videos: ``<stem>_temporal_norm.csv`` (row 0 NaN);
- both: ``<stem>_pca_singleview_error.csv`` when ``data.columns_for_singleview_pca`` is a
  non-empty list and ``<stem>_pca_multiview_error.csv`` when ``data.mirrored_column_matches`` is,
  whatever ``model.losses_to_use`` says (a supervised model gets them too); not for a multi-view
  (one CSV per view) dataset, whose PCA spans the views of a frame;
- each PCA fitted on the labels of the training split of ``data.csv_file``
  (``KeypointPCA(data_module=...)`` → ``DataExtractor(cond='train')``), both with
  ``losses.pca_singleview.components_to_keep`` (multiview keeps 3 whatever it says) and the
  singleview one with ``losses.pca_singleview.centering_method``;
- every file: the predictions' index (image paths; frame numbers 0…T-1 for a video), one column
  per keypoint (empty where NaN: keypoints outside the PCA, missing labels), ``set`` last for
  labelled frames (:func:`~posecfg.interop.lp.outputs.write_metric`).

posecfg differences, on purpose: the PCAs are fitted on the labels in original-frame pixels, the
units of the predictions and of posecfg's PCA losses (Lightning Pose fits on its loader's
resized-image keypoints and applies that to frame-pixel predictions, see
:func:`~posecfg.evaluation.functional.lp_metrics.lp_pca_training_keypoints`); a PCA that cannot
be fitted (too few labelled training frames, lightning-pose#169) leaves its file out with a
warning saying why (Lightning Pose skips the singleview file silently and fails after training
for the multiview one), the other files are still written.
"""
from __future__ import annotations

import warnings
from typing import Callable, Dict, List, Mapping, Optional, Sequence

import numpy as np

from posecfg.evaluation.functional.lp_metrics import (PCA_MULTIVIEW, PCA_SINGLEVIEW, LPPCAError,
                                                      LPPCAFitError, KeypointPCA,
                                                      fit_keypoint_pca, pixel_error,
                                                      temporal_norm)

from .outputs import write_metric

#: the settings :func:`fit_metric_pcas` takes (``LPPredictionsHook(pca_metrics=...)``)
PCA_METRIC_KEYS = ('columns_for_singleview_pca', 'mirrored_column_matches',
                   'components_to_keep', 'centering_method')
#: Lightning Pose's ``losses.pca_singleview.components_to_keep`` default (config_default.yaml)
DEFAULT_COMPONENTS = 0.99


def pca_metric_settings(cfg) -> Optional[dict]:
    """The settings of the PCA metric files from a Lightning Pose config (an
    :class:`~posecfg.interop.lp.config.LPConfig`), or None when it asks for neither file."""
    settings = dict(
        columns_for_singleview_pca=cfg.get('data.columns_for_singleview_pca', None),
        mirrored_column_matches=cfg.get('data.mirrored_column_matches', None),
        components_to_keep=cfg.get('losses.pca_singleview.components_to_keep',
                                   DEFAULT_COMPONENTS),
        centering_method=cfg.get('losses.pca_singleview.centering_method', None))
    if not settings['columns_for_singleview_pca'] and not settings['mirrored_column_matches']:
        return None
    return settings


def fit_metric_pcas(train_keypoints: np.ndarray, settings: Optional[Mapping],
                    keypoint_names: Sequence[str],
                    warn: Callable[[str], None] = None) -> Dict[str, KeypointPCA]:
    """The PCAs whose error files Lightning Pose writes (module docstring), by kind.

    Args:
        train_keypoints: (N, K, 2) labels of the training split, frame pixels, NaN missing.
        settings: keys of :data:`PCA_METRIC_KEYS` (None: no PCA files).
        keypoint_names: (K,).
        warn: where a PCA the training labels cannot fit (too few frames) is reported (default
            ``warnings.warn``).

    Raises:
        ValueError: bad settings (keypoint indices out of range or repeated, a bad
            ``centering_method`` or ``components_to_keep``), naming the key.
    """
    settings = dict(settings or {})
    unknown = set(settings) - set(PCA_METRIC_KEYS)
    if unknown:
        raise ValueError(f'pca_metrics: unknown keys {sorted(unknown)}; expected some of '
                         f'{", ".join(PCA_METRIC_KEYS)}')
    warn = warn or (lambda message: warnings.warn(message, stacklevel=3))
    components = settings.get('components_to_keep', DEFAULT_COMPONENTS)
    asked = {}
    if settings.get('columns_for_singleview_pca'):
        asked[PCA_SINGLEVIEW] = dict(columns=settings['columns_for_singleview_pca'],
                                     centering_method=settings.get('centering_method'))
    if settings.get('mirrored_column_matches'):
        asked[PCA_MULTIVIEW] = dict(mirrored_column_matches=settings['mirrored_column_matches'])
    pcas = {}
    for kind, options in asked.items():
        try:
            pcas[kind] = fit_keypoint_pca(kind, train_keypoints, components_to_keep=components,
                                          keypoint_names=keypoint_names, with_epsilon=False,
                                          **options)
        except LPPCAFitError as err:  # the labels are short, not the config: other files go on
            warn(f'{kind} error file not written: {err}')
        except LPPCAError as err:
            raise LPPCAError(f'pca_metrics ({kind}): {err}') from err
    return pcas


def metric_values(keypoints: np.ndarray, labels: Optional[np.ndarray] = None,
                  pcas: Optional[Mapping[str, KeypointPCA]] = None) -> Dict[str, np.ndarray]:
    """Lightning Pose's per-keypoint metrics of predictions, by metric name of
    :data:`~posecfg.interop.lp.outputs.METRIC_SUFFIXES`, in the order it writes them.

    Args:
        keypoints: (N, K, 2) predictions, frame pixels.
        labels: (N, K, 2) labels (NaN missing) of labelled frames → ``pixel_error``; None: the
            rows are a video's consecutive frames → ``temporal_norm``.
        pcas: from :func:`fit_metric_pcas` → ``pca_singleview`` / ``pca_multiview``.

    Returns:
        name → (N, K) float64 pixels (temporal norm: float32 values, as Lightning Pose's).
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if labels is not None:
        values = {'pixel_error': pixel_error(labels, keypoints)}
    else:
        values = {'temporal_norm': temporal_norm(keypoints).astype(np.float64)}
    for kind in (PCA_SINGLEVIEW, PCA_MULTIVIEW):
        if kind in (pcas or {}):
            values[kind] = pcas[kind].keypoint_errors(keypoints)
    return values


def write_metric_files(predictions_file: str, values: Mapping[str, np.ndarray],
                       keypoint_names: Sequence[str], index: Sequence,
                       sets: Optional[Sequence[str]] = None) -> List[str]:
    """Each of ``values`` (:func:`metric_values`) next to ``predictions_file``; returns the
    paths written."""
    return [write_metric(predictions_file, name, value, keypoint_names, index, sets)
            for name, value in values.items()]


def video_metric_pcas(cfg, keypoint_names: Sequence[str],
                      warn: Callable[[str], None] = None) -> Dict[str, KeypointPCA]:
    """The PCAs of a video's error files: those the config's ``LPPredictionsHook(pca_metrics=
    ...)`` asks for, fitted on its dataset's training split ({} without the hook). Fit them
    before predicting a video: a bad hook or labels CSV fails here, not after the last frame.

    Args:
        cfg: the posecfg config that predicts (a translated Lightning Pose config carries the
            hook).
        keypoint_names: (K,).

    Raises:
        ValueError: the hook's dataset is not an ``LPProjectDataset``, its labels cannot be
            read, or the PCA settings are bad.
    """
    hooks = [h for h in (cfg.get('custom_hooks') or []) if h.get('type') == 'LPPredictionsHook']
    if not (hooks and hooks[0].get('pca_metrics') and hooks[0].get('dataset')):
        return {}
    dataset = hooks[0]['dataset']
    if dataset.get('type') != 'LPProjectDataset':
        raise ValueError(f"LPPredictionsHook pca_metrics: the PCA is fitted on the training "
                         f"split of an LPProjectDataset; the hook's dataset is "
                         f"{dataset.get('type')!r}")
    from posecfg.datasets.lp_project import lp_training_keypoints
    return fit_metric_pcas(lp_training_keypoints(dataset), hooks[0]['pca_metrics'],
                           keypoint_names, warn)


def video_metric_files(cfg, predictions_file: str, keypoints: np.ndarray,
                       keypoint_names: Sequence[str], warn: Callable[[str], None] = None,
                       pcas: Optional[Mapping[str, KeypointPCA]] = None) -> List[str]:
    """A video's metric files (temporal norm; the PCA errors of :func:`video_metric_pcas`).

    Args:
        cfg: the posecfg config that predicted; without the hook only the temporal norm is
            written.
        predictions_file: ``video_preds/<video>.csv``.
        keypoints: (T, K, 2) the video's predictions, frame pixels.
        pcas: :func:`video_metric_pcas` of ``cfg``, fitted before predicting (None: fitted
            here).
    """
    if pcas is None:
        pcas = video_metric_pcas(cfg, keypoint_names, warn)
    values = metric_values(keypoints, pcas=pcas)
    return write_metric_files(predictions_file, values, keypoint_names,
                              list(range(len(keypoints))))
