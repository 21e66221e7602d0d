#!/usr/bin/env bash
# Create (idempotently) benchmarks/.dlc-ref-env: a virtual environment with DeepLabCut 3.0.2 from
# PyPI on this machine's CPU-only torch 2.13.0, the reference side of benchmarks/run_dlc.sh.
# Nothing of DeepLabCut is copied into the repository.
#
#   benchmarks/setup_dlc_reference_env.sh            # create or complete the env, then verify it
#   benchmarks/setup_dlc_reference_env.sh --force    # delete the env and build it again
#   PYTHON=python3.11 DLC_REF_ENV=/some/dir benchmarks/setup_dlc_reference_env.sh
#
# A finished env carries the stamp $DLC_REF_ENV/.dlc-ref-installed holding the hash of this
# script and of benchmarks/reference/torchvision_cpu_ops.py and torchvision_cuda_stubs.cpp; a run
# with a matching stamp only re-runs the import check. Needs g++ (the CUDA stand-ins, step 4). See benchmarks/README.md, "Reference environment (DeepLabCut 3.0.2)".
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DLC_REF_ENV="${DLC_REF_ENV:-$HERE/.dlc-ref-env}"
PYTHON="${PYTHON:-python3}"
PY="$DLC_REF_ENV/bin/python"
STAMP="$DLC_REF_ENV/.dlc-ref-installed"
OPS="$HERE/reference/torchvision_cpu_ops.py"
STUBS_SRC="$HERE/reference/torchvision_cuda_stubs.cpp"
SCRIPT_HASH="$(cat "${BASH_SOURCE[0]}" "$OPS" "$STUBS_SRC" | sha256sum | cut -d' ' -f1)"

if [[ "${1:-}" == "--force" ]]; then
    rm -rf "$DLC_REF_ENV"
fi

verify() {
    # import deeplabcut and its PyTorch models, then torchvision's own compiled operators (not
    # stand-ins) against hand-computed values:
    # - nms: boxes 0 and 1 overlap with IoU 81/119 > 0.5, box 2 is apart;
    # - deform_conv2d with zero offsets is conv2d (padding and dilation 1 and 2);
    # - a 1x1 kernel with offsets (dy, dx) = (0.5, 0.25) reads x bilinearly between 4 cells, 0
    #   off the map (last row and column half off it);
    # - its compiled backward against finite differences (gradcheck, float64).
    "$PY" -W ignore - <<'PYEOF'
import logging
logging.disable(logging.WARNING)
import torch
import torch.nn.functional as F
import torchvision
import deeplabcut
from deeplabcut.pose_estimation_pytorch.models import PoseModel  # noqa: F401
from torchvision.ops import deform_conv2d

assert torchvision.extension._has_ops(), "torchvision's _C.so did not load"
boxes = torch.tensor([[0., 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]])
kept = torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.5)
assert kept.tolist() == [0, 2], kept

g = torch.Generator().manual_seed(0)
x, w = torch.randn(2, 3, 6, 5, generator=g), torch.randn(4, 3, 3, 3, generator=g)
for d in (1, 2):
    got = deform_conv2d(x, torch.zeros(2, 18, 6, 5), w, padding=d, dilation=d)
    assert torch.allclose(got, F.conv2d(x, w, padding=d, dilation=d), atol=1e-5), d
x = torch.arange(12, dtype=torch.float64).reshape(1, 1, 3, 4)
offset = torch.tensor([0.5, 0.25], dtype=torch.float64).reshape(1, 2, 1, 1).expand(1, 2, 3, 4)
got = deform_conv2d(x, offset, torch.ones(1, 1, 1, 1, dtype=torch.float64))[0, 0]
xp = F.pad(x[0, 0], (0, 1, 0, 1))  # 0 past the last row and column
want = (0.5 * 0.75 * xp[:-1, :-1] + 0.5 * 0.25 * xp[:-1, 1:]
        + 0.5 * 0.75 * xp[1:, :-1] + 0.5 * 0.25 * xp[1:, 1:])
assert torch.allclose(got, want, atol=1e-12), (got, want)
inputs = (torch.randn(1, 2, 4, 3, dtype=torch.float64, generator=g, requires_grad=True),
          ((torch.rand(1, 18, 4, 3, dtype=torch.float64, generator=g) - 0.5) * 5).requires_grad_(),
          torch.randn(2, 2, 3, 3, dtype=torch.float64, generator=g, requires_grad=True))
assert torch.autograd.gradcheck(lambda a, o, b: deform_conv2d(a, o, b, padding=1), inputs)
print(f'dlc-ref-env OK: deeplabcut {deeplabcut.__version__}, torch {torch.__version__}, '
      f'torchvision {torchvision.__version__} (its own compiled CPU ops: nms, deform_conv2d)')
PYEOF
}

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$SCRIPT_HASH" && -x "$PY" ]]; then
    # built by this very script: check torchvision imports and the installed DeepLabCut version
    # (a few seconds; importing all of deeplabcut takes ~15 s of CPU)
    "$PY" -W ignore -c 'import torch, torchvision, importlib.metadata as m
