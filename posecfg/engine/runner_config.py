"""The seed schema (MMPose 0.x keys) → keyword arguments of an mmengine Runner.

This module is the one place where each schema key gets its effect; the keys themselves, with
what each does, are listed once in ``posecfg.config.schema`` (``TOP_LEVEL``, ``SECTIONS``,
``LR_POLICIES``), and keys listed there as ``REFUSED`` (or that the chosen lr policy would not
read) are errors here too, never silent no-ops.

mmengine-native keys given in the config win: dicts (`default_hooks`, `env_cfg`, `train_cfg`,
`val_cfg`, `test_cfg`, the dataloaders) are merged key by key over what the schema gave, anything
else (`optim_wrapper`, `param_scheduler`, `visualizer`, evaluators, `custom_hooks`) replaces it.
The keys of a phase the run does not have (:data:`PHASE_KEYS`: training's and validation's in a
test run, the validation loop's with ``--no-validate``) are left out: mmengine refuses a loop,
optimizer or evaluator without its dataloader, and they would change nothing in this run. A
training run keeps the config's test keys (hooks such as ``LPPredictionsHook`` build the test
dataloader after training).
"""
from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence

from posecfg.config import Config, ConfigError
from posecfg.config.schema import LR_POLICIES, WARMUPS, schema_problems

from .checkpoint import ATOMIC_BACKEND
from .runtime import Runtime, resolve_runtime
from .validate import file_variables

#: metrics whose best value is the smallest
LESS_IS_BETTER = ('EPE', 'NME', 'loss')

#: log_config.hooks types (mmcv 1.x) → mmengine visualization backends
LOGGER_HOOKS = {
    'TextLoggerHook': None,  # mmengine's LoggerHook writes the text log in any case
    'TensorboardLoggerHook': 'TensorboardVisBackend',
    'WandbLoggerHook': 'WandbVisBackend',
    'MlflowLoggerHook': 'MLflowVisBackend',
}

#: mmengine-native keys that belong to one phase of a run (a runner without that phase
#: refuses them)
PHASE_KEYS = {
    'train': ('train_cfg', 'train_dataloader', 'optim_wrapper', 'param_scheduler'),
    'val': ('val_cfg', 'val_dataloader', 'val_evaluator'),
    'test': ('test_cfg', 'test_dataloader', 'test_evaluator'),
}

#: torch.optim classes with a fused implementation (torch >= 2.4 on CPUs)
FUSED_OPTIMIZERS = ('Adam', 'AdamW', 'SGD', 'Adagrad')


class SchemaError(ConfigError):
    """A schema key holds a value the runner cannot use."""


