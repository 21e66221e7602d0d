"""``PoseRunner``: mmengine's Runner, made to train on CPUs too and to keep its files safe.

What it changes:
- distributed training without GPUs: ``torchrun`` / ``srun`` processes join a ``gloo`` process
  group (mmengine's launcher code calls ``torch.cuda.set_device`` and fails on CPU), and the
  model is wrapped in DDP without device ids;
- the resolved posecfg config is what the log shows, what ``work_dir/<config>.py`` holds and what
  every checkpoint's ``meta['cfg']`` carries;
- checkpoints are written atomically and loaded through the allow-listed loader
  (``checkpoint.py``, installed on import);
- a checkpoint's weights must fit the model exactly (``weights.py``; ``load_partial=True`` lets
  ``load_from`` load what fits, for fine-tuning);
- a test run's model, whose every weight the checkpoint replaces, is built without running its
  initialisers and put in channels_last order once its weights are loaded
  (``weights_from_checkpoint``);
- ``resume_from`` compares the config with the checkpoint's (``resume.py``): what cannot be
  followed is refused, changed hyperparameters and schedules are applied and logged;
- a DeepLabCut snapshot (``snapshot-NNN.pt``: ``metadata``/``model``/...) loads and resumes
  like a checkpoint (``hooks/dlc_snapshots.py``, :func:`checkpoint_from_snapshot`).
"""
from __future__ import annotations

import copy
import os
import subprocess
from typing import Callable, Optional, Union

import mmengine
import torch
import torch.distributed as torch_dist
from mmengine.device import get_device
from mmengine.dist import is_distributed
from mmengine.logging import print_log
from mmengine.model import MMDistributedDataParallel, is_model_wrapper
from mmengine.optim import OptimWrapper
from mmengine.runner import BaseLoop, Runner
from mmengine.runner.checkpoint import _load_checkpoint
from mmengine.utils.dl_utils import mmcv_full_available

from posecfg.config import Config
from posecfg.models.utils.bf16_relu import use_bf16_relu_backward
from posecfg.models.utils.group_norm import tune_group_norms

from . import checkpoint as _checkpoint  # noqa: F401  (installs the safe loader)
from .checkpoint import load_checkpoint_file, write_atomically
from .hooks.dlc_snapshots import checkpoint_from_snapshot, is_dlc_snapshot
from .resume import describe, plan_resume
from .runtime import one_thread
from .weights import CheckpointMismatchError, load_model_weights, skipped_initialisers


class ResolvedConfig(mmengine.Config):
    """The mmengine view of a posecfg config: its data, and posecfg's text of it."""

    def __init__(self, cfg: Config):
        super().__init__(cfg.to_dict(), filename=cfg.filename)
        mmengine.Config.__setattr__(self, '_posecfg_text', cfg.pretty_text)

    @property
    def pretty_text(self) -> str:
        return self._posecfg_text


