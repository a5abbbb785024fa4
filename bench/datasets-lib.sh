# Shared by bench/datasets.sh and bench/datasets-ab.sh (sourced after bench/lib.sh and
# bench_workdir):
#   start_kumo_datasets SERVER_BIN CACHE_BIN CAPACITY_MIB
# starts a kumo server and a kumo cache it trusts (JWKS) on loopback, both tracked for exit,
# and exports KUMO_CONFIG, KUMO_SERVER, KUMO_TOKEN for the `kumo dataset` commands; sets
# CACHE_PID. Also: settle (sync and wait for writeback), cache_ticks (the cache's CPU ticks).

start_kumo_datasets() {
  local cache_port; cache_port="$(free_port)"
  mkdir -p "$WORK/server" "$WORK/cache"
  echo "nodes: [{name: n, cpu: 2, memory: 4Gi}]" > "$WORK/inv.yaml"
  "$1" server --data-dir "$WORK/server" --listen 127.0.0.1:0 --inventory "$WORK/inv.yaml" \
    --no-cgroups --cache "127.0.0.1:$cache_port" > "$WORK/server.log" 2>&1 &
  bench_track $!
  for _ in $(seq 200); do [ -s "$WORK/server/server.port" ] && break; sleep 0.05; done
  printf 'namespaces:\n  kumo: {read: [datasets], write: [datasets]}\n' > "$WORK/acl.yaml"
  "$2" cache serve --listen "127.0.0.1:$cache_port" --dir "$WORK/cache" --capacity "${3}Mi" \
    --jwks "$WORK/server/cache-jwks.json" --acl "$WORK/acl.yaml" > "$WORK/cache.log" 2>&1 &
  CACHE_PID=$!
  bench_track $CACHE_PID
  for _ in $(seq 200); do curl -sf "http://127.0.0.1:$cache_port/healthz" >/dev/null && break; sleep 0.05; done
  export KUMO_CONFIG=/dev/null KUMO_SERVER="127.0.0.1:$(cat "$WORK/server/server.port")"
  export KUMO_TOKEN="$(cat "$WORK/server/admin.token")"
}

# sync, then wait (≤ 10 s) until the dirty and under-writeback pages are below 8 MiB: no timed
# step pays for the writeback of the one before.
settle() {
  sync
  for _ in $(seq 100); do
    awk '/^(Dirty|Writeback):/ {kib += $2} END {exit !(kib < 8192)}' /proc/meminfo && return 0
    sleep 0.1
  done
}

cache_ticks() { awk '{print $14 + $15}' "/proc/$CACHE_PID/stat"; }  # utime + stime, in ticks
