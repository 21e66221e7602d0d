"""dlcrnet_stride16_ms5 / _stride32_ms5 with DLCRNetHead: DeepLabCut 3's snapshot keys and
shapes, written out here from DeepLabCut 3.0.2's modules, and output sizes.

Oracles (deeplabcut/pose_estimation_pytorch/):
- models/backbones/resnet.py:86-104 ``DLCRNet(ResNet)``: ``self.model`` a timm ``resnet50``
  (BatchNorm; ``fc`` replaced by Identity), ``conv_block1`` Conv2d(512, 512, 3, stride 2),
  ``conv_block2`` (512, 128, 1), ``conv_block3`` (256, 256, 3, /2), ``conv_block4`` (256,
  256, 3, /2), ``conv_block5`` (256, 128, 1), each ``Sequential(Conv2d, BatchNorm2d, ReLU)``;
  output 2304 channels (config/dlcrnet/*.yaml ``backbone_output_channels``);
- models/heads/dlcrnet.py:46-85: ``convt1..4`` ConvTranspose2d(C_in, K | 2K | 2L | 128, 3),
  ``hm_ref_layers.i`` / ``paf_ref_layers.i`` Conv2d(128 + K + 2L, K | 2L, 3), the deconv
  stacks reading 128 + K + 2L channels (heatmap, paf) and 2K (locref); the head's stride is
  its stacks' times 2;
- config/dlcrnet/dlcrnet_stride32_ms5.yaml: two deconvolutions (2304 → 1152 → out).
"""
import pytest
import torch

import posecfg.engine.registration  # noqa: F401
from posecfg.models.backbones.named import DLC_NET_TYPES, dlc_backbone_cfg
from posecfg.models.dlc_keys import from_dlc_state_dict, to_dlc_state_dict
from posecfg.registry import MODELS

pytestmark = pytest.mark.usefixtures('one_thread')

K, GRAPH = 4, [[i, j] for i in range(4) for j in range(i + 1, 4)]  # DLC's full graph: 6 edges
L2 = 2 * len(GRAPH)
BN = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')


def deconv(channels):
    return dict(channels=channels, kernel_size=[3] * (len(channels) - 1),
                strides=[2] * (len(channels) - 1))


def dlcrnet_head(mid=()):
    """model.heads.bodypart of DeepLabCut's dlcrnet_stride*_ms5 config, K = 4, 6 edges."""
    return dict(
        type='DLCRNetHead',
        predictor=dict(type='PartAffinityFieldPredictor', num_animals=3, num_multibodyparts=K,
                       num_uniquebodyparts=0, nms_radius=5, sigma=1.0, locref_stdev=7.2801,
                       min_affinity=0.05, graph=GRAPH, edges_to_keep=list(range(6))),
        target_generator=dict(type='SequentialGenerator', generators=[
            dict(type='HeatmapPlateauGenerator', num_heatmaps=K, pos_dist_thresh=17,
                 heatmap_mode='KEYPOINT', generate_locref=True, locref_std=7.2801),
            dict(type='PartAffinityFieldGenerator', graph=GRAPH, width=20)]),
        criterion=dict(heatmap=dict(type='WeightedBCECriterion', weight=1.0),
                       locref=dict(type='WeightedHuberCriterion', weight=0.05),
                       paf=dict(type='WeightedHuberCriterion', weight=0.1)),
        heatmap_config=deconv([2304, *mid, K]), locref_config=deconv([2304, *mid, 2 * K]),
        paf_config=deconv([2304, *mid, L2]), num_stages=5)


