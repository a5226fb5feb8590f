#!/usr/bin/env bash
# make demo: a server on an embedded SQLite data dir under the repo, three local agents (one left
# pending for the operator to authorize), the sample jobs from assets/jobs, and the console.
# On quit every process it started is stopped. Without a terminal it starts the fleet and prints
# how to attach; `make demo-stop` stops it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/.build/release"
DEMO="$ROOT/demo-data"
PIDS="$DEMO/pids"
KEY=demo-auto-register-key

wait_gone() {  # wait_gone SECONDS PID... : true when all ended in time
  local limit=$1; shift
  for _ in $(seq 1 $((limit * 10))); do
    local alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && return 0
    sleep 0.1
  done
  return 1
}

stop_fleet() {
  [ -f "$PIDS" ] || return 0
  local server agents
  server=$(head -n 1 "$PIDS")
  agents=$(tail -n +2 "$PIDS")
  # Agents first, while the server can still take their reports: each cancels its job
  # ("agent stopped"), ships the log and exits. Then the server.
  if [ -n "$agents" ]; then
    kill -TERM $agents 2>/dev/null || true
    wait_gone 30 $agents || kill -KILL $agents 2>/dev/null || true
  fi
  if [ -n "$server" ]; then
    kill -TERM "$server" 2>/dev/null || true
    wait_gone 10 "$server" || kill -KILL "$server" 2>/dev/null || true
  fi
  rm -f "$PIDS"
}

if [ "${1:-}" = "stop" ]; then
  stop_fleet
  echo "demo stopped"
  exit 0
fi

stop_fleet   # a fleet left from an earlier demo
rm -rf "$DEMO"   # every demo starts fresh: new server data, new agent identities, the sample jobs only
mkdir -p "$DEMO"
: > "$PIDS"

start() {  # start NAME CMD... : detached from this shell's terminal, output to DEMO/NAME.log
  local name=$1; shift
  setsid "$@" > "$DEMO/$name.log" 2>&1 < /dev/null &
  echo $! >> "$PIDS"
}

start server "$BIN/mms-server" --port 0 --data-dir "$DEMO/server" --auto-register-key "$KEY" --lost-contact-after 60
for _ in $(seq 1 100); do
  grep -q "listening on" "$DEMO/server.log" 2>/dev/null && break
  sleep 0.1
done
URL=$(grep -o 'http[s]*://[^ ]*' "$DEMO/server.log" | head -n 1)
[ -n "$URL" ] || { echo "mms-server did not start; see $DEMO/server.log"; cat "$DEMO/server.log"; stop_fleet; exit 1; }
TOKEN=$(cat "$DEMO/server/admin.token")

start rec-01 "$BIN/mms-agent" start --server "$URL" --name rec-01 --work-dir "$DEMO/rec-01" \
  --resources recorder,ffmpeg --environments production --auto-register-key "$KEY"
start build-01 "$BIN/mms-agent" start --server "$URL" --name build-01 --work-dir "$DEMO/build-01" \
  --resources docker,linux --environments staging --auto-register-key "$KEY"
# build-02 has no key: it waits for the operator to authorize it (press a in the console)
start build-02 "$BIN/mms-agent" start --server "$URL" --name build-02 --work-dir "$DEMO/build-02" \
  --resources docker,linux --environments staging

# Two more operators with their own tokens (the admin token is the built-in admin): open a console
# as each to see roles at work (a viewer's action keys are dimmed; every change lands in the Audit view).
for who in alice:operator night-shift:viewer; do
  name=${who%%:*}
  ( umask 077; "$BIN/mms-server" operator add "$name" --role "${who##*:}" --data-dir "$DEMO/server" > "$DEMO/$name.token" )
done

for job in passing failing long waiting; do
  curl -fsS -o /dev/null -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
    --data-binary "@$ROOT/assets/jobs/$job.json" "$URL/api/v1/jobs" || echo "could not submit $job.json"
done

CONSOLE=("$BIN/mms-console" --server "$URL" --token-file "$DEMO/server/admin.token")
if [ -t 0 ] && [ -t 1 ]; then
  trap stop_fleet EXIT INT TERM
  "${CONSOLE[@]}" || true
  echo "stopping the demo fleet…"
else
  echo "MMS demo fleet is running: server $URL, agents rec-01, build-01, build-02 (pending)."
  echo "Attach the console:  ${CONSOLE[*]}"
  echo "  as operator alice:  $BIN/mms-console --server $URL --token-file $DEMO/alice.token"
  echo "  as viewer night-shift: $BIN/mms-console --server $URL --token-file $DEMO/night-shift.token"
  echo "Stop everything:     make demo-stop"
fi
