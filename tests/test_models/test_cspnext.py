"""CSPNeXt: DeepLabCut 3's architecture and key layout, published sizes, mmdet checkpoints."""
import pytest
import torch
import torch.nn.functional as F

from posecfg.models.backbones import CSPNeXt
from posecfg.models.utils import load_pretrained
from tests.test_models.layouts import log  # noqa: F401  (fixture)
from tests.test_models.layouts import (assert_bijective_load, dlc_cspnext_shapes, index_of,
                                       n_params, numbered)

pytestmark = pytest.mark.usefixtures('one_thread')  # tests/conftest.py


@pytest.mark.parametrize('deepen, widen, published_m', [
    (0.167, 0.375, 2.73), (0.33, 0.5, 4.89), (0.67, 0.75, 13.05), (1.0, 1.0, 27.16),
    (1.33, 1.25, 48.85)])
def test_sizes_are_the_published_imagenet_cspnexts_minus_the_classifier(deepen, widen,
                                                                         published_m):
    """RTMDet's CSPNeXt ImageNet checkpoints (tiny, s, m, l, x): 2.73, 4.89, 13.05, 27.16,
    48.85 M parameters with their C x 1000 linear classifier; DeepLabCut's cspnext_s/m/x are
    the (0.33, 0.5), (0.67, 0.75), (1.33, 1.25) ones."""
    with torch.device('meta'):
        model = CSPNeXt(deepen_factor=deepen, widen_factor=widen)
    (channels,) = model.out_channels
    assert channels == int(1024 * widen)
    assert round((n_params(model) + channels * 1000 + 1000) / 1e6, 2) == published_m


@pytest.mark.parametrize('deepen, widen', [(0.33, 0.5), (0.67, 0.75), (1.33, 1.25)])
def test_state_dict_is_deeplabcut_layout(deepen, widen):
    with torch.device('meta'):
        ours = {k: tuple(v.shape) for k, v in
                CSPNeXt(deepen_factor=deepen, widen_factor=widen).state_dict().items()}
    assert ours == dlc_cspnext_shapes(deepen, widen)


def test_deeplabcut_snapshot_and_weights_load(tmp_path, log):
    shapes = dlc_cspnext_shapes(0.33, 0.5)
    ckpt = numbered(shapes)
    # DeepLabCut/DeepLabCut-Backbones' cspnext_s.pt: {'state_dict': ...}
    path = tmp_path / 'cspnext_s.pt'
    torch.save({'state_dict': ckpt}, path)
    model = CSPNeXt(deepen_factor=0.33, widen_factor=0.5)
    report = load_pretrained(model, str(path), strict=True, logger=log)
    ours = assert_bijective_load(model, report, [])
    assert ours[index_of(shapes, 'stage4.1.conv2.norm.running_var')] == \
        'stage4.1.conv2.norm.running_var'
    # a DeepLabCut 3 snapshot: {'model': {'backbone.<key>': ..., 'heads...': ...}, ...}
    snapshot = {'model': {**{f'backbone.{k}': v for k, v in ckpt.items()},
                          'heads.bodypart.heatmap_head.deconv_layers.0.weight': torch.zeros(1)},
                'metadata': {'epoch': 3}}
    torch.save(snapshot, tmp_path / 'snapshot-003.pt')
    report = load_pretrained(CSPNeXt(deepen_factor=0.33, widen_factor=0.5),
                             str(tmp_path / 'snapshot-003.pt'), strict=True, logger=log)
    assert report.prefix == 'backbone.' and not report.missing