class PoseRunner(Runner):
    """mmengine's Runner with posecfg's additions (module docstring).

    Args:
        channels_last: keep the model's weights in NHWC order (``runtime.channels_last``).
        load_partial: ``load_from`` loads the tensors that fit and logs what did not, instead
            of failing on the first mismatch (the config key ``load_partial``).
        checkpoint_purpose: how error messages name the checkpoint loaded without resuming
            (``load_from``; ``build_runner`` says ``the checkpoint to test`` for testing).
        weights_from_checkpoint: every weight of the model comes from ``load_from`` before
            the model runs (a test run; the load fails unless the checkpoint fits exactly):
            the model is built without its initialisers (:func:`skipped_initialisers`),
            the checkpoint file is mapped while its tensors are copied in, and in one process
            the model is converted to channels_last after the load instead of before
            (otherwise the load copies every weight into NHWC order, the conversion having
            copied the random ones already). Not with an EMA hook: mmengine's EMAHook loads
            its averaged copy from the raw checkpoint keys, non-strictly, into a copy of the
            model made before the load: what it missed would stay uninitialised.
    """

    # defaults for runners made without __init__ (tests drive wrap_model on a bare runner)
    _weights_from_checkpoint = False
    _channels_last_pending = False

    def __init__(self, *args, channels_last: bool = False, load_partial: bool = False,
                 checkpoint_purpose: str = 'load_from', weights_from_checkpoint: bool = False,
                 **kwargs):
        self._channels_last = channels_last  # read by wrap_model, inside Runner.__init__
        self._weights_from_checkpoint = bool(
            weights_from_checkpoint and kwargs.get('load_from')
            and not any('EMA' in str(h.get('type') if isinstance(h, dict) else type(h).__name__)
                        for h in kwargs.get('custom_hooks') or ()))
        self._channels_last_pending = False  # set by wrap_model, done by load_checkpoint
        self._load_partial = bool(load_partial)
        self._checkpoint_purpose = checkpoint_purpose
        self._resuming = False
        self._resume_plan = None
        # the schedule's config, to rebuild it when a resumed run changes it
        self._param_scheduler_cfg = copy.deepcopy(kwargs.get('param_scheduler'))
        super().__init__(*args, **kwargs)

    def load_checkpoint(self, filename: str, map_location: Union[str, Callable] = 'cpu',
                        strict: bool = True, revise_keys: list = ()):
        """Read ``filename`` and load its weights, which must fit the model exactly (unless
        ``load_partial`` for ``load_from``); when resuming, compare its config first.
        ``strict`` and ``revise_keys`` keep mmengine's signature and are not used: strictness
        is the config's (``load_partial``), and ``module.`` prefixes are always stripped."""
        if self._weights_from_checkpoint and not self._resuming and \
                os.path.isfile(os.path.expanduser(filename)):
            # the model copies the file's tensors: mapped, they are not first read into fresh
            # memory. Copied, not assigned: a model backed by the file would change (or crash
            # on SIGBUS) if the file were rewritten in place while it runs (DeepLabCut's
            # torch.save over an existing snapshot, cp, rsync --inplace)
            try:
                checkpoint = load_checkpoint_file(os.path.expanduser(filename), map_location,
                                                  mmap=True)
            except (OSError, RuntimeError):  # a filesystem that cannot map it: read it
                checkpoint = _load_checkpoint(filename, map_location=map_location)
        else:
            checkpoint = _load_checkpoint(filename, map_location=map_location)
        if is_dlc_snapshot(checkpoint):  # DeepLabCut's snapshot layout → mmengine's
            checkpoint = checkpoint_from_snapshot(checkpoint, self._iters_per_epoch())
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        purpose = 'resume_from' if self._resuming else self._checkpoint_purpose
        plan = None
        if self._resuming and isinstance(checkpoint.get('meta', {}).get('cfg'), str):
            plan = self._resume_plan = plan_resume(checkpoint['meta']['cfg'],
                                                   self.cfg.pretty_text)
            for line in describe(plan):
                self.logger.info(line)
        partial = self._load_partial and not self._resuming and purpose == 'load_from'
        with one_thread():  # memory-bound copies (runtime.one_thread)
            try:
                load_model_weights(model, checkpoint, filename, partial=partial,
                                   purpose=purpose)
            except CheckpointMismatchError as err:
                if plan is not None and plan.model:
                    changed = '; '.join(f'{k}: {o!r} → {n!r}' for k, o, n in plan.model[:8])
                    raise CheckpointMismatchError(
                        f'{err}\nThe model config changed since the checkpoint: '
                        f'{changed}') from None
                raise
            if self._channels_last_pending:
                self._channels_last_pending = False
                _to_channels_last(model)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    def _iters_per_epoch(self) -> Optional[int]:
        """Training iterations per epoch, when a training loop is set up (None otherwise)."""
        if not isinstance(self._train_loop, BaseLoop):
            return None
        return len(self.train_dataloader)

    def resume(self, filename: str, resume_optimizer: bool = True,
               resume_param_scheduler: bool = True, map_location='default') -> None:
        """mmengine's resume, then the config's changed hyperparameters and schedule applied
        (see :mod:`posecfg.engine.resume`)."""
        optimizer = self.optim_wrapper.optimizer if isinstance(self.optim_wrapper,
                                                               OptimWrapper) else None
        fresh = [{k: v for k, v in g.items() if k != 'params'}
                 for g in optimizer.param_groups] if optimizer is not None else None
        self._resuming, self._resume_plan = True, None
        try:
            super().resume(filename, resume_optimizer, resume_param_scheduler, map_location)
        finally:
            self._resuming = False
        if self._resume_plan is not None and self._resume_plan.reschedule and fresh:
            self._apply_config_schedule(fresh)

    def _apply_config_schedule(self, fresh_groups):
        """Put the config's optimizer hyperparameters into the resumed parameter groups
        (keeping the per-parameter state: moments, step counts) and rebuild the learning-rate
        schedule from the config, advanced as training would have stepped it."""
        optimizer = self.optim_wrapper.optimizer
        for group, fresh in zip(optimizer.param_groups, fresh_groups):
            group.update(fresh)
            group['lr'] = group['initial_lr'] = fresh.get('initial_lr', fresh['lr'])
        if not isinstance(self._param_scheduler_cfg, list):
            return
        self.param_schedulers = self.build_param_scheduler(
            copy.deepcopy(self._param_scheduler_cfg))
        advance_schedulers(self.param_schedulers, self.train_loop._epoch, self.train_loop._iter)
        lrs = sorted({g['lr'] for g in optimizer.param_groups})
        self.logger.info(f'learning-rate schedule rebuilt from the config at epoch '
                         f'{self.train_loop._epoch}, iteration {self.train_loop._iter}: lr '
                         f'{", ".join(f"{v:.6g}" for v in lrs)}')

    def setup_env(self, env_cfg: dict) -> None:
        if self.distributed and not is_distributed() and not torch.cuda.is_available():
            init_cpu_process_group(self.launcher, **env_cfg.get('dist_cfg', {}))
        super().setup_env(env_cfg)

    def build_model(self, model):
        if self._weights_from_checkpoint and isinstance(model, dict):
            with skipped_initialisers():
                return super().build_model(model)
        return super().build_model(model)

    def wrap_model(self, model_wrapper_cfg: Optional[dict], model):
        if self._channels_last:
            if self._weights_from_checkpoint and not self.distributed:
                self._channels_last_pending = True  # after the checkpoint's weights are in
            else:
                model = _to_channels_last(model)
        # bf16 ReLU backward on int16 views (the same bits, integer vectors); a no-op
        # elsewhere
        use_bf16_relu_backward(model)
        if not self.distributed and not is_model_wrapper(model) and not _has_sync_bn(model):
            # mmengine's branch for one process, without its revert_sync_batchnorm: that walks
            # every module looking for mmcv's compiled ops at each (~0.04 s for HRNet-W32's
            # 1400 modules) to replace SyncBatchNorms this model does not have
            self.logger.info('Distributed training is not used, all SyncBatchNorm (SyncBN) '
                             'layers in the model will be automatically reverted to '
                             'BatchNormXd layers if they are used.')
            return model.to(get_device())
        if self.distributed and not torch.cuda.is_available() and model_wrapper_cfg is None:
            # DDP on CPU modules takes no device ids
            return MMDistributedDataParallel(
                module=model.to('cpu'), broadcast_buffers=False,
                find_unused_parameters=self.cfg.get('find_unused_parameters', False))
        return super().wrap_model(model_wrapper_cfg, model)

    def dump_config(self) -> None:
        if self.rank != 0:
            return
        # the text is a .py config whatever the file it came from (a DeepLabCut or Lightning
        # Pose .yaml in the work dir must not be overwritten by it)
        name = os.path.splitext(os.path.basename(self.cfg.filename))[0] + '.py' \
            if self.cfg.filename else f'{self.timestamp}.py'
        write_atomically(self.cfg.pretty_text, os.path.join(self.work_dir, name))


