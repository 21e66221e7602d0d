"""The CUDA stand-ins that let torchvision's compiled ``_C.so`` load on the CPU-only torch of
DeepLabCut's reference env (benchmarks/reference/torchvision_cpu_ops.py and
torchvision_cuda_stubs.cpp, built into the env by benchmarks/setup_dlc_reference_env.sh).

The comparison with torchvision's own kernels needs a built reference env: ``DLC_REF_ENV`` or
``benchmarks/.dlc-ref-env``; it is skipped without one."""
import glob
import importlib.util
import os
import shutil
import subprocess
import sys

import pytest
import torch

from posecfg.models.heads.dekr_head import deform_conv2d

pytestmark = pytest.mark.usefixtures('one_thread')

REPO = os.path.join(os.path.dirname(__file__), '..', '..')
OPS = os.path.join(REPO, 'benchmarks', 'reference', 'torchvision_cpu_ops.py')
SOURCE = os.path.join(REPO, 'benchmarks', 'reference', 'torchvision_cuda_stubs.cpp')
REF_ENV = os.environ.get('DLC_REF_ENV', os.path.join(REPO, 'benchmarks', '.dlc-ref-env'))
#: (stride, padding, dilation) of the deform_conv2d cases
CASES = [(1, 1, 1), (1, 2, 2), (2, 1, 1)]

needs_gxx = pytest.mark.skipif(shutil.which('g++') is None, reason='g++ not installed')