def test_mmdet_checkpoint_names_its_norms_bn(tmp_path, log):
    """mmdet / MMPose RTMPose checkpoints (mmcv ConvModule) call the norm ``bn``."""
    shapes = {k.replace('.norm.', '.bn.'): v for k, v in dlc_cspnext_shapes(0.167, 0.375).items()}
    path = tmp_path / 'cspnext-tiny_imagenet.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in numbered(shapes).items()},
                'meta': {}}, path)
    model = CSPNeXt(deepen_factor=0.167, widen_factor=0.375)
    report = load_pretrained(model, str(path), logger=log)
    assert report.layout == 'mmdet'
    ours = assert_bijective_load(model, report, [])
    assert ours[index_of(shapes, 'stage2.1.blocks.0.conv2.depthwise_conv.bn.weight')] == \
        'stage2.1.blocks.0.conv2.depthwise_conv.norm.weight'


def test_outputs_strides_and_channels():
    model = CSPNeXt(deepen_factor=0.167, widen_factor=0.375, out_indices=(0, 1, 2, 3, 4)).eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 64, 96))
    assert model.out_strides == (2, 4, 8, 16, 32)
    assert model.out_channels == (24, 48, 96, 192, 384)
    assert [tuple(o.shape[1:]) for o in out] == [(24, 32, 48), (48, 16, 24), (96, 8, 12),
                                                 (192, 4, 6), (384, 2, 3)]
    p6 = CSPNeXt(arch='P6', deepen_factor=0.167, widen_factor=0.375, out_indices=(5,))
    assert p6.out_strides == (64,) and p6.out_channels == (384,)


def test_blocks_channel_attention_and_spp_follow_their_formulas():
    torch.manual_seed(0)
    model = CSPNeXt(deepen_factor=0.167, widen_factor=0.375).eval()
    layer = model.stage1[1]
    att = layer.attention
    x = torch.randn(2, att.fc.in_channels, 5, 7)
    expected = x * F.hardsigmoid(att.fc(x.mean(dim=(2, 3), keepdim=True)))
    assert torch.allclose(att(x), expected)
    # stage 4 = stride-2 conv, SPP (max-pools 5, 9, 13 concatenated with their input), CSP layer
    spp = model.stage4[1]
    assert [p.kernel_size for p in spp.poolings] == [5, 9, 13]
    assert spp.conv2.conv.in_channels == 4 * spp.conv1.conv.out_channels
    # blocks per CSP layer: max(round(base * deepen), 1) for base (3, 6, 6, 3)
    assert [len(model.get_submodule(f'stage{i}')[-1].blocks) for i in (1, 2, 3, 4)] == \
        [1, 1, 1, 1]
    m = CSPNeXt(deepen_factor=0.67, widen_factor=0.75)
    assert [len(m.get_submodule(f'stage{i}')[-1].blocks) for i in (1, 2, 3, 4)] == [2, 4, 4, 2]
    # the last stage's blocks have no identity shortcut (add_identity False in P5 stage 4)
    assert not m.stage4[2].blocks[0].add_identity and m.stage3[1].blocks[0].add_identity


def test_deeplabcut_initialisation():
    torch.manual_seed(0)
    model = CSPNeXt(deepen_factor=0.167, widen_factor=0.375)
    model.init_weights()
    conv = model.stage3[0].conv
    fan_in = conv.in_channels * 9
    # Kaiming normal, fan_in, ReLU gain: std sqrt(2 / fan_in)
    assert abs(conv.weight.std().item() / (2 / fan_in) ** 0.5 - 1) < 0.05
    assert torch.all(model.stage3[0].norm.weight == 1) and torch.all(model.stage3[0].norm.bias == 0)


def test_frozen_stages_and_errors():
    model = CSPNeXt(deepen_factor=0.167, widen_factor=0.375, frozen_stages=2).train()
    frozen = {n.split('.')[0] for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen == {'stem', 'stage1', 'stage2'} and not model.stage2.training
    with pytest.raises(ValueError, match=r"CSPNeXt: arch='P7' is not one of 'P5', 'P6'"):
        CSPNeXt(arch='P7')
    with pytest.raises(ValueError, match=r'CSPNeXt: out_indices=\(5,\) must be .* range\(0, 5\)'):
        CSPNeXt(out_indices=(5,))
