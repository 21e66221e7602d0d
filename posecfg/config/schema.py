"""The config schema: every key posecfg accepts outside a registered ``type``, in one table.

A dict with a ``type`` takes the constructor arguments of its registered class (and the keys the
class declares in ``option_keys``); everything else is here: the top-level keys of the seed
schema (MMPose 0.x), mmengine's native keys, posecfg's runtime switches, and the keys of the
sections that carry no ``type``. Each entry says what the key does; ``posecfg.engine.runner_config``
gives it that effect, and ``tests/test_engine/test_schema_effects.py`` walks every key of this
table and shows that setting it changes what is built, or is refused with an error.

Who reads this table:
- ``--cfg-options`` (``overrides.py``) may set a key that does not exist yet when it is here;
- ``posecfg.engine.validate`` refuses any other key of a typeless section, ``lr_config`` keys
  that its policy does not read, and the keys in :data:`REFUSED`, before anything is built.

Top-level names outside the table are file variables (``target_type = 'GaussianHeatmap'``, used
to write other keys); they have no effect of their own, so one that reads like a misspelt schema
key and that no key is computed from is refused as a typo.
"""
from __future__ import annotations

import difflib
from typing import Dict, FrozenSet, Iterable, List, Optional, Tuple

#: top-level keys → their effect (mmengine Runner argument, or how other keys use them)
TOP_LEVEL: Dict[str, str] = {
    # MMPose 0.x schema (seed 003)
    'model': 'the model, built from MODELS',
    'data': 'dataloaders and datasets of train/val/test (section below)',
    'optimizer': "optim_wrapper.optimizer (paramwise_cfg → optim_wrapper.paramwise_cfg)",
    'optimizer_config': 'optim_wrapper.clip_grad / accumulative_counts',
    'lr_config': 'param_scheduler (warmup + one policy, as mmcv)',
    'total_epochs': 'train_cfg.max_epochs, and the end of the lr schedule',
    'workflow': "train_cfg.workflow: [('train', n), ('val', m)] phases",
    'evaluation': 'val_evaluator, val interval/start, save_best (section below)',
    'checkpoint_config': 'default_hooks.checkpoint',
    'log_config': 'default_hooks.logger, log_processor, visualizer backends',
    'log_level': 'Runner log_level',
    'load_from': 'Runner load_from (weights only)',
    'load_partial': 'True: load_from loads the tensors that fit and logs the rest, instead of '
                    'refusing a checkpoint of another model (engine/weights.py)',
    'resume_from': 'Runner load_from with resume=True',
    'dist_params': 'env_cfg.dist_cfg',
    'fp16': 'optim_wrapper: AmpOptimWrapper on GPUs, bfloat16 autocast on CPUs',
    'work_dir': 'where logs and checkpoints go (unless --work-dir)',
    'seed': 'randomness.seed',
    'deterministic': 'randomness.deterministic',
    'cudnn_benchmark': 'env_cfg.cudnn_benchmark',
    'opencv_num_threads': 'env_cfg.mp_cfg.opencv_num_threads',
    'mp_start_method': 'env_cfg.mp_cfg.mp_start_method',
    'custom_imports': 'modules imported before anything is built, so plugins register parts',
    # variables of MMPose 0.x configs: their effect is through the keys written with them
    'data_root': 'variable: the data paths written with it',
    'channel_cfg': 'variable: the head channels and data_cfg written with it',
    'data_cfg': 'variable: the datasets written with it',
    'train_pipeline': 'variable: data.train.pipeline',
    'val_pipeline': 'variable: data.val.pipeline',
    'test_pipeline': 'variable: data.test.pipeline',
    'dataset_info': 'variable: the datasets written with it (configs/_base_/datasets/*.py)',
    # mmengine-native keys: given in the config, they win over what the schema gave
    'default_scope': 'Runner default_scope',
    'default_hooks': 'merged key by key over the schema hooks',
    'custom_hooks': 'Runner custom_hooks',
    'env_cfg': 'merged key by key over env_cfg',
    'visualizer': 'replaces the visualizer',
    'vis_backends': 'visualizer.vis_backends when the config gives no visualizer',
    'log_processor': 'replaces log_processor',
    'param_scheduler': 'replaces the schedule lr_config gives',
    'optim_wrapper': 'replaces the optim wrapper optimizer* and fp16 give',
    'randomness': 'replaces randomness',
    'resume': 'True: resume from load_from, or from the latest checkpoint of the work dir',
    'train_cfg': 'merged over the train loop',
    'val_cfg': 'merged over the val loop',
    'test_cfg': 'merged over the test loop',
    'train_dataloader': 'merged over the train dataloader',
    'val_dataloader': 'merged over the val dataloader',
    'test_dataloader': 'merged over the test dataloader',
    'val_evaluator': 'replaces the val evaluator',
    'test_evaluator': 'replaces the test evaluator',
    'auto_scale_lr': 'Runner auto_scale_lr',
    'experiment_name': 'Runner experiment_name (names the log folder)',
    # posecfg runtime switches (README "Performance switches", engine/runtime.py)
    'runtime': 'autocast, channels_last, compile, threads, fold_bn, compile_eval, reuse_memory',
}

