# bench/serve_lib.sh, sourced by the bench scripts that start nerd servers: $work (a scratch
# folder, removed on exit), start_server, and a trap that stops every server started.
# Needs NERD (the nerd binary) and a prefix for the scratch folder in WORK_PREFIX.
work=$(mktemp -d "/tmp/${WORK_PREFIX:-nerd-bench}-XXXXXX")
servers=()
# TERM: nerd's graceful stop (idle servers exit at once); waited for, so that no job notice is printed
trap 'for s in "${servers[@]}"; do kill -TERM -- -"$s" 2>/dev/null || true; wait "$s" 2>/dev/null || true; done; rm -rf "$work"' EXIT

# start_server NAME ARGS...: starts nerd serve in its own session; sets $port and $master
start_server() {
  local name=$1
  shift
  setsid "$NERD" serve -b 127.0.0.1:0 "$@" --error-logfile "$work/$name.log" >/dev/null 2>&1 &
  master=$!
  servers+=("$master")
  port=""
  for _ in $(seq 200); do
    port=$(sed -n 's/.*Listening at: http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/$name.log" 2>/dev/null | head -1 || true)
    [ -n "$port" ] && curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && return
    sleep 0.1
  done
  echo "nerd serve $* did not start" >&2
  exit 1
}
