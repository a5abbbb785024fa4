#!/usr/bin/env bash
# kumo side by side with a real Slurm on this machine: the same emulated cluster (8 nodes x 8 fake
# GPUs), the same three workloads, one run. See docs/vs-slurm.md.
#   1. throughput: 1,000 one-GPU jobs running `true`, submitted as fast as each system takes them
#      (kumo: CLIENTS concurrent HTTP clients on its API; Slurm: SBATCH_CLIENTS concurrent sbatch
#      processes) -> jobs/s from the first submission to the last completion;
#   2. gangs: 200 jobs of 2 x 4 GPUs running `sleep 1` -> makespan / ideal (25 s);
#   3. trace: a held-out Philly slice, 300 short jobs (rows from TRACE_FIRST_ROW on that ran
#      <= 2 h), durations and arrivals scaled (a few minutes, offered load TRACE_LOAD), each with
#      a Slurm-like time limit; TRACE_ROUNDS rounds, kumo and Slurm alternating -> mean JCT (each
#      side's median round), mean wait, makespan, GPU allocation, kumo's jobs restarted from zero
#      (must be 0: the script exits 1 otherwise); the same slice through `kumo sim`.
# Needs root (apt-get, mknod, daemons). Installs slurm-wlm and munge from Debian when missing.
# Everything lives in one temp dir; every process started is stopped by PID on exit.
# Usage: bench/vs-slurm.sh            Last line: one JSON object.
# Env: THROUGHPUT_JOBS (1000) GANG_JOBS (200) TRACE_JOBS (300) TRACE_SECONDS (180) TRACE_LOAD (9)
#      TRACE_ROUNDS (3) TRACE_FIRST_ROW (1500) CLIENTS (16)
#      SBATCH_CLIENTS (8) THROUGHPUT_ROUNDS (3: kumo and Slurm alternate; medians reported)
#      WORKLOADS ("throughput gang trace") KEEP=1 (keep the temp dir for inspection)
#      KUMO_SERVER_CONFIG (a `kumo server --config` file, e.g. `isolation: {enabled: false}`)
#      KUMO_BIN (the kumo binary to run, kumo-shim beside it; default build/bin/kumo, built if
#      missing)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
THROUGHPUT_JOBS=${THROUGHPUT_JOBS:-1000}
GANG_JOBS=${GANG_JOBS:-200}
TRACE_JOBS=${TRACE_JOBS:-300}
TRACE_SECONDS=${TRACE_SECONDS:-180}
TRACE_LOAD=${TRACE_LOAD:-9}
TRACE_ROUNDS=${TRACE_ROUNDS:-3}
TRACE_FIRST_ROW=${TRACE_FIRST_ROW:-1500}
CLIENTS=${CLIENTS:-16}
SBATCH_CLIENTS=${SBATCH_CLIENTS:-8}
THROUGHPUT_ROUNDS=${THROUGHPUT_ROUNDS:-3}
WORKLOADS=${WORKLOADS:-throughput gang trace}
TRACES=${KUMO_TRACE_DIR:-$ROOT/../shared/traces}
DRIVER=$ROOT/bench/vs_slurm/driver.py
PY=/usr/bin/python3
T0=$(date +%s)
say() { echo "[vs-slurm +$(( $(date +%s) - T0 ))s] $*" >&2; }

[ "$(id -u)" = 0 ] || { echo "vs-slurm.sh: needs root (apt-get, mknod, Slurm daemons)" >&2; exit 1; }

# --- dependencies ------------------------------------------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null \
   || ! command -v sbatch >/dev/null; then
  say "installing slurm-wlm and munge (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq slurm-wlm munge >/dev/null 2>&1 || {
    apt-get update -qq >/dev/null
    apt-get install -y -qq slurm-wlm munge >/dev/null
  }
fi
if [ -z "${KUMO_BIN:-}" ] && [ ! -x build/bin/kumo ]; then
  say "building kumo (Release)"
  scripts/install-deps >/dev/null
  [ -f build/CMakeCache.txt ] || cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build -j2 --target kumo >/dev/null
