"""Backbones DeepLabCut 3 and Lightning Pose name: configs, DeepLabCut snapshot keys, the
translation of DeepLabCut's ``model.backbone``, Lightning Pose's names and checkpoints."""
import pytest
import torch

from posecfg.models.backbones.named import (DLC_NET_TYPES, LP_BACKBONES, dlc_backbone_cfg,
                                            from_dlc_keys, lp_backbone_cfg, to_dlc_keys)
from posecfg.models.utils import load_pretrained
from posecfg.registry import MODELS
from tests.test_models.layouts import log  # noqa: F401  (fixture)
from tests.test_models.layouts import (assert_bijective_load, dlc_cspnext_shapes, index_of,
                                       meta_build, numbered, timm_hrnet_features_shapes,
                                       timm_resnet_shapes)

pytestmark = pytest.mark.usefixtures('one_thread')  # tests/conftest.py


def shapes_of(state_dict):
    return {k: tuple(v.shape) for k, v in state_dict.items()}


# ------------------------------------------------------------------ DeepLabCut 3
# what DeepLabCut's own modules hold (deeplabcut/pose_estimation_pytorch/models/backbones):
# ResNet and HRNet wrap a timm model as ``self.model`` (ResNet's fc replaced by an Identity);
# CSPNeXt builds stem/stage* itself. A snapshot's ``model`` adds ``backbone.`` in front.
DLC_EXPECTED = {
    'resnet_50': ('ResNet', lambda: {f'model.{k}': v for k, v in
                                     timm_resnet_shapes(50, 'gn').items()}),
    'resnet_101': ('ResNet', lambda: {f'model.{k}': v for k, v in
                                      timm_resnet_shapes(101).items()}),
    'hrnet_w18': ('HRNet', lambda: {f'model.{k}': v for k, v in
                                    timm_hrnet_features_shapes(18).items()}),
    'hrnet_w32': ('HRNet', lambda: {f'model.{k}': v for k, v in
                                    timm_hrnet_features_shapes(32).items()}),
    'hrnet_w48': ('HRNet', lambda: {f'model.{k}': v for k, v in
                                    timm_hrnet_features_shapes(48).items()}),
    # DEKR's HRNets are the same timm features (all branches used)
    **{f'dekr_w{w}': ('HRNet', lambda w=w: {f'model.{k}': v for k, v in
                                           timm_hrnet_features_shapes(w).items()})
       for w in (18, 32, 48)},
    'cspnext_s': ('CSPNeXt', lambda: dlc_cspnext_shapes(0.33, 0.5)),
    'cspnext_m': ('CSPNeXt', lambda: dlc_cspnext_shapes(0.67, 0.75)),
    'cspnext_x': ('CSPNeXt', lambda: dlc_cspnext_shapes(1.33, 1.25)),
}
# backbone_output_channels in DeepLabCut's config/backbones/<net_type>.yaml, and the stride
DLC_CHANNELS = {'resnet_50': (2048, 16), 'resnet_101': (2048, 16), 'hrnet_w18': (18, 4),
                'hrnet_w32': (32, 4), 'hrnet_w48': (48, 4), 'cspnext_s': (512, 32),
                'cspnext_m': (768, 32), 'cspnext_x': (1280, 32),
                # config/dekr/dekr_w*.yaml backbone_output_channels
                'dekr_w18': (270, 4), 'dekr_w32': (480, 4), 'dekr_w48': (720, 4)}


@pytest.mark.parametrize('net_type', sorted(DLC_EXPECTED))
def test_dlc_net_types_have_deeplabcuts_snapshot_keys(net_type):
    dlc_type, expected = DLC_EXPECTED[net_type]
    model = meta_build(DLC_NET_TYPES[net_type].build_cfg())
    assert (model.out_channels[0], model.out_strides[0]) == DLC_CHANNELS[net_type]
    theirs = to_dlc_keys(shapes_of(model.state_dict()), dlc_type)
    assert theirs == expected()
    assert list(from_dlc_keys(theirs, dlc_type)) == list(model.state_dict())


