"""Lightning Pose's config rules, checked when the config is loaded instead of minutes into a run.

:func:`check_config` needs only the config: unknown keys (with close matches), value types and
choices, keys Lightning Pose reads without a default, and the rules of
``api/model_config.py::ModelConfig.validate`` (2.4.3, l. 128-359) plus those Lightning Pose
enforces later, deep inside training (each cites its place). :func:`check_project` adds the rules
that need the labels CSV: ``num_keypoints`` and ``keypoint_names`` against the file
(paninski-lab/lightning-pose#165), ``_left``/``_right`` pairs for ``imgaug_hflip``, PCA columns
and whether there are enough training frames for the PCA (#169).

Every problem is reported at once, each naming its key and the file line (or command-line item)
that set it.
"""
from __future__ import annotations

import math
import os
from typing import Any, List, Sequence

from . import dialect
from .config import LPConfig, LPConfigError, Path


class _Problems(list):
    def __init__(self, cfg: LPConfig):
        super().__init__()
        self.cfg = cfg

    def add(self, path, message: str):
        path = tuple(path.split('.')) if isinstance(path, str) else tuple(path)
        self.append(f'{".".join(map(str, path))} ({self.cfg.where(path)}): {message}')

    def raise_if_any(self):
        if self:
            raise LPConfigError(self.cfg.path, self)


def check_config(cfg: LPConfig) -> None:
    """Check everything that needs only the config; raises :class:`LPConfigError`."""
    problems = _Problems(cfg)
    _check_keys(cfg.raw, (), problems, cfg)
    problems.raise_if_any()          # the rules below read values of the right kinds
    _check_mode_mixing(cfg, problems)
    _check_required(cfg, problems)
    problems.raise_if_any()
    _check_data(cfg, problems)
    _check_training(cfg, problems)
    _check_model(cfg, problems)
    _check_losses(cfg, problems)
    problems.raise_if_any()


# ----------------------------------------------------------------------------------- keys

def _check_keys(node: Any, path: Path, problems: _Problems, cfg: LPConfig):
    if not isinstance(node, dict):
        return
    for key, raw in node.items():
        child = path + (key,)
        dotted = '.'.join(map(str, child))
        if not isinstance(key, str):
            problems.add(child, f'keys are names, got {key!r}')
            continue
        if dialect.inside_subtree(dotted):
            continue
        spec = dialect.key_spec(dotted)
        value = _resolved(cfg, child)
        if spec is None:
            if dialect.is_group(dotted):
                if value is not None and not isinstance(value, dict):
                    problems.add(child, f'must be a mapping of keys, got {value!r}')
                else:
                    _check_keys(raw, child, problems, cfg)
                continue
            close = dialect.suggestions(dotted)
            hint = f'; did you mean {" or ".join(close)}?' if close else ''
            problems.add(child, f'unknown key: Lightning Pose does not read it{hint}')
            continue
        kind = dialect.kind_of(value)
        if kind not in spec.kinds:
            problems.add(child, f'must be {_kinds(spec.kinds)}, got {value!r}')
            continue
        if spec.choices and isinstance(value, (str, int)) and not isinstance(value, bool) and \
                str(value) not in spec.choices:
            close = [c for c in spec.choices if c.lower() == str(value).lower()]
            hint = f'; did you mean {close[0]}?' if close else ''
            problems.add(child, f'{value!r} is not one of {", ".join(spec.choices)}{hint}')
        if kind == dialect.DICT and not spec.subtree:
            _check_keys(raw, child, problems, cfg)


def _kinds(kinds: Sequence[str]) -> str:
    names = {dialect.INT: 'an int', dialect.FLOAT: 'a number', dialect.BOOL: 'true/false',
             dialect.STR: 'a string', dialect.NONE: 'null', dialect.LIST: 'a list',
             dialect.DICT: 'a mapping'}
    words = [names[k] for k in kinds if not (k == dialect.INT and dialect.FLOAT in kinds)]
    return ' or '.join(words)


def _resolved(cfg: LPConfig, path: Path) -> Any:
    node = cfg.data
    for key in path:
        node = node[key]
    return node


# ------------------------------------------------------------------------------ required

