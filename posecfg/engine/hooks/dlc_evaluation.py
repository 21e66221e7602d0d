"""``DLCEvaluationHook``: DeepLabCut 3's evaluation files from a posecfg test run.

After ``runner.test()`` on a DeepLabCut shuffle (a :class:`~posecfg.datasets.DLCProjectDataset`
test split), the hook writes what DeepLabCut's ``evaluate_network`` writes
(deeplabcut/pose_estimation_pytorch/apis/evaluation.py ``evaluate_snapshot``, DeepLabCut 3.0.1
lines 453-649), in ``<project>/evaluation-results-pytorch/iteration-<N>/<Task><date>-trainset
<pct>shuffle<k>/``:

* ``<scorer>.h5`` (key ``df_with_missing``, pandas' fixed format, evaluation.py:589-594): the
  predictions of the evaluated images, reindexed to every row of the merged labels
  (``CollectedData_<scorer>.h5`` order; rows not evaluated are NaN); columns
  ``scorer/individuals/bodyparts/coords`` with ``x, y, likelihood`` (DeepLabCut's
  ``build_dlc_dataframe_columns``, data/dlcloader.py:740-768, always has the individuals level,
  single-animal projects included); index ``('labeled-data', <video>, <image>)``
  (``image_to_dlc_df_index``, evaluation.py:817-831). With ``predictions_csv`` the same table as
  ``<scorer>.csv`` beside it (DeepLabCut writes none; a reader without HDF5 gets one);
* ``<scorer>-results.csv``: one row indexed by ``%Training dataset, Shuffle number, Training
  epochs, Detector epochs (TD only), pcutoff`` with ``train rmse, train rmse_pcutoff, train mAP,
  train mAR, test rmse, ...`` rounded to 2 decimals (evaluation.py:548-608), and
  ``../CombinedEvaluation-results.csv`` updated (``save_evaluation_results``, :834-858);
* with ``per_keypoint``: ``<scorer>-keypoint-results.csv``, rows ``Train error (px)`` and ``Test
  error (px)``, one column per bodypart (``save_rmse_per_bodypart``, :861-891);
* with ``plot``: ``LabeledImages_<scorer>/<video>_<image>.png`` (evaluated images with the
  predictions drawn: points scoring at least ``pcutoff`` as dots; DeepLabCut's own plots differ
  in style).

The numbers are :class:`~posecfg.evaluation.metrics.DLCRMSEMetric`'s (DeepLabCut's ``core/
metrics``: "rmse" is the mean pixel distance; single-animal projects compare without matching),
computed here whatever evaluator the config runs, so the files always hold DeepLabCut's metrics.
The test split's predictions are the test run's own; with ``evaluate_train`` the model is also
run over the shuffle's train split (the test dataloader's config with ``split='train'``), as
DeepLabCut reports train and test errors.

The scorer is ``DLC_<NetType>_<Task><date>shuffle<k>_snapshot_<uid>``
(:func:`~posecfg.interop.dlc.outputs.scorer_name`): ``<uid>`` is ``best-<epoch>`` for a
``snapshot-best-NNN.pt``, else the epoch; the epoch is the loaded checkpoint's
(``metadata.epoch`` of a DeepLabCut snapshot, ``meta.epoch`` of an mmengine checkpoint), or the
runner's when nothing was loaded.

Every file is written to a temporary name in its folder and renamed into place.
"""
from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from posecfg.config import ConfigError
from posecfg.registry import HOOKS

SPLITS = ('train', 'test')


