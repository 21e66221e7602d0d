"""``LPMultiviewPredictionsHook``: after training a multi-view model, Lightning Pose's per-view
prediction files for the labelled frames (and the multi-view PCA errors).

As ``litpose train`` ends for a multi-view project (Lightning Pose 2.4.3 ``train.py:156-246``,
``api/model.py:610-698``, ``metrics.py:187-327``): the best checkpoint predicts every frame with
all its views (:class:`~posecfg.datasets.lp_multiview.LPMultiviewProjectDataset`,
``split='all'``), and the run folder gets, per view ``<view>`` of ``view_names``:

- ``predictions_<view>.csv``: that view's keypoints, in that view's image pixels, Lightning
  Pose's header (``<model_type>_tracker`` / the view's keypoint names / ``x, y, likelihood``), the
  view CSV's image paths as the index, the ``set`` column;
- ``predictions_<view>_pixel_error.csv``: the distance to that view's labels;
- ``predictions_<view>_pca_multiview_error.csv`` when ``mirrored_column_matches`` is given (a
  posecfg addition: Lightning Pose 2.4.3 skips PCA metrics for multi-view datasets,
  ``metrics.py:233-238``; see :mod:`posecfg.interop.lp.multiview`): the multi-view PCA
  (:func:`~posecfg.evaluation.functional.lp_metrics.fit_keypoint_pca`) fitted on the V·K labels
  of the training frames (``dataset.lp_split.train``, in original-frame pixels, the units of
  the predictions), each view's matched keypoints' reprojection errors (NaN for keypoints
  outside the matches).

The test-set pixel error over all views is printed. Arguments as :class:`LPPredictionsHook`
plus ``mirrored_column_matches`` (one list of indices into the V·K keypoints per view, or a
flat per-view list: :func:`~posecfg.interop.lp.multiview.expand_mirrored_column_matches`).
``eval_videos``: then every video of the config's ``eval.test_videos_directory`` is predicted
with the same weights into ``video_preds/<video>.csv`` (Lightning Pose 2.4.3
``api/model.py:794-917`` writes ``video_preds/<view video stem>.csv`` per view; the model has no
cross-view layer, so each view's video predicts alone exactly as with its session's other
views). A dataset without
views (not an ``LPMultiviewProjectDataset``) gets :class:`LPPredictionsHook`'s single file.
"""
from __future__ import annotations

import os
import os.path as osp
from typing import Optional, Sequence

import numpy as np

from posecfg.registry import HOOKS
from .lp_predictions import LPPredictionsHook


@HOOKS.register_module()
class LPMultiviewPredictionsHook(LPPredictionsHook):
    """Per-view Lightning Pose prediction files of a multi-view model (module docstring)."""

    example_args = dict(model_type='heatmap', batch_size=4)

    def __init__(self, model_type: str = 'heatmap', dataset: Optional[dict] = None,
                 batch_size: int = 32, num_workers: int = 0, out_dir: Optional[str] = None,
                 best_from: Optional[str] = 'val/loss', set_name: str = 'test',
                 mirrored_column_matches: Optional[Sequence] = None,
                 eval_videos: Optional[str] = None):
        super().__init__(model_type=model_type, dataset=dataset, batch_size=batch_size,
                         num_workers=num_workers, out_dir=out_dir, best_from=best_from,
                         set_name=set_name, eval_videos=eval_videos)
        self.mirrored_column_matches = mirrored_column_matches

    def write(self, runner, table: dict, dataset):
        """Every view's files; returns their paths."""
        from posecfg.interop.lp.metric_files import metric_values, write_metric_files
        from posecfg.interop.lp.multiview import view_predictions_file
        from posecfg.interop.lp.outputs import write_predictions

        views = getattr(dataset, 'views', None)
        view_names = getattr(dataset, 'view_names', None)
        if not views or not view_names:  # one view: LPPredictionsHook's predictions.csv
            runner.logger.info(f'{type(self).__name__}: {type(dataset).__name__} has no views; '
                               f'writing one predictions file')
            return super().write(runner, table, dataset)
        k = len(dataset.keypoint_names)
        if table['keypoints'].shape[1] != k * len(views):
            raise ValueError(f'{type(self).__name__}: predictions hold '
                             f'{table["keypoints"].shape[1]} keypoints, not {len(views)} views x '
                             f'{k}; predict with MultiviewBottomUp')
        ids = table['image_id']
        sets = dataset.lp_split.set_column()[ids]
        # metrics over the V·K keypoints (the multi-view PCA spans the views), then per view
        values = metric_values(table['keypoints'], table['labels'], self._pcas(dataset))
        out_dir = self.out_dir or runner.work_dir
        os.makedirs(out_dir, exist_ok=True)
        written = []
        for v, (name, view) in enumerate(zip(view_names, views)):
            cols = slice(v * k, (v + 1) * k)
            index = [view.labels.image_names[i] for i in ids]
            path = osp.join(out_dir, view_predictions_file(name))
            write_predictions(path, table['keypoints'][:, cols], table['likelihood'][:, cols],
                              dataset.keypoint_names, self.model_type, index=index, sets=sets)
            written += [path, *write_metric_files(
                path, {metric: value[:, cols] for metric, value in values.items()},
                dataset.keypoint_names, index, sets)]
        self.report(runner, values['pixel_error'], sets,
                    ', '.join(osp.basename(p) for p in written))
        return tuple(written)

    def _pcas(self, dataset) -> dict:
        """``{'pca_multiview': the multi-view PCA}`` over the V·K keypoints, or ``{}`` without
        ``mirrored_column_matches``."""
        if not self.mirrored_column_matches:
            return {}
        from posecfg.datasets.lp_multiview import multiview_keypoint_names
        from posecfg.evaluation.functional.lp_metrics import PCA_MULTIVIEW, fit_keypoint_pca
        from posecfg.interop.lp.multiview import expand_mirrored_column_matches
        k = len(dataset.keypoint_names)
        matches = expand_mirrored_column_matches(self.mirrored_column_matches,
                                                 len(dataset.views), k)
        labels = np.concatenate([view.labels.keypoints for view in dataset.views], axis=1)
        names = multiview_keypoint_names(dataset.view_names, dataset.keypoint_names)
        return {PCA_MULTIVIEW: fit_keypoint_pca(PCA_MULTIVIEW, labels[dataset.lp_split.train],
                                                mirrored_column_matches=matches,
                                                keypoint_names=names, with_epsilon=False)}