def runner_kwargs(cfg: Config, *, work_dir: str, launcher: str = 'none', validate: bool = True,
                  test: bool = False, cuda: bool = False) -> Dict[str, Any]:
    """Keyword arguments for :class:`posecfg.engine.PoseRunner`.

    ``validate``: evaluate during training (``tools/train.py --no-validate`` turns it off);
    ``test``: also set up the test loop; ``cuda``: whether GPUs are used (picks the
    distributed backend and the mixed-precision wrapper).
    """
    c = cfg.to_dict()
    problems = schema_problems(c, file_variables(cfg))
    if problems:
        raise SchemaError('\n'.join(message for _, message in problems))
    runtime = resolve_runtime(c.get('runtime'), cuda, training=not test)
    kwargs: Dict[str, Any] = dict(
        model=_model(c, runtime),
        work_dir=work_dir,
        launcher=launcher,
        log_level=c.get('log_level', 'INFO'),
        default_scope='posecfg',
        env_cfg=_env_cfg(c, cuda),
        randomness=dict(seed=c.get('seed'), deterministic=bool(c.get('deterministic', False))),
        default_hooks=_default_hooks(c),
        visualizer=_visualizer(c, test),
        log_processor=dict(by_epoch=bool((c.get('log_config') or {}).get('by_epoch', True))),
    )
    load_from, resume_from = c.get('load_from'), c.get('resume_from')
    if resume_from:
        kwargs.update(load_from=resume_from, resume=True)
    elif load_from:
        kwargs.update(load_from=load_from, resume=bool(c.get('resume', False)))
    elif c.get('resume'):
        kwargs['resume'] = True  # mmengine: from the latest checkpoint of the work dir
    data = c.get('data', {})
    if not test:
        kwargs.update(
            train_dataloader=_dataloader(data, 'train', shuffle=True, seeded=True),
            train_cfg=_train_cfg(c, validate),
            optim_wrapper=_optim_wrapper(c, cuda, runtime),
            param_scheduler=_param_schedulers(c))
        if validate and 'val' in data:
            kwargs.update(val_dataloader=_dataloader(data, 'val', shuffle=False),
                          val_cfg=_eval_loop('PoseValLoop', runtime),
                          **evaluator_configs(c, ['val']))
    if test:
        kwargs.update(test_dataloader=_dataloader(data, 'test', shuffle=False),
                      test_cfg=_eval_loop('PoseTestLoop', runtime),
                      **evaluator_configs(c, ['test']))
    if c.get('custom_hooks'):
        kwargs['custom_hooks'] = c['custom_hooks']
    if runtime.compile and not test:
        compile_hook = dict(type='CompileModelHook', mode='auto' if runtime.compile == 'auto'
                            else True)
        if isinstance(runtime.compile, dict):
            compile_hook['options'] = runtime.compile
        kwargs['custom_hooks'] = list(kwargs.get('custom_hooks', [])) + [compile_hook]
    phases = {'test'} if test else {'train', 'val', 'test'} if validate else {'train', 'test'}
    _apply_native_keys(kwargs, c, phases)
    kwargs['runtime'] = runtime
    return kwargs


def resolve_work_dir(cfg: Config, work_dir: Optional[str] = None) -> str:
    """``work_dir`` given (``--work-dir``), else the config's ``work_dir``, else
    ``./work_dirs/<config name>``."""
    return work_dir or cfg.get('work_dir') or default_work_dir(cfg.filename)


def _eval_loop(kind: str, runtime: Runtime) -> dict:
    return dict(type=kind, fp16=runtime.autocast is not None, fold_bn=runtime.fold_bn,
                compile_eval=runtime.compile_eval)


def _model(c: dict, runtime: Runtime) -> dict:
    model = dict(c['model'])
    if runtime.channels_last:
        model['data_preprocessor'] = dict(model.get('data_preprocessor') or {},
                                          channels_last=True)
    return model


# -- data -----------------------------------------------------------------------------------
def _dataloader(data: dict, split: str, shuffle: bool, seeded: bool = False) -> dict:
    """``seeded``: samples are drawn as ``(index, seed)`` keys (``SeededSampler``), so their
    augmentation depends on (seed, epoch, index) only (CONTRACTS.md "Randomness")."""
    if split not in data:
        raise SchemaError(f'data.{split} is missing: it names the {split} dataset')
    overrides = data.get(f'{split}_dataloader', {}) or {}
    setting = lambda key, default: overrides.get(key, data.get(key, default))  # noqa: E731
    dataset = dict(data[split])
    if split in ('val', 'test'):
        dataset['test_mode'] = True
    workers = setting('workers_per_gpu', 2)
    loader = dict(
        batch_size=setting('samples_per_gpu', 1),
        num_workers=workers,
        persistent_workers=setting('persistent_workers', workers > 0) and workers > 0,
        pin_memory=setting('pin_memory', False),
        drop_last=setting('drop_last', False),
        sampler=dict(type='SeededSampler' if seeded else 'DefaultSampler',
                     shuffle=setting('shuffle', shuffle)),
        collate_fn=_collate_fn(setting('collate_fn', None)),
        dataset=dataset)
    prefetch = setting('prefetch_factor', None)
    if workers > 0 and prefetch:
        loader['prefetch_factor'] = prefetch
    return loader


