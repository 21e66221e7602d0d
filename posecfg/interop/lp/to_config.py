"""A Lightning Pose ``config.yaml`` as a posecfg config (supervised and semi-supervised heatmap
models), in memory.

``tools/train.py config.yaml --cfg-options training.max_epochs=5`` (and ``test.py``,
``print_config.py``) reach :func:`load_as_config` through :mod:`posecfg.interop.dialects`. The
file is read, overridden (``--cfg-options`` in Lightning Pose's key names, close-match errors
for unknown keys) and checked by Lightning Pose's rules (:func:`.config.load_lp_config`), the
project is read and checked (:func:`.project.load_lp_project`: labels, frames, split), and the
keys become posecfg parts:

=============================================  ===============================================
Lightning Pose key                             posecfg
=============================================  ===============================================
``data.data_dir``, ``csv_file``,               ``LPProjectDataset`` (``data_mode='bottomup'``)
``keypoint_names``; ``training.train_prob``,   per split: train / val (test mode) / test
``val_prob``, ``train_frames``,                (test mode, left out when the split leaves no
``rng_seed_data_pt``                           test frame)
``data.image_resize_dims``                     ``Resize(height, width, keep_ratio=False)``
``training.imgaug``, ``imgaug_hflip``          the train pipeline of ``lp_imgaug_pipeline``
                                               (a preset or a mapping of imgaug transforms;
                                               val/test: the resize alone)
``model.model_type`` heatmap / regression      ``BottomUp`` + ``LPHeatmapHead`` /
                                               ``LPRegressionHead`` (``heads.bodypart``)
``model.model_type`` heatmap_mhcrnn            ``BottomUp`` + ``LPHeatmapMHCRNNHead``; every
                                               pipeline wrapped in ``ContextFrames`` (each
                                               labelled frame with its neighbouring image
                                               files t-2 … t+2, one augmentation): ``img``
                                               (B, 5, 3, H, W)
``dali.context.train.batch_size`` (context)    ``UnlabeledVideoDataset(sequence_length=bs - 4,
                                               context=2)``: bs frames, bs - 4 predicted
``model.backbone``, ``backbone_pretrained``    ``lp_backbone_cfg`` (named.py)
``model.heatmap_loss_type``                    ``LPHeatmap{MSE,KL,JS}Loss``
``data.downsample_factor``                     the head's and codec's ``downsample_factor``
``training.uniform_heatmaps_for_nan_keypoints``  ``LPHeatmap(uniform_heatmaps_for_nan_keypoints)``
``training.optimizer``, ``optimizer_params``   ``optimizer=dict(type=Adam|AdamW, lr=...)``
``training.lr_scheduler(_params)``             ``lr_config=dict(policy='step', step=milestones,
                                               gamma=gamma)`` (MultiStepLR per epoch)
``training.unfreezing_epoch`` (``_step``)     ``UnfreezeBackboneHook(unfreeze_epoch)``
                                               (``unfreeze_step``)
``training.early_stopping``,                   ``EarlyStoppingHook(monitor='val/loss',
``early_stop_patience``, ``min_epochs``        patience, min_epochs)``
(always)                                       ``ModelCheckpointHook(monitor='val/loss')``:
                                               ``epoch=E-step=S-best.ckpt``
``training.ckpt_every_n_epochs``               a periodic ``ModelCheckpointHook``
``model.checkpoint``                           ``LPCheckpointHook`` (a ``.ckpt`` or a folder,
                                               read with ``weights_only=True``; .checkpoint)
``training.max_epochs``                        ``total_epochs``
``training.max_steps`` (step mode)             ``train_cfg.max_iters`` (× accumulate) and the
                                               ``total_epochs`` that takes
``...multisteplr.milestone_steps``             ``lr_config.step``: ceil(step / labelled
                                               batches per epoch) (train.py:325-333)
``training.limit_train_batches``               ``train_cfg.epoch_length``
``training.check_val_every_n_epoch``           ``workflow=[('train', n), ('val', 1)]`` (the
                                               validation loss Lightning Pose monitors, on
                                               resized val frames: ``train_cfg.
                                               val_loss_dataloader``) and
                                               ``evaluation.interval`` (pixel error)
``training.train/val/test_batch_size``,        ``data.samples_per_gpu`` /
``num_gpus``                                   ``val_dataloader`` / ``test_dataloader``
                                               (divided by ``num_gpus``, rounded up)
``training.num_workers``                       ``data.workers_per_gpu`` (null: the CPU count)
``training.rng_seed_model_pt``                 ``seed``
``training.log_every_n_steps``                 ``log_config.interval``
``training.accumulate_grad_batches``           ``optimizer_config.cumulative_iters``
``model.model_name``                           checkpoints in ``tb_logs/<model_name>/
                                               version_<n>/checkpoints/``
(the file itself)                              ``LPRunFolderHook``: the run folder's
                                               ``config.yaml``, labels CSV copy,
                                               ``hparams.yaml``, ``train_status.json``
``model.losses_to_use`` (semi-supervised:     ``LPHeatmapHead`` / ``LPHeatmapMHCRNNHead`` /
pca_singleview, pca_multiview, temporal,       ``LPRegressionHead(unsupervised_losses={name:
temporal_heatmap_mse, temporal_heatmap_kl)     LPPCASingleviewLoss | LPPCAMultiviewLoss |
                                               LPTemporalLoss | LPTemporalHeatmapMSELoss |
                                               LPTemporalHeatmapKLLoss})`` (the heatmap ones
                                               on heatmap models only, as Lightning Pose)
``losses.<name>.*``                            those losses' arguments (log_weight,
                                               components_to_keep, epsilon, empirical_epsilon_*,
                                               centering_method, prob_threshold)
``data.csv_file`` + the training split         the PCA losses' ``labels`` / ``label_rows``
                                               (fitted on the training rows only)
``data.columns_for_singleview_pca``,           ``LPPCASingleviewLoss(columns_for_singleview_pca)``
``data.mirrored_column_matches``               / ``LPPCAMultiviewLoss(mirrored_column_matches)``
``data.video_dir``,                            ``data.unlabeled = UnlabeledVideoDataset``
``dali.base.train.sequence_length``,           (sequences of consecutive frames, resized; video
``dali.general.seed``, ``training.imgaug``     augmentation for ``dlc``/``dlc-top-down``) and
                                               ``data.unlabeled_dataloader`` (one sequence per
                                               batch, ``unlabeled_sequence_collate``)
``callbacks.anneal_weight.*``                  ``AnnealWeightHook`` (semi-supervised models)
(after training)                               ``LPPredictionsHook``: ``predictions.csv``,
                                               ``predictions_pixel_error.csv``, test pixel error
``data.columns_for_singleview_pca``,           ``LPPredictionsHook(pca_metrics)``: the PCA
``data.mirrored_column_matches``,              error files of the labelled frames and videos
``losses.pca_singleview.components_to_keep``   (``*_pca_{singleview,multiview}_error.csv``)
(tools/test.py)                                ``LPPredictionsHook(test_filename)``:
                                               ``image_preds/<CSV name>/predictions.csv`` in
                                               the model dir (:func:`model_dir`; the best
                                               checkpoint by default, :func:`evaluation_
                                               checkpoint`), as ``litpose predict``
``eval.predict_vids_after_training``,          ``LPPredictionsHook(eval_videos='config.yaml')``:
``save_vids_after_training``,                  then ``predict_eval_videos`` on the run folder's
``test_videos_directory``, ...                 config (``video_preds/``, labeled videos)
``dali.base.predict.sequence_length``,         frames per batch of those video predictions
``dali.context.predict.sequence_length``       (context models: sequence_length - 4 centre
                                               frames and their 4 context frames;
                                               :func:`posecfg.apis.lp_video.video_batch_size`;
                                               memory and speed, not the predictions)
``data.view_names`` (multi-view projects,      ``MultiviewBottomUp`` (views through one backbone
one ``data.csv_file`` per view)                and head), ``LPMultiviewProjectDataset``,
                                               ``MultiviewUnlabeledVideoDataset`` +
                                               ``multiview_sequence_collate`` (semi-supervised),
                                               ``LPMultiviewPredictionsHook``
                                               (``predictions_<view>.csv`` and metrics); see
                                               :mod:`.multiview`
(the run folder)                               ``work_dir = outputs/<YYYY-MM-DD>/<HH-MM-SS>``
                                               (absolute; ``--work-dir`` wins)
=============================================  ===============================================

Refused with an error saying why (never dropped silently): the heatmap temporal losses
(``temporal_heatmap_mse``/``kl``) on the regression model (Lightning Pose refuses them too), the
multi-view transformer (``heatmap_multiview_transformer``) and other non-heatmap multi-view models,
``pca_singleview`` on multi-view projects (Lightning Pose refuses it too),
``model.backbone_checkpoint``, ``training.val_check_interval`` (but 1.0), ``data.bbox_file``,
``data.camera_params_file``. Keys that only act in Lightning Pose's semi-supervised or video
steps (``dali``, ``callbacks``, ``losses``) have no effect on a supervised run (as in Lightning
Pose).
"""
from __future__ import annotations

