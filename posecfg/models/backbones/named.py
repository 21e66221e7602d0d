"""The backbones DeepLabCut 3 and Lightning Pose name, as posecfg backbone configs.

- :data:`DLC_NET_TYPES`: DeepLabCut 3's single-animal net types (``config/backbones/*.yaml``):
  posecfg config, timm / DeepLabCut weights, and where DeepLabCut keeps the backbone's tensors
  in a snapshot (:func:`to_dlc_keys` / :func:`from_dlc_keys`);
  :func:`dlc_backbone_cfg` translates the ``model.backbone`` mapping of a
  ``pytorch_config.yaml`` (``type`` + ``model_name`` + options) with DeepLabCut's defaults.
- :data:`LP_BACKBONES`: Lightning Pose 2.4.3's ``model.backbone`` names
  (``lightning_pose/models/backbones/factory.py``): posecfg config (heatmap trunk, stride 32 for
  CNNs, 16 for ViTs; regression models pool it) and the weight file the name stands for;
  :func:`lp_backbone_cfg` builds one (ViTs need the image size).

Weight specs are what :func:`posecfg.models.utils.load_pretrained` takes (``torchvision://``,
``timm://``, ``hf://``, URLs); a missing file gives an error naming the file and where to put it.
"""
from __future__ import annotations

import copy
import difflib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Mapping, Optional

from .hrnet import hrnet_extra


@dataclass(frozen=True)
class NamedBackbone:
    """A backbone another tool names: its posecfg ``cfg``, the ``weights`` its pretrained
    option means, and (DeepLabCut) ``dlc_prefix``: what DeepLabCut's module puts between
    ``backbone.`` and this module's keys in a snapshot."""

    cfg: dict
    weights: Optional[str] = None
    dlc_prefix: str = ''
    notes: str = field(default='', compare=False)

    def build_cfg(self, pretrained: bool = False) -> dict:
        """A fresh copy of ``cfg``, with ``init_cfg`` loading ``weights`` when asked."""
        cfg = copy.deepcopy(self.cfg)
        if pretrained:
            cfg['init_cfg'] = dict(type='Pretrained', checkpoint=self.weights)
        return cfg


# ---------------------------------------------------------------------------- DeepLabCut 3
_GN = dict(type='GN', num_groups=32)
#: DeepLabCut 3 backbone class → its wrapping in a snapshot (``backbone.<prefix><our key>``):
#: ResNet and HRNet hold the timm model as ``self.model``; CSPNeXt builds its layers itself.
#: DLCRNet holds its ResNet as ``model`` itself (posecfg's DLCRNet has DeepLabCut's keys).
DLC_KEY_PREFIX = {'ResNet': 'model.', 'HRNet': 'model.', 'CSPNeXt': '', 'DLCRNet': ''}
_DLC_CSPNEXT = {'cspnext_s': (0.33, 0.5), 'cspnext_m': (0.67, 0.75), 'cspnext_x': (1.33, 1.25)}
_DLC_WEIGHTS_REPO = 'hf://DeepLabCut/DeepLabCut-Backbones'

DLC_NET_TYPES = {
    'resnet_50': NamedBackbone(
        dict(type='ResNet', depth=50, output_stride=16, norm_cfg=_GN), 'timm://resnet50_gn',
        'model.', 'timm resnet50_gn (GroupNorm 32), output stride 16 by dilation'),
    'resnet_101': NamedBackbone(
        dict(type='ResNet', depth=101, output_stride=16), 'timm://resnet101', 'model.',
        'timm resnet101 (BatchNorm), output stride 16 by dilation'),
    **{f'hrnet_w{w}': NamedBackbone(
        dict(type='HRNet', extra=hrnet_extra(w, multiscale_output=True), out_indices=(0,)),
        f'timm://hrnet_w{w}', 'model.', f'timm hrnet_w{w} features, branch 0 (stride 4)')
       for w in (18, 32, 48)},
    # DEKR (config/dekr/dekr_w*.yaml): every HRNet branch resized to branch 0 and concatenated
    # (interpolate_branches: true → 15·w channels at stride 4), BatchNorm not frozen
    **{f'dekr_w{w}': NamedBackbone(
        dict(type='HRNet', extra=hrnet_extra(w, multiscale_output=True),
             interpolate_branches=True),
        f'timm://hrnet_w{w}', 'model.', f'timm hrnet_w{w} features, all branches interpolated '
        f'to stride 4 and concatenated ({15 * w} channels)')
       for w in (18, 32, 48)},
    **{name: NamedBackbone(
        dict(type='CSPNeXt', deepen_factor=d, widen_factor=w),
        f'{_DLC_WEIGHTS_REPO}/{name}.pt', '',
        f'CSPNeXt P5 deepen {d} widen {w}; weights from DeepLabCut/DeepLabCut-Backbones')
       for name, (d, w) in _DLC_CSPNEXT.items()},
    **{f'dlcrnet_stride{s}_ms5': NamedBackbone(
        dict(type='DLCRNet', model_name='resnet50', output_stride=s), 'timm://resnet50', '',
        f'DLCRNet: timm resnet50 (BatchNorm) at output stride {s} + multi-scale banks '
        f'(2304 channels)')
       for s in (16, 32)},
}

