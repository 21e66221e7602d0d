"""ResNet blocks add the shortcut in place into the residual branch's last norm output when
nothing else sees it (posecfg.models.backbones.resnet._ResidualBlock._add_shortcut): the same
outputs and gradients as ``out + identity``."""
import pytest
import torch

from posecfg.models.backbones import resnet
from posecfg.models.backbones.resnet import BasicBlock, Bottleneck

pytestmark = pytest.mark.usefixtures('one_thread')


def _block(kind, norm_cfg, **kwargs):
    torch.manual_seed(0)
    downsample = resnet.make_downsample(8, 16, 2, False, norm_cfg=norm_cfg)
    block = kind(8, 16, stride=2, downsample=downsample, norm_cfg=norm_cfg, **kwargs)
    for p in block.parameters():  # not the zero/one init: every path counts
        p.data.normal_()
    return block.double().train()


def _outputs_and_grads(block, x):
    x = x.detach().clone().requires_grad_()
    y = block(x)
    grads = torch.autograd.grad((y * y.detach().cos()).sum(), [x] + list(block.parameters()))
    return y.detach(), grads


def _out_of_place(monkeypatch):
    monkeypatch.setattr(resnet._ResidualBlock, '_add_shortcut',
                        lambda self, out, identity: out + identity)


def _in_place_calls(monkeypatch):
    calls = []
    real = resnet._ResidualBlock._add_shortcut

    def spy(self, out, identity):
        result = real(self, out, identity)
        calls.append(result is out)
        return result
    monkeypatch.setattr(resnet._ResidualBlock, '_add_shortcut', spy)
    return calls


@pytest.mark.parametrize('kind', [BasicBlock, Bottleneck])
@pytest.mark.parametrize('norm_cfg', [dict(type='GN', num_groups=4), dict(type='BN')])
def test_in_place_shortcut_keeps_outputs_and_gradients(kind, norm_cfg, monkeypatch):
    block = _block(kind, norm_cfg)
    x = torch.randn(2, 8, 9, 10, dtype=torch.float64)
    calls = _in_place_calls(monkeypatch)
    y, grads = _outputs_and_grads(block, x)
    assert calls == [True]
    monkeypatch.undo()
    _out_of_place(monkeypatch)
    ref_y, ref_grads = _outputs_and_grads(block, x)
    torch.testing.assert_close(y, ref_y, rtol=0, atol=0)
    for grad, ref in zip(grads, ref_grads):
        torch.testing.assert_close(grad, ref, rtol=0, atol=0)


def test_a_hooked_norm_or_drop_path_keeps_the_add_out_of_place(monkeypatch):
    block = _block(Bottleneck, dict(type='GN', num_groups=4))
    seen = []
    handle = block.bn3.register_forward_hook(lambda m, i, o: seen.append(o))
    calls = _in_place_calls(monkeypatch)
    x = torch.randn(2, 8, 9, 10, dtype=torch.float64)
    y, _ = _outputs_and_grads(block, x)
    handle.remove()
    assert calls == [False]
    # the hook's tensor is the norm's output, not the sum
    assert not torch.equal(seen[0], (y > 0) * y)
    dropped = _block(Bottleneck, dict(type='GN', num_groups=4), drop_path_rate=0.5)
    _outputs_and_grads(dropped, x)
    assert calls == [False, False]


def test_a_backward_hook_on_the_last_norm_keeps_the_add_out_of_place():
    """A backward hook (Grad-CAM) makes the norm's output a view that cannot change in place;
    the block must still run, with the same result."""
    block = _block(BasicBlock, dict(type='GN', num_groups=4))
    x = torch.randn(2, 8, 6, 6, dtype=torch.float64)
    expected, _ = _outputs_and_grads(block, x)
    seen = []
    block.last_norm.register_full_backward_hook(lambda m, gi, go: seen.append(1))
    y, _ = _outputs_and_grads(block, x)
    assert seen and torch.equal(y, expected)


def test_a_global_module_hook_keeps_the_add_out_of_place():
    from posecfg.models.utils.module_hooks import has_hooks
    block = _block(BasicBlock, dict(type='GN', num_groups=4))
    assert not has_hooks(block.last_norm)
    handle = torch.nn.modules.module.register_module_forward_hook(lambda m, i, o: None)
    try:
        assert has_hooks(block.last_norm)
    finally:
        handle.remove()
