"""The runtime switches: compile decisions, evaluation preparation, the thread probe."""
import sys

import pytest
import torch

from posecfg.engine.hooks import CompileModelHook
from posecfg.engine.loops import COMPILE_EVAL_MIN_SAMPLES, inference_model
from posecfg.engine import runtime
from posecfg.engine.runtime import probe_step, probe_threads, resolve_runtime


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


def test_thread_probe_and_explicit_threads():
    assert 1 <= probe_threads(2, None, True) <= 2
    assert resolve_runtime({'threads': 3}, cuda=False).threads == 3
    with pytest.raises(Exception, match="runtime.threads must be 'auto' or a positive integer"):
        resolve_runtime({'threads': 0}, cuda=False)
    with pytest.raises(Exception, match="runtime: unknown key"):
        resolve_runtime({'thread': 1}, cuda=False)


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


def in_heap(address: int) -> bool:
    """Whether ``address`` lies in the process's brk heap (``[heap]`` in /proc/self/maps),
    where malloc keeps freed blocks, rather than in a block mapped for one allocation."""
    with open('/proc/self/maps') as maps:
        for line in maps:
            if line.rstrip().endswith('[heap]'):
                low, high = (int(v, 16) for v in line.split()[0].split('-'))
                return low <= address < high
    return False


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason="glibc's mallopt")
def test_reuse_memory_keeps_large_blocks_in_the_heap():
    """After ``reuse_freed_memory`` a 64 MB tensor comes from malloc's heap, whose freed blocks
    serve later allocations without faulting their pages in again; with glibc's defaults
    (blocks above 32 MB mapped one by one and unmapped when freed) it does not."""
    assert runtime.reuse_freed_memory()
    assert in_heap(torch.empty(16 * 1024 * 1024).data_ptr())


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
