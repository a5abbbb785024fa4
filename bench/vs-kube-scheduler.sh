#!/usr/bin/env bash
# kumo as a Kubernetes scheduler side by side with kube-scheduler and the coscheduling plugin
# (issue 14; docs/benchmarks.md, docs/kubernetes.md). One test control plane
# (scripts/k8s-testenv: kube-apiserver v1.36.3, etcd, KWOK), one KWOK cluster of NODES nodes x 8
# GPUs; the schedulers take turns, one running at a time, each run on a fresh namespace with a
# fresh scheduler process, rounds alternating kumo / peer. The control plane is started with
# `k8s-testenv start --bench` (etcd on tmpfs, no node leases, no API Priority and Fairness, the
# controller manager's service-account controller only, KWOK playing 16 pod stages at once: the
# same cheaper stage for every side; docs/benchmarks.md says why each). Two workloads:
#
#   throughput  PODS one-GPU pods created as fast as the apiserver takes them (bench/k8s_load,
#               CLIENTS threads); each holds its GPU TP_HOLD (45 s) after it is bound, then KWOK
#               marks it Succeeded (kumo.test/exit-after: one status write, no Running in
#               between), so that PODS > NODES x 8 still fits: the last pods wait for the first
#               to end. Pods bound per second from the first creation to the last binding (seen
#               on a watch, client monotonic clock).
#               Side `none` first: the same pods with a scheduler name nobody serves, timed to
#               the last creation: what creating alone allows here (creation_only_ratio, over
#               kube-scheduler's rate, bounds any pods_per_second_ratio on this machine).
#               kumo (`kumo kube-scheduler --scheduler-name kumo`) vs kube-scheduler v1.36.3,
#               default profile, its own process against the same apiserver, pods choosing it
#               by `schedulerName: default-scheduler`. kube-scheduler's client is rate limited:
#               KubeSchedulerConfiguration clientConnection qps 50 / burst 100 by default
#               (pkg/scheduler/apis/config/v1/defaults.go); KS_QPS / KS_BURST change it, the
#               JSON says what was used. kumo has no client rate limit.
#   gangs       GANGS PodGroups (scheduling.x-k8s.io/v1alpha1, minMember 4) of 4 pods x 2 GPUs,
#               all created together, each pod ending 20 s after it is bound (exit-after, as
#               above: the fake kubelet's writes halved for both sides); only the GANGS/2 nodes labelled
#               kumo.bench/pool=gang take them (nodeSelector), so about half the groups fit at
#               once. Makespan: first creation to the last pod's end. Partial pods: a pod p of
#               group g counts when fewer than 4 pods of g had been bound PARTIAL_GRACE seconds
#               (5) after p was bound (bench/k8s_load/bind_record.h: a group that never
#               completes counts every bound pod; binds of one group within the grace count
#               none). kumo vs kube-scheduler-coscheduling (scheduler-plugins v0.34.7 on
#               Kubernetes 1.34.4; profile `coscheduling` with the Coscheduling plugin in
#               multiPoint and queueSort, permitWaitingTimeSeconds 10, as the module's
#               manifests/coscheduling/scheduler-config.yaml) plus its podgroup-controller.
#
# Side `volcano`, in both workloads: Volcano v1.10.0 (volcano.sh/volcano, built by
# `scripts/k8s-testenv build-volcano` only when this side is asked for): vc-scheduler with
# Volcano's default scheduler configuration (pkg/scheduler/util.go DefaultSchedulerConf:
# actions enqueue, allocate, backfill; tiers priority, gang, conformance | overcommit, drf,
# predicates, proportion, nodeorder) plus binpack, as the release's installer adds it
# (installer/volcano-development.yaml), its client at its defaults (qps 2000, burst 2000,
# cmd/scheduler/app/options), and vc-controller-manager with only its pg-controller, at its
# defaults (qps 50, burst 100, cmd/controller-manager/app/options): Volcano schedules only pods
# that belong to a PodGroup, and in a Volcano install that controller gives every plain pod one
# (one PodGroup create and one pod patch per pod), so those writes are part of Volcano's cost
# in the throughput run. Gang pods carry `scheduling.k8s.io/group-name` and have Volcano
# PodGroups (scheduling.volcano.sh/v1beta1, minMember 4, queue `default`, which vc-scheduler
# creates at start). CPU: the scheduler's (cpu_s_per_1000_pods) and the controller manager's
# (controller_cpu_s_per_1000_pods), each stated.
#
# Every figure is the median of ROUNDS runs per side. CPU: the scheduler process's utime+stime
# (/proc/PID/stat, for coscheduling and volcano the scheduler's; their controller's is
# controller_cpu_s_per_1000_pods) from when
# k8s_load starts (namespace, PodGroups, then the pods) to the end of the run, per 1,000 pods;
# start-up and the first informer sync come before that, for every side. In the same window,
# stage_cpu_s in each run's JSON: kube-apiserver, etcd, KWOK, the controller manager, k8s_load.
# Between runs nothing is deleted but the creation-only pods: each run has a fresh namespace,
# and the next starts when every pod of the last one has ended (see run() below).
#
# Each run also leaves RESULTS/WORKLOAD.SIDE.ROUND.timeline (pods created, bound, ended per second;
# k8s_load --timeline) and the scheduler's log in the temp dir: KEEP=1 to read them.
#
# Usage: bench/vs-kube-scheduler.sh     Last line: one JSON object.
# Env: NODES (1000) PODS (10000) GANGS (500; GROUPS is read too, but bash never passes a
#      `GROUPS=n` prefix on, it is a bash variable: use GANGS=n or `env GROUPS=n`) ROUNDS (3)
#      CLIENTS (16) TP_HOLD (45s) PARTIAL_GRACE (5) KS_QPS (50)
#      KS_BURST (100)
#      SIDES ("none kumo kube-scheduler coscheduling volcano") WORKLOADS ("throughput gangs")
#      KUMO (build/bin/kumo) K8S_LOAD (build/bin/k8s_load) KEEP=1 (keep the temp dir)
# Takes the machine-wide benchmark lock (/tmp/kumo-bench.lock). Every process it starts is
# stopped by PID on exit, the control plane by scripts/k8s-testenv stop.
set -euo pipefail

