#!/usr/bin/env bash
# Create (idempotently) benchmarks/.lp-ref-env: a virtual environment with Lightning Pose 2.4.3
# from the package registries, the reference side of benchmarks/run_lp.sh. Nothing of Lightning
# Pose is copied into the repository.
#
#   benchmarks/setup_lp_reference_env.sh            # create or complete the env, then verify it
#   benchmarks/setup_lp_reference_env.sh --force    # delete the env and build it again
#   PYTHON=python3.11 LP_REF_ENV=/some/dir benchmarks/setup_lp_reference_env.sh
#
# A finished env carries the stamp $LP_REF_ENV/.lp-ref-installed holding the hash of this
# script; a run with a matching stamp only re-runs the import check.
# See benchmarks/README.md, section "Reference environment (Lightning Pose 2.4.3)".
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LP_REF_ENV="${LP_REF_ENV:-$HERE/.lp-ref-env}"
PYTHON="${PYTHON:-python3}"
PY="$LP_REF_ENV/bin/python"
STAMP="$LP_REF_ENV/.lp-ref-installed"
SCRIPT_HASH="$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)"

if [[ "${1:-}" == "--force" ]]; then
    rm -rf "$LP_REF_ENV"
fi

verify() {
    # Lightning Pose's model classes, torchvision's resnet and one heatmap forward on CPU.
    HF_HUB_OFFLINE=1 "$PY" -W ignore - <<'EOF'
import torch
import torchvision
import lightning_pose
from lightning_pose.models import HeatmapTracker
model = HeatmapTracker(num_keypoints=3, backbone='resnet18', pretrained=False,
                       downsample_factor=2, output_shape=(32, 32))
with torch.no_grad():
    out = model(torch.rand(1, 3, 128, 128))
shape = tuple((out[0] if isinstance(out, tuple) else out).shape)
assert shape == (1, 3, 32, 32), shape
print(f'lp-ref-env OK: lightning-pose {lightning_pose.__version__}, torch {torch.__version__}, '
      f'torchvision {torchvision.__version__}; heatmap forward -> {shape}')
EOF
}

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$SCRIPT_HASH" && -x "$PY" ]]; then
    verify
    exit 0
fi

echo "[lp-ref-env] creating $LP_REF_ENV with $("$PYTHON" --version 2>&1)"
[[ -x "$PY" ]] || "$PYTHON" -m venv "$LP_REF_ENV"

# pip with this machine's "Location ... is ignored" notices and the expected resolver complaint
# (nvidia-dali, declared by lightning-pose, is not installed) filtered; a failure prints all.
pip_install() {
    local log rc=0
    log="$(mktemp)"
    "$PY" -m pip install --disable-pip-version-check --quiet "$@" >"$log" 2>&1 || rc=$?
    if [[ $rc -ne 0 ]]; then cat "$log"; rm -f "$log"; return $rc; fi
    grep -v -E 'is ignored: it is neither a file nor a directory|dependency resolver does not currently|lightning-pose [0-9.]+ requires nvidia-dali' \
        "$log" || true
    rm -f "$log"
}

# The constraints file: every later install keeps the CPU torch (any other torch spec, e.g. the
# one torchvision declares, pulls gigabytes of CUDA wheels).
CONSTRAINTS="$LP_REF_ENV/constraints.txt"
printf 'torch==2.13.0+cpu\ntorchvision==0.28.0\n' > "$CONSTRAINTS"

# 1. torch first, pinned: pip takes the local CPU wheel.
pip_install "torch==2.13.0"

# 2. Lightning Pose itself without its declared dependencies: they include nvidia-dali-cuda110
#    (GPU only; 2.4.3 uses DALI only for its unsupervised losses and video prediction on GPU).
#    A wheel cached in LP_WHEEL_DIR (default /tmp/lpref) is used when present; else the registry.
LP_WHEEL_DIR="${LP_WHEEL_DIR:-/tmp/lpref}"
if [[ -f "$LP_WHEEL_DIR/lightning_pose-2.4.3-py3-none-any.whl" ]]; then
    pip_install --no-deps "$LP_WHEEL_DIR/lightning_pose-2.4.3-py3-none-any.whl"
else
    pip_install --no-deps "lightning-pose==2.4.3"
fi

# 3. Its dependencies (lightning_pose-2.4.3.dist-info/METADATA, without DALI and dev extras),
#    under the torch constraint. imaug is the numpy-2 fork of imgaug that 2.4.3 declares.
pip_install -c "$CONSTRAINTS" aniposelib h5py hydra-core imaug jaxtyping kornia \
    "lightning>=2.5.0,<2.6.0" "pytorch-lightning>=2.5.0,<2.6.0" matplotlib "moviepy>=2.0.0" \
    "numpy>=2.0.0" opencv-python-headless "pandas>=2.2.2" pillow safetensors \
    "scikit-learn>=1.5.0" "tensorboard<3.0.0" torchvision "transformers>=4.57.5"

# 4. torchvision 0.28.0 from the registry is built against a CUDA torch: its compiled ops
#    (torchvision._C) do not load with the CPU torch, and `import torchvision` then fails in
#    _meta_registrations / _autograd_registrations ("operator torchvision::nms does not exist").
#    Lightning Pose uses torchvision's models and transforms only, never its compiled ops, so the
#    env's torchvision/__init__.py imports those two modules only when extension._has_ops().
SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
"$PY" - "$SITE/torchvision/__init__.py" <<'EOF'
import re
import sys
path = sys.argv[1]
text = open(path).read()
marker = '# patched by posecfg setup_lp_reference_env.sh'
if marker not in text:
    block = re.search(r'from torchvision import \((.*?)\)  # usort:skip\n', text, re.S)
    if block is None:
        sys.exit(f'{path}: the import block to patch was not found (torchvision changed?)')
    names = [n.strip() for n in block.group(1).split(',') if n.strip()]
    ops_free = [n for n in names if n not in ('_autograd_registrations', '_meta_registrations')]
    new = (f'{marker}: skip the registrations of compiled ops when they are missing\n'
           f'from torchvision import {", ".join(ops_free)}  # usort:skip\n'
           'if extension._has_ops():\n'
           '    from torchvision import _autograd_registrations, _meta_registrations\n')
    text = text[:block.start()] + new + text[block.end():]
    open(path + '.tmp', 'w').write(text)
    import os
    os.replace(path + '.tmp', path)
    print(f'[lp-ref-env] patched {path}')
EOF

verify
"$PY" -m pip freeze --disable-pip-version-check 2>/dev/null > "$LP_REF_ENV/freeze.txt" || true
echo "$SCRIPT_HASH" > "$STAMP"
echo "[lp-ref-env] ready: $PY"