def _required_keys(cfg: LPConfig) -> List[str]:
    """Keys Lightning Pose reads without a default, for this config's model and mode."""
    keys = [k.path for k in dialect.KEYS if k.required and k.scope == dialect.SUPERVISED
            and k.path.split('.')[0] in ('data', 'model', 'eval', 'training')
            and k.path not in _CONDITIONAL]
    model_type = cfg.get('model.model_type', None)
    if isinstance(model_type, str) and 'heatmap' in model_type:
        keys.append('model.heatmap_loss_type')
    keys += (['training.min_steps', 'training.max_steps', 'training.unfreezing_step']
             if cfg.step_mode else
             ['training.min_epochs', 'training.max_epochs', 'training.unfreezing_epoch'])
    if cfg.get('training.early_stopping', False):
        keys.append('training.early_stop_patience')
    if cfg.get('eval.predict_vids_after_training', False):
        keys += ['eval.test_videos_directory',
                 'dali.context.predict.sequence_length' if model_type == 'heatmap_mhcrnn'
                 else 'dali.base.predict.sequence_length']
    if cfg.get('eval.save_vids_after_training', False):
        keys.append('eval.confidence_thresh_for_vid')
    if cfg.has('model.losses_to_use') and cfg.semi_supervised:
        keys += ['callbacks.anneal_weight.attr_name',
                 'dali.context.train.batch_size' if model_type == 'heatmap_mhcrnn'
                 else 'dali.base.train.sequence_length']
    return keys


#: required only in some configurations (added by :func:`_required_keys`)
_CONDITIONAL = {
    'model.heatmap_loss_type', 'training.min_steps', 'training.max_steps',
    'training.unfreezing_step', 'training.min_epochs', 'training.max_epochs',
    'training.unfreezing_epoch', 'training.early_stop_patience', 'eval.test_videos_directory',
    'eval.confidence_thresh_for_vid'}

#: required keys whose value may not be null either
_NOT_NULL = ('data.image_resize_dims.height', 'data.image_resize_dims.width',
             'data.num_keypoints', 'training.train_prob', 'data.data_dir', 'data.video_dir',
             'data.csv_file')


def _check_required(cfg: LPConfig, problems: _Problems):
    for key in _required_keys(cfg):
        if not cfg.has(key):
            template = dialect.key_spec(key).template
            example = f' (the template has {key.rpartition(".")[2]}: {template!r})' \
                if template is not None else ''
            problems.add(key, f'missing: Lightning Pose reads it without a default{example}')
    if not cfg.has('losses'):
        problems.add('losses', 'missing: Lightning Pose reads this section (may be {}) in '
                               'every run (callbacks.py:707-710)')
    for key in _NOT_NULL:
        if cfg.has(key) and cfg.get(key) is None:
            problems.add(key, 'must be set (it is null)')


# ---------------------------------------------------------------------------------- data

def _check_data(cfg: LPConfig, problems: _Problems):
    num_keypoints = cfg.get('data.num_keypoints')
    if num_keypoints <= 0:
        problems.add('data.num_keypoints', f'must be positive, got {num_keypoints}')
    names = cfg.get('data.keypoint_names')
    if names is not None:
        if len(names) != num_keypoints:
            problems.add('data.keypoint_names',
                         f'lists {len(names)} names but data.num_keypoints is {num_keypoints} '
                         '(api/model_config.py:156-162)')
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            problems.add('data.keypoint_names', f'{repeated} appear more than once')
    model_type = cfg.get('model.model_type')
    for dim in ('height', 'width'):
        value = cfg.get(f'data.image_resize_dims.{dim}')
        if value % 128 or value <= 0:
            problems.add(f'data.image_resize_dims.{dim}',
                         f'{value} is not a positive multiple of 128 (128, 256, 384, 512, …; '
                         'api/model_config.py:172-177)')
    if 'vit' in cfg.get('model.backbone') and \
            cfg.get('data.image_resize_dims.height') != cfg.get('data.image_resize_dims.width'):
        problems.add('data.image_resize_dims', f'{cfg.get("model.backbone")} needs height == '
                                               'width (models/factory.py:250-252)')
    views = cfg.get('data.view_names', None)
    csv_file = cfg.get('data.csv_file')
    if views is not None:
        if len(views) == 1:
            problems.add('data.view_names', 'lists one view; leave it out for single-view '
                                            'projects (api/model_config.py:88-92)')
        elif not isinstance(csv_file, list) or len(csv_file) != len(views):
            problems.add('data.csv_file', f'needs one CSV per view ({len(views)} view_names), '
                                          f'got {csv_file!r} (api/model_config.py:164-170)')
    elif isinstance(csv_file, list):
        problems.add('data.csv_file', 'a list of CSVs needs data.view_names (one per CSV)')
    downsample = cfg.get('data.downsample_factor')
    if model_type == 'heatmap_mhcrnn' and cfg.semi_supervised and downsample == 1:
        problems.add('data.downsample_factor', 'semi-supervised heatmap_mhcrnn supports 2 or 3 '
                                               '(models/heatmap_tracker_mhcrnn.py)')


