"""Lightning Pose multi-view projects (``data.view_names``): the rules that are not the dataset's.

Facts from Lightning Pose 2.4.3:

- ``mirrored_column_matches`` of a multi-view project index the V·K keypoints of a sample, views
  concatenated (``MultiviewHeatmapDataset.fusion``, ``data/datasets.py:1141-1186``). A flat list
  of ints names keypoints of one view and stands for the same keypoints in every view: it is
  expanded to ``[[v·K + i for i in matches] for v in range(V)]`` (``losses/factory.py:153-176``,
  ``utils/pca.py:70-84``); a list of lists is used as given (global indices). A mirrored
  (single-CSV) project needs the list of lists (``utils/pca.py:73-77``).
- ``pca_singleview`` is refused for multi-view projects (``losses/factory.py:178-184``:
  NotImplementedError "The Pose PCA loss is currently not implemented for multiview data").
- Run-folder files (``train.py:200-246``): each view's predictions and metrics are written to
  ``image_preds/<view CSV name>/predictions*.csv`` and copied to the run folder as
  ``predictions_<view>.csv``, ``predictions_<view>_pixel_error.csv`` (``out_file =
  'predictions' + '_' + view_name + metric_suffix``), each with that view's keypoint names and
  its CSV's image paths (``utils/predictions.py``, one DataFrame per view).
- ``compute_metrics_single`` computes no PCA metric for a ``MultiviewHeatmapDataset``
  (``metrics.py:226-239``: ``not isinstance(data_module.dataset, MultiviewHeatmapDataset)``), so
  Lightning Pose 2.4.3 writes no ``_pca_multiview_error.csv`` for a multi-view project. posecfg
  writes ``predictions_<view>_pca_multiview_error.csv`` too (the name Lightning Pose's copy rule
  gives the metric it computes for mirrored projects), when ``mirrored_column_matches`` is set:
  the multi-view PCA fitted on the training frames' V·K labels, each view's keypoints' errors.
"""
from __future__ import annotations

from typing import List, Optional, Sequence

PREDICTIONS_STEM = 'predictions'


def expand_mirrored_column_matches(matches: Optional[Sequence], num_views: int,
                                   num_keypoints: int) -> Optional[List[List[int]]]:
    """``data.mirrored_column_matches`` of a multi-view project as one list of indices into the
    V·K concatenated keypoints per view (module docstring); None stays None."""
    if matches is None:
        return None
    matches = list(matches)
    if matches and all(isinstance(m, int) and not isinstance(m, bool) for m in matches):
        return [[v * num_keypoints + int(i) for i in matches] for v in range(num_views)]
    return [[int(i) for i in m] for m in matches]


def view_predictions_file(view_name: str, stem: str = PREDICTIONS_STEM) -> str:
    """``predictions_<view>.csv``: a view's predictions in the run folder (``train.py:230-246``);
    its metrics are ``predictions_<view>_<metric>.csv`` (:func:`~.outputs.metric_path`)."""
    return f'{stem}_{view_name}.csv'