def _collate_fn(spec) -> dict:
    """``data[.<split>_dataloader].collate_fn`` (a name or a dict with ``type`` and partial
    arguments), default ``pose_collate``; names get posecfg's scope, because mmengine looks
    collate functions up in its root registry."""
    if spec is None:
        spec = dict(type='pose_collate')
    elif isinstance(spec, str):
        spec = dict(type=spec)
    if not isinstance(spec, dict) or not isinstance(spec.get('type'), str):
        raise SchemaError(f"collate_fn must name a registered collate function, e.g. "
                          f"dict(type='pose_pad_collate', size_divisor=32), got {spec!r}")
    spec = dict(spec)
    if '.' not in spec['type']:
        spec['type'] = f"posecfg.{spec['type']}"
    return spec


def evaluator_configs(c: dict, splits: Sequence[str]) -> Dict[str, List[dict]]:
    """``{'<split>_evaluator': [metric configs]}`` for each of ``splits`` (``'val'``,
    ``'test'``) whose evaluator the config does not give itself: ``evaluation.metric``'s names
    expanded by the class of ``data.<split>`` (``metric_configs(names, dataset_cfg)``, from the
    config alone), ``evaluation.outfile_prefix`` given to COCO metrics."""
    from posecfg.registry import DATASETS
    evaluation = c.get('evaluation', {}) or {}
    names = evaluation.get('metric', 'mAP')
    out = {}
    for split in splits:
        key = f'{split}_evaluator'
        if c.get(key) is not None:
            continue  # given explicitly: _apply_native_keys keeps it
        dataset = (c.get('data') or {}).get(split)
        if not isinstance(dataset, dict):
            raise SchemaError(f'data.{split} is missing: it names the {split} dataset')
        cls = DATASETS.get(dataset.get('type')) if isinstance(dataset.get('type'), str) else None
        expand = getattr(cls, 'metric_configs', None)
        if expand is None:
            raise SchemaError(f"data.{split}.type={dataset.get('type')!r} does not turn "
                              f'evaluation.metric names into metrics (it has no '
                              f'metric_configs); give {key}=[dict(type=...), ...] explicitly')
        try:
            metrics = expand(names, dataset)
        except (ValueError, KeyError, TypeError) as err:
            raise SchemaError(f'evaluation.metric={names!r} for data.{split}: {err}') from err
        for metric in metrics:
            if evaluation.get('outfile_prefix') and metric.get('type') == 'CocoKeypointMetric':
                metric.setdefault('outfile_prefix', evaluation['outfile_prefix'])
        out[key] = metrics
    return out


def expanded_config(cfg: Config, splits: Optional[Sequence[str]] = None) -> Config:
    """``cfg`` with what the engine derives from the schema written out where the config does
    not give it: ``val_evaluator``/``test_evaluator`` (for ``splits``, default every split
    ``data`` has among val and test). The resolved config in the work dir and
    ``tools/print_config.py --engine`` show it; loaded again it runs the same (explicit
    evaluators win over ``evaluation.metric``)."""
    c = cfg.to_dict()
    if splits is None:
        splits = [s for s in ('val', 'test') if s in (c.get('data') or {})]
    additions = evaluator_configs(c, splits)
    if not additions:
        return cfg
    return Config.fromdict({**c, **additions}, filename=cfg.filename)


# -- training -------------------------------------------------------------------------------
def _train_cfg(c: dict, validate: bool) -> dict:
    if 'total_epochs' not in c:
        raise SchemaError('total_epochs is missing: it says how many epochs to train')
    workflow = c.get('workflow', [('train', 1)])
    _check_workflow(workflow)
    evaluation = c.get('evaluation', {}) or {}
    if evaluation.get('by_epoch', True) is not True:
        raise SchemaError('evaluation.by_epoch=False (evaluating every n iterations) is not '
                          'supported: evaluation.interval counts epochs')
    loop = dict(type='WorkflowTrainLoop', max_epochs=int(c['total_epochs']),
                workflow=[list(w) for w in workflow],
                val_interval=int(evaluation.get('interval', 1)) if validate else 10**9,
                val_begin=int(evaluation.get('start', 1) or 1))
    if any(phase == 'val' for phase, _ in workflow):
        loop['val_loss_dataloader'] = _val_loss_dataloader(c.get('data', {}))
    data = c.get('data', {})
    if data.get('unlabeled') is not None:
        # a second stream drawn in every training step (posecfg.engine.streams)
        loop['extra_dataloaders'] = dict(
            unlabeled=_dataloader(data, 'unlabeled', shuffle=True, seeded=True))
    return loop