# timm model names DeepLabCut's ResNet takes → posecfg ResNet arguments
_TIMM_RESNETS = {'resnet18': dict(depth=18), 'resnet34': dict(depth=34),
                 'resnet50': dict(depth=50), 'resnet101': dict(depth=101),
                 'resnet152': dict(depth=152), 'resnet50_gn': dict(depth=50, norm_cfg=_GN)}
# DeepLabCut's constructor arguments and defaults (models/backbones/{base,resnet,hrnet,
# cspnext}.py); BaseBackbone's freeze_bn_* default to True
_DLC_BASE = dict(freeze_bn_stats=True, freeze_bn_weights=True)
_DLC_DEFAULTS = {
    'ResNet': dict(model_name='resnet50', output_stride=32, pretrained=False,
                   drop_path_rate=0.0, drop_block_rate=0.0, **_DLC_BASE),
    'HRNet': dict(stride=4, model_name='hrnet_w32', pretrained=False,
                  interpolate_branches=False, increased_channel_count=False, **_DLC_BASE),
    'CSPNeXt': dict(model_name='cspnext_m', pretrained=False, arch='P5', expand_ratio=0.5,
                    deepen_factor=0.67, widen_factor=0.75, out_indices=-1,
                    channel_attention=True, norm_layer='SyncBN', activation_fn='SiLU',
                    backbone_weight_folder=None, repo_id='DeepLabCut/DeepLabCut-Backbones',
                    **_DLC_BASE),
    'DLCRNet': dict(model_name='resnet50', output_stride=32, pretrained=True,
                    drop_path_rate=0.0, drop_block_rate=0.0, **_DLC_BASE),
}


def dlc_backbone_cfg(backbone: Mapping, key: str = 'model.backbone') -> dict:
    """DeepLabCut 3's ``model.backbone`` mapping → a posecfg backbone config.

    Unknown types, model names and keys are errors naming ``key``. DeepLabCut's BatchNorm
    freezing (``BaseBackbone.freeze_batch_norm_layers``, both options ``True`` when absent)
    becomes the posecfg backbone options every posecfg backbone has: ``freeze_bn_stats`` →
    ``norm_eval``, ``freeze_bn_weights`` → ``freeze_norm_weights``, each set only where
    DeepLabCut's freezing acts (``nn.BatchNorm2d`` layers: not timm's GroupNorm ResNets, not a
    CSPNeXt built with ``SyncBN``, which posecfg builds as plain BatchNorm).
    """
    backbone = dict(backbone)
    kind = backbone.pop('type', None)
    if kind not in _DLC_DEFAULTS:
        raise ValueError(f'{key}.type={kind!r}: posecfg builds the DeepLabCut backbones '
                         f'{", ".join(_DLC_DEFAULTS)}{_close(kind, _DLC_DEFAULTS)}')
    unknown = [k for k in backbone if k not in _DLC_DEFAULTS[kind]]
    if unknown:
        raise ValueError(f'{key}: unknown key(s) {unknown} for a DeepLabCut {kind}; it takes '
                         f'{", ".join(["type"] + list(_DLC_DEFAULTS[kind]))}'
                         f'{_close(unknown[0], _DLC_DEFAULTS[kind])}')
    opts = {**_DLC_DEFAULTS[kind], **backbone}
    cfg = _DLC_BUILDERS[kind](opts, key)
    init_cfg = cfg.pop('init_cfg', None)
    cfg.update(_batchnorm_freezing(kind, opts))
    if init_cfg:
        cfg['init_cfg'] = init_cfg  # last, as in posecfg's configs
    return cfg


