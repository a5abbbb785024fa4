#!/usr/bin/env bash
# kumo cache vs nginx on one machine: same files, same run, same load tool (wrk), same wrk
# command for both. kumo runs with auth on (HS256 token in wrk's header; nginx ignores it).
#
#   bench/cache-vs-nginx.sh            (takes the machine-wide benchmark lock itself)
# Environment: DURATION (s per run, 10), SMALL_N (10000 x 100 KiB), LARGE_N (8 x 64 MiB),
#   SMALL_CONNS (16), LARGE_CONNS (4), THREADS (wrk threads, 2), RUNS (rounds, 3),
#   P99_LOADS (connection counts tried for the latency point, "8 4 2 1"), KUMO (binary).
# Every figure is the median of RUNS runs, nginx and kumo alternating. The latency point is the
# highest concurrency in P99_LOADS at which nginx's p99 is under 2 ms.
# Prints wrk's figures per run, then one JSON line: small_rps_ratio and large_gbps_ratio
# (kumo / nginx), small_p99_ms (kumo, at p99_conns), nginx's p99 there, small_uring_rps_ratio
# and large_uring_gbps_ratio (kumo --io uring / kumo --io epoll, medians), and the medians.
# Leaves nothing behind.
set -euo pipefail

source "$(dirname "$0")/lib.sh"
bench_lock "$@"

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
KUMO="${KUMO:-$ROOT/build/bin/kumo}"
DURATION="${DURATION:-10}"
SMALL_N="${SMALL_N:-10000}"
LARGE_N="${LARGE_N:-8}"
SMALL_CONNS="${SMALL_CONNS:-16}"
LARGE_CONNS="${LARGE_CONNS:-4}"
THREADS="${THREADS:-2}"
RUNS="${RUNS:-3}"
P99_LOADS="${P99_LOADS:-8 4 2 1}"

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
if [ "${#need[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
[ -x "$KUMO" ] || { echo "build kumo first: cmake --build build -j2 --target kumo" >&2; exit 1; }

bench_workdir kumo-cache-bench

# ---- data: the same bytes for both servers, at the same URL paths ----
FILES="$WORK/files/v1/objects/data"
mkdir -p "$FILES/small" "$FILES/large"
python3 - "$FILES" "$SMALL_N" "$LARGE_N" <<'PY'
import os, sys
root, small_n, large_n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(small_n):
    with open(f"{root}/small/{i:05d}", "wb") as f: f.write(os.urandom(100 * 1024))
for i in range(large_n):
    with open(f"{root}/large/{i}", "wb") as f: f.write(os.urandom(64 * 1024 * 1024))
PY

cat > "$WORK/pick.lua" <<'LUA'
-- Random keys: wrk -s pick.lua URL -- PREFIX N
local prefix, n, fmt
function init(args)
  prefix = args[1]; n = tonumber(args[2]); fmt = args[3]
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end
function request()
  return wrk.format("GET", prefix .. string.format(fmt, math.random(0, n - 1)))
end
LUA

# ---- nginx: its own prefix and config, foreground, stopped by PID ----
NPORT="$(free_port)"
mkdir -p "$WORK/nginx/logs"
cat > "$WORK/nginx/nginx.conf" <<NGX
worker_processes 2;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  sendfile on;
  tcp_nopush on;
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$NPORT reuseport;
    root $WORK/files;
  }
}
NGX
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/logs/error.log" &
bench_track $!

# ---- kumo: auth on, objects PUT first ----
KPORT="$(free_port)"
head -c 48 /dev/urandom | base64 -w0 > "$WORK/secret"
printf 'namespaces:\n  bench:\n    read: [data]\n    write: [data]\n' > "$WORK/acl.yaml"
TOKEN="$("$KUMO" cache token --secret-file "$WORK/secret" --sub system:serviceaccount:bench:wrk --ttl-s 86400)"
start_kumo() {
  "$KUMO" cache serve --listen "127.0.0.1:$KPORT" --dir "$WORK/kumo" --capacity 8Gi --workers 2 \
    --auth-secret-file "$WORK/secret" --acl "$WORK/acl.yaml" "$@" > "$WORK/kumo.log" 2>&1 &
  KUMO_PID=$!; bench_track $!
  for _ in $(seq 100); do grep -q listening "$WORK/kumo.log" 2>/dev/null && return; sleep 0.1; done
  cat "$WORK/kumo.log" >&2; exit 1
}
stop_kumo() { kill "$KUMO_PID"; wait "$KUMO_PID" 2>/dev/null || true; KUMO_PID=""; }
start_kumo
python3 - "$WORK/files" "$KPORT" "$TOKEN" <<'PY'
import http.client, os, sys, threading
root, port, token = sys.argv[1], int(sys.argv[2]), sys.argv[3]
paths = []
for d, _, names in os.walk(root):
    paths += [os.path.join(d, n) for n in names]
