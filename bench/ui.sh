#!/usr/bin/env bash
# The dashboard's queue page with 10,000 jobs in the store, loaded in headless Chromium from
# `kumo server` and, as the peer, from nginx serving the very same bytes (the page's files and
# the API answers the page asks for, saved from kumo) as static files. Same browser, same page,
# same machine, rounds alternating; the figure is the time from navigation to the page's tables
# rendered (main[data-loaded]), which includes the page's API calls (whoami, the head of the
# queue: /v1/queue?limit=200 of 10,000, running jobs).
#
#   bench/ui.sh                 (takes the machine-wide benchmark lock itself)
# Environment: JOBS (10000), RUNS (rounds, 7), KUMO (binary), BUILD (build dir with
#   browser-test/node_modules/playwright-core: `ctest -L browser` installs it there).
# Prints each round, then one JSON line: medians for kumo and nginx (page, and the page's
# /v1/queue call alone via curl), their ratio, kumo's full /v1/queue (all 10,000) for scale,
# and whether kumo's page loaded under 1 s.
set -euo pipefail

source "$(dirname "$0")/lib.sh"
bench_lock "$@"

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${BUILD:-$ROOT/build}"
KUMO="${KUMO:-$BUILD/bin/kumo}"
JOBS="${JOBS:-10000}"
RUNS="${RUNS:-7}"
MODULES="$BUILD/browser-test"
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
[ -x "$KUMO" ] || { echo "build kumo first: cmake --build build -j2 --target kumo" >&2; exit 1; }
[ -x /usr/bin/chromium ] && [ -x "$NGINX" ] || { echo "needs chromium and nginx (scripts/install-deps)" >&2; exit 1; }
[ -f "$MODULES/node_modules/playwright-core/package.json" ] ||
  { echo "needs playwright-core in $MODULES: run 'cd $BUILD && ctest -L browser' once" >&2; exit 1; }

bench_workdir kumo-ui-bench

# ---- kumo server with JOBS pending jobs (each asks for more GPUs than a node has: they wait) ----
"$KUMO" server --data-dir "$WORK/data" --listen 127.0.0.1:0 \
  --inventory "$ROOT/examples/inventory-2x4.yaml" --no-cgroups >"$WORK/server.log" 2>&1 &
bench_track $!
for _ in $(seq 300); do [ -s "$WORK/data/server.port" ] && break; sleep 0.1; done
KUMO_PORT="$(cat "$WORK/data/server.port")"
TOKEN="$(cat "$WORK/data/admin.token")"
python3 - "$KUMO_PORT" "$TOKEN" "$JOBS" <<'PY'
import http.client, sys, threading
port, token, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
spec = ("apiVersion: kumo/v1\nkind: Job\nmetadata: {name: bench-%d}\nspec:\n  project: default\n"
        "  taskGroups: [{name: main, command: [\"true\"], workingDir: /tmp, "
        "resources: {cpu: 100m, memory: 64Mi, gpu: 64}}]\n")
def submit(worker, workers=8):
    c = http.client.HTTPConnection("127.0.0.1", port)
    for i in range(worker, n, workers):
        c.request("POST", "/v1/jobs", spec % i, {"Authorization": "Bearer " + token})
        r = c.getresponse(); r.read()
        assert r.status == 201, r.status
threads = [threading.Thread(target=submit, args=(w,)) for w in range(8)]
for t in threads: t.start()
for t in threads: t.join()
PY
echo "submitted $JOBS jobs" >&2
sleep 2  # one scheduling pass has given every job its queue position and reason

# ---- nginx: the same page files and the API answers, saved from kumo ----
SITE="$WORK/site"
mkdir -p "$SITE/ui" "$SITE/v1"
for f in index.html app.js style.css; do curl -sf "http://127.0.0.1:$KUMO_PORT/ui/$f" -o "$SITE/ui/$f"; done
for path in whoami "queue?limit=200" "jobs?phase=Running"; do  # what web/app.js asks for
  curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$KUMO_PORT/v1/$path" -o "$SITE/v1/${path%%\?*}"