# ------------------------------------------------------------------------------ training

def _check_training(cfg: LPConfig, problems: _Problems):
    train_prob, val_prob = cfg.get('training.train_prob'), cfg.get('training.val_prob')
    if not 0 < train_prob <= 1:
        problems.add('training.train_prob', f'must be in (0, 1], got {train_prob}')
    if val_prob is not None:
        if not 0 <= val_prob <= 1:
            problems.add('training.val_prob', f'must be in [0, 1], got {val_prob}')
        elif train_prob + val_prob > 1.0:
            problems.add('training.val_prob', f'training.train_prob ({train_prob}) + '
                                              f'training.val_prob ({val_prob}) must be <= 1.0 '
                                              '(api/model_config.py:192-197)')
    train_frames = cfg.get('training.train_frames')
    if train_frames is not None and train_frames <= 0:
        problems.add('training.train_frames', f'must be > 0 (a fraction <= 1 or a count > 1), '
                                              f'got {train_frames} (data/utils.py:136-137)')
    for key in ('train_batch_size', 'val_batch_size', 'test_batch_size', 'log_every_n_steps',
                'check_val_every_n_epoch', 'accumulate_grad_batches'):
        value = cfg.get(f'training.{key}')
        if value < 1:
            problems.add(f'training.{key}', f'must be at least 1, got {value}')
    for key in ('num_gpus', 'num_workers', 'rng_seed_data_pt', 'rng_seed_model_pt'):
        value = cfg.get(f'training.{key}')
        if value is not None and value < 0:
            problems.add(f'training.{key}', f'must not be negative, got {value}')
    if cfg.get('training.num_gpus') == 0:
        cfg.warnings.append('training.num_gpus: 0 is read as 1, as Lightning Pose does '
                            '(data/factory.py:255-262)')
    ckpt = cfg.get('training.ckpt_every_n_epochs')
    check_val = cfg.get('training.check_val_every_n_epoch')
    if ckpt is not None and (ckpt < 1 or ckpt % check_val):
        problems.add('training.ckpt_every_n_epochs',
                     f'{ckpt} must be a positive multiple of training.check_val_every_n_epoch '
                     f'({check_val}) (api/model_config.py:199-205)')
    if cfg.get('training.early_stopping') and cfg.get('training.early_stop_patience') < 1:
        problems.add('training.early_stop_patience', 'must be at least 1')
    _check_schedule(cfg, problems)
    _check_imgaug(cfg, problems)


_EPOCH_KEYS = ('min_epochs', 'max_epochs', 'unfreezing_epoch')
_STEP_KEYS = ('min_steps', 'max_steps', 'unfreezing_step')


def _mode(cfg: LPConfig):
    """(mode name, its keys, its milestone key, the other mode's milestone key)."""
    if cfg.step_mode:
        return 'step', _STEP_KEYS, 'milestone_steps', 'milestones'
    return 'epoch', _EPOCH_KEYS, 'milestones', 'milestone_steps'


