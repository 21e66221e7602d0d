"""Every backbone and head registered in ``posecfg.registry.MODELS`` builds from a config dict and
gives outputs of the documented shapes.

Parametrized over the registry, so a new class under ``posecfg/models/backbones`` or
``posecfg/models/heads`` is tested by being registered: a backbone with its ``example_args``, a
head with its ``example_args`` on its ``example_feature_shapes`` (class attributes), plus the
further shape cases of ``HEAD_EXAMPLES``. (tests/test_registry.py exercises every registered
part of every registry the same way.)
"""
import pytest
import torch

import posecfg.models  # noqa: F401  (registration)
from posecfg.registry import MODELS, UnexpectedArgumentError, UnknownTypeError


def registered(package):
    return sorted(name for name, cls in MODELS.module_dict.items()
                  if cls.__module__.startswith(f'posecfg.models.{package}.'))


BACKBONES = registered('backbones')
HEADS = registered('heads')

N = 2
#: (H, W) of the backbone input: not square, and divisible by every backbone's largest stride (32)
SIZE = (64, 96)

#: head name → [(constructor arguments, input feature shapes, output shape)], small channels:
#: shape cases beyond each head's own example (``example_args`` on ``example_feature_shapes``,
#: see ``EXAMPLE_OUTPUTS``)
HEAD_EXAMPLES = {
    'TopdownHeatmapSimpleHead': [
        # SimpleBaseline: three stride-2 deconvolutions, ×8
        (dict(in_channels=8, out_channels=3, num_deconv_filters=(4, 4, 4)),
         [(N, 8, 4, 3)], (N, 3, 32, 24)),
        # several backbone outputs resized to the first and concatenated
        (dict(in_channels=[4, 6], out_channels=2, in_index=[0, 1],
              input_transform='resize_concat', num_deconv_layers=1, num_deconv_filters=(4,),
              num_deconv_kernels=(4,)),
         [(N, 4, 8, 6), (N, 6, 4, 3)], (N, 2, 16, 12)),
    ],
    'HeatmapHead': [
        # a 1×1 conv on the chosen map
        (dict(in_channels=4, out_channels=2, in_index=0, codec=dict(type='ArgmaxHeatmap')),
         [(N, 4, 8, 6), (N, 6, 4, 3)], (N, 2, 8, 6)),
    ],
}


#: head name → output shape of its example (``example_args`` on ``example_feature_shapes``)
EXAMPLE_OUTPUTS = {
    # HRNet: the 1/4-resolution branch is already heatmap-sized, a 1×1 conv only
    'TopdownHeatmapSimpleHead': (2, 3, 16, 12),
    # the last backbone output (1/8), one ×2 deconvolution
    'HeatmapHead': (2, 3, 16, 12),
    # DeepLabCut's default: one 3×3 stride-2 deconvolution without padding, 2H + 1
    'DLCHeatmapHead': dict(heatmap=(N, 2, 9, 7), locref=(N, 4, 9, 7)),
    # Lightning Pose: pixel shuffle ×2, then log2(32) - 2 - 1 = 2 transposed convolutions ×2
    'LPHeatmapHead': (N, 3, 16, 24),
    'LPRegressionHead': (N, 3, 2),
    # DEKR: heatmaps (K + the centre) and 2 offsets per keypoint at the feature's resolution
    'DEKRHead': dict(heatmap=(N, 4, 16, 12), offset=(N, 6, 16, 12)),
    # DLCRNet on the last map (8×6): DeepLabCut's first deconvolution stack and its refinement
    # stages' upsampling give 33×25; PAFs: 2 channels per graph edge
    'DLCRNetHead': dict(heatmap=(N, 3, 33, 25), locref=(N, 6, 33, 25), paf=(N, 6, 33, 25)),
    # Lightning Pose's context model: static (sf) and context (mf) heads, LPHeatmapHead's size
    'LPHeatmapMHCRNNHead': dict(sf=(N, 3, 16, 24), mf=(N, 3, 16, 24)),
}


def shapes(out):
    """A head's output shape, or name → shape for heads with several outputs."""
    return {k: tuple(v.shape) for k, v in out.items()} if isinstance(out, dict) else out.shape


