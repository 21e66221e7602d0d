"""``LPPredictionsHook``: after training, Lightning Pose's ``predictions.csv`` and
``predictions_pixel_error.csv`` for the labelled frames, and the test-set pixel error printed —
as ``litpose train`` ends (Lightning Pose 2.4.3 ``train.py:200-246``: the best checkpoint
predicts every labelled frame, ``utils/predictions.py::predict_dataset`` writes the predictions
with a ``set`` column (l. 223-239), ``metrics.py::compute_metrics_single`` the pixel error next to
them (l. 244-261), and the run folder gets both as ``predictions.csv`` /
``predictions_pixel_error.csv``).

A posecfg hook usable from any config: ``dataset`` is a dataset config in test mode (for a
Lightning Pose project ``LPProjectDataset(split='all', test_mode=True, pipeline=<the test
pipeline>)``, so every CSV row is predicted, in CSV order); without it the config's test
dataloader is used. Rows are the dataset's samples; the index is the CSV's image path when the
dataset has Lightning Pose labels (``dataset.labels.image_names[image_id]``), else the sample's
``image_file``; the ``set`` column comes from the dataset's Lightning Pose split
(``dataset.lp_split``: train / validation / test / unused), else every row is ``set_name``.
The labels are the samples' ``gt`` (NaN where a keypoint is not labelled), the prediction the
first predicted instance (Lightning Pose models predict one animal per frame). Files are written
atomically (:mod:`posecfg.interop.lp.outputs`).

Which weights predict: ``best_from`` names the monitor of a ``ModelCheckpointHook`` in the
same run (``'val/loss'``: Lightning Pose's best checkpoint by ``val_supervised_loss``); its best
file is loaded first when it exists, otherwise the weights at the end of training are used (and
the log says so).

``pca_metrics``: also the PCA error files (``predictions_pca_singleview_error.csv``,
``predictions_pca_multiview_error.csv``) with the PCAs fitted on the dataset's Lightning Pose
training split (:mod:`posecfg.interop.lp.metric_files`, the rule shared with the video files);
the video files get ``<video>_temporal_norm.csv`` and the same PCA error files.

``eval_videos``: then the videos of the Lightning Pose config's ``eval`` section are predicted
with the same weights, as ``litpose train`` does when ``eval.predict_vids_after_training`` is
true (:func:`posecfg.apis.lp_video.predict_eval_videos`: ``video_preds/<video>.csv`` in the run
folder, labeled videos with ``eval.save_vids_after_training``).
"""
from __future__ import annotations

import os
import os.path as osp
from typing import Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from posecfg.registry import HOOKS

#: the set whose mean pixel error is printed, as Lightning Pose reports it
REPORTED_SET = 'test'