def _batchnorm_freezing(kind: str, opts: dict) -> dict:
    """``freeze_bn_stats`` / ``freeze_bn_weights`` → ``norm_eval`` / ``freeze_norm_weights``.

    DeepLabCut freezes ``nn.BatchNorm2d`` layers only: timm's ``resnet50_gn`` has none
    (GroupNorm), and a CSPNeXt's ``SyncBN`` (its default ``norm_layer``) is not one; posecfg
    builds that CSPNeXt with plain BatchNorm, so freezing it would differ from DeepLabCut."""
    acts = not ((kind == 'ResNet' and 'norm_cfg' in _TIMM_RESNETS[opts['model_name']])
                or (kind == 'CSPNeXt' and opts['norm_layer'] != 'BN'))
    return dict(norm_eval=acts and bool(opts['freeze_bn_stats']),
                freeze_norm_weights=acts and bool(opts['freeze_bn_weights']))


def _resnet(opts: dict, key: str) -> dict:
    name = opts['model_name']
    if name not in _TIMM_RESNETS:
        raise ValueError(f'{key}.model_name={name!r}: posecfg builds the timm ResNets '
                         f'{", ".join(_TIMM_RESNETS)}{_close(name, _TIMM_RESNETS)}')
    cfg = dict(type='ResNet', **copy.deepcopy(_TIMM_RESNETS[name]),
               output_stride=opts['output_stride'], drop_path_rate=opts['drop_path_rate'],
               drop_block_rate=opts['drop_block_rate'])
    return _pretrained(cfg, opts['pretrained'], f'timm://{name}')


def _hrnet(opts: dict, key: str) -> dict:
    name = opts['model_name']
    widths = {f'hrnet_w{w}': w for w in (18, 32, 48)}
    if name not in widths:
        raise ValueError(f'{key}.model_name={name!r}: posecfg builds {", ".join(widths)}'
                         f'{_close(name, widths)}')
    if opts['stride'] != 4:
        raise ValueError(f'{key}.stride={opts["stride"]!r}: DeepLabCut\'s HRNet outputs at '
                         f'stride 4; other strides are for custom models posecfg does not build')
    cfg = dict(type='HRNet', extra=hrnet_extra(widths[name], multiscale_output=True),
               increased_channel_count=bool(opts['increased_channel_count']))
    if opts['interpolate_branches']:
        cfg['interpolate_branches'] = True
    else:
        cfg['out_indices'] = (0,)
    return _pretrained(cfg, opts['pretrained'], f'timm://{name}')


def _cspnext(opts: dict, key: str) -> dict:
    for option, allowed in (('norm_layer', ('SyncBN', 'BN')), ('activation_fn', ('SiLU', 'ReLU')),
                            ('arch', ('P5', 'P6'))):
        if opts[option] not in allowed:
            raise ValueError(f'{key}.{option}={opts[option]!r} must be one of '
                             f'{", ".join(allowed)} (DeepLabCut\'s choices)')
    num_layers = 5 if opts['arch'] == 'P5' else 6
    out = opts['out_indices']
    out = tuple(i % num_layers for i in (out if isinstance(out, (list, tuple)) else (out,)))
    cfg = dict(type='CSPNeXt', arch=opts['arch'], deepen_factor=opts['deepen_factor'],
               widen_factor=opts['widen_factor'], expand_ratio=opts['expand_ratio'],
               out_indices=out, channel_attention=bool(opts['channel_attention']),
               act_cfg=dict(type=opts['activation_fn']))
    if opts['pretrained']:
        folder = opts['backbone_weight_folder']
        weights = (f'{folder}/{opts["model_name"]}.pt' if folder
                   else f'hf://{opts["repo_id"]}/{opts["model_name"]}.pt')
        cfg['init_cfg'] = dict(type='Pretrained', checkpoint=weights)
    return cfg


def _dlcrnet(opts: dict, key: str) -> dict:
    name = opts['model_name']
    if name not in ('resnet50', 'resnet101'):
        raise ValueError(f'{key}.model_name={name!r}: DeepLabCut\'s DLCRNet hooks the blocks '
                         f'of a bottleneck ResNet; posecfg builds resnet50, resnet101'
                         f'{_close(name, ("resnet50", "resnet101"))}')
    cfg = dict(type='DLCRNet', model_name=name, output_stride=opts['output_stride'],
               drop_path_rate=opts['drop_path_rate'], drop_block_rate=opts['drop_block_rate'])
    return _pretrained(cfg, opts['pretrained'], f'timm://{name}')