if [ -z "${KUMO_BENCH_LOCKED:-}" ]; then
  export KUMO_BENCH_LOCKED=1
  exec flock /tmp/kumo-bench.lock "$0" "$@"
fi

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
NODES=${NODES:-1000}
PODS=${PODS:-10000}
GANGS=${GANGS:-$(printenv GROUPS || echo 500)}
ROUNDS=${ROUNDS:-3}
CLIENTS=${CLIENTS:-16}
TP_HOLD=${TP_HOLD:-45s}
PARTIAL_GRACE=${PARTIAL_GRACE:-5}
KS_QPS=${KS_QPS:-50}
KS_BURST=${KS_BURST:-100}
SIDES=${SIDES:-none kumo kube-scheduler coscheduling volcano}
WORKLOADS=${WORKLOADS:-throughput gangs}
KUMO=${KUMO:-$ROOT/build/bin/kumo}
K8S_LOAD=${K8S_LOAD:-$ROOT/build/bin/k8s_load}
GANG_SIZE=4 GANG_GPUS=2 GANG_RUN=20s GPUS_PER_NODE=8
# Half the groups' GPUs at once: GANGS * 4 * 2 / 2 GPUs, 8 a node.
GANG_NODES=$(( (GANGS * GANG_SIZE * GANG_GPUS / 2 + GPUS_PER_NODE - 1) / GPUS_PER_NODE ))
T0=$(date +%s)
say() { echo "[vs-kube-scheduler +$(( $(date +%s) - T0 ))s] $*" >&2; }

for v in NODES PODS GANGS ROUNDS CLIENTS KS_QPS KS_BURST; do
  [[ "${!v}" =~ ^[0-9]+$ ]] && [ "${!v}" -gt 0 ] || { echo "vs-kube-scheduler.sh: $v=${!v}: not a positive integer" >&2; exit 2; }
