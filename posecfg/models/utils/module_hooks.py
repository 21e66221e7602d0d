"""Whether calling a module runs hooks.

Code that runs a module's computation without calling the module (a convolution and its
BatchNorm as one, several convolutions as one) or writes into its output in place must not
where hooks would see it: feature taps, Grad-CAM's backward hooks, FLOP counters.
"""
from __future__ import annotations

import torch.nn as nn
from torch.nn.modules import module as _module


def has_hooks(module: nn.Module) -> bool:
    """Whether calling ``module`` runs hooks: its own forward, forward-pre, backward or
    backward-pre hooks, or torch's global module hooks."""
    return bool(module._forward_hooks or module._forward_pre_hooks or module._backward_hooks
                or module._backward_pre_hooks or _module._global_forward_hooks
                or _module._global_forward_pre_hooks or _module._global_backward_hooks
                or _module._global_backward_pre_hooks)
