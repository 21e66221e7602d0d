#!/usr/bin/env bash
# Test a checkpoint on N processes (see dist_run.sh for NNODES, NODE_RANK, MASTER_ADDR, PORT).
#   tools/dist_test.sh CONFIG CHECKPOINT N [test.py args...]
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT NUM_PROCESSES [test.py args...]" >&2
    exit 2
fi
HERE=$(cd "$(dirname "$0")" && pwd)
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
shift 3
exec "$HERE/dist_run.sh" "$HERE/test.py" "$NPROC" "$CONFIG" "$CHECKPOINT" "$@"