def _has_sync_bn(model) -> bool:
    """Whether ``model`` holds a torch or mmcv ``SyncBatchNorm`` (what mmengine's
    ``revert_sync_batchnorm`` replaces)."""
    kinds = [torch.nn.SyncBatchNorm]
    if mmcv_full_available():
        from mmcv.ops import SyncBatchNorm
        kinds.append(SyncBatchNorm)
    return any(isinstance(m, tuple(kinds)) for m in model.modules())


def _to_channels_last(model):
    """``model`` with its weights in NHWC order (in place; returned)."""
    model = model.to(memory_format=torch.channels_last)
    # ATen's channels-last GroupNorm backward is slow with few channels per group:
    # layers with few channels per group run their backward through NCHW
    tune_group_norms(model)
    return model


def advance_schedulers(schedulers, epochs: int, iters: int) -> None:
    """Step freshly built schedulers as ``ParamSchedulerHook`` does during training: the
    iteration-based ones after every iteration, the epoch-based ones after every epoch, for
    ``epochs`` epochs of ``iters // epochs`` iterations (then any remaining iterations)."""
    per_epoch = iters // epochs if epochs else 0
    by_iter = [s for s in schedulers if not s.by_epoch]
    by_epoch = [s for s in schedulers if s.by_epoch]
    for _ in range(epochs):
        for _ in range(per_epoch):
            for scheduler in by_iter:
                scheduler.step()
        for scheduler in by_epoch:
            scheduler.step()
    for _ in range(iters - per_epoch * epochs):
        for scheduler in by_iter:
            scheduler.step()


def init_cpu_process_group(launcher: str, backend: str = 'gloo', timeout=None, **kwargs):
    """Join the process group of a ``torchrun`` (``pytorch``) or ``srun`` (``slurm``) launch
    without touching CUDA. ``nccl`` is replaced by ``gloo``, the one CPU backend."""
    if backend == 'nccl':
        print_log('dist_params.backend is nccl but there are no GPUs: using gloo',
                  logger='current')
        backend = 'gloo'
    if timeout is not None:
        import datetime
        kwargs['timeout'] = datetime.timedelta(seconds=timeout)
    if launcher == 'slurm':
        _slurm_environment()
    elif launcher == 'mpi':
        backend = 'mpi'
    elif launcher != 'pytorch':
        raise ValueError(f"launcher must be 'none', 'pytorch', 'slurm' or 'mpi', got {launcher!r}")
    # dist_params.init_method (e.g. 'tcp://host:port') replaces the launcher's environment
    init_method = kwargs.pop('init_method', None) or 'env://'
    torch_dist.init_process_group(backend=backend, init_method=init_method, **kwargs)


def _slurm_environment(default_port: int = 29500):
    """RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT from ``srun``'s variables."""
    env = os.environ
    env.setdefault('RANK', env['SLURM_PROCID'])
    env.setdefault('WORLD_SIZE', env['SLURM_NTASKS'])
    env.setdefault('LOCAL_RANK', env.get('SLURM_LOCALID', '0'))
    env.setdefault('MASTER_PORT', str(default_port))
    if 'MASTER_ADDR' not in env:
        nodes = env['SLURM_NODELIST']
        env['MASTER_ADDR'] = subprocess.getoutput(
            f'scontrol show hostname {nodes} | head -n1').strip() or '127.0.0.1'
