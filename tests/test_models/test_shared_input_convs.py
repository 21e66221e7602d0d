"""Convolutions of one input stacked into one (posecfg.models.utils.shared_input_convs) and the
DeepLabCut heads that run them so while training: same outputs and gradients as module by
module (float64), fewer convolution calls."""
import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import posecfg.engine.registration  # noqa: F401
from posecfg.models.heads.dlcrnet_head import DLCRNetHead
from posecfg.models.heads.dlc_heatmap_head import DLCHeatmapHead
from posecfg.models.utils.shared_input_convs import run_shared_input, stackable

pytestmark = pytest.mark.usefixtures('one_thread')


def _outputs_and_grads(convs, x, stacked):
    x = x.detach().clone().requires_grad_()
    outs = run_shared_input(convs, x) if stacked else [c(x) for c in convs]
    # a different weight per output so every gradient path counts
    loss = sum((o * (i + 1.5)).sin().sum() for i, o in enumerate(outs))
    params = [p for c in convs for p in c.parameters()]
    grads = torch.autograd.grad(loss, [x] + params)
    return outs, grads


@pytest.mark.parametrize('make', [
    lambda o: nn.Conv2d(6, o, 3, padding='same'),
    lambda o: nn.Conv2d(6, o, 3, stride=2, padding=1, bias=False),
    lambda o: nn.ConvTranspose2d(6, o, 3, stride=2, padding=1, output_padding=1),
    lambda o: nn.ConvTranspose2d(6, o, 3, stride=2)])
def test_stacked_convolutions_equal_the_modules_outputs_and_gradients(make):
    torch.manual_seed(0)
    convs = [make(o).double() for o in (2, 5, 3)]
    assert stackable(convs)
    x = torch.randn(2, 6, 7, 9, dtype=torch.float64).to(memory_format=torch.channels_last)
    outs, grads = _outputs_and_grads(convs, x, stacked=True)
    ref_outs, ref_grads = _outputs_and_grads(convs, x, stacked=False)
    for out, ref in zip(outs, ref_outs):
        assert out.shape == ref.shape
        torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
    for grad, ref in zip(grads, ref_grads):
        torch.testing.assert_close(grad, ref, rtol=1e-12, atol=1e-12)


def test_stacked_convolutions_are_one_call(monkeypatch):
    calls = []
    real = F.conv_transpose2d
    monkeypatch.setattr(F, 'conv_transpose2d', lambda *a, **k: calls.append(1) or real(*a, **k))
    convs = [nn.ConvTranspose2d(4, o, 3, stride=2) for o in (1, 2, 3)]
    outs = run_shared_input(convs, torch.randn(1, 4, 5, 5))
    assert len(calls) == 1 and [o.shape[1] for o in outs] == [1, 2, 3]


def test_what_is_not_stacked_runs_module_by_module():
    conv = lambda o, **k: nn.Conv2d(4, o, 3, padding=1, **k)  # noqa: E731
    assert not stackable([conv(2)])  # one alone
    assert not stackable([conv(2), nn.Conv2d(4, 2, 3, padding=0)])  # geometry
    assert not stackable([conv(2), conv(2, bias=False)])  # bias on one only
    assert not stackable([conv(2, groups=2), conv(2, groups=2)])
    assert not stackable([conv(2, padding_mode='reflect'), conv(2, padding_mode='reflect')])
    assert not stackable([conv(2), nn.ConvTranspose2d(4, 2, 3, padding=1)])

    class Standardised(nn.Conv2d):
        pass
    assert not stackable([conv(2), Standardised(4, 2, 3, padding=1)])
    # a forward hook runs: the hooked module is called
    hooked, seen = conv(2), []
    hooked.register_forward_hook(lambda m, i, o: seen.append(o.shape))
    assert not stackable([conv(2), hooked])
    run_shared_input([conv(2), hooked], torch.randn(1, 4, 5, 5))
    assert seen == [torch.Size([1, 2, 5, 5])]


def _dlcrnet_head():
    return DLCRNetHead(**dict(DLCRNetHead.example_args, num_stages=3))


def _dlc_heatmap_head():
    return DLCHeatmapHead(**DLCHeatmapHead.example_args)


def _head_outputs_and_grads(head, x, training):
    head = copy.deepcopy(head).train(training)
    x = x.detach().clone().requires_grad_()
    outputs = head(x)
    loss = sum((o * (i + 1.5)).sin().sum() for i, o in enumerate(outputs.values()))
    params = list(head.parameters())
    return outputs, torch.autograd.grad(loss, [x] + params)


@pytest.mark.parametrize('make, channels, calls', [
    # DLCRNetHead: convt1..4 as one, each stage's two convs as one, heatmap and PAF
    # deconvolutions as one, locref's (2 + 3 stages + 1 instead of 4 + 6 + 3)
    (_dlcrnet_head, 16, dict(conv_transpose2d=3, conv2d=3)),
    (_dlc_heatmap_head, 8, dict(conv_transpose2d=1, conv2d=0))])
def test_training_heads_stack_their_convolutions_with_the_same_results(monkeypatch, make,
                                                                      channels, calls):
    torch.manual_seed(0)
    head = make().double()
    x = torch.randn(2, channels, 5, 6, dtype=torch.float64).to(
        memory_format=torch.channels_last)
    counted = {name: 0 for name in calls}
    for name in calls:
        real = getattr(F, name)

        def counting(*a, _real=real, _name=name, **k):
            counted[_name] += 1
            return _real(*a, **k)
        monkeypatch.setattr(F, name, counting)
    outputs, grads = _head_outputs_and_grads(head, x, training=True)
    assert counted == calls
    ref_outputs, ref_grads = _head_outputs_and_grads(head, x, training=False)
    assert outputs.keys() == ref_outputs.keys()
    for name in outputs:
        torch.testing.assert_close(outputs[name], ref_outputs[name], rtol=1e-12, atol=1e-12)
    for grad, ref in zip(grads, ref_grads):
        torch.testing.assert_close(grad, ref, rtol=1e-12, atol=1e-12)


def test_training_bf16_heads_stay_within_rounding_of_module_by_module():
    torch.manual_seed(0)
    head = _dlcrnet_head()
    x = torch.randn(2, 16, 5, 6).to(memory_format=torch.channels_last)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        outputs, grads = _head_outputs_and_grads(head, x, training=True)
        ref_outputs, ref_grads = _head_outputs_and_grads(head, x, training=False)
    for name in outputs:
        torch.testing.assert_close(outputs[name].float(), ref_outputs[name].float(),
                                   rtol=2e-2, atol=2e-2)
    for grad, ref in zip(grads, ref_grads):
        # bf16 rounding of sums over many cells (module by module autograd also adds the
        # branches' input gradients in bf16): a few bf16 ulps of the gradient's scale
        scale = ref.float().abs().max().item()
        torch.testing.assert_close(grad.float(), ref.float(), rtol=0, atol=3e-2 * scale)
