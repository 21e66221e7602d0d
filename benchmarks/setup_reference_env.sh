#!/usr/bin/env bash
# Create (idempotently) benchmarks/.ref-env: a virtual environment with MMPose 1.3.2 from PyPI,
# the reference side of posecfg's benchmarks. Nothing of MMPose is copied into the repository.
#
#   benchmarks/setup_reference_env.sh            # create or complete the env, then verify it
#   benchmarks/setup_reference_env.sh --force    # delete the env and build it again
#   PYTHON=python3.11 REF_ENV=/some/dir benchmarks/setup_reference_env.sh
#
# A finished env carries the stamp file $REF_ENV/.mmpose-ref-installed holding the hash of this
# script; a run with a matching stamp only re-runs the import check (a second or two).
# See benchmarks/README.md, section "Reference environment (MMPose 1.3.2)".
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REF_ENV="${REF_ENV:-$HERE/.ref-env}"
PYTHON="${PYTHON:-python3}"
PY="$REF_ENV/bin/python"
STAMP="$REF_ENV/.mmpose-ref-installed"
SCRIPT_HASH="$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)"

if [[ "${1:-}" == "--force" ]]; then
    rm -rf "$REF_ENV"
fi

verify() {
    # Import check plus one top-down forward/loss/predict on a tiny random batch.
    "$PY" -W ignore::UserWarning - <<'EOF'
import torch
import mmpose, mmengine, mmcv
from mmpose.apis import init_model  # noqa: F401  (the import the brief asks for)
from mmpose.utils import register_all_modules
from mmpose.registry import MODELS
from mmpose.structures import PoseDataSample
from mmengine.structures import InstanceData

register_all_modules()
model = MODELS.build(dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(type='PoseDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(type='ResNet', depth=18),
    head=dict(type='HeatmapHead', in_channels=512, out_channels=17,
              loss=dict(type='KeypointMSELoss', use_target_weight=True),
              decoder=dict(type='MSRAHeatmap', input_size=(192, 256), heatmap_size=(48, 64),
                           sigma=2)),
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=True)))
model.eval()
x = torch.rand(2, 3, 256, 192)
with torch.no_grad():
    feats = model(x, None, mode='tensor')
assert tuple(feats.shape) == (2, 17, 64, 48), feats.shape
print(f'ref-env OK: mmpose {mmpose.__version__}, mmengine {mmengine.__version__}, '
      f'mmcv {mmcv.__version__}, torch {torch.__version__}; top-down forward -> '
      f'{tuple(feats.shape)}')
EOF
}

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$SCRIPT_HASH" && -x "$PY" ]]; then
    verify
    exit 0
fi

echo "[ref-env] creating $REF_ENV with $("$PYTHON" --version 2>&1)"
[[ -x "$PY" ]] || "$PYTHON" -m venv "$REF_ENV"

# pip, with the noise of this machine's pip config (missing local index dirs) and the expected
# "mmpose requires chumpy/torchvision" resolver complaints filtered out; a failure prints all.
pip_install() {
    local log rc=0
    log="$(mktemp)"
    "$PY" -m pip install --disable-pip-version-check --quiet "$@" >"$log" 2>&1 || rc=$?
    if [[ $rc -ne 0 ]]; then cat "$log"; rm -f "$log"; return $rc; fi
    grep -v -E 'is ignored: it is neither a file nor a directory|dependency resolver does not currently|(mmpose|mmdet) [0-9.]+ requires (chumpy|torchvision|pycocotools|shapely|terminaltables|tqdm|six)' \
        "$log" || true
    rm -f "$log"
}

# Versions shared with posecfg (numpy, opencv, scipy, ...) are pinned to the same numbers as
# requirements/constraints.txt so both sides of a benchmark run the same numpy/OpenCV/torch;
# the MMPose-only packages are pinned here.
COMMON=("torch==2.13.0" "numpy==1.26.4" "opencv-python==4.11.0.86" "setuptools<81")

# 1. torch first, pinned to the local CPU wheel: any other spec pulls GBs of CUDA wheels.
pip_install "torch==2.13.0"

# 2. mmengine and the pure-Python mmcv (mmcv-lite: no compiled ops; see the _ext stub below).
#    setuptools<81: mmengine imports pkg_resources, removed in setuptools 81.
pip_install "${COMMON[@]}" "mmengine==0.10.7" "mmcv-lite==2.1.0"

# 3. MMPose and MMDetection without their declared dependencies (those would pull torchvision,
#    i.e. a CUDA torch, and chumpy, which does not build on Python 3.11), then exactly what the
#    top-down code path imports: mmpose imports mmdet.utils (rtmo_head.py) at import time, and
#    six (models/utils/misc.py), json_tricks, munkres, xtcocotools, matplotlib, scipy, pillow.
pip_install --no-deps "mmpose==1.3.2" "mmdet==3.2.0"
pip_install "${COMMON[@]}" "json_tricks==3.17.3" "munkres==3.0.0" "six==1.17.0" \
    "xtcocotools==1.14.3" "matplotlib==3.11.2" "scipy==1.17.1" "pillow==13.0.0"

SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"

# 4. torchvision stub. mmpose imports only `from torchvision.transforms import ToPILImage`
#    (mmpose/visualization/simcc_vis.py, at import of mmpose.visualization); the real wheel
#    requires a matching (CUDA) torch build here. The stub raises if it is ever used.
mkdir -p "$SITE/torchvision/transforms"
cat > "$SITE/torchvision/__init__.py" <<'EOF'
"""Stub written by posecfg's benchmarks/setup_reference_env.sh: NOT torchvision.

MMPose 1.3.2 imports torchvision.transforms.ToPILImage at import time only; the
benchmarks never call it. Anything else raises ImportError/RuntimeError.
"""
__version__ = '0.0.0+posecfg-stub'
EOF
cat > "$SITE/torchvision/transforms/__init__.py" <<'EOF'
"""Stub (see torchvision/__init__.py)."""


class ToPILImage:
    def __init__(self, *args, **kwargs):
        raise RuntimeError('torchvision is a stub in the posecfg reference env')
EOF

# 5. mmcv/_ext.py stub. mmcv-lite has no compiled extension, but mmcv.ops (imported by mmdet and
#    by mmpose modules that register optional ops) loads `mmcv._ext` through
#    mmcv.utils.ext_loader.load_ext, which checks that each requested function name exists.
#    The stub module hands out a function object for any name that raises when called, so
#    the imports succeed and any actual use of a compiled op fails loudly.
cat > "$SITE/mmcv/_ext.py" <<'EOF'
"""Stub written by posecfg's benchmarks/setup_reference_env.sh: mmcv-lite has no compiled ops.

Top-down pose estimation never calls them; importing mmcv.ops only needs the names to exist.
"""


def __getattr__(name):
    if name.startswith('__'):
        raise AttributeError(name)

    def _missing(*args, **kwargs):
        raise RuntimeError(f'mmcv._ext.{name}: compiled mmcv ops are a stub in the '
                           'posecfg reference env (mmcv-lite)')

    _missing.__name__ = name
    return _missing
EOF

verify
echo "$SCRIPT_HASH" > "$STAMP"
echo "[ref-env] ready: $PY"