done
[ "$GANG_NODES" -le "$NODES" ] || { echo "vs-kube-scheduler.sh: GANGS=$GANGS needs $GANG_NODES of the NODES=$NODES nodes" >&2; exit 2; }
[ -x "$K8S_LOAD" ] || { echo "build it first: cmake --build build -j2 --target k8s_load kumo" >&2; exit 1; }
wants() { [[ " $2 " == *" $1 "* ]]; }
# kumo's side needs `kumo kube-scheduler` (issue 14's secondary-scheduler mode).
if wants kumo "$SIDES" && ! "$KUMO" kube-scheduler --help >/dev/null 2>&1; then
  say "$KUMO has no kube-scheduler command: kumo's side is skipped"
  SIDES=${SIDES//kumo/}
fi

WORK=$(mktemp -d /tmp/kumo-vs-kube-scheduler.XXXXXX)
K8S=$WORK/k8s
SCHED_PIDS=()
SCHED_PID="" CTL_PID=""  # the running side's scheduler and (coscheduling, volcano) controller
stop_pid() {  # TERM, up to 10 s, then KILL
  local p=$1 i
  kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
}
stop_schedulers() {
  local p
  for p in "${SCHED_PIDS[@]}"; do stop_pid "$p"; wait "$p" 2>/dev/null || true; done
  SCHED_PIDS=()
}
cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  stop_schedulers
  [ -f "$K8S/env" ] && "$ROOT/scripts/k8s-testenv" stop "$K8S" >/dev/null 2>&1
  if [ "${KEEP:-0}" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() {  # utime + stime of PID $1 in clock ticks; 0 for no PID
  if [ -n "$1" ]; then awk '{ print $14 + $15 }' "/proc/$1/stat"; else echo 0; fi
}
# The control plane's processes (the stage both schedulers share), by their PID files.
STAGE_NAMES=(kube-apiserver etcd kwok kube-controller-manager)
stage_ticks() {
  local n
  for n in "${STAGE_NAMES[@]}"; do echo -n "$(cpu_ticks "$(cat "$K8S/$n.pid")") "; done
}
HZ=$(getconf CLK_TCK)

# --- the control plane and the cluster ---------------------------------------------------------
say "control plane in $K8S"
"$ROOT/scripts/k8s-testenv" start "$K8S" --bench >/dev/null
env_of() { sed -n "s/^$1=//p" "$K8S/env"; }  # DIR/env is KEY=VALUE lines, not all shell-safe
KUBECTL="$(env_of KUMO_K8S_KUBECTL) --kubeconfig $K8S/kubeconfig"
KUBE_SCHEDULER=$(env_of KUMO_K8S_KUBE_SCHEDULER)
COSCHED_BIN=$("$ROOT/scripts/k8s-testenv" build-coscheduling)
"$ROOT/scripts/k8s-testenv" podgroups "$K8S"
if wants volcano "$SIDES"; then
  VOLCANO_BIN=$("$ROOT/scripts/k8s-testenv" build-volcano)
  "$ROOT/scripts/k8s-testenv" volcano-crds "$K8S"
fi
say "nodes: $GANG_NODES gang pool + $((NODES - GANG_NODES)) more, 8 GPUs each"
"$ROOT/scripts/k8s-testenv" nodes "$K8S" --count "$GANG_NODES" --prefix kwok-gang- --gpu 8 \
    --cpu 96 --memory 1Ti --label kumo.bench/pool=gang
[ "$NODES" -gt "$GANG_NODES" ] && "$ROOT/scripts/k8s-testenv" nodes "$K8S" \
    --count $((NODES - GANG_NODES)) --prefix kwok-node- --gpu 8 --cpu 96 --memory 1Ti
# The apiserver taints new nodes not-ready (TaintNodesByCondition); the node lifecycle
# controller lifts it once a node is Ready. The test control plane runs no such controller
# (docs/kubernetes.md), so do its part here, once, for every node.
$KUBECTL taint nodes --all node.kubernetes.io/not-ready:NoSchedule- >/dev/null

# --- the schedulers: each start_* starts one, waits until it schedules, sets SCHED_PID ---------
await_readyz() {  # await_readyz NAME PORT PID: kube-scheduler's /readyz includes its cache sync
  local i
  for ((i = 0; i < 300; i++)); do
    curl -skf "https://127.0.0.1:$2/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$3" 2>/dev/null || { tail -20 "$WORK/$1.log" >&2; echo "$1 exited" >&2; exit 1; }
    sleep 0.2
  done
  echo "$1 not ready after 60 s (log: $WORK/$1.log)" >&2; exit 1
}
ks_config() {  # ks_config FILE SCHEDULER_NAME [coscheduling]
  {
    echo "apiVersion: kubescheduler.config.k8s.io/v1"
    echo "kind: KubeSchedulerConfiguration"
    echo "clientConnection: {kubeconfig: \"$K8S/kubeconfig\", qps: $KS_QPS, burst: $KS_BURST}"
    echo "leaderElection: {leaderElect: false}"
    echo "profiles:"
    echo "- schedulerName: $2"
    if [ "${3:-}" = coscheduling ]; then
      cat <<'YAML'
  plugins:
    multiPoint: {enabled: [{name: Coscheduling}]}
    queueSort: {enabled: [{name: Coscheduling}], disabled: [{name: "*"}]}
  pluginConfig:
  - name: Coscheduling
    args: {permitWaitingTimeSeconds: 10}
YAML
    fi
  } > "$1"
}
start_kube_scheduler() {  # start_kube_scheduler NAME BINARY SCHEDULER_NAME [coscheduling]
  local port
  port=$(free_port)
  ks_config "$WORK/$1.yaml" "$3" "${4:-}"
  "$2" --config "$WORK/$1.yaml" --secure-port "$port" --bind-address 127.0.0.1 \
      --cert-dir "$WORK/$1-certs" > "$WORK/$1.log" 2>&1 &
  SCHED_PID=$!
  SCHED_PIDS+=("$SCHED_PID")
  await_readyz "$1" "$port" "$SCHED_PID"
}
await_log() {  # await_log NAME PID LINE: up to 60 s for LINE in WORK/NAME.log while PID runs
  local i
  for ((i = 0; i < 600; i++)); do
    grep -q "$3" "$WORK/$1.log" && return 0
    kill -0 "$2" 2>/dev/null || { tail -20 "$WORK/$1.log" >&2; echo "$1 exited" >&2; exit 1; }
    sleep 0.1
  done
  echo "$1 not ready after 60 s (log: $WORK/$1.log)" >&2; exit 1
}
start_kumo() {  # start_kumo NAMESPACE: waits for its "kube-scheduler ready" line
  "$KUMO" kube-scheduler --kubeconfig "$K8S/kubeconfig" --scheduler-name kumo \
      --namespaces "$1" > "$WORK/kumo-$1.log" 2>&1 &
  SCHED_PID=$!
  SCHED_PIDS+=("$SCHED_PID")
  await_log "kumo-$1" "$SCHED_PID" "kube-scheduler ready"
}
start_coscheduling() {
  local ctl
  # controller-runtime reads KUBECONFIG; its metrics and probe listeners on free loopback ports.
  KUBECONFIG=$K8S/kubeconfig "$COSCHED_BIN/podgroup-controller" \
      --metricsAddr "127.0.0.1:$(free_port)" --probeAddr "127.0.0.1:$(free_port)" \
      > "$WORK/podgroup-controller.log" 2>&1 &
  ctl=$!
  SCHED_PIDS+=("$ctl")
  start_kube_scheduler coscheduling "$COSCHED_BIN/kube-scheduler-coscheduling" coscheduling \
      coscheduling
  CTL_PID=$ctl
}
start_volcano() {  # the configuration: see the header
  local ctl conf=$WORK/volcano-conf/volcano-scheduler.conf
  # A directory of its own: vc-scheduler watches the file's directory and reloads on every write
  # there (its log's included, which then logs the reload: a loop).
  mkdir -p "$WORK/volcano-conf"
  cat > "$conf" <<'YAML'
actions: "enqueue, allocate, backfill"
tiers:
- plugins:
  - name: priority
  - name: gang
  - name: conformance
- plugins:
  - name: overcommit
  - name: drf
  - name: predicates
  - name: proportion
  - name: nodeorder
  - name: binpack
YAML
  "$VOLCANO_BIN/vc-controller-manager" --kubeconfig "$K8S/kubeconfig" --controllers pg-controller \
      --leader-elect=false --scheduler-name volcano > "$WORK/vc-controller-manager.log" 2>&1 &
  ctl=$!
  SCHED_PIDS+=("$ctl")
  await_log vc-controller-manager "$ctl" "PodgroupController is running"
  # -v=2 for the one line that says its informers have synced (the installer runs it at -v=3);
  # no metrics or health listener (off by default); its log-level socket in WORK, not /tmp.
  DEBUG_SOCKET_DIR=$WORK/klog-socks "$VOLCANO_BIN/vc-scheduler" --kubeconfig "$K8S/kubeconfig" \
      --scheduler-name volcano --scheduler-conf "$conf" \
      --leader-elect=false -v=2 > "$WORK/vc-scheduler.log" 2>&1 &
  SCHED_PID=$!
  SCHED_PIDS+=("$SCHED_PID")
  await_log vc-scheduler "$SCHED_PID" "Scheduler completes Initialization"
  CTL_PID=$ctl
}

# --- one run: RESULTS/WORKLOAD.SIDE.ROUND.json = k8s_load's object + the scheduler's CPU --------
R=$WORK/results
mkdir -p "$R"
run() {  # run WORKLOAD SIDE ROUND
  local workload=$1 side=$2 round=$3 ns="$1-$2-$3" name args c0 c1 k0 k1 rc=0
  CTL_PID=""
  case "$side" in
    none) name=kumo-bench-nobody; SCHED_PID="" ;;  # no scheduler: creation alone
    kumo) name=kumo; start_kumo "$ns" ;;
    kube-scheduler) name=default-scheduler
      start_kube_scheduler kube-scheduler "$KUBE_SCHEDULER" default-scheduler ;;
    coscheduling) name=coscheduling; start_coscheduling ;;
    volcano) name=volcano; start_volcano ;;
  esac
  if [ "$workload" = throughput ]; then
    args=(--pods "$PODS" --gpus 1 --exit-after "$TP_HOLD"
          --until "$([ "$side" = none ] && echo created || echo bound)")
  else
    args=(--pods $((GANGS * GANG_SIZE)) --group-size "$GANG_SIZE" --gpus "$GANG_GPUS"
          --exit-after "$GANG_RUN" --node-selector kumo.bench/pool=gang --until ended
          --gang-api "$([ "$side" = volcano ] && echo volcano || echo scheduler-plugins)")
  fi
  c0=$(cpu_ticks "$SCHED_PID") k0=$(cpu_ticks "$CTL_PID") s0=$(stage_ticks)
  "$K8S_LOAD" --kubeconfig "$K8S/kubeconfig" --namespace "$ns" --scheduler-name "$name" \
      --clients "$CLIENTS" --partial-grace "$PARTIAL_GRACE" --timeout 1800 "${args[@]}" \
      --timeline "$R/$workload.$side.$round.timeline" > "$R/$workload.$side.$round.load" || rc=$?
  c1=$(cpu_ticks "$SCHED_PID") k1=$(cpu_ticks "$CTL_PID") s1=$(stage_ticks)
  stop_schedulers
  python3 - "$R/$workload.$side.$round.load" $((c1 - c0)) "$HZ" "$s0" "$s1" "${STAGE_NAMES[*]}" \
      "${CTL_PID:+$((k1 - k0))}" > "$R/$workload.$side.$round.json" <<'PY'