assert m.version("deeplabcut") == "3.0.2"
assert torchvision.extension._has_ops(), "torchvision\x27s _C.so did not load"
assert torch.ops.torchvision.nms(torch.tensor([[0., 0, 1, 1]]), torch.ones(1), 0.5).tolist() == [0]
x, w = torch.randn(1, 2, 4, 4), torch.randn(3, 2, 3, 3)
y = torchvision.ops.deform_conv2d(x, torch.zeros(1, 18, 4, 4), w, padding=1)
assert torch.allclose(y, torch.nn.functional.conv2d(x, w, padding=1), atol=1e-5)
print("dlc-ref-env OK (stamp matches): deeplabcut 3.0.2, torch", torch.__version__,
      "with torchvision\x27s compiled CPU ops")'
    exit 0
fi

echo "[dlc-ref-env] creating $DLC_REF_ENV with $("$PYTHON" --version 2>&1)"
[[ -x "$PY" ]] || "$PYTHON" -m venv "$DLC_REF_ENV"

# pip, with this machine's "Location ... is ignored" notices filtered out; a failure prints all.
pip_run() {
    local log rc=0
    log="$(mktemp)"
    "$PY" -m pip --disable-pip-version-check "$@" >"$log" 2>&1 || rc=$?
    if [[ $rc -ne 0 ]]; then cat "$log"; rm -f "$log"; return $rc; fi
    grep -v -E 'is ignored: it is neither a file nor a directory|^(Requirement already|Looking in|Collecting|Using cached|Downloading|Saved|Successfully downloaded|File was already)' \
        "$log" | grep -v -E '^\s*$' || true
    rm -f "$log"
}

# 1. torch first, pinned to the local CPU wheel: any other torch spec pulls GBs of CUDA wheels.
pip_run install --quiet "torch==2.13.0"

# 2. Constraints for everything after: torch stays the CPU build; libraries posecfg also uses are
#    pinned to requirements/constraints.txt's versions (both sides run the same numpy, OpenCV,
#    pandas, PyTables); DeepLabCut-only packages to the versions resolved when this was written.
CONSTRAINTS="$DLC_REF_ENV/constraints.txt"
cat > "$CONSTRAINTS" <<'CEOF'
torch==2.13.0+cpu
torchvision==0.28.0
numpy==1.26.4
pandas==2.2.3
tables==3.9.2
scipy==1.17.1
matplotlib==3.11.2
pillow==13.0.0
opencv-python-headless==4.11.0.86
PyYAML==6.0.3
packaging==26.3
networkx==3.6.1
albumentations==1.4.3
dlclibrary==0.0.12
einops==0.8.2
filelock==3.15.4
filterpy==2.0.0
huggingface_hub==2.4.0
imageio-ffmpeg==0.8.1
numba==0.68.1
llvmlite==0.50.0
pycocotools==2.0.11
pydantic==2.14.4
ruamel.yaml==0.19.1
scikit-image==0.26.0
scikit-learn==1.9.1
statsmodels==0.15.0
timm==1.0.31
tqdm==4.70.1
blosc2==4.14.1
CEOF

# 3. DeepLabCut 3.0.2 and torchvision 0.28.0 as wheels, without their dependencies (torchvision's
#    declared torch would be a CUDA build), then installed with the constraints: pip keeps the
#    installed torch 2.13.0+cpu for torchvision's "torch==2.13.0".
WHEELS="$DLC_REF_ENV/wheels"
mkdir -p "$WHEELS"
pip_run download --quiet --no-deps -d "$WHEELS" "deeplabcut==3.0.2" "torchvision==0.28.0"
pip_run install --quiet -c "$CONSTRAINTS" "$WHEELS"/deeplabcut-3.0.2-*.whl \
    "$WHEELS"/torchvision-0.28.0-*.whl

# 4. torchvision's own compiled operators: its _C.so was linked against a CUDA torch and needs
#    libcudart.so.13, libc10_cuda.so and libtorch_cuda.so besides the torch libraries the CPU
#    build has. torchvision_cuda_stubs.cpp defines the symbols it takes from those three (fat-
#    binary registration as no-ops, CUDA-only calls aborting); they are compiled here with g++
#    into site-packages/posecfg_cuda_stubs/ and loaded (RTLD_GLOBAL, under those sonames) by a
#    sitecustomize.py import hook just before torchvision's first import, which then loads its
#    _C.so: nms, deform_conv2d, ... run torchvision's CPU kernels.
SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
cp "$OPS" "$SITE/posecfg_torchvision_cpu_ops.py"
"$PY" "$SITE/posecfg_torchvision_cpu_ops.py" build "$STUBS_SRC" "$SITE/posecfg_cuda_stubs" >/dev/null
cat > "$SITE/sitecustomize.py" <<'SEOF'
# Written by posecfg's benchmarks/setup_dlc_reference_env.sh: torchvision 0.28.0's compiled ops
# (_C.so) were linked against a CUDA torch; stand-ins for its three CUDA libraries are loaded
# just before torchvision is first imported, so they load on the CPU-only torch 2.13.0 (see
# posecfg_torchvision_cpu_ops.py).
import posecfg_torchvision_cpu_ops

posecfg_torchvision_cpu_ops.install_import_hook()
SEOF

verify
echo "$SCRIPT_HASH" > "$STAMP"
echo "[dlc-ref-env] ready: $PY"
