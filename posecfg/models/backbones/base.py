"""What every posecfg backbone shares: freezing, ``norm_eval``, ``freeze_norm_weights``, weight init
and pretrained loading.

Contract (DESIGN.md, "Backbones"): ``forward(x: (N, C_in, H, W))`` returns a **tuple** of feature
maps ``(N, C_i, H / s_i, W / s_i)``, one per output, where ``C_i = self.out_channels[i]`` and
``s_i = self.out_strides[i]`` (for input sizes divisible by the largest stride). Heads pick one
with ``in_index``.
"""
from __future__ import annotations

import copy
from abc import abstractmethod
from typing import Callable, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule, constant_init
from torch.nn.modules.batchnorm import _BatchNorm


class BaseBackbone(BaseModule):
    """Base class of the backbones in ``posecfg.models.backbones``.

    A subclass sets, in ``__init__``:

    - ``self.out_channels`` / ``self.out_strides``: tuples with one entry per output of
      ``forward``, the documented channels and strides (tests check them against real outputs);
    - ``self.frozen_stages``, ``self.norm_eval`` and ``self.freeze_norm_weights``, and calls
      ``self._freeze_stages()`` last;

    and implements ``_stage_modules(i)`` (modules of stage ``i``; 0 is the stem),
    ``_init_from_scratch()`` (its family's initialisation) and, if it knows foreign checkpoint
    layouts, ``convert_pretrained(state_dict)``.

    Class attribute ``example_args``: constructor arguments of the smallest standard variant
    (used in docs and by the test that builds every registered backbone).
    """

    example_args: dict = {}
    frozen_stages: int = -1
    #: BatchNorm layers stay in eval mode in ``train()``: running statistics are not updated
    #: (DeepLabCut's ``freeze_bn_stats``)
    norm_eval: bool = False
    #: BatchNorm weight and bias get no gradient (``requires_grad=False``), so the optimizer
    #: leaves them as initialised or loaded (DeepLabCut's ``freeze_bn_weights``)
    freeze_norm_weights: bool = False
    out_channels: Tuple[int, ...] = ()
    out_strides: Tuple[int, ...] = ()

    # ---------------------------------------------------------------- freezing and norm_eval
    @abstractmethod
    def _stage_modules(self, index: int) -> List[nn.Module]:
        """Modules of stage ``index`` (0 = stem), frozen by ``frozen_stages >= index``."""

    def run_stages(self, x: torch.Tensor, stages: Sequence) -> Tuple[torch.Tensor, ...]:
        """Run ``stages`` (modules, or names of submodules) in order on ``x``; returns the
        outputs of those at ``out_indices``."""
        outs = []
        for i, stage in enumerate(stages):
            x = (getattr(self, stage) if isinstance(stage, str) else stage)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def _freeze_stages(self) -> None:
        """Stem and stages ``1..frozen_stages``: no gradients, and BN statistics kept fixed;
        with ``freeze_norm_weights``, every BatchNorm's weight and bias: no gradients.

        Called at the end of ``__init__`` (so a DDP wrapper or optimizer built afterwards sees
        the final ``requires_grad``) and again by every ``train()``, as DeepLabCut re-freezes."""
        for index in range(0, self.frozen_stages + 1):
            for module in self._stage_modules(index):
                module.eval()
                for param in module.parameters():
                    param.requires_grad = False
        if self.freeze_norm_weights:
            freeze_batchnorm_weights(self)

    def train(self, mode: bool = True):
        """Like ``nn.Module.train`` but frozen stages stay in eval mode and, with ``norm_eval``,
        every BatchNorm layer does too (its running statistics stay those of the checkpoint)."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in batchnorms(self):
                module.eval()
        return self

    # ---------------------------------------------------------------- weights
    @abstractmethod
    def _init_from_scratch(self) -> None:
        """The family's own initialisation of every layer (no checkpoint)."""

    def convert_pretrained(self, state_dict: dict) -> Tuple[dict, str]:
        """Map a state dict in a foreign key layout onto this module's key names.

        Returns the (possibly renamed) state dict and the name of the layout it was found in
        (``'native'`` when it is already in this module's layout).
        """
        return state_dict, 'native'

    def init_weights(self, pretrained: Optional[str] = None) -> None:
        """Initialise from scratch, then load ``pretrained`` (or ``init_cfg=dict(type=
        'Pretrained', checkpoint=..., prefix=...)``) through :func:`load_pretrained`.

        ``pretrained`` is MMPose 0.x's argument (``model.pretrained``); mmengine's runner calls
        ``init_weights()`` without it and the ``init_cfg`` route applies. Other ``init_cfg``
        entries (``Kaiming``, ``Normal``, ...) are applied by mmengine after the family init.
        """
        from ..utils import load_pretrained  # here, not at import: utils imports nothing of ours

        init_cfgs = _as_list(self.init_cfg)
        pretrained_cfgs = [c for c in init_cfgs if c.get('type') == 'Pretrained']
        other_cfgs = [c for c in init_cfgs if c.get('type') != 'Pretrained']
        self._init_from_scratch()
        if other_cfgs:
            saved, self.init_cfg = self.init_cfg, other_cfgs
            super().init_weights()
            self.init_cfg = saved
        if pretrained is not None:
            load_pretrained(self, pretrained, config_key='model.pretrained')
        elif pretrained_cfgs:
            cfg = pretrained_cfgs[-1]
            if 'checkpoint' not in cfg:
                raise ValueError(f"{type(self).__name__}: init_cfg={cfg!r} has no 'checkpoint'; "
                                 "give dict(type='Pretrained', checkpoint='/path/or/url.pth')")
            load_pretrained(self, cfg['checkpoint'], prefix=cfg.get('prefix'),
                            config_key='model.backbone.init_cfg.checkpoint')
        self._is_init = True