import json, sys
STAGE = sys.argv[6].split()
j = json.load(open(sys.argv[1]))
hz = int(sys.argv[3])
j["cpu_s"] = int(sys.argv[2]) / hz
if sys.argv[7]:  # the side's controller (coscheduling's podgroup-controller, Volcano's)
    j["controller_cpu_s"] = int(sys.argv[7]) / hz
# The stage's CPU in the same window: each control-plane process, and the creator (k8s_load's own).
j["stage_cpu_s"] = {name: (int(b) - int(a)) / hz for name, a, b in
                    zip(STAGE, sys.argv[4].split(), sys.argv[5].split())}
j["stage_cpu_s"]["k8s_load"] = j.pop("creator_cpu_s")
print(json.dumps(j))
PY
  say "$workload $side round $round: $(cat "$R/$workload.$side.$round.json")"
  [ "$rc" = 0 ] || { echo "k8s_load did not complete ($workload $side round $round)" >&2; exit 1; }
  # Between runs, nothing is deleted: each run has its own namespace, and the next one starts
  # when every pod of this one has ended (KWOK's pod-exit stage; k8s_load --await-ended), so
  # every GPU is free again. Ended pods hold nothing and no watch event comes from them any more;
  # deleting 10,000 of them would cost the apiserver, etcd and every watcher as much again as
  # creating them. Only the creation-only run's pods, never bound, are deleted (one
  # deletecollection call, k8s_load --clear). The control plane goes at the end of the bench.
  local s0=$SECONDS
  if [ "$side" = none ]; then
    "$K8S_LOAD" --kubeconfig "$K8S/kubeconfig" --namespace "$ns" --clear --timeout 1800
  else
    "$K8S_LOAD" --kubeconfig "$K8S/kubeconfig" --namespace "$ns" --await-ended --timeout 1800
  fi
  # Volcano's PodGroups go once its pods have ended (one deletecollection call, repeated should
  # the apiserver's request timeout cut it short; outside the timed window): its scheduler clones every PodGroup's job into each session's snapshot, once a
  # second, finished or not (pkg/scheduler/cache/cache.go Snapshot), and a real cluster's
  # garbage collector removes them with their pods (their ownerReferences); kept, the 10,000 of
  # one throughput run would load the next Volcano run, and only that side.
  if [ "$side" = volcano ]; then
    local pgs=/apis/scheduling.volcano.sh/v1beta1/namespaces/$ns/podgroups i
    for ((i = 0; i < 10; i++)); do
      $KUBECTL delete --raw "$pgs" >/dev/null 2>&1 || true
      $KUBECTL get --raw "$pgs?limit=1" | grep -q '"items":\[\]' && break
    done
    [ "$i" -lt 10 ] || { echo "PodGroups of $ns not deleted after 10 calls" >&2; exit 1; }
  fi
  say "$ns: turnover $((SECONDS - s0)) s"
}