def _val_loss_dataloader(data: dict) -> dict:
    """The val dataset through the train pipeline (so it has targets), as MMPose 0.x's
    ``('val', n)`` workflow phase used it."""
    if 'val' not in data:
        raise SchemaError("workflow has a ('val', n) phase, which needs data.val")
    val = dict(data['val'], pipeline=data['train']['pipeline'])
    loader = _dataloader(dict(data, val=val), 'val', shuffle=False, seeded=True)
    loader['dataset']['test_mode'] = False
    return loader


def _check_workflow(workflow):
    ok = isinstance(workflow, (list, tuple)) and workflow and all(
        isinstance(w, (list, tuple)) and len(w) == 2 and w[0] in ('train', 'val')
        and isinstance(w[1], int) and w[1] > 0 for w in workflow)
    if not ok or not any(w[0] == 'train' for w in workflow):
        raise SchemaError(
            f'workflow must be a list of (phase, epochs) with phase train or val and at least '
            f"one train entry, like [('train', 1), ('val', 1)]; got {workflow!r}")


def _optim_wrapper(c: dict, cuda: bool, runtime: Runtime) -> dict:
    optimizer = dict(c.get('optimizer') or {})
    if 'type' not in optimizer:
        raise SchemaError("optimizer must name a torch.optim class, e.g. dict(type='Adam', "
                          'lr=5e-4)')
    if optimizer['type'] in FUSED_OPTIMIZERS and 'fused' not in optimizer \
            and 'foreach' not in optimizer:
        # one fused kernel instead of a loop over parameters: the same update, ~4x faster on
        # a CPU (ResNet-50 Adam step: 81 ms → 20 ms)
        optimizer['fused'] = True
    wrapper = dict(type='OptimWrapper', optimizer=optimizer)
    paramwise = optimizer.pop('paramwise_cfg', None)
    if paramwise:
        wrapper['paramwise_cfg'] = paramwise
    optimizer_config = c.get('optimizer_config') or {}
    if optimizer_config.get('grad_clip'):
        wrapper['clip_grad'] = dict(optimizer_config['grad_clip'])
    if optimizer_config.get('cumulative_iters', 1) > 1:
        wrapper['accumulative_counts'] = int(optimizer_config['cumulative_iters'])
    fp16 = c.get('fp16')
    if fp16:
        if cuda:
            wrapper.update(type='AmpOptimWrapper', loss_scale=fp16.get('loss_scale', 'dynamic'))
        else:
            # no fp16 kernels worth using on a CPU: autocast to bfloat16, which needs no scaling
            wrapper.update(type='AutocastOptimWrapper', dtype=fp16.get('dtype', 'bfloat16'))
    elif runtime.autocast is not None:
        wrapper.update(type='AutocastOptimWrapper', dtype='bfloat16')
    return wrapper


