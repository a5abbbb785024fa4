#!/usr/bin/env bash
# The dashboard end to end in headless Chromium (ctest label "browser"): the real `kumo server`
# on 127.0.0.1 with a temp data dir, two users of two projects, and dashboard_test.mjs driving
# Debian's /usr/bin/chromium through playwright-core (from npm, installed into the build dir;
# it never downloads a browser). Screenshots go to BUILD_DIR/browser-screenshots/.
#
# Usage: run.sh KUMO_BINARY BUILD_DIR        Exit 77 (ctest: skipped) without chromium, node or
#                                            npm, or when playwright-core cannot be installed.
set -euo pipefail
kumo=$1
build=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
examples=$(cd "$here/../../../examples" && pwd)
PLAYWRIGHT_VERSION=1.65.2

for tool in /usr/bin/chromium node npm; do
  command -v "$tool" >/dev/null || { echo "browser test: $tool not installed (scripts/install-deps)"; exit 77; }
done
modules="$build/browser-test"
if [ ! -f "$modules/node_modules/playwright-core/package.json" ]; then
  mkdir -p "$modules"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$modules" --no-audit --no-fund \
    --loglevel=error "playwright-core@$PLAYWRIGHT_VERSION" ||
    { echo "browser test: cannot install playwright-core from npm"; exit 77; }
fi

tmp=$(mktemp -d /tmp/kumo-browser-XXXXXX)
server_pid=""
cleanup() {
  # Cancelling ends the tasks through the server (checkpoint signal, then SIGKILL)...
  [ -n "${running:-}" ] && "$kumo" cancel "$running" >/dev/null 2>&1 || true
  sleep 1
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  # ...and should one be left (shims outlive the server by design), it is ended by its PID: only
  # processes whose command line names this test's own temp dir.
  for p in $(pgrep -f -- "$tmp/data/jobs/" || true); do kill -9 -- "-$p" 2>/dev/null || kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# waitForNodes: the queue page must show a job that no node can hold (Unschedulable, with the
# scheduler's sentence) rather than have it refused at submit.
echo "waitForNodes: true" >"$tmp/server.yaml"
"$kumo" server --data-dir "$tmp/data" --listen 127.0.0.1:0 --inventory "$examples/inventory-2x4.yaml" \
  --config "$tmp/server.yaml" --no-cgroups >"$tmp/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 300); do [ -s "$tmp/data/server.port" ] && break; sleep 0.1; done
[ -s "$tmp/data/server.port" ] || { cat "$tmp/server.log"; exit 1; }
export KUMO_SERVER="127.0.0.1:$(cat "$tmp/data/server.port")"
export KUMO_TOKEN="$(cat "$tmp/data/admin.token")"

"$kumo" project create vision >/dev/null
"$kumo" project create nlp >/dev/null
alice=$("$kumo" user create alice --projects vision -o json | node -e 'process.stdin.on("data",d=>console.log(JSON.parse(d).token))')
bob=$("$kumo" user create bob --projects nlp -o json | node -e 'process.stdin.on("data",d=>console.log(JSON.parse(d).token))')

cat >"$tmp/running.yaml" <<'YAML'
apiVersion: kumo/v1
kind: Job
metadata: {name: resnet-train}
spec:
  project: vision
  taskGroups:
    - name: main
      workingDir: /tmp
      command: ["sh", "-c", "echo epoch 1 loss 0.93; echo epoch 2 loss 0.71; sleep 600"]
      resources: {cpu: 100m, memory: 64Mi, gpu: 4}
YAML
cat >"$tmp/waiting.yaml" <<'YAML'
apiVersion: kumo/v1
kind: Job
metadata: {name: too-big}
spec:
  project: vision
  taskGroups:
    - name: main
      workingDir: /tmp
      command: ["true"]
      resources: {cpu: 100m, memory: 64Mi, gpu: 64}
YAML
running=$(KUMO_TOKEN=$alice "$kumo" submit -f "$tmp/running.yaml" -o json | node -e 'process.stdin.on("data",d=>console.log(JSON.parse(d).id))')
waiting=$(KUMO_TOKEN=$alice "$kumo" submit -f "$tmp/waiting.yaml" -o json | node -e 'process.stdin.on("data",d=>console.log(JSON.parse(d).id))')

mkdir -p "$build/browser-screenshots"
MODULES="$modules" KUMO_URL="http://$KUMO_SERVER/ui/" ALICE_TOKEN="$alice" \
  BOB_TOKEN="$bob" RUNNING_JOB="$running" WAITING_JOB="$waiting" \
  SCREENSHOTS="$build/browser-screenshots" node "$here/dashboard_test.mjs"