def _check_mode_mixing(cfg: LPConfig, problems: _Problems):
    """Epoch mode or step mode, never both (api/model_config.py:329-359)."""
    training = cfg.data.get('training')
    if not isinstance(training, dict):
        return
    mode, mode_keys, milestone_key, other_milestone = _mode(cfg)
    for key in _EPOCH_KEYS if cfg.step_mode else _STEP_KEYS:
        if key in training:
            problems.add(f'training.{key}',
                         f'mixes {"epoch" if cfg.step_mode else "step"}-based and {mode}-based '
                         f'fields ({", ".join(k for k in mode_keys if k in training)}); use '
                         f'{", ".join(mode_keys)} only')
    multisteplr = (training.get('lr_scheduler_params') or {}).get('multisteplr')
    if isinstance(multisteplr, dict) and other_milestone in multisteplr:
        problems.add(f'training.lr_scheduler_params.multisteplr.{other_milestone}',
                     f'{mode}-based training takes {milestone_key}, not {other_milestone}')


def _check_schedule(cfg: LPConfig, problems: _Problems):
    """Milestones within the run (api/model_config.py:207-220), sane lengths."""
    training = cfg.data['training']
    mode, mode_keys, milestone_key, _ = _mode(cfg)
    multisteplr = (training.get('lr_scheduler_params') or {}).get('multisteplr')
    if isinstance(multisteplr, dict):
        prefix = 'training.lr_scheduler_params.multisteplr'
        milestones = multisteplr.get(milestone_key)
        if milestones is None and mode == 'step':
            problems.add(f'{prefix}.milestone_steps', 'missing: step-based training needs '
                                                      'milestone steps (api/model_config.py:346)')
        limit_key = 'max_steps' if cfg.step_mode else 'max_epochs'
        limit = training.get(limit_key)
        if milestones is not None and isinstance(limit, int):
            bad = [m for m in milestones if not isinstance(m, int) or isinstance(m, bool) or m < 0]
            if bad:
                problems.add(f'{prefix}.{milestone_key}', f'{bad} are not non-negative integers')
            late = [m for m in milestones if m not in bad and m > limit]
            if late:
                message = (f'{late} lie beyond training.{limit_key} ({limit}) '
                           '(api/model_config.py:207-220)')
                if cfg.strict:
                    problems.add(f'{prefix}.{milestone_key}', message)
                else:
                    cfg.warnings.append(
                        f'{prefix}.{milestone_key} ({cfg.where(prefix)}): {message}: never '
                        'reached, so the learning rate stays constant; Lightning Pose 2.4.3 '
                        'refuses this (posecfg does with strict checks)')
    lo, hi = (training.get('min_steps'), training.get('max_steps')) if cfg.step_mode else \
        (training.get('min_epochs'), training.get('max_epochs'))
    if isinstance(lo, int) and lo < 0:
        problems.add(f'training.{mode_keys[0]}', f'must not be negative, got {lo}')
    if isinstance(hi, int) and hi < 1:
        problems.add(f'training.{mode_keys[1]}', f'must be at least 1, got {hi}')
    if isinstance(lo, int) and isinstance(hi, int) and lo > hi:
        cfg.warnings.append(f'training.{mode_keys[0]} ({lo}) exceeds training.{mode_keys[1]} '
                            f'({hi}): training stops after {hi} {mode}s')
    unfreeze = training.get(mode_keys[2])
    if isinstance(unfreeze, int) and unfreeze < 0:
        problems.add(f'training.{mode_keys[2]}', f'must not be negative, got {unfreeze}')


def _check_imgaug(cfg: LPConfig, problems: _Problems):
    imgaug = cfg.get('training.imgaug')
    if isinstance(imgaug, dict):
        for name, params in imgaug.items():
            key = ('training', 'imgaug', name)
            if not isinstance(params, dict) or set(params) - {'p', 'args', 'kwargs'}:
                problems.add(key, 'each transform takes a mapping with p (probability), args '
                                  '(list) and kwargs (mapping) (data/augmentations.py:25-119)')
                continue
            p = params.get('p', 0.5)
            if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0 <= p <= 1:
                problems.add(key + ('p',), f'must be a probability in [0, 1], got {p!r}')
            if not isinstance(params.get('args', []), list):
                problems.add(key + ('args',), 'must be a list')
            if not isinstance(params.get('kwargs', {}), dict):
                problems.add(key + ('kwargs',), 'must be a mapping')
    elif imgaug not in dialect.IMGAUG_PRESETS:
        problems.add('training.imgaug', f'{imgaug!r} is not one of '
                                        f'{", ".join(dialect.IMGAUG_PRESETS)} or a mapping of '
                                        'transforms (data/augmentations.py:137-238)')
    if cfg.get('training.imgaug_hflip') and cfg.multiview:
        problems.add('training.imgaug_hflip', 'is not supported for multi-view projects '
                                              '(data/factory.py:163-166)')


