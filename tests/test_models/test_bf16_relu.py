"""BF16GradReLU (posecfg.models.utils.bf16_relu): nn.ReLU's outputs and gradients, bit for
bit in bfloat16, with the backward on int16 views; put in place by the runner."""
import pytest
import torch
import torch.nn as nn
from mmengine.logging import MMLogger

from posecfg.models.utils import bf16_relu
from posecfg.models.utils.bf16_relu import BF16GradReLU, use_bf16_relu_backward

pytestmark = pytest.mark.usefixtures('one_thread')


def _run(module, x, dy):
    x = x.detach().clone().requires_grad_()
    y = module(x * 1)  # a non-leaf, as in a network (in-place ReLU needs one)
    y.backward(dy)
    return y.detach(), x.grad


@pytest.mark.parametrize('inplace', [False, True])
@pytest.mark.parametrize('layout', [torch.contiguous_format, torch.channels_last])
def test_bf16_outputs_and_gradients_are_relus_bit_for_bit(inplace, layout, monkeypatch):
    torch.manual_seed(0)
    x = torch.randn(2, 5, 6, 7).to(torch.bfloat16, memory_format=layout)
    x[0, 0, 0, :3] = torch.tensor([0.0, -0.0, float('-inf')])
    dy = torch.randn(2, 5, 6, 7).to(torch.bfloat16)  # another layout than x's
    called = []
    real = torch.ops.aten.threshold_backward
    monkeypatch.setattr(bf16_relu.torch.ops.aten, 'threshold_backward',
                        lambda g, y, t: called.append(g.dtype) or real(g, y, t))
    y, grad = _run(BF16GradReLU(inplace), x, dy)
    assert called == [torch.int16]  # the integer path ran
    monkeypatch.undo()
    ref_y, ref_grad = _run(nn.ReLU(inplace), x, dy)
    assert torch.equal(y.view(torch.int16), ref_y.view(torch.int16))
    assert torch.equal(grad.view(torch.int16), ref_grad.view(torch.int16))


def test_other_dtypes_and_no_grad_are_plain_relu():
    x = torch.randn(3, 4, dtype=torch.float64)
    y, grad = _run(BF16GradReLU(), x, torch.ones(3, 4, dtype=torch.float64))
    assert torch.equal(y, x.clamp_min(0)) and torch.equal(grad, (x > 0).double())
    with torch.no_grad():
        assert torch.equal(BF16GradReLU(True)(x.clone()), x.clamp_min(0))


def test_the_runner_puts_it_in_place_of_relus():
    from posecfg.engine.runner import PoseRunner
    runner = object.__new__(PoseRunner)  # wrap_model needs only these
    runner._distributed, runner.logger = False, MMLogger.get_instance('test_bf16_relu')
    runner._channels_last = False
    model = runner.wrap_model(None, nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(inplace=True)))
    assert type(model[1]) is BF16GradReLU and model[1].inplace
    assert use_bf16_relu_backward(model) == 0  # nothing left to turn


def test_a_double_backward_fails_instead_of_dropping_the_second_order_terms():
    relu = BF16GradReLU()
    x = torch.randn(4, 6, dtype=torch.bfloat16, requires_grad=True)
    (dx,) = torch.autograd.grad(relu(x).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match='once_differentiable|does not require grad'):
        torch.autograd.grad(dx.float().sum(), x)