fi
KUMO=${KUMO_BIN:-$ROOT/build/bin/kumo}

# --- temp dir, process bookkeeping, cleanup ---------------------------------------------------
WORK=$(mktemp -d /tmp/kumo-vs-slurm.XXXXXX)
chmod 755 "$WORK"
KUMO_PID=""
export SLURM_CONF=$WORK/slurm/slurm.conf

pid_of() { [ -s "$1" ] && cat "$1" 2>/dev/null || true; }
stop_pid() {  # stop_pid PID: TERM, wait up to 10 s, then KILL
  local p=$1 i
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p" 2>/dev/null || true
  for i in $(seq 100); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
}
# Processes that belong to this run: their command line, working directory or an open file
# names $WORK (task shims, slurmstepd with its spool sockets, job steps).
ours() {
  { grep -laF "$WORK/" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3
    find /proc/[0-9]*/fd /proc/[0-9]*/cwd -maxdepth 0 -lname "$WORK/*" 2>/dev/null | cut -d/ -f3
    find /proc/[0-9]*/fd -mindepth 1 -maxdepth 1 -lname "$WORK/*" 2>/dev/null | cut -d/ -f3
  } | sort -un | grep -vx "$$" || true
}
cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  if [ -n "$(pid_of "$WORK/slurm/slurmctld.pid")" ]; then
    scancel --quiet --full $(squeue -h -o %i 2>/dev/null) 2>/dev/null
    for _ in $(seq 50); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.2; done
  fi
  stop_pid "$KUMO_PID"
  for n in $(seq 1 8); do stop_pid "$(pid_of "$WORK/slurm/slurmd.node$n.pid")"; done
  stop_pid "$(pid_of "$WORK/slurm/slurmctld.pid")"
  stop_pid "$(pid_of "$WORK/slurm/munge/munged.pid")"
  for p in $(ours); do kill -KILL "$p" 2>/dev/null; done
  if [ "${KEEP:-0}" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_ports() {  # free_ports N: N distinct free TCP ports on 127.0.0.1
  "$PY" - "$1" <<'PY'
import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))
PY
}

# --- munge + Slurm: 1 slurmctld, 8 slurmd -----------------------------------------------------
S=$WORK/slurm
mkdir -p "$S/munge"
chmod 755 "$S" "$S/munge"   # munged insists its socket directory is reachable by everyone
dd if=/dev/urandom of="$S/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$S/munge/munge.key"
munged --key-file="$S/munge/munge.key" --socket="$S/munge/munge.socket.2" \
  --pid-file="$S/munge/munged.pid" --log-file="$S/munge/munged.log" --seed-file="$S/munge/munged.seed"
read -r CPORT NPORTS <<<"$(free_ports 9)"   # slurmctld, then one port per slurmd
"$ROOT/bench/vs_slurm/slurm-conf.sh" "$S" "$CPORT" "$NPORTS"
# Started under their own names (slurmctld/slurmd): other names make slurmd drop its GRES.
/usr/sbin/slurmctld -f "$SLURM_CONF" -i
for n in $(seq 1 8); do /usr/sbin/slurmd -f "$SLURM_CONF" -N "node$n"; done
for _ in $(seq 150); do
  idle=$(sinfo -h -N -t idle -o "%N" 2>/dev/null | sort -u | wc -l)
  [ "$idle" = 8 ] && break
  sleep 0.2
done
[ "$idle" = 8 ] || { echo "vs-slurm.sh: Slurm nodes not idle:" >&2; sinfo -N >&2; tail -20 "$S/log/"*.log >&2; exit 1; }
say "slurm up: $(sinfo -h -N -o '%N %G' | tr '\n' ' ')"

# --- kumo: the same 8 x 8 GPUs ------------------------------------------------------------------
printf 'nodes:\n  - {name: node, count: 8, cpu: 64, memory: 512Gi, gpus: {count: 8, model: fake-gpu}}\n' \
  > "$WORK/inventory.yaml"
