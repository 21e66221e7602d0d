"""The runtime switches: compile decisions, evaluation preparation, the thread probe, the
allocator."""
import os
import subprocess
import sys

import pytest
import torch

from posecfg.engine.hooks import CompileModelHook
from posecfg.engine.loops import (COMPILE_EVAL_MIN_SAMPLES, PREPARE_EVAL_MIN_SAMPLES,
                                  inference_model)
from posecfg.engine import runtime
from posecfg.engine.runtime import probe_step, probe_threads, resolve_runtime

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class FakeRunner:
    def __init__(self, model, max_iters, it=0):
        self.model, self.max_iters, self.iter = model, max_iters, it


class Net(torch.nn.Module):
    head_names = ['keypoint_head']  # an estimator names its heads

    def __init__(self):
        super().__init__()
        self.backbone = torch.nn.Conv2d(3, 4, 3)
        self.keypoint_head = torch.nn.Conv2d(4, 2, 1)


@pytest.mark.parametrize('mode, iters, compiled', [
    ('auto', 100, False), ('auto', 5000, True), (True, 10, True)])
def test_compile_hook_decides_by_run_length(mode, iters, compiled, monkeypatch):
    calls = []
    monkeypatch.setattr(torch, 'compile', lambda m, **kw: calls.append(m) or m)
    net = Net()
    CompileModelHook(mode=mode).before_train(FakeRunner(net, iters))
    assert bool(calls) == compiled
    if compiled:  # nn.Module.compile compiles the module's call
        assert [call.__self__ for call in calls] == [net.backbone, net.keypoint_head]


def test_compile_hook_auto_leaves_group_norm_models_eager(monkeypatch):
    calls = []
    monkeypatch.setattr(torch, 'compile', lambda m, **kw: calls.append(m) or m)
    net = Net()
    net.backbone = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.GroupNorm(2, 4))
    CompileModelHook(mode='auto').before_train(FakeRunner(net, 5000))
    assert calls == []
    CompileModelHook(mode=True).before_train(FakeRunner(net, 5000))  # asked for: compiled
    assert len(calls) == 2


def test_compiled_networks_keep_their_state_dict_keys():
    """Checkpoints and DeepLabCut snapshots of a compiled run load into an eager model."""
    net = Net()
    keys = list(net.state_dict())
    CompileModelHook(mode=True).before_train(FakeRunner(net, 10))  # compiles lazily: no run
    assert list(net.state_dict()) == keys
    assert net.backbone._compiled_call_impl is not None
    Net().load_state_dict(net.state_dict())  # strict


def test_compile_hook_rejects_a_bad_mode():
    with pytest.raises(ValueError, match="CompileModelHook mode must be True or 'auto'"):
        CompileModelHook(mode='yes')


class FakeLoader:
    def __init__(self, n):
        self.dataset = [dict(img=torch.zeros(3, 8, 8))] * n

    def __len__(self):
        return len(self.dataset)


def test_eval_compile_threshold(monkeypatch):
    seen = []
    import posecfg.engine.loops as loops
    monkeypatch.setattr(loops, 'prepare_for_inference',
                        lambda model, shape, fold, compile_eval, fp16: seen.append(compile_eval))
    runner = FakeRunner(Net(), 0)
    inference_model(runner, FakeLoader(COMPILE_EVAL_MIN_SAMPLES - 1), True, 'auto')
    inference_model(runner, FakeLoader(COMPILE_EVAL_MIN_SAMPLES), True, 'auto')
    assert seen == [False, not torch.cuda.is_available()]
    assert inference_model(runner, FakeLoader(1), False, False) is runner.model


@pytest.mark.parametrize('fold_bn, samples, prepared', [
    ('auto', PREPARE_EVAL_MIN_SAMPLES - 1, False), ('auto', PREPARE_EVAL_MIN_SAMPLES, True),
    (True, 1, True), (False, 1, False)])
