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
``snapshot-best-NNN.pt``, else the epoch. The epoch is read from the snapshot's name as
DeepLabCut does (``snapshot_path``, else the file the runner loaded); for another name (an
mmengine ``epoch_N.pth``) it is the loaded checkpoint's ``meta.epoch``, or the runner's epoch
when nothing was loaded.

Every file is written to a temporary name in its folder and renamed into place.
"""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from posecfg.config import ConfigError
from posecfg.interop.dlc.snapshots import parse_snapshot
from posecfg.registry import HOOKS

SPLITS = ('train', 'test')


def configured_net_type(net_type: Optional[str], cfg) -> Optional[str]:
    """The net type naming a config's DeepLabCut scorer: the hook's ``net_type``, else the
    config's top-level ``dlc_net_type``, else None (the shuffle's ``pytorch_config.yaml``)."""
    return net_type or (cfg.get('dlc_net_type') if cfg is not None else None) or None


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
        snapshot_path: the snapshot evaluated, naming the scorer and the epochs
            (``snapshot-best-050.pt`` → ``..._snapshot_best-50``, 50 training epochs); None:
            the checkpoint the runner loaded.
        per_keypoint: also write ``<scorer>-keypoint-results.csv`` (DeepLabCut's
            ``per_keypoint_evaluation``).
        plot: also draw the predictions on the evaluated images (``LabeledImages_<scorer>/``;
            DeepLabCut's ``plotting=True``).
        evaluate_train: also run the model over the train split and report ``train ...``
            columns (DeepLabCut always does; False leaves them NaN).
        pcutoff: score threshold of ``rmse_pcutoff``; None: the project's ``pcutoff``. A list
            gives one per bodypart then unique bodypart.
        net_type: DeepLabCut net type of the scorer; None: the config's top-level
            ``dlc_net_type`` (:func:`configured_net_type`; one variable a child config
            overrides without repeating ``custom_hooks``), else ``net_type`` of the shuffle's
            ``train/pytorch_config.yaml``.
        predictions_csv: also write the predictions as ``<scorer>.csv``.
    """

    #: before mmengine's EMAHook (NORMAL) in after_test_epoch: the train split is predicted
    #: while the averaged weights the test split ran with are still in the model
    priority = 'ABOVE_NORMAL'
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
        self._train_split = None  # the train split's loader, built by extra_test_samples
        self.written: List[Path] = []

    # -- hook points -----------------------------------------------------------------------
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        meta = checkpoint.get('meta') or {}
        if 'epoch' in meta:
            self._loaded_epoch = int(meta['epoch'])

    def before_test(self, runner) -> None:
        self._batches = []

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._batches.append(_kept(data_batch, outputs))

    def after_test_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        batches, self._batches = _gathered(self._batches), []
        train = None
        if self.evaluate_train and self._context(runner, quiet=True) is not None:
            # kept while predicting: a model prepared now (an empty test split) counts it
            self._train_split = self._train_split or self._train_loader(runner)
            try:
                train = _gathered(self._predict(runner, self._train_split))  # every rank
            finally:
                self._train_split = None
        if not is_main_process():
            return
        context = self._context(runner)
        if context is None:
            return
        from posecfg.interop.dlc.evaluation import EvaluationRun
        run = EvaluationRun(**context)
        run.add_split('test', runner.test_dataloader.dataset, batches)
        if train is not None:
            run.add_split('train', runner.test_dataloader.dataset, train)
        self.written = run.write(per_keypoint=self.per_keypoint, plot=self.plot,
                                 predictions_csv=self.predictions_csv)
        runner.logger.info('DeepLabCut evaluation: ' + run.summary() + '\n  ' +
                           '\n  '.join(str(p) for p in self.written))

    def extra_test_samples(self, runner) -> int:
        """The samples this hook runs through the test loop's model after the test split (the
        train split's), so that the loop prepares the model for all of them
        (:func:`posecfg.engine.loops.tested_samples`); the loader is kept for
        :meth:`after_test_epoch`."""
        if not self.evaluate_train or self._context(runner, quiet=True) is None:
            return 0
        self._train_split = self._train_split or self._train_loader(runner)
        return len(self._train_split.dataset)

    # -- helpers ---------------------------------------------------------------------------
    def _context(self, runner, quiet: bool = False) -> Optional[dict]:
        """The project, shuffle and snapshot of this evaluation (None: not a DLC project,
        with a warning unless ``quiet``)."""
        dataset = runner.test_dataloader.dataset
        meta = getattr(dataset, 'metainfo', None) or {}
        project = self.project_path or meta.get('project_path')
        if project is None or not hasattr(dataset, 'labels'):
            if quiet:
                return None
            runner.logger.warning(
                'DLCEvaluationHook: the test dataset is not a DeepLabCut project '
                f'({type(dataset).__name__}); no DeepLabCut evaluation files are written. Test '
                'on a DLCProjectDataset (or give project_path) to get them.')
            return None
        if getattr(dataset, 'data_mode', 'bottomup') != 'bottomup':
            raise ConfigError(f"DLCEvaluationHook: the test dataset has data_mode="
                              f"{dataset.data_mode!r}; DeepLabCut's evaluation files hold one "
                              f"prediction row per image, from a whole-image (data_mode="
                              f"'bottomup') model")
        shuffle = self.shuffle if self.shuffle is not None else meta.get('shuffle')
        trainset_index = (self.trainset_index if self.shuffle is not None
                          else meta.get('trainset_index', self.trainset_index))
        if shuffle is None:
            raise ConfigError('DLCEvaluationHook: give shuffle (the test dataset does not say '
                              'which shuffle it is)')
        tested = (meta.get('shuffle'), meta.get('trainset_index'))
        if self.shuffle is not None and tested[0] is not None and \
                tested != (shuffle, trainset_index):
            raise ConfigError(f'DLCEvaluationHook: shuffle={shuffle}, trainset_index='
                              f'{trainset_index} but the test dataset is shuffle {tested[0]}, '
                              f'trainset_index {tested[1]}; the results would be filed under '
                              f'another shuffle')
        snapshot = self.snapshot_path or getattr(runner, '_load_from', None) or \
            runner.cfg.get('load_from')
        epoch, best = self._loaded_epoch, False
        parsed = parse_snapshot(str(snapshot)) if snapshot else None
        if parsed is not None:  # DeepLabCut reads epochs from the name (data/snapshots.py:35)
            best, epoch = parsed.best, parsed.epoch
        if epoch is None:
            epoch = int(runner.epoch)
        return dict(project=project, shuffle=int(shuffle), trainset_index=int(trainset_index),
                    epoch=epoch, best=best,
                    net_type=configured_net_type(self.net_type, runner.cfg),
                    pcutoff=self.pcutoff)

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
        """``(gt, outputs)`` of the model's test steps over ``loader`` (this rank's share), run
        as the test loop runs the test split (its folded/compiled model and autocast), so both
        splits' predictions come from the same computation."""
        loop = runner.test_loop
        if hasattr(loop, 'test_steps'):
            return [_kept(batch, outputs) for batch, outputs in loop.test_steps(loader)]
        model = runner.model
        was_training = model.training
        model.eval()
        out = []
        try:
            with torch.no_grad():
                for batch in loader:
                    out.append(_kept(batch, model.test_step(batch)))
        finally:
            model.train(was_training)
        return out


def _kept(data_batch, outputs) -> tuple:
    """What the evaluation needs of a test step: the batch's ``gt`` (not its images) and the
    per-sample prediction dicts."""
    gt = data_batch.get('gt') if isinstance(data_batch, dict) else None
    return {'gt': gt}, list(outputs or [])


def _gathered(batches: List[tuple]) -> List[tuple]:
    """Every rank's batches (the same list on each; a single process returns its own).
    Samples a distributed sampler repeated to even out the ranks come back twice: the
    evaluation keeps one prediction per image."""
    from mmengine.dist import all_gather_object, get_world_size
    if get_world_size() == 1:
        return batches
    return [b for part in all_gather_object(batches) for b in part]