for ((round = 1; round <= ROUNDS; round++)); do
  if wants throughput "$WORKLOADS"; then
    for side in none kumo kube-scheduler volcano; do
      wants "$side" "$SIDES" && run throughput "$side" "$round"
    done
  fi
  if wants gangs "$WORKLOADS"; then
    for side in kumo coscheduling volcano; do wants "$side" "$SIDES" && run gangs "$side" "$round"; done
  fi
done

# --- medians and the JSON line ----------------------------------------------------------------
python3 - "$R" <<PY
import glob, json, os, statistics, sys
r = sys.argv[1]
def runs(workload, side):
    return [json.load(open(p)) for p in sorted(glob.glob(f"{r}/{workload}.{side}.*.json"))]
def med(xs):
    return round(statistics.median(xs), 3) if xs else None
def side(workload, name, figure):
    rs = runs(workload, name)
    if not rs: return None
    ctl = [1000 * x["controller_cpu_s"] / x["pods"] for x in rs if "controller_cpu_s" in x]
    return {figure: med([x[figure] for x in rs]),
            "runs": [round(x[figure], 3) for x in rs],
            "cpu_s_per_1000_pods": med([1000 * x["cpu_s"] / x["pods"] for x in rs]),
            "create_seconds": med([x["create_seconds"] for x in rs]),
            "partial_pods": med([x["partial_pods"] for x in rs]),
            "pods": rs[0]["pods"],
            **({"controller_cpu_s_per_1000_pods": med(ctl)} if ctl else {})}