# --------------------------------------------------------------------------------- model

def _check_model(cfg: LPConfig, problems: _Problems):
    model_type, backbone = cfg.get('model.model_type'), cfg.get('model.backbone')
    if model_type == 'regression':
        if backbone in dialect.BACKBONES_VIT:
            problems.add('model.backbone', f'regression models take CNN backbones, not '
                                           f'{backbone} (models/regression_tracker.py:57-58)')
        if cfg.multiview:
            problems.add('model.model_type', 'multi-view projects need a heatmap model '
                                              '(data/factory.py:147-149)')
    if model_type == 'heatmap_mhcrnn' and cfg.semi_supervised and \
            cfg.get('dali.context.train.batch_size') < 5:
        problems.add('dali.context.train.batch_size',
                     f'{cfg.get("dali.context.train.batch_size")}: semi-supervised context '
                     'models need at least 5 frames (data/factory.py:297-308)')


# -------------------------------------------------------------------------------- losses

def _check_losses(cfg: LPConfig, problems: _Problems):
    losses_to_use = cfg.get('model.losses_to_use') or []
    losses = cfg.get('losses') or {}
    for index, name in enumerate(losses_to_use):
        key = ('model', 'losses_to_use', index)
        if name == '':
            continue
        if name not in dialect.UNSUPERVISED_LOSSES:
            close = dialect.suggestions(name, dialect.UNSUPERVISED_LOSSES)
            problems.add(key, f'{name!r} is not one of {", ".join(dialect.UNSUPERVISED_LOSSES)}'
                              + (f'; did you mean {close[0]}?' if close else ''))
        elif name not in losses:
            problems.add(key, f'{name} needs its settings in losses.{name} '
                              '(losses/factory.py:151-152)')
    if losses_to_use.count('') and len(losses_to_use) > 1:
        problems.add('model.losses_to_use', "'' mixed with losses")
    if 'pca_multiview' in losses_to_use and cfg.get('data.mirrored_column_matches') is None:
        problems.add('data.mirrored_column_matches',
                     'pca_multiview is in model.losses_to_use but no views are matched: list '
                     'the keypoint indices of each view (losses/losses.py:485-487)')
    columns = cfg.get('data.columns_for_singleview_pca')
    if 'pca_singleview' in losses_to_use:
        if columns is None:
            cfg.warnings.append(
                'data.columns_for_singleview_pca is null: pca_singleview uses all '
                f'{cfg.get("data.num_keypoints")} keypoints (as Lightning Pose does); list the '
                'keypoints that are labelled in most frames (paninski-lab/lightning-pose#161)')
        elif len(columns) == 0:
            problems.add('data.columns_for_singleview_pca',
                         'is empty but pca_singleview is in model.losses_to_use: list the '
                         'keypoint indices of the pose PCA (paninski-lab/lightning-pose#161)')
    for name in ('pca_singleview', 'pca_multiview'):
        settings = losses.get(name) or {}
        keep = settings.get('components_to_keep')
        if isinstance(keep, float) and not 0.0 <= keep <= 1.0:
            problems.add(f'losses.{name}.components_to_keep',
                         f'{keep}: a float is a fraction of explained variance in [0, 1]; an int '
                         'is a number of components (utils/pca.py:677-697)')
        percentile = settings.get('empirical_epsilon_percentile')
        if percentile is not None and not 0 <= percentile <= 100:
            problems.add(f'losses.{name}.empirical_epsilon_percentile',
                         f'{percentile} is not a percentile in [0, 100]')
        elif percentile is not None and percentile <= 1 and name in losses_to_use:
            cfg.warnings.append(
                f'losses.{name}.empirical_epsilon_percentile is {percentile}: the scale is 0-100 '
                '(99 means the 99th percentile; paninski-lab/lightning-pose#380)')
        method = settings.get('centering_method')
        if method not in (None, 'mean', 'median'):
            problems.add(f'losses.{name}.centering_method', f"must be null, 'mean' or 'median', "
                                                            f'got {method!r}')
    for name in ('temporal', 'temporal_heatmap_mse', 'temporal_heatmap_kl'):
        epsilon = (losses.get(name) or {}).get('epsilon')
        if isinstance(epsilon, list) and len(epsilon) != cfg.get('data.num_keypoints'):
            problems.add(f'losses.{name}.epsilon',
                         f'lists {len(epsilon)} values; a list needs one per keypoint '
                         f'({cfg.get("data.num_keypoints")}) (losses/losses.py:608-618)')