def batchnorms(module: nn.Module) -> List[_BatchNorm]:
    """Every BatchNorm layer in ``module`` (1d/2d/3d and SyncBatchNorm; not GroupNorm or
    LayerNorm, which keep no running statistics): what ``norm_eval`` and
    ``freeze_norm_weights`` act on."""
    return [m for m in module.modules() if isinstance(m, _BatchNorm)]


def freeze_batchnorm_weights(module: nn.Module) -> None:
    """``requires_grad=False`` on the weight and bias of every BatchNorm in ``module``: they
    get no gradient, so no optimizer step (nor weight decay, which torch's optimizers apply
    only to parameters with a gradient) changes them. Running statistics are untouched."""
    for norm in batchnorms(module):
        for param in (norm.weight, norm.bias):
            if param is not None:  # affine=False: nothing to freeze
                param.requires_grad = False


def _as_list(init_cfg) -> List[dict]:
    if init_cfg is None:
        return []
    return [dict(c) for c in (init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg])]


def init_from_scratch(module: nn.Module, conv_init: Callable[[nn.Module], None],
                      zero_init_residual: bool = False) -> None:
    """MMPose's scratch initialisation: ``conv_init`` on every Conv2d, norm layers to weight 1 and
    bias 0, and with ``zero_init_residual`` the last norm of every residual block (blocks expose
    it as ``last_norm``) to 0, so each block starts as the identity."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            conv_init(m)
        elif isinstance(m, (_BatchNorm, nn.GroupNorm)):
            constant_init(m, 1)
    if zero_init_residual:
        for m in module.modules():
            last = getattr(type(m), 'last_norm', None)
            if isinstance(last, property):
                constant_init(m.last_norm, 0)


def check_out_indices(owner: str, out_indices: Sequence[int], num_outputs: int) -> Tuple[int, ...]:
    """``out_indices`` as a tuple; an error names the bad entries and the valid range."""
    if isinstance(out_indices, int):
        out_indices = (out_indices,)
    out_indices = tuple(out_indices)
    bad = [i for i in out_indices if not isinstance(i, int) or not 0 <= i < num_outputs]
    if bad or not out_indices:
        raise ValueError(f'{owner}: out_indices={out_indices!r} must be a non-empty sequence of '
                         f'integers in range(0, {num_outputs}); bad entries: {bad}')
    return out_indices


def check_frozen_stages(owner: str, frozen_stages: int, num_stages: int) -> int:
    """``frozen_stages`` must be -1 (nothing), 0 (stem) .. ``num_stages``."""
    if not isinstance(frozen_stages, int) or not -1 <= frozen_stages <= num_stages:
        raise ValueError(f'{owner}: frozen_stages={frozen_stages!r} must be an integer from -1 '
                         f'(train everything) through {num_stages} (0 freezes the stem, k the '
                         f'stem and stages 1..k)')
    return frozen_stages


def copy_cfg(cfg):
    """A private copy of a (mutable) config default, as MMPose protects its defaults."""
    return copy.deepcopy(cfg)