def ratio(a, b, key):
    return round(a[key] / b[key], 3) if a and b and b[key] else None
tk, tp = side("throughput", "kumo", "pods_per_second"), side("throughput", "kube-scheduler", "pods_per_second")
tn = side("throughput", "none", "created_per_second")
gk, gc = side("gangs", "kumo", "makespan_s"), side("gangs", "coscheduling", "makespan_s")
tv, gv = side("throughput", "volcano", "pods_per_second"), side("gangs", "volcano", "makespan_s")
print(json.dumps({
    "bench": "vs-kube-scheduler",
    "nodes": $NODES, "gpus_per_node": $GPUS_PER_NODE, "pods": $PODS, "gang_groups": $GANGS,
    "gang_nodes": $GANG_NODES, "rounds": $ROUNDS, "clients": $CLIENTS,
    "tp_hold": "$TP_HOLD", "partial_grace_s": $PARTIAL_GRACE,
    "kube_scheduler_client": {"qps": $KS_QPS, "burst": $KS_BURST}, "kumo_client": "no rate limit",
    "volcano_client": {"vc_scheduler": {"qps": 2000, "burst": 2000},
                       "vc_controller_manager": {"qps": 50, "burst": 100}},
    "pods_per_second_ratio": ratio(tk, tp, "pods_per_second"),
    "gang_makespan_ratio": ratio(gk, gc, "makespan_s"),
    # What creating the pods alone allows, over kube-scheduler's rate: no scheduler's
    # pods_per_second_ratio can exceed it on this machine.
    "creation_only_ratio": round(tn["created_per_second"] / tp["pods_per_second"], 3) if tn and tp else None,
    "partial_gangs_kumo": gk["partial_pods"] if gk else None,
    "partial_gangs_coscheduling": gc["partial_pods"] if gc else None,
    "pods_per_second_ratio_vs_volcano": ratio(tk, tv, "pods_per_second"),
    "gang_makespan_ratio_vs_volcano": ratio(gk, gv, "makespan_s"),
    "partial_gangs_volcano": gv["partial_pods"] if gv else None,
    "throughput": {"kumo": tk, "kube_scheduler": tp, "creation_only": tn, "volcano": tv},
    "gangs": {"kumo": gk, "coscheduling": gc, "volcano": gv},
    "wall_s": $(( $(date +%s) - T0 )),
    "sides": "$SIDES",
    "command": "NODES=$NODES PODS=$PODS GANGS=$GANGS ROUNDS=$ROUNDS bench/vs-kube-scheduler.sh"}))
PY
