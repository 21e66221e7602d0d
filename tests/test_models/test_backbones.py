"""Backbones: every registered one builds, runs and honours the shared contract; then family facts.

The parametrized tests cover every class registered in ``posecfg.registry.MODELS`` whose module
lives in ``posecfg/models/backbones``: a new backbone is tested by being registered (with its
``example_args``).
"""
import pytest
import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

import posecfg.models.backbones  # noqa: F401  (registration)
from posecfg.models.backbones import HRNet, MobileNetV2, ResNet, ResNetV1d, ShuffleNetV2
from posecfg.models.backbones.hrnet import hrnet_extra
from posecfg.registry import MODELS
from tests.test_models.layouts import timm_resnet_shapes

BACKBONES = sorted(name for name, cls in MODELS.module_dict.items()
                   if cls.__module__.startswith('posecfg.models.backbones.'))
SIZE = 64  # divisible by every backbone's largest stride (32)


pytestmark = pytest.mark.usefixtures('one_thread')  # tests/conftest.py


def build(name, **overrides):
    cls = MODELS.get(name)
    return MODELS.build(dict(type=name, **{**cls.example_args, **overrides}))


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_discovery_finds_the_backbones():
    assert {'ResNet', 'ResNetV1d', 'HRNet', 'MobileNetV2', 'ShuffleNetV2', 'CSPNeXt',
            'EfficientNet', 'VisionTransformer'} <= set(BACKBONES)