_DLC_BUILDERS = {'ResNet': _resnet, 'HRNet': _hrnet, 'CSPNeXt': _cspnext, 'DLCRNet': _dlcrnet}


def _pretrained(cfg: dict, pretrained: bool, weights: str) -> dict:
    if pretrained:
        cfg['init_cfg'] = dict(type='Pretrained', checkpoint=weights)
    return cfg


def _close(name, choices) -> str:
    close = difflib.get_close_matches(str(name), list(choices), n=3, cutoff=0.6)
    return f' (did you mean {", ".join(close)}?)' if close else ''


def to_dlc_keys(state_dict: Mapping, dlc_type: str) -> 'OrderedDict':
    """A posecfg backbone's state dict → the keys DeepLabCut's ``dlc_type`` backbone has (the
    part of a snapshot's ``model`` after ``backbone.``)."""
    prefix = _dlc_prefix(dlc_type)
    return OrderedDict((prefix + k, v) for k, v in state_dict.items())


def from_dlc_keys(state_dict: Mapping, dlc_type: str) -> 'OrderedDict':
    """Inverse of :func:`to_dlc_keys`; a key outside the prefix is an error naming it."""
    prefix = _dlc_prefix(dlc_type)
    stray = [k for k in state_dict if not k.startswith(prefix)]
    if stray:
        raise KeyError(f'a DeepLabCut {dlc_type} backbone keeps its tensors under {prefix!r}; '
                       f'these are not: {stray[:5]}')
    return OrderedDict((k[len(prefix):], v) for k, v in state_dict.items())


def _dlc_prefix(dlc_type: str) -> str:
    if dlc_type not in DLC_KEY_PREFIX:
        raise ValueError(f'DeepLabCut backbone type {dlc_type!r} is not one of '
                         f'{", ".join(DLC_KEY_PREFIX)}')
    return DLC_KEY_PREFIX[dlc_type]


# ---------------------------------------------------------------------------- Lightning Pose
_TV = 'https://download.pytorch.org/models/'
_MMPOSE = 'https://download.openmmlab.com/mmpose/'
# torchvision ResNets as Lightning Pose builds them: no zero-initialised last BN
_LP_RESNET = dict(type='ResNet', zero_init_residual=False)
_VIT_SMALL, _VIT_BASE = 'small', 'base'
# the resnet50_* variants: torchvision ResNet-50 loading the ``backbone.`` part of an MMPose model
_LP_MMPOSE_RESNET50 = {
    'resnet50_animal_apose': 'animal/resnet/res50_animalpose_256x256-e1f30bff_20210426.pth',
    'resnet50_animal_ap10k': 'animal/resnet/res50_ap10k_256x256-35760eb8_20211029.pth',
    'resnet50_human_jhmdb': 'top_down/resnet/res50_jhmdb_sub3_256x256-c4ec1a0b_20201122.pth',
    'resnet50_human_res_rle':
        'top_down/deeppose/deeppose_res50_mpii_256x256_rle-5f92a619_20220504.pth',
    'resnet50_human_top_res': 'top_down/resnet/res50_mpii_256x256-418ffc88_20200812.pth',
    'resnet50_human_hand': 'hand/resnet/res50_onehand10k_256x256-739c8639_20210330.pth',
}
_DINO = dict(type='VisionTransformer', pos_embed_grid=14, norm_eps=1e-12)
_DINOV2 = dict(type='VisionTransformer', pos_embed_grid=37, norm_eps=1e-6, layer_scale_init=1.0)
_DINOV3 = dict(type='VisionTransformer', pos_embed='rope', num_register_tokens=4, k_bias=False,
               layer_scale_init=1.0, norm_eps=1e-5, rope_rescale=2.0)

