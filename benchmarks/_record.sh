# Sourced by run_all.sh and run_dlc.sh. Needs OUT (the JSON-lines file results go to).
# record PAIR SIDE COMMAND...: run COMMAND, keep its last stdout line, tagged with pair and side.
# A failing command's stderr is shown and the driver stops (set -e).
record() {
    local pair=$1 side=$2
    shift 2
    local line err
    err=$(mktemp)
    if ! line=$("$@" 2>"$err" | tail -n 1) || [ -z "$line" ]; then
        echo "  $pair $side FAILED:" >&2
        tail -n 30 "$err" >&2
        rm -f "$err"
        return 1
    fi
    rm -f "$err"
    python3 -c 'import json, sys; r = json.loads(sys.argv[1]); r.update(pair=sys.argv[2], side=sys.argv[3]); print(json.dumps(r))' \
        "$line" "$pair" "$side" >> "$OUT"
    echo "  $pair $side done" >&2
}
