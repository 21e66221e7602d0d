"""torchvision's own compiled CPU operators on a CPU-only torch, for DeepLabCut's reference env.

torchvision 0.28.0 from PyPI ships ``_C.so`` (deform_conv2d, nms, roi_align, ... for CPU and
CUDA) built against a CUDA torch 2.13.0: besides the torch libraries a CPU torch also has, it
needs ``libcudart.so.13``, ``libc10_cuda.so`` and ``libtorch_cuda.so``. Without them it does
not load, no ``torchvision::*`` operator exists, ``import torchvision`` fails (its
``_meta_registrations.py`` registers fakes for ``torchvision::nms``) and DeepLabCut's DEKR
(``torchvision.ops.DeformConv2d``) cannot run.

``torchvision_cuda_stubs.cpp`` defines the symbols ``_C.so`` takes from those three libraries:
the fat-binary registration its static constructors call at load time (a no-op) and functions
only CUDA kernels call (they abort with their name if ever reached; the dispatcher reaches a
CUDA kernel only for CUDA tensors, which a CPU-only torch cannot make). :func:`build_stubs`
compiles one shared library per name (:data:`STUBS`) with g++; :func:`preload_stubs` loads them
with ``RTLD_GLOBAL`` under their sonames, so the dynamic linker satisfies ``_C.so``'s NEEDED
entries with them when torchvision loads ``_C.so`` itself (``torchvision/extension.py``): the
operators DeepLabCut runs are torchvision's own CPU kernels.

:func:`install_import_hook` preloads them just before the first ``import torchvision`` (so
processes that never import torchvision, pip included, load nothing);
``setup_dlc_reference_env.sh`` copies this file into the env's site-packages as
``posecfg_torchvision_cpu_ops.py``, builds the libraries into ``posecfg_cuda_stubs/`` next to
it and writes a ``sitecustomize.py`` that installs the hook.

Command line (used by the setup script)::

    python torchvision_cpu_ops.py build SOURCE.cpp OUT_DIR   # compile the three stubs
"""
import ctypes
import importlib.abc
import os
import subprocess
import sys

#: soname of each stand-in -> the macro selecting its part of torchvision_cuda_stubs.cpp
STUBS = {'libcudart.so.13': 'STUB_CUDART',
         'libc10_cuda.so': 'STUB_C10_CUDA',
         'libtorch_cuda.so': 'STUB_TORCH_CUDA'}
#: where the env keeps the compiled stand-ins: next to this module
STUB_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'posecfg_cuda_stubs')
#: ``_C.so`` binds libcudart's symbols with this symbol version
CUDART_VERSION_NODE = 'libcudart.so.13'

_LOADED = []  # the CDLL handles, kept for the process's lifetime


def build_stubs(source, out_dir, cxx='g++'):
    """Compile ``source`` (torchvision_cuda_stubs.cpp) into one shared library per
    :data:`STUBS` entry in ``out_dir``; returns their paths. Raises ``RuntimeError`` with the
    compiler's output when a compilation fails."""
    os.makedirs(out_dir, exist_ok=True)
    version_script = os.path.join(out_dir, 'libcudart.map')
    with open(version_script, 'w') as f:
        f.write(f'{CUDART_VERSION_NODE} {{ global: *; }};\n')
    paths = []
    for soname, macro in STUBS.items():
        path = os.path.join(out_dir, soname)
        cmd = [cxx, '-shared', '-fPIC', '-O1', f'-D{macro}', f'-Wl,-soname,{soname}']
        if macro == 'STUB_CUDART':
            cmd.append(f'-Wl,--version-script={version_script}')
        cmd += [source, '-o', path]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f'building the CUDA stand-in {soname} failed: {" ".join(cmd)}\n'
                               f'{done.stdout}{done.stderr}')
        paths.append(path)
    return paths


def preload_stubs(stub_dir=STUB_DIR):
    """Load the stand-ins globally (once per process); returns their paths."""
    paths = [os.path.join(stub_dir, soname) for soname in STUBS]
    if _LOADED:
        return paths
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise ImportError(f'CUDA stand-ins for torchvision missing: {missing}; rebuild the env '
                          'with benchmarks/setup_dlc_reference_env.sh --force')
    for path in paths:
        _LOADED.append(ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL))
    return paths


class _PreloadBeforeTorchvision(importlib.abc.MetaPathFinder):
    """Finds nothing itself; preloads the stand-ins when ``torchvision`` is first looked up."""

    def find_spec(self, name, path=None, target=None):
        if name == 'torchvision':
            sys.meta_path.remove(self)
            preload_stubs()
        return None


def install_import_hook():
    if not any(isinstance(f, _PreloadBeforeTorchvision) for f in sys.meta_path):
        sys.meta_path.insert(0, _PreloadBeforeTorchvision())


if __name__ == '__main__':
    if len(sys.argv) != 4 or sys.argv[1] != 'build':
        sys.exit(f'usage: {sys.argv[0]} build SOURCE.cpp OUT_DIR')
    for built in build_stubs(sys.argv[2], sys.argv[3]):
        print(built)