@HOOKS.register_module()
class LPPredictionsHook(Hook):
    """Write Lightning Pose's labelled-frame predictions and pixel errors after training (see
    the module docstring).

    Args:
        model_type: names the scorer (``<model_type>_tracker``), as ``model.model_type``.
        dataset: a test-mode dataset config whose samples are predicted (None: the config's
            test dataloader).
        batch_size: images per batch (``training.test_batch_size``).
        num_workers: dataloader workers.
        filename: the predictions file, relative to ``out_dir``.
        out_dir: where the files go (default: the work dir, Lightning Pose's run folder).
        best_from: the monitor of the ``ModelCheckpointHook`` whose best checkpoint predicts
            (None: the final weights).
        set_name: the ``set`` value of every row when the dataset has no Lightning Pose split.
        eval_videos: a Lightning Pose ``config.yaml`` (relative to the work dir: the run
            folder's copy ``'config.yaml'``) whose ``eval`` videos are predicted afterwards
            with the predicting weights; None: no videos.
        test_filename: a test run (``tools/test.py``) also writes the predictions and pixel
            errors of ``dataset`` with the tested weights to this file (relative to ``out_dir``
            or the work dir), as ``litpose predict <model_dir> <labels CSV>`` writes
            ``image_preds/<CSV file name>/predictions.csv`` (``api/model.py::
            predict_on_label_csv``); None: nothing.
        pca_metrics: ``columns_for_singleview_pca``, ``mirrored_column_matches``,
            ``components_to_keep``, ``centering_method`` of the PCA error files
            (:func:`~posecfg.interop.lp.metric_files.pca_metric_settings` of a Lightning Pose
            config); None: no PCA files.
    """

    priority = 'LOW'
    example_args = dict(model_type='heatmap', batch_size=4,
                        test_filename='image_preds/example.csv/predictions.csv')

    def __init__(self, model_type: str = 'heatmap', dataset: Optional[dict] = None,
                 batch_size: int = 32, num_workers: int = 0,
                 filename: str = 'predictions.csv', out_dir: Optional[str] = None,
                 best_from: Optional[str] = 'val/loss', set_name: str = 'test',
                 eval_videos: Optional[str] = None, test_filename: Optional[str] = None,
                 pca_metrics: Optional[dict] = None):
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f'LPPredictionsHook batch_size must be an integer >= 1, got '
                             f'{batch_size!r}')
        for name, value in (('filename', filename), ('test_filename', test_filename or '.csv')):
            if not str(value).endswith('.csv'):
                raise ValueError(f'LPPredictionsHook {name} must end in .csv, got {value!r}')
        self.test_filename = test_filename
        self.model_type, self.dataset = str(model_type), dataset
        self.batch_size, self.num_workers = batch_size, int(num_workers)
        self.filename, self.out_dir = str(filename), out_dir
        self.best_from, self.set_name = best_from, set_name
        self.eval_videos = eval_videos
        self.pca_metrics = pca_metrics
        self.written = None  # (predictions file, metric files...) once written
        self.video_files = []  # what eval_videos wrote
        self._checkpoint = None  # the best checkpoint predicting, once loaded

    # ------------------------------------------------------------------ the run
    def after_train(self, runner) -> None:
        from mmengine.dist import is_main_process
        if not is_main_process():
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        self._load_best(runner, model)
        loader = self._dataloader(runner)
        table = self.predict(model, loader)
        self.written = self.write(runner, table, loader.dataset)
        if self.eval_videos is not None:
            self.predict_videos(runner)

    def after_test(self, runner) -> None:
        """With ``test_filename``: the predictions of the tested weights (module docstring)."""
        from mmengine.dist import is_main_process
        if self.test_filename is None or not is_main_process():
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        loader = self._dataloader(runner)
        self.written = self.write(runner, self.predict(model, loader), loader.dataset,
                                  self.test_filename)

    def predict_videos(self, runner) -> None:
        """The ``eval`` videos of ``eval_videos`` with the best checkpoint (the weights
        Lightning Pose predicts them with). A folder without videos predicts nothing (as
        Lightning Pose, which lists the folder), and the log says so."""
        if self._checkpoint is None:
            runner.logger.warning(
                f'LPPredictionsHook: eval videos NOT predicted: no best checkpoint by '
                f'{self.best_from!r} was written in this run (no validation ran?); predict them '
                f'with posecfg.apis.lp_video.predict_eval_videos')
            return
        from posecfg.apis.lp_video import eval_settings, predict_eval_videos
        from posecfg.apis.video_inference.run import VIDEO_EXTENSIONS
        config = osp.join(runner.work_dir, self.eval_videos)
        folder = eval_settings(config)['test_videos_directory']
        if folder and osp.isdir(folder) and not any(
                name.lower().endswith(tuple(VIDEO_EXTENSIONS)) for name in os.listdir(folder)):
            runner.logger.warning(f'LPPredictionsHook: eval.test_videos_directory {folder} has '
                                  f'no videos; none predicted')
            return
        self.video_files = predict_eval_videos(config, model_dir=runner.work_dir,
                                               checkpoint=self._checkpoint, progress=False)
        runner.logger.info(f'LPPredictionsHook: {len(self.video_files)} video prediction files '
                           f'written from the eval videos of {config}')

    def _dataloader(self, runner):
        if self.dataset is None:
            return runner.build_dataloader(runner._test_dataloader, seed=runner.seed)
        from posecfg.registry import FUNCTIONS
        return runner.build_dataloader(dict(
            dataset=self.dataset, batch_size=self.batch_size, num_workers=self.num_workers,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type=FUNCTIONS.get('pose_collate'))), seed=runner.seed)

    def _load_best(self, runner, model) -> None:
        if self.best_from is None:
            return
        for hook in runner.hooks:
            if type(hook).__name__ == 'ModelCheckpointHook' and hook.monitor == self.best_from:
                state = runner.message_hub.get_info(hook._key, None) or {}
                if state.get('file'):
                    from posecfg.engine.checkpoint import load_checkpoint_file
                    path = osp.join(hook.out_dir or runner.work_dir, state['file'])
                    model.load_state_dict(load_checkpoint_file(path)['state_dict'])
                    self._checkpoint = path
                    runner.logger.info(f'{type(self).__name__}: predicting with the best '
                                       f'checkpoint by {self.best_from}: {path}')
                    return
        runner.logger.info(f'LPPredictionsHook: no best checkpoint by {self.best_from!r} in '
                           f'this run; predicting with the final weights')

    @torch.no_grad()
    def predict(self, model, loader) -> dict:
        """Every sample of ``loader``: ``image_id`` (M,), ``image_file`` (M,), ``keypoints``
        (M, K, 2) and ``likelihood`` (M, K) of the first predicted instance, ``labels`` (M, K, 2)
        NaN where not labelled (original-image pixels)."""
        from posecfg.evaluation.metrics._records import (batch_gts, gt_instances,
                                                         prediction_instances)
        was_training = model.training
        model.eval()
        rows = dict(image_id=[], image_file=[], keypoints=[], likelihood=[], labels=[])
        try:
            for batch in loader:
                preds = model.test_step(batch)
                gts = batch_gts(self, batch, len(preds))
                for i, (pred, gt) in enumerate(zip(preds, gts)):
                    keypoints, scores = prediction_instances(self, pred, i)
                    k = keypoints.shape[1]
                    if len(keypoints) == 0:
                        raise ValueError(f'LPPredictionsHook: sample {pred.get("image_file")} '
                                         f'has no predicted instance; Lightning Pose models '
                                         f'predict one animal per frame')
                    truth = gt_instances(self, gt, i, k) if gt is not None else None
                    label = np.full((k, 2), np.nan)
                    if truth is not None and len(truth['keypoints']):
                        label = np.where(truth['visible'][0, :, None] > 0,
                                         truth['keypoints'][0], np.nan)
                    image_id = pred.get('image_id', (truth or {}).get('image_id'))
                    if image_id is None:
                        raise KeyError('LPPredictionsHook: predictions need image_id (collect '
                                       "it in the test pipeline's meta_keys)")
                    rows['image_id'].append(int(image_id))
                    rows['image_file'].append(str(pred.get('image_file', '')))
                    rows['keypoints'].append(keypoints[0])
                    rows['likelihood'].append(scores[0])
                    rows['labels'].append(label)
        finally:
            model.train(was_training)
        return {key: np.asarray(value) for key, value in rows.items()}

    def write(self, runner, table: dict, dataset, filename: Optional[str] = None):
        """The predictions and their metric files (``filename``: default :attr:`filename`); log
        and print the mean pixel error of the test set. Returns the paths written."""
        from posecfg.interop.lp.metric_files import metric_values, write_metric_files
        from posecfg.interop.lp.outputs import write_predictions

        names = list((getattr(dataset, 'metainfo', None) or {}).get('keypoint_names') or
                     [str(k) for k in range(table['keypoints'].shape[1])])
        ids = table['image_id']
        labels = getattr(dataset, 'labels', None)
        if labels is not None and hasattr(labels, 'image_names'):
            index = [labels.image_names[i] for i in ids]
        else:
            index = list(table['image_file'])
        split = getattr(dataset, 'lp_split', None)
        sets = split.set_column()[ids] if split is not None else [self.set_name] * len(ids)
        out_dir = self.out_dir or runner.work_dir
        path = osp.join(out_dir, filename or self.filename)
        os.makedirs(osp.dirname(path), exist_ok=True)
        write_predictions(path, table['keypoints'], table['likelihood'], names, self.model_type,
                          index=index, sets=sets)
        values = metric_values(table['keypoints'], table['labels'],
                               self.metric_pcas(runner, dataset, table, sets, names))
        written = write_metric_files(path, values, names, index, sets)
        self.report(runner, values['pixel_error'], sets, path)
        return (path, *written)

    def metric_pcas(self, runner, dataset, table: dict, sets, names) -> dict:
        """The PCAs of the metric files (``pca_metrics``), fitted on the training split's labels:
        the Lightning Pose dataset's ``labels`` at ``lp_split.train``, else the rows whose set
        is ``train``."""
        if not self.pca_metrics:
            return {}
        from posecfg.datasets.lp_project import lp_training_keypoints
        from posecfg.interop.lp.metric_files import fit_metric_pcas
        if getattr(dataset, 'labels', None) is not None and \
                getattr(dataset, 'lp_split', None) is not None:
            train = lp_training_keypoints(dataset)
        else:
            train = table['labels'][np.asarray(sets) == 'train']
        return fit_metric_pcas(train, self.pca_metrics, names,
                               warn=lambda message: runner.logger.warning(
                                   f'{type(self).__name__}: {message}'))

    def report(self, runner, errors: np.ndarray, sets, written: str) -> None:
        """Log and print the mean pixel error of the test frames ((M, K) errors, (M,) sets)."""
        reported = errors[np.asarray(sets) == REPORTED_SET]
        if np.isfinite(reported).any():
            message = (f'Pixel error ({REPORTED_SET} set, {len(reported)} frames): '
                       f'{np.nanmean(reported):.4f} px')
        else:
            message = f'Pixel error: no labelled {REPORTED_SET} frames'
        runner.logger.info(f'{type(self).__name__}: {message}; wrote {written}')
        print(message, flush=True)