@pytest.mark.parametrize('cfg, dlc_type, timm_shapes', [
    (dict(type='ResNet', depth=18, output_stride=16, norm_cfg=dict(type='GN', num_groups=32)),
     'ResNet', lambda: timm_resnet_shapes(18, 'gn')),
    (DLC_NET_TYPES['hrnet_w18'].cfg, 'HRNet', lambda: timm_hrnet_features_shapes(18))])
def test_a_deeplabcut_snapshot_loads_strictly(tmp_path, log, cfg, dlc_type, timm_shapes):
    """``{'model': {'backbone.model.<timm key>': ..., 'heads...': ...}, 'metadata': ...}``
    (DeepLabCut 3's snapshot layout) loads into the posecfg backbone tensor for tensor."""
    shapes = timm_shapes()
    theirs = to_dlc_keys(numbered(shapes), dlc_type)
    snapshot = {'model': {**{f'backbone.{k}': v for k, v in theirs.items()},
                          'heads.bodypart.heatmap_head.deconv_layers.0.weight':
                              torch.zeros(4, 2, 3, 3)},
                'metadata': {'epoch': 10}, 'optimizer': {}}
    torch.save(snapshot, tmp_path / 'snapshot-010.pt')
    model = MODELS.build(cfg)
    report = load_pretrained(model, str(tmp_path / 'snapshot-010.pt'), strict=True, logger=log)
    assert report.prefix == 'backbone.model.'
    ours = assert_bijective_load(model, report, [])
    first = list(shapes)[-1]
    assert ours[index_of(shapes, first)] == first


def test_dlc_key_mapping_errors():
    with pytest.raises(KeyError, match=r"keeps its tensors under 'model.'; these are not: "
                                        r"\['conv1.weight'\]"):
        from_dlc_keys({'conv1.weight': torch.zeros(1)}, 'ResNet')
    with pytest.raises(ValueError, match=r"DeepLabCut backbone type 'DEKR' is not one of"):
        to_dlc_keys({}, 'DEKR')


# DeepLabCut 3's config/backbones/*.yaml ``model.backbone`` mappings, as it writes them
DLC_YAML = {
    'resnet_50': dict(type='ResNet', model_name='resnet50_gn', output_stride=16,
                      freeze_bn_stats=False, freeze_bn_weights=False),
    'resnet_101': dict(type='ResNet', model_name='resnet101', output_stride=16,
                       freeze_bn_stats=False, freeze_bn_weights=False),
    'hrnet_w32': dict(type='HRNet', model_name='hrnet_w32', freeze_bn_stats=True,
                      freeze_bn_weights=False, interpolate_branches=False,
                      increased_channel_count=False),
    'dekr_w18': dict(type='HRNet', model_name='hrnet_w18', freeze_bn_stats=False,
                     freeze_bn_weights=False, interpolate_branches=True,
                     increased_channel_count=False),
    'cspnext_m': dict(type='CSPNeXt', model_name='cspnext_m', freeze_bn_stats=False,
                      freeze_bn_weights=False, deepen_factor=0.67, widen_factor=0.75),
}


@pytest.mark.parametrize('net_type', sorted(DLC_YAML))
def test_deeplabcut_backbone_mappings_translate_to_the_net_types(net_type):
    cfg = dlc_backbone_cfg(DLC_YAML[net_type])
    model, reference = meta_build(cfg), meta_build(DLC_NET_TYPES[net_type].build_cfg())
    assert shapes_of(model.state_dict()) == shapes_of(reference.state_dict())
    assert model.out_channels == reference.out_channels
    assert model.norm_eval == (net_type == 'hrnet_w32')  # freeze_bn_stats: true, BatchNorm


