"""EfficientNet: torchvision's architecture, sizes and key layout; Lightning Pose's trunk."""
import pytest
import torch

from posecfg.models.backbones import EfficientNet
from posecfg.models.backbones.drop import DropPath
from posecfg.models.utils import load_pretrained
from tests.test_models.layouts import log  # noqa: F401  (fixture)
from tests.test_models.layouts import (assert_bijective_load, index_of, n_params, numbered,
                                       torchvision_efficientnet_shapes)

MULTIPLIERS = {'b0': (1.0, 1.0), 'b1': (1.0, 1.1), 'b2': (1.1, 1.2)}

pytestmark = pytest.mark.usefixtures('one_thread')  # tests/conftest.py


@pytest.mark.parametrize('arch, published, head', [('b0', 5_288_548, 1280),
                                                   ('b1', 7_794_184, 1280),
                                                   ('b2', 9_109_994, 1408)])
def test_sizes_are_torchvisions_minus_the_classifier(arch, published, head):
    """torchvision's documented parameter counts of efficientnet_b0/b1/b2 (with the
    ``head x 1000`` classifier); the head conv gives Lightning Pose's feature width."""
    with torch.device('meta'):
        model = EfficientNet(arch)
    assert model.out_channels == (head,) and model.out_strides == (32,)
    assert n_params(model) == published - (head * 1000 + 1000)


@pytest.mark.parametrize('arch', ['b0', 'b2'])
def test_state_dict_is_torchvision_layout(arch):
    with torch.device('meta'):
        ours = {k: tuple(v.shape) for k, v in EfficientNet(arch).state_dict().items()}
    assert ours == torchvision_efficientnet_shapes(*MULTIPLIERS[arch], classifier=False)


def test_torchvision_weights_and_lightning_pose_checkpoint_load(tmp_path, log):
    shapes = torchvision_efficientnet_shapes(1.0, 1.0)
    torch.save(numbered(shapes), tmp_path / 'efficientnet_b0_rwightman-7f5810bc.pth')
    model = EfficientNet('b0')
    report = load_pretrained(model, str(tmp_path / 'efficientnet_b0_rwightman-7f5810bc.pth'),
                             logger=log)
    ours = assert_bijective_load(model, report, ['classifier.1.weight', 'classifier.1.bias'])
    assert ours[index_of(shapes, 'features.2.1.block.2.fc2.bias')] == \
        'features.2.1.block.2.fc2.bias'
    # Lightning Pose: backbone = Sequential(features) → backbone.0.<i>...
    lp = {'state_dict': {'backbone.' + k.replace('features.', '0.', 1): v
                         for k, v in numbered(shapes).items() if k.startswith('features.')}}
    lp['state_dict']['head.upsampling_layers.0.weight'] = torch.zeros(1)
    torch.save(lp, tmp_path / 'epoch=3-step=40-best.ckpt')
    model = EfficientNet('b0')
    report = load_pretrained(model, str(tmp_path / 'epoch=3-step=40-best.ckpt'), strict=True,
                             logger=log)
    assert report.layout == 'lightning-pose'
    assert_bijective_load(model, report, [])


def test_blocks_follow_torchvision():
    model = EfficientNet('b0', out_indices=tuple(range(9)))
    blocks = [b for stage in list(model.features)[1:8] for b in stage]
    assert len(blocks) == 16
    # stochastic depth: block i of N drops with 0.2 * i / N (torchvision's rule, not i / (N-1))
    rates = [getattr(b.stochastic_depth, 'drop_prob', 0.0) for b in blocks]
    assert rates == pytest.approx([0.2 * i / 16 for i in range(16)])
    assert all(isinstance(b.stochastic_depth, DropPath) for b in blocks[1:])
    # squeeze-excitation squeezes to a quarter of the block's input channels
    se = blocks[3].block[2]
    assert se.fc1.out_channels == 24 // 4 and se.fc1.in_channels == 24 * 6
    assert model.out_strides == (2, 2, 4, 8, 16, 16, 32, 32, 32)
    assert model.out_channels == (32, 16, 24, 40, 80, 112, 192, 320, 1280)
    with torch.no_grad():
        out = model.eval()(torch.rand(1, 3, 32, 64))
    assert [tuple(o.shape[-2:]) for o in out] == [(16, 32), (16, 32), (8, 16), (4, 8), (2, 4),
                                                  (2, 4), (1, 2), (1, 2), (1, 2)]


def test_stochastic_depth_only_in_training():
    torch.manual_seed(0)
    model = EfficientNet('b0', drop_path_rate=0.5, out_indices=(3,))
    x = torch.rand(4, 3, 32, 32)
    with torch.no_grad():
        model.eval()
        assert torch.equal(model(x)[0], model(x)[0])
        model.train()
        assert not torch.equal(model(x)[0], model(x)[0])


def test_errors():
    with pytest.raises(ValueError, match=r"EfficientNet: arch='b9' is not one of 'b0'"):
        EfficientNet('b9')
    with pytest.raises(ValueError, match=r'EfficientNet: drop_path_rate=1.0 must be in \[0, 1\)'):
        EfficientNet('b0', drop_path_rate=1.0)
    with pytest.raises(ValueError, match=r'EfficientNet: frozen_stages=9 must be an integer'):
        EfficientNet('b0', frozen_stages=9)
