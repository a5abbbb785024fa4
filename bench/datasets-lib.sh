# Shared by bench/datasets.sh and bench/datasets-ab.sh (sourced after bench/lib.sh and
# bench_workdir):
#   start_kumo_datasets SERVER_BIN CACHE_BIN CAPACITY_MIB
# starts a kumo server and a kumo cache it trusts (JWKS) on loopback, both tracked for exit,
# and exports KUMO_CONFIG, KUMO_SERVER, KUMO_TOKEN for the `kumo dataset` commands; sets
# CACHE_PID. Also: settle (sync and wait for writeback), cache_ticks (the cache's CPU ticks),
# retire (moves a finished step's tree out of the way without freeing its inodes).

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

# retire TREE [--hollow]: moves TREE under $WORK/retired (removed at exit); --hollow truncates its
# files to 0 bytes first, giving their blocks and page cache back but keeping their inodes.
# Deleting a tree of 10,000 files instead makes the next step's file creation pay for it: ext4
# without a journal (this VM's root filesystem) does not reuse an inode freed in the last 60 s
# (360 s while its inode-table block is dirty), and finds that out with one buffer-cache lookup
# per skipped inode, scanning the group again for each new file (recently_deleted() and
# find_inode_bit() in fs/ext4/ialloc.c, Linux ≥ 5.7). `perf record` of a `cp -r` of 10,000 files
# started right after such a delete: 80% of its samples in find_inode_bit; the pull's, 59%.
# And it was a bias: deleting cp's tree freed 10,000 inodes just before the pull (rounds with cp
# first), deleting the pull's tree (hard links into the node store) freed none before cp (rounds
# with the pull first). Hollow a tree that owns its bytes (cp's, rsync's, the node store); a tree
# of hard links into the store is hollowed with it (same inodes) and moved only.
retire() {
  mkdir -p "$WORK/retired"
  if [ "${2:-}" = --hollow ]; then
    python3 - "$1" <<'PY'
import os, sys
for d, _, files in os.walk(sys.argv[1]):
    for f in files:
        p = os.path.join(d, f)
        os.chmod(p, 0o644)  # node-store objects are 0444
        os.truncate(p, 0)
PY
  fi
  mv "$1" "$WORK/retired/$(basename "$1").$RANDOM$RANDOM"
}