_DATALOADER = {
    'samples_per_gpu': 'batch_size', 'workers_per_gpu': 'num_workers',
    'shuffle': 'sampler.shuffle', 'persistent_workers': 'persistent_workers',
    'pin_memory': 'pin_memory', 'drop_last': 'drop_last',
    'prefetch_factor': 'prefetch_factor (with workers)',
    'collate_fn': "collate_fn: a registered name or dict(type=…, …); default 'pose_collate'"}

#: lr_config keys every policy reads
LR_COMMON = {'policy': "'step', 'fixed', 'cosine'/'CosineAnnealing', 'poly' or 'exp'",
             'by_epoch': 'the schedule steps per epoch (True) or per iteration'}
#: lr_config keys read only with ``warmup`` set
LR_WARMUP = {'warmup': "'linear', 'constant' or 'exp'",
             'warmup_iters': 'warmup length (iterations, or epochs with warmup_by_epoch)',
             'warmup_ratio': 'the lr factor warmup starts from',
             'warmup_by_epoch': 'warmup_iters counts epochs'}
#: lr_config policy → the keys it reads (beyond LR_COMMON and LR_WARMUP)
LR_POLICIES: Dict[str, Dict[str, str]] = {
    'step': {'step': 'epoch (StepLR) or list of epochs (MultiStepLR)', 'gamma': 'decay factor'},
    'fixed': {},
    'cosine': {'min_lr': 'eta_min', 'min_lr_ratio': 'eta_min_ratio'},
    'poly': {'power': 'exponent', 'min_lr': 'eta_min'},
    'exp': {'gamma': 'decay factor per epoch'},
}
LR_POLICIES['CosineAnnealing'] = LR_POLICIES['cosine']
WARMUPS = ('linear', 'constant', 'exp')

#: typeless sections → their keys and what each does
SECTIONS: Dict[str, Dict[str, str]] = {
    'data': dict(_DATALOADER, train='the train dataset', val='the val dataset',
                 test='the test dataset', train_dataloader='train dataloader settings',
                 val_dataloader='val dataloader settings',
                 test_dataloader='test dataloader settings',
                 unlabeled='a second training stream drawn next to every labelled batch '
                           '(train_cfg.extra_dataloaders, engine/streams.py)',
                 unlabeled_dataloader='unlabeled dataloader settings'),
    'data.train_dataloader': _DATALOADER,
    'data.unlabeled_dataloader': _DATALOADER,
    'data.val_dataloader': _DATALOADER,
    'data.test_dataloader': _DATALOADER,
    'evaluation': {'interval': 'train_cfg.val_interval', 'metric': 'val/test evaluator metrics',
                   'save_best': 'checkpoint save_best', 'rule': "checkpoint rule ('greater'…)",
                   'by_epoch': 'True only: evaluation is per epoch',
                   'start': 'train_cfg.val_begin',
                   'outfile_prefix': 'where the metrics write predictions'},
    'checkpoint_config': {'interval': 'interval', 'max_keep_ckpts': 'max_keep_ckpts',
                          'by_epoch': 'by_epoch', 'save_optimizer': 'save_optimizer',
                          'out_dir': 'out_dir', 'save_last': 'save_last',
                          'filename_tmpl': 'filename_tmpl'},
    'log_config': {'interval': 'default_hooks.logger.interval',
                   'hooks': 'TextLoggerHook / TensorboardLoggerHook / … → vis_backends',
                   'by_epoch': 'log_processor.by_epoch',
                   'ignore_last': 'default_hooks.logger.ignore_last'},
    'lr_config': dict(LR_COMMON, **LR_WARMUP,
                      **{k: v for policy in LR_POLICIES.values() for k, v in policy.items()}),
    'optimizer_config': {'grad_clip': 'optim_wrapper.clip_grad',
                         'cumulative_iters': 'optim_wrapper.accumulative_counts'},
    'optimizer_config.grad_clip': {'max_norm': 'clip_grad.max_norm',
                                   'norm_type': 'clip_grad.norm_type'},
    'dist_params': {'backend': 'dist_cfg.backend (nccl → gloo without GPUs)',
                    'init_method': 'dist_cfg.init_method', 'timeout': 'dist_cfg.timeout (s)'},
    'fp16': {'loss_scale': 'AmpOptimWrapper loss_scale (GPUs)',
             'dtype': 'autocast dtype on CPUs'},
    'env_cfg': {'cudnn_benchmark': 'merged', 'mp_cfg': 'merged', 'dist_cfg': 'merged'},
    'runtime': {'autocast': 'bf16 autocast', 'channels_last': 'NHWC memory format',
                'compile': 'torch.compile of the networks', 'threads': 'torch threads',
                'fold_bn': 'BatchNorm folding for evaluation',
                'compile_eval': 'compiled evaluation model',
                'reuse_memory': 'malloc keeps freed large blocks (CPU)'},
    'workflow': {},
}

