#!/usr/bin/env bash
# make soak: SOAK_SECONDS (default 600) of mixed valid and invalid requests from SOAK_THREADS
# (default 32) keep-alive clients against `nerd serve -w 2 -k async`. Prints the requests
# served, errors by kind, the RSS of the master and of each worker at start, after a warm-up
# minute and at the end, and the worker restarts. Fails if a request got an answer other than
# the one it must get, a worker restarted, or a process grew more than SOAK_RSS_BOUND_KIB
# (default 8192) between the warm-up and the end.
set -euo pipefail
NERD_BIN=${NERD_BIN:-build/nerd}
CLIENT=${SOAK_CLIENT:-build/soak_client}
SECS=${SOAK_SECONDS:-600}
THREADS=${SOAK_THREADS:-32}
BOUND=${SOAK_RSS_BOUND_KIB:-8192}
WARM=$(( SECS >= 120 ? 60 : SECS / 4 ))
log=$(mktemp /tmp/nerd-soak-XXXXXX.log)
"$NERD_BIN" serve -w 2 -k async -b 127.0.0.1:0 --error-logfile "$log" ${SOAK_SERVE_ARGS:-} &
master=$!
trap 'kill $master 2>/dev/null || true' EXIT
port=""
for _ in $(seq 200); do
  port=$(sed -n 's/.*Listening at: http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$log" | head -1)
  [ -n "$port" ] && curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
  sleep 0.1
done
[ -n "$port" ] || { echo "nerd serve did not start:"; cat "$log"; exit 1; }
sleep 1
rss() { awk '/^VmRSS/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
workers() { ps -o pid= --ppid "$master" | tr -d ' ' | sort -n; }
metric() { curl -s "http://127.0.0.1:$port/metrics" | awk -v k="$1" '$1==k{print $2}'; }
declare -A start warm
pids="$master $(workers | tr '\n' ' ')"
for p in $pids; do start[$p]=$(rss "$p"); done
echo "== soak: $SECS s, $THREADS clients, nerd serve -w 2 -k async on port $port (log $log)"
"$CLIENT" "$port" "$SECS" "$THREADS" > "$log.client" &
client=$!
t0=$(date +%s)
sleep "$WARM"
for p in $pids; do warm[$p]=$(rss "$p"); done
echo "rss KiB every 60 s (master, workers): "
while kill -0 $client 2>/dev/null; do
  line="  t=$(( $(date +%s) - t0 ))s"
  for p in $pids; do line="$line $(rss "$p")"; done
  echo "$line"
  for _ in $(seq 60); do kill -0 $client 2>/dev/null || break; sleep 1; done
done
rc=0
wait $client || rc=$?
cat "$log.client"
restarts=$(metric nerd_worker_restarts_total)
fail=0
printf "%-8s %-8s %10s %10s %10s %10s\n" process pid start_kib warm_kib end_kib growth_kib
for p in $pids; do
  end=$(rss "$p")
  role=worker; [ "$p" = "$master" ] && role=master
  [ "$end" = 0 ] && { echo "$role $p is gone"; fail=1; continue; }
  printf "%-8s %-8s %10s %10s %10s %10s\n" "$role" "$p" "${start[$p]}" "${warm[$p]}" "$end" $(( end - ${warm[$p]} ))
  [ $(( end - ${warm[$p]} )) -le "$BOUND" ] || { echo "$role $p grew beyond $BOUND KiB"; fail=1; }
done
now_workers="$(workers | tr '\n' ' ')"
echo "worker restarts: $restarts (workers at start: $(echo $pids | cut -d' ' -f2-); at end: $now_workers)"
echo "server log lines: $(wc -l < "$log") ($(grep -c WARNING "$log" || true) warnings, $(grep -c -E 'ERROR|CRITICAL' "$log" || true) errors)"
[ "$restarts" = 0 ] || fail=1
[ $rc = 0 ] || fail=1
kill -TERM $master; wait $master || true
trap - EXIT
rm -f "$log" "$log.client"
[ $fail = 0 ] && echo "soak: passed" || { echo "soak: FAILED"; exit 1; }
