#!/usr/bin/env bash
# make bench: nerd bench must not be the bottleneck. Its rate against a trivial endpoint (/healthz
# of one nerd async worker), beside wrk's against the same endpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
NERD=${NERD_BIN:-build/nerd}
log=$(mktemp /tmp/nerd-client-bench-XXXXXX.log)
setsid "$NERD" serve -b 127.0.0.1:0 -k async -w 1 --error-logfile "$log" >/dev/null 2>&1 &
srv=$!
trap 'kill -9 -- -$srv 2>/dev/null || true; rm -f "$log"' EXIT
port=""
for _ in $(seq 100); do
  port=$(sed -n 's/.*Listening at: http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$log" | head -1 || true)
  [ -n "$port" ] && curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.1
done
best=$("$NERD" bench "http://127.0.0.1:$port/healthz" -n 200000 -c 100 --trials 3 --json |
       tr ',' '\n' | sed -n 's/.*"requests_per_s":\([0-9.]*\).*/\1/p' | sort -n | tail -1)
echo "client: nerd bench drives ${best%.*} requests/s against /healthz of one nerd async worker (-c 100, keep-alive, best of 3)"
if command -v wrk >/dev/null; then
  w=$(wrk -t1 -c100 -d5s "http://127.0.0.1:$port/healthz" | sed -n 's/Requests\/sec: *\([0-9.]*\).*/\1/p')
  echo "client: wrk drives ${w%.*} requests/s against the same endpoint (-t1 -c100, 5 s)"
fi