def _param_schedulers(c: dict) -> List[dict]:
    lr = dict(c.get('lr_config') or {})
    total = int(c['total_epochs'])
    policy = lr.get('policy', 'fixed')
    schedulers = []
    warmup = lr.get('warmup')
    if warmup:
        if warmup not in WARMUPS:
            raise SchemaError(f'lr_config.warmup={warmup!r} is not one of {", ".join(WARMUPS)}')
        by_epoch = bool(lr.get('warmup_by_epoch', False))
        iters, ratio = int(lr.get('warmup_iters', 0)), float(lr.get('warmup_ratio', 0.1))
        # mmcv warms up over steps 0..iters-1 and reaches the regular lr at step `iters`;
        # mmengine's schedulers reach their end value at step end-1, hence end = iters + 1
        common = dict(by_epoch=by_epoch, begin=0, end=iters + 1)
        schedulers.append({
            'linear': dict(type='LinearLR', start_factor=ratio, end_factor=1.0, **common),
            'constant': dict(type='ConstantLR', factor=ratio, **common),
            'exp': dict(type='ExpWarmupLR', warmup_ratio=ratio, **common),
        }[warmup])
    main = dict(by_epoch=lr.get('by_epoch', True), begin=0, end=total)
    min_lr = lr.get('min_lr')
    if policy == 'step':
        step = lr.get('step')
        gamma = float(lr.get('gamma', 0.1))
        if isinstance(step, int):
            schedulers.append(dict(type='StepLR', step_size=step, gamma=gamma, **main))
        elif isinstance(step, (list, tuple)) and step:
            schedulers.append(dict(type='MultiStepLR', milestones=list(step), gamma=gamma, **main))
        else:
            raise SchemaError(f'lr_config.step must be an epoch or a list of epochs for policy '
                              f"'step', got {step!r}")
        if min_lr:
            raise SchemaError("lr_config.min_lr is not supported with policy='step'; use "
                              "policy='cosine' or 'poly', which take min_lr")
    elif policy in ('cosine', 'CosineAnnealing'):
        sched = dict(type='CosineAnnealingLR', T_max=total, **main)
        if lr.get('min_lr_ratio') is not None:
            sched['eta_min_ratio'] = float(lr['min_lr_ratio'])
        else:
            sched['eta_min'] = float(min_lr or 0.0)
        schedulers.append(sched)
    elif policy == 'poly':
        # mmcv: (1 - epoch / total) ** power; mmengine divides by end - 1
        schedulers.append(dict(type='PolyLR', power=float(lr.get('power', 1.0)),
                               eta_min=float(min_lr or 0.0), **dict(main, end=total + 1)))
    elif policy == 'exp':
        schedulers.append(dict(type='ExponentialLR', gamma=float(lr['gamma']), **main))
    elif policy != 'fixed':
        raise SchemaError(f'lr_config.policy={policy!r} is not one of {", ".join(LR_POLICIES)}')
    return schedulers


# -- hooks, logging, environment ------------------------------------------------------------
def _default_hooks(c: dict) -> dict:
    ckpt = dict(c.get('checkpoint_config') or {})
    evaluation = c.get('evaluation') or {}
    checkpoint = dict(type='CheckpointHook', interval=int(ckpt.get('interval', 1)),
                      by_epoch=ckpt.get('by_epoch', True),
                      max_keep_ckpts=int(ckpt.get('max_keep_ckpts', -1)),
                      save_optimizer=ckpt.get('save_optimizer', True),
                      save_last=ckpt.get('save_last', True),
                      backend_args=dict(backend=ATOMIC_BACKEND))
    for key in ('out_dir', 'filename_tmpl'):
        if ckpt.get(key):
            checkpoint[key] = ckpt[key]
    save_best = evaluation.get('save_best')
    if save_best:
        checkpoint['save_best'] = save_best
        checkpoint['rule'] = evaluation.get('rule') or (
            'less' if any(k in save_best for k in LESS_IS_BETTER) else 'greater')
    log = c.get('log_config') or {}
    return dict(
        timer=dict(type='IterTimerHook'),
        logger=dict(type='LoggerHook', interval=int(log.get('interval', 50)),
                    ignore_last=bool(log.get('ignore_last', True))),
        param_scheduler=dict(type='ParamSchedulerHook'),
        checkpoint=checkpoint,
        sampler_seed=dict(type='DistSamplerSeedHook'),
    )


