"""A frozen BatchNorm runs inside the convolution before it while training (``conv_norm``):
the same outputs and gradients as the two layers, in float64, and the BatchNorm is not run."""
import copy

import pytest
import torch
import torch.nn as nn

import posecfg.models.backbones.conv_norm as conv_norm_module
from posecfg.models.backbones.conv_norm import conv_norm, run_layers
from posecfg.models.backbones.hrnet import HRNet
from posecfg.models.backbones.resnet import ResNet

pytestmark = pytest.mark.usefixtures('one_thread')

SMALL_HRNET = dict(
    stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(1,),
                num_channels=(8,)),
    stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(1, 1),
                num_channels=(4, 8)),
    stage3=dict(num_modules=1, num_branches=3, block='BASIC', num_blocks=(1, 1, 1),
                num_channels=(4, 8, 16)),
    stage4=dict(num_modules=2, num_branches=4, block='BASIC', num_blocks=(1, 1, 1, 1),
                num_channels=(4, 8, 16, 32), multiscale_output=True))


def randomise_norms(model: nn.Module) -> None:
    """Running statistics and affine parameters away from their identity defaults."""
    gen = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=gen, dtype=torch.float64))
            m.running_var.copy_(torch.rand(c, generator=gen, dtype=torch.float64) + 0.5)
            m.weight.data.copy_(torch.randn(c, generator=gen, dtype=torch.float64))
            m.bias.data.copy_(torch.randn(c, generator=gen, dtype=torch.float64))


def outputs_and_grads(model: nn.Module, x: torch.Tensor, fold: bool, monkeypatch):
    """The model's outputs and every parameter's gradient of their weighted sum, with the fold
    on or off (off: ``frozen_batchnorm`` says no, so every BatchNorm runs as a layer)."""
    model = copy.deepcopy(model)
    with monkeypatch.context() as patch:
        if not fold:
            patch.setattr(conv_norm_module, 'frozen_batchnorm', lambda norm: False)
        outs = model(x)
        outs = outs if isinstance(outs, tuple) else (outs,)
        weights = [torch.linspace(-1, 1, o.numel(), dtype=o.dtype).view_as(o) for o in outs]
        sum((o * w).sum() for o, w in zip(outs, weights)).backward()
    return outs, {n: p.grad for n, p in model.named_parameters()}


def count_batchnorm_calls(model: nn.Module, x: torch.Tensor) -> int:
    """How many BatchNorm forwards ``model(x)`` runs (counted by patching the class: a forward
    hook would itself make ``conv_norm`` run the pair as layers)."""
    calls = []
    forward = nn.BatchNorm2d.forward
    nn.BatchNorm2d.forward = lambda self, inp: calls.append(1) or forward(self, inp)
    try:
        model(x)
    finally:
        nn.BatchNorm2d.forward = forward
    return len(calls)


@pytest.mark.parametrize('build', [
    lambda: HRNet(extra=SMALL_HRNET, norm_eval=True, increased_channel_count=True,
                  interpolate_branches=True),
    lambda: HRNet(extra='w18', norm_eval=True),
    lambda: ResNet(depth=18, norm_eval=True),
    lambda: ResNet(depth=50, norm_eval=True, avg_down=True),
], ids=['hrnet_small_incre_interp', 'hrnet_w18', 'resnet18', 'resnet50d'])
def test_frozen_batchnorms_fold_into_convolutions_while_training(build, monkeypatch):
    torch.manual_seed(0)
    model = build().double()
    model.init_weights()
    randomise_norms(model)
    model.train()  # norm_eval: every BatchNorm stays in eval mode
    assert all(not m.training for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    x = torch.randn(2, 3, 64, 64, dtype=torch.float64, requires_grad=True)
    folded, folded_grads = outputs_and_grads(model, x, True, monkeypatch)
    layered, layered_grads = outputs_and_grads(model, x, False, monkeypatch)
    for a, b in zip(folded, layered):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
    assert folded_grads.keys() == layered_grads.keys()
    for name, grad in folded_grads.items():
        torch.testing.assert_close(grad, layered_grads[name], rtol=1e-9, atol=1e-10,
                                   msg=lambda m: f'{name}: {m}')
    # the BatchNorm layers themselves did not run while training; in eval mode (gradients on
    # or off) each one does, as inference's own folding expects
    assert count_batchnorm_calls(model, x) == 0
    assert count_batchnorm_calls(model.eval(), x) == len(
        [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)])


def test_conv_norm_runs_training_and_other_norms_as_layers(monkeypatch):
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, 3, padding=1, bias=True)
    x = torch.randn(2, 3, 8, 8)
    for norm in (nn.BatchNorm2d(4), nn.GroupNorm(2, 4),
                 nn.BatchNorm2d(4, track_running_stats=False).eval()):
        norm.train(isinstance(norm, nn.BatchNorm2d) and norm.track_running_stats)
        calls = []
        norm.register_forward_hook(lambda *a: calls.append(1))
        torch.testing.assert_close(conv_norm(conv, norm, x, True), norm(conv(x)))
        assert len(calls) == 2  # run as a layer in conv_norm, and in the reference
    frozen = nn.BatchNorm2d(4).eval()
    frozen.running_mean.fill_(0.5)
    torch.testing.assert_close(conv_norm(conv, frozen, x, True), frozen(conv(x)))  # conv bias
    calls = []
    batchnorm_forward = nn.BatchNorm2d.forward
    monkeypatch.setattr(nn.BatchNorm2d, 'forward',
                        lambda self, inp: calls.append(1) or batchnorm_forward(self, inp))
    conv_norm(conv, frozen, x, True)
    assert calls == []  # folded
    conv_norm(conv, frozen, x, False)
    assert calls == [1]  # an eval-mode network runs the layers
    hooked = []
    frozen.register_forward_hook(lambda *a: hooked.append(1))
    torch.testing.assert_close(conv_norm(conv, frozen, x, True), frozen(conv(x)))
    assert hooked == [1, 1]  # a hooked pair runs as its modules (the hook sees its call)
    layers = nn.Sequential(nn.Sequential(conv, frozen, nn.ReLU()), nn.Conv2d(4, 2, 1),
                           nn.Upsample(scale_factor=2))
    torch.testing.assert_close(run_layers(layers, x, True), layers(x))
