#!/usr/bin/env bash
# make bench: memory of several models in one instance. The master loads every model before it
# forks, so the workers share the weights: each worker's private memory (Private_Clean +
# Private_Dirty of /proc/PID/smaps_rollup) after it has answered requests with both models, beside
# the same for one model alone, and each worker's Rss and Pss.
set -euo pipefail
cd "$(dirname "$0")/.."
NERD=${NERD_BIN:-build/nerd}
MODEL_A=${MODEL_A:-models/en_core_web_sm-3.8.0}
MODEL_B=${MODEL_B:-../shared/models/en_core_web_sm}
REQUESTS=${REQUESTS:-50}   # per model and worker class run, on keep-alive-less curl calls
WORK_PREFIX=nerd-models-rss
. bench/serve_lib.sh

# kib PID FIELD...: the sum of those fields of /proc/PID/smaps_rollup, in KiB
kib() {
  local pid=$1
  shift
  awk -v want="$*" 'BEGIN { n = split(want, f, " ") } { for (i = 1; i <= n; i++) if ($1 == f[i] ":") s += $2 } END { print s + 0 }' \
    "/proc/$pid/smaps_rollup"
}

# report LABEL MODELNAME...: sends requests naming each model, then prints each worker's memory
report() {
  local label=$1
  shift
  for m in "$@"; do
    for _ in $(seq "$REQUESTS"); do
      curl -fs "http://127.0.0.1:$port/ents" -d "{\"text\": \"Angela Merkel visited Paris on Monday.\", \"model\": \"$m\"}" >/dev/null
    done
  done
  for w in $(pgrep -P "$master"); do
    echo "$label: worker $w private $(kib "$w" Private_Clean Private_Dirty) KiB," \
         "rss $(( $(kib "$w" Rss) / 1024 )) MiB, pss $(( $(kib "$w" Pss) / 1024 )) MiB"
  done
  echo "$label: master rss $(( $(kib "$master" Rss) / 1024 )) MiB"
}

for wclass in sync async; do
  start_server "one-$wclass" -k "$wclass" -w 2 --model "a=$MODEL_A"
  report "1 model,  -k $wclass -w 2" a
  start_server "two-$wclass" -k "$wclass" -w 2 --model "a=$MODEL_A" --model "b=$MODEL_B"
  report "2 models, -k $wclass -w 2" a b
done
