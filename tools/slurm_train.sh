#!/usr/bin/env bash
# Train on a Slurm cluster: one task per GPU (or per CPU worker on CPU-only partitions).
#   tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args...]
# Environment: GPUS (total tasks, default 8), GPUS_PER_NODE (default 8), CPUS_PER_TASK (default 5),
# SRUN_ARGS (extra srun arguments), PYTHON.
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG WORK_DIR [train.py args...]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
shift 4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-}
PYTHON=${PYTHON:-python}
HERE=$(cd "$(dirname "$0")" && pwd)

GRES=""
if [ "$GPUS_PER_NODE" -gt 0 ] 2>/dev/null && [ "${CPU_ONLY:-0}" != 1 ]; then
    GRES="--gres=gpu:${GPUS_PER_NODE}"
fi
# shellcheck disable=SC2086
exec srun -p "$PARTITION" --job-name="$JOB_NAME" $GRES \
    --ntasks="$GPUS" --ntasks-per-node="$GPUS_PER_NODE" --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 $SRUN_ARGS \
    "$PYTHON" -u "$HERE/train.py" "$CONFIG" --work-dir="$WORK_DIR" --launcher slurm "$@"
