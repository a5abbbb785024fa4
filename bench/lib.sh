# Sourced by the bench scripts: what every one of them does first. Usage, at the top:
#   source "$(dirname "$0")/lib.sh"
#   bench_lock "$@"                 # one benchmark at a time on this machine (re-execs under flock)
#   bench_workdir kumo-foo-bench    # WORK=/tmp/kumo-foo-bench.XXXXXX, removed at exit
#   some_server & bench_track $!    # killed (and waited for) at exit, by PID, newest first
#   port="$(free_port)"
# Scripts keep `set -euo pipefail` themselves.

# Re-executes the calling script under the machine-wide benchmark lock unless already holding it:
# two benchmarks at once would each measure the other.
bench_lock() {
  if [ -z "${KUMO_BENCH_LOCKED:-}" ]; then
    export KUMO_BENCH_LOCKED=1
    exec flock /tmp/kumo-bench.lock "$0" "$@"
  fi
}

BENCH_PIDS=()
# Remembers a process to stop at exit.
bench_track() { BENCH_PIDS+=("$1"); }

bench_cleanup() {
  local i
  for ((i = ${#BENCH_PIDS[@]} - 1; i >= 0; i--)); do
    kill "${BENCH_PIDS[i]}" 2>/dev/null && wait "${BENCH_PIDS[i]}" 2>/dev/null || true  # wait: 143
  done
  [ -n "${WORK:-}" ] && rm -rf "$WORK"
  return 0
}

# Makes WORK (0755: nginx workers run as an unprivileged user when started by root) and arranges
# for it and every tracked process to go at exit.
bench_workdir() {
  WORK="$(mktemp -d "/tmp/$1.XXXXXX")"
  chmod 755 "$WORK"
  trap bench_cleanup EXIT
}

# A TCP port on 127.0.0.1 that was free a moment ago.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