import copy
import math
import os
import warnings
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

from posecfg.config import Config
from posecfg.config.config import ConfigWarning
from posecfg.config.errors import ConfigError
from posecfg.config.options import Override, parse_options
from posecfg.config.provenance import Event, Origin, Provenance
from posecfg.interop.dialects import apply_tool_flag

from . import dialect
from .config import LPConfig, LPConfigError, load_lp_config

#: ImageNet statistics Lightning Pose normalises with (``data/augmentations.py`` /
#: ``data/datasets.py``: ``transforms.Normalize(mean, std)``)
IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
HEATMAP_LOSSES = {'mse': 'LPHeatmapMSELoss', 'kl': 'LPHeatmapKLLoss', 'js': 'LPHeatmapJSLoss'}
SUPPORTED_MODEL_TYPES = ('heatmap', 'heatmap_mhcrnn', 'regression')
#: ``LPHeatmapHead`` / ``LPHeatmapMHCRNNHead`` per heatmap model type
HEATMAP_HEADS = {'heatmap': 'LPHeatmapHead', 'heatmap_mhcrnn': 'LPHeatmapMHCRNNHead'}
#: feature channels of the last map of each Lightning Pose backbone (torchvision ``fc`` /
#: ``classifier`` in_features, ViT widths; lightning-pose 2.4.3 ``models/backbones/``)
FEATURE_CHANNELS = {
    **{name: 512 for name in ('resnet18', 'resnet34')},
    **{name: 2048 for name in dialect.BACKBONES_CNN if name.startswith('resnet')
       and name not in ('resnet18', 'resnet34')},
    'efficientnet_b0': 1280, 'efficientnet_b1': 1280, 'efficientnet_b2': 1408,
    **{name: 384 for name in dialect.BACKBONES_VIT if name.startswith('vits')},
    **{name: 768 for name in dialect.BACKBONES_VIT if name.startswith('vitb')},
}
#: Lightning Pose unsupervised loss (``model.losses_to_use``) → posecfg loss and the
#: ``losses.<name>`` keys it takes (``losses/factory.py:76-88``, ``losses/losses.py``)
UNSUPERVISED_LOSSES = {
    'pca_singleview': ('LPPCASingleviewLoss', (
        'log_weight', 'components_to_keep', 'empirical_epsilon_percentile',
        'empirical_epsilon_multiplier', 'epsilon', 'centering_method')),
    'pca_multiview': ('LPPCAMultiviewLoss', (
        'log_weight', 'components_to_keep', 'empirical_epsilon_percentile',
        'empirical_epsilon_multiplier', 'epsilon')),
    'temporal': ('LPTemporalLoss', ('log_weight', 'epsilon', 'prob_threshold')),
    'temporal_heatmap_mse': ('LPTemporalHeatmapMSELoss', ('log_weight', 'epsilon',
                                                          'prob_threshold')),
    'temporal_heatmap_kl': ('LPTemporalHeatmapKLLoss', ('log_weight', 'epsilon',
                                                        'prob_threshold')),
}
#: unsupervised losses on heatmaps: Lightning Pose's regression model has none to give them
#: (``models/factory.py`` ``_validate_loss_model_compatibility``: ValueError)
HEATMAP_ONLY_LOSSES = ('temporal_heatmap_mse', 'temporal_heatmap_kl')
#: the ``data`` key each PCA loss takes its keypoint columns from
PCA_COLUMNS = {'pca_singleview': 'columns_for_singleview_pca',
               'pca_multiview': 'mirrored_column_matches'}
