"""LayoutTunedGroupNorm: nn.GroupNorm's function and gradients by either backward path, the
faster path kept per shape, the same state-dict keys; the runner puts it in place for
channels_last."""

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MMLogger

from posecfg.models.utils import group_norm
from posecfg.models.utils.group_norm import LayoutTunedGroupNorm, tune_group_norms

# 2304 pixels per map: at least MIN_PIXELS, the shapes where ATen's slow loop runs
SHAPE = (2, 8, 48, 48)


def pair(groups=4, channels=8):
    torch.manual_seed(0)
    ref = nn.GroupNorm(groups, channels)
    ref.weight.data.uniform_(0.5, 1.5)
    ref.bias.data.uniform_(-0.5, 0.5)
    tuned = LayoutTunedGroupNorm(groups, channels)
    tuned.load_state_dict(ref.state_dict())
    return ref, tuned


def run(module, x, autocast=False):
    """Output and gradients of (x, weight, bias) for a fixed upstream gradient."""
    x = x.detach().clone().requires_grad_()
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
        y = module(x)
    y.backward(torch.linspace(-1, 1, y.numel()).view_as(y).to(y.dtype))
    return [y, x.grad, module.weight.grad, module.bias.grad]


@pytest.fixture
def forced(monkeypatch):
    """Sets which backward path every layer takes."""
    def force(path):
        monkeypatch.setattr(group_norm, 'backward_path', lambda channels, groups: path)
    return force


@pytest.mark.parametrize('path', ['channels_last', 'contiguous'])
def test_both_backward_paths_match_group_norm_in_float64(path, forced):
    forced(path)
    x = (torch.randn(*SHAPE, dtype=torch.float64) * 2 + 1).contiguous(
        memory_format=torch.channels_last)
    ref, tuned = pair()
    ref.double(), tuned.double()
    expected, got = run(ref, x), run(tuned, x)
    assert got[0].grad_fn.name() == '_GroupNormFunctionBackward'
    assert got[1].is_contiguous(memory_format=torch.channels_last)
    for e, g in zip(expected, got):
        torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize('path', ['channels_last', 'contiguous'])
def test_bf16_autocast_matches_group_norm(path, forced):
    """As the runtime trains: a bfloat16 channels-last input, float32 parameters, autocast."""
    forced(path)
    x = torch.randn(*SHAPE).to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    ref, tuned = pair()
    expected, got = run(ref, x, autocast=True), run(tuned, x, autocast=True)
    assert [t.dtype for t in got] == [t.dtype for t in expected]
    torch.testing.assert_close(got[0], expected[0], rtol=0, atol=0)  # the same forward
    for e, g in zip(expected[1:], got[1:]):
        torch.testing.assert_close(g.float(), e.float(), rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize('groups, channels, path', [
    (4, 8, 'contiguous'), (4, 16, 'contiguous'), (4, 32, 'channels_last')])
def test_the_path_is_a_fixed_rule_of_channels_per_group(groups, channels, path, monkeypatch):
    """2-4 channels per group through NCHW, more in place; the same in every run (a resumed
    run computes the same gradients bit for bit)."""
    calls = []
    monkeypatch.setattr(group_norm, 'PATHS', {
        name: (lambda fn, name: lambda *a: calls.append(name) or fn(*a))(fn, name)
        for name, fn in group_norm.PATHS.items()})
    _, tuned = pair(groups, channels)
    x = torch.randn(2, channels, 48, 48).contiguous(memory_format=torch.channels_last)
    run(tuned, x)
    run(tuned, x)
    assert calls == [path, path]


@pytest.mark.parametrize('case', ['contiguous input', 'small map', 'no grad', 'compiling'])
def test_plain_group_norm_elsewhere(case, monkeypatch):
    if case == 'compiling':  # torch.compile traces plain group_norm (no Python timing)
        monkeypatch.setattr(torch.compiler, 'is_compiling', lambda: True)
    ref, tuned = pair()
    x = torch.randn(*SHAPE).contiguous(memory_format=torch.channels_last)
    if case == 'contiguous input':
        x = x.contiguous()
    elif case == 'small map':
        x = torch.randn(2, 8, 8, 8).contiguous(memory_format=torch.channels_last)
    if case == 'no grad':
        with torch.no_grad():
            torch.testing.assert_close(tuned(x), ref(x), rtol=0, atol=0)
        return
    got = run(tuned, x)
    assert got[0].grad_fn.name() == 'NativeGroupNormBackward0'
    for e, g in zip(run(ref, x), got):
        torch.testing.assert_close(g, e, rtol=0, atol=0)


def test_tuning_keeps_parameters_and_keys():
    from posecfg.models.backbones.resnet import ResNet
    model = ResNet(18, norm_cfg=dict(type='GN', num_groups=4), base_channels=8,
                   stem_channels=8)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    params = list(model.parameters())
    assert tune_group_norms(model) == 1 + 8 * 2 + 3  # stem, two per block, three downsamples
    assert all(type(m) is not nn.GroupNorm for m in model.modules())
    assert list(model.parameters()) == params
    assert list(model.state_dict()) == list(state)
    nn.Module.load_state_dict(model, state)  # strict


def test_the_runner_tunes_group_norms_for_channels_last():
    from posecfg.engine.runner import PoseRunner
    runner = object.__new__(PoseRunner)  # wrap_model needs only these
    runner._distributed, runner.logger = False, MMLogger.get_instance('test_group_norm')
    for channels_last, expected in ((False, nn.GroupNorm), (True, LayoutTunedGroupNorm)):
        runner._channels_last = channels_last
        model = runner.wrap_model(None, nn.Sequential(nn.Conv2d(3, 8, 3), nn.GroupNorm(4, 8)))
        assert type(model[1]) is expected


@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16, torch.float64])
@pytest.mark.parametrize('shape', [(2, 8, 48, 48), (3, 5, 7, 11)])
def test_relayout_copies_between_nchw_and_nhwc(shape, dtype):
    x = torch.randn(*shape).to(dtype).contiguous(memory_format=torch.channels_last)
    nchw = group_norm.relayout(x, False)
    assert nchw.is_contiguous() and torch.equal(nchw, x)
    nhwc = group_norm.relayout(nchw, True)
    assert nhwc.is_contiguous(memory_format=torch.channels_last) and torch.equal(nhwc, x)


def test_relayout_splits_the_samples_over_torchs_threads(monkeypatch):
    """With 2 torch threads the per-sample transposes run in a 2-thread pool (the same
    copy); with one, in the calling thread."""
    threads = torch.get_num_threads()
    x = torch.randn(5, 6, 9, 7).to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    used = []
    real = group_norm._transpose_pool
    monkeypatch.setattr(group_norm, '_transpose_pool', lambda n: used.append(n) or real(n))
    try:
        for n in (2, 1):
            torch.set_num_threads(n)
            nchw = group_norm.relayout(x, False)
            assert nchw.is_contiguous() and torch.equal(nchw, x)
            assert torch.equal(group_norm.relayout(nchw, True), x)
    finally:
        torch.set_num_threads(threads)
    assert used == [2, 2, 1, 1] and real(2) is real(2) and real(1) is None
