#!/usr/bin/env bash
# posecfg vs DeepLabCut 3.0.2, side by side on this machine, on a temporary copy of the
# openfield project (see benchmarks/README.md, "DeepLabCut 3.0.2"):
# (a) training images/s, resnet_50 and hrnet_w32, 448x448 crops, batch 8 (the shuffle's yaml);
# (b) evaluation images/s (116 train+test images); (c) video analysis frames/s of a clip of
# m3v1mp4.mp4, with the decode-only rate beside; (d) test RMSE after the same wall-clock
# training budget from the same initialisation (once, after the rounds; --budget 0 skips it;
# --budget-side-by-side runs both sides at once, one core and one thread each).
# --dataset multianimal: the synthetic multi-animal project instead (issue 15 item 7), networks
# resnet_50 (part affinity fields) and dekr_w32: (a) training and (b) evaluation with assembly
# per network (pairs dlc_ma_train_<net>, dlc_ma_evaluate_<net>), (d) as above; no video.
# Each measurement alternates posecfg then DeepLabCut, ROUNDS times; compare.py prints ratios.
#   benchmarks/run_dlc.sh [--dataset openfield] [--rounds 1] [--iters 3] [--warmup 1] [--nets resnet_50,hrnet_w32]
#                         [--clip-frames 100] [--budget 600] [--budget-side-by-side]
#                         [--only train,evaluate,video,budget] [--data-root DIR]
#                         [--work DIR] [--out FILE.jsonl]
# --work keeps the prepared projects in DIR (prepared only once) and --out appends to FILE, so
# the measurements can be run piece by piece (--only) into one table.
set -euo pipefail
cd "$(dirname "$0")/.."
DATASET=openfield
ROUNDS=1
ITERS=3
WARMUP=1
NETS=
CLIP_FRAMES=100
BUDGET=600
ONLY=train,evaluate,video,budget
BUDGET_SIDE_BY_SIDE=0
WORK=
OUT=benchmarks/.cache/dlc-results-$(date +%Y%m%d-%H%M%S).jsonl
export POSECFG_SHARED_DATA=${POSECFG_SHARED_DATA:-$(cd .. && pwd)/shared/data}
while [ $# -gt 0 ]; do
    case $1 in
        --dataset) DATASET=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --iters) ITERS=$2; shift 2 ;;
        --warmup) WARMUP=$2; shift 2 ;;
        --nets) NETS=$2; shift 2 ;;
        --clip-frames) CLIP_FRAMES=$2; shift 2 ;;
        --budget) BUDGET=$2; shift 2 ;;
        --budget-side-by-side) BUDGET_SIDE_BY_SIDE=1; shift ;;
        --only) ONLY=$2; shift 2 ;;
        --data-root) POSECFG_SHARED_DATA=$2; shift 2 ;;
        --work) WORK=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        *) echo "usage: $0 [--dataset openfield|multianimal] [--rounds N] [--iters N] [--warmup N] [--nets A,B] [--clip-frames N] [--budget S]" \
                "[--only train,evaluate,video,budget] [--data-root DIR] [--work DIR] [--out FILE]" >&2
           exit 2 ;;
    esac
done
case $DATASET in
    openfield) PROJECT=$POSECFG_SHARED_DATA/dlc-openfield-Pranav-2018-10-30
               NETS=${NETS:-resnet_50,hrnet_w32}; SUB=; PREFIX=dlc_ ;;
    multianimal) PROJECT=$POSECFG_SHARED_DATA/dlc-synthetic-multianimal
                 NETS=${NETS:-resnet_50,dekr_w32}; SUB=/multianimal; PREFIX=dlc_ma_ ;;
    *) echo "--dataset is openfield or multianimal, got $DATASET" >&2; exit 2 ;;
esac
if [ ! -d "$PROJECT" ]; then
    echo "the DeepLabCut benchmarks need the $DATASET project at $PROJECT (--data-root DIR)" >&2
    exit 2
fi
OURS=${OURS_PYTHON:-.venv/bin/python}  # OURS_PYTHON: an existing posecfg environment
[ -x "$OURS" ] || make env >/dev/null
benchmarks/setup_dlc_reference_env.sh >/dev/null
REF=${DLC_REF_ENV:-benchmarks/.dlc-ref-env}/bin/python  # DLC_REF_ENV: as the setup script
THREADS=${THREADS:-$(nproc)}
mkdir -p "$(dirname "$OUT")"
touch "$OUT"
source benchmarks/_record.sh  # record PAIR SIDE COMMAND...
if [ -z "$WORK" ]; then
    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK"' EXIT