def test_small_evaluations_run_the_model_unprepared(fold_bn, samples, prepared, monkeypatch):
    """fold_bn='auto': the copy and its checks (~10 forward passes) only where they pay back."""
    seen = []
    import posecfg.engine.loops as loops
    monkeypatch.setattr(loops, 'prepare_for_inference',
                        lambda model, shape, fold, compile_eval, fp16: seen.append(fold))
    runner = FakeRunner(Net(), 0)
    model = inference_model(runner, FakeLoader(samples), fold_bn, False)
    assert seen == ([True] if prepared else []) and (model is runner.model) == (not prepared)
    # what hooks run after the test split counts too
    seen.clear()
    inference_model(runner, FakeLoader(1), fold_bn, False, samples=samples)
    assert seen == ([True] if prepared else [])


def test_a_small_evaluation_of_a_compiled_model_runs_an_eager_copy():
    """A model CompileModelHook compiled for training would compile again in eval mode: the
    unprepared evaluation runs a weight-sharing copy, which runs eagerly."""
    from posecfg.engine.loops import compiled
    runner = FakeRunner(Net(), 0)
    runner.model.backbone.compile()
    model = inference_model(runner, FakeLoader(1), 'auto', False)
    assert model is not runner.model and compiled(runner.model) and not compiled(model)
    assert model.backbone.weight.data_ptr() == runner.model.backbone.weight.data_ptr()


def test_tested_samples_adds_the_hooks_extra_samples():
    from posecfg.engine.loops import tested_samples

    class Extra:
        def extra_test_samples(self, runner):
            return 21
    runner = FakeRunner(Net(), 0)
    runner.hooks = [object(), Extra()]
    assert tested_samples(runner, FakeLoader(4)) == 25


def test_thread_probe_and_explicit_threads():
    assert 1 <= probe_threads(2, None, True) <= 2
    assert resolve_runtime({'threads': 3}, cuda=False).threads == 3
    with pytest.raises(Exception, match="runtime.threads must be 'auto' or a positive integer"):
        resolve_runtime({'threads': 0}, cuda=False)
    with pytest.raises(Exception, match="runtime: unknown key"):
        resolve_runtime({'thread': 1}, cuda=False)
    assert resolve_runtime({}, cuda=False).fold_bn == 'auto'
    with pytest.raises(Exception, match="runtime.fold_bn must be 'auto', True or False"):
        resolve_runtime({'fold_bn': 'yes'}, cuda=False)


def test_training_probe_times_the_backward(monkeypatch):
    """A training run's thread probe runs the convolution's backward (weight gradient), an
    evaluation's only its forward."""
    conv = torch.nn.Conv2d(2, 2, 3, padding=1, bias=False)
    x = torch.randn(1, 2, 5, 5, requires_grad=True)
    grads = []
    conv.weight.register_hook(lambda g: grads.append(g))
    probe_step(conv, x, backward=False)
    assert grads == []
    probe_step(conv, x, backward=True)
    assert len(grads) == 1 and conv.weight.grad is None and x.grad is None  # nothing kept
    seen = []
    monkeypatch.setattr(runtime.os, 'cpu_count', lambda: 2)
    monkeypatch.setattr(runtime, 'probe_threads',
                        lambda n, dtype, cl, backward=False: seen.append(backward) or 1)
    resolve_runtime({}, cuda=False, training=True)
    resolve_runtime({}, cuda=False)
    assert seen == [True, False]


def test_thread_probe_takes_the_median(monkeypatch):
    """On a busy core two threads were mostly far slower with an occasional fast repeat: the
    probe goes by the typical (median) time, not the luckiest."""
    clock = [0.0]
    # seconds per step: warm-up first, then the 5 timed repeats (one lucky for two threads)
    durations = {1: iter([0.01] * 6), 2: iter([0.1, 0.001, 0.1, 0.1, 0.1, 0.1])}
    monkeypatch.setattr(runtime, 'probe_step',
                        lambda conv, x, backward: clock.__setitem__(
                            0, clock[0] + next(durations[torch.get_num_threads()])))
    monkeypatch.setattr(runtime.time, 'perf_counter', lambda: clock[0])
    before = torch.get_num_threads()
    assert probe_threads.__wrapped__(2, None, False, backward=True) == 1
    assert torch.get_num_threads() == before