"$KUMO" server --data-dir "$WORK/kumo" --listen 127.0.0.1:0 --inventory "$WORK/inventory.yaml" \
  --no-cgroups ${KUMO_SERVER_CONFIG:+--config "$KUMO_SERVER_CONFIG"} > "$WORK/kumo.log" 2>&1 &
KUMO_PID=$!
for _ in $(seq 300); do [ -s "$WORK/kumo/server.port" ] && break; sleep 0.1; done
KPORT=$(cat "$WORK/kumo/server.port")
KTOK=$WORK/kumo/admin.token
say "kumo up on 127.0.0.1:$KPORT"

# --- workloads ----------------------------------------------------------------------------------
R=$WORK/results
mkdir -p "$R"
"$PY" "$DRIVER" make throughput "$THROUGHPUT_JOBS" "$WORK/throughput.json"
"$PY" "$DRIVER" make gang "$GANG_JOBS" "$WORK/gang.json"
"$PY" "$DRIVER" slice "$TRACES/philly-subset-marwage/philly_ge4gpu_pass_jobs.csv" "$WORK/trace.json" \
  --jobs "$TRACE_JOBS" --target-seconds "$TRACE_SECONDS" --load "$TRACE_LOAD" \
  --heldout --first-row "$TRACE_FIRST_ROW" --sim-trace-dir "$WORK/simtrace" > "$R/slice.json"
say "trace slice: $(cat "$R/slice.json")"

run_kumo() {  # run_kumo NAME TIMEOUT [ROUND]: results in $R/kumo_NAME[.ROUND].json
  say "kumo: $1${3:+ (round $3)}"
  "$PY" "$DRIVER" kumo "$WORK/$1.json" "$R/kumo_$1${3:+.$3}.json" --port "$KPORT" \
    --token-file "$KTOK" --clients "$CLIENTS" --timeout "$2" --round "${3:-1}" >&2
}
run_slurm() {  # run_slurm NAME TIMEOUT [ROUND]
  say "slurm: $1${3:+ (round $3)}"
  (cd /tmp && "$PY" "$DRIVER" slurm "$WORK/$1.json" "$R/slurm_$1${3:+.$3}.json" \
    --jobcomp "$S/jobcomp.txt" --clients "$SBATCH_CLIENTS" --timeout "$2" >&2)
}
wants() { [[ " $WORKLOADS " == *" $1 "* ]]; }
if wants throughput; then
  for r in $(seq "$THROUGHPUT_ROUNDS"); do
    run_kumo throughput 300 "$r"
    run_slurm throughput 300 "$r"
  done
fi
if wants gang; then
  run_kumo gang 300
  run_slurm gang 300
fi
if wants trace; then
  for r in $(seq "$TRACE_ROUNDS"); do
    run_kumo trace 900 "$r"
    run_slurm trace 900 "$r"
  done
  # The same slice through the simulator, replaying its (already scaled) arrival times: once in
  # seconds (passes batched every 10 s of virtual time, as by default), once with every time x100
  # and --pass-interval 2, i.e. a pass at most every 0.02 s of real time, as the kumo server's loop
  # coalesces its passes (20 ms).
  say "kumo sim"
  "$KUMO" sim --trace philly --trace-dir "$WORK/simtrace/s1" --load 0 --policy kumo,fifo-backfill \
    --json "$R/sim_s1.json" --quiet > "$R/sim_s1.txt" 2>&1
  "$KUMO" sim --trace philly --trace-dir "$WORK/simtrace/s100" --load 0 --policy kumo,fifo-backfill \
    --pass-interval 2 --json "$R/sim_s100.json" --quiet > "$R/sim_s100.txt" 2>&1
fi

"$PY" "$DRIVER" summary "$R" --clients "$CLIENTS" --sbatch-clients "$SBATCH_CLIENTS" \
  --elapsed "$(( $(date +%s) - T0 ))" | tee "$R/summary.json"
# A job that does not checkpoint and was requeued ran again from zero: the acceptance says none.
restarted=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("trace", {}).get("kumo_restarted_from_zero", 0))' "$R/summary.json")
[ "$restarted" = 0 ] || { echo "vs-slurm.sh: $restarted kumo jobs restarted from zero" >&2; exit 1; }