# ------------------------------------------------------------------ the shared contract
@pytest.mark.parametrize('name', BACKBONES)
def test_forward_gives_documented_channels_and_strides(name):
    torch.manual_seed(0)
    model = build(name)
    model.init_weights()
    model.train()
    out = model(torch.rand(2, 3, SIZE, SIZE))
    assert isinstance(out, tuple) and out, f'{name}.forward must return a non-empty tuple'
    assert len(out) == len(model.out_channels) == len(model.out_strides)
    for feat, channels, stride in zip(out, model.out_channels, model.out_strides):
        assert feat.shape == (2, channels, SIZE // stride, SIZE // stride)
    sum(feat.float().mean() for feat in out).backward()
    no_grad = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not no_grad, f'{name}: parameters unused by forward: {no_grad[:5]}'


# backbones whose norms are all LayerNorm: norm_eval is accepted and changes nothing
WITHOUT_BATCHNORM = {'VisionTransformer'}


@pytest.mark.parametrize('name', BACKBONES)
def test_norm_eval_keeps_batchnorm_statistics(name):
    model = build(name, norm_eval=True)
    model.train()
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    if name in WITHOUT_BATCHNORM:
        assert not bns and all(m.training for m in model.modules())
        return
    assert bns and not any(bn.training for bn in bns)
    assert model.training  # only the norms are in eval mode
    before = [bn.running_mean.clone() for bn in bns]
    model(torch.rand(2, 3, SIZE, SIZE))
    assert all(torch.equal(b, bn.running_mean) for b, bn in zip(before, bns))

    model = build(name, norm_eval=False).train()
    assert all(m.training for m in model.modules() if isinstance(m, _BatchNorm))


def _batchnorm_params(model):
    return {f'{name}.{leaf}' for name, m in model.named_modules() if isinstance(m, _BatchNorm)
            for leaf in ('weight', 'bias')}


@pytest.mark.parametrize('name', BACKBONES)
def test_freeze_norm_weights_keeps_batchnorm_affine_through_an_optimizer_step(name):
    """``freeze_norm_weights``: BatchNorm weight and bias have ``requires_grad=False`` from
    construction on (a DDP wrapper built before ``train()`` sees it), survive ``train()``, and an
    AdamW step with weight decay (posecfg's fused optimizer) leaves them while the rest learns;
    running statistics still update (that is ``norm_eval``'s job)."""
    from mmengine.optim import build_optim_wrapper
    torch.manual_seed(0)
    model = build(name, freeze_norm_weights=True)
    bn_params = _batchnorm_params(model)
    assert _frozen(model) == bn_params  # nothing else
    model.init_weights()
    model.train()
    assert _frozen(model) == bn_params
    optim = build_optim_wrapper(model, dict(type='OptimWrapper', optimizer=dict(
        type='AdamW', lr=0.1, weight_decay=0.1, fused=True)))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    stats = [m.running_mean.clone() for m in model.modules() if isinstance(m, _BatchNorm)]
    optim.update_params(sum(f.float().square().mean() for f in model(torch.rand(2, 3, SIZE,
                                                                                SIZE))))
    changed = {n for n, p in model.named_parameters() if not torch.equal(before[n], p)}
    assert not changed & bn_params
    assert changed == set(before) - bn_params
    after = [m.running_mean for m in model.modules() if isinstance(m, _BatchNorm)]
    assert all(not torch.equal(b, a) for b, a in zip(stats, after))
    assert bool(bn_params) == (name not in WITHOUT_BATCHNORM)
    assert not _frozen(build(name).train())  # off by default


def _frozen(model):
    return {n for n, p in model.named_parameters() if not p.requires_grad}


@pytest.mark.parametrize('name', BACKBONES)
def test_frozen_stages_grow_and_stay_in_eval_mode(name):
    assert not _frozen(build(name, frozen_stages=-1).train())
    stem = build(name, frozen_stages=0).train()
    first = build(name, frozen_stages=1).train()
    assert _frozen(stem) and _frozen(stem) < _frozen(first) < {n for n, _ in
                                                                first.named_parameters()}
    for model in (stem, first):
        for module in model.modules():
            params = list(module.parameters(recurse=False))
            if isinstance(module, _BatchNorm) and params and not params[0].requires_grad:
                assert not module.training, f'{name}: a frozen BN is in training mode'


@pytest.mark.parametrize('name', BACKBONES)
def test_bad_frozen_stages_is_explained(name):
    with pytest.raises(ValueError, match=rf'{name}: frozen_stages=99 must be an integer from -1'):
        build(name, frozen_stages=99)


@pytest.mark.parametrize('name', BACKBONES)
def test_with_cp_gives_the_same_outputs_and_gradients(name):
    torch.manual_seed(0)
    plain, ckpt = build(name).train(), build(name, with_cp=True).train()
    ckpt.load_state_dict(plain.state_dict())
    x = torch.rand(2, 3, SIZE, SIZE, requires_grad=True)
    out_plain, out_ckpt = plain(x)[-1], ckpt(x)[-1]
    assert torch.allclose(out_plain, out_ckpt, atol=1e-5)
    out_plain.square().mean().backward()
    out_ckpt.square().mean().backward()
    first = next(n for n, p in plain.named_parameters() if p.grad is not None)
    grads = dict(ckpt.named_parameters())[first].grad
    assert grads is not None and torch.allclose(dict(plain.named_parameters())[first].grad,
                                                grads, atol=1e-5)


# ------------------------------------------------------------------ ResNet
@pytest.mark.parametrize('depth', [18, 50])
def test_resnet_state_dict_is_torchvision_layout(depth):
    ours = {k: tuple(v.shape) for k, v in ResNet(depth).state_dict().items()}
    assert ours == timm_resnet_shapes(depth)  # torchvision's names = timm's


@pytest.mark.parametrize('depth, published', [(18, 11_689_512), (50, 25_557_032),
                                              (101, 44_549_160)])
def test_resnet_param_count_is_torchvision_minus_fc(depth, published):
    fc = (512 if depth < 50 else 2048) * 1000 + 1000
    assert n_params(ResNet(depth)) == published - fc


def test_resnet_out_indices_shapes():
    model = ResNet(18, out_indices=(0, 1, 2, 3)).eval()
    out = model(torch.rand(1, 3, SIZE, SIZE))
    assert [tuple(o.shape) for o in out] == [(1, 64, 16, 16), (1, 128, 8, 8), (1, 256, 4, 4),
                                             (1, 512, 2, 2)]
    assert model.out_strides == (4, 8, 16, 32)


def test_resnet_dilation_keeps_resolution():
    model = ResNet(18, strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2), out_indices=(3,)).eval()
    assert model(torch.rand(1, 3, SIZE, SIZE))[0].shape == (1, 512, 4, 4)
    assert model.out_strides == (16,)


