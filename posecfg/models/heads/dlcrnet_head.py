"""``DLCRNetHead``: DeepLabCut 3's multi-animal head (heatmaps, locref, part affinity fields).

DeepLabCut 3.0.2 ``models/heads/dlcrnet.py`` (a ``HeatmapHead`` subclass). With
``num_stages > 0`` (DeepLabCut's configs: 5):

- ``convt1`` / ``convt2`` / ``convt3`` / ``convt4``: ``ConvTranspose2d(C_in, ·, 3, stride 2,
  padding 1, output_padding 1)`` (exactly 2× the feature size) to K heatmaps, 2K locref maps,
  2L PAF maps and ``features_dim`` features;
- stage i (``hm_ref_layers[i]``, ``paf_ref_layers[i]``: ``Conv2d(features_dim + K + 2L, ·, 3,
  padding same)``) refines (heatmaps, PAFs) from the concatenation ``[heatmaps, PAFs,
  features]`` of the previous stage; from the second stage on the heatmaps add the previous
  stage's (a residual);
- outputs: ``heatmap = heatmap_head(last stage input)``, ``paf = paf_head(last stage input)``,
  ``locref = locref_head(convt2(x))`` — the deconvolution stacks of ``heatmap_config`` /
  ``paf_config`` then read ``features_dim + K + 2L`` channels and ``locref_config``'s reads 2K
  (DeepLabCut overwrites their first ``channels`` entry, lines 50-56);
- head stride: the stacks' stride × 2 (DeepLabCut ``self.stride *= 2``).

With ``num_stages = 0`` the three stacks read the backbone features directly (the ``convt*``
layers exist but are unused, as in DeepLabCut, so that snapshots load either way).

State-dict keys below ``heads.<name>.`` are DeepLabCut's: ``heatmap_head.deconv_layers.0.*``,
``locref_head.*``, ``paf_head.*``, ``convt{1..4}.{weight,bias}``,
``hm_ref_layers.{i}.{weight,bias}``, ``paf_ref_layers.{i}.{weight,bias}``.

Training: targets from ``SequentialGenerator`` (``HeatmapPlateauGenerator`` +
``PartAffinityFieldGenerator``) at the model stride; criteria ``heatmap`` (BCE), ``locref``
(Huber), ``paf`` (Huber, no weights: every cell counts) aggregated by
``WeightedLossAggregator``. Prediction: ``PartAffinityFieldPredictor`` → per image the
individuals it assembled.
"""
from __future__ import annotations

import copy
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from posecfg.codecs.dlc_heatmap import DLCHeatmapGenerator
from posecfg.codecs.dlc_paf import PartAffinityFieldGenerator, SequentialGenerator
from posecfg.codecs.dlc_paf_predictor import PartAffinityFieldPredictor
from posecfg.models.utils.shared_input_convs import run_shared_input
from posecfg.registry import MODELS
from .base_head import BaseHead
from .dlc_heatmap_head import (DECONV_KEYS, DeconvModule, DLCHeatmapHead, _build_codec,
                               _deconv_args, run_deconv_modules)
from .topdown_heatmap_simple_head import Features

#: PartAffinityFieldPredictor options a DLCRNetHead's test_cfg may override
PAF_PREDICTOR_KEYS = ('locref_stdev', 'nms_radius', 'sigma', 'min_affinity', 'add_discarded',
                      'apply_sigmoid', 'clip_scores', 'force_fusion', 'edges_to_keep',
                      'pcutoff', 'min_n_links', 'max_overlap', 'greedy', 'num_animals')


