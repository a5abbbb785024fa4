#!/usr/bin/env bash
# A/B of two builds on the core and control-plane benchmarks: is a change slower?
#   bench/ab.sh OLD_BIN_DIR NEW_BIN_DIR [ROUNDS]
# Each round runs bench/core.sh and bench/server.sh once with OLD's binaries and once with NEW's,
# the order alternating between rounds (these machines are noisy; a slow minute should hit both
# sides alike). Reports the medians per side and NEW/OLD ratios (above 1 = NEW faster for rates,
# below 1 = NEW faster for times). Make the directories with e.g.
#   git worktree add /tmp/kumo-old REV && make -C /tmp/kumo-old build &&
#   cmake --build /tmp/kumo-old/build --target server_bench core_bench
# Last line: one JSON object.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=$(realpath "$1")
NEW=$(realpath "$2")
ROUNDS=${3:-3}
for d in "$OLD" "$NEW"; do
  for b in kumo kumo-shim core_bench server_bench; do
    [ -x "$d/$b" ] || { echo "bench/ab.sh: $d/$b missing" >&2; exit 2; }
  done
done
OUT=$(mktemp -d /tmp/kumo-bench-ab.XXXXXX)
trap 'rm -rf "$OUT"' EXIT

run() {  # run SIDE DIR ROUND
  KUMO_BIN_DIR="$2" bench/core.sh 5 | tail -1 > "$OUT/core-$1-$3.json"
  KUMO_BIN_DIR="$2" bench/server.sh | tail -1 > "$OUT/server-$1-$3.json"
  echo "round $3 $1: $(cat "$OUT/core-$1-$3.json")" >&2
  echo "round $3 $1: $(cat "$OUT/server-$1-$3.json")" >&2
}
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) -eq 1 ]; then run old "$OLD" "$r"; run new "$NEW" "$r"
  else run new "$NEW" "$r"; run old "$OLD" "$r"; fi
done

/usr/bin/python3 - "$OUT" "$ROUNDS" "$OLD" "$NEW" <<'PY'
import json, statistics, sys
out, rounds, old, new = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def med(bench, side, key):
    return statistics.median(json.load(open(f"{out}/{bench}-{side}-{r}.json"))[key]
                             for r in range(1, rounds + 1))
res = {"bench": "ab", "rounds": rounds}
for bench, key in [("core", "pods_per_second"), ("core", "pass_seconds_median"),
                   ("server", "submissions_per_second"), ("server", "submit_latency_p99_ms"),
                   ("server", "submit_to_start_p50_ms"), ("server", "submit_to_start_p99_ms")]:
    o, n = med(bench, "old", key), med(bench, "new", key)
    res[f"{bench}_{key}_old"] = o
    res[f"{bench}_{key}_new"] = n
    res[f"{bench}_{key}_ratio"] = round(n / o, 3) if o else None
res["command"] = f"bench/ab.sh {old} {new} {rounds}"
print(json.dumps(res))
PY
