#!/usr/bin/env bash
# What task isolation adds to a task start (issue #12; docs/security.md, docs/benchmarks.md).
# Starts `true` STARTS times in a row under kumo-shim, per round in each of three ways, the order
# rotating between rounds (these machines are noisy: a slow minute should hit every side):
#   plain     kumo-shim, no sandbox (the start before issue #12, and with isolation off);
#   isolated  kumo-shim with its sandbox: mount namespace, tmpfs over the data dir, an rw and an
#             ro bind, hidepid /proc, uid 200000, no_new_privs (what `kumo server` does);
#   bwrap     the peer: plain kumo-shim running bubblewrap (same mounts) then setpriv (same
#             uid, no_new_privs) -- the same sandbox from Debian's tools, two more execs. Skipped
#             when `bwrap` is not installed (Debian's `bubblewrap`).
# Reports medians over rounds of wall time and CPU time (user+sys of the shim and its children)
# per start, in milliseconds. Needs root (setuid, mounts).
# Usage: bench/task-start.sh [STARTS] [ROUNDS]       Last line: one JSON object.
#        KUMO_BIN_DIR=DIR uses DIR/kumo-shim as built (default build/bin).
set -euo pipefail
cd "$(dirname "$0")/.."
STARTS=${1:-200}
ROUNDS=${2:-5}
SHIM=${KUMO_BIN_DIR:-build/bin}/kumo-shim
[ "$(id -u)" = 0 ] || { echo "task-start.sh: needs root (the sandbox sets uids and mounts)" >&2; exit 1; }
[ -x "$SHIM" ] || { echo "task-start.sh: $SHIM missing (cmake --build build --target kumo-shim)" >&2; exit 2; }
WORK=$(mktemp -d /tmp/kumo-bench-task-start.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
exec /usr/bin/python3 bench/task_start/driver.py "$(realpath "$SHIM")" "$WORK" "$STARTS" "$ROUNDS"
