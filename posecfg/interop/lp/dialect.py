"""What Lightning Pose's ``config.yaml`` may say: every key, its type, its default and its effect.

The table is data, read by the loader (typo guard, defaults) and by whoever maps the keys onto
posecfg parts. It holds every key of the documentation (seeds 000/001), of Lightning Pose's
shipped configs (``scripts/configs/*.yaml``) and every key Lightning Pose 2.4.3 reads without
documenting it (``cfg.<section>.get(...)`` calls). ``default`` is what Lightning Pose uses when the
key is absent (for keys read with ``.get``), ``template`` what ``config_default.yaml`` writes.

``scope`` says which work a key belongs to:

- ``supervised``: issue 12 (supervised heatmap/regression models, outputs);
- ``semi``: issue 13 (unlabeled video, unsupervised losses, ``heatmap_mhcrnn``, annealing);
- ``multiview``: multi-view projects (``view_names``, cameras, the multi-view transformer);
- ``ignored``: accepted because Lightning Pose accepts it, with no effect there either.

Sources are ``lightning_pose/<file>:<line>`` of the 2.4.3 wheel.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Tuple

SUPERVISED, SEMI, MULTIVIEW, IGNORED = 'supervised', 'semi', 'multiview', 'ignored'

#: value kinds: names checked by :func:`kind_of`
INT, FLOAT, BOOL, STR, NONE, LIST, DICT = 'int', 'float', 'bool', 'str', 'null', 'list', 'dict'
NUMBER = (INT, FLOAT)

#: sentinel: Lightning Pose reads the key without a default (an absent key is an error there)
REQUIRED = object()

BACKBONES_CNN = (
    'resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152', 'resnet50_animal_apose',
    'resnet50_animal_ap10k', 'resnet50_human_jhmdb', 'resnet50_human_res_rle',
    'resnet50_human_top_res', 'resnet50_human_hand', 'efficientnet_b0', 'efficientnet_b1',
    'efficientnet_b2')
BACKBONES_VIT = ('vits_dino', 'vits_dinov2', 'vits_dinov3', 'vitb_dino', 'vitb_dinov2',
                 'vitb_dinov3', 'vitb_imagenet', 'vitb_sam', 'vitb_sam2', 'vits_sam2', 'vitt_sam2')
#: ``models/backbones/factory.py:51-92`` (ALLOWED_*_BACKBONES)
BACKBONES = BACKBONES_CNN + BACKBONES_VIT
#: feature-map stride per backbone, ``models/backbones/factory.py:98-124``
BACKBONE_STRIDES = {**{b: 32 for b in BACKBONES_CNN}, **{b: 16 for b in BACKBONES_VIT},
                    'vitb_sam2': 32, 'vits_sam2': 32, 'vitt_sam2': 32}
#: ``models/__init__.py`` ALLOWED_MODEL_TYPES
MODEL_TYPES = ('regression', 'heatmap', 'heatmap_mhcrnn', 'heatmap_multiview_transformer')
#: ``losses/factory.py:115``: 'heatmap_' + heatmap_loss_type names a loss class
HEATMAP_LOSS_TYPES = ('mse', 'kl', 'js')
#: ``data/augmentations.py:137-144`` (the same tuple as transforms/lp_imgaug.py, kept here so the
#: dialect loads without importing the transforms; tests check they are equal)
IMGAUG_PRESETS = ('default', 'none', 'dlc', 'dlc-lr', 'dlc-top-down', 'dlc-mv')
#: unsupervised losses ``model.losses_to_use`` can name (``losses/factory.py:76-88``)
UNSUPERVISED_LOSSES = ('pca_multiview', 'pca_singleview', 'temporal', 'temporal_heatmap_mse',
                       'temporal_heatmap_kl')
OPTIMIZERS = ('Adam', 'AdamW')                      # models/base.py:133-156
LR_SCHEDULERS = ('multisteplr', 'multistep_lr')     # models/base.py:105-130


@dataclass(frozen=True)
class LPKey:
    """One key of the dialect.

    Attributes:
        path: dotted key; ``*`` matches one segment (``losses.*.log_weight``).
        kinds: accepted value kinds (:data:`INT` …).
        default: what Lightning Pose uses when the key is absent, or :data:`REQUIRED`.
        template: the value ``config_default.yaml`` writes (None when it does not).
        scope: :data:`SUPERVISED`, :data:`SEMI`, :data:`MULTIVIEW` or :data:`IGNORED`.
        doc: the key's effect.
        source: where Lightning Pose 2.4.3 reads it.
        choices: allowed values (strings), if restricted.
        subtree: the value is a mapping whose inside the table does not list (``hydra``,
            custom ``imgaug`` pipelines).
    """
    path: str
    kinds: Tuple[str, ...]
    default: Any
    scope: str
    doc: str
    source: str = ''
    template: Any = None
    choices: Tuple[str, ...] = ()
    subtree: bool = False

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


def _k(path, kinds, default, scope, doc, source='', template=None, choices=(), subtree=False):
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    return LPKey(path, kinds, default, scope, doc, source, template, tuple(choices), subtree)


S, M, I, U = SEMI, MULTIVIEW, IGNORED, SUPERVISED
KEYS: Tuple[LPKey, ...] = (
    # ------------------------------------------------------------------------------ data
    _k('data.image_resize_dims.height', (INT, NONE), REQUIRED, U,
       'frames are resized to this height before the network; a multiple of 128',
       'api/model_config.py:172-177, data/factory.py:154', None),
    _k('data.image_resize_dims.width', (INT, NONE), REQUIRED, U,
       'frames are resized to this width before the network; a multiple of 128',
       'api/model_config.py:172-177, data/factory.py:155', None),
    _k('data.data_dir', STR, REQUIRED, U,
       'project folder; image paths in the labels CSV and a relative csv_file are relative to it',
       'utils/io.py:342', '/replace/with/your/path'),
    _k('data.video_dir', STR, REQUIRED, U,
       'folder (or file) of unlabeled videos; relative to data_dir unless absolute; must exist '
       'even for supervised training', 'utils/io.py:343-349', '/replace/with/your/path'),
    _k('data.csv_file', (STR, LIST), REQUIRED, U,
       'labels CSV (a list of one CSV per view for multi-view projects), relative to data_dir '
       'unless absolute', 'train.py:131-144, data/datasets.py:146-151', 'CollectedData.csv'),
    _k('data.downsample_factor', INT, 2, U,
       'heatmaps are 2**downsample_factor times smaller than the resized image (1, 2 or 3)',
       'data/factory.py:204', None, ('1', '2', '3')),
    _k('data.num_keypoints', (INT, NONE), REQUIRED, U,
       'keypoints predicted: all keypoints of the CSV (mirrored rigs: summed over views; '
       'multi-view projects: per view)', 'api/model_config.py:151-162, models/factory.py:260'),
    _k('data.keypoint_names', (LIST, NONE), REQUIRED, U,
       'keypoint names in CSV order; the predictions header uses them (null: posecfg takes them '
       'from the CSV, Lightning Pose fails after training)', 'utils/predictions.py:61-84'),
    _k('data.keypoints', (LIST, NONE), None, I,
       "legacy name of keypoint_names written by Lightning Pose's app (renamed on load)",
       'api/model_config.py:61-67'),
    _k('data.mirrored_column_matches', (LIST, NONE), None, S,
       'pca_multiview: one list of keypoint indices per view of a mirrored rig (multi-view '
       'projects: one list of per-view indices)', 'losses/factory.py:153-176, metrics.py:233'),
    _k('data.columns_for_singleview_pca', (LIST, NONE), None, S,
       'pca_singleview: indices of the keypoints in the pose PCA (null: all)',
       'losses/factory.py:178-187, metrics.py:226'),
    _k('data.view_names', (LIST, NONE), None, M, 'camera names of a multi-view project',
       'data/factory.py:162'),
    _k('data.camera_params_file', (STR, NONE), None, M, 'camera calibration for 3D losses',
       'data/factory.py:174'),
    _k('data.bbox_file', (STR, LIST, NONE), None, M,
       'per-image bounding boxes (x, y, h, w) the frames are cropped to', 'data/factory.py:158'),
    _k('data.header_rows', LIST, None, I,
       'read only by get_keypoint_names when no CSV is given; datasets always use [0, 1, 2]',
       'utils/io.py:168'),
    _k('data.num_targets', INT, None, I, 'legacy: 2 * keypoints, for keypoint names without a CSV',
       'utils/io.py:186'),
    # -------------------------------------------------------------------------- training
    _k('training.imgaug', (STR, DICT), 'default', U,
       'augmentation preset (default/none: resize only; dlc; dlc-lr: dlc + Rot90 k in {0, 2}; '
       'dlc-top-down: dlc + Rot90 k in {0..3}; dlc-mv) or a mapping of imgaug transforms to '
       '{p, args, kwargs}', 'data/factory.py:77-110', 'dlc', IMGAUG_PRESETS, subtree=True),
    _k('training.imgaug_hflip', BOOL, False, U,
       'horizontal flip with probability 0.5 after the pipeline, swapping *_left/*_right',
       'data/factory.py:145, data/datasets.py:179-246', False),
    _k('training.imgaug_3d', (BOOL, NONE), None, M, '3D augmentation of multi-view projects',
       'data/factory.py:80'),
    _k('training.train_batch_size', INT, REQUIRED, U, 'labelled images per training batch '
       '(divided by num_gpus, rounded up)', 'data/factory.py:266', 16),
    _k('training.val_batch_size', INT, REQUIRED, U, 'images per validation batch',
       'data/factory.py:269', 32),
    _k('training.test_batch_size', INT, REQUIRED, U, 'images per test batch',
       'data/factory.py:281', 32),
    _k('training.train_prob', NUMBER, REQUIRED, U, 'fraction of labelled images for training',
       'data/factory.py:283, data/utils.py:17', 0.95),
    _k('training.val_prob', NUMBER + (NONE,), REQUIRED, U,
       'fraction for validation; the rest is test (leftover < 5 images goes to train)',
       'data/factory.py:284, data/utils.py:17', 0.05),
    _k('training.train_frames', NUMBER + (NONE,), REQUIRED, U,
       'train images kept: <= 1 a fraction (1: all), > 1 a count', 'data/utils.py:104-139', 1),
    _k('training.num_gpus', INT, REQUIRED, U,
       'devices; batch sizes are divided by it (0 is treated as 1 with a warning)',
       'data/factory.py:256-269, train.py:397', 1),
    _k('training.num_workers', (INT, NONE), None, U,
       'data loader workers (null: SLURM_CPUS_PER_TASK, else the CPU count)',
       'data/datamodules.py:92-100'),
    _k('training.unfreezing_epoch', INT, REQUIRED, U,
       'backbone learning rate is 0 before this epoch, then 0.1 x head lr growing 1.5x per '
       'epoch up to the head lr (epoch mode)', 'callbacks.py:79-196, 677-683', 20),
    _k('training.unfreezing_step', INT, REQUIRED, U, 'as unfreezing_epoch, in steps (step mode)',
       'callbacks.py:677-683'),
    _k('training.min_epochs', INT, REQUIRED, U, 'epoch mode: least epochs', 'train.py:405', 300),
    _k('training.max_epochs', INT, REQUIRED, U, 'epoch mode: most epochs', 'train.py:406', 300),
    _k('training.min_steps', INT, REQUIRED, U, 'step mode: least optimizer steps',
       'train.py:401-403'),
    _k('training.max_steps', INT, REQUIRED, U, 'step mode: most optimizer steps',
       'train.py:401-403'),
    _k('training.log_every_n_steps', INT, REQUIRED, U, 'training metrics logged every n steps',
       'train.py:421', 10),
    _k('training.check_val_every_n_epoch', INT, 1, U, 'validation every n epochs',
       'train.py:409', 5),
    _k('training.val_check_interval', NUMBER + (NONE,), None, U,
       "Lightning's val_check_interval (steps, or a fraction of an epoch)", 'train.py:410'),
    _k('training.ckpt_every_n_epochs', (INT, NONE), None, U,
       'also keep a checkpoint every n epochs (a multiple of check_val_every_n_epoch)',
       'callbacks.py:698-704, api/model_config.py:199-205', None),
    _k('training.early_stopping', BOOL, False, U,
       'stop when val_supervised_loss has not improved for early_stop_patience validations',
       'callbacks.py:669-675', False),
    _k('training.early_stop_patience', INT, REQUIRED, U, 'validations without improvement',
       'callbacks.py:672', 3),
    _k('training.rng_seed_data_pt', INT, REQUIRED, U,
       'seed of the train/val/test split and of the training shuffle', 'data/factory.py:286', 0),
    _k('training.rng_seed_model_pt', INT, REQUIRED, U, 'seed of the head initialisation',
       'models/factory.py:264, models/heatmap_tracker.py:70', 0),
    _k('training.optimizer', STR, 'Adam', U, 'Adam or AdamW (torch defaults but the lr)',
       'models/factory.py:234, models/base.py:458-470', 'Adam', OPTIMIZERS),
    _k('training.optimizer_params', DICT, {'learning_rate': 1e-3}, U, 'optimizer settings',
       'models/base.py:73-77', {'learning_rate': 1e-3}),
    _k('training.optimizer_params.learning_rate', NUMBER, 1e-3, U, 'head learning rate',
       'models/base.py:466-468', 1e-3),
    _k('training.lr_scheduler', STR, 'multisteplr', U, 'learning-rate schedule (MultiStepLR)',
       'models/factory.py:240', 'multisteplr', LR_SCHEDULERS),
    _k('training.lr_scheduler_params', (DICT, NONE), REQUIRED, U, 'schedule settings',
       'api/model_config.py:207'),
    _k('training.lr_scheduler_params.multisteplr', (DICT, NONE), None, U,
       'MultiStepLR settings (defaults: milestones [150, 200, 250], gamma 0.5)',
       'models/base.py:64-69'),
    _k('training.lr_scheduler_params.multisteplr.milestones', LIST, [150, 200, 250], U,
       'epochs at which the lr is multiplied by gamma (epoch mode; <= max_epochs)',
       'models/base.py:441-444', [150, 200, 250]),
    _k('training.lr_scheduler_params.multisteplr.milestone_steps', LIST, None, U,
       'step mode: milestones in steps, converted to ceil(step / steps_per_epoch) epochs',
       'train.py:325-333'),
    _k('training.lr_scheduler_params.multisteplr.gamma', NUMBER, 0.5, U, 'lr factor',
       'models/base.py:442', 0.5),
    _k('training.lr_scheduler_params.multistep_lr', (DICT, NONE), None, U,
       "MultiStepLR settings when training.lr_scheduler is 'multistep_lr' (the seed's spelling)",
       'models/factory.py:240-244'),
    _k('training.lr_scheduler_params.multistep_lr.milestones', LIST, [150, 200, 250], U,
       'as multisteplr.milestones', 'models/base.py:441-444'),
    _k('training.lr_scheduler_params.multistep_lr.gamma', NUMBER, 0.5, U, 'lr factor',
       'models/base.py:442'),
    _k('training.uniform_heatmaps_for_nan_keypoints', BOOL, False, U,
       'target for an unlabelled keypoint: uniform heatmap (true) or none, left out of the '
       'loss (false)', 'data/factory.py:206', True),
    _k('training.accumulate_grad_batches', INT, 1, U, 'batches per optimizer step',
       'train.py:426'),
    _k('training.limit_train_batches', NUMBER + (NONE,), None, U,
       'batches per epoch (null: all labelled batches; semi-supervised: at least 10)',
       'train.py:425'),
    _k('training.profiler', (STR, NONE), None, I, "Lightning's profiler name", 'train.py:427'),
    _k('training.patch_mask', DICT, None, M, 'multi-view transformer patch masking',
       'train.py:336-341'),
    _k('training.patch_mask.init_epoch', NUMBER, None, M, 'masking starts', 'train.py:337'),
    _k('training.patch_mask.final_epoch', NUMBER, None, M, 'masking at its final ratio',
       'train.py:338'),
    _k('training.patch_mask.init_ratio', NUMBER, 0.1, M, 'first masked fraction',
       'callbacks.py:305'),
    _k('training.patch_mask.final_ratio', NUMBER, 0.5, M, 'last masked fraction',
       'callbacks.py:306'),
    _k('training.dropout_rate', NUMBER, None, I,
       "appears in Lightning Pose's config_crim13.yaml; read nowhere"),
    # ----------------------------------------------------------------------------- model
    _k('model.losses_to_use', (LIST, NONE), REQUIRED, U,
       'unsupervised losses ([] or null: supervised model)', 'models/base.py:46-62', []),
    _k('model.backbone', STR, REQUIRED, U, 'feature extractor', 'models/factory.py:262',
       'resnet50_animal_ap10k', BACKBONES),
    _k('model.backbone_pretrained', BOOL, True, U,
       'load ImageNet weights (torchvision backbones; resnet50_animal/human_* always load theirs)',
       'models/factory.py:254'),
    _k('model.backbone_checkpoint', (STR, NONE), None, U, 'weights file for vitb_imagenet',
       'models/factory.py:282, models/backbones/factory.py:217'),
    _k('model.model_type', STR, REQUIRED, U, 'regression, heatmap, heatmap_mhcrnn, or '
       'heatmap_multiview_transformer', 'api/model_config.py:282-286', 'heatmap', MODEL_TYPES),
    _k('model.heatmap_loss_type', STR, REQUIRED, U, 'supervised heatmap loss', 'losses/factory.py:115',
       'mse', HEATMAP_LOSS_TYPES),
    _k('model.model_name', STR, REQUIRED, U, 'name of the TensorBoard run folder '
       'tb_logs/<model_name>', 'train.py:378', 'test'),
    _k('model.checkpoint', (STR, NONE), None, U,
       'initial weights: a .ckpt file, or a folder searched for one', 'models/factory.py:303-321',
       None),
    _k('model.head', STR, 'heatmap_cnn', M, 'multi-view transformer head', 'models/factory.py:292'),
    _k('model.lightning_pose_version', STR, None, I,
       'written by Lightning Pose into the config it saves', 'train.py:297'),
    # ------------------------------------------------------------------------------ dali
    _k('dali.general.seed', INT, 123456, S, 'seed of the unlabeled video reader',
       'data/video/dali.py:542'),
    _k('dali.base.train.sequence_length', INT, REQUIRED, S,
       'consecutive unlabeled frames per training batch (base models)',
       'data/factory.py:291, data/video/dali.py:549', 32),
    _k('dali.base.predict.sequence_length', INT, REQUIRED, U,
       'frames per batch when predicting videos (base models)', 'data/video/utils.py:187', 96),
    _k('dali.context.train.batch_size', INT, REQUIRED, S,
       'consecutive unlabeled frames per training batch (context models; >= 5)',
       'data/factory.py:297-308', 16),
    _k('dali.context.predict.sequence_length', INT, REQUIRED, S,
       'frames per window when predicting videos (context models; > 4): sequence_length - 4 '
       'centre frames per batch', 'data/video/utils.py:192, data/video/dali.py:603-612', 96),
    # ---------------------------------------------------------------------------- losses
    *(_k(f'losses.{name}.{key}', kinds, default, scope, doc, source, template)
      for name, scope in (('pca_multiview', S), ('pca_singleview', S))
      for key, kinds, default, doc, source, template in (
          ('log_weight', NUMBER, 0.0, 'weight 1 / (2 exp(log_weight))', 'losses/losses.py:90-100',
           11.0),
          ('components_to_keep', NUMBER + (NONE,), 0.95,
           'int: components kept; float: explained-variance fraction (pca_multiview keeps 3)',
           'utils/pca.py:639-738', 3 if name == 'pca_multiview' else 0.99),
          ('epsilon', NUMBER + (NONE,), None,
           'errors below it are not penalised; null: the empirical epsilon',
           'losses/losses.py:505-521', None),
          ('empirical_epsilon_percentile', NUMBER, 99.0,
           'percentile (0-100) of the training labels\' reprojection errors',
           'losses/losses.py:436', None),
          ('empirical_epsilon_multiplier', NUMBER, 1.0, 'multiplies the empirical epsilon',
           'losses/losses.py:438', None),
          ('centering_method', (STR, NONE), None,
           'pca_singleview: centre each pose on its mean or median keypoint',
           'utils/pca.py:150-159', None),
      )),
    *(_k(f'losses.{name}.device', STR, None, I, 'constructor argument of PCALoss (torch device); '
         'no effect in posecfg', 'losses/losses.py:442') for name in ('pca_multiview',
                                                                      'pca_singleview')),
    *(_k(f'losses.{name}.{key}', kinds, default, S, doc, source, template)
      for name in ('temporal', 'temporal_heatmap_mse', 'temporal_heatmap_kl')
      for key, kinds, default, doc, source, template in (
          ('log_weight', NUMBER, 0.0, 'weight 1 / (2 exp(log_weight))', 'losses/losses.py:90-100',
           11.0 if name == 'temporal' else None),
          ('epsilon', NUMBER + (LIST,), 0.0,
           'frame-to-frame moves below it (pixels; one per keypoint if a list) are not penalised',
           'losses/losses.py:608-618', 20.0 if name == 'temporal' else None),
          ('prob_threshold', NUMBER, 0.0,
           'frames whose confidence is below it are left out', 'losses/losses.py:620-649',
           0.05 if name == 'temporal' else None),
      )),
    _k('losses.supervised_pairwise_projections.log_weight', (NUMBER + (NONE,)), None, M,
       'multi-view 3D loss weight', 'losses/factory.py:124-131'),
    _k('losses.supervised_reprojection_heatmap_mse.log_weight', (NUMBER + (NONE,)), None, M,
       'multi-view reprojected heatmap loss weight', 'losses/factory.py:133-147'),
    # ------------------------------------------------------------------------------ eval
    _k('eval.predict_vids_after_training', BOOL, REQUIRED, U,
       'predict every video of test_videos_directory after training', 'train.py:255', True),
    _k('eval.test_videos_directory', (STR, NONE), REQUIRED, U,
       'videos predicted after training', 'api/model_config.py:106', '${data.video_dir}'),
    _k('eval.save_vids_after_training', BOOL, REQUIRED, U,
       'also write labelled videos (video_preds/labeled_videos/<video>_labeled.mp4)',
       'train.py:263', False),
    _k('eval.colormap', STR, 'cool', U, 'matplotlib colormap of labelled videos',
       'api/model.py:777', 'cool'),
    _k('eval.confidence_thresh_for_vid', NUMBER, REQUIRED, U,
       'keypoints below this confidence are not drawn', 'api/model.py:776', 0.9),
    _k('eval.hydra_paths', LIST, None, I, 'model folders for scripts/predict_new_vids.py'),
    # ------------------------------------------------------------------------- callbacks
    _k('callbacks.anneal_weight.attr_name', STR, REQUIRED, S,
       'attribute annealed (total_unsupervised_importance)', 'callbacks.py:711-716',
       'total_unsupervised_importance'),
    _k('callbacks.anneal_weight.init_val', NUMBER, 0.0, S, 'weight until freeze_until_epoch',
       'callbacks.py:38', 0.0),
    _k('callbacks.anneal_weight.increase_factor', NUMBER, 0.01, S, 'added per epoch after it',
       'callbacks.py:39', 0.01),
    _k('callbacks.anneal_weight.final_val', NUMBER, 1.0, S, 'largest weight', 'callbacks.py:40',
       1.0),
    _k('callbacks.anneal_weight.freeze_until_epoch', INT, 0, S, 'epoch the ramp starts after',
       'callbacks.py:41', 60),
    # -------------------------------------------------------------------------- top level
    _k('creation_datetime', STR, None, I, 'written by Lightning Pose into the config it saves',
       'train.py:296'),
    _k('hydra', DICT, None, I, "Hydra's own settings; `litpose train` ignores them and writes to "
       'outputs/<date>/<time>/', 'cli/commands/train.py:72-80', subtree=True),
)

#: sections and groups: a mapping is allowed wherever a key lies below it
_BY_PATH: Dict[str, LPKey] = {k.path: k for k in KEYS}


def key_spec(path: str) -> Optional[LPKey]:
    """The :class:`LPKey` for a dotted path (``*`` patterns match any one segment), or None."""
    if path in _BY_PATH:
        return _BY_PATH[path]
    parts = path.split('.')
    for key in KEYS:
        pattern = key.path.split('.')
        if len(pattern) == len(parts) and all(p in ('*', s) for p, s in zip(pattern, parts)):
            return key
    return None


def is_group(path: str) -> bool:
    """Whether keys of the table lie below ``path`` (so its value is a mapping of them)."""
    prefix = path + '.'
    return any(k.path.startswith(prefix) for k in KEYS)


def inside_subtree(path: str) -> Optional[LPKey]:
    """The opaque-subtree key (``hydra``, ``training.imgaug``) that ``path`` lies inside."""
    parts = path.split('.')
    for depth in range(len(parts) - 1, 0, -1):
        spec = _BY_PATH.get('.'.join(parts[:depth]))
        if spec is not None and spec.subtree:
            return spec
    return None


def known_paths() -> List[str]:
    """Every listed key and group path, for close-match suggestions."""
    paths = set()
    for key in KEYS:
        parts = key.path.split('.')
        for depth in range(1, len(parts) + 1):
            paths.add('.'.join(parts[:depth]))
    return sorted(paths)


def suggestions(path: str, candidates: Iterable[str] = (), n: int = 3) -> List[str]:
    """Known keys close to ``path`` (same parent first, then anywhere)."""
    pool = set(known_paths()) | set(candidates)
    parent, _, leaf = path.rpartition('.')
    siblings = [p for p in pool if p.rpartition('.')[0] == parent]
    close = difflib.get_close_matches(path, siblings, n=n, cutoff=0.75)
    if not close:
        leaves = {p: p.rpartition('.')[2] for p in pool}
        close = [p for p in pool if leaves[p] in difflib.get_close_matches(
            leaf, list(leaves.values()), n=n, cutoff=0.8)][:n]
    return sorted(close)


def kind_of(value: Any) -> str:
    if value is None:
        return NONE
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, float):
        return FLOAT
    if isinstance(value, str):
        return STR
    if isinstance(value, (list, tuple)):
        return LIST
    if isinstance(value, dict):
        return DICT
    return type(value).__name__