def _visualizer(c: dict, test: bool = False) -> dict:
    """posecfg's visualizer (mmengine's, its matplotlib figure made on first use:
    :mod:`posecfg.engine.visualizer`) with the backends of ``log_config.hooks``. A test run
    (``test``) keeps only the ``LocalVisBackend``: it logs no scalars (its metrics go to the
    text log and the JSON file of mmengine's ``LoggerHook``), so a TensorBoard, W&B or MLflow
    backend would only be started to record the config (~0.1-0.2 s, an events file)."""
    if c.get('vis_backends') and not c.get('visualizer'):
        # mmengine's variable, used by its visualizer: with no visualizer given, it is the list
        return dict(type='PoseVisualizer', vis_backends=list(c['vis_backends']))
    hooks = (c.get('log_config') or {}).get('hooks', [dict(type='TextLoggerHook')])
    if isinstance(hooks, dict):
        hooks = [hooks]
    backends = [dict(type='LocalVisBackend')]  # the JSON log of every logged scalar
    for hook in hooks:
        kind = hook.get('type') if isinstance(hook, dict) else None
        if kind not in LOGGER_HOOKS:
            raise SchemaError(f'log_config.hooks: {kind!r} is not one of '
                              f'{", ".join(LOGGER_HOOKS)}')
        if LOGGER_HOOKS[kind] and not test:
            options = {k: v for k, v in hook.items() if k not in ('type', 'interval', 'by_epoch',
                                                                   'ignore_last', 'reset_flag')}
            backends.append(dict(type=LOGGER_HOOKS[kind], **options))
    # no name: mmengine names it after the run, so two runs in one process keep their own logs
    return dict(type='PoseVisualizer', vis_backends=backends)


def _env_cfg(c: dict, cuda: bool) -> dict:
    dist = dict(c.get('dist_params') or {})
    backend = dist.pop('backend', 'nccl' if cuda else 'gloo')
    if backend == 'nccl' and not cuda:
        backend = 'gloo'  # nccl needs GPUs; the runner logs the switch
    env = dict(cudnn_benchmark=bool(c.get('cudnn_benchmark', False)),
               mp_cfg=dict(mp_start_method=c.get('mp_start_method', 'fork'),
                           opencv_num_threads=int(c.get('opencv_num_threads', 0))),
               dist_cfg=dict(backend=backend, **dist))
    return env


def _apply_native_keys(kwargs: dict, c: dict, phases: set):
    """The config's mmengine-native keys over the schema's ``kwargs``; ``phases``: those whose
    keys are kept (``train``, ``val``, ``test``); the :data:`PHASE_KEYS` of the others are left
    out."""
    merged = ('default_hooks', 'env_cfg', 'train_cfg', 'val_cfg', 'test_cfg', 'train_dataloader',
              'val_dataloader', 'test_dataloader')
    replaced = ('optim_wrapper', 'param_scheduler', 'visualizer', 'val_evaluator',
                'test_evaluator', 'log_processor', 'randomness', 'auto_scale_lr',
                'experiment_name')
    absent = {key for phase, keys in PHASE_KEYS.items() if phase not in phases for key in keys}
    for key in merged:
        if key in absent:
            continue
        if c.get(key) and key in kwargs:
            kwargs[key] = _merge(kwargs[key], c[key])
        elif c.get(key):
            kwargs[key] = c[key]
    for key in replaced:
        if key in absent:
            continue
        phase = key[:-len('_evaluator')] if key.endswith('_evaluator') else None
        if phase and f'{phase}_dataloader' not in kwargs:
            continue  # a config without data.val: nothing to evaluate, mmengine refuses it
        if key in c and c[key] is not None:
            kwargs[key] = c[key]
    if c.get('default_scope'):
        kwargs['default_scope'] = c['default_scope']


def _merge(base: dict, new: dict) -> dict:
    out = dict(base)
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and \
                not value.get('_delete_'):
            out[key] = _merge(out[key], value)
        else:
            out[key] = {k: v for k, v in value.items() if k != '_delete_'} \
                if isinstance(value, dict) else value
    return out


def default_work_dir(config_file: Optional[str]) -> str:
    """``./work_dirs/<config name>``, as MMPose does."""
    name = os.path.splitext(os.path.basename(config_file))[0] if config_file else 'posecfg'
    return os.path.join('work_dirs', name)
