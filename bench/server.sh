#!/usr/bin/env bash
# Control-plane benchmark: kumo server on an emulated 64-node x 8-GPU inventory (Release build).
#   1. submissions/s: CLIENTS concurrent keep-alive clients submit JOBS jobs (HTTP + validation +
#      SQLite group commit with synchronous=FULL; every 201 waited for). The nodes are cordoned
#      so the jobs queue instead of spawning thousands of processes on this 2-core machine; the
#      scheduling loop still runs a pass over the growing queue.
#   2. submit-to-start: a fresh server, START_JOBS one-GPU `sleep 2` jobs submitted at RATE/s
#      onto the idle cluster; p50/p99 of (start - submit) as the server recorded them.
# Usage: bench/server.sh [CLIENTS] [JOBS] [START_JOBS] [RATE]     Last line: one JSON object.
#        KUMO_BIN_DIR=DIR bench/server.sh   uses DIR/kumo and DIR/server_bench as built (no make)
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${1:-32}
JOBS=${2:-10000}
START_JOBS=${3:-300}
RATE=${4:-50}
BIN=${KUMO_BIN_DIR:-build/bin}
if [ -z "${KUMO_BIN_DIR:-}" ]; then
  make -s build >/dev/null
  cmake --build build -j2 --target server_bench >/dev/null
fi
KUMO=$BIN/kumo
WORK=$(mktemp -d /tmp/kumo-bench-server.XXXXXX)
PID=""
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  for p in $(pgrep -f "__task-shim $WORK/" || true); do kill -KILL -- "-$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
printf 'nodes:\n  - {name: node, count: 64, cpu: 64, memory: 512Gi, gpus: {count: 8, model: fake-h100}}\n' > "$WORK/inventory.yaml"

start_server() {  # start_server DIR
  "$KUMO" server --data-dir "$1" --listen 127.0.0.1:0 --inventory "$WORK/inventory.yaml" --no-cgroups > "$1.log" 2>&1 &
  PID=$!
  for _ in $(seq 300); do [ -s "$1/server.port" ] && break; sleep 0.1; done
  PORT=$(cat "$1/server.port"); TOKEN=$(cat "$1/admin.token")
}
stop_server() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }

start_server "$WORK/a"
for i in $(seq 0 63); do "$KUMO" node cordon "node-$i" --server "127.0.0.1:$PORT" --token "$TOKEN" >/dev/null; done
submit=$("$BIN/server_bench" --port "$PORT" --token "$TOKEN" --mode submit --clients "$CLIENTS" --jobs "$JOBS")
echo "submit: $submit"
stop_server

start_server "$WORK/b"
start=$("$BIN/server_bench" --port "$PORT" --token "$TOKEN" --mode start --jobs "$START_JOBS" --rate "$RATE")
echo "start:  $start"
stop_server

/usr/bin/python3 - "$submit" "$start" "$CLIENTS" "$JOBS" "$START_JOBS" "$RATE" <<'PY'
import json, sys
s, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(json.dumps({"bench": "server", "nodes": 64, "gpus": 512,
                  "clients": int(sys.argv[3]), "jobs": int(sys.argv[4]),
                  "submissions_per_second": round(s["submissions_per_second"], 1),
                  "submit_latency_p50_ms": round(s["submit_latency_p50_ms"], 2),
                  "submit_latency_p99_ms": round(s["submit_latency_p99_ms"], 2),
                  "start_jobs": int(sys.argv[5]), "start_rate_per_second": float(sys.argv[6]),
                  "submit_to_start_p50_ms": round(t["submit_to_start_p50_ms"], 2),
                  "submit_to_start_p99_ms": round(t["submit_to_start_p99_ms"], 2),
                  "command": "bench/server.sh " + " ".join(sys.argv[3:])}))
PY