done
NGINX_PORT="$(free_port)"
cat >"$WORK/nginx.conf" <<EOF
daemon off; worker_processes 1; error_log $WORK/nginx.err; pid $WORK/nginx.pid;
events {}
http {
  access_log off;
  types { text/html html; text/javascript js; text/css css; }
  default_type application/json;
  server { listen 127.0.0.1:$NGINX_PORT; root $SITE; location = /ui/ { try_files /ui/index.html =404; } }
}
EOF
"$NGINX" -c "$WORK/nginx.conf" &
bench_track $!
sleep 0.5

# ---- rounds: the page in Chromium, and the /v1/queue call alone ----
KUMO_URL="http://127.0.0.1:$KUMO_PORT/ui/" NGINX_URL="http://127.0.0.1:$NGINX_PORT/ui/" \
  TOKEN="$TOKEN" RUNS="$RUNS" MODULES="$MODULES" node --input-type=module <<'JS' >"$WORK/page.json"
import { createRequire } from 'node:module';
const { chromium } = createRequire(`${process.env.MODULES}/`)('playwright-core');
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'] });
async function load(url) {
  const context = await browser.newContext();
  await context.addInitScript((t) => localStorage.setItem('kumo.token', t), process.env.TOKEN);
  const page = await context.newPage();
  const start = Date.now();
  await page.goto(`${url}#/queue`);
  await page.waitForSelector('main[data-loaded="#/queue"]', { timeout: 60000 });
  const ms = Date.now() - start;
  const rows = await page.locator('tr[data-job]').count();
  await context.close();
  return { ms, rows };
}
const out = { kumo: [], nginx: [] };
await load(process.env.KUMO_URL);  // warm-up: first browser start, caches
for (let i = 0; i < Number(process.env.RUNS); i++)
  for (const [name, url] of [['kumo', process.env.KUMO_URL], ['nginx', process.env.NGINX_URL]]) {
    const r = await load(url);
    console.error(`round ${i + 1} ${name}: ${r.ms} ms, ${r.rows} rows`);
    out[name].push(r);
  }
await browser.close();
console.log(JSON.stringify(out));
JS
api_ms() {  # one GET's total time in ms
  curl -sf -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $TOKEN" "$1" |
    python3 -c 'import sys; print(round(float(sys.stdin.read()) * 1000, 1))'
}
: >"$WORK/api.txt"
for _ in $(seq "$RUNS"); do
  echo "kumo $(api_ms "http://127.0.0.1:$KUMO_PORT/v1/queue?limit=200")" >>"$WORK/api.txt"
  echo "nginx $(api_ms "http://127.0.0.1:$NGINX_PORT/v1/queue?limit=200")" >>"$WORK/api.txt"
  echo "full $(api_ms "http://127.0.0.1:$KUMO_PORT/v1/queue")" >>"$WORK/api.txt"
done
QUEUE_BYTES="$(stat -c %s "$SITE/v1/queue")"
python3 - "$WORK/page.json" "$WORK/api.txt" "$JOBS" "$QUEUE_BYTES" <<'PY'
import json, statistics, sys
page = json.load(open(sys.argv[1]))
api = {"kumo": [], "nginx": [], "full": []}
for line in open(sys.argv[2]):
    name, ms = line.split()
    api[name].append(float(ms))
med = lambda xs: statistics.median(xs)
k, n = med([r["ms"] for r in page["kumo"]]), med([r["ms"] for r in page["nginx"]])
rows = {r["rows"] for r in page["kumo"] + page["nginx"]}
print(json.dumps({
    "bench": "ui", "jobs": int(sys.argv[3]), "rows_rendered": sorted(rows),
    "queue_json_bytes": int(sys.argv[4]), "runs": len(page["kumo"]),
    "kumo_page_ms": k, "nginx_page_ms": n, "page_ratio": round(k / n, 3),
    "kumo_queue_api_ms": med(api["kumo"]), "nginx_queue_api_ms": med(api["nginx"]),
    "kumo_full_queue_api_ms": med(api["full"]),
    "kumo_page_under_1s": k < 1000,
    "command": "bench/ui.sh"}))
PY
