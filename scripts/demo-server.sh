#!/usr/bin/env bash
# The control-plane demo (`make demo`): a kumo server on temp dirs with an emulated
# 2-node x 4-GPU inventory, and three stories told through the kumo CLI:
#   1. a 2-task gang that trains together (PyTorch DDP, gloo, CPU) across both nodes;
#   2. a job that fails once and is retried with backoff;
#   3. a low-priority job that checkpoints with torch.save, is preempted by a high-priority
#      one, and resumes from its checkpoint at the right step.
# Stops the server and every task it started, by PID, and removes the temp dir.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
KUMO=${KUMO:-$ROOT/build/bin/kumo}
WORK=$(mktemp -d /tmp/kumo-demo.XXXXXX)
SERVER_PID=""

cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  # Tasks outlive the server by design (a restarted server adopts them): stop ours by group.
  for pid in $(pgrep -f "__task-shim $WORK/" || true); do kill -KILL -- "-$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
field() {  # field JOB KEY: a top-level field of `kumo get jobs JOB -o json`
  "$KUMO" get jobs "$1" -o json | /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); d=d[0] if isinstance(d,list) else d; d=d.get('items',[d])[0] if 'items' in d else d; print(d.get('$2'))"
}
wait_phase() {  # wait_phase JOB PHASE [SECONDS]
  local n=$(( ${3:-180} * 5 ))
  for _ in $(seq "$n"); do
    [ "$(field "$1" phase)" = "$2" ] && return 0
    sleep 0.2
  done
  echo "demo: job $1 did not reach $2" >&2
  "$KUMO" describe job "$1" >&2 || true
  return 1
}
submit() { "$KUMO" submit -f "$1" -o json | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['id'])"; }

say "kumo server on $WORK (inventory: examples/inventory-2x4.yaml)"
"$KUMO" server --data-dir "$WORK/data" --listen 127.0.0.1:0 \
  --inventory "$ROOT/examples/inventory-2x4.yaml" > "$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 300); do [ -s "$WORK/data/server.port" ] && break; sleep 0.1; done
[ -s "$WORK/data/server.port" ] || { cat "$WORK/server.log"; exit 1; }
export KUMO_SERVER="127.0.0.1:$(cat "$WORK/data/server.port")"
export KUMO_TOKEN_FILE="$WORK/data/admin.token"
cat "$WORK/server.log"
"$KUMO" get nodes

cd "$ROOT/examples"
say "story 1: a DDP gang of 2 tasks x 4 GPUs (one per node) + story 2: a job that fails once"
DDP=$(submit ddp.yaml)
FLAKY=$(submit flaky.yaml)
"$KUMO" get jobs
wait_phase "$DDP" Succeeded
wait_phase "$FLAKY" Succeeded
"$KUMO" logs "$DDP" --task 0
"$KUMO" logs "$DDP" --task 1
"$KUMO" get jobs

say "story 3: low priority (checkpoints with torch.save), then a high-priority job needing all 8 GPUs"
LOW=$(submit low-priority.yaml)
wait_phase "$LOW" Running 60
CKPT=$WORK/data/jobs/$LOW/checkpoint/steps.log
for _ in $(seq 600); do [ -f "$CKPT" ] && [ "$(wc -l < "$CKPT")" -ge 8 ] && break; sleep 0.1; done
HIGH=$(submit high-priority.yaml)
sleep 1
"$KUMO" get jobs
"$KUMO" queue
wait_phase "$HIGH" Succeeded
wait_phase "$LOW" Succeeded
"$KUMO" logs "$LOW" --attempt 1
"$KUMO" logs "$LOW"

say "all jobs"
"$KUMO" get jobs
say "kumo describe job $LOW"
"$KUMO" describe job "$LOW"
say "stopping the server"