def test_resnet_frozen_stages_freeze_stem_and_first_stages():
    model = ResNet(18, frozen_stages=2).train()
    frozen = {n.split('.')[0] for n in _frozen(model)}
    assert frozen == {'conv1', 'bn1', 'layer1', 'layer2'}
    assert not model.layer1.training and model.layer3.training


def test_resnet_zero_init_residual():
    model = ResNet(50, num_stages=1, strides=(1,), dilations=(1,), out_indices=(0,))
    model.init_weights()
    assert torch.count_nonzero(model.layer1[0].bn3.weight) == 0
    assert torch.all(model.layer1[0].bn1.weight == 1)
    plain = ResNet(18, zero_init_residual=False)
    plain.init_weights()
    assert torch.all(plain.layer1[0].bn2.weight == 1)


def test_resnet_caffe_style_strides_the_first_conv():
    block = ResNet(50, num_stages=2, strides=(1, 2), dilations=(1, 1), out_indices=(1,),
                   style='caffe').layer2[0]
    assert block.conv1.stride == (2, 2) and block.conv2.stride == (1, 1)


def test_resnetv1d_layout_and_shapes():
    model = ResNetV1d(50)
    sd = model.state_dict()
    assert sd['stem.0.conv.weight'].shape == (32, 3, 3, 3)
    assert sd['stem.2.conv.weight'].shape == (64, 32, 3, 3)
    assert sd['layer2.0.downsample.1.weight'].shape == (512, 256, 1, 1)
    assert isinstance(model.layer2[0].downsample[0], nn.AvgPool2d)
    assert 'conv1.weight' not in sd
    # mmcls resnetv1d50: 25.58M parameters with its 2048x1000 classifier
    assert round((n_params(model) + 2_049_000) / 1e6, 2) == 25.58


@pytest.mark.parametrize('kwargs, message', [
    (dict(depth=42), r'ResNet: depth=42 is not one of 18, 34, 50, 101, 152'),
    (dict(depth=18, out_indices=(4,)),
     r'ResNet: out_indices=\(4,\) must be .* in range\(0, 4\); bad entries: \[4\]'),
    (dict(depth=18, num_stages=3), r'ResNet: strides=\(1, 2, 2, 2\) and dilations=\(1, 1, 1, 1\) '
                                   r'must each have num_stages=3 entries'),
    (dict(depth=50, style='tf'), r"ResNet: style='tf' must be 'pytorch' or 'caffe'"),
])
def test_resnet_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ResNet(**kwargs)


def test_resnet_groupnorm_is_timm_resnet50_gn():
    """timm resnet50_gn (DeepLabCut's ``resnet_50``): GroupNorm(32) everywhere, same affine
    parameters as BatchNorm, so the count is torchvision's resnet50 minus its fc, and no
    running statistics."""
    model = ResNet(50, norm_cfg=dict(type='GN', num_groups=32))
    norms = [m for m in model.modules() if isinstance(m, nn.GroupNorm)]
    assert len(norms) == 1 + 3 * 16 + 4 and all(m.num_groups == 32 for m in norms)
    assert not any(isinstance(m, _BatchNorm) for m in model.modules())
    assert n_params(model) == 25_557_032 - 2_049_000
    assert not any('running' in k for k in model.state_dict())


@pytest.mark.parametrize('output_stride, strides, dilations', [
    (32, (1, 2, 2, 2), (1, 1, 1, 1)), (16, (1, 2, 2, 1), (1, 1, 1, 2)),
    (8, (1, 2, 1, 1), (1, 1, 2, 4))])