def mean(out):
    return sum(v.float().mean() for v in out.values()) if isinstance(out, dict) \
        else out.float().mean()


def head_cases(name):
    """The head's own example first, then its HEAD_EXAMPLES."""
    cls = MODELS.get(name)
    own = [(cls.example_args, list(cls.example_feature_shapes), EXAMPLE_OUTPUTS.get(name))]
    return own + HEAD_EXAMPLES.get(name, [])


pytestmark = pytest.mark.usefixtures('one_thread')  # tests/conftest.py


def test_discovery_finds_backbones_and_heads():
    assert {'ResNet', 'ResNetV1d', 'HRNet', 'MobileNetV2', 'ShuffleNetV2'} <= set(BACKBONES)
    assert 'TopdownHeatmapSimpleHead' in HEADS


def test_every_head_has_an_example():
    missing = sorted(name for name in HEADS if not MODELS.get(name).__dict__.get('example_args'))
    assert not missing, f'give {missing} example_args (and EXAMPLE_OUTPUTS their output shape)'


@pytest.mark.parametrize('name', BACKBONES + HEADS)
def test_registered_under_its_class_name(name):
    cls = MODELS.get(name)
    assert cls.__name__ == name
    # a misspelt type is an error whose suggestions name the real class
    with pytest.raises(UnknownTypeError, match=rf'closest registered names: .*\b{name}\b'):
        MODELS.build(dict(type=name + 'x'))


@pytest.mark.parametrize('name', BACKBONES)
def test_backbone_builds_from_its_example_args(name):
    cls = MODELS.get(name)
    assert cls.example_args, f'{name} needs example_args (constructor arguments of a small variant)'
    torch.manual_seed(0)
    model = MODELS.build(dict(type=name, **cls.example_args))
    assert type(model) is cls
    model.init_weights()
    model.eval()
    with torch.no_grad():
        out = model(torch.rand(N, 3, *SIZE))
    assert isinstance(out, tuple) and len(out) == len(model.out_channels) == \
        len(model.out_strides) > 0
    for feat, channels, stride in zip(out, model.out_channels, model.out_strides):
        assert feat.shape == (N, channels, SIZE[0] // stride, SIZE[1] // stride)
        assert torch.isfinite(feat).all()
    with pytest.raises(UnexpectedArgumentError, match='not_an_argument'):
        MODELS.build(dict(type=name, not_an_argument=1, **cls.example_args))


@pytest.mark.parametrize('name,index', [(name, i) for name in HEADS
                                        for i in range(1 + len(HEAD_EXAMPLES.get(name, [])))])
def test_head_output_shape(name, index):
    kwargs, in_shapes, out_shape = head_cases(name)[index]
    assert out_shape is not None, f'add the output shape of {name} example to EXAMPLE_OUTPUTS'
    torch.manual_seed(0)
    head = MODELS.build(dict(type=name, **kwargs))
    assert type(head) is MODELS.get(name)
    feats = tuple(torch.rand(*shape) for shape in in_shapes)
    head.train()
    out = head(feats)
    assert shapes(out) == out_shape
    mean(out).backward()
    unused = [n for n, p in head.named_parameters() if p.requires_grad and p.grad is None]
    assert not unused, f'{name}: parameters unused by forward: {unused[:5]}'
    head.eval()
    with torch.no_grad():
        assert shapes(head(feats)) == out_shape


@pytest.mark.parametrize('name', BACKBONES)
def test_backbone_feeds_a_heatmap_head(name):
    """The registered pieces fit together as configs join them: backbone output ``in_index`` →
    ``TopdownHeatmapSimpleHead(in_channels=out_channels[in_index])``."""
    cls = MODELS.get(name)
    backbone = MODELS.build(dict(type=name, **cls.example_args))
    head = MODELS.build(dict(type='TopdownHeatmapSimpleHead', in_channels=backbone.out_channels[0],
                             out_channels=3, num_deconv_layers=0,
                             extra=dict(final_conv_kernel=1)))
    backbone.eval(), head.eval()
    with torch.no_grad():
        heatmaps = head(backbone(torch.rand(1, 3, *SIZE)))
    stride = backbone.out_strides[0]
    assert heatmaps.shape == (1, 3, SIZE[0] // stride, SIZE[1] // stride)