def load(part):
    c = http.client.HTTPConnection("127.0.0.1", port)
    for p in part:
        with open(p, "rb") as f: body = f.read()
        c.request("PUT", p[len(root):], body, {"Authorization": "Bearer " + token})
        r = c.getresponse(); r.read()
        assert r.status == 201, (p, r.status)
ts = [threading.Thread(target=load, args=(paths[i::4],)) for i in range(4)]
[t.start() for t in ts]; [t.join() for t in ts]
print(f"loaded {len(paths)} objects into kumo", file=sys.stderr)
PY
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$NPORT/v1/objects/data/small/00000" && break; sleep 0.1; done
# Warm the page cache for both (the same files are read by nginx; kumo has its own copies).
cat "$FILES"/small/* "$FILES"/large/* > /dev/null
find "$WORK/kumo/objects" -type f -exec cat {} + > /dev/null

run_wrk() {  # name conns port prefix n fmt: one wrk run, appended to $WORK/runs/name.N.txt
  local name=$1 conns=$2 port=$3 t=$THREADS i
  [ "$conns" -lt "$t" ] && t=$conns
  mkdir -p "$WORK/runs"
  for i in $(seq 100); do [ -e "$WORK/runs/$name.$i.txt" ] || break; done
  wrk -t"$t" -c"$conns" -d"${DURATION}s" --latency -H "Authorization: Bearer $TOKEN" \
    -s "$WORK/pick.lua" "http://127.0.0.1:$port" -- "$4" "$5" "$6" > "$WORK/runs/$name.$i.txt"
  echo "== $name run $i: wrk -t$t -c$conns -d${DURATION}s --latency -H 'Authorization: Bearer <token>' -s pick.lua http://127.0.0.1:PORT -- $4 $5 $6"
  grep -E "Requests/sec|Transfer/sec|^ +(50|99)%" "$WORK/runs/$name.$i.txt"
}
p99_of() {  # p99_of FILE: wrk's 99% latency in ms
  awk '$1=="99%" { v=$2; u=v; gsub(/[0-9.]/,"",u); sub(/[a-z]+$/,"",v);
                   m = (u=="us") ? 0.001 : (u=="s") ? 1000 : 1; printf "%.3f\n", v*m }' "$1"
}
SMALL=(/v1/objects/data/small/ "$SMALL_N" %05d)
LARGE=(/v1/objects/data/large/ "$LARGE_N" %d)
# Throughput: RUNS rounds, nginx and kumo alternating, so drift on the shared machine hits both.
for _ in $(seq "$RUNS"); do
  run_wrk nginx_small "$SMALL_CONNS" "$NPORT" "${SMALL[@]}"
  run_wrk kumo_small "$SMALL_CONNS" "$KPORT" "${SMALL[@]}"
  run_wrk nginx_large "$LARGE_CONNS" "$NPORT" "${LARGE[@]}"
  run_wrk kumo_large "$LARGE_CONNS" "$KPORT" "${LARGE[@]}"
done
# Latency: from the highest concurrency in P99_LOADS down, RUNS rounds of both at each load,
# until nginx's median p99 is under 2 ms; the figures reported are those at that load.
median_p99() {  # median_p99 NAME: median of wrk's p99 over $WORK/runs/NAME.*.txt
  for f in "$WORK/runs/$1".*.txt; do p99_of "$f"; done | sort -g |
    awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
P99_CONNS=""
for c in $P99_LOADS; do
  for _ in $(seq "$RUNS"); do
    run_wrk "nginx_small_c$c" "$c" "$NPORT" "${SMALL[@]}"
    run_wrk "kumo_small_c$c" "$c" "$KPORT" "${SMALL[@]}"
  done
  if awk -v p="$(median_p99 "nginx_small_c$c")" 'BEGIN { exit !(p < 2.0) }'; then
    P99_CONNS=$c; break
  fi
done
# The small-body path, measured rather than assumed: 100 KiB through pread+send instead of sendfile.
stop_kumo
start_kumo --sendfile-min 1Mi
for _ in $(seq "$RUNS"); do run_wrk kumo_small_pread "$SMALL_CONNS" "$KPORT" "${SMALL[@]}"; done
stop_kumo
start_kumo --io uring  # the io_uring backend on the same objects (docs/cache.md, I/O backends)
for _ in $(seq "$RUNS"); do
  run_wrk kumo_small_uring "$SMALL_CONNS" "$KPORT" "${SMALL[@]}"
  run_wrk kumo_large_uring "$LARGE_CONNS" "$KPORT" "${LARGE[@]}"
done
stop_kumo
grep -q "Non-2xx" "$WORK"/runs/*.txt && { echo "some responses were not 2xx" >&2; grep -H Non-2xx "$WORK"/runs/*.txt >&2; exit 1; }

python3 - "$WORK/runs" "$RUNS" "${P99_CONNS:-none}" <<'PY'
import glob, json, re, statistics, sys
runs_dir, runs, p99_conns = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def parse(path):
    t = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    v, u = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", t).groups()
    bps = float(v) * {"B": 1, "KB": 2**10, "MB": 2**20, "GB": 2**30}[u]
    p = {}
    for q, val, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", t, re.M):
        p[q] = float(val) * {"us": 1e-3, "ms": 1, "s": 1e3}[unit]
    return {"rps": rps, "gbps": bps * 8 / 1e9, "p50_ms": p.get("50"), "p99_ms": p.get("99")}
def med(name):
    rs = [parse(f) for f in sorted(glob.glob(f"{runs_dir}/{name}.*.txt"))]
    if not rs:
        return None
    return {k: round(statistics.median(r[k] for r in rs), 3) for k in rs[0]} | \
           {"runs": len(rs), "rps_each": [round(r["rps"]) for r in rs],
            "p99_each": [r["p99_ms"] for r in rs]}
r = {n: med(n) for n in ["nginx_small", "kumo_small", "kumo_small_pread", "nginx_large",
                         "kumo_large", "kumo_small_uring", "kumo_large_uring"]}
tried = sorted({int(m) for m in re.findall(r"nginx_small_c(\d+)\.", " ".join(glob.glob(f"{runs_dir}/*")))},
               reverse=True)
for c in tried:
    r[f"nginx_small_c{c}"], r[f"kumo_small_c{c}"] = med(f"nginx_small_c{c}"), med(f"kumo_small_c{c}")
lat = r.get(f"kumo_small_c{p99_conns}")
print(json.dumps({
    "small_rps_ratio": round(r["kumo_small"]["rps"] / r["nginx_small"]["rps"], 3),
    "large_gbps_ratio": round(r["kumo_large"]["gbps"] / r["nginx_large"]["gbps"], 3),
    "small_p99_ms": lat["p99_ms"] if lat else None,
    "nginx_small_p99_ms": r[f"nginx_small_c{p99_conns}"]["p99_ms"] if lat else None,
    "p99_conns": None if p99_conns == "none" else int(p99_conns),
    "small_p99_ms_at_small_conns": r["kumo_small"]["p99_ms"],
    "nginx_small_p99_ms_at_small_conns": r["nginx_small"]["p99_ms"],
    "small_pread_rps_ratio": round(r["kumo_small_pread"]["rps"] / r["nginx_small"]["rps"], 3),
    "small_uring_rps_ratio": round(r["kumo_small_uring"]["rps"] / r["kumo_small"]["rps"], 3),
    "large_uring_gbps_ratio": round(r["kumo_large_uring"]["gbps"] / r["kumo_large"]["gbps"], 3),
    "runs": runs, "medians": r}))
PY