@HOOKS.register_module()
class DLCEvaluationHook(Hook):
    """DeepLabCut's evaluation results of a test run (module docstring for the files).

    Args:
        project_path: the project's ``config.yaml`` or its folder; None: the test dataset's
            (``DLCProjectDataset`` metainfo ``project_path``). Without either (a test set that
            is not a DeepLabCut project) the hook logs a warning and writes nothing.
        shuffle: the shuffle index; None: the test dataset's.
        trainset_index: which ``TrainingFraction`` the shuffle was made for (used when
            ``shuffle`` is given here; else the test dataset's).
        snapshot_path: the snapshot evaluated, naming the scorer (``snapshot-best-050.pt`` →
            ``..._snapshot_best-50``); None: the checkpoint the runner loaded.
        per_keypoint: also write ``<scorer>-keypoint-results.csv`` (DeepLabCut's
            ``per_keypoint_evaluation``).
        plot: also draw the predictions on the evaluated images (``LabeledImages_<scorer>/``;
            DeepLabCut's ``plotting=True``).
        evaluate_train: also run the model over the train split and report ``train ...``
            columns (DeepLabCut always does; False leaves them NaN).
        pcutoff: score threshold of ``rmse_pcutoff``; None: the project's ``pcutoff``. A list
            gives one per bodypart then unique bodypart.
        net_type: DeepLabCut net type of the scorer; None: ``net_type`` of the shuffle's
            ``train/pytorch_config.yaml``.
        predictions_csv: also write the predictions as ``<scorer>.csv``.
    """

    priority = 'LOW'
    #: the registry's tiny runner tests a COCO set: no DeepLabCut project, so a warning only
    example_args = dict(per_keypoint=True)

    def __init__(self, project_path: Optional[Union[str, os.PathLike]] = None,
                 shuffle: Optional[int] = None, trainset_index: int = 0,
                 snapshot_path: Optional[Union[str, os.PathLike]] = None,
                 per_keypoint: bool = False, plot: bool = False, evaluate_train: bool = True,
                 pcutoff: Optional[Union[float, Sequence[float]]] = None,
                 net_type: Optional[str] = None, predictions_csv: bool = True):
        if shuffle is not None and (isinstance(shuffle, bool) or int(shuffle) != shuffle):
            raise ConfigError(f'DLCEvaluationHook: shuffle must be an int, got {shuffle!r}')
        self.project_path = None if project_path is None else str(project_path)
        self.shuffle = None if shuffle is None else int(shuffle)
        self.trainset_index = int(trainset_index)
        self.snapshot_path = None if snapshot_path is None else str(snapshot_path)
        self.per_keypoint, self.plot = bool(per_keypoint), bool(plot)
        self.evaluate_train = bool(evaluate_train)
        self.pcutoff = pcutoff
        self.net_type = net_type
        self.predictions_csv = bool(predictions_csv)
        self._loaded_epoch: Optional[int] = None
        self._test_loader_cfg: Optional[dict] = None
        self._batches: List[tuple] = []
        self.written: List[Path] = []

    # -- hook points -----------------------------------------------------------------------
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        meta = checkpoint.get('meta') or {}
        if 'epoch' in meta:
            self._loaded_epoch = int(meta['epoch'])

    def before_test(self, runner) -> None:
        self._batches = []

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._batches.append((data_batch, outputs))

    def after_test_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        batches, self._batches = self._batches, []
        if not is_main_process():
            return
        context = self._context(runner)
        if context is None:
            return
        from posecfg.interop.dlc.evaluation import EvaluationRun
        run = EvaluationRun(**context)
        run.add_split('test', runner.test_dataloader.dataset, batches)
        if self.evaluate_train:
            loader = self._train_loader(runner)
            run.add_split('train', loader.dataset, self._predict(runner, loader))
        self.written = run.write(per_keypoint=self.per_keypoint, plot=self.plot,
                                 predictions_csv=self.predictions_csv)
        runner.logger.info('DeepLabCut evaluation: ' + run.summary() + '\n  ' +
                           '\n  '.join(str(p) for p in self.written))

    # -- helpers ---------------------------------------------------------------------------
    def _context(self, runner) -> Optional[dict]:
        """The project, shuffle and snapshot of this evaluation (None: not a DLC project)."""
        dataset = runner.test_dataloader.dataset
        meta = getattr(dataset, 'metainfo', None) or {}
        project = self.project_path or meta.get('project_path')
        if project is None or not hasattr(dataset, 'labels'):
            runner.logger.warning(
                'DLCEvaluationHook: the test dataset is not a DeepLabCut project '
                f'({type(dataset).__name__}); no DeepLabCut evaluation files are written. Test '
                'on a DLCProjectDataset (or give project_path) to get them.')
            return None
        shuffle = self.shuffle if self.shuffle is not None else meta.get('shuffle')
        trainset_index = (self.trainset_index if self.shuffle is not None
                          else meta.get('trainset_index', self.trainset_index))
        if shuffle is None:
            raise ConfigError('DLCEvaluationHook: give shuffle (the test dataset does not say '
                              'which shuffle it is)')
        snapshot = self.snapshot_path or getattr(runner, '_load_from', None) or \
            runner.cfg.get('load_from')
        epoch, best = self._loaded_epoch, False
        name = os.path.basename(str(snapshot)) if snapshot else ''
        parsed = re.match(r'^snapshot(-best)?-(\d+)\.pt$', name)
        if parsed:
            best = bool(parsed[1])
            epoch = int(parsed[2]) if epoch is None else epoch
        if epoch is None:
            epoch = int(runner.epoch)
        return dict(project=project, shuffle=int(shuffle), trainset_index=int(trainset_index),
                    epoch=epoch, best=best, net_type=self.net_type, pcutoff=self.pcutoff)

    def before_run(self, runner) -> None:
        # the test dataloader's config, kept before the test loop replaces it by the loader
        loader = getattr(runner, '_test_dataloader', None)
        self._test_loader_cfg = copy.deepcopy(loader) if isinstance(loader, dict) else None

    def _train_loader(self, runner):
        """The test dataloader's config with the dataset's ``split='train'``, built."""
        cfg = copy.deepcopy(self._test_loader_cfg)
        dataset = cfg.get('dataset') if isinstance(cfg, dict) else None
        if not isinstance(dataset, dict) or 'DLCProjectDataset' not in str(dataset.get('type')):
            raise ConfigError(f'DLCEvaluationHook: evaluate_train builds the train split from '
                              f"the test dataloader's DLCProjectDataset config with split="
                              f"'train', but the test dataset config is {dataset!r}; use a "
                              f'DLCProjectDataset or evaluate_train=False')
        dataset.update(split='train', test_mode=True)
        return runner.build_dataloader(cfg, seed=runner.seed)

    @staticmethod
    def _predict(runner, loader) -> List[tuple]:
        model = runner.model
        was_training = model.training
        model.eval()
        out = []
        try:
            with torch.no_grad():
                for batch in loader:
                    out.append((batch, model.test_step(batch)))
        finally:
            model.train(was_training)
        return out