#: ``training.imgaug`` presets under which Lightning Pose augments the unlabeled videos
#: (``data/video/dali.py``; posecfg: ``UnlabeledVideoDataset(imgaug=)``); others resize only
VIDEO_IMGAUG = ('dlc', 'dlc-top-down', 'none', 'default')


class LPDialectError(ConfigError):
    """A Lightning Pose config that posecfg cannot run (yet), naming the key at fault."""


# ------------------------------------------------------------------------------ loading

def load_as_config(path, cfg_options: Sequence = (), extra: Sequence[Override] = (),
                   shuffle: Optional[int] = None, trainset_index: int = 0) -> Config:
    """A Lightning Pose ``config.yaml`` (with ``cfg_options`` in Lightning Pose's key names and
    posecfg ``extra`` overrides such as ``work_dir``) as a posecfg Config (module docstring)."""
    if shuffle is not None:
        raise LPDialectError(f'{path} is a Lightning Pose config: --shuffle/--trainset-index are '
                             f'for DeepLabCut projects (Lightning Pose splits by '
                             f'training.train_prob/val_prob/rng_seed_data_pt)')
    overrides = [o if isinstance(o, Override) else parse_options([o])[0] for o in cfg_options]
    try:
        lp = load_lp_config(path, overrides)
    except (LPConfigError, FileNotFoundError) as err:
        raise LPDialectError(str(err)) from None
    for message in lp.warnings:
        warnings.warn(f'{lp.path}: {message}', ConfigWarning, stacklevel=2)
    translator = Translator(lp)
    data = translator.translate()
    prov = translator.provenance()
    for o in extra:
        apply_tool_flag(data, prov, o)
    translator.place_checkpoints(data)
    return Config(data, lp.path, prov=prov, options=(), resolved=True,
                  warnings_=list(lp.warnings))


# --------------------------------------------------------------------------- translation