def expected_shapes(mid=()):
    """DeepLabCut's key → shape for the model (backbone: conv blocks only, the timm ResNet-50
    keys are checked by name)."""
    shapes = {}
    for i, (c_in, c_out, k) in enumerate([(512, 512, 3), (512, 128, 1), (256, 256, 3),
                                          (256, 256, 3), (256, 128, 1)], 1):
        shapes[f'backbone.conv_block{i}.0.weight'] = (c_out, c_in, k, k)
        shapes[f'backbone.conv_block{i}.0.bias'] = (c_out,)
        for p in BN:
            shapes[f'backbone.conv_block{i}.1.{p}'] = () if p == 'num_batches_tracked' \
                else (c_out,)
    head = 'heads.bodypart.'
    refined = 128 + K + L2
    for i, c_out in enumerate((K, 2 * K, L2, 128), 1):
        shapes[f'{head}convt{i}.weight'] = (2304, c_out, 3, 3)  # ConvTranspose: in × out
        shapes[f'{head}convt{i}.bias'] = (c_out,)
    for s in range(5):
        shapes[f'{head}hm_ref_layers.{s}.weight'] = (K, refined, 3, 3)
        shapes[f'{head}hm_ref_layers.{s}.bias'] = (K,)
        shapes[f'{head}paf_ref_layers.{s}.weight'] = (L2, refined, 3, 3)
        shapes[f'{head}paf_ref_layers.{s}.bias'] = (L2,)
    for name, first, out in (('heatmap_head', refined, K), ('locref_head', 2 * K, 2 * K),
                             ('paf_head', refined, L2)):
        channels = [first, *mid, out]
        for j, (c_in, c_out) in enumerate(zip(channels[:-1], channels[1:])):
            shapes[f'{head}{name}.deconv_layers.{2 * j}.weight'] = (c_in, c_out, 3, 3)
            shapes[f'{head}{name}.deconv_layers.{2 * j}.bias'] = (c_out,)
    return shapes


def resnet50_bn_keys():
    keys = {'conv1.weight'} | {f'bn1.{p}' for p in BN}
    for stage, blocks in enumerate((3, 4, 6, 3), 1):
        for j in range(blocks):
            block = f'layer{stage}.{j}'
            for c in (1, 2, 3):
                keys |= {f'{block}.conv{c}.weight'} | {f'{block}.bn{c}.{p}' for p in BN}
            if j == 0:
                keys |= {f'{block}.downsample.0.weight'} | \
                    {f'{block}.downsample.1.{p}' for p in BN}
    return {f'backbone.model.{k}' for k in keys}


@pytest.mark.parametrize('net_type,mid', [('dlcrnet_stride16_ms5', ()),
                                          ('dlcrnet_stride32_ms5', (1152,))])
def test_keys_and_shapes_are_deeplabcuts(net_type, mid):
    with torch.device('meta'):
        model = MODELS.build(dict(type='BottomUp', backbone=DLC_NET_TYPES[net_type].build_cfg(),
                                  heads=dict(bodypart=dlcrnet_head(mid))))
    state = model.state_dict()
    dlc = to_dlc_state_dict(state, model)
    shapes = expected_shapes(mid)
    assert set(dlc) == set(shapes) | resnet50_bn_keys()
    assert {k: tuple(dlc[k].shape) for k in shapes} == shapes
    assert list(from_dlc_state_dict(dlc, model)) == list(state)
    assert model.backbone.out_channels == (2304,)


@pytest.mark.parametrize('output_stride,mid', [(16, ()), (32, (1152,))])
def test_outputs_at_deeplabcuts_stride_and_yaml_mapping(output_stride, mid):
    torch.manual_seed(0)
    cfg = dlc_backbone_cfg(dict(type='DLCRNet', model_name='resnet50', pretrained=False,
                                output_stride=output_stride, freeze_bn_stats=True,
                                freeze_bn_weights=False))
    assert cfg == dict(type='DLCRNet', model_name='resnet50', output_stride=output_stride,
                       drop_path_rate=0.0, drop_block_rate=0.0, norm_eval=True,
                       freeze_norm_weights=False)
    model = MODELS.build(dict(type='BottomUp', backbone=cfg,
                              heads=dict(bodypart=dlcrnet_head(mid))))
    model.eval()
    img = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        feats = model.extract_feat(img)
        outputs = model(img, mode='tensor')
        preds = model(img, mode='predict', img_metas=[dict(image_file='x', image_id=0)])
    f = 64 // output_stride, 96 // output_stride
    assert feats[-1].shape == (1, 2304, *f)
    # convt doubles exactly, each deconvolution gives 2n + 1: stride 16 → 2·(2f) + 1
    size = [2 * n for n in f]
    for _ in range(len(mid) + 1):
        size = [2 * n + 1 for n in size]
    assert outputs['heatmap'].shape == (1, K, *size)
    assert outputs['locref'].shape == (1, 2 * K, *size)
    assert outputs['paf'].shape == (1, L2, *size)
    # model stride: backbone stride / (stacks' stride × 2) = 4 for both net types
    head = model.heads['bodypart']
    assert head.model_stride((96, 64), (f[1], f[0])) == 4
    assert len(preds) == 1 and preds[0]['keypoints'].shape[1:] == (K, 2)


