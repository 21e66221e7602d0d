"""``build_runner``: a posecfg config → a ready :class:`PoseRunner`."""
from __future__ import annotations

from typing import Optional

import torch
from mmengine.logging import print_log

from posecfg.config import Config

from .custom_imports import import_custom_modules
from .runner import PoseRunner, ResolvedConfig
from .runner_config import expanded_config, resolve_work_dir, runner_kwargs
from .runtime import reuse_freed_memory
from .validate import validate_config


def build_runner(cfg: Config, *, work_dir: Optional[str] = None, launcher: str = 'none',
                 validate: bool = True, test: bool = False,
                 checkpoint: Optional[str] = None, out: Optional[str] = None) -> PoseRunner:
    """Check ``cfg`` against the registries, map its schema onto mmengine and build the runner.

    ``validate``: evaluate during training; ``test``: build for ``runner.test()`` with the
    weights of ``checkpoint``, writing predictions to ``out`` when given.
    """
    import posecfg.engine.registration  # noqa: F401  (every registry's members)
    import_custom_modules(cfg)  # plugins register their parts before the check names them
    validate_config(cfg)
    work_dir = resolve_work_dir(cfg, work_dir)
    kwargs = runner_kwargs(cfg, work_dir=work_dir, launcher=launcher, validate=validate,
                           test=test, cuda=torch.cuda.is_available())
    runtime = kwargs.pop('runtime')
    torch.set_num_threads(runtime.threads)
    if runtime.reuse_memory and not torch.cuda.is_available():
        reuse_freed_memory()
    print_log(f'runtime: autocast={runtime.autocast}, channels_last={runtime.channels_last}, '
              f'compile={runtime.compile}, threads={runtime.threads}', logger='current')
    if test:
        if checkpoint:
            kwargs.update(load_from=checkpoint, resume=False)
        if out:
            kwargs['test_cfg'] = dict(kwargs['test_cfg'], out=out)
    # the work dir's config (and every checkpoint's) shows what the engine derived
    splits = [s for s in ('val', 'test') if f'{s}_evaluator' in kwargs]
    resolved = ResolvedConfig(expanded_config(cfg, splits))
    return PoseRunner(**kwargs, cfg=resolved, channels_last=runtime.channels_last,
                      load_partial=bool(cfg.get('load_partial', False)) and not test,
                      checkpoint_purpose='the checkpoint to test' if test else 'load_from',
                      weights_from_checkpoint=test and not kwargs.get('resume'))
