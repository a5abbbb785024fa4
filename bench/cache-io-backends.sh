#!/usr/bin/env bash
# kumo cache --io epoll vs --io uring on small bodies, where per-request syscalls weigh most:
# one server per backend and round, the same object, the same wrk command, backends alternating
# round by round so that a change in the machine's load hits both.
#
#   bench/cache-io-backends.sh        (takes the machine-wide benchmark lock itself)
# Environment: SIZES ("2048 16384"), CONNS ("16 256"), ROUNDS (3), DURATION (s per run, 5),
#   THREADS (wrk threads, 2), KUMO (binary).
# Prints one line per run, then one JSON line: per size and connection count the median
# requests/s of each backend and the median of the per-round ratios uring / epoll.
set -euo pipefail
if [ -z "${KUMO_BENCH_LOCKED:-}" ]; then  # the machine-wide benchmark lock, as the other benches
  export KUMO_BENCH_LOCKED=1
  exec flock /tmp/kumo-bench.lock "$0" "$@"
fi

: "${KUMO:=$(cd "$(dirname "$0")/.." && pwd)/build/bin/kumo}" "${SIZES:=2048 16384}"
: "${CONNS:=16 256}" "${ROUNDS:=3}" "${DURATION:=5}" "${THREADS:=2}"
command -v wrk >/dev/null || { echo "needs wrk (scripts/install-deps)" >&2; exit 1; }
[ -x "$KUMO" ] || { echo "build kumo first: cmake --build build -j2 --target kumo" >&2; exit 1; }

WORK="$(mktemp -d /tmp/kumo-io-bench.XXXXXX)"
KUMO_PID=""
cleanup() {
  [ -n "$KUMO_PID" ] && kill "$KUMO_PID" 2>/dev/null && wait "$KUMO_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

start_kumo() {  # io
  rm -f "$WORK/port"
  "$KUMO" cache serve --listen 127.0.0.1:0 --port-file "$WORK/port" --dir "$WORK/kumo" \
    --capacity 1Gi --workers 2 --no-auth --io "$1" > "$WORK/kumo.log" 2>&1 &
  KUMO_PID=$!
  for _ in $(seq 100); do [ -s "$WORK/port" ] && return; sleep 0.1; done
  cat "$WORK/kumo.log" >&2; exit 1
}
stop_kumo() { kill "$KUMO_PID"; wait "$KUMO_PID" 2>/dev/null || true; KUMO_PID=""; }

: > "$WORK/results"
for size in $SIZES; do
  head -c "$size" /dev/urandom > "$WORK/body"
  for round in $(seq "$ROUNDS"); do
    for io in epoll uring; do
      start_kumo "$io"
      url="http://127.0.0.1:$(cat "$WORK/port")/v1/objects/bench/obj"
      curl -sf -X PUT --data-binary @"$WORK/body" "$url" > /dev/null
      for c in $CONNS; do
        out="$(wrk -t"$THREADS" -c"$c" -d"${DURATION}s" "$url")"
        if grep -q "Non-2xx" <<<"$out"; then echo "$out" >&2; exit 1; fi
        rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
        echo "size=$size conns=$c round=$round io=$io rps=$rps  (wrk -t$THREADS -c$c -d${DURATION}s URL)"
        echo "$size $c $round $io $rps" >> "$WORK/results"
      done
      stop_kumo
    done
  done
done

python3 - "$WORK/results" <<'PY'
import json, statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
out = {}
for size, c in sorted({(int(r[0]), int(r[1])) for r in rows}):
    rps = {io: {int(r[2]): float(r[4]) for r in rows if (int(r[0]), int(r[1]), r[3]) == (size, c, io)}
           for io in ("epoll", "uring")}
    ratios = [rps["uring"][k] / rps["epoll"][k] for k in rps["epoll"] if k in rps["uring"]]
    out[f"{size}B_c{c}"] = {"epoll_rps": statistics.median(rps["epoll"].values()),
                            "uring_rps": statistics.median(rps["uring"].values()),
                            "uring_over_epoll": round(statistics.median(ratios), 3),
                            "ratios": [round(x, 3) for x in ratios]}
print(json.dumps(out))
PY
