"""``PoseRunner``: mmengine's Runner, made to train on CPUs too and to keep its files safe.

What it changes:
- distributed training without GPUs: ``torchrun`` / ``srun`` processes join a ``gloo`` process
  group (mmengine's launcher code calls ``torch.cuda.set_device`` and fails on CPU), and the
  model is wrapped in DDP without device ids;
- the resolved posecfg config is what the log shows, what ``work_dir/<config>.py`` holds and what
  every checkpoint's ``meta['cfg']`` carries;
- checkpoints are written atomically and loaded through the allow-listed loader
  (``checkpoint.py``, installed on import).
"""
from __future__ import annotations

import os
import subprocess
from typing import Optional

import mmengine
import torch
import torch.distributed as torch_dist
from mmengine.dist import is_distributed
from mmengine.logging import print_log
from mmengine.model import MMDistributedDataParallel
from mmengine.runner import Runner

from posecfg.config import Config

from . import checkpoint as _checkpoint  # noqa: F401  (installs the safe loader)
from .checkpoint import write_atomically


class ResolvedConfig(mmengine.Config):
    """The mmengine view of a posecfg config: its data, and posecfg's text of it."""

    def __init__(self, cfg: Config):
        super().__init__(cfg.to_dict(), filename=cfg.filename)
        mmengine.Config.__setattr__(self, '_posecfg_text', cfg.pretty_text)

    @property
    def pretty_text(self) -> str:
        return self._posecfg_text


class PoseRunner(Runner):
    """``channels_last``: keep the model's weights in NHWC order (``runtime.channels_last``)."""

    def __init__(self, *args, channels_last: bool = False, **kwargs):
        self._channels_last = channels_last  # read by wrap_model, inside Runner.__init__
        super().__init__(*args, **kwargs)

    def setup_env(self, env_cfg: dict) -> None:
        if self.distributed and not is_distributed() and not torch.cuda.is_available():
            init_cpu_process_group(self.launcher, **env_cfg.get('dist_cfg', {}))
        super().setup_env(env_cfg)

    def wrap_model(self, model_wrapper_cfg: Optional[dict], model):
        if self._channels_last:
            model = model.to(memory_format=torch.channels_last)
        if self.distributed and not torch.cuda.is_available() and model_wrapper_cfg is None:
            # DDP on CPU modules takes no device ids
            return MMDistributedDataParallel(
                module=model.to('cpu'), broadcast_buffers=False,
                find_unused_parameters=self.cfg.get('find_unused_parameters', False))
        return super().wrap_model(model_wrapper_cfg, model)

    def dump_config(self) -> None:
        if self.rank != 0:
            return
        name = os.path.basename(self.cfg.filename) if self.cfg.filename else \
            f'{self.timestamp}.py'
        write_atomically(self.cfg.pretty_text, os.path.join(self.work_dir, name))


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