def test_deeplabcut_backbone_options():
    cfg = dlc_backbone_cfg(dict(DLC_YAML['hrnet_w32'], interpolate_branches=True,
                                increased_channel_count=True, pretrained=True))
    assert cfg['interpolate_branches'] and cfg['increased_channel_count']
    assert cfg['init_cfg'] == dict(type='Pretrained', checkpoint='timm://hrnet_w32')
    assert meta_build(cfg).out_channels == (128 + 256 + 512 + 1024,)
    cfg = dlc_backbone_cfg(dict(DLC_YAML['resnet_50'], drop_path_rate=0.1, drop_block_rate=0.2))
    assert (cfg['drop_path_rate'], cfg['drop_block_rate']) == (0.1, 0.2)
    # DLCRNet is DeepLabCut's ResNet subclass: the rates reach its timm ResNet too
    cfg = dlc_backbone_cfg(dict(type='DLCRNet', drop_path_rate=0.1, drop_block_rate=0.2))
    resnet = meta_build(cfg).model
    assert (resnet.drop_path_rate, resnet.drop_block_rate) == (0.1, 0.2)
    assert resnet.layer4[-1].drop_path.drop_prob == pytest.approx(0.1)
    # GroupNorm: DeepLabCut's freeze_bn_stats acts on nn.BatchNorm2d only
    assert not dlc_backbone_cfg(dict(DLC_YAML['resnet_50'], freeze_bn_stats=True))['norm_eval']
    cfg = dlc_backbone_cfg(dict(DLC_YAML['cspnext_m'], pretrained=True, out_indices=(2, -1)))
    assert cfg['out_indices'] == (2, 4)
    assert cfg['init_cfg']['checkpoint'] == 'hf://DeepLabCut/DeepLabCut-Backbones/cspnext_m.pt'
    cfg = dlc_backbone_cfg(dict(DLC_YAML['cspnext_m'], pretrained=True,
                                backbone_weight_folder='/weights'))
    assert cfg['init_cfg']['checkpoint'] == '/weights/cspnext_m.pt'


#: every backbone a DeepLabCut pytorch_config.yaml can name that has BatchNorm layers, as its
#: ``model.backbone`` mapping (no pretrained file); resnet_50 is GroupNorm (below)
DLC_BATCHNORM_BACKBONES = {
    'resnet_101': dict(type='ResNet', model_name='resnet101', output_stride=16),
    'hrnet_w18': dict(type='HRNet', model_name='hrnet_w18'),
    'dekr_w18': dict(type='HRNet', model_name='hrnet_w18', interpolate_branches=True),
    'cspnext_s': dict(type='CSPNeXt', model_name='cspnext_s', deepen_factor=0.33,
                      widen_factor=0.5, norm_layer='BN'),
    'dlcrnet_stride16_ms5': dict(type='DLCRNet', model_name='resnet50', output_stride=16,
                                 pretrained=False),
}


def _batchnorms(model):
    from torch.nn.modules.batchnorm import _BatchNorm
    return [m for m in model.modules() if isinstance(m, _BatchNorm)]


@pytest.mark.parametrize('stats, weights', [(True, False), (False, True)])
@pytest.mark.parametrize('net_type', sorted(DLC_BATCHNORM_BACKBONES))
def test_deeplabcut_batchnorm_freezing_holds_through_a_training_step(net_type, stats, weights):
    """DeepLabCut's ``BaseBackbone.freeze_batch_norm_layers`` (models/backbones/base.py):
    ``freeze_bn_stats`` keeps every BatchNorm2d in eval mode after ``model.train()`` (running
    statistics not updated), ``freeze_bn_weights`` sets their weight and bias
    ``requires_grad=False``; the two are independent. One AdamW step (weight decay, fused, as
    posecfg's runner builds it through mmengine) on a 64x64 batch shows each."""
    from mmengine.optim import build_optim_wrapper
    torch.manual_seed(0)
    cfg = dlc_backbone_cfg(dict(DLC_BATCHNORM_BACKBONES[net_type], freeze_bn_stats=stats,
                                freeze_bn_weights=weights))
    assert (cfg['norm_eval'], cfg['freeze_norm_weights']) == (stats, weights)
    model = MODELS.build(cfg).train()
    norms = _batchnorms(model)
    assert norms and all(bn.training != stats for bn in norms)
    optim = build_optim_wrapper(model, dict(type='OptimWrapper', optimizer=dict(
        type='AdamW', lr=0.01, weight_decay=0.1, fused=True)))
    affine = [(p, p.detach().clone()) for bn in norms for p in (bn.weight, bn.bias)]
    running = [(bn.running_mean, bn.running_mean.clone()) for bn in norms]
    (out,) = model(torch.rand(2, 3, 64, 64))
    optim.update_params(out.square().mean())
    if weights:
        assert all(torch.equal(p, old) and not p.requires_grad for p, old in affine)
    else:
        assert any(not torch.equal(p, old) for p, old in affine)
    if stats:
        assert all(torch.equal(now, old) for now, old in running)
    else:
        assert any(not torch.equal(now, old) for now, old in running)


