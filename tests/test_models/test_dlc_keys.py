"""posecfg model keys ↔ DeepLabCut 3 PoseModel keys, for resnet_50, hrnet_w32 and cspnext_m
with DeepLabCut's HeatmapHead, against key lists written out here from DeepLabCut's modules.

Oracles (DeepLabCut 3.0.1, deeplabcut/pose_estimation_pytorch/models/):
- model.py:58-60: ``PoseModel`` keeps ``self.backbone`` and ``self.heads = nn.ModuleDict``;
- backbones/resnet.py:52-59: ``self.model = timm.create_model('resnet50_gn', ...)`` with
  ``self.model.fc = nn.Identity()``; timm's ResNet-50: ``conv1``, ``bn1``, ``layer1..4`` of
  3, 4, 6, 3 bottlenecks (``conv1..3``, ``bn1..3``, the first with ``downsample.0`` conv and
  ``downsample.1`` norm); GroupNorm has no running statistics;
- backbones/hrnet.py:60,121-127: ``self.model = timm.create_model(..., features_only=True)``:
  the stem ``conv1, bn1, conv2, bn2``, ``layer1``, ``transition1..3``, ``stage2..4`` (no
  ``incre_modules`` without ``increased_channel_count``, no ``final_layer``/``classifier``);
- backbones/cspnext.py:114-182 and modules/csp.py: ``stem.0..2`` and ``stage1..4`` of a
  ``CSPConvModule`` (``conv`` without bias, ``norm``), an ``SPPBottleneck`` in stage 4
  (``conv1``, ``conv2``), a ``CSPLayer`` (``main_conv``, ``short_conv``, ``final_conv``,
  ``blocks.j.conv1``, ``blocks.j.conv2.{depthwise,pointwise}_conv``, ``attention.fc`` with
  bias), ``max(round(n * 0.67), 1)`` blocks for P5's 3, 6, 6, 3;
- heads/simple_head.py:88-89,158-167: ``heatmap_head`` / ``locref_head`` DeconvModules with
  ``deconv_layers.<i>`` (a single transposed conv: index 0).
"""
import pytest
import torch

import posecfg.engine.registration  # noqa: F401
from posecfg.engine.weights import load_model_weights
from posecfg.models.backbones.named import DLC_NET_TYPES
from posecfg.models.dlc_keys import from_dlc_state_dict, is_dlc_layout, to_dlc_state_dict
from posecfg.registry import MODELS

K = 3
BN = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')
GN = ('weight', 'bias')


def dlc_heatmap_head(channels):
    return dict(
        type='DLCHeatmapHead',
        predictor=dict(type='HeatmapPredictor', location_refinement=True, locref_std=7.2801),
        target_generator=dict(type='HeatmapGaussianGenerator', num_heatmaps=K,
                              pos_dist_thresh=17, generate_locref=True, locref_std=7.2801),
        criterion=dict(heatmap=dict(type='WeightedMSECriterion', weight=1.0),
                       locref=dict(type='WeightedHuberCriterion', weight=0.05)),
        heatmap_config=dict(channels=[channels, K], kernel_size=[3], strides=[2]),
        locref_config=dict(channels=[channels, 2 * K], kernel_size=[3], strides=[2]))


def head_keys():
    return {f'heads.bodypart.{part}.deconv_layers.0.{p}'
            for part in ('heatmap_head', 'locref_head') for p in ('weight', 'bias')}


def resnet50_gn_keys():
    keys = {'conv1.weight'} | {f'bn1.{p}' for p in GN}
    for stage, blocks in enumerate((3, 4, 6, 3), 1):
        for j in range(blocks):
            block = f'layer{stage}.{j}'
            for c in (1, 2, 3):
                keys |= {f'{block}.conv{c}.weight'} | {f'{block}.bn{c}.{p}' for p in GN}
            if j == 0:
                keys |= {f'{block}.downsample.0.weight'} | \
                    {f'{block}.downsample.1.{p}' for p in GN}
    return {f'backbone.model.{k}' for k in keys} | head_keys()