def test_reuse_memory_setting(monkeypatch):
    assert resolve_runtime({}, cuda=False).reuse_memory is True
    assert resolve_runtime({'reuse_memory': False}, cuda=False).reuse_memory is False
    with pytest.raises(Exception, match='runtime.reuse_memory must be True or False'):
        resolve_runtime({'reuse_memory': 'yes'}, cuda=False)


def test_slurm_environment(monkeypatch):
    """srun's variables become torch.distributed's; the first node is the master."""
    import posecfg.engine.runner as runner
    # a private environment: what the function sets must not leak into later tests' launches
    env = dict(SLURM_PROCID='3', SLURM_NTASKS='4', SLURM_LOCALID='1',
               SLURM_NODELIST='node[01-02]')
    monkeypatch.setattr(runner.os, 'environ', env)
    commands = []
    monkeypatch.setattr(runner.subprocess, 'getoutput',
                        lambda cmd: commands.append(cmd) or 'node01\n')
    runner._slurm_environment()
    assert (env['RANK'], env['WORLD_SIZE'], env['LOCAL_RANK']) == ('3', '4', '1')
    assert env['MASTER_ADDR'] == 'node01' and env['MASTER_PORT'] == '29500'
    assert commands == ['scontrol show hostname node[01-02] | head -n1']


def test_cpu_process_group_rejects_an_unknown_launcher():
    from posecfg.engine.runner import init_cpu_process_group
    with pytest.raises(ValueError, match="launcher must be 'none', 'pytorch', 'slurm' or 'mpi'"):
        init_cpu_process_group('ssh')


class TinyEstimator(torch.nn.Module):
    """conv → GroupNorm → ReLU → transposed conv: the layer kinds of DeepLabCut's resnet_50;
    ``outside_autocast`` runs the last layer with autocast off (as a float32 decoder would)."""

    def __init__(self, outside_autocast=False):
        super().__init__()
        self.data_preprocessor = torch.nn.Module()
        self.data_preprocessor.channels_last = True
        self.conv = torch.nn.Conv2d(3, 8, 3)
        self.norm = torch.nn.GroupNorm(4, 8)
        self.deconv = torch.nn.ConvTranspose2d(8, 4, 3, stride=2)
        self.outside_autocast = outside_autocast

    def forward(self, x, mode='tensor'):
        x = torch.relu(self.norm(self.conv(x)))
        with torch.autocast('cpu', enabled=not self.outside_autocast):
            return self.deconv(x if not self.outside_autocast else x.float())


def autocast_output(model, x):
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        return model(x)


def test_bf16_evaluation_casts_weights_once():
    """Under CPU autocast the evaluation copy holds bfloat16 convolution weights (autocast
    rounds them the same way at every call): the same outputs, the model untouched."""
    from posecfg.engine.loops import prepare_for_inference
    torch.manual_seed(0)
    model = TinyEstimator().eval()
    prepared = prepare_for_inference(model, (3, 16, 16), fold_bn=True, fp16=True)
    assert prepared is not model
    assert {n: p.dtype for n, p in prepared.named_parameters()} == {
        'conv.weight': torch.bfloat16, 'conv.bias': torch.bfloat16,
        'norm.weight': torch.float32, 'norm.bias': torch.float32,  # autocast leaves these
        'deconv.weight': torch.bfloat16, 'deconv.bias': torch.bfloat16}
    assert all(p.dtype == torch.float32 for p in model.parameters())
    # the copy shares the weights it does not cast (no weight memory copied)
    assert prepared.norm.weight.data_ptr() == model.norm.weight.data_ptr()
    x = torch.randn(2, 3, 16, 16).contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(autocast_output(prepared, x), autocast_output(model, x),
                               rtol=0, atol=0)
    # float32 evaluation: nothing to prepare
    assert prepare_for_inference(model, (3, 16, 16), fold_bn=True, fp16=False) is model