@pytest.mark.parametrize('net_type, mapping', [
    *DLC_BATCHNORM_BACKBONES.items(),
    ('resnet_50', dict(type='ResNet', model_name='resnet50_gn')),
    ('cspnext_m (SyncBN)', dict(type='CSPNeXt', model_name='cspnext_m'))])
def test_deeplabcut_batchnorm_freezing_defaults(net_type, mapping):
    """Keys absent: DeepLabCut's BaseBackbone freezes both (``freeze_bn_weights=True,
    freeze_bn_stats=True``), on ``nn.BatchNorm2d`` layers only, so nothing for timm's GroupNorm
    resnet50_gn nor for a CSPNeXt's default SyncBatchNorm (posecfg builds that as BatchNorm,
    which must then stay unfrozen)."""
    cfg = dlc_backbone_cfg(mapping)
    acts = net_type in DLC_BATCHNORM_BACKBONES
    assert (cfg['norm_eval'], cfg['freeze_norm_weights']) == (acts, acts)


@pytest.mark.parametrize('mapping, message', [
    (dict(type='DEKR'), r"model.backbone.type='DEKR': posecfg builds the DeepLabCut backbones "
                        r"ResNet, HRNet, CSPNeXt"),
    (dict(DLC_YAML['resnet_50'], output_strid=16),
     r"model.backbone: unknown key\(s\) \['output_strid'\] for a DeepLabCut ResNet; it takes "
     r"type, model_name, .* \(did you mean output_stride\?\)"),
    (dict(DLC_YAML['resnet_50'], model_name='resnet50_bn'),
     r"model.backbone.model_name='resnet50_bn': posecfg builds the timm ResNets .*did you mean"),
    (dict(DLC_YAML['hrnet_w32'], stride=8), r"model.backbone.stride=8: DeepLabCut's HRNet"),
    (dict(DLC_YAML['cspnext_m'], norm_layer='GN'),
     r"model.backbone.norm_layer='GN' must be one of SyncBN, BN"),
])
def test_deeplabcut_backbone_errors(mapping, message):
    with pytest.raises(ValueError, match=message):
        dlc_backbone_cfg(mapping)


# ------------------------------------------------------------------ Lightning Pose
# lightning_pose/models/backbones/factory.py: BACKBONE_STRIDES and the feature widths it
# returns (fc.in_features, classifier[-1].in_features, config.hidden_size)
LP_FACTS = {'resnet18': (512, 32), 'resnet34': (512, 32), 'resnet50': (2048, 32),
            'resnet101': (2048, 32), 'resnet152': (2048, 32), 'resnet50_animal_apose': (2048, 32),
            'resnet50_animal_ap10k': (2048, 32), 'resnet50_human_jhmdb': (2048, 32),
            'resnet50_human_res_rle': (2048, 32), 'resnet50_human_top_res': (2048, 32),
            'resnet50_human_hand': (2048, 32), 'efficientnet_b0': (1280, 32),
            'efficientnet_b1': (1280, 32), 'efficientnet_b2': (1408, 32),
            'vits_dino': (384, 16), 'vits_dinov2': (384, 16), 'vits_dinov3': (384, 16),
            'vitb_dino': (768, 16), 'vitb_dinov2': (768, 16), 'vitb_dinov3': (768, 16),
            'vitb_imagenet': (768, 16), 'vitb_sam': (768, 16)}


def test_every_lightning_pose_name_is_built():
    assert set(LP_BACKBONES) == set(LP_FACTS)


@pytest.mark.parametrize('name', sorted(LP_FACTS))
def test_lightning_pose_backbones_width_and_stride(name):
    model = meta_build(lp_backbone_cfg(name, pretrained=False))
    assert (model.out_channels[0], model.out_strides[0]) == LP_FACTS[name]