def load_ops():
    spec = importlib.util.spec_from_file_location('torchvision_cpu_ops', OPS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def defined_symbols(path):
    out = subprocess.run(['nm', '-D', '--defined-only', path], capture_output=True, text=True,
                         check=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


@pytest.fixture(scope='module')
def stubs(tmp_path_factory):
    """The three stand-ins compiled from the repository's source: (module, their folder)."""
    if shutil.which('g++') is None:
        pytest.skip('g++ not installed')
    ops = load_ops()
    out = str(tmp_path_factory.mktemp('stubs') / 'posecfg_cuda_stubs')
    ops.build_stubs(SOURCE, out)
    return ops, out


@needs_gxx
def test_stubs_carry_the_sonames_and_cudart_symbol_version_c_so_binds(stubs):
    ops, out = stubs
    for soname in ops.STUBS:
        dynamic = subprocess.run(['readelf', '-d', os.path.join(out, soname)],
                                 capture_output=True, text=True, check=True).stdout
        assert f'Library soname: [{soname}]' in dynamic
    cudart = defined_symbols(os.path.join(out, 'libcudart.so.13'))
    # _C.so binds e.g. __cudaRegisterFatBinary@libcudart.so.13: an unversioned one would not do
    assert '__cudaRegisterFatBinary@@libcudart.so.13' in cudart
    assert 'cudaLaunchKernel@@libcudart.so.13' not in cudart  # only what _C.so needs
    assert '_ZN3c104cuda20getCurrentCUDAStreamEa' in defined_symbols(
        os.path.join(out, 'libc10_cuda.so'))
    assert '_ZN2at4cuda26getCurrentDevicePropertiesEv' in defined_symbols(
        os.path.join(out, 'libtorch_cuda.so'))


@needs_gxx
def test_build_reports_the_compiler_error(tmp_path):
    bad = tmp_path / 'bad.cpp'
    bad.write_text('this is not C++\n')
    with pytest.raises(RuntimeError, match='libcudart.so.13 failed'):
        load_ops().build_stubs(str(bad), str(tmp_path / 'out'))


def test_preload_names_the_missing_stubs(tmp_path):
    with pytest.raises(ImportError, match='setup_dlc_reference_env.sh --force'):
        load_ops().preload_stubs(str(tmp_path))


@needs_gxx
def test_import_hook_preloads_the_stubs_when_torchvision_is_looked_up(stubs, tmp_path):
    # in a fresh process laid out as the env's site-packages (module next to posecfg_cuda_stubs/):
    # nothing is loaded until `import torchvision` is attempted (posecfg's env has none)
    _, out = stubs
    shutil.copy(OPS, tmp_path / 'posecfg_torchvision_cpu_ops.py')
    shutil.copytree(out, tmp_path / 'posecfg_cuda_stubs')
    code = f'''
import sys
sys.path.insert(0, {str(tmp_path)!r})
import posecfg_torchvision_cpu_ops as ops
ops.install_import_hook()
maps = lambda: open("/proc/self/maps").read()
assert "posecfg_cuda_stubs" not in maps()
try:
    import torchvision  # noqa: F401
except ImportError:
    pass
print(sorted(n for n in ops.STUBS if "posecfg_cuda_stubs/" + n in maps()))
'''
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(sorted(load_ops().STUBS))


def greedy_nms(boxes, scores, iou_threshold):
    """Greedy NMS in plain torch: boxes by decreasing score, one dropped when its IoU with a
    kept box is above ``iou_threshold``; returns kept indices, highest score first."""
    order = torch.argsort(scores, descending=True, stable=True)
    b = boxes[order].double()
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lt = torch.maximum(b[:, None, :2], b[None, :, :2])
    rb = torch.minimum(b[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    iou = inter / (area[:, None] + area[None, :] - inter)
    suppressed, keep = torch.zeros(len(b), dtype=torch.bool), []
    for i in range(len(b)):
        if not suppressed[i]:
            keep.append(i)
            suppressed |= iou[i] > iou_threshold
    return order[torch.tensor(keep, dtype=torch.long)]


def deform_cases():
    """Inputs (x, offset, weight) per (stride, padding, dilation): a 6 x 5 map, offsets up to
    3 cells, so many taps read partly or wholly off the map."""
    g = torch.Generator().manual_seed(0)
    cases = {}
    for stride, pad, dil in CASES:
        ho, wo = ((size + 2 * pad - 2 * dil - 1) // stride + 1 for size in (6, 5))
        cases[(stride, pad, dil)] = (torch.randn(2, 4, 6, 5, dtype=torch.float64, generator=g),
                                     torch.empty(2, 18, ho, wo, dtype=torch.float64).uniform_(
                                         -3, 3, generator=g),
                                     torch.randn(3, 4, 3, 3, dtype=torch.float64, generator=g))
    return cases


def backward_weights(out):
    """A fixed, non-uniform gradient for ``out``."""
    return torch.linspace(-1, 1, out.numel(), dtype=out.dtype).reshape(out.shape)


# run by the reference env's Python: torchvision's deform_conv2d (output, then its compiled
# backward) on each case, and nms on random boxes
TORCHVISION_RUN = '''
import sys
sys.path[:0] = [{site!r}, {ops_dir!r}]
import torch
import torchvision_cpu_ops
torchvision_cpu_ops.preload_stubs({stubs!r})
import torchvision
from torchvision.ops import deform_conv2d, nms
assert torchvision.extension._has_ops()
result = torch.load({inputs!r})
for (stride, pad, dil), (x, offset, weight, grad) in result["deform"].items():
    inputs = [t.clone().requires_grad_() for t in (x, offset, weight)]
    out = deform_conv2d(*inputs, stride=stride, padding=pad, dilation=dil)
    out.backward(grad)
    result["deform"][(stride, pad, dil)] = [out.detach()] + [t.grad for t in inputs]
result["nms"] = [(b, s, nms(b, s, 0.3)) for b, s in result["nms"]]
torch.save(result, {out!r})
'''


def test_torchvisions_compiled_kernels_equal_posecfgs_deform_conv_and_greedy_nms(stubs,
                                                                                  tmp_path):
    """torchvision's own CPU kernels, loaded with the repository's stand-ins in the reference
    env's Python: deform_conv2d's output and its compiled backward equal posecfg's
    grid_sample+matmul deform_conv2d and its autograd (float64, :func:`deform_cases`),
    nms equals greedy NMS on random boxes."""
    python = os.path.join(REF_ENV, 'bin', 'python')
    sites = glob.glob(os.path.join(REF_ENV, 'lib', 'python3*', 'site-packages'))
    if not os.access(python, os.X_OK) or not sites:
        pytest.skip(f'no DeepLabCut reference env at {REF_ENV} (DLC_REF_ENV)')
    _, stub_dir = stubs
    cases, expected, g = deform_cases(), {}, torch.Generator().manual_seed(1)
    for key, (x, offset, weight) in cases.items():
        stride, pad, dil = key
        inputs = [t.clone().requires_grad_() for t in (x, offset, weight)]
        out = deform_conv2d(*inputs, stride=stride, padding=pad, dilation=dil)
        out.backward(backward_weights(out))
        expected[key] = [out.detach()] + [t.grad for t in inputs]
        cases[key] += (backward_weights(out),)
    boxes = []
    for n in (0, 1, 40, 300):
        xy, wh = torch.rand(n, 2, generator=g) * 100, torch.rand(n, 2, generator=g) * 30
        boxes.append((torch.cat([xy, xy + wh], 1), torch.rand(n, generator=g)))
    torch.save({'deform': cases, 'nms': boxes}, tmp_path / 'inputs.pt')
    out = str(tmp_path / 'torchvision.pt')
    code = TORCHVISION_RUN.format(site=sites[0], ops_dir=os.path.dirname(os.path.abspath(OPS)),
                                  stubs=stub_dir, inputs=str(tmp_path / 'inputs.pt'), out=out)
    # -S: no sitecustomize, so only the stand-ins built from the repository are loaded
    done = subprocess.run([python, '-S', '-c', code], capture_output=True, text=True,
                          timeout=120, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert done.returncode == 0, done.stderr
    result = torch.load(out)
    for key, want in expected.items():
        for a, b, name in zip(result['deform'][key], want,
                              ('output', 'input grad', 'offset grad', 'weight grad')):
            assert b.abs().max() > 0.5, name  # not trivially zero
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10, msg=f'{key} {name}')
    for boxes, scores, kept in result['nms']:
        assert kept.tolist() == greedy_nms(boxes, scores, 0.3).tolist()
    assert 0 < len(result['nms'][-1][2]) < 300  # some boxes were suppressed