# ------------------------------------------------------------------------------- project

def check_project(cfg: LPConfig, keypoint_names: Sequence[str], *, num_train_frames: int = None,
                  csv_key: str = 'data.csv_file') -> List[str]:
    """Rules that need the labels CSV (its keypoint names, in file order); raises
    :class:`LPConfigError`. Returns the keypoint names to use (the CSV's when
    ``data.keypoint_names`` is null).

    Args:
        cfg: a loaded config.
        keypoint_names: the CSV's keypoints (per view for multi-view projects).
        num_train_frames: training images after the split, to check the PCA has enough (#169).
    """
    problems = _Problems(cfg)
    names = list(keypoint_names)
    expected = cfg.get('data.num_keypoints')
    if expected != len(names):
        mirrored = ' (a mirrored rig counts the keypoints of all views together)' \
            if not cfg.multiview else ' (per view)'
        problems.add('data.num_keypoints',
                     f'is {expected} but {cfg.get(csv_key)} has {len(names)} keypoints'
                     f'{mirrored}; set it to {len(names)} (paninski-lab/lightning-pose#165)')
    configured = cfg.get('data.keypoint_names')
    if configured is not None and list(configured) != names and len(configured) == len(names):
        first = next(i for i, (a, b) in enumerate(zip(configured, names)) if a != b)
        problems.add('data.keypoint_names',
                     f'differ from the CSV from position {first} on ({configured[first]!r} vs '
                     f'{names[first]!r}); the predictions header would mislabel keypoints')
    if cfg.get('training.imgaug_hflip'):
        _check_hflip_pairs(names, problems)
    losses_to_use = cfg.losses_to_use
    columns = cfg.get('data.columns_for_singleview_pca')
    if columns:
        _check_indices(columns, len(names), 'data.columns_for_singleview_pca', problems)
    matches = cfg.get('data.mirrored_column_matches')
    if matches:
        views = len(cfg.get('data.view_names')) if cfg.multiview else 1
        _check_matches(matches, len(names), cfg.multiview, problems, views)
    if num_train_frames is not None and not problems:
        _check_pca_rows(cfg, losses_to_use, len(names), columns, matches, num_train_frames,
                        problems)
    problems.raise_if_any()
    return list(configured) if configured is not None else names


def _check_hflip_pairs(names: Sequence[str], problems: _Problems):
    """``data/datasets.py:203-246``: every *_left needs its *_right and back."""
    left = {n[:-5] for n in names if n.endswith('_left')}
    right = {n[:-6] for n in names if n.endswith('_right')}
    if left - right:
        problems.add('training.imgaug_hflip',
                     f'keypoints {sorted(b + "_left" for b in left - right)} have no _right '
                     'partner to swap with under horizontal flips')
    if right - left:
        problems.add('training.imgaug_hflip',
                     f'keypoints {sorted(b + "_right" for b in right - left)} have no _left '
                     'partner to swap with under horizontal flips')


def _check_indices(indices, num_keypoints: int, key: str, problems: _Problems) -> bool:
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in indices):
        problems.add(key, f'must hold keypoint indices (ints), got {indices!r}')
        return False
    bad = [i for i in indices if not 0 <= i < num_keypoints]
    if bad:
        problems.add(key, f'indices {bad} are out of range: the CSV has {num_keypoints} '
                          f'keypoints (0 to {num_keypoints - 1})')
        return False
    repeated = sorted({i for i in indices if list(indices).count(i) > 1})
    if repeated:
        problems.add(key, f'indices {repeated} appear more than once')
        return False
    return True


