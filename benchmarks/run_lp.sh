#!/usr/bin/env bash
# posecfg vs Lightning Pose 2.4.3, side by side on this machine (see benchmarks/README.md,
# "Lightning Pose 2.4.3"), on a temporary copy of the mirror-mouse project with
# lp-configs/config_mirror-mouse-example.yaml:
#   (a) supervised training steps/s, 256x256, batch 16, resnet18 and resnet50
#   (b) model-and-data load time to the first predicted frame, fresh process
#   (c) video prediction frames/s (resnet18), with the decode-only rate
#   (d) test pixel error after the same wall-clock training budget from the same weights
#   (e) posecfg only: semi-supervised training steps/s (pca_singleview, pca_multiview,
#       temporal; Lightning Pose 2.4.3 cannot train them on a CPU), resnet18 256x256 batch 16
# Each pair runs alternately, posecfg then reference, ROUNDS times; compare.py prints
# "posecfg X, reference Y, ratio" with min/median/max.
#   benchmarks/run_lp.sh [--rounds 1] [--budget 600] [--frames 0] [--steps 3] [--load-repeats 3]
#                       [--only a,b,c,d,e] [--work DIR]
#                       [--backbones resnet18,resnet50]
# THREADS=N (default nproc) for both sides; POSECFG_THREADS=N|auto for posecfg's only
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=1
BUDGET=600      # seconds of training per side for (d) (and the models of (b), (c))
FRAMES=0        # (c): 0 = the whole test_vid.mp4 (994 frames), else its first N frames
STEPS=3         # (a): timed steps after 2 warm-up steps
LOAD_REPEATS=3  # (b): fresh processes per side and round
ONLY=a,b,c,d,e
BACKBONES=resnet18,resnet50  # (a)
WORK=           # folder for logs and the trained models; --work DIR of an earlier run reuses
                # its models for (b) and (c) when (d) is not asked for
while [ $# -gt 0 ]; do
    case $1 in
        --rounds) ROUNDS=$2; shift 2 ;;
        --budget) BUDGET=$2; shift 2 ;;
        --frames) FRAMES=$2; shift 2 ;;
        --steps) STEPS=$2; shift 2 ;;
        --load-repeats) LOAD_REPEATS=$2; shift 2 ;;
        --only) ONLY=$2; shift 2 ;;
        --work) WORK=$2; shift 2 ;;
        --backbones) BACKBONES=$2; shift 2 ;;
        *) echo "usage: $0 [--rounds N] [--budget S] [--frames N] [--steps N] [--load-repeats N] [--only a,b,c,d,e] [--work DIR] [--backbones LIST]" >&2
           exit 2 ;;
    esac
done
# posecfg's python: POSECFG_PYTHON if given (e.g. a worktree using another checkout's venv),
# else the checkout's .venv, built by `make env`
if [ -n "${POSECFG_PYTHON:-}" ]; then
    OURS=$POSECFG_PYTHON
else
    make env >/dev/null
    OURS=.venv/bin/python
fi
benchmarks/setup_lp_reference_env.sh >/dev/null
REF=benchmarks/.lp-ref-env/bin/python
THREADS=${THREADS:-$(nproc)}
# posecfg's side: the same count, or POSECFG_THREADS=auto for its runtime.threads default (a
# probe picks the count: on busy shared cores 1, where bf16 with 2 threads ran ~4x slower)
OURS_THREADS=${POSECFG_THREADS:-$THREADS}
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=benchmarks/.cache/lp-results-$STAMP.jsonl
WORK=${WORK:-$(mktemp -d /tmp/posecfg-lpbench-XXXXXX)}
mkdir -p benchmarks/.cache
: > "$OUT"
want() { [[ ",$ONLY," == *",$1,"* ]]; }

record() {  # record PAIR SIDE COMMAND...: run COMMAND, keep its last stdout line, tagged
    local pair=$1 side=$2 log
    shift 2
    log="$WORK/$pair-$side.log"
    local line
    # the last line holding a result: Lightning's progress bar ends its lines with \r, not
    # \n, and redraws after the result when training is stopped
    line=$("$@" 2>"$log" | grep -o '{"bench".*' | tail -n 1) || true
    [ -n "$line" ] || { echo "  $pair $side FAILED (see $log)" >&2; return 0; }
    python3 -c 'import json, sys; r = json.loads(sys.argv[1]); r.update(pair=sys.argv[2], side=sys.argv[3]); print(json.dumps(r))' \
        "$line" "$pair" "$side" >> "$OUT"
    echo "  $pair $side done" >&2
}

# (d) first: both train for the budget from the same initial weights (Lightning Pose's, saved by
# the reference run); the trained folders serve (b) and (c)
if want d || { { want b || want c; } && [ ! -d "$WORK/posecfg-run" ]; }; then
    echo "(d) training $BUDGET s per side (resnet18)" >&2
    record lp_error reference $REF benchmarks/reference/lp_train_budget.py --budget "$BUDGET" \
        --out "$WORK/lp-model" --save-init "$WORK/init.pt" --threads "$THREADS"
    record lp_error posecfg $OURS benchmarks/lp_train_budget.py --budget "$BUDGET" \
        --out "$WORK/posecfg-run" --init "$WORK/init.pt" --threads "$OURS_THREADS"
fi
for round in $(seq "$ROUNDS"); do
    echo "round $round/$ROUNDS" >&2
    if want a; then
        for backbone in ${BACKBONES//,/ }; do
            [ "$backbone" = resnet18 ] || continue  # resnet18 first, the rest after (b), (c)
            record lp_train_$backbone posecfg $OURS benchmarks/lp_train_steps.py \
                --backbone $backbone --threads "$OURS_THREADS" --steps "$STEPS"
            record lp_train_$backbone reference $REF benchmarks/reference/lp_train_steps.py \
                --backbone $backbone --threads "$THREADS" --steps "$STEPS"
        done
    fi
    if want b; then
        record lp_load posecfg $OURS benchmarks/lp_load_time.py --run-dir "$WORK/posecfg-run" \
            --threads "$OURS_THREADS" --repeats "$LOAD_REPEATS"
        record lp_load reference $REF benchmarks/reference/lp_load_time.py \
            --model-dir "$WORK/lp-model" --threads "$THREADS" --repeats "$LOAD_REPEATS"
    fi
    if want c; then
        record lp_video posecfg $OURS benchmarks/lp_video.py --run-dir "$WORK/posecfg-run" \
            --frames "$FRAMES" --threads "$OURS_THREADS"
        record lp_video reference $REF benchmarks/reference/lp_video.py \
            --model-dir "$WORK/lp-model" --frames "$FRAMES" --threads "$THREADS"
    fi
    if want e; then  # posecfg only: Lightning Pose 2.4.3 trains these losses on a GPU only
        record lp_semi_resnet18 posecfg $OURS benchmarks/lp_train_steps.py --backbone resnet18 \
            --threads "$OURS_THREADS" --steps "$STEPS" \
            --losses pca_singleview,pca_multiview,temporal
    fi
    if want a; then  # last: the longest pair
        for backbone in ${BACKBONES//,/ }; do
            [ "$backbone" != resnet18 ] || continue
            record lp_train_$backbone posecfg $OURS benchmarks/lp_train_steps.py \
                --backbone $backbone --threads "$OURS_THREADS" --steps "$STEPS"
            record lp_train_$backbone reference $REF benchmarks/reference/lp_train_steps.py \
                --backbone $backbone --threads "$THREADS" --steps "$STEPS"
        done
    fi
done
echo "results: $OUT (logs and models: $WORK)" >&2
python3 benchmarks/compare.py "$OUT"
