#!/usr/bin/env bash
# kumo datasets vs cp -r and rsync on one machine: push a tree to kumo cache through the kumo
# server, then pull it back — cold (the node store is empty: every byte comes from the cache
# over loopback) and warm (the version is already in the node store: hard links only) — against
# `cp -r` and `rsync -a` of the same tree on the same disk, in the same run.
#
#   bench/datasets.sh          (takes the machine-wide benchmark lock itself)
# Environment: SMALL_N (10000 files of SMALL_KIB=100 KiB), LARGE_N (8 files of LARGE_MIB=128
#   MiB), RUNS (rounds, 3), PARALLEL (kumo's files in flight, 8), KUMO (binary).
#
# Every timed step starts from the same state (docs/benchmarks.md, "Datasets"):
# - "cold" means the pull's node store is empty; the bytes' sources — cp's tree and the cache's
#   object files — are both in the page cache (the loopback cache stands for warm RAM on another
#   host; nothing is dropped: this machine is shared). Their resident share is printed per step.
# - before each step: `sync`, then wait (bounded) until Dirty + Writeback are near 0, so no step
#   pays for the writeback of the one before;
# - each step's destination is retired right after it (the warm pull's node store after the
#   warm pull): its files are truncated to 0 bytes, so no tree's bytes outlive its step (only
#   the cache's objects, one copy per round), but its inodes stay until the run ends — a delete
#   would slow the next step's file creation (datasets-lib.sh, retire). (On this VM, once ~3 GiB
#   of new trees had piled up, cp of 1 GiB took 3.4-4.3 s of system time instead of 0.35 s: the
#   old bench's slow rounds 2-3, and its pull, which always ran after cp, paid it first.)
# - cp and the cold pull alternate which goes first (round 1: cp first).
# Each round pushes a fresh dataset name (so every byte is sent). Prints the per-round seconds,
# then one JSON line: *_ratio_vs_cp = cp's seconds / kumo's (> 1: kumo is faster), medians of
# RUNS rounds, for warm and cold pulls and pushes of both shapes, and rsync's ratio too;
# cold_*_client_cpu_s / cold_*_cache_cpu_s / cp_*_cpu_s are the CPU seconds (user + system) of
# the pulling `kumo`, the cache and cp (medians); *_rounds are the per-round seconds.
# Neither cp -r nor a pull through the node store waits for its bytes to reach the disk (the
# store is verified after a machine crash instead, docs/datasets.md "The node store"); cp is
# also timed up to the end of a `sync -f` right after it (cpsync_*), what a durable copy costs
# on this disk, and cold_pull_*_ratio_vs_cp_sync compares the pull with that.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/datasets-lib.sh"
bench_lock "$@"

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
KUMO="${KUMO:-$ROOT/build/bin/kumo}"
SMALL_N="${SMALL_N:-10000}"
SMALL_KIB="${SMALL_KIB:-100}"
LARGE_N="${LARGE_N:-8}"
LARGE_MIB="${LARGE_MIB:-128}"
RUNS="${RUNS:-3}"
PARALLEL="${PARALLEL:-8}"
command -v rsync >/dev/null || { echo "rsync is required (apt-get install rsync)" >&2; exit 1; }
[ -x "$KUMO" ] || { echo "build kumo first: cmake --build build -j2 --target kumo" >&2; exit 1; }

bench_workdir kumo-datasets-bench
now() { date +%s.%N; }
secs() { python3 -c "print(round($2 - $1, 3))"; }
TICK_HZ="$(getconf CLK_TCK)"
TIMEFORMAT="%3U %3S"  # bash's `time`: the user and system seconds of what it ran