def test_bf16_weights_fall_back_where_a_layer_runs_outside_autocast():
    from posecfg.engine.loops import prepare_for_inference
    model = TinyEstimator(outside_autocast=True).eval()
    prepared = prepare_for_inference(model, (3, 16, 16), fold_bn=False, fp16=True)
    assert prepared is model
    assert all(p.dtype == torch.float32 for p in model.parameters())


class NormDropNet(TinyEstimator):
    """TinyEstimator with a BatchNorm and a dropout: training mode would change both."""

    def __init__(self):
        super().__init__()
        self.bn = torch.nn.BatchNorm2d(8)
        self.drop = torch.nn.Dropout(0.5)

    def forward(self, x, mode='tensor'):
        return self.deconv(self.drop(torch.relu(self.bn(self.norm(self.conv(x))))))


@pytest.mark.parametrize('fold_bn', [False, True])
def test_preparing_a_training_mode_model_checks_in_eval_mode(fold_bn):
    """The loops prepare the model before mmengine switches it to eval mode: the checks must
    not move its BatchNorm statistics, and the copy evaluates in eval mode (no dropout)."""
    from posecfg.engine.loops import prepare_for_inference
    torch.manual_seed(0)
    model = NormDropNet().train()
    stats = model.bn.running_mean.clone(), int(model.bn.num_batches_tracked)
    prepared = prepare_for_inference(model, (3, 16, 16), fold_bn=fold_bn, fp16=True)
    assert prepared is not model and not prepared.training
    assert model.training  # left as it came
    torch.testing.assert_close(model.bn.running_mean, stats[0], rtol=0, atol=0)
    assert int(model.bn.num_batches_tracked) == stats[1]
    x = torch.randn(2, 3, 16, 16).contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(autocast_output(prepared, x), autocast_output(prepared, x))


class FoldableNet(TinyEstimator):
    """conv → BatchNorm → deconv: the BatchNorm folds; ``outside_autocast`` as TinyEstimator."""

    def __init__(self, outside_autocast=False):
        super().__init__(outside_autocast)
        self.bn = torch.nn.BatchNorm2d(8)

    def forward(self, x, mode='tensor'):
        x = torch.relu(self.bn(self.conv(x)))
        with torch.autocast('cpu', enabled=not self.outside_autocast):
            return self.deconv(x if not self.outside_autocast else x.float())


@pytest.mark.parametrize('outside_autocast', [False, True])
def test_a_folded_copy_gets_its_bf16_weights_in_place(outside_autocast, monkeypatch):
    """After the BatchNorm fold made a copy, the bf16 weights are cast on that copy (one deep
    copy in all, sharing the model's weight memory); when the check refuses them, the copy's
    float32 weights are put back; the model's weights are never written."""
    import copy as copy_module
    from posecfg.engine.loops import prepare_for_inference
    torch.manual_seed(0)
    model = FoldableNet(outside_autocast).eval()
    model.bn.running_mean.uniform_(-1, 1)
    weights = {name: p.detach().clone() for name, p in model.named_parameters()}
    copies = []
    deepcopy = copy_module.deepcopy

    def counting(obj, *memo):
        if type(obj) is FoldableNet:  # a copy of the whole model (not the recursion's parts)
            copies.append(type(obj))
        return deepcopy(obj, *memo)
    monkeypatch.setattr(copy_module, 'deepcopy', counting)
    prepared = prepare_for_inference(model, (3, 16, 16), fold_bn=True, fp16=True)
    assert copies == [FoldableNet]  # the fold's copy only
    for name, p in model.named_parameters():
        torch.testing.assert_close(p, weights[name], rtol=0, atol=0)
    assert prepared is not model and not any(
        isinstance(m, torch.nn.BatchNorm2d) for m in prepared.modules())
    dtype = torch.float32 if outside_autocast else torch.bfloat16
    assert prepared.conv.weight.dtype == prepared.deconv.weight.dtype == dtype
    assert all(p.dtype == torch.float32 for p in model.parameters())
    x = torch.randn(2, 3, 16, 16).contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(autocast_output(prepared, x), autocast_output(model, x),
                               rtol=2e-2, atol=2e-2)


