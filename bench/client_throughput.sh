#!/usr/bin/env bash
# make bench: nerd bench must not be the bottleneck. Its rate against a trivial endpoint (/healthz
# of one nerd async worker), beside wrk's against the same endpoint. Then what 1,000 simultaneous
# connections cost against 100 for the same 1,000 requests (the seed's Paris text) on
# -w 2 -k async: the workers accept in batches, so the two should take the same wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
NERD=${NERD_BIN:-build/nerd}
PARIS=${PARIS_TEXT:-../shared/corpus/paris.txt}
ACCEPT_ROUNDS=${ACCEPT_ROUNDS:-5}
WORK_PREFIX=nerd-client-bench
. bench/serve_lib.sh

start_server healthz -k async -w 1
best=$("$NERD" bench "http://127.0.0.1:$port/healthz" -n 200000 -c 100 --trials 3 --json |
       tr ',' '\n' | sed -n 's/.*"requests_per_s":\([0-9.]*\).*/\1/p' | sort -n | tail -1)
echo "client: nerd bench drives ${best%.*} requests/s against /healthz of one nerd async worker (-c 100, keep-alive, best of 3)"
if command -v wrk >/dev/null; then
  w=$(wrk -t1 -c100 -d5s "http://127.0.0.1:$port/healthz" | sed -n 's/Requests\/sec: *\([0-9.]*\).*/\1/p')
  echo "client: wrk drives ${w%.*} requests/s against the same endpoint (-t1 -c100, 5 s)"
fi

start_server accept -k async -w 2
seconds() {
  "$NERD" bench "http://127.0.0.1:$port/" -n 1000 -c "$1" --trials 1 --text-file "$PARIS" --json |
    sed -n 's/.*"avg_seconds":\([0-9.]*\).*/\1/p'
}
seconds 100 >/dev/null # warm-up: page faults, word caches
c100=() c1000=()
for _ in $(seq "$ACCEPT_ROUNDS"); do # alternating, so that a change in the machine's load hits both
  c100+=("$(seconds 100)")
  c1000+=("$(seconds 1000)")
done
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
m100=$(median "${c100[@]}")
m1000=$(median "${c1000[@]}")
echo "accept: 1000 Paris requests on -w 2 -k async: -c 100 ${c100[*]} s; -c 1000 ${c1000[*]} s"
awk -v a="$m100" -v b="$m1000" -v n="$ACCEPT_ROUNDS" 'BEGIN {
  r = b / a
  printf "accept: medians of %d: -c 100 %.2f s, -c 1000 %.2f s, ratio %.2f (%s 1.15)\n", n, a, b, r, r <= 1.15 ? "within" : "OVER"
}'