#: keys of MMPose 0.x / mmcv / mmengine configs that posecfg does not implement → why, and what
#: to write instead. Setting one is an error, never a silent no-op.
REFUSED: Dict[str, str] = {
    'momentum_config': 'momentum schedules are not implemented; give param_scheduler with a '
                       'momentum scheduler (mmengine) instead',
    'gpu_ids': 'GPUs are chosen with CUDA_VISIBLE_DEVICES and tools/dist_train.sh, not in the '
               'config',
    'launcher': 'the launcher is a command-line flag (tools/train.py --launcher)',
    'lr_config.periods': "CosineRestart is not implemented (lr_config.policy is one of "
                         "'step', 'fixed', 'cosine', 'poly', 'exp')",
    'lr_config.restart_weights': "CosineRestart is not implemented (lr_config.policy is one "
                                 "of 'step', 'fixed', 'cosine', 'poly', 'exp')",
    'lr_config.T_max': 'the cosine schedule always spans total_epochs',
    'dist_params.port': "the port is the launcher's (MASTER_PORT, or PORT for "
                        'tools/dist_train.sh)',
}


def section_keys(dotted_path: str) -> Optional[FrozenSet[str]]:
    """The keys a typeless section at ``dotted_path`` may hold, or None when it is not a section
    (the empty path is the top level)."""
    if dotted_path == '':
        return frozenset(TOP_LEVEL)
    keys = SECTIONS.get(dotted_path)
    return None if keys is None else frozenset(keys)


Problem = Tuple[Tuple[str, ...], str]


def schema_problems(data: dict, variables: Iterable[str] = ()) -> List[Problem]:
    """Keys of ``data`` (a loaded config) that the schema refuses, as (path, message) pairs.

    ``variables``: top-level names that other keys were computed from (the loader knows them);
    they are file variables even when they read like a misspelt schema key.
    """
    problems: List[Problem] = []
    variables = set(variables)
    for key in data:
        if key in TOP_LEVEL:
            continue
        if key in REFUSED:
            problems.append(((key,), f'{key}: not supported: {REFUSED[key]}'))
        elif key not in variables and not key.startswith('_'):
            close = difflib.get_close_matches(key, list(TOP_LEVEL), n=3, cutoff=0.8)
            if close:
                problems.append(((key,), f'{key}: not a config key, and no key is computed '
                                         f'from it; did you mean {", ".join(close)}?'))
    for section in SECTIONS:
        value = _get(data, section)
        if isinstance(value, dict):
            problems += _section_problems(section, value)
    return problems


def _section_problems(section: str, value: dict) -> List[Problem]:
    allowed = SECTIONS[section]
    path = tuple(section.split('.'))
    problems = []
    for key in value:
        dotted = f'{section}.{key}'
        if dotted in REFUSED:
            problems.append((path + (key,), f'{dotted}: not supported: {REFUSED[dotted]}'))
        elif key not in allowed:
            close = difflib.get_close_matches(key, list(allowed), n=3, cutoff=0.6)
            hint = f'; did you mean {", ".join(close)}?' if close else \
                f'; it takes {", ".join(sorted(allowed))}'
            problems.append((path + (key,), f'{dotted}: not a key of {section}{hint}'))
    if section == 'lr_config':
        problems += _lr_problems(value, path)
    return problems


def _lr_problems(lr: dict, path: Tuple[str, ...]) -> List[Problem]:
    """Keys the chosen policy (or the absence of warmup) would ignore."""
    policy = lr.get('policy', 'fixed')
    if policy not in LR_POLICIES:
        return [(path + ('policy',), f'lr_config.policy={policy!r} is not one of '
                                     f'{", ".join(LR_POLICIES)}')]
    # ``warmup=None`` written out is how an MMPose user switches a base's warm-up off: the base's
    # other warmup_* keys then stay, inert, as in mmcv; only a warmup_* key with no ``warmup``
    # key at all is a mistake
    switched_off = 'warmup' in lr and lr['warmup'] is None
    read = set(LR_COMMON) | set(LR_POLICIES[policy]) | (
        set(LR_WARMUP) if lr.get('warmup') or switched_off else {'warmup'})
    problems = []
    for key in lr:
        if key in SECTIONS['lr_config'] and key not in read:
            why = 'warmup is not set' if key in LR_WARMUP else f'policy {policy!r} does not ' \
                'read it'
            problems.append((path + (key,), f'lr_config.{key}: has no effect: {why}; remove it '
                                            'or choose a policy that reads it'))
    return problems


def _get(data: dict, dotted: str):
    value = data
    for part in dotted.split('.'):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value
