#!/usr/bin/env bash
# make demo-cluster: a throwaway PostgreSQL 15 in demo-data/cluster/pg, three mms-server replicas on it,
# the demo agents spread over them (each lists all three, starting with a different one), the sample
# jobs, and the console over the three. Quitting the console stops all of it. Try `kill -9` of one
# replica (its pid is in demo-data/cluster/replica-N.pid): the console says reconnecting… once, the
# agents move, every job finishes once. Without a terminal it prints how to attach;
# `make demo-cluster-stop` stops it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/.build/release"
DEMO="$ROOT/demo-data/cluster"
PG="$DEMO/pg"
PIDS="$DEMO/pids"
PGBIN=/usr/lib/postgresql/15/bin
KEY=demo-auto-register-key

as_postgres() {  # initdb and pg_ctl refuse to run as root: run them as the postgres user Debian creates
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

wait_gone() {  # wait_gone SECONDS PID...
  local limit=$1; shift
  for _ in $(seq 1 $((limit * 10))); do
    local alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && return 0
    sleep 0.1
  done
  return 1
}

stop_cluster() {
  if [ -f "$PIDS" ]; then
    local agents servers
    agents=$(grep '^agent ' "$PIDS" | cut -d' ' -f2 || true)
    servers=$(grep '^server ' "$PIDS" | cut -d' ' -f2 || true)
    if [ -n "$agents" ]; then
      kill -TERM $agents 2>/dev/null || true
      wait_gone 30 $agents || kill -KILL $agents 2>/dev/null || true
    fi
    if [ -n "$servers" ]; then
      kill -TERM $servers 2>/dev/null || true
      wait_gone 10 $servers || kill -KILL $servers 2>/dev/null || true
    fi
    rm -f "$PIDS"
  fi
  if [ -f "$PG/postmaster.pid" ]; then as_postgres "$PGBIN/pg_ctl" -D "$PG" -m fast -w stop > /dev/null 2>&1 || true; fi
}

if [ "${1:-}" = "stop" ]; then
  stop_cluster
  echo "demo cluster stopped"
  exit 0
fi

stop_cluster
rm -rf "$DEMO"
mkdir -p "$PG"
: > "$PIDS"
[ "$(id -u)" = 0 ] && chown postgres "$PG" && chmod 700 "$PG"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "starting PostgreSQL on 127.0.0.1:$PORT (data in $PG)"
as_postgres "$PGBIN/initdb" -D "$PG" -A trust -U mms --no-sync > "$DEMO/initdb.log" 2>&1 \
  || { cat "$DEMO/initdb.log"; exit 1; }
as_postgres "$PGBIN/pg_ctl" -D "$PG" -o "-k $PG -p $PORT -c listen_addresses=127.0.0.1" -l "$PG/log" -w start > /dev/null \
  || { cat "$PG/log"; exit 1; }
as_postgres "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U mms mms
DB="postgres://mms@127.0.0.1:$PORT/mms"
TOKEN=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')

start() {  # start KIND NAME CMD...
  local kind=$1 name=$2; shift 2
  setsid "$@" > "$DEMO/$name.log" 2>&1 < /dev/null &
  echo "$kind $!" >> "$PIDS"
  echo $! > "$DEMO/$name.pid"
}

URLS=()
for i in 1 2 3; do
  start server "replica-$i" "$BIN/mms-server" --port 0 --data-dir "$DEMO/replica-$i" --database "$DB" \
    --admin-token "$TOKEN" --auto-register-key "$KEY" --replica-id "replica-$i" --lost-contact-after 60
done
for i in 1 2 3; do
  for _ in $(seq 1 100); do grep -q "listening on" "$DEMO/replica-$i.log" 2>/dev/null && break; sleep 0.1; done
  URL=$(grep -o 'http[s]*://[^ ]*' "$DEMO/replica-$i.log" | head -n 1)
  [ -n "$URL" ] || { echo "replica $i did not start:"; cat "$DEMO/replica-$i.log"; stop_cluster; exit 1; }
  URLS+=("$URL")
done
A=${URLS[0]}; B=${URLS[1]}; C=${URLS[2]}
echo "$TOKEN" > "$DEMO/admin.token"; chmod 600 "$DEMO/admin.token"

start agent rec-01 "$BIN/mms-agent" start --server "$A,$B,$C" --name rec-01 --work-dir "$DEMO/rec-01" \
  --resources recorder,ffmpeg --environments production --auto-register-key "$KEY"
start agent build-01 "$BIN/mms-agent" start --server "$B,$C,$A" --name build-01 --work-dir "$DEMO/build-01" \
  --resources docker,linux --environments staging --auto-register-key "$KEY"
start agent build-02 "$BIN/mms-agent" start --server "$C,$A,$B" --name build-02 --work-dir "$DEMO/build-02" \
  --resources docker,linux --environments staging --auto-register-key "$KEY"

for job in passing failing long waiting; do
  curl -fsS -o /dev/null -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
    --data-binary "@$ROOT/assets/jobs/$job.json" "$A/api/v1/jobs" || echo "could not submit $job.json"
done

CONSOLE=("$BIN/mms-console" --server "$A,$B,$C" --token-file "$DEMO/admin.token")
echo "replicas: $A (pid $(cat "$DEMO/replica-1.pid")), $B (pid $(cat "$DEMO/replica-2.pid")), $C (pid $(cat "$DEMO/replica-3.pid"))"
if [ -t 0 ] && [ -t 1 ]; then
  trap stop_cluster EXIT INT TERM
  "${CONSOLE[@]}" || true
  echo "stopping the demo cluster…"
else
  echo "MMS demo cluster is running: PostgreSQL on $PORT, three replicas, agents rec-01, build-01, build-02."
  echo "Attach the console:  ${CONSOLE[*]}"
  echo "Kill a replica:      kill -9 \$(cat $DEMO/replica-1.pid)"
  echo "Stop everything:     make demo-cluster-stop"
fi
