"""posecfg model state-dict keys ↔ DeepLabCut 3's ``PoseModel`` keys, both ways.

A DeepLabCut 3 snapshot's ``model`` entry is ``PoseModel.state_dict()``
(deeplabcut/pose_estimation_pytorch/models/model.py:58-60: ``self.backbone``, ``self.heads =
nn.ModuleDict(heads)``, ``self.neck``), so its keys are:

==================================================  ===============================================
DeepLabCut key                                      posecfg key (BottomUp / TopDown)
==================================================  ===============================================
``backbone.model.<timm key>`` (ResNet, HRNet:       ``backbone.<key>`` (posecfg's ResNet and HRNet
the timm model is ``self.model``,                   use timm's key names: ``conv1``, ``bn1``,
models/backbones/resnet.py:52-59 — ``fc`` set to    ``layer1.0.conv1``, ...; ``transition1``,
``nn.Identity`` so absent; hrnet.py:60,121-127)     ``stage2``, ...)
``backbone.<key>`` (CSPNeXt builds its layers       ``backbone.<key>`` (``stem.0.conv``, ``stage1.0
itself, models/backbones/cspnext.py:114-182)        .norm``, ...)
``heads.<name>.heatmap_head.deconv_layers.<i>.*``,  ``<name>.heatmap_head.deconv_layers.<i>.*`` ...
``.final_conv.*``, ``heads.<name>.locref_head.*``   (posecfg keeps each head as a direct child
(models/heads/simple_head.py:88-89,158-167)         named like DeepLabCut's head: ``bodypart``)
``heads.<name>.heatmap_head.transition_heatmap.*``,  ``<name>.heatmap_head...``, ``<name>.offset_head
``.head_heatmap.*``, ``heads.<name>.offset_head.*``  ...`` (DEKR, models/heads/dekr.py:52-54; the
(``transition_offset``, ``offset_feature_layers``,   AdaptBlock's ``regular_matrix`` buffer is a
``offset_final_layer``)                             key as in DeepLabCut)
``neck.<key>``                                      ``neck.<key>``
==================================================  ===============================================

The backbone's prefix is :data:`posecfg.models.backbones.named.DLC_KEY_PREFIX` of the backbone's
class name (posecfg's ``ResNet``/``HRNet``/``CSPNeXt`` are DeepLabCut's classes of the same name;
another backbone gets no prefix, DeepLabCut having no such backbone). So a posecfg model of a
supported net type (``resnet_50``, ``hrnet_w32``, ``cspnext_m``, ... with ``DLCHeatmapHead``)
saved with :func:`to_dlc_state_dict` loads into DeepLabCut's ``PoseModel`` with
``load_state_dict`` (strict), and a DeepLabCut snapshot's ``model`` loads into posecfg through
:func:`from_dlc_state_dict` (what :func:`posecfg.engine.weights.load_model_weights` applies to a
checkpoint in that layout: any key under ``heads.``).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import List, Mapping, Tuple

from posecfg.models.backbones.named import DLC_KEY_PREFIX

#: top-level modules of a posecfg pose estimator that are not heads
NOT_HEADS = ('backbone', 'neck', 'data_preprocessor')


def key_layout(model) -> Tuple[str, List[str]]:
    """``(backbone prefix in DeepLabCut's layout, head names)`` of a posecfg pose estimator:
    the heads are its direct children other than the backbone and neck."""
    backbone = getattr(model, 'backbone', None)
    if backbone is None:
        raise ValueError(f'{type(model).__name__} has no backbone: not a pose estimator whose '
                         f'keys map onto DeepLabCut\'s PoseModel')
    prefix = DLC_KEY_PREFIX.get(type(backbone).__name__, '')
    heads = [name for name, _ in model.named_children() if name not in NOT_HEADS]
    return prefix, heads


def is_dlc_layout(state_dict: Mapping) -> bool:
    """A state dict of DeepLabCut's ``PoseModel`` (its heads live under ``heads.``)."""
    return any(str(k).startswith('heads.') for k in state_dict)


def to_dlc_state_dict(state_dict: Mapping, model) -> 'OrderedDict':
    """``model``'s state dict (posecfg keys) → DeepLabCut's ``PoseModel`` keys (module
    docstring); a key outside the backbone, neck and heads is an error naming it."""
    prefix, heads = key_layout(model)
    out = OrderedDict()
    for key, value in state_dict.items():
        top, _, rest = key.partition('.')
        if top == 'backbone':
            out[f'backbone.{prefix}{rest}'] = value
        elif top == 'neck':
            out[key] = value
        elif top in heads:
            out[f'heads.{key}'] = value
        else:
            raise KeyError(f'{key}: not under the backbone, neck or a head ({", ".join(heads)}) '
                           f'of {type(model).__name__}; DeepLabCut\'s PoseModel has no place '
                           f'for it')
    return out


def from_dlc_state_dict(state_dict: Mapping, model) -> 'OrderedDict':
    """DeepLabCut's ``PoseModel`` keys → ``model``'s (inverse of :func:`to_dlc_state_dict`).
    Keys that do not fit are passed on unchanged (``heads.`` removed) so that loading reports
    them as unexpected next to the model's missing ones."""
    prefix, _ = key_layout(model)
    backbone_prefix = f'backbone.{prefix}'
    out = OrderedDict()
    for key, value in state_dict.items():
        if key.startswith(backbone_prefix):
            out['backbone.' + key[len(backbone_prefix):]] = value
        elif key.startswith('heads.'):
            out[key[len('heads.'):]] = value
        else:
            out[key] = value
    return out
