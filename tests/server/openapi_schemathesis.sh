#!/usr/bin/env bash
# make test-openapi: schemathesis (build/venv) runs src/server/openapi.json, as served at
# /openapi.json, against a live `nerd serve` on 127.0.0.1: every operation, every check, with a
# fixed seed and a bounded number of examples per operation, so the run is reproducible and takes
# a minute or two. Exits non-zero on any failure. Usage: NERD_BIN SCHEMATHESIS MODEL EXAMPLES SEED
set -euo pipefail
nerd=$(realpath "$1") schemathesis=$(realpath "$2") model=$3 examples=$4 seed=$5
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
# a port the kernel gives, free once the probe's socket is closed
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$nerd" serve -b "127.0.0.1:$port" --model "$model" --error-logfile "$work/error.log" &
pid=$!
for _ in $(seq 1 200); do # up to 20 s for the model to load
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/error.log"; exit 1; }
    sleep 0.1
done
curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { echo "nerd serve did not become ready"; cat "$work/error.log"; exit 1; }
start=$(date +%s)
status=0
(cd "$work" && exec "$schemathesis" run "http://127.0.0.1:$port/openapi.json" --checks all --seed "$seed" --max-examples "$examples" \
    --generation-database none --request-timeout 10 --no-color) \
    > "$work/run.log" 2>&1 || status=$?
cat "$work/run.log"
# the count of generated cases, for the CI log (schemathesis prints the failures above)
cases=$(sed -n 's/^ *\([0-9][0-9]*\) generated.*/\1/p' "$work/run.log" | tail -1)
echo "schemathesis: ${cases:-?} test cases generated in $(( $(date +%s) - start )) s, exit status $status"
kill -0 "$pid" 2>/dev/null || { echo "nerd serve died during the run"; cat "$work/error.log"; exit 1; }
exit "$status"
