#!/usr/bin/env bash
# A/B of two kumo builds' cold pull: is a change to the pull path faster?
#   bench/datasets-ab.sh OLD_KUMO NEW_KUMO [ROUNDS]   (takes the benchmark lock itself)
# One server and cache (OLD's binary) hold one pushed tree (LARGE_N=8 files of LARGE_MIB=128
# MiB); each round pulls it cold (an empty node store) with OLD, with NEW and copies it with
# `cp -r`, the order of the two pulls alternating, each step after `settle` and its tree retired
# after it (emptied, its inodes kept until the end: datasets-lib.sh, as in bench/datasets.sh).
# Prints each step (wall, user, system seconds, the cache's CPU seconds), then the medians and
# one JSON line.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/datasets-lib.sh"
bench_lock "$@"
[ $# -ge 2 ] || { echo "usage: bench/datasets-ab.sh OLD_KUMO NEW_KUMO [ROUNDS]" >&2; exit 2; }
OLD=$(realpath "$1") NEW=$(realpath "$2") ROUNDS=${3:-6}
LARGE_N="${LARGE_N:-8}" LARGE_MIB="${LARGE_MIB:-128}" PARALLEL="${PARALLEL:-8}"
bench_workdir kumo-datasets-ab
python3 - "$WORK/src" "$LARGE_N" "$LARGE_MIB" <<'PY'
import os, sys
root, n, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(root)
for i in range(n):
    with open(os.path.join(root, "shard-%d.bin" % i), "wb") as f:
        for _ in range(mib):
            f.write(os.urandom(1 << 20))
PY
start_kumo_datasets "$OLD" "$OLD" $(( 2 * LARGE_N * LARGE_MIB + 256 ))
"$OLD" dataset push ab "$WORK/src" --project default --parallel "$PARALLEL" >/dev/null
TIMEFORMAT="%3R %3U %3S"
out="$WORK/out"
step() {  # ROUND SIDE
  settle
  local c0; c0=$(cache_ticks)
  case $2 in
    cp) { time cp -r "$WORK/src" "$out"; } 2> "$WORK/t" ;;
    *) local bin=$OLD; [ "$2" = new ] && bin=$NEW
       { time "$bin" dataset pull ab "$out" --node-store "$out-store" --parallel "$PARALLEL" >/dev/null; } 2> "$WORK/t" ;;
  esac
  echo "$1 $2 $(cat "$WORK/t") $(( $(cache_ticks) - c0 ))" | tee -a "$WORK/steps"
  cmp -s "$WORK/src/shard-0.bin" "$out/shard-0.bin" || { echo "$2: the copy differs" >&2; exit 1; }
  retire "$out" --hollow  # a pull's tree shares the store's inodes: this hollows both
  [ ! -d "$out-store" ] || retire "$out-store"
}
for r in $(seq "$ROUNDS"); do
  if (( r % 2 )); then step "$r" old; step "$r" new; else step "$r" new; step "$r" old; fi
  step "$r" cp
done
python3 - "$WORK/steps" "$(getconf CLK_TCK)" <<'PY'
import json, statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
tick = int(sys.argv[2])
out = {}
for side in ("old", "new", "cp"):
    r = [x for x in rows if x[1] == side]
    out[f"{side}_wall_s"] = statistics.median(float(x[2]) for x in r)
    out[f"{side}_cpu_s"] = round(statistics.median(float(x[3]) + float(x[4]) for x in r), 3)
    out[f"{side}_cache_cpu_s"] = statistics.median(int(x[5]) for x in r) / tick
    print(f"{side}: wall {out[f'{side}_wall_s']} s, CPU {out[f'{side}_cpu_s']} s, "
          f"cache CPU {out[f'{side}_cache_cpu_s']} s (medians of {len(r)})")
out["new_vs_old_wall"] = round(out["old_wall_s"] / out["new_wall_s"], 3)
out["new_ratio_vs_cp"] = round(out["cp_wall_s"] / out["new_wall_s"], 3)
out["rounds"] = len(rows) // 3
print(json.dumps(out, sort_keys=True))
PY