class Translator:
    """One loaded, checked Lightning Pose config → posecfg config data (module docstring)."""

    def __init__(self, lp: LPConfig):
        self.lp = lp
        self.links: List[Tuple[Tuple, str]] = []  # (posecfg path, Lightning Pose dotted key)

    # -- helpers -------------------------------------------------------------------------
    def get(self, dotted: str, default: Any = dialect.REQUIRED) -> Any:
        return self.lp.get(dotted, default)

    def link(self, ours: Sequence, theirs: str) -> None:
        self.links.append((tuple(ours), theirs))

    def fail(self, dotted: str, message: str) -> LPDialectError:
        return LPDialectError(f'{self.lp.where(dotted)}: {dotted}: {message}')

    def origin(self, dotted: str) -> Origin:
        """Where the Lightning Pose key was set: its command-line item, else its file line (the
        deepest line known; the file alone when Lightning Pose's default applies)."""
        path = tuple(dotted.split('.'))
        _, events = self.lp.provenance.history(path)
        if events and events[-1].origin.option is not None:
            return events[-1].origin
        for depth in range(len(path), 0, -1):
            if path[:depth] in self.lp.lines:
                return Origin(file=self.lp.path, line=self.lp.lines[path[:depth]])
        return Origin(file=self.lp.path)

    def provenance(self) -> Provenance:
        prov = Provenance()
        for key in self.data:
            prov.place((key,), Event(Origin(file=self.lp.path), 'set'), inherit=False)
        for ours, theirs in sorted(self.links, key=lambda link: len(link[0])):
            prov.place(ours, Event(self.origin(theirs), 'set', note=theirs), inherit=False)
        return prov

    # -- the whole config ------------------------------------------------------------------
    def translate(self) -> dict:
        self.check_supported()
        from .project import LPProjectError, load_lp_project
        try:
            self.project = load_lp_project(self.lp)
        except (LPConfigError, LPProjectError, ValueError) as err:
            raise LPDialectError(str(err)) from None
        length = self.training_length()
        check_val = int(self.get('training.check_val_every_n_epoch'))
        self.data = dict(
            model=self.model(),
            data=self.datasets(),
            optimizer=self.optimizer(),
            lr_config=self.schedule(),
            total_epochs=length.pop('total_epochs'),
            seed=int(self.get('training.rng_seed_model_pt')),
            workflow=[('train', check_val), ('val', 1)],
            evaluation=dict(interval=check_val, metric='pixel_error'),
            log_config=dict(interval=int(self.get('training.log_every_n_steps')),
                            hooks=[dict(type='TextLoggerHook')]),
            default_hooks=dict(checkpoint=None),  # ModelCheckpointHook writes LP's files
            custom_hooks=self.hooks(),
            work_dir=self.run_dir(),
            # Lightning Pose's validation loss sees the val frames resized, not augmented
            # (data/datamodules.py:159-184); the workflow's val phase would use the train
            # pipeline
            train_cfg=dict(val_loss_dataloader=dict(dataset=dict(
                pipeline=self.pipelines(targets=True)[1])), **length),
        )
        accumulate = int(self.get('training.accumulate_grad_batches'))
        if accumulate > 1:
            self.data['optimizer_config'] = dict(cumulative_iters=accumulate)
            self.link(('optimizer_config', 'cumulative_iters'),
                      'training.accumulate_grad_batches')
        self.link(('total_epochs',), 'training.max_steps' if self.lp.step_mode
                  else 'training.max_epochs')
        for ours, theirs in (('seed', 'training.rng_seed_model_pt'),
                             ('workflow', 'training.check_val_every_n_epoch'),
                             ('evaluation', 'training.check_val_every_n_epoch'),
                             ('log_config', 'training.log_every_n_steps')):
            self.link((ours,), theirs)
        return self.data

    def check_supported(self) -> None:
        lp = self.lp
        if lp.multiview:
            self.check_multiview()
        model_type = lp.model_type
        if model_type not in SUPPORTED_MODEL_TYPES:
            raise self.fail('model.model_type',
                            f'{model_type!r}: posecfg trains the '
                            f'{", ".join(SUPPORTED_MODEL_TYPES)} models (the multi-view '
                            f'transformer is not built)')
        if model_type == 'heatmap_mhcrnn' and int(self.get('data.downsample_factor')) != 2:
            raise self.fail('data.downsample_factor',
                            f'{self.get("data.downsample_factor")}: heatmap_mhcrnn models have '
                            f'downsample_factor 2 only (the context head\'s maps are at 1/4 of '
                            f'the input; Lightning Pose raises NotImplementedError, '
                            f'models/heatmap_tracker_mhcrnn.py:68-69)')
        for name in lp.losses_to_use:
            if name not in UNSUPERVISED_LOSSES:
                raise self.fail('model.losses_to_use',
                                f'{name!r}: posecfg has the unsupervised losses '
                                f'{", ".join(UNSUPERVISED_LOSSES)}')
            if name in HEATMAP_ONLY_LOSSES and 'heatmap' not in model_type:
                raise self.fail('model.losses_to_use',
                                f'{name} measures predicted heatmaps and the {model_type} '
                                f'model predicts none (Lightning Pose refuses it too: '
                                f'models/factory.py _validate_loss_model_compatibility); use '
                                f'temporal, or a heatmap model')
        for key, why in (('model.backbone_checkpoint', 'backbone weights from a file'),
                         ('data.bbox_file', 'cropping to boxes'),
                         ('data.camera_params_file', 'camera calibration')):
            if self.get(key, None) is not None:
                raise self.fail(key, f'{why} is not supported by posecfg yet; remove the key or '
                                     f'set it to null')

    # -- training length -------------------------------------------------------------------
    def lp_steps_per_epoch(self) -> int:
        """Lightning Pose's ``calculate_steps_per_epoch`` (train.py:64-83): labelled train
        batches, at least 10 for semi-supervised models."""
        from .checks import steps_per_epoch
        return steps_per_epoch(len(self.project.split.train),
                               int(self.get('training.train_batch_size')),
                               int(self.get('training.num_gpus') or 1), self.lp.semi_supervised)

    def epoch_length(self) -> Optional[int]:
        """``training.limit_train_batches`` as batches per epoch (None: every batch). Lightning
        Pose gives Lightning ``limit_train_batches or steps_per_epoch`` (train.py:425): an int
        caps the batches, a float in (0, 1] is that fraction of them (``int(fraction ·
        batches)``, as Lightning; 0 batches is an error there too)."""
        limit = self.get('training.limit_train_batches', None)
        if limit is None:
            # Lightning Pose passes steps_per_epoch itself (train.py:424): for a semi-supervised
            # model at least 10 batches, whatever the length of the unlabeled stream (posecfg's
            # loop would otherwise run one pass over the longest stream)
            return self.lp_steps_per_epoch() if self.lp.semi_supervised else None
        batches = self.lp_steps_per_epoch()
        if isinstance(limit, float) and limit <= 1.0:
            length = int(batches * limit)
        elif isinstance(limit, int) or float(limit).is_integer():
            length = int(limit)
        else:
            length = 0
        if length < 1:
            raise self.fail('training.limit_train_batches',
                            f'{limit!r}: an epoch of {batches} batches would have no batch; give '
                            f'a batch count >= 1 or a fraction in (0, 1] leaving at least one')
        return length

    def training_length(self) -> dict:
        """``total_epochs`` and the loop's ``epoch_length`` / ``max_iters``.

        Epoch mode: ``max_epochs``. Step mode (``min_steps``/``max_steps``, no epoch keys:
        api/model_config.py ``_validate_steps_vs_epochs``): Lightning stops after ``max_steps``
        optimizer steps (train.py:391-418), posecfg after ``max_steps × accumulate_grad_batches``
        iterations (``WorkflowTrainLoop(max_iters)``), ``total_epochs`` being the epochs that
        takes. ``limit_train_batches`` → ``epoch_length``. ``val_check_interval`` (validation
        inside epochs) is refused unless it means a whole epoch (1.0)."""
        interval = self.get('training.val_check_interval', None)
        if interval is not None and interval != 1.0:
            raise self.fail('training.val_check_interval',
                            f'{interval!r}: validation inside an epoch is not supported by '
                            f'posecfg (it validates every training.check_val_every_n_epoch '
                            f'epochs); set it to null')
        out = {}
        length = self.epoch_length()
        if length is not None:
            out['epoch_length'] = length
            self.link(('train_cfg', 'epoch_length'), 'training.limit_train_batches'
                      if self.get('training.limit_train_batches', None) is not None
                      else 'training.train_batch_size')
        if not self.lp.step_mode:
            out['total_epochs'] = int(self.get('training.max_epochs'))
            return out
        iters = int(self.get('training.max_steps')) * int(
            self.get('training.accumulate_grad_batches'))
        out['max_iters'] = iters
        out['total_epochs'] = math.ceil(iters / (length or self.lp_steps_per_epoch()))
        self.link(('train_cfg', 'max_iters'), 'training.max_steps')
        return out

    def check_multiview(self) -> None:
        """What posecfg builds of Lightning Pose's multi-view projects (``data.view_names``): the
        ``heatmap`` model over every view, supervised or with ``pca_multiview``/``temporal``
        (:mod:`.multiview`)."""
        model_type = self.lp.model_type
        if model_type == 'heatmap_multiview_transformer':
            raise self.fail('model.model_type',
                            "'heatmap_multiview_transformer' (Lightning Pose's multi-view "
                            'transformer: a ViT over all views with view embeddings, patch '
                            'masking and 3D losses from camera calibration) is not built in '
                            'posecfg; model_type: heatmap trains this multi-view project (every '
                            'view through one backbone and head, as Lightning Pose does)')
        if model_type != 'heatmap':
            raise self.fail('model.model_type',
                            f'{model_type!r}: posecfg trains multi-view projects with the '
                            f'heatmap model (Lightning Pose: multi-view needs a heatmap model, '
                            f'data/factory.py:147-149; multi-view context models are not built '
                            f'in posecfg)')
        if 'pca_singleview' in self.lp.losses_to_use:
            raise self.fail('model.losses_to_use',
                            'pca_singleview is not defined for multi-view projects (Lightning '
                            'Pose: NotImplementedError, losses/factory.py:178-184)')

    # -- model -----------------------------------------------------------------------------
    def model(self) -> dict:
        from posecfg.models.backbones.named import lp_backbone_cfg
        name = self.get('model.backbone')
        height = int(self.get('data.image_resize_dims.height'))
        try:
            backbone = lp_backbone_cfg(name, bool(self.get('model.backbone_pretrained')),
                                       image_size=height)
        except ValueError as err:
            raise self.fail('model.backbone', str(err)) from None
        channels = FEATURE_CHANNELS[name]
        keypoints = len(self.project.keypoint_names)
        if self.lp.model_type in HEATMAP_HEADS:
            factor = int(self.get('data.downsample_factor'))
            loss_type = self.get('model.heatmap_loss_type')
            head = dict(type=HEATMAP_HEADS[self.lp.model_type], in_channels=channels, out_channels=keypoints,
                        downsample_factor=factor,
                        backbone_stride=dialect.BACKBONE_STRIDES[name],
                        codec=dict(type='LPHeatmap', downsample_factor=factor,
                                   uniform_heatmaps_for_nan_keypoints=bool(self.get(
                                       'training.uniform_heatmaps_for_nan_keypoints'))),
                        loss=dict(type=HEATMAP_LOSSES[loss_type]))
            if self.lp.semi_supervised:
                head['unsupervised_losses'] = self.unsupervised_losses()
            self.link(('model', 'heads', 'bodypart', 'downsample_factor'),
                      'data.downsample_factor')
            self.link(('model', 'heads', 'bodypart', 'codec', 'downsample_factor'),
                      'data.downsample_factor')
            self.link(('model', 'heads', 'bodypart', 'codec',
                       'uniform_heatmaps_for_nan_keypoints'),
                      'training.uniform_heatmaps_for_nan_keypoints')
            self.link(('model', 'heads', 'bodypart', 'loss'), 'model.heatmap_loss_type')
        else:
            head = dict(type='LPRegressionHead', in_channels=channels, out_channels=keypoints)
            if self.lp.semi_supervised:  # SemiSupervisedRegressionTracker
                head['unsupervised_losses'] = self.unsupervised_losses()
        self.link(('model',), 'model.model_type')
        self.link(('model', 'backbone'), 'model.backbone')
        # multi-view: every view through this backbone and head (heatmap_tracker.py:107-131)
        return dict(type='MultiviewBottomUp' if self.lp.multiview else 'BottomUp',
                    backbone=backbone, heads=dict(bodypart=head), test_cfg=dict(flip_test=False))

    def unsupervised_losses(self) -> dict:
        """``model.losses_to_use`` → the head's ``unsupervised_losses`` (name → loss config)
        with their ``losses.<name>.*`` settings. The PCA losses fit on the labels CSV's
        training rows (the split the train dataset uses: Lightning Pose fits on the train
        split, ``DataExtractor(cond="train")`` in ``utils/pca.py:90-95``, after ``train_frames``
        cut it, ``data/datamodules.py:188-193``; lightning-pose main), in original-frame pixels,
        where the head measures unlabeled predictions (Lightning Pose 2.4.3 fits in
        resized-image pixels; see :func:`.project.fit_lp_pca`)."""
        losses = {}
        head = ('model', 'heads', 'bodypart', 'unsupervised_losses')
        for name in self.lp.losses_to_use:
            kind, keys = UNSUPERVISED_LOSSES[name]
            loss = dict(type=kind)
            self.link((*head, name), 'model.losses_to_use')
            for key in keys:
                value = self.get(f'losses.{name}.{key}', None)
                if value is not None or key == 'epsilon':
                    loss[key] = value
                    self.link((*head, name, key), f'losses.{name}.{key}')
            if name in PCA_COLUMNS:
                columns = PCA_COLUMNS[name]
                value = self.get(f'data.{columns}', None)
                if self.lp.multiview:  # every view's CSV; matches into the V·K keypoints
                    from .multiview import expand_mirrored_column_matches
                    labels = [view.csv_file for view in self.project.views]
                    value = expand_mirrored_column_matches(
                        value, len(self.project.views), len(self.project.keypoint_names))
                else:
                    labels = self.project.labels.csv_file
                loss.update(labels=labels,
                            label_rows=[int(r) for r in self.project.split.train],
                            **{columns: value})
                self.link((*head, name, columns), f'data.{columns}')
                self.link((*head, name, 'labels'), 'data.csv_file')
                self.link((*head, name, 'label_rows'), 'training.train_prob')
            losses[name] = loss
        return losses

    # -- data ------------------------------------------------------------------------------
    def pipelines(self, targets: bool = False) -> Tuple[list, list]:
        """(train pipeline, evaluation pipeline); ``targets``: the evaluation pipeline also
        collects the keypoints (for the validation loss)."""
        height = int(self.get('data.image_resize_dims.height'))
        width = int(self.get('data.image_resize_dims.width'))
        resize = [dict(type='Resize', height=height, width=width, keep_ratio=False)]
        tail = [dict(type='ToTensor'),
                dict(type='NormalizeTensor', mean=IMAGENET_MEAN, std=IMAGENET_STD)]
        train = [dict(type='LoadImageFromFile'), *self.augmentation(height, width), *tail]
        test = [dict(type='LoadImageFromFile'), *resize, *tail]
        if self.lp.model_type == 'heatmap_mhcrnn':
            # each labelled frame with its neighbouring image files, t-2 … t+2, augmented alike
            # (Lightning Pose's do_context datasets, data/datasets.py:301-336)
            train = [dict(type='ContextFrames', transforms=train, context=2)]
            test = [dict(type='ContextFrames', transforms=test, context=2)]
        keys = ['img', 'keypoints', 'keypoints_visible'] if targets else ['img']
        train.append(dict(type='Collect', keys=['img', 'keypoints', 'keypoints_visible'],
                          meta_keys=['image_file', 'image_id']))
        test.append(dict(type='Collect', keys=keys, meta_keys=['image_file', 'image_id']))
        return train, test

    def augmentation(self, height: int, width: int) -> list:
        """``training.imgaug`` (+ ``imgaug_hflip``) as transform configs ending in the resize
        (and the flip), :func:`posecfg.transforms.lp_imgaug.lp_imgaug_pipeline`."""
        from posecfg.transforms.lp_imgaug import lp_imgaug_pipeline
        try:
            return list(lp_imgaug_pipeline(self.get('training.imgaug'),
                                           dict(height=height, width=width),
                                           keypoint_names=list(self.project.keypoint_names),
                                           hflip=bool(self.get('training.imgaug_hflip'))))
        except ValueError as err:
            raise self.fail('training.imgaug', str(err)) from None

    def datasets(self) -> dict:
        train_pipeline, test_pipeline = self.pipelines()
        common = self.data_args()
        gpus = max(int(self.get('training.num_gpus') or 1), 1)
        workers = self.get('training.num_workers')
        if workers is None:  # data/datamodules.py:92-100
            workers = int(os.environ.get('SLURM_CPUS_PER_TASK') or os.cpu_count() or 1)

        def batch(key: str) -> int:
            return math.ceil(int(self.get(key)) / gpus)

        data = dict(samples_per_gpu=batch('training.train_batch_size'),
                    workers_per_gpu=int(workers),
                    val_dataloader=dict(samples_per_gpu=batch('training.val_batch_size')),
                    test_dataloader=dict(samples_per_gpu=batch('training.test_batch_size')),
                    train=dict(common, split='train', pipeline=train_pipeline),
                    val=dict(common, split='val', test_mode=True, pipeline=test_pipeline))
        if len(self.project.split.test):
            data['test'] = dict(common, split='test', test_mode=True, pipeline=test_pipeline)
        if self.lp.semi_supervised:
            data.update(self.unlabeled(int(workers)))
        self.link(('data', 'samples_per_gpu'), 'training.train_batch_size')
        self.link(('data', 'val_dataloader', 'samples_per_gpu'), 'training.val_batch_size')
        self.link(('data', 'test_dataloader', 'samples_per_gpu'), 'training.test_batch_size')
        self.link(('data', 'workers_per_gpu'), 'training.num_workers')
        for split in ('train', 'val', 'test'):
            if split not in data:
                continue
            for ours, theirs in (('data_dir', 'data.data_dir'), ('csv_file', 'data.csv_file'),
                                 ('train_prob', 'training.train_prob'),
                                 ('val_prob', 'training.val_prob'),
                                 ('train_frames', 'training.train_frames'),
                                 ('rng_seed_data_pt', 'training.rng_seed_data_pt'),
                                 ('keypoint_names', 'data.keypoint_names')):
                self.link(('data', split, ours), theirs)
            self.link(('data', split, 'pipeline'), 'data.image_resize_dims')
        self.link(('data', 'train', 'pipeline'), 'training.imgaug')
        return data

    def unlabeled(self, workers: int) -> dict:
        """The unlabeled video stream of a semi-supervised model: ``data.unlabeled`` (sequences
        of ``dali.base.train.sequence_length`` consecutive frames of the videos of
        ``data.video_dir``, resized to ``data.image_resize_dims``) and its dataloader: one
        sequence per batch, as Lightning Pose's base-model video reader
        (``data/video/dali.py``, batch_size 1 of sequence_length frames)."""
        # training.imgaug goes to the video reader (data/factory.py:317), which augments for
        # 'dlc' / 'dlc-top-down' only (data/video/dali.py:156)
        imgaug = self.get('training.imgaug')
        length_key = 'dali.base.train.sequence_length'
        length, context = int(self.get(length_key)), {}
        gpus = max(int(self.get('training.num_gpus') or 1), 1)
        if self.lp.model_type == 'heatmap_mhcrnn':
            # a sequence of L frames predicts its L - 4 centre frames; L from
            # dali.context.train.batch_size (data/factory.py:297-301): ceil(max(bs-4, 0)/gpus)+4;
            # posecfg reads the 2 context frames on each side around the L - 4 centres
            length_key = 'dali.context.train.batch_size'
            length = math.ceil(max(int(self.get(length_key)) - 4, 0) / gpus)
            if length < 2:
                raise self.fail(length_key, f'{self.get(length_key)}: posecfg needs at least 6 '
                                            f'frames per context sequence (2 centre frames and '
                                            f'2 context frames on each side)')
            context = dict(context=2)
        multiview = dict(type='MultiviewUnlabeledVideoDataset',
                         view_names=list(self.get('data.view_names'))) if self.lp.multiview \
            else dict(type='UnlabeledVideoDataset')
        dataset = dict(multiview, video_dir=self.get('data.video_dir'),
                       sequence_length=length, **context,
                       image_resize_dims=dict(
                           height=int(self.get('data.image_resize_dims.height')),
                           width=int(self.get('data.image_resize_dims.width'))),
                       imgaug=imgaug if imgaug in VIDEO_IMGAUG else 'default',
                       seed=int(self.get('dali.general.seed')))
        loader = dict(samples_per_gpu=1, workers_per_gpu=workers, collate_fn=dict(
            type='multiview_sequence_collate' if self.lp.multiview
            else 'unlabeled_sequence_collate'))
        for ours, theirs in (('video_dir', 'data.video_dir'),
                             ('sequence_length', length_key),
                             ('image_resize_dims', 'data.image_resize_dims'),
                             ('imgaug', 'training.imgaug'), ('seed', 'dali.general.seed')):
            self.link(('data', 'unlabeled', ours), theirs)
        self.link(('data', 'unlabeled'), 'model.losses_to_use')
        self.link(('data', 'unlabeled_dataloader'), length_key)
        self.link(('data', 'unlabeled_dataloader', 'workers_per_gpu'), 'training.num_workers')
        return dict(unlabeled=dataset, unlabeled_dataloader=loader)

    # -- optimisation ------------------------------------------------------------------------
    def optimizer(self) -> dict:
        params = self.get('training.optimizer_params') or {}
        lr = float(params.get('learning_rate', 1e-3))
        self.link(('optimizer',), 'training.optimizer')
        self.link(('optimizer', 'lr'), 'training.optimizer_params.learning_rate')
        return dict(type=self.get('training.optimizer'), lr=lr)

    def schedule(self) -> dict:
        name = self.get('training.lr_scheduler')
        settings = {'milestones': [150, 200, 250], 'gamma': 0.5}  # models/base.py:64-69
        settings.update(self.get(f'training.lr_scheduler_params.{name}', None) or {})
        unknown = sorted(set(settings) - {'milestones', 'gamma', 'milestone_steps'})
        if unknown:
            raise self.fail(f'training.lr_scheduler_params.{name}',
                            f'{unknown}: MultiStepLR takes milestones and gamma')
        self.link(('lr_config',), f'training.lr_scheduler_params.{name}')
        milestones = [int(m) for m in settings['milestones']]
        self.step_milestones = None
        if self.lp.step_mode and 'milestone_steps' in settings:
            # train.py:325-333: ceil(step / steps_per_epoch) epochs (labelled batches per
            # epoch, not limit_train_batches); the schedule then steps per epoch as ever
            from .checks import milestones_in_epochs
            milestones = milestones_in_epochs([int(m) for m in settings['milestone_steps']],
                                              self.lp_steps_per_epoch())
            self.step_milestones = milestones  # Lightning Pose saves them (run folder)
        return dict(policy='step', step=milestones, gamma=float(settings['gamma']))

    # -- hooks --------------------------------------------------------------------------------
    def hooks(self) -> list:
        unit = 'step' if self.lp.step_mode else 'epoch'
        hooks = [dict(type='UnfreezeBackboneHook',
                      **{f'unfreeze_{unit}': int(self.get(f'training.unfreezing_{unit}'))})]
        self.link(('custom_hooks', 0), f'training.unfreezing_{unit}')
        if self.get('training.early_stopping'):
            unit = 'steps' if self.lp.step_mode else 'epochs'
            hooks.append(dict(type='EarlyStoppingHook', monitor='val/loss', rule='less',
                              patience=int(self.get('training.early_stop_patience')),
                              **{f'min_{unit}': int(self.get(f'training.min_{unit}'))}))
            self.link(('custom_hooks', len(hooks) - 1), 'training.early_stopping')
        hooks.append(dict(type='ModelCheckpointHook', monitor='val/loss', rule='less',
                          filename='epoch={epoch_index}-step={step}-best.ckpt'))
        every = self.get('training.ckpt_every_n_epochs')
        if every:
            hooks.append(dict(type='ModelCheckpointHook', monitor=None,
                              every_n_epochs=int(every), save_top_k=-1,
                              filename='epoch={epoch_index}-step={step}.ckpt'))
            self.link(('custom_hooks', len(hooks) - 1), 'training.ckpt_every_n_epochs')
        if self.lp.semi_supervised:  # AnnealWeight(**cfg.callbacks.anneal_weight), callbacks.py
            if not self.get('callbacks.anneal_weight', None):
                raise self.fail('callbacks.anneal_weight',
                                'a semi-supervised model anneals its unsupervised losses by it '
                                '(Lightning Pose fails without it): give attr_name: '
                                'total_unsupervised_importance, init_val, increase_factor, '
                                'final_val, freeze_until_epoch')
            keys = ('attr_name', 'init_val', 'increase_factor', 'final_val', 'freeze_until_epoch')
            hooks.append(dict(type='AnnealWeightHook', **{
                key: self.get(f'callbacks.anneal_weight.{key}') for key in keys}))
            for key in keys:
                self.link(('custom_hooks', len(hooks) - 1, key), f'callbacks.anneal_weight.{key}')
        _, test_pipeline = self.pipelines()
        if self.lp.multiview:
            hooks.extend(self.multiview_output_hooks(test_pipeline))
            self.link(('custom_hooks', len(hooks) - 2), 'data.view_names')
            self.link(('custom_hooks', len(hooks) - 2, 'mirrored_column_matches'),
                      'data.mirrored_column_matches')
            return hooks
        from .metric_files import pca_metric_settings
        hooks.append(dict(type='LPPredictionsHook', model_type=self.lp.model_type,
                          dataset=dict(self.data_args(), split='all', test_mode=True,
                                       pipeline=test_pipeline),
                          batch_size=int(self.get('training.test_batch_size')),
                          best_from='val/loss',
                          # the run folder's config.yaml (LPRunFolderHook)
                          eval_videos='config.yaml' if self.get(
                              'eval.predict_vids_after_training', True) else None,
                          # tools/test.py: as litpose predict <model_dir> <labels CSV>
                          test_filename=os.path.join(
                              'image_preds', os.path.basename(self.project.labels.csv_file),
                              'predictions.csv'),
                          # the PCA error files (metrics.py::compute_metrics_single)
                          pca_metrics=pca_metric_settings(self.lp)))
        self.link(('custom_hooks', len(hooks) - 1), 'model.model_type')
        for key, theirs in (('columns_for_singleview_pca', 'data.columns_for_singleview_pca'),
                            ('mirrored_column_matches', 'data.mirrored_column_matches'),
                            ('components_to_keep', 'losses.pca_singleview.components_to_keep')):
            if hooks[-1]['pca_metrics']:
                self.link(('custom_hooks', len(hooks) - 1, 'pca_metrics', key), theirs)
        self.link(('custom_hooks', len(hooks) - 1, 'eval_videos'),
                  'eval.predict_vids_after_training')
        checkpoint = self.get('model.checkpoint', None)
        if checkpoint:  # initial weights (models/factory.py:303-321)
            hooks.append(dict(type='LPCheckpointHook', checkpoint=os.path.abspath(
                os.path.expanduser(checkpoint))))
            self.link(('custom_hooks', len(hooks) - 1, 'checkpoint'), 'model.checkpoint')
        from .run_folder import lp_hparams
        labels = self.project.labels
        raw = copy.deepcopy(self.lp.raw)
        if self.step_milestones is not None:  # train.py:325-333 writes them into the config
            raw['training']['lr_scheduler_params']['multisteplr']['milestones'] = \
                list(self.step_milestones)
        hooks.append(dict(type='LPRunFolderHook', lp_config=raw, csv_files=[labels.csv_file],
                          hparams=lp_hparams(self.lp, num_targets=2 * labels.num_keypoints,
                                             milestones=self.step_milestones)))
        if self.lp.step_mode:  # train_status.json counts steps
            hooks[-1]['max_steps'] = int(self.get('training.max_steps'))
            self.link(('custom_hooks', len(hooks) - 1, 'max_steps'), 'training.max_steps')
        return hooks

    def multiview_output_hooks(self, test_pipeline: list) -> list:
        """Multi-view projects: ``LPMultiviewPredictionsHook`` (``predictions_<view>.csv`` and
        metrics) and the run folder with every view's labels CSV."""
        from .run_folder import lp_hparams
        hooks = [dict(type='LPMultiviewPredictionsHook', model_type=self.lp.model_type,
                      dataset=dict(self.data_args(), split='all', test_mode=True,
                                   pipeline=test_pipeline),
                      batch_size=int(self.get('training.test_batch_size')),
                      best_from='val/loss',
                      mirrored_column_matches=self.get('data.mirrored_column_matches', None),
                      # every view's video, by the shared model (video_preds/<video>.csv)
                      eval_videos='config.yaml' if self.get(
                          'eval.predict_vids_after_training', True) else None),
                 dict(type='LPRunFolderHook', lp_config=copy.deepcopy(self.lp.raw),
                      csv_files=[view.csv_file for view in self.project.views],
                      # the dataset's num_targets: 2 x keypoints of all views (datasets.py:686)
                      hparams=lp_hparams(self.lp, num_targets=2 * len(
                          self.project.keypoint_names) * len(self.project.views)))]
        return hooks

    def data_args(self) -> dict:
        args = dict(type='LPProjectDataset', data_dir=self.project.data_dir,
                    csv_file=self.get('data.csv_file'),
                    train_prob=self.get('training.train_prob'),
                    val_prob=self.get('training.val_prob'),
                    train_frames=self.get('training.train_frames'),
                    rng_seed_data_pt=int(self.get('training.rng_seed_data_pt')),
                    keypoint_names=list(self.project.keypoint_names), data_mode='bottomup')
        if self.lp.multiview:  # one CSV per view (data/factory.py:160-200)
            args.update(type='LPMultiviewProjectDataset', csv_file=list(args['csv_file']),
                        view_names=list(self.get('data.view_names')))
        return args

    # -- run folder ---------------------------------------------------------------------------
    def run_dir(self) -> str:
        from .run_folder import default_run_dir
        return os.path.abspath(default_run_dir())

    def place_checkpoints(self, data: dict) -> None:
        """Checkpoint hooks write into ``<work_dir>/tb_logs/<model_name>/version_<n>/
        checkpoints`` and ``hparams.yaml`` goes to ``version_<n>`` (Lightning Pose's places),
        once the work dir is final."""
        from .run_folder import CHECKPOINTS, tb_version_dir
        folder = os.path.join(tb_version_dir(data['work_dir'], self.get('model.model_name')),
                              CHECKPOINTS)
        for hook in data['custom_hooks']:
            if hook['type'] == 'ModelCheckpointHook' and hook.get('out_dir') is None:
                hook['out_dir'] = folder
            if hook['type'] == 'LPRunFolderHook' and hook.get('version_dir') is None:
                hook['version_dir'] = os.path.dirname(folder)


