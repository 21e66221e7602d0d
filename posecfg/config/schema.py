"""Keys the runner understands without a registered ``type`` to tell.

A ``--cfg-options`` item may set a key that does not exist in the config when that key has a
meaning: a constructor argument of the registered ``type`` of its dict (asked of the registry), or
one of the keys below — top-level keys of the seed schema and mmengine's native ones, and the
keys of the schema's sections that carry no ``type``. ``posecfg.engine`` reads exactly these.
"""

#: top-level keys: MMPose 0.x schema (seed 003), mmengine-native keys, posecfg's runtime switches
TOP_LEVEL = frozenset({
    # MMPose 0.x schema
    'log_level', 'load_from', 'resume_from', 'dist_params', 'workflow', 'checkpoint_config',
    'evaluation', 'optimizer', 'optimizer_config', 'lr_config', 'momentum_config', 'total_epochs',
    'log_config', 'model', 'data', 'data_root', 'channel_cfg', 'data_cfg', 'train_pipeline',
    'val_pipeline', 'test_pipeline', 'dataset_info', 'fp16', 'work_dir', 'gpu_ids', 'seed',
    'deterministic', 'cudnn_benchmark', 'opencv_num_threads', 'mp_start_method', 'custom_imports',
    # mmengine-native
    'default_scope', 'default_hooks', 'custom_hooks', 'env_cfg', 'visualizer', 'vis_backends',
    'log_processor', 'param_scheduler', 'optim_wrapper', 'randomness', 'launcher', 'resume',
    'train_cfg', 'val_cfg', 'test_cfg', 'train_dataloader', 'val_dataloader', 'test_dataloader',
    'val_evaluator', 'test_evaluator', 'auto_scale_lr', 'experiment_name',
    # posecfg runtime switches (see README "Performance switches")
    'runtime',
})

_DATALOADER = frozenset({
    'samples_per_gpu', 'workers_per_gpu', 'shuffle', 'persistent_workers', 'pin_memory',
    'drop_last', 'prefetch_factor'})

#: keys of sections without a ``type``, by dotted path
SECTIONS = {
    'data': _DATALOADER | {'train', 'val', 'test', 'train_dataloader', 'val_dataloader',
                           'test_dataloader'},
    'data.train_dataloader': _DATALOADER,
    'data.val_dataloader': _DATALOADER,
    'data.test_dataloader': _DATALOADER,
    'evaluation': frozenset({'interval', 'metric', 'save_best', 'rule', 'by_epoch', 'start',
                             'outfile_prefix'}),
    'checkpoint_config': frozenset({'interval', 'max_keep_ckpts', 'by_epoch', 'save_optimizer',
                                    'out_dir', 'save_last', 'filename_tmpl'}),
    'log_config': frozenset({'interval', 'hooks', 'by_epoch', 'ignore_last'}),
    'lr_config': frozenset({'policy', 'warmup', 'warmup_iters', 'warmup_ratio', 'warmup_by_epoch',
                            'step', 'gamma', 'min_lr', 'min_lr_ratio', 'power', 'by_epoch',
                            'periods', 'restart_weights', 'T_max'}),
    'optimizer_config': frozenset({'grad_clip', 'cumulative_iters'}),
    'optimizer_config.grad_clip': frozenset({'max_norm', 'norm_type'}),
    'dist_params': frozenset({'backend', 'port', 'init_method', 'timeout'}),
    'fp16': frozenset({'loss_scale', 'dtype'}),
    'env_cfg': frozenset({'cudnn_benchmark', 'mp_cfg', 'dist_cfg'}),
    'runtime': frozenset({'autocast', 'channels_last', 'compile', 'threads', 'fold_bn',
                          'compile_eval'}),
    'workflow': frozenset(),
}


def section_keys(dotted_path: str):
    """The keys a typeless section at ``dotted_path`` may hold, or None when it is not a section
    (the empty path is the top level)."""
    if dotted_path == '':
        return TOP_LEVEL
    return SECTIONS.get(dotted_path)