def test_resnet_output_stride_follows_timm(output_stride, strides, dilations):
    """timm ``make_blocks``: after the stride reaches output_stride, a stage keeps the
    resolution and doubles the dilation; its first block's 3x3 conv keeps the previous
    stage's dilation (``first_dilation=prev_dilation``)."""
    model = ResNet(50, output_stride=output_stride, out_indices=(0, 1, 2, 3)).eval()
    assert model.strides == strides and model.dilations == dilations
    assert model.out_strides == tuple(4 * int(torch.tensor(strides[:i + 1]).prod())
                                      for i in range(4))
    previous = 1
    for layer, dilation in zip((model.layer1, model.layer2, model.layer3, model.layer4),
                               dilations):
        assert layer[0].conv2.dilation == (previous, previous)
        assert layer[0].conv2.padding == (previous, previous)
        assert all(block.conv2.dilation == (dilation, dilation) for block in list(layer)[1:])
        previous = dilation
    with torch.no_grad():
        out = model(torch.rand(1, 3, SIZE, SIZE))
    assert out[-1].shape == (1, 2048, SIZE // output_stride, SIZE // output_stride)


def test_resnet_output_stride_errors():
    with pytest.raises(ValueError, match=r'ResNet: output_stride=4 must be 8, 16 or 32'):
        ResNet(50, output_stride=4)
    with pytest.raises(ValueError, match=r'output_stride=16 sets the strides and dilations of '
                                         r'four stages itself'):
        ResNet(50, output_stride=16, strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2))


def test_resnet_drop_path_rates_rise_linearly_and_act_in_training_only():
    model = ResNet(50, drop_path_rate=0.3)
    blocks = [b for layer in (model.layer1, model.layer2, model.layer3, model.layer4)
              for b in layer]
    rates = [getattr(b.drop_path, 'drop_prob', 0.0) for b in blocks]
    assert rates == pytest.approx([0.3 * i / 15 for i in range(16)])
    assert isinstance(blocks[0].drop_path, nn.Identity)
    x = torch.rand(4, 3, 32, 32)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x)[0], model(x)[0])
    block = blocks[-1].train()
    torch.manual_seed(0)
    with torch.no_grad():
        residual = block.drop_path(torch.ones(64, 1, 1, 1)).flatten()
    # per sample: dropped (0) or kept and scaled by 1 / (1 - p)
    assert torch.all((residual == 0) | torch.isclose(residual, torch.tensor(1 / 0.7)))
    assert 0 < int((residual == 0).sum()) < 64


def test_resnet_drop_block_in_stages_3_and_4_as_timm():
    model = ResNet(50, drop_block_rate=0.1)
    for layer in (model.layer1, model.layer2):
        assert all(isinstance(b.drop_block, nn.Identity) for b in layer)
    def settings(layer):
        return {(b.drop_block.block_size, b.drop_block.gamma_scale) for b in layer}
    assert settings(model.layer3) == {(5, 0.25)} and settings(model.layer4) == {(3, 1.0)}


def test_drop_block_masks_squares_shared_by_channels_and_keeps_the_mean():
    from posecfg.models.backbones.drop import DropBlock2d
    torch.manual_seed(0)
    drop = DropBlock2d(0.1, block_size=5)
    x = torch.ones(8, 3, 64, 64)
    assert torch.equal(drop.eval()(x), x)
    out = drop.train()(x)
    zero = out == 0
    assert torch.equal(zero[:, 0], zero[:, 1]) and torch.equal(zero[:, 0], zero[:, 2])
    # gamma = 0.1 * 64² / 5² / 60² seeds per position, each a 5x5 square (overlaps merge)
    gamma = 0.1 * 64 * 64 / 25 / 60 ** 2
    assert 0.5 * gamma * 25 < zero.float().mean() < 1.1 * 0.1
    kept = out[~zero]
    assert torch.allclose(kept, kept[0].expand_as(kept))  # one scale for every kept value
    assert abs(out.mean().item() - 1.0) < 1e-3             # scaled by numel / kept
    # the dropped set is a union of 5x5 squares (seeds max-pooled; clipped at the border):
    # a morphological opening with a 5x5 square leaves it unchanged
    mask = zero[:, :1].float()
    eroded = -torch.nn.functional.max_pool2d(-mask, 5, 1, 2)
    opened = torch.nn.functional.max_pool2d(eroded, 5, 1, 2)
    assert torch.equal(opened, mask)


# ------------------------------------------------------------------ HRNet
def test_hrnet_w32_output_at_256x192():
    model = HRNet('w32').eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 256, 192))
    assert len(out) == 1 and out[0].shape == (1, 32, 64, 48)