LP_BACKBONES = {
    'resnet18': NamedBackbone(dict(_LP_RESNET, depth=18), 'torchvision://resnet18'),
    'resnet34': NamedBackbone(dict(_LP_RESNET, depth=34), 'torchvision://resnet34'),
    'resnet50': NamedBackbone(dict(_LP_RESNET, depth=50), _TV + 'resnet50-11ad3fa6.pth',
                              notes='torchvision IMAGENET1K_V2'),
    'resnet101': NamedBackbone(dict(_LP_RESNET, depth=101), _TV + 'resnet101-cd907fc2.pth',
                               notes='torchvision IMAGENET1K_V2'),
    'resnet152': NamedBackbone(dict(_LP_RESNET, depth=152), _TV + 'resnet152-f82ba261.pth',
                               notes='torchvision IMAGENET1K_V2'),
    **{name: NamedBackbone(dict(_LP_RESNET, depth=50), _MMPOSE + path, notes='MMPose 0.x')
       for name, path in _LP_MMPOSE_RESNET50.items()},
    'efficientnet_b0': NamedBackbone(dict(type='EfficientNet', arch='b0'),
                                     _TV + 'efficientnet_b0_rwightman-7f5810bc.pth'),
    'efficientnet_b1': NamedBackbone(dict(type='EfficientNet', arch='b1'),
                                     _TV + 'efficientnet_b1-c27df63c.pth',
                                     notes='torchvision IMAGENET1K_V2'),
    'efficientnet_b2': NamedBackbone(dict(type='EfficientNet', arch='b2'),
                                     _TV + 'efficientnet_b2_rwightman-c35c1473.pth'),
    'vits_dino': NamedBackbone(dict(_DINO, arch=_VIT_SMALL), 'hf://facebook/dino-vits16'),
    'vitb_dino': NamedBackbone(dict(_DINO, arch=_VIT_BASE), 'hf://facebook/dino-vitb16'),
    'vitb_imagenet': NamedBackbone(dict(_DINO, arch=_VIT_BASE), 'hf://facebook/vit-mae-base',
                                   notes='ViT-MAE encoder loaded as a ViTModel'),
    'vits_dinov2': NamedBackbone(dict(_DINOV2, arch=_VIT_SMALL), 'hf://facebook/dinov2-small',
                                 notes='patch 14 weights resampled to 16'),
    'vitb_dinov2': NamedBackbone(dict(_DINOV2, arch=_VIT_BASE), 'hf://facebook/dinov2-base',
                                 notes='patch 14 weights resampled to 16'),
    'vits_dinov3': NamedBackbone(dict(_DINOV3, arch=_VIT_SMALL),
                                 'hf://facebook/dinov3-vits16-pretrain-lvd1689m',
                                 notes='gated repository: needs a Hugging Face login'),
    'vitb_dinov3': NamedBackbone(dict(_DINOV3, arch=_VIT_BASE),
                                 'hf://facebook/dinov3-vitb16-pretrain-lvd1689m',
                                 notes='gated repository: needs a Hugging Face login'),
    'vitb_sam': NamedBackbone(
        dict(type='VisionTransformer', arch=_VIT_BASE, with_cls_token=False, window_size=14,
             global_attn_indexes=(2, 5, 8, 11), final_norm=False, pos_antialias=True),
        'hf://facebook/sam-vit-base', notes='pos_embed_grid = image size / 16'),
}
#: names Lightning Pose 2.4.3 accepts that posecfg does not build (SAM2's Hiera encoders)
LP_NOT_BUILT = ('vitb_sam2', 'vits_sam2', 'vitt_sam2')


def lp_backbone_cfg(name: str, pretrained: bool = True, image_size: int = 256,
                    key: str = 'model.backbone') -> dict:
    """Lightning Pose's ``model.backbone`` name → posecfg backbone config.

    ``image_size``: the resized image height (Lightning Pose's ``image_h``), which sets SAM's
    position grid. Lightning Pose loads ViT weights whatever ``backbone_pretrained`` says; a
    posecfg config follows ``pretrained``.
    """
    if name not in LP_BACKBONES:
        extra = (f'; {name!r} (SAM2) is accepted by Lightning Pose 2.4.3 but not built by '
                 f'posecfg yet' if name in LP_NOT_BUILT else _close(name, LP_BACKBONES))
        raise ValueError(f'{key}={name!r}: posecfg builds the Lightning Pose backbones '
                         f'{", ".join(LP_BACKBONES)}{extra}')
    cfg = LP_BACKBONES[name].build_cfg(pretrained)
    if name == 'vitb_sam':
        if image_size % 16:
            raise ValueError(f'{key}=vitb_sam needs an image size divisible by 16, got '
                             f'{image_size}')
        cfg['pos_embed_grid'] = image_size // 16
    return cfg
