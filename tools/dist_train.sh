#!/usr/bin/env bash
# Train on N processes of this machine (several machines: set NNODES, NODE_RANK, MASTER_ADDR).
#   tools/dist_train.sh CONFIG N [train.py args...]
# Works without GPUs: the processes join a gloo process group and each trains on 1/N of the data.
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG NUM_PROCESSES [train.py args...]" >&2
    exit 2
fi
HERE=$(cd "$(dirname "$0")" && pwd)
CONFIG=$1
NPROC=$2
shift 2
exec "$HERE/dist_run.sh" "$HERE/train.py" "$NPROC" "$CONFIG" "$@"
