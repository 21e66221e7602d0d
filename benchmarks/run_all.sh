#!/usr/bin/env bash
# posecfg vs MMPose 1.3.2, side by side on this machine (see benchmarks/README.md):
# (a) train-pipeline samples/s, (b) training images/s, (c) inference images/s with flip test,
# (d) print_config cold-process time. Each pair runs alternately, posecfg then reference, ROUNDS
# times, and compare.py prints "posecfg X, reference Y, ratio" with min/median/max.
#   benchmarks/run_all.sh [--rounds 2] [--data-root DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=2
DATA_ROOT=${POSECFG_SHARED_DATA:-$(cd .. && pwd)/shared/data}/mmpose-tests/coco
while [ $# -gt 0 ]; do
    case $1 in
        --rounds) ROUNDS=$2; shift 2 ;;
        --data-root) DATA_ROOT=$2; shift 2 ;;
        *) echo "usage: $0 [--rounds N] [--data-root DIR]" >&2; exit 2 ;;
    esac
done
if [ ! -d "$DATA_ROOT" ]; then
    echo "benchmarks need MMPose's COCO test images at $DATA_ROOT (--data-root DIR)" >&2
    exit 2
fi
make env >/dev/null
benchmarks/setup_reference_env.sh >/dev/null
OURS=.venv/bin/python
REF=benchmarks/.ref-env/bin/python
THREADS=${THREADS:-$(nproc)}
OUT=benchmarks/.cache/results-$(date +%Y%m%d-%H%M%S).jsonl
mkdir -p benchmarks/.cache
: > "$OUT"

source benchmarks/_record.sh  # record PAIR SIDE COMMAND...

# each side with its defaults: posecfg's tools set passive OpenMP waits (posecfg/config/cli.py),
# MMPose leaves OpenMP's; both get the same thread count
for round in $(seq "$ROUNDS"); do
    echo "round $round/$ROUNDS" >&2
    record pipeline posecfg $OURS benchmarks/posecfg_pipeline.py --data-root "$DATA_ROOT" --repeats 3
    record pipeline reference $REF benchmarks/reference/mmpose_pipeline.py --data-root "$DATA_ROOT" --repeats 3
    record train posecfg env OMP_WAIT_POLICY=PASSIVE $OURS benchmarks/posecfg_model_step.py train --data-root "$DATA_ROOT" --threads "$THREADS" --warmup 2 --repeats 3
    record train reference $REF benchmarks/reference/mmpose_train_step.py --data-root "$DATA_ROOT" --threads "$THREADS" --repeats 3
    record infer posecfg env OMP_WAIT_POLICY=PASSIVE $OURS benchmarks/posecfg_model_step.py infer --data-root "$DATA_ROOT" --threads "$THREADS" --warmup 2 --repeats 3
    record infer reference $REF benchmarks/reference/mmpose_inference.py --data-root "$DATA_ROOT" --threads "$THREADS" --repeats 3
    record print_config posecfg $OURS benchmarks/posecfg_print_config.py --repeats 10
    record print_config reference $REF benchmarks/reference/mmengine_print_config.py --repeats 10
done
echo "results: $OUT" >&2
python3 benchmarks/compare.py "$OUT"
echo "(posecfg against DeepLabCut 3.0.2: benchmarks/run_dlc.sh, tens of minutes; see benchmarks/README.md)" >&2