def _check_matches(matches, num_keypoints: int, multiview: bool, problems: _Problems,
                   num_views: int = 1):
    key = 'data.mirrored_column_matches'
    if multiview and all(isinstance(m, int) for m in matches):
        _check_indices(matches, num_keypoints, key, problems)   # per-view indices
        return
    # lists of a multi-view project index the V·K concatenated keypoints (utils/pca.py:70-84)
    num_keypoints *= num_views
    if not all(isinstance(m, list) for m in matches):
        problems.add(key, 'must hold one list of keypoint indices per view')
        return
    if len(matches) < 2:
        problems.add(key, f'has {len(matches)} view; matching needs at least 2')
    if len({len(m) for m in matches}) > 1:
        problems.add(key, f'views list different numbers of keypoints '
                          f'({[len(m) for m in matches]}); keypoint i of each view must match')
    _check_indices([i for m in matches for i in m], num_keypoints, key, problems)


def _check_pca_rows(cfg, losses_to_use, num_keypoints, columns, matches, frames, problems):
    """#169: a PCA needs at least as many rows as dimensions (utils/pca.py:192-203)."""
    if 'pca_singleview' in losses_to_use:
        dims = 2 * (len(columns) if columns else num_keypoints)
        if frames < dims:
            problems.add('data.columns_for_singleview_pca',
                         f'pca_singleview cannot fit PCA with {frames} training frames < {dims} '
                         f'observation dimensions (2 per keypoint); use fewer keypoints or more '
                         'training frames (paninski-lab/lightning-pose#169)')
    if 'pca_multiview' in losses_to_use and matches and (isinstance(matches[0], list) or
                                                         cfg.multiview):
        if isinstance(matches[0], list):
            rows, dims = frames * len(matches[0]), 2 * len(matches)
        else:  # a multi-view project's per-view indices, the same in every view
            rows, dims = frames * len(matches), 2 * len(cfg.get('data.view_names'))
        if rows < dims:
            problems.add('data.mirrored_column_matches',
                         f'pca_multiview cannot fit PCA with {rows} rows < {dims} observation '
                         'dimensions (paninski-lab/lightning-pose#169)')


def check_paths(cfg: LPConfig) -> None:
    """``data.data_dir`` and ``data.video_dir`` exist (``utils/io.py:326-350``: Lightning Pose
    asserts both, even for supervised training)."""
    problems = _Problems(cfg)
    data_dir = os.path.expanduser(cfg.get('data.data_dir'))
    if not os.path.isdir(data_dir):
        problems.add('data.data_dir', f'{data_dir} is not a folder')
    video_dir = os.path.expanduser(cfg.get('data.video_dir'))
    if not os.path.isabs(video_dir):
        video_dir = os.path.join(data_dir, video_dir)
    if not os.path.exists(video_dir):
        problems.add('data.video_dir', f'{video_dir} does not exist (Lightning Pose requires it '
                                       'even without unsupervised losses)')
    checkpoint = cfg.get('model.checkpoint')
    if checkpoint and not os.path.exists(os.path.expanduser(checkpoint)):
        problems.add('model.checkpoint', f'{checkpoint} does not exist')
    problems.raise_if_any()


def steps_per_epoch(num_train_images: int, train_batch_size: int, num_gpus: int = 1,
                    semi_supervised: bool = False) -> int:
    """``train.py::calculate_steps_per_epoch`` (l. 64-83): ceil(train images / per-device batch
    size), at least 10 for semi-supervised models."""
    batch = math.ceil(train_batch_size / max(num_gpus, 1))
    steps = math.ceil(num_train_images / batch)
    return max(10, steps) if semi_supervised else steps


def milestones_in_epochs(milestone_steps: Sequence[int], steps_per_epoch_: int) -> List[int]:
    """Step-mode milestones as Lightning Pose converts them: ceil(step / steps_per_epoch)
    (``train.py:325-333``)."""
    return [math.ceil(s / steps_per_epoch_) for s in milestone_steps]


def resolve_video_dir(cfg: LPConfig) -> str:
    """``data.video_dir``, joined to ``data.data_dir`` when relative (``utils/io.py:343-346``)."""
    video_dir = os.path.expanduser(cfg.get('data.video_dir'))
    return video_dir if os.path.isabs(video_dir) else \
        os.path.join(os.path.expanduser(cfg.get('data.data_dir')), video_dir)