@pytest.mark.parametrize('width, published_m', [(18, None), (32, 28.5), (48, 63.6)])
def test_hrnet_specs_build_with_expected_channels(width, published_m):
    extra = HRNet.arch_settings[f'w{width}']
    model = HRNet(extra).eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, SIZE, SIZE))
    assert out[0].shape == (1, width, SIZE // 4, SIZE // 4)
    if published_m:  # MMPose's model zoo (backbone + a 17-keypoint 1x1 head)
        assert round((n_params(model) + width * 17 + 17) / 1e6, 1) == published_m


def test_hrnet_key_layout_is_mmpose_and_official():
    sd = {k: tuple(v.shape) for k, v in HRNet('w32').state_dict().items()}
    facts = {
        'conv1.weight': (64, 3, 3, 3), 'bn2.running_var': (64,),
        'layer1.0.downsample.0.weight': (256, 64, 1, 1),
        'layer1.3.conv3.weight': (256, 64, 1, 1),
        'transition1.0.0.weight': (32, 256, 3, 3),
        'transition1.1.0.0.weight': (64, 256, 3, 3),
        'transition2.2.0.0.weight': (128, 64, 3, 3),
        'transition3.3.0.0.weight': (256, 128, 3, 3),
        'stage2.0.branches.1.3.conv2.weight': (64, 64, 3, 3),
        'stage2.0.fuse_layers.0.1.0.weight': (32, 64, 1, 1),
        'stage2.0.fuse_layers.1.0.0.0.weight': (64, 32, 3, 3),
        'stage3.3.fuse_layers.2.0.0.0.weight': (32, 32, 3, 3),
        'stage3.3.fuse_layers.2.0.1.0.weight': (128, 32, 3, 3),
        'stage4.2.fuse_layers.0.3.0.weight': (32, 256, 1, 1),
    }
    assert {k: sd.get(k) for k in facts} == facts
    # without multiscale_output the last module fuses into branch 0 only
    assert not any(k.startswith('stage4.2.fuse_layers.1.') for k in sd)
    assert any(k.startswith('stage4.1.fuse_layers.3.') for k in sd)


def test_hrnet_multiscale_output_and_upsample_options():
    extra = hrnet_extra(18)
    extra['stage4']['multiscale_output'] = True
    extra['upsample'] = dict(mode='bilinear', align_corners=False)
    model = HRNet(extra).eval()
    out = model(torch.rand(1, 3, SIZE, SIZE))
    assert [tuple(o.shape) for o in out] == [(1, 18, 16, 16), (1, 36, 8, 8), (1, 72, 4, 4),
                                             (1, 144, 2, 2)]
    assert model.out_strides == (4, 8, 16, 32) and model.out_channels == (18, 36, 72, 144)
    ups = [m for m in model.modules() if isinstance(m, nn.Upsample)]
    assert ups and all(u.mode == 'bilinear' for u in ups)


def timm_hrnet_head_params(width):
    """Parameters of timm's HRNet classification head beyond ``incre_modules``
    (``timm/models/hrnet.py`` ``_make_head``): three stride-2 3x3 convs with bias + BN between
    the widened branches (128→256→512→1024), the 1x1 conv 1024→2048 with bias + BN, and the
    2048x1000 classifier."""
    widened = [128, 256, 512, 1024]
    total = sum(cin * cout * 9 + cout + 2 * cout for cin, cout in zip(widened, widened[1:]))
    total += 1024 * 2048 + 2048 + 2 * 2048
    return total + 2048 * 1000 + 1000


@pytest.mark.parametrize('width, timm_count', [(18, 21_299_004), (32, 41_232_680),
                                               (48, 77_469_864)])
def test_hrnet_with_incre_modules_is_timm_hrnet_minus_its_head(width, timm_count):
    """timm 1.0 ``hrnet_w{18,32,48}`` (DeepLabCut's hrnet_w*): 21.30 M, 41.23 M and 77.47 M
    parameters (timm's model cards: 21.3, 41.2, 77.5)."""
    with torch.device('meta'):
        model = HRNet(hrnet_extra(width, multiscale_output=True), increased_channel_count=True)
    assert n_params(model) + timm_hrnet_head_params(width) == timm_count


def test_hrnet_incre_modules_key_layout_is_timm():
    """timm ``_make_head``: branch b → ``_make_layer(Bottleneck, C_b, planes_b, 1)`` with
    planes (32, 64, 128, 256), a 1x1 projection shortcut."""
    with torch.device('meta'):
        model = HRNet(hrnet_extra(32, multiscale_output=True), increased_channel_count=True)
    sd = {k: tuple(v.shape) for k, v in model.state_dict().items()
          if k.startswith('incre_modules.') and not k.endswith('num_batches_tracked')}
    expected = {}
    for b, (cin, planes) in enumerate(zip((32, 64, 128, 256), (32, 64, 128, 256))):
        p = f'incre_modules.{b}.0'
        for name, shape in [('conv1', (planes, cin, 1, 1)), ('conv2', (planes, planes, 3, 3)),
                            ('conv3', (4 * planes, planes, 1, 1)),
                            ('downsample.0', (4 * planes, cin, 1, 1))]:
            expected[f'{p}.{name}.weight'] = shape
        for name, c in [('bn1', planes), ('bn2', planes), ('bn3', 4 * planes),
                        ('downsample.1', 4 * planes)]:
            for leaf in ('weight', 'bias', 'running_mean', 'running_var'):
                expected[f'{p}.{name}.{leaf}'] = (c,)
    assert sd == expected


def tiny_hrnet_extra():
    """Four branches of widths (4, 8, 16, 32), one block each, two modules in stage 4."""
    basic = dict(block='BASIC')
    return dict(
        stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(1,),
                    num_channels=(8,)),
        stage2=dict(num_modules=1, num_branches=2, num_blocks=(1, 1), num_channels=(4, 8),
                    **basic),
        stage3=dict(num_modules=1, num_branches=3, num_blocks=(1,) * 3, num_channels=(4, 8, 16),
                    **basic),
        stage4=dict(num_modules=2, num_branches=4, num_blocks=(1,) * 4,
                    num_channels=(4, 8, 16, 32), multiscale_output=True, **basic))


