"""``DLCHeatmapHead``: DeepLabCut 3's ``HeatmapHead`` (heatmaps + location refinement).

DeepLabCut 3.0.2 ``models/heads/simple_head.py``: two deconvolution stacks on the backbone's
feature map, ``heatmap_head`` (K maps) and ``locref_head`` (2K maps: x, y offsets per keypoint,
interleaved), each a :class:`DeconvModule` (``ConvTranspose2d(kernel k, stride s, padding 0)``
layers with a ReLU between two layers but not after the last, then an optional conv
``final_conv``). Its state-dict keys are DeepLabCut's below ``heads.<name>.``:
``heatmap_head.deconv_layers.0.weight`` (``(C_in, K, k, k)``), ``.bias``, ``deconv_layers.2.*``
for a second layer, ``heatmap_head.final_conv.*``; the same under ``locref_head.``. (posecfg's
``BottomUp`` keeps a head under ``<name>.`` where DeepLabCut's ``PoseModel`` has
``heads.<name>.``.)

Training (DeepLabCut's ``PoseModel.get_target`` / ``BaseHead.get_loss``): the head makes its
targets from the batch's keypoints with its target generator
(:class:`~posecfg.codecs.dlc_heatmap.HeatmapGaussianGenerator` /
:class:`~posecfg.codecs.dlc_heatmap.HeatmapPlateauGenerator`) at the model stride
``backbone stride / head stride`` and its output size, applies one weighted criterion per
output (``heatmap``, ``locref``) and their :class:`WeightedLossAggregator` mean
(``models/model.py`` ``PoseModel.build``). Prediction:
:class:`~posecfg.codecs.dlc_heatmap.HeatmapPredictor` at the same stride.

The backbone stride is ``backbone_stride`` when given, otherwise the power of two nearest to
input size / feature size (DeepLabCut's backbones: ResNet 8/16/32 by ``output_stride``, HRNet 4,
CSPNeXt 32), so inputs of any size keep the nominal stride as in DeepLabCut.
"""
from __future__ import annotations

import math
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from posecfg.codecs.dekr import IdentityPredictor
from posecfg.codecs.dlc_heatmap import DLCHeatmapGenerator, HeatmapPredictor
from posecfg.models.utils.shared_input_convs import run_shared_input
from posecfg.registry import KEYPOINT_CODECS, MODELS
from .base_head import BaseHead
from .topdown_heatmap_simple_head import Features

#: DeepLabCut 3 type names of a head's parts → the posecfg names they are registered under
#: (``MODELS`` for the head and criteria, ``KEYPOINT_CODECS`` for generators and predictor);
#: only the head is renamed, posecfg's ``HeatmapHead`` being another head
DLC_TYPE_NAMES = {
    'HeatmapHead': 'DLCHeatmapHead',
    'HeatmapGaussianGenerator': 'HeatmapGaussianGenerator',
    'HeatmapPlateauGenerator': 'HeatmapPlateauGenerator',
    'HeatmapPredictor': 'HeatmapPredictor',
    'WeightedMSECriterion': 'WeightedMSECriterion',
    'WeightedHuberCriterion': 'WeightedHuberCriterion',
    'WeightedBCECriterion': 'WeightedBCECriterion',
    'WeightedLossAggregator': 'WeightedLossAggregator',
    # multi-animal (part affinity fields): models/heads/dlcrnet_head.py, codecs/dlc_paf*.py
    'DLCRNetHead': 'DLCRNetHead',
    'SequentialGenerator': 'SequentialGenerator',
    'PartAffinityFieldGenerator': 'PartAffinityFieldGenerator',
    'PartAffinityFieldPredictor': 'PartAffinityFieldPredictor',
    # DEKR (heads/dekr_head.py, codecs/dekr.py, losses/dekr.py) and the identity head's
    # predictor (a DLCHeatmapHead with an IdentityPredictor)
    'DEKRHead': 'DEKRHead', 'DEKRGenerator': 'DEKRGenerator', 'DEKRPredictor': 'DEKRPredictor',
    'DEKRHeatmapLoss': 'DEKRHeatmapLoss', 'DEKROffsetLoss': 'DEKROffsetLoss',
    'IdentityPredictor': 'IdentityPredictor',
}
#: HeatmapPredictor options a head's test_cfg may override
PREDICTOR_KEYS = ('apply_sigmoid', 'clip_scores', 'location_refinement', 'locref_std')
#: keys of heatmap_config / locref_config (DeepLabCut's DeconvModule arguments)
DECONV_KEYS = ('channels', 'kernel_size', 'strides', 'final_conv')


