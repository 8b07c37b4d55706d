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

# Static vectors (issue 18): the English md against the sm model, -w 4 sync workers, 4,000 requests
# of the golden texts (about 1,000 a worker, so the word caches fill as in service). The md's
# vectors table (24 MB) is mapped from vocab/vectors and key2row read into read-only pages before
# the fork, so a worker's private memory should stay within 2 MB of the sm model's; the shared
# part (Rss - private) holds the table's pages the worker touched.
MODEL_MD=${MODEL_MD:-models/en_core_web_md-3.8.0}
MD_REQUESTS=${MD_REQUESTS:-4000}
CORPUS=${CORPUS:-../shared/golden/ewt.jsonl}
if [ ! -f "$MODEL_MD/config.cfg" ]; then
  echo "SKIP md memory: no $MODEL_MD (make models-extra)"
  exit 0
fi
declare -A private_sum
for model in "$MODEL_A" "$MODEL_MD"; do
  start_server "w4-$(basename "$model")" -k sync -w 4 --model "$model"
  "$NERD" bench "http://127.0.0.1:$port" -n "$MD_REQUESTS" -c 8 --trials 1 --corpus "$CORPUS" --method POST \
    --path /ents >/dev/null
  total=0 n=0
  for w in $(pgrep -P "$master"); do
    priv=$(kib "$w" Private_Clean Private_Dirty) rss=$(kib "$w" Rss)
    echo "$(basename "$model") -w 4, $MD_REQUESTS requests: worker $w private $priv KiB, shared $(( (rss - priv) / 1024 )) MiB," \
         "rss $(( rss / 1024 )) MiB, pss $(( $(kib "$w" Pss) / 1024 )) MiB"
    total=$(( total + priv )) n=$(( n + 1 ))
  done
  echo "$(basename "$model") -w 4: master rss $(( $(kib "$master" Rss) / 1024 )) MiB, mean worker private $(( total / n )) KiB"
  private_sum[$model]=$(( total / n ))
  kill -TERM -- -"$master" 2>/dev/null || true
  wait "$master" 2>/dev/null || true
done
echo "md - sm mean worker private memory: $(( private_sum[$MODEL_MD] - private_sum[$MODEL_A] )) KiB (goal: within 2048)"