@MODELS.register_module()
class DLCRNetHead(DLCHeatmapHead):
    """DeepLabCut 3's ``DLCRNetHead`` (see the module).

    Args (DeepLabCut's, as ``model.heads.bodypart`` of a multi-animal ``pytorch_config.yaml``):
        predictor: a ``PartAffinityFieldPredictor`` config (type may be left out).
        target_generator: a ``SequentialGenerator`` config of a heatmap generator and a
            ``PartAffinityFieldGenerator``.
        criterion: ``dict(heatmap=..., locref=..., paf=...)``, each a criterion config with
            its ``weight`` (aggregated by ``WeightedLossAggregator``).
        heatmap_config, locref_config, paf_config: :class:`DeconvModule` arguments; the first
            ``channels`` entry is the backbone's output channels (see the module for what the
            stacks then read when ``num_stages > 0``), the last K, 2K and 2L.
        num_stages: refinement stages (0: none).
        features_dim: channels of the features carried through the stages.
        weight_init: as :class:`DLCHeatmapHead`.
    posecfg's: ``backbone_stride``, ``in_index``, ``test_cfg`` (predictor options,
    ``PAF_PREDICTOR_KEYS``), ``init_cfg``.

    ``forward`` → ``dict(heatmap (B, K, H, W), locref (B, 2K, H, W), paf (B, 2L, H, W))``;
    ``loss`` → ``total_loss`` and ``heatmap``, ``locref``, ``paf``; ``decode`` → per image
    ``keypoints`` (N, K, 2) input pixels and ``keypoint_scores`` (N, K) of the N individuals
    assembled (N <= num_animals; a keypoint an individual lacks has coordinates 0 and score 0,
    DeepLabCut's NaN) and ``individual_affinities`` (N,) (mean PAF affinity of its links).
    """

    TARGET_KEYS = dict(DLCHeatmapHead.TARGET_KEYS, paf=('paf_maps', None))
    option_keys = {'test_cfg': PAF_PREDICTOR_KEYS, 'heatmap_config': DECONV_KEYS,
                   'locref_config': DECONV_KEYS, 'paf_config': DECONV_KEYS,
                   'weight_init': ('type', 'std')}
    example_args = dict(
        predictor=dict(type='PartAffinityFieldPredictor', num_animals=2, num_multibodyparts=3,
                       num_uniquebodyparts=0, graph=[[0, 1], [0, 2], [1, 2]],
                       edges_to_keep=[0, 1, 2], nms_radius=5, sigma=1.0, locref_stdev=7.2801,
                       min_affinity=0.05, apply_sigmoid=True, clip_scores=False),
        target_generator=dict(type='SequentialGenerator', generators=[
            dict(type='HeatmapPlateauGenerator', num_heatmaps=3, pos_dist_thresh=17,
                 heatmap_mode='KEYPOINT', gradient_masking=False, generate_locref=True,
                 locref_std=7.2801),
            dict(type='PartAffinityFieldGenerator', graph=[[0, 1], [0, 2], [1, 2]],
                 width=20)]),
        criterion=dict(heatmap=dict(type='WeightedBCECriterion', weight=1.0),
                       locref=dict(type='WeightedHuberCriterion', weight=0.05),
                       paf=dict(type='WeightedHuberCriterion', weight=0.1)),
        heatmap_config=dict(channels=[16, 3], kernel_size=[3], strides=[2]),
        locref_config=dict(channels=[16, 6], kernel_size=[3], strides=[2]),
        paf_config=dict(channels=[16, 6], kernel_size=[3], strides=[2]),
        num_stages=2, features_dim=8)
    #: the stride-8 backbone output of the (48, 64) example input
    example_feature_shapes = ((2, 8, 16, 12), (2, 16, 8, 6))

    def __init__(self, predictor: dict, target_generator: dict, criterion: dict,
                 heatmap_config: dict, locref_config: dict, paf_config: dict,
                 num_stages: int = 5, features_dim: int = 128, weight_init=None,
                 backbone_stride: Optional[float] = None, in_index: int = -1,
                 test_cfg: Optional[dict] = None, init_cfg: Optional[dict] = None):
        BaseHead.__init__(self, codec=None, test_cfg=test_cfg, init_cfg=init_cfg)
        owner = type(self).__name__
        for name, value, least in (('num_stages', num_stages, 0),
                                   ('features_dim', features_dim, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f'{owner}: {name} must be an integer >= {least}, got {value!r}')
        self.num_stages, self.features_dim = num_stages, features_dim
        self.predictor = _build_codec({'type': 'PartAffinityFieldPredictor', **dict(predictor),
                                       **self.test_cfg}, PartAffinityFieldPredictor,
                                      'predictor', owner)
        self.target_generator = _build_codec(target_generator, SequentialGenerator,
                                             'target_generator', owner)
        self.codec = self.predictor
        configs = {name: copy.deepcopy(_deconv_args(cfg, name, owner)) for name, cfg in
                   (('heatmap_config', heatmap_config), ('locref_config', locref_config),
                    ('paf_config', paf_config))}
        for name, cfg in configs.items():
            if not isinstance(cfg.get('channels'), (list, tuple)) or len(cfg['channels']) < 2:
                raise ValueError(f'{owner}: {name}.channels must list the input channels and '
                                 f'the output channels, got {cfg.get("channels")!r}')
            cfg['channels'] = list(cfg['channels'])
        in_channels = configs['heatmap_config']['channels'][0]
        num_keypoints = configs['heatmap_config']['channels'][-1]
        num_limb_maps = configs['paf_config']['channels'][-1]  # 2 × limbs
        num_locref = configs['locref_config']['channels'][-1]
        refined = features_dim + num_keypoints + num_limb_maps
        if num_stages > 0:  # DeepLabCut's rewiring (dlcrnet.py:50-56)
            configs['heatmap_config']['channels'][0] = refined
            configs['paf_config']['channels'][0] = refined
            configs['locref_config']['channels'][0] = num_locref
        self.in_channels = in_channels
        self.heatmap_head = DeconvModule(**configs['heatmap_config'], owner='heatmap_config')
        self.locref_head = DeconvModule(**configs['locref_config'], owner='locref_config')
        self.paf_head = DeconvModule(**configs['paf_config'], owner='paf_config')
        for name in ('locref_head', 'paf_head'):
            if getattr(self, name).stride != self.heatmap_head.stride:
                raise ValueError(f'{owner}: heatmap_config and {name[:-5]}_config must have '
                                 f'the same stride, got {self.heatmap_head.stride} and '
                                 f'{getattr(self, name).stride}')
        self.convt1 = _double(in_channels, num_keypoints)
        self.convt2 = _double(in_channels, num_locref)
        self.convt3 = _double(in_channels, num_limb_maps)
        self.convt4 = _double(in_channels, features_dim)
        self.hm_ref_layers = nn.ModuleList(
            nn.Conv2d(refined, num_keypoints, 3, padding='same') for _ in range(num_stages))
        self.paf_ref_layers = nn.ModuleList(
            nn.Conv2d(refined, num_limb_maps, 3, padding='same') for _ in range(num_stages))
        self._check_paf_channels(num_keypoints, num_locref, num_limb_maps)
        self._finish_init(criterion, backbone_stride, in_index, weight_init)

    def _check_paf_channels(self, num_keypoints: int, num_locref: int, num_limb_maps: int):
        owner = type(self).__name__
        heatmaps = self.target_generator.find(DLCHeatmapGenerator)
        pafs = self.target_generator.find(PartAffinityFieldGenerator)
        if heatmaps is None or pafs is None:
            raise ValueError(f'{owner}: target_generator must hold a heatmap generator and a '
                             f'PartAffinityFieldGenerator, got '
                             f'{[type(g).__name__ for g in self.target_generator.generators]}')
        outputs = {'heatmap_config': (self.heatmap_head.out_channels, heatmaps.num_heatmaps,
                                      'the heatmap generator\'s num_heatmaps'),
                   'locref_config': (self.locref_head.out_channels, 2 * heatmaps.num_heatmaps,
                                     '2 × num_heatmaps'),
                   'paf_config': (self.paf_head.out_channels, 2 * pafs.num_limbs,
                                  '2 × len(graph) of the PartAffinityFieldGenerator')}
        for name, (got, want, what) in outputs.items():
            if got != want:
                raise ValueError(f'{owner}: {name} outputs {got} channels but {what} is {want}')
        if not heatmaps.generate_locref:
            raise ValueError(f'{owner}: the heatmap generator must have generate_locref=True '
                             f'(the head always outputs locref)')
        predictor = self.predictor
        expected = predictor.num_multibodyparts + predictor.num_uniquebodyparts
        if expected != heatmaps.num_heatmaps:
            raise ValueError(f'{owner}: predictor.num_multibodyparts + num_uniquebodyparts = '
                             f'{expected} but the heads output {heatmaps.num_heatmaps} heatmaps')
        if predictor.graph != pafs.graph:
            raise ValueError(f'{owner}: predictor.graph {predictor.graph} differs from the '
                             f'PartAffinityFieldGenerator\'s graph {pafs.graph}')

    @property
    def output_names(self) -> Tuple[str, ...]:
        return ('heatmap', 'locref', 'paf')

    @property
    def head_stride(self) -> int:
        return self.heatmap_head.stride * (2 if self.num_stages > 0 else 1)

    def select(self, feats: Features) -> Tensor:
        x = feats if isinstance(feats, Tensor) else feats[self.in_index]
        if x.shape[1] != self.in_channels:
            raise ValueError(f'{type(self).__name__}: heatmap_config.channels[0] is '
                             f'{self.in_channels} but the selected feature map has '
                             f'{x.shape[1]} channels (set it to the backbone\'s output '
                             f'channels)')
        return x

    def forward(self, feats: Features) -> Dict[str, Tensor]:
        x = self.select(feats)
        # training: the convolutions reading one input run as one (run_shared_input: their
        # few output channels are slow apart, backward above all); evaluation module by module
        stack = self.training
        if self.num_stages == 0:
            heatmap, locref, paf = run_deconv_modules(
                (self.heatmap_head, self.locref_head, self.paf_head), x, stack)
            return {'heatmap': heatmap, 'locref': locref, 'paf': paf}
        convts = (self.convt1, self.convt2, self.convt3, self.convt4)
        heatmaps, locref_in, pafs, features = self._run(convts, x, stack)
        stage_in = torch.cat((heatmaps, pafs, features), dim=1)
        for i, layers in enumerate(zip(self.hm_ref_layers, self.paf_ref_layers)):
            previous = heatmaps
            heatmaps, pafs = self._run(layers, stage_in, stack)
            if i > 0:
                heatmaps = heatmaps + previous
            stage_in = torch.cat((heatmaps, pafs, features), dim=1)
        heatmap, paf = run_deconv_modules((self.heatmap_head, self.paf_head), stage_in, stack)
        return {'heatmap': heatmap, 'locref': self.locref_head(locref_in), 'paf': paf}

    @staticmethod
    def _run(convs, x: Tensor, stack: bool) -> List[Tensor]:
        return run_shared_input(convs, x) if stack else [conv(x) for conv in convs]

    def feature_size(self, heatmap_size: Tuple[int, int]) -> Tuple[int, int]:
        size = super().feature_size(heatmap_size)
        if self.num_stages > 0:
            size = tuple(n // 2 for n in size)
        return size

    def decode(self, outputs, input_size: Tuple[int, int]) -> List[dict]:
        height, width = outputs['heatmap'].shape[-2:]
        predictor = self.predictor.at(self.model_stride(input_size,
                                                        self.feature_size((width, height))))
        result = predictor.predict_poses(outputs)
        preds = []
        for poses, found in zip(result['poses'], result['found']):
            poses = poses[found]
            # a keypoint missing from an assembly keeps NaN x, y and its score 0, as DeepLabCut
            # writes it (inferenceutils.Assembly: data starts NaN, its confidence setter zeroes
            # column 2; paf_predictor.py copies data into poses)
            keypoints = poses[..., :2].astype(np.float32)
            scores = poses[..., 2].astype(np.float32)
            preds.append(dict(keypoints=keypoints, keypoint_scores=scores,
                              individual_affinities=poses[:, 0, 4].astype(np.float32)))
        return preds


def _double(in_channels: int, out_channels: int) -> nn.ConvTranspose2d:
    """DeepLabCut's ``_make_layer_same_padding``: exactly 2× upsampling."""
    return nn.ConvTranspose2d(in_channels, out_channels, kernel_size=3, stride=2, padding=1,
                              output_padding=1)