class DeconvModule(nn.Module):
    """DeepLabCut's ``DeconvModule``: transposed convolutions (no padding; output
    ``(H - 1)·s + k``), ReLU between them, then ``final_conv`` (kernel ``kernel_size``, stride 1,
    no padding) or nothing.

    Args:
        channels: input channels then each layer's output channels (one more than kernels).
        kernel_size: kernel of each transposed convolution.
        strides: stride of each transposed convolution.
        final_conv: ``dict(out_channels, kernel_size)`` or None.
        owner: name used in error messages (the config key).
    """

    def __init__(self, channels: Sequence[int], kernel_size: Sequence[int],
                 strides: Sequence[int], final_conv: Optional[Mapping] = None,
                 owner: str = 'heatmap_config'):
        super().__init__()
        channels, kernel_size, strides = list(channels), list(kernel_size), list(strides)
        if not len(channels) == len(kernel_size) + 1 == len(strides) + 1:
            raise ValueError(f'{owner}: channels must have one entry more than kernel_size and '
                             f'strides (input channels first), got {len(channels)} channels, '
                             f'{len(kernel_size)} kernels and {len(strides)} strides')
        for name, values in (('channels', channels), ('kernel_size', kernel_size),
                             ('strides', strides)):
            if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values):
                raise ValueError(f'{owner}.{name} must be positive integers, got {values}')
        self.in_channels = channels[0]
        self.kernel_sizes, self.strides = kernel_size, strides
        self.stride = math.prod(strides)
        self.deconv_layers = nn.Identity()
        if kernel_size:
            layers = []
            for c_in, c_out, k, s in zip(channels[:-1], channels[1:], kernel_size, strides):
                layers += [nn.ConvTranspose2d(c_in, c_out, kernel_size=k, stride=s), nn.ReLU()]
            self.deconv_layers = nn.Sequential(*layers[:-1])
        self.final_conv = nn.Identity()
        self.final_kernel = 1
        self.out_channels = channels[-1]
        if final_conv:
            unknown = sorted(set(final_conv) - {'out_channels', 'kernel_size'})
            if unknown or not {'out_channels', 'kernel_size'} <= set(final_conv):
                raise ValueError(f'{owner}.final_conv must be dict(out_channels=..., '
                                 f'kernel_size=...), got {dict(final_conv)!r}')
            self.final_kernel = int(final_conv['kernel_size'])
            self.out_channels = int(final_conv['out_channels'])
            self.final_conv = nn.Conv2d(channels[-1], self.out_channels,
                                        kernel_size=self.final_kernel, stride=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.final_conv(self.deconv_layers(x))

    def single_layer(self) -> Optional[nn.ConvTranspose2d]:
        """The module's one transposed convolution when that is all it runs (one layer, no
        ``final_conv``, no forward hooks on the module or its layer stack), else None."""
        layers = self.deconv_layers
        if (type(layers) is not nn.Sequential or len(layers) != 1
                or type(self.final_conv) is not nn.Identity
                or any(m._forward_hooks or m._forward_pre_hooks for m in (self, layers))):
            return None
        return layers[0]

    def input_size(self, size: int, owner: str) -> int:
        """The feature size (cells) that gives an output of ``size`` cells."""
        size = size + self.final_kernel - 1
        for k, s in zip(reversed(self.kernel_sizes), reversed(self.strides)):
            if (size - k) % s:
                raise ValueError(f'{owner}: an output of {size} cells cannot come from '
                                 f'transposed convolutions with kernels {self.kernel_sizes} '
                                 f'and strides {self.strides}')
            size = (size - k) // s + 1
        return size


@MODELS.register_module()
class DLCHeatmapHead(BaseHead):
    """DeepLabCut 3's ``HeatmapHead`` (DeepLabCut configs name it ``HeatmapHead``; posecfg's
    ``HeatmapHead`` is its own codec-driven head).

    Args (DeepLabCut's):
        predictor: a ``HeatmapPredictor`` config (type may be left out), or an
            ``IdentityPredictor`` one (DeepLabCut's identity head, ``config/base/
            head_identity.yaml``: one map per individual, INDIVIDUAL-mode targets).
        target_generator: a ``HeatmapGaussianGenerator`` / ``HeatmapPlateauGenerator`` config
            (``label_keypoint_key: keypoints_unique`` for DeepLabCut's unique-bodypart head:
            it learns the batch's ``unique_keypoints``).
        criterion: one criterion config per output, ``dict(heatmap=dict(type=
            'WeightedMSECriterion', weight=1.0), locref=dict(type='WeightedHuberCriterion',
            weight=0.05))``, aggregated by :class:`WeightedLossAggregator` with the ``weight``
            values; or one criterion config (with ``type``) for a head without locref.
        heatmap_config: :class:`DeconvModule` arguments (``channels``, ``kernel_size``,
            ``strides``, ``final_conv``) for the K heatmaps.
        locref_config: the same for the 2K locref maps, or None (no location refinement).
        weight_init: None (PyTorch's initialisation), ``'normal'`` or ``dict(type='normal',
            std=0.001)``: DeepLabCut's ``Normal`` (``models/weight_init.py``): every parameter
            of the head whose name contains ``bias`` is 0, the others N(0, std).
    posecfg's:
        backbone_stride: input pixels per feature cell (None: inferred, see the module).
        in_index: which backbone output to use.
        test_cfg: predictor options to override at test time (``PREDICTOR_KEYS``).
        init_cfg: mmengine init config.

    ``forward(feats)`` → ``dict(heatmap=(B, K, H, W), locref=(B, 2K, H, W))``; ``loss`` →
    ``total_loss`` (the aggregate, what training minimises) and each output's loss under its
    name (logged, as DeepLabCut's ``losses/train.heatmap``); ``decode`` → per sample
    ``keypoints`` (1, K, 2) input pixels and ``keypoint_scores`` (1, K); a unique-bodypart head
    names them ``unique_keypoints`` / ``unique_keypoint_scores``, an identity head gives
    ``identity_maps`` (h, w, I) at the input size (``BottomUp`` turns them into identity scores
    of its first head's instances).
    """

    #: head output → (target key, weight key or None) of its target generator
    TARGET_KEYS = {'heatmap': ('heatmaps', 'heatmap_weights'),
                   'locref': ('locref_maps', 'locref_weights')}
    option_keys = {'test_cfg': PREDICTOR_KEYS, 'heatmap_config': DECONV_KEYS,
                   'locref_config': DECONV_KEYS, 'weight_init': ('type', 'std')}
    example_args = dict(
        predictor=dict(type='HeatmapPredictor', apply_sigmoid=False, clip_scores=True),
        target_generator=dict(type='HeatmapGaussianGenerator', num_heatmaps=2,
                              pos_dist_thresh=17),
        criterion=dict(heatmap=dict(type='WeightedMSECriterion', weight=1.0),
                       locref=dict(type='WeightedHuberCriterion', weight=0.05)),
        heatmap_config=dict(channels=[8, 2], kernel_size=[3], strides=[2]),
        locref_config=dict(channels=[8, 4], kernel_size=[3], strides=[2]),
        weight_init='normal')
    #: the last backbone output at stride 16 of the (48, 64) example input
    example_feature_shapes = ((2, 8, 4, 3),)

    def __init__(self, predictor: dict, target_generator: dict, criterion: dict,
                 heatmap_config: dict, locref_config: Optional[dict] = None,
                 weight_init=None, backbone_stride: Optional[float] = None, in_index: int = -1,
                 test_cfg: Optional[dict] = None, init_cfg: Optional[dict] = None):
        super().__init__(codec=None, test_cfg=test_cfg, init_cfg=init_cfg)
        owner = type(self).__name__
        predictor = {'type': 'HeatmapPredictor', **dict(predictor)}
        if predictor['type'] == 'IdentityPredictor':
            # the identity head: only apply_sigmoid of the model's test_cfg is its
            predictor.update({k: v for k, v in self.test_cfg.items() if k == 'apply_sigmoid'})
        else:
            predictor.update(self.test_cfg)
        self.predictor = _build_codec(predictor, (HeatmapPredictor, IdentityPredictor),
                                      'predictor')
        self.target_generator = _build_codec(target_generator, DLCHeatmapGenerator,
                                             'target_generator')
        self.codec = self.predictor
        self.heatmap_head = DeconvModule(**_deconv_args(heatmap_config, 'heatmap_config'),
                                         owner='heatmap_config')
        self.locref_head = None
        if locref_config is not None:
            self.locref_head = DeconvModule(**_deconv_args(locref_config, 'locref_config'),
                                            owner='locref_config')
            if self.locref_head.stride != self.heatmap_head.stride:
                raise ValueError(f'{owner}: heatmap_config and locref_config must have the same '
                                 f'stride, got {self.heatmap_head.stride} and '
                                 f'{self.locref_head.stride}')
        self._check_channels()
        self._finish_init(criterion, backbone_stride, in_index, weight_init)

    def _finish_init(self, criterion, backbone_stride, in_index: int, weight_init) -> None:
        """Criteria, stride, input choice and DeepLabCut's weight init (every module built)."""
        owner = type(self).__name__
        self.criterion, self.aggregator = _build_criteria(criterion, self.output_names, owner)
        if backbone_stride is not None and not (isinstance(backbone_stride, (int, float))
                                                and backbone_stride > 0):
            raise ValueError(f'{owner}: backbone_stride must be a positive number of input '
                             f'pixels per feature cell, got {backbone_stride!r}')
        self.backbone_stride = backbone_stride
        self.in_index = in_index
        if weight_init is not None:
            _normal_init(self, weight_init, owner)

    @property
    def output_names(self) -> Tuple[str, ...]:
        return ('heatmap',) + (('locref',) if self.locref_head is not None else ())

    @property
    def head_stride(self) -> int:
        """Output cells per feature cell (the product of the deconvolution strides)."""
        return self.heatmap_head.stride

    def _check_channels(self) -> None:
        owner, num = type(self).__name__, self.target_generator.num_heatmaps
        if self.heatmap_head.out_channels != num:
            raise ValueError(f'{owner}: heatmap_config outputs {self.heatmap_head.out_channels} '
                             f'channels but target_generator.num_heatmaps is {num}')
        with_locref = self.locref_head is not None
        if with_locref != self.target_generator.generate_locref:
            raise ValueError(f'{owner}: locref_config is {"set" if with_locref else "None"} but '
                             f'target_generator.generate_locref is '
                             f'{self.target_generator.generate_locref}; they must agree')
        if with_locref and self.locref_head.out_channels != 2 * num:
            raise ValueError(f'{owner}: locref_config outputs {self.locref_head.out_channels} '
                             f'channels but needs 2 × num_heatmaps = {2 * num}')
        if not with_locref and self.predictor.location_refinement:
            raise ValueError(f'{owner}: predictor.location_refinement is true but the head has '
                             f'no locref_config')

    # ------------------------------------------------------------------ the contract
    def select(self, feats: Features) -> Tensor:
        x = feats if isinstance(feats, Tensor) else feats[self.in_index]
        if x.shape[1] != self.heatmap_head.in_channels:
            raise ValueError(f'{type(self).__name__}: heatmap_config.channels[0] is '
                             f'{self.heatmap_head.in_channels} but the selected feature map has '
                             f'{x.shape[1]} channels (set it to the backbone\'s output '
                             f'channels)')
        return x

    def forward(self, feats: Features) -> Dict[str, Tensor]:
        x = self.select(feats)
        if self.locref_head is None:
            return {'heatmap': self.heatmap_head(x)}
        # training: both stacks of one transposed convolution run as one (2048 → K and 2K
        # channels: few output channels, slow apart)
        heatmap, locref = run_deconv_modules((self.heatmap_head, self.locref_head), x,
                                             self.training)
        return {'heatmap': heatmap, 'locref': locref}

    def model_stride(self, input_size: Tuple[int, int], feature_size: Tuple[int, int]) -> float:
        """Input pixels per output cell: backbone stride / head stride. ``input_size`` (w, h)
        pixels, ``feature_size`` (w, h) cells of the backbone map."""
        stride = self.backbone_stride
        if stride is None:
            ratios = [i / f for i, f in zip(input_size, feature_size)]
            guesses = {2 ** round(math.log2(r)) for r in ratios}
            if len(guesses) != 1:
                raise ValueError(f'{type(self).__name__}: cannot tell the backbone stride from '
                                 f'input {tuple(input_size)} and features '
                                 f'{tuple(feature_size)}; set backbone_stride')
            stride = guesses.pop()
        return stride / self.head_stride

    def loss(self, feats: Features, batch: dict) -> dict:
        x = self.select(feats)
        outputs = self.forward(x)
        stride = self.model_stride(_size(batch['img']), _size(x))
        targets = self.targets(batch, stride, _size(outputs['heatmap']))
        device = outputs['heatmap'].device
        targets = {k: torch.from_numpy(v).to(device) for k, v in targets.items()}
        losses = {}
        for name in self.output_names:
            target, weights = self.TARGET_KEYS[name]
            # DeepLabCut's generators give no weights for some outputs (PAFs): weight 1
            losses[name] = self.criterion[name](outputs[name], targets[target],
                                                1.0 if weights is None else targets[weights])
        if self.aggregator is None:
            return dict(total_loss=losses['heatmap'])
        result = dict(total_loss=self.aggregator(losses))
        result.update({name: value.detach() for name, value in losses.items()})
        return result

    def targets(self, batch: dict, stride: float, heatmap_size: Tuple[int, int]) -> dict:
        """The generator's targets (numpy, leading B axis) for this batch's labels."""
        generator = self.target_generator.at(stride, heatmap_size)
        keypoints, visible = self.labels(batch, generator.batch_key)
        identities = None
        if generator.heatmap_mode == 'INDIVIDUAL':
            if batch.get('identities') is None:
                raise ValueError(f"{type(self).__name__}: heatmap_mode INDIVIDUAL needs "
                                 f"'identities' in the batch (Collect them in keys)")
            identities = [_numpy(i) for i in batch['identities']]
        return generator.encode_batch(keypoints, visible, identities)

    def labels(self, batch: dict, key: str) -> Tuple[List[np.ndarray], List[np.ndarray]]:
        """The batch's per-sample ``key`` points (N, K, 2) and their ``<key>_visible``."""
        if batch.get(key) is None or batch.get(f'{key}_visible') is None:
            raise ValueError(f"{type(self).__name__}: training needs {key!r} and "
                             f"'{key}_visible' in the batch (Collect them in keys)")
        return [_numpy(k) for k in batch[key]], [_numpy(v) for v in batch[f'{key}_visible']]

    def feature_size(self, heatmap_size: Tuple[int, int]) -> Tuple[int, int]:
        """(w, h) cells of the backbone map that gives heatmaps of ``heatmap_size`` (w, h)."""
        owner = type(self).__name__
        return tuple(self.heatmap_head.input_size(n, owner) for n in heatmap_size)

    def decode(self, outputs, input_size: Tuple[int, int]) -> List[dict]:
        feature_size = self.feature_size(_size(outputs['heatmap']))
        predictor = self.predictor.at(self.model_stride(input_size, feature_size))
        if isinstance(predictor, IdentityPredictor):
            # DeepLabCut's identity maps at the input size, (h, w, I) per image
            return [dict(identity_maps=m) for m in predictor.identity_maps(outputs)]
        keypoints, scores = predictor.decode(outputs)
        if self.target_generator.batch_key == 'unique_keypoints':
            return [dict(unique_keypoints=k, unique_keypoint_scores=s)
                    for k, s in zip(keypoints, scores)]
        return [dict(keypoints=k, keypoint_scores=s) for k, s in zip(keypoints, scores)]


def _build_codec(cfg, base, name: str, owner: str = 'DLCHeatmapHead'):
    if isinstance(cfg, base):
        return cfg
    if not isinstance(cfg, Mapping) or 'type' not in cfg:
        raise ValueError(f'{owner}: {name} must be a config dict with a type, got {cfg!r}')
    codec = KEYPOINT_CODECS.build(dict(cfg))
    if not isinstance(codec, base):
        names = ' or '.join(b.__name__ for b in (base if isinstance(base, tuple) else (base,)))
        raise ValueError(f'{owner}: {name}.type={cfg["type"]!r} is not a {names}')
    return codec


def _deconv_args(cfg, name: str, owner: str = 'DLCHeatmapHead') -> dict:
    if not isinstance(cfg, Mapping):
        raise ValueError(f'{owner}: {name} must be a dict with keys '
                         f'{", ".join(DECONV_KEYS)}, got {cfg!r}')
    unknown = [k for k in cfg if k not in DECONV_KEYS]
    if unknown:
        raise ValueError(f'{owner}: {name} has unknown keys {unknown}; it takes '
                         f'{", ".join(DECONV_KEYS)}')
    return dict(cfg)


def _build_criteria(criterion, outputs: Sequence[str], owner: str):
    """(ModuleDict output → criterion, WeightedLossAggregator or None), as DeepLabCut's
    ``PoseModel.build``: a typed dict is the single criterion of a head with one output; else
    one typed dict per output, their ``weight`` values (1.0 when absent) going to the
    aggregator."""
    if not isinstance(criterion, Mapping):
        raise ValueError(f'{owner}: criterion must be a dict, got {criterion!r}')
    if 'type' in criterion:
        if len(outputs) != 1:
            raise ValueError(f'{owner}: a head with outputs {", ".join(outputs)} needs one '
                             f'criterion per output (criterion=dict(heatmap=..., locref=...))')
        return nn.ModuleDict({'heatmap': MODELS.build(dict(criterion))}), None
    if sorted(criterion) != sorted(outputs):
        raise ValueError(f'{owner}: criterion has entries {sorted(criterion)} but the head '
                         f'outputs {list(outputs)}; give one criterion per output')
    modules = nn.ModuleDict({name: MODELS.build(dict(criterion[name])) for name in outputs})
    weights = {name: float(getattr(modules[name], 'weight', 1.0)) for name in criterion}
    return modules, MODELS.build(dict(type='WeightedLossAggregator', weights=weights))


def run_deconv_modules(modules: Sequence[DeconvModule], x: Tensor,
                       stack: bool) -> List[Tensor]:
    """``[module(x) for module in modules]``; with ``stack`` (a training network) as one
    transposed convolution when each module is a single one of the same geometry
    (:func:`~posecfg.models.utils.shared_input_convs.run_shared_input`)."""
    layers = [module.single_layer() for module in modules]
    if stack and all(layer is not None for layer in layers):
        return run_shared_input(layers, x)
    return [module(x) for module in modules]


def _normal_init(module: nn.Module, spec, owner: str) -> None:
    """DeepLabCut's ``Normal`` weight initializer (``weight_init.py``)."""
    std = 0.001
    if isinstance(spec, Mapping):
        kind = spec.get('type')
        unknown = [k for k in spec if k not in ('type', 'std')]
        if unknown:
            raise ValueError(f'{owner}: weight_init has unknown keys {unknown}; it takes type, '
                             f'std')
        std = float(spec.get('std', std))
    else:
        kind = spec
    if not isinstance(kind, str) or kind.lower() != 'normal':
        raise ValueError(f'{owner}: weight_init must be None, "normal" or dict(type="normal", '
                         f'std=...), got {spec!r}')
    for name, param in module.named_parameters():
        if 'bias' in name:
            nn.init.constant_(param, 0)
        else:
            nn.init.normal_(param, std=std)


def _size(tensor: Tensor) -> Tuple[int, int]:
    """(w, h) of a (..., H, W) tensor."""
    return int(tensor.shape[-1]), int(tensor.shape[-2])


def _numpy(value) -> np.ndarray:
    return value.detach().cpu().numpy() if isinstance(value, Tensor) else np.asarray(value)
