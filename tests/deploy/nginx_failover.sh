#!/usr/bin/env bash
# make test-deploy, part 2: deploy/nginx.conf in front of two nerd instances on loopback.
# Runs `nerd bench --check` through nginx, kills one instance (SIGKILL to its process group)
# in the middle of a run, then shows that the requests after the failover all succeed, and
# reports the throughput through nginx against one instance direct.
set -euo pipefail
cd "$(dirname "$0")/../.."
NERD=${NERD_BIN:-build/nerd}
GOLDEN=../shared/golden/edge.jsonl
# the golden answers were made with the stand-in, so the instances serve the stand-in
MODEL=../shared/models/en_core_web_sm
TEXT=../shared/corpus/paris.txt
work=$(mktemp -d /tmp/nerd-deploy-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 -- "-$p" 2>/dev/null || kill -9 "$p" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

port=""
start_nerd() { # $1: name; sets $port (no $(...): the server would hold its pipe open)
  setsid "$NERD" serve --model "$MODEL" -b 127.0.0.1:0 -k async -w 1 --error-logfile "$work/$1.log" >/dev/null 2>&1 &
  pids+=($!)
  echo $! > "$work/$1.pid"
  for _ in $(seq 100); do
    port=$(sed -n 's/.*Listening at: http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/$1.log" 2>/dev/null | head -1 || true)
    if [ -n "$port" ] && curl -fs "http://127.0.0.1:$port/readyz" >/dev/null; then return; fi
    sleep 0.1
  done
  echo "nerd $1 did not start" >&2; exit 1
}

rps() { sed -n 's/.*"requests_per_s":\([0-9.]*\).*/\1/p' | head -1; }
errs() { sed -n 's/.*"avg_seconds":[0-9.]*,"errors":\([0-9]*\)}.*/\1/p'; }

start_nerd a; A=$port
start_nerd b; B=$port
N=$(free_port)
sed -e "s/127.0.0.1:8001/127.0.0.1:$A/" -e "s/127.0.0.1:8002/127.0.0.1:$B/" -e "s/listen 127.0.0.1:8080/listen 127.0.0.1:$N/" \
  deploy/nginx.conf > "$work/nginx.conf"
nginx -t -q -p "$work" -c "$work/nginx.conf" -g "pid $work/nginx.pid; error_log $work/nginx-error.log;"
setsid nginx -p "$work" -c "$work/nginx.conf" -g "daemon off; pid $work/nginx.pid; error_log $work/nginx-error.log;" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$N/healthz" >/dev/null && break; sleep 0.1; done
echo "nerd instances on :$A and :$B, nginx on :$N"

direct=$("$NERD" bench "http://127.0.0.1:$A/" -n 2000 -c 50 --trials 3 --text-file $TEXT --check $GOLDEN --json) || { echo "FAIL: nerd bench direct: $direct"; exit 1; }
proxied=$("$NERD" bench "http://127.0.0.1:$N/" -n 2000 -c 50 --trials 3 --text-file $TEXT --check $GOLDEN --json) || { echo "FAIL: nerd bench through nginx: $proxied"; exit 1; }
[ "$(echo "$direct" | errs)" = 0 ] && [ "$(echo "$proxied" | errs)" = 0 ] || { echo "FAIL: errors before the failover"; exit 1; }
echo "throughput: one instance direct $(echo "$direct" | rps) req/s; two instances through nginx $(echo "$proxied" | rps) req/s (-c 50, keep-alive)"

# failover: kill instance A (master and worker) in the middle of a run through nginx
"$NERD" bench "http://127.0.0.1:$N/" -n 6000 -c 50 --trials 1 --text-file $TEXT --check $GOLDEN --json > "$work/during.json" &
bench=$!
sleep 0.5
kill -9 -- "-$(cat "$work/a.pid")"
wait $bench || true
during=$(cat "$work/during.json")
echo "during the failover: $(echo "$during" | errs) failed of 6000 (nginx retries a dead upstream's requests on the other)"
after=$("$NERD" bench "http://127.0.0.1:$N/" -n 2000 -c 50 --trials 1 --text-file $TEXT --check $GOLDEN --json)
[ "$(echo "$after" | errs)" = 0 ] || { echo "FAIL: requests failed after the failover"; echo "$after"; exit 1; }
echo "after the failover: 2000/2000 answers equal to the golden dict, $(echo "$after" | rps) req/s on one instance"
echo "nginx failover test: 1 passed, 0 failed"
