"""``CompileModelHook``: ``torch.compile`` the model's networks before training, when it pays."""
from __future__ import annotations

import logging
from typing import Optional, Union

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from posecfg.registry import HOOKS

#: the submodules compiled: the networks, not the Python around them (data preprocessing,
#: flip test, decoding), which would break the graph; compiling ``train_step`` whole measured
#: slower than not compiling at all (ResNet-50: 6.5 vs 8.5 images/s).
NETWORKS = ('backbone', 'neck')


def compile_networks(model: torch.nn.Module, options: Optional[dict] = None) -> list:
    """Compile ``model``'s networks (backbone, neck and an estimator's ``head_names``) in place
    (``nn.Module.compile``: calling the module runs compiled); returns their names.

    The modules stay where they are, so state-dict keys do not change: checkpoints and
    DeepLabCut snapshots written during a compiled run load into an uncompiled model (wrapping
    them in ``torch.compile(module)`` instead would prefix every key with ``_orig_mod.``). A
    ``copy.deepcopy`` of the model runs eagerly. A compiled head's own methods (``loss``,
    ``decode``) call ``forward`` directly, so its ``forward`` runs compiled where the estimator
    calls the head (inference), eagerly inside ``loss``; the backbone does most of the work
    either way.
    """
    candidates = list(NETWORKS) + list(getattr(model, 'head_names', ()))
    names = [n for n in candidates if isinstance(getattr(model, n, None), torch.nn.Module)]
    for name in names:
        getattr(model, name).compile(**(options or {}))
    return names


def has_group_norm(model: torch.nn.Module) -> bool:
    """Whether ``model`` has GroupNorm layers: 'auto' does not compile those. Measured on a
    2-vCPU Xeon with AMX (bf16 autocast, channels_last, 2 threads): DeepLabCut's resnet_50
    (ResNet-50-GN) at 448x448, batch 8, trained at 3.9 s per iteration eagerly and 19.3 s
    compiled (benchmarks/README.md, DeepLabCut 3.0.2)."""
    return any(isinstance(m, torch.nn.GroupNorm) for m in model.modules())


@HOOKS.register_module()
class CompileModelHook(Hook):
    """Compiles the networks before the first training iteration.

    Args:
        mode: True compiles; 'auto' compiles when the run has at least ``min_iters`` training
            iterations on a CPU: compiling ResNet-50 + head takes ~46 s on 2 cores and then
            saves ~7% per iteration, so it pays after a few hundred iterations; not a model
            with GroupNorm layers (:func:`has_group_norm`: 5x slower compiled).
        options: keyword arguments of ``torch.compile``.
    """

    example_args = dict(mode='auto', min_iters=2000)  # a short run: compiling does not pay

    priority = 'VERY_HIGH'

    def __init__(self, mode: Union[bool, str] = 'auto', min_iters: int = 2000,
                 options: Optional[dict] = None):
        if mode not in (True, 'auto'):
            raise ValueError(f"CompileModelHook mode must be True or 'auto', got {mode!r}")
        self.mode, self.min_iters, self.options = mode, min_iters, options

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if self.mode == 'auto' and (runner.max_iters - runner.iter < self.min_iters
                                    or torch.cuda.is_available() or has_group_norm(model)):
            return
        try:
            names = compile_networks(model, self.options)
        except Exception as e:  # torch.compile unavailable for this model or platform
            print_log(f'torch.compile failed ({type(e).__name__}: {e}); training eagerly',
                      logger='current', level=logging.WARNING)
            return
        print_log(f'compiled {", ".join(names)} for training (the first iterations compile)',
                  logger='current')