def test_hrnet_deeplabcut_outputs():
    torch.manual_seed(0)
    extra = tiny_hrnet_extra()
    full = HRNet(extra).eval()
    x = torch.rand(1, 3, SIZE, SIZE)
    with torch.no_grad():
        branches = full(x)
        first = HRNet(extra, out_indices=(0,)).eval()
        first.load_state_dict(full.state_dict())
        assert first.out_channels == (4,) and first.out_strides == (4,)
        assert torch.equal(first(x)[0], branches[0])  # the skipped fuse rows change nothing
        interp = HRNet(extra, interpolate_branches=True).eval()
        interp.load_state_dict(full.state_dict())
        (cat,) = interp(x)
    assert interp.out_channels == (4 + 8 + 16 + 32,) and interp.out_strides == (4,)
    assert cat.shape == (1, 60, SIZE // 4, SIZE // 4)
    assert torch.equal(cat[:, :4], branches[0])
    up = torch.nn.functional.interpolate(branches[3], size=(16, 16), mode='bilinear',
                                         align_corners=False)
    assert torch.allclose(cat[:, 28:], up)
    wide = HRNet(extra, increased_channel_count=True, out_indices=(0, 2))
    assert wide.out_channels == (128, 512) and wide.out_strides == (4, 16)
    assert wide(x)[1].shape == (1, 512, SIZE // 16, SIZE // 16)


def test_hrnet_deeplabcut_option_errors():
    with pytest.raises(ValueError, match=r'interpolate_branches concatenates every branch: it '
                                         r'needs extra.stage4.multiscale_output=True'):
        HRNet('w18', interpolate_branches=True)
    with pytest.raises(ValueError, match=r'HRNet: out_indices=\(1,\) must be .* range\(0, 1\)'):
        HRNet('w18', out_indices=(1,))


def test_hrnet_frozen_stages_include_transitions():
    model = HRNet('w18', frozen_stages=2).train()
    frozen = {n.split('.')[0] for n in _frozen(model)}
    assert frozen == {'conv1', 'bn1', 'conv2', 'bn2', 'layer1', 'transition1', 'stage2',
                      'transition2'}
    assert model.stage3.training and not model.stage2.training


def test_hrnet_init_is_normal_with_small_std():
    model = HRNet('w18')
    model.init_weights()
    assert model.stage3[0].branches[0][0].conv1.weight.std() < 0.01
    assert torch.all(model.bn1.weight == 1)


def _bad_extra(path, value):
    extra = hrnet_extra(18)
    *parents, leaf = path
    target = extra
    for key in parents:
        target = target[key]
    if value is KeyError:
        del target[leaf]
    else:
        target[leaf] = value
    return extra


@pytest.mark.parametrize('path, value, message', [
    (('stage3',), KeyError, r'HRNet: extra.stage3 is missing; each of stage1..stage4 needs'),
    (('stage2', 'block'), 'BASICC', r"HRNet: extra.stage2.block='BASICC' is not one of "
                                    r"'BASIC', 'BOTTLENECK'"),
    (('stage3', 'num_channels'), (32, 64), r'HRNet: extra.stage3.num_channels=\(32, 64\) must '
                                           r'have num_branches=3 entries'),
    (('stage2', 'num_module'), 1, r"HRNet: extra.stage2 is missing \[\] / has unknown keys "
                                  r"\['num_module'\]"),
    (('stage2', 'multiscale_output'), True, r"extra.stage2 .* unknown keys "
                                            r"\['multiscale_output'\]"),
    (('stage5',), {}, r"HRNet: extra has unknown keys \['stage5'\]"),
])
def test_hrnet_extra_errors_name_the_key(path, value, message):
    with pytest.raises(ValueError, match=message):
        HRNet(_bad_extra(path, value))


def test_hrnet_unknown_width_name():
    with pytest.raises(ValueError, match=r"HRNet: extra='w40' is not a known width; use one of "
                                         r"'w18', 'w32', 'w48'"):
        HRNet('w40')


# ------------------------------------------------------------------ mobile backbones
def test_mobilenet_v2_outputs_and_param_count():
    model = MobileNetV2(out_indices=tuple(range(8))).eval()
    out = model(torch.rand(1, 3, SIZE, SIZE))
    assert [o.shape[1] for o in out] == [16, 24, 32, 64, 96, 160, 320, 1280]
    assert [SIZE // o.shape[-1] for o in out] == [2, 4, 8, 16, 16, 32, 32, 32]
    # torchvision mobilenet_v2: 3,504,872 parameters including the 1280x1000 classifier
    assert n_params(MobileNetV2()) == 3_504_872 - 1_281_000
    acts = {type(m) for m in model.modules() if isinstance(m, (nn.ReLU, nn.ReLU6))}
    assert acts == {nn.ReLU6}


def test_mobilenet_v2_widen_factor():
    model = MobileNetV2(widen_factor=0.5, out_indices=(0, 6, 7))
    assert model.out_channels == (8, 160, 1280)
    assert MobileNetV2(widen_factor=1.5).out_channels == (1920,)


def test_mobilenet_v2_frozen_stages():
    model = MobileNetV2(frozen_stages=3).train()
    assert {n.split('.')[0] for n in _frozen(model)} == {'conv1', 'layer1', 'layer2', 'layer3'}


def test_mobilenet_v2_errors():
    with pytest.raises(ValueError, match=r'MobileNetV2: out_indices=\(8,\) must be .* '
                                         r'range\(0, 8\)'):
        MobileNetV2(out_indices=(8,))


def test_shufflenet_v2_outputs_and_param_counts():
    model = ShuffleNetV2(out_indices=(0, 1, 2, 3)).eval()
    out = model(torch.rand(1, 3, SIZE, SIZE))
    assert [tuple(o.shape[1:]) for o in out] == [(116, 8, 8), (232, 4, 4), (464, 2, 2),
                                                 (1024, 2, 2)]
    # torchvision shufflenet_v2_x1_0 / x0_5: 2,278,604 / 1,366,792 with the 1024x1000 fc
    assert n_params(model) == 2_278_604 - 1_025_000
    assert n_params(ShuffleNetV2(widen_factor=0.5)) == 1_366_792 - 1_025_000


def test_shufflenet_v2_errors():
    with pytest.raises(ValueError, match=r'ShuffleNetV2: widen_factor=0.75 must be one of '
                                         r'0.5, 1.0, 1.5, 2.0'):
        ShuffleNetV2(widen_factor=0.75)