def test_a_bare_resnet_checkpoint_loads_under_model(tmp_path):
    """DeepLabCut's pretrained DLCRNet starts from timm's resnet50 weights (keys without
    ``model.``); the conv blocks keep their initialisation."""
    from posecfg.models.backbones import ResNet
    torch.manual_seed(0)
    resnet = ResNet(depth=50, base_channels=8, stem_channels=8)
    path = tmp_path / 'resnet.pth'
    torch.save({k: v for k, v in resnet.state_dict().items()}, path)
    model = MODELS.build(dict(type='DLCRNet', base_channels=8, stem_channels=8,
                              init_cfg=dict(type='Pretrained', checkpoint=str(path))))
    model.init_weights()
    for key, value in resnet.state_dict().items():
        assert torch.equal(model.state_dict()[f'model.{key}'], value), key


def test_runs_under_bfloat16_autocast_and_as_a_copy():
    """posecfg's ``runtime.autocast`` (bf16 on CPUs with native bf16) and the model copies that
    evaluation runs (BatchNorm folding, compiling: ``copy.deepcopy``) both work: the banks are
    resized in float32 (no bf16 CPU kernel for antialiased bilinear) and taken without hooks
    bound to the original module."""
    import copy
    torch.manual_seed(0)
    model = MODELS.build(dict(type='DLCRNet', **MODELS.get('DLCRNet').example_args)).eval()
    img = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        reference = model(img)[0]
        with torch.autocast('cpu', dtype=torch.bfloat16):
            half = model(img)[0]
        copied = copy.deepcopy(model)(img)[0]
    assert half.dtype == torch.bfloat16 and half.shape == reference.shape
    assert torch.allclose(half.float(), reference, atol=0.1 * reference.abs().max())
    assert torch.equal(copied, reference)


def test_predicts_under_bfloat16_autocast():
    """The evaluation loop runs ``mode='predict'`` under autocast; decoding (the PAF
    predictor's smoothing, peaks and assembly) runs in float32 all the same."""
    torch.manual_seed(0)
    backbone = dict(type='DLCRNet', model_name='resnet50', output_stride=16)
    model = MODELS.build(dict(type='BottomUp', backbone=backbone,
                              heads=dict(bodypart=dlcrnet_head())))
    model.eval()
    img = torch.randn(1, 3, 64, 64)
    meta = [dict(image_file='x', image_id=0)]
    with torch.no_grad():
        plain = model(img, mode='predict', img_metas=meta)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            half = model(img, mode='predict', img_metas=meta)
    assert len(half) == len(plain) == 1 and set(half[0]) == set(plain[0])


def test_the_resnets_own_stem_runs_a_deep_stem_too():
    """DLCRNet runs its ResNet's stem through ResNet.forward_stem, so a deep-stem ResNet (three
    3x3 convolutions, no conv1/bn1) works in it unchanged."""
    from posecfg.models.backbones.resnet import ResNet
    backbone = MODELS.build(dict(type='DLCRNet', base_channels=8, stem_channels=8))
    backbone.model = ResNet(depth=50, base_channels=8, stem_channels=8, out_indices=(3,),
                            deep_stem=True)
    backbone.eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        out, = backbone(x)
        assert out.shape == (1, backbone.out_channels[0], 2, 2)
        stem = backbone.model.forward_stem(x)
        assert stem.shape == (1, 8, 16, 16)
        torch.testing.assert_close(backbone.model(x)[0],
                                   backbone.model.run_stages(stem, backbone.model.res_layers)[0])
