"""Optimizer wrappers posecfg adds to mmengine's."""
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from posecfg.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """Mixed precision on CPUs: the forward pass runs under ``torch.autocast`` in ``dtype``
    (``bfloat16``: no loss scaling needed). mmengine's ``AmpOptimWrapper`` is CUDA-only.

    Args:
        dtype: ``'bfloat16'`` (default) or ``'float16'``.
        device_type: ``'cpu'`` (default) or ``'cuda'``.
    """

    #: built with ``optimizer`` (default_args)
    example_args = dict(dtype='bfloat16', device_type='cpu')

    def __init__(self, dtype: str = 'bfloat16', device_type: str = 'cpu', **kwargs):
        super().__init__(**kwargs)
        if dtype not in ('bfloat16', 'float16'):
            raise ValueError(f"AutocastOptimWrapper dtype must be 'bfloat16' or 'float16', "
                             f'got {dtype!r}')
        self.cast_dtype = getattr(torch, dtype)
        self.device_type = device_type

    @contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast(self.device_type,
                                                          dtype=self.cast_dtype):
            yield