# ---- the trees ----
python3 - "$WORK/src" "$SMALL_N" "$SMALL_KIB" "$LARGE_N" "$LARGE_MIB" <<'PY'
import os, sys
root, sn, skib, ln, lmib = sys.argv[1], *map(int, sys.argv[2:])
for i in range(sn):
    d = os.path.join(root, "small", "d%03d" % (i // 100))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d.bin" % i), "wb") as f:
        f.write(os.urandom(skib * 1024))
os.makedirs(os.path.join(root, "large"), exist_ok=True)
for i in range(ln):
    with open(os.path.join(root, "large", "shard-%d.bin" % i), "wb") as f:
        for _ in range(lmib):
            f.write(os.urandom(1 << 20))
PY

# ---- server and cache ----
start_kumo_datasets "$KUMO" "$KUMO" $(( (SMALL_N * SMALL_KIB / 1024 + LARGE_N * LARGE_MIB) * (RUNS + 1) + 256 ))

declare -A T
# The percentage of the bytes of the files under DIR (find's further tests allowed) in the page cache.
resident_pct() {
  find "$@" -type f -print0 | xargs -0 fincore -b -n -o RES,SIZE |
    awk '{r += $1; s += int(($2 + 4095) / 4096) * 4096} END {printf "%d", s ? 100 * r / s : 100}'
}
cp_step() {  # SHAPE ROUND
  local src="$WORK/src/$1"
  settle; local res; res=$(resident_pct "$src")
  local t0; t0=$(now)
  { time cp -r "$src" "$WORK/out/cp"; } 2> "$WORK/cpu"
  local t1; t1=$(now)
  sync -f "$WORK/out/cp"  # cp made durable: the reference for what the disk costs
  T[cp_$1_$2]=$(secs "$t0" "$t1")
  T[cpsync_$1_$2]=$(secs "$t0" "$(now)")
  T[cpcpu_$1_$2]=$(awk '{print $1 + $2}' "$WORK/cpu")
  T[cpres_$1_$2]=$res
  retire "$WORK/out/cp" --hollow
}
cold_step() {  # SHAPE ROUND
  settle; local res; res=$(resident_pct "$WORK/cache" -newer "$WORK/push-mark")  # this round's
  local c0 t0; c0=$(cache_ticks); t0=$(now)
  { time "$KUMO" dataset pull "$1-$2" "$WORK/out/cold" --node-store "$WORK/out/store" \
      --parallel "$PARALLEL" >/dev/null; } 2> "$WORK/cpu"
  T[cold_$1_$2]=$(secs "$t0" "$(now)")
  T[clientcpu_$1_$2]=$(awk '{print $1 + $2}' "$WORK/cpu")
  T[cachecpu_$1_$2]=$(python3 -c "print(round(($(cache_ticks) - $c0) / $TICK_HZ, 3))")
  T[cacheres_$1_$2]=$res
  retire "$WORK/out/cold"  # hard links only: the node store keeps the bytes for the warm pull
}
mkdir -p "$WORK/out"
for r in $(seq "$RUNS"); do
  for shape in small large; do
    src="$WORK/src/$shape" out="$WORK/out"
    settle; touch "$WORK/push-mark"
    t0=$(now); "$KUMO" dataset push "$shape-$r" "$src" --project default --parallel "$PARALLEL" >/dev/null
    T[push_${shape}_$r]=$(secs "$t0" "$(now)")
    if (( r % 2 )); then cp_step "$shape" "$r"; cold_step "$shape" "$r"
    else cold_step "$shape" "$r"; cp_step "$shape" "$r"; fi
    settle; t0=$(now); rsync -a "$src/" "$out/rsync/"; T[rsync_${shape}_$r]=$(secs "$t0" "$(now)")
    retire "$out/rsync" --hollow
    settle; t0=$(now); "$KUMO" dataset pull "$shape-$r" "$out/warm" --node-store "$out/store" --parallel "$PARALLEL" >/dev/null
    T[warm_${shape}_$r]=$(secs "$t0" "$(now)")
    one="$( [ "$shape" = small ] && echo d000/f00000.bin || echo shard-0.bin)"
    cmp -s "$src/$one" "$out/warm/$one" || { echo "warm pull differs from the source" >&2; exit 1; }
    retire "$out/warm"; retire "$out/store" --hollow
    echo "round $r $shape ($( (( r % 2 )) && echo "cp first" || echo "pull first"), load $(cut -d' ' -f1 /proc/loadavg)): push ${T[push_${shape}_$r]} s, cp ${T[cp_${shape}_$r]} s (${T[cpsync_${shape}_$r]} s with its sync, CPU ${T[cpcpu_${shape}_$r]} s, source ${T[cpres_${shape}_$r]}% cached), cold pull ${T[cold_${shape}_$r]} s (CPU: client ${T[clientcpu_${shape}_$r]} s, cache ${T[cachecpu_${shape}_$r]} s; cache's objects ${T[cacheres_${shape}_$r]}% cached), rsync ${T[rsync_${shape}_$r]} s, warm pull ${T[warm_${shape}_$r]} s"
  done
done
rm -rf "$WORK/out"

args=()
for k in "${!T[@]}"; do args+=("$k=${T[$k]}"); done
python3 - "$RUNS" "${args[@]}" <<'PY'
import json, statistics, sys
runs = int(sys.argv[1])
t = dict(a.split("=") for a in sys.argv[2:])
med = lambda what, shape: statistics.median(float(t[f"{what}_{shape}_{r}"]) for r in range(1, runs + 1))
out = {}
for shape in ("small", "large"):
    cp = med("cp", shape)
    for what in ("warm", "cold", "push"):
        out[f"{what}_{'pull_' if what != 'push' else ''}{shape}_ratio_vs_cp"] = round(cp / med(what, shape), 3)
    out[f"cold_pull_{shape}_ratio_vs_cp_sync"] = round(med("cpsync", shape) / med("cold", shape), 3)
    out[f"rsync_{shape}_ratio_vs_cp"] = round(cp / med("rsync", shape), 3)
    for what in ("cp", "cpsync", "rsync", "push", "cold", "warm"):
        out[f"{what}_{shape}_s"] = med(what, shape)
    out[f"cold_{shape}_client_cpu_s"] = med("clientcpu", shape)
    out[f"cold_{shape}_cache_cpu_s"] = med("cachecpu", shape)
    out[f"cp_{shape}_cpu_s"] = med("cpcpu", shape)
    for what in ("cp", "cpsync", "cold", "warm"):
        out[f"{what}_{shape}_rounds"] = [float(t[f"{what}_{shape}_{r}"]) for r in range(1, runs + 1)]
out["runs"] = runs
print(json.dumps(out, sort_keys=True))
PY