def test_lightning_pose_weights_and_errors():
    cfg = lp_backbone_cfg('resnet50_animal_ap10k')
    assert cfg['init_cfg']['checkpoint'].endswith('res50_ap10k_256x256-35760eb8_20211029.pth')
    assert lp_backbone_cfg('resnet18')['init_cfg']['checkpoint'] == 'torchvision://resnet18'
    assert 'init_cfg' not in lp_backbone_cfg('resnet18', pretrained=False)
    assert lp_backbone_cfg('vitb_sam', image_size=384)['pos_embed_grid'] == 24
    with pytest.raises(ValueError, match=r"model.backbone='vitb_sam2'.*accepted by Lightning "
                                         r"Pose 2.4.3 but not built by posecfg yet"):
        lp_backbone_cfg('vitb_sam2')
    with pytest.raises(ValueError, match=r"model.backbone='resnet51'.*did you mean resnet50"):
        lp_backbone_cfg('resnet51')


def test_lightning_pose_resnet_checkpoint_loads(tmp_path, log):
    """Lightning Pose's heatmap trunk: ``nn.Sequential(*resnet.children()[:-2])`` → keys
    ``backbone.<child index>...`` with children conv1, bn1, relu, maxpool, layer1..4."""
    children = ['conv1', 'bn1', 'relu', 'maxpool', 'layer1', 'layer2', 'layer3', 'layer4']
    shapes = {}
    for key, shape in timm_resnet_shapes(18).items():
        head, rest = key.split('.', 1)
        shapes[f'{children.index(head)}.{rest}'] = shape
    ckpt = {'state_dict': {**{f'backbone.{k}': v for k, v in numbered(shapes).items()},
                           'head.upsampling_layers.1.weight': torch.zeros(1)}}
    torch.save(ckpt, tmp_path / 'epoch=1-step=10-best.ckpt')
    model = MODELS.build(lp_backbone_cfg('resnet18', pretrained=False))
    report = load_pretrained(model, str(tmp_path / 'epoch=1-step=10-best.ckpt'), strict=True,
                             logger=log)
    assert report.layout == 'lightning-pose'
    ours = assert_bijective_load(model, report, [])
    assert ours[index_of(shapes, '7.1.bn2.running_var')] == 'layer4.1.bn2.running_var'
    assert ours[index_of(shapes, '1.weight')] == 'bn1.weight'


def test_mmpose_resnet_weights_load_for_the_resnet50_variants(tmp_path, log):
    """resnet50_animal_* / resnet50_human_*: MMPose 0.x checkpoints, ``backbone.`` in a
    ``state_dict`` next to ``keypoint_head.*`` (Lightning Pose keeps the backbone part)."""
    shapes = timm_resnet_shapes(50)
    ckpt = {'state_dict': {**{f'backbone.{k}': v for k, v in numbered(shapes).items()},
                           'keypoint_head.final_layer.weight': torch.zeros(17, 256, 1, 1)},
            'meta': {}}
    torch.save(ckpt, tmp_path / 'res50_ap10k_256x256-35760eb8_20211029.pth')
    model = MODELS.build(lp_backbone_cfg('resnet50_animal_ap10k', pretrained=False))
    report = load_pretrained(model, str(tmp_path / 'res50_ap10k_256x256-35760eb8_20211029.pth'),
                             strict=True, logger=log)
    assert_bijective_load(model, report, [])


def test_absent_lightning_pose_weights_name_the_file_and_where_to_put_it(tmp_path, monkeypatch):
    import urllib.error

    from posecfg.models.utils import PretrainedNotFoundError, model_zoo
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))

    def offline(url, dst, timeout=None, **kwargs):
        raise urllib.error.URLError('offline')
    monkeypatch.setattr(model_zoo, 'download', offline)
    cfg = lp_backbone_cfg('resnet50')  # torchvision IMAGENET1K_V2, as Lightning Pose loads
    model = MODELS.build(dict(cfg, num_stages=1, strides=(1,), dilations=(1,), out_indices=(0,)))
    with pytest.raises(PretrainedNotFoundError) as err:
        model.init_weights()
    cache = tmp_path / 'torch_home' / 'hub' / 'checkpoints' / 'resnet50-11ad3fa6.pth'
    assert (f'Download https://download.pytorch.org/models/resnet50-11ad3fa6.pth and save it '
            f'as {cache}') in str(err.value)
    assert 'model.backbone.init_cfg.checkpoint=None trains from scratch' in str(err.value)
