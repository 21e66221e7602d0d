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
# script and of benchmarks/reference/torchvision_cpu_ops.py; a run with a matching stamp only
# re-runs the import check. See benchmarks/README.md, "Reference environment (DeepLabCut 3.0.2)".
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DLC_REF_ENV="${DLC_REF_ENV:-$HERE/.dlc-ref-env}"
PYTHON="${PYTHON:-python3}"
PY="$DLC_REF_ENV/bin/python"
STAMP="$DLC_REF_ENV/.dlc-ref-installed"
OPS="$HERE/reference/torchvision_cpu_ops.py"
SCRIPT_HASH="$(cat "${BASH_SOURCE[0]}" "$OPS" | sha256sum | cut -d' ' -f1)"

if [[ "${1:-}" == "--force" ]]; then
    rm -rf "$DLC_REF_ENV"
fi

verify() {
    # import deeplabcut and its PyTorch models (torchvision included), and the stand-in nms on a
    # hand-made case: boxes 0 and 1 overlap with IoU 81/119 > 0.5, box 2 is apart.
    "$PY" -W ignore - <<'PYEOF'
import logging
logging.disable(logging.WARNING)
import torch
import torchvision
import deeplabcut
from deeplabcut.pose_estimation_pytorch.models import PoseModel  # noqa: F401

boxes = torch.tensor([[0., 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]])
kept = torch.ops.torchvision.nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.5)
assert kept.tolist() == [0, 2], kept
print(f'dlc-ref-env OK: deeplabcut {deeplabcut.__version__}, torch {torch.__version__}, '
      f'torchvision {torchvision.__version__} (pure-torch nms)')
PYEOF
}

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$SCRIPT_HASH" && -x "$PY" ]]; then
    # built by this very script: check torchvision imports and the installed DeepLabCut version
    # (a few seconds; importing all of deeplabcut takes ~15 s of CPU)
    "$PY" -W ignore -c 'import torch, torchvision, importlib.metadata as m
assert m.version("deeplabcut") == "3.0.2"
assert torch.ops.torchvision.nms(torch.tensor([[0., 0, 1, 1]]), torch.ones(1), 0.5).tolist() == [0]
print("dlc-ref-env OK (stamp matches): deeplabcut 3.0.2, torch", torch.__version__)'
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

# 4. The pure-torch torchvision::nms/qnms, registered by sitecustomize.py before torchvision's
#    first import (torchvision's _meta_registrations.py needs the operators to exist).
SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
cp "$OPS" "$SITE/posecfg_torchvision_cpu_ops.py"
cat > "$SITE/sitecustomize.py" <<'SEOF'
# Written by posecfg's benchmarks/setup_dlc_reference_env.sh: torchvision 0.28.0's compiled ops
# do not load on the CPU-only torch 2.13.0, so torchvision::nms/qnms are defined in pure torch
# just before torchvision is first imported (see posecfg_torchvision_cpu_ops.py).
import posecfg_torchvision_cpu_ops

posecfg_torchvision_cpu_ops.install_import_hook()
SEOF

verify
echo "$SCRIPT_HASH" > "$STAMP"
echo "[dlc-ref-env] ready: $PY"