def test_a_loops_preparation_leaves_no_cast_weights_in_autocasts_cache():
    """The loops prepare at their first batch, inside weight_cast_scope: the checks' bf16 casts
    of the float32 weights (unused by the bf16 copy) must not stay cached for the evaluation."""
    import weakref

    from torch.utils._python_dispatch import TorchDispatchMode

    from posecfg.engine.loops import _InferenceModelMixin, weight_cast_scope

    class Casts(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.casts = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if func is torch.ops.aten._to_copy.default and args[0].dim() == 4 and \
                    (kwargs or {}).get('dtype') == torch.bfloat16:
                self.casts.append(weakref.ref(out))
            return out

    loop = _InferenceModelMixin()
    loop.runner, loop.dataloader = FakeRunner(FoldableNet().eval(), 0), FakeLoader(1)
    loop.dataloader.dataset = [dict(img=torch.zeros(3, 16, 16))]
    loop.fold_bn, loop.compile_eval, loop.fp16 = True, False, True
    with weight_cast_scope():
        with Casts() as mode:
            prepared = loop.inference_model()
        kept = {p.untyped_storage().data_ptr() for p in prepared.parameters()}
        alive = [r() for r in mode.casts if r() is not None]
        assert mode.casts and all(t.untyped_storage().data_ptr() in kept for t in alive)


def test_inference_model_prepares_a_bf16_evaluation_without_fold_or_compile(monkeypatch):
    seen = []
    import posecfg.engine.loops as loops
    monkeypatch.setattr(loops, 'prepare_for_inference',
                        lambda model, shape, fold, compile_eval, fp16: seen.append(fp16))
    inference_model(FakeRunner(Net(), 0), FakeLoader(1), False, False, fp16=True)
    assert seen == [True]


THP = open('/sys/kernel/mm/transparent_hugepage/enabled').read() \
    if os.path.exists('/sys/kernel/mm/transparent_hugepage/enabled') else ''
FAULTS_SCRIPT = '''
import resource, sys, torch
from posecfg.engine.runtime import reuse_freed_memory
retained = reuse_freed_memory() if sys.argv[1] == 'retain' else False
counts = []
for _ in range(4):  # a 64 MiB activation, freed, then allocated again: as in every step
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = torch.ones(64 << 20, dtype=torch.uint8)
    del block
    counts.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(retained, counts[-1])
'''


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc malloc')
@pytest.mark.parametrize('mode, env, retained', [
    ('retain', {}, True), ('default', {}, False),
    ('retain', {'MALLOC_TRIM_THRESHOLD_': '131072'}, False)])  # the user's choice stands
def test_freed_memory_is_reused_without_page_faults(mode, env, retained):
    """glibc maps each allocation above 32 MiB afresh and unmaps it on free: every step's
    activations were faulted in again page by page (16384 faults per 64 MiB)."""
    env = dict(os.environ, PYTHONPATH=REPO, **env)
    out = subprocess.run([sys.executable, '-c', FAULTS_SCRIPT, mode], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    assert out[0] == str(retained)
    faults = int(out[1])
    if retained:
        assert faults < 1000
    elif '[always]' not in THP:  # with 2 MiB pages always on, 64 MiB fault in 32 times
        assert faults > 10000