def cspnext_m_keys():
    def conv(name):
        return {f'{name}.conv.weight'} | {f'{name}.norm.{p}' for p in BN}
    keys = set()
    for i in range(3):
        keys |= conv(f'stem.{i}')
    for stage, n in enumerate((3, 6, 6, 3), 1):
        keys |= conv(f'stage{stage}.0')
        csp = f'stage{stage}.1'
        if stage == 4:  # SPP before the CSP layer
            keys |= conv(f'stage4.1.conv1') | conv(f'stage4.1.conv2')
            csp = 'stage4.2'
        for part in ('main_conv', 'short_conv', 'final_conv'):
            keys |= conv(f'{csp}.{part}')
        for j in range(max(round(n * 0.67), 1)):
            keys |= conv(f'{csp}.blocks.{j}.conv1')
            keys |= conv(f'{csp}.blocks.{j}.conv2.depthwise_conv')
            keys |= conv(f'{csp}.blocks.{j}.conv2.pointwise_conv')
        keys |= {f'{csp}.attention.fc.weight', f'{csp}.attention.fc.bias'}
    return {f'backbone.{k}' for k in keys} | head_keys()


def build(net_type, channels):
    return MODELS.build(dict(type='BottomUp', backbone=DLC_NET_TYPES[net_type].build_cfg(),
                             heads=dict(bodypart=dlc_heatmap_head(channels))))


@pytest.mark.parametrize('net_type,channels,expected', [
    ('resnet_50', 2048, resnet50_gn_keys), ('cspnext_m', 768, cspnext_m_keys)])
def test_keys_are_deeplabcuts_and_round_trip(net_type, channels, expected):
    model = build(net_type, channels)
    state = model.state_dict()
    dlc = to_dlc_state_dict(state, model)
    assert set(dlc) == expected()
    assert is_dlc_layout(dlc) and not is_dlc_layout(state)
    back = from_dlc_state_dict(dlc, model)
    assert list(back) == list(state)
    assert all(back[k] is state[k] for k in state)


def test_hrnet_w32_keys_are_under_the_timm_model():
    model = build('hrnet_w32', 32)
    dlc = to_dlc_state_dict(model.state_dict(), model)
    backbone = {k[len('backbone.model.'):] for k in dlc if k.startswith('backbone.')}
    assert len(backbone) + len(head_keys()) == len(dlc)
    assert set(dlc) - {f'backbone.model.{k}' for k in backbone} == head_keys()
    assert {k.split('.')[0] for k in backbone} == {
        'conv1', 'bn1', 'conv2', 'bn2', 'layer1', 'transition1', 'transition2', 'transition3',
        'stage2', 'stage3', 'stage4'}
    # the multi-scale output keeps every fuse row of the last module (timm features_only):
    # row i, column j < i is a Sequential of (conv, bn, relu) downsamplings; j > i (conv, bn,
    # upsample)
    assert {f'stage4.2.fuse_layers.{i}.0.0.0.weight' for i in (1, 2, 3)} <= backbone
    assert 'stage4.2.fuse_layers.0.1.0.weight' in backbone
    assert {f'{p}.{s}' for p in ('conv1', 'bn1') for s in ('weight',)} <= backbone


def test_a_deeplabcut_snapshot_loads_into_the_posecfg_model(tmp_path):
    """A snapshot as DeepLabCut saves it (runners/train.py:139-153: metadata, model) with
    PoseModel keys loads through posecfg's checkpoint loading, tensors in place."""
    source = build('resnet_50', 2048)
    torch.manual_seed(0)
    dlc = {k: (torch.randn_like(v) if v.is_floating_point() else v)
           for k, v in to_dlc_state_dict(source.state_dict(), source).items()}
    path = tmp_path / 'snapshot-best-042.pt'
    torch.save(dict(metadata=dict(epoch=42, metrics={}, losses={}), model=dlc), path)
    target = build('resnet_50', 2048)
    load_model_weights(target, torch.load(path, weights_only=True), str(path))
    loaded = target.state_dict()
    assert torch.equal(loaded['backbone.layer4.2.conv3.weight'],
                       dlc['backbone.model.layer4.2.conv3.weight'])
    assert torch.equal(loaded['bodypart.locref_head.deconv_layers.0.bias'],
                       dlc['heads.bodypart.locref_head.deconv_layers.0.bias'])


def test_a_snapshot_of_another_model_names_what_does_not_fit(tmp_path):
    from posecfg.engine.weights import CheckpointMismatchError
    source = build('cspnext_m', 768)
    dlc = to_dlc_state_dict(source.state_dict(), source)
    with pytest.raises(CheckpointMismatchError, match='does not fit'):
        load_model_weights(build('resnet_50', 2048), dict(model=dlc), 'snapshot-001.pt')