fi
wants() { [[ ",$ONLY," == *",$1,"* ]]; }
W=$WORK$SUB  # the two projects: $W/reference, $W/posecfg

if [ ! -f "$W/prepared" ]; then
    # the reference writes the shuffles and the initialisation both sides start from
    echo "preparing the $DATASET projects in $W" >&2
    mkdir -p "$W"
    record prepare reference $REF benchmarks/reference/dlc_bench.py prepare "$W/reference" --dataset "$DATASET" --threads "$THREADS"
    record prepare posecfg $OURS benchmarks/dlc_bench.py prepare "$W/posecfg" "$W/reference"
    if [ "$DATASET" = openfield ]; then
        $OURS benchmarks/dlc_bench.py clip "$PROJECT/videos/m3v1mp4.mp4" "$CLIP_FRAMES" "$WORK/clip.mp4" >/dev/null
    fi
    touch "$W/prepared"
fi

COMMON=(--threads "$THREADS")
for round in $(seq "$ROUNDS"); do
    echo "round $round/$ROUNDS" >&2
    if wants train; then
        for net in ${NETS//,/ }; do
            record "${PREFIX}train_$net" posecfg $OURS benchmarks/dlc_bench.py train "$W/posecfg" --net $net --iters "$ITERS" --warmup "$WARMUP" "${COMMON[@]}"
            record "${PREFIX}train_$net" reference $REF benchmarks/reference/dlc_bench.py train "$W/reference" --net $net --iters "$ITERS" --warmup "$WARMUP" "${COMMON[@]}"
        done
    fi
    if wants evaluate; then
        if [ "$DATASET" = openfield ]; then
            record dlc_evaluate posecfg $OURS benchmarks/dlc_bench.py evaluate "$W/posecfg" "${COMMON[@]}"
            record dlc_evaluate reference $REF benchmarks/reference/dlc_bench.py evaluate "$W/reference" "${COMMON[@]}"
        else
            for net in ${NETS//,/ }; do
                record "${PREFIX}evaluate_$net" posecfg $OURS benchmarks/dlc_bench.py evaluate "$W/posecfg" --net $net "${COMMON[@]}"
                record "${PREFIX}evaluate_$net" reference $REF benchmarks/reference/dlc_bench.py evaluate "$W/reference" --net $net "${COMMON[@]}"
            done
        fi
    fi
    if wants video && [ "$DATASET" = openfield ]; then
        record dlc_video posecfg $OURS benchmarks/dlc_bench.py video "$WORK/posecfg" "$WORK/clip.mp4" "${COMMON[@]}"
        record dlc_video reference $REF benchmarks/reference/dlc_bench.py video "$WORK/reference" "$WORK/clip.mp4" "${COMMON[@]}"
    fi
done
if wants budget && [ "$BUDGET" != 0 ]; then
    if [ "$BUDGET_SIDE_BY_SIDE" = 1 ]; then
        # both sides at once, each pinned to its own core with one thread: the same wall-clock
        # budget in half the time, and whatever else loads the machine loads both alike
        record "${PREFIX}budget" posecfg taskset -c 0 $OURS benchmarks/dlc_bench.py budget "$W/posecfg" --seconds "$BUDGET" --threads 1 &
        ours_pid=$!
        record "${PREFIX}budget" reference taskset -c 1 $REF benchmarks/reference/dlc_bench.py budget "$W/reference" --seconds "$BUDGET" --threads 1 &
        ref_pid=$!
        wait $ours_pid
        wait $ref_pid
    else
        record "${PREFIX}budget" posecfg $OURS benchmarks/dlc_bench.py budget "$W/posecfg" --seconds "$BUDGET" "${COMMON[@]}"
        record "${PREFIX}budget" reference $REF benchmarks/reference/dlc_bench.py budget "$W/reference" --seconds "$BUDGET" "${COMMON[@]}"
    fi
fi
echo "results: $OUT" >&2
python3 benchmarks/compare.py "$OUT"