# ------------------------------------------------------------------------------- printing

# ------------------------------------------------------------------------ tools/test.py

def model_dir(cfg: Config, checkpoint: Optional[str] = None) -> Optional[str]:
    """The Lightning Pose model directory (run folder) a test of ``cfg`` belongs to, where
    Lightning Pose's own evaluation writes (``litpose predict <model_dir> ...``:
    ``image_preds/``, ``video_preds/``): the run folder of ``checkpoint`` when it lies in one
    (``<run>/tb_logs/<model_name>/version_<n>/checkpoints/``), else the folder of the config
    file when it is a run folder (its ``tb_logs/<model_name>/``: the ``config.yaml`` a run
    saved); None otherwise."""
    from .run_folder import CHECKPOINTS, TB_LOGS
    name = _model_name(cfg)
    if checkpoint:
        parts = Path(os.path.abspath(checkpoint)).parts
        if len(parts) > 5 and parts[-5] == TB_LOGS and parts[-4] == name and \
                parts[-2] == CHECKPOINTS:
            return str(Path(*parts[:-5]))
    folder = os.path.dirname(os.path.abspath(str(cfg.filename)))
    return folder if os.path.isdir(os.path.join(folder, TB_LOGS, name)) else None


def evaluation_checkpoint(cfg: Config) -> str:
    """The checkpoint Lightning Pose evaluates for a run folder's ``config.yaml``
    (:func:`.run_folder.find_checkpoint`, ``utils/io.py::ckpt_path_from_base_path``): what
    ``tools/test.py`` tests when no CHECKPOINT is given."""
    from .run_folder import find_checkpoint
    folder = model_dir(cfg)
    found = find_checkpoint(folder, _model_name(cfg)) if folder else None
    if found is None:
        raise LPDialectError(
            f'{cfg.filename}: no checkpoint to test: this config.yaml is not in a Lightning Pose '
            f'run folder with tb_logs/{_model_name(cfg)}/version_<n>/checkpoints/*.ckpt (the '
            f'config.yaml a run saved is); give the checkpoint: tools/test.py CONFIG CHECKPOINT')
    return found


def _model_name(cfg: Config) -> str:
    hook = next(h for h in cfg['custom_hooks'] if h['type'] == 'LPRunFolderHook')
    return str(hook['lp_config']['model']['model_name'])


#: the Lightning Pose parts a printed config inherits (configs/_base_/lp/)
BASE_CONFIG = ('_base_', 'lp', 'config_default.py')


def format_config(cfg: Config, fmt: str):
    """``(text, notes)`` for ``print_config.py``: the translated config in ``fmt``; ``py``
    gives an editable posecfg config inheriting ``configs/_base_/lp/config_default.py``
    (Lightning Pose's ``config_default.yaml``) that loads back to the same data and trains the
    same (:func:`posecfg.interop.inheriting.format_inheriting`)."""
    from posecfg.interop.inheriting import format_inheriting
    header = (f'posecfg config translated from the Lightning Pose file {cfg.filename}\n'
              f'(edit and run it with tools/train.py like any posecfg config)')
    return format_inheriting(cfg, fmt, BASE_CONFIG, header)
