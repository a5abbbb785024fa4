#!/usr/bin/env bash
# kumo datasets vs cp -r and rsync on one machine: push a tree to kumo cache through the kumo
# server, then pull it back — cold (the node store is empty: every byte comes from the cache
# over loopback) and warm (the version is already in the node store: hard links only) — against
# `cp -r` and `rsync -a` of the same tree on the same disk, in the same run.
#
#   bench/datasets.sh          (takes the machine-wide benchmark lock itself)
# Environment: SMALL_N (10000 files of SMALL_KIB=100 KiB), LARGE_N (8 files of LARGE_MIB=128
#   MiB), RUNS (rounds, 3), PARALLEL (kumo's files in flight, 8), KUMO (binary).
# Each round pushes a fresh dataset name (so every byte is sent), and runs cp, kumo cold pull,
# rsync, kumo warm pull in that order; every figure is the median of RUNS rounds. The page cache
# is left as it is for all tools alike (nothing is dropped: this machine is shared).
# Prints the per-round seconds, then one JSON line: *_ratio_vs_cp = cp's seconds / kumo's (> 1:
# kumo is faster), for warm and cold pulls and pushes of both shapes, and rsync's ratio too;
# cold_*_client_cpu_s and cold_*_cache_cpu_s are the CPU seconds (user + system) the pulling
# `kumo` and the cache spent on the cold pull (medians), which bound it on a 2-core machine.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
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
cache_ticks() { awk '{print $14 + $15}' "/proc/$CACHE_PID/stat"; }  # utime + stime, in ticks
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
CACHE_PORT="$(free_port)"
mkdir -p "$WORK/server" "$WORK/cache"
echo "nodes: [{name: n, cpu: 2, memory: 4Gi}]" > "$WORK/inv.yaml"
"$KUMO" server --data-dir "$WORK/server" --listen 127.0.0.1:0 --inventory "$WORK/inv.yaml" \
  --no-cgroups --cache "127.0.0.1:$CACHE_PORT" > "$WORK/server.log" 2>&1 &
bench_track $!
for _ in $(seq 200); do [ -s "$WORK/server/server.port" ] && break; sleep 0.05; done
printf 'namespaces:\n  kumo: {read: [datasets], write: [datasets]}\n' > "$WORK/acl.yaml"
TOTAL_MIB=$(( (SMALL_N * SMALL_KIB / 1024 + LARGE_N * LARGE_MIB) * (RUNS + 1) + 256 ))
"$KUMO" cache serve --listen "127.0.0.1:$CACHE_PORT" --dir "$WORK/cache" --capacity "${TOTAL_MIB}Mi" \
  --jwks "$WORK/server/cache-jwks.json" --acl "$WORK/acl.yaml" > "$WORK/cache.log" 2>&1 &
CACHE_PID=$!
bench_track $CACHE_PID
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$CACHE_PORT/healthz" >/dev/null && break; sleep 0.05; done
export KUMO_CONFIG=/dev/null KUMO_SERVER="127.0.0.1:$(cat "$WORK/server/server.port")"
export KUMO_TOKEN="$(cat "$WORK/server/admin.token")"

declare -A T
for r in $(seq "$RUNS"); do
  for shape in small large; do
    src="$WORK/src/$shape" out="$WORK/out"
    rm -rf "$out"; mkdir -p "$out"
    # Each timed step starts with no dirty pages of the step before it: writeback of the last
    # step's gigabyte would otherwise be charged to whichever step runs next.
    sync
    t0=$(now); "$KUMO" dataset push "$shape-$r" "$src" --project default --parallel "$PARALLEL" >/dev/null; t1=$(now)
    T[push_${shape}_$r]=$(secs "$t0" "$t1")
    sync; t0=$(now); cp -r "$src" "$out/cp"; t1=$(now); T[cp_${shape}_$r]=$(secs "$t0" "$t1")
    sync; c0=$(cache_ticks); t0=$(now)
    { time "$KUMO" dataset pull "$shape-$r" "$out/cold" --node-store "$out/store" --parallel "$PARALLEL" >/dev/null; } 2> "$WORK/cpu"
    t1=$(now); c1=$(cache_ticks)
    T[cold_${shape}_$r]=$(secs "$t0" "$t1")
    T[clientcpu_${shape}_$r]=$(awk '{print $1 + $2}' "$WORK/cpu")
    T[cachecpu_${shape}_$r]=$(python3 -c "print(round(($c1 - $c0) / $TICK_HZ, 3))")
    sync; t0=$(now); rsync -a "$src/" "$out/rsync/"; t1=$(now); T[rsync_${shape}_$r]=$(secs "$t0" "$t1")
    sync; t0=$(now); "$KUMO" dataset pull "$shape-$r" "$out/warm" --node-store "$out/store" --parallel "$PARALLEL" >/dev/null; t1=$(now)
    T[warm_${shape}_$r]=$(secs "$t0" "$t1")
    cmp -s "$src/$( [ "$shape" = small ] && echo d000/f00000.bin || echo shard-0.bin)" \
      "$out/warm/$( [ "$shape" = small ] && echo d000/f00000.bin || echo shard-0.bin)" \
      || { echo "warm pull differs from the source" >&2; exit 1; }
    echo "round $r $shape: push ${T[push_${shape}_$r]} s, cp ${T[cp_${shape}_$r]} s, cold pull ${T[cold_${shape}_$r]} s (CPU: client ${T[clientcpu_${shape}_$r]} s, cache ${T[cachecpu_${shape}_$r]} s), rsync ${T[rsync_${shape}_$r]} s, warm pull ${T[warm_${shape}_$r]} s"
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
    out[f"rsync_{shape}_ratio_vs_cp"] = round(cp / med("rsync", shape), 3)
    for what in ("cp", "rsync", "push", "cold", "warm"):
        out[f"{what}_{shape}_s"] = med(what, shape)
    out[f"cold_{shape}_client_cpu_s"] = med("clientcpu", shape)
    out[f"cold_{shape}_cache_cpu_s"] = med("cachecpu", shape)
out["runs"] = runs
print(json.dumps(out, sort_keys=True))
PY
