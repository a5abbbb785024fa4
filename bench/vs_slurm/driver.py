#!/usr/bin/python3
"""Load driver and metrics for bench/vs-slurm.sh (standard library only).

One workload file (JSON, written by `slice` or `make`) is a list of jobs:
  {"id": str, "arrival": seconds from the first submission, "gpus": total GPUs,
   "nodes": N, "gpus_per_node": G, "duration": seconds to sleep (0 = run `true`),
   "limit": time limit in seconds or null}
and is run on either system:
  driver.py kumo  WORKLOAD OUT.json --port P --token-file F --clients C
  driver.py slurm WORKLOAD OUT.json --jobcomp FILE --clients C
Both submit each job at its arrival time (all at 0 for the throughput and gang workloads) from C
concurrent clients, wait until every job has ended, and write per-job records
  {"id", "gpus", "submit", "start", "end", "state"}   (Unix seconds)
where `submit` is the client's clock when the submission was sent (the same clock on both
sides), and start/end are what each system recorded: kumo's startTime/endTime (floating point),
Slurm's StartTime/EndTime from jobcomp/filetxt (whole seconds, +0.5 s: the unbiased estimate of
a truncated time). `metrics` turns records into figures; `summary` prints the last line.
"""
import argparse
import csv
import glob
import http.client
import json
import math
import os
import queue
import random
import subprocess
import sys
import threading
import time
from datetime import datetime

CLUSTER_GPUS = 64


def log(msg):
    print(f"[driver {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Workloads


def make_workload(kind, n):
    if kind == "throughput":
        return [{"id": f"t{i}", "arrival": 0, "gpus": 1, "nodes": 1, "gpus_per_node": 1,
                 "duration": 0, "limit": None} for i in range(n)]
    if kind == "gang":
        return [{"id": f"g{i}", "arrival": 0, "gpus": 8, "nodes": 2, "gpus_per_node": 4,
                 "duration": 1, "limit": None} for i in range(n)]
    raise SystemExit(f"unknown workload {kind}")


def philly_rows(trace_csv):
    rows = list(csv.DictReader(open(trace_csv)))
    rows.sort(key=lambda r: (int(r["submit_offset_s"]), r["job_id"]))
    return rows


def fits(r):
    """A job the 8 x 8 cluster holds unchanged: 1, 2, 4, 8 GPUs, or a multiple of 8 up to 64."""
    g = int(r["num_gpus"])
    return g in (1, 2, 4, 8) or (g % 8 == 0 and g <= CLUSTER_GPUS)


def philly_slice(trace_csv, jobs, target_seconds, load, seed):
    """`jobs` consecutive Philly jobs that fit the 8x8 cluster, scaled (see docs/vs-slurm.md)."""
    rows = philly_rows(trace_csv)
    # Among the windows of `jobs` consecutive jobs in which every job fits (none is dropped or
    # reshaped), the one with the fewest jobs scaled down to <= 2 s (Philly's runtimes are
    # heavy-tailed: at any window about 40% of the jobs hit the 1-2 s floor); ties: earliest.
    best = None
    for s in range(0, len(rows) - jobs + 1):
        w = rows[s:s + jobs]
        if not all(fits(r) for r in w):
            continue
        work = sum(int(r["num_gpus"]) * float(r["runtime_s"]) for r in w)
        f = target_seconds * CLUSTER_GPUS / work
        tiny = sum(round(float(r["runtime_s"]) * f) <= 2 for r in w)
        if best is None or tiny < best[0]:
            best = (tiny, s)
    if best is None:
        raise SystemExit("no window of consecutive jobs that fit 8x8 GPUs")
    start = best[1]
    return scale_window(rows[start:start + jobs], target_seconds, load, seed,
                        {"rule": "fewest-tiny-window", "first_row": start})


def philly_heldout(trace_csv, jobs, target_seconds, load, seed, first_row, max_runtime_s):
    """A held-out slice: from row `first_row` on (in submit order; the `slice` window ends before
    it), the first `jobs` jobs that fit the 8x8 cluster and ran at most `max_runtime_s` (short
    for this subset, whose jobs all ran >= 10 min). Fixed by rule, not searched for."""
    rows = philly_rows(trace_csv)
    w = [r for r in rows[first_row:] if fits(r) and float(r["runtime_s"]) <= max_runtime_s][:jobs]
    if len(w) < jobs:
        raise SystemExit(f"only {len(w)} short jobs from row {first_row}")
    return scale_window(w, target_seconds, load, seed,
                        {"rule": "heldout-short", "first_row": first_row,
                         "max_runtime_s": max_runtime_s,
                         "first_submitted": w[0]["submitted_time"],
                         "last_submitted": w[-1]["submitted_time"]})


def scale_window(w, target_seconds, load, seed, meta):
    """Durations: one factor so that the window's GPU-seconds fill the cluster for
    target_seconds. Arrivals: one factor so that the offered load over the arrival window is
    `load`. Whole seconds (the simulator reads integer arrival offsets); at least 1 s."""
    work = sum(int(r["num_gpus"]) * float(r["runtime_s"]) for r in w)
    f_dur = target_seconds * CLUSTER_GPUS / work
    out = []
    t0 = int(w[0]["submit_offset_s"])
    durs = [max(1, round(float(r["runtime_s"]) * f_dur)) for r in w]
    scaled_work = sum(int(r["num_gpus"]) * d for r, d in zip(w, durs))
    span = int(w[-1]["submit_offset_s"]) - t0
    arrival_span = scaled_work / (CLUSTER_GPUS * load)
    f_arr = arrival_span / span if span > 0 else 0
    rng = random.Random(seed)
    for r, d in zip(w, durs):
        g = int(r["num_gpus"])
        nodes = max(1, g // 8)
        # A time limit both systems get, as users would write it: the duration times a factor
        # drawn from [1, 3], rounded up to a whole minute (Slurm's granularity).
        limit = 60 * math.ceil(d * rng.uniform(1.0, 3.0) / 60)
        out.append({"id": r["job_id"], "arrival": round((int(r["submit_offset_s"]) - t0) * f_arr),
                    "gpus": g, "nodes": nodes, "gpus_per_node": g // nodes, "duration": d,
                    "limit": limit, "runtime_s_trace": float(r["runtime_s"])})
    gpus = [j["gpus"] for j in out]
    meta = meta | {"jobs": len(out), "duration_factor": f_dur,
                   "arrival_factor": f_arr, "offered_load": load,
                   "gpu_seconds": scaled_work, "arrival_span_s": out[-1]["arrival"],
                   "first_job": w[0]["job_id"], "last_job": w[-1]["job_id"],
                   "jobs_by_gpus": {str(g): gpus.count(g) for g in sorted(set(gpus))},
                   "duration_s_min_median_max": [min(durs), sorted(durs)[len(durs) // 2],
                                                 max(durs)]}
    return out, meta


def write_sim_trace(jobs, trace_dir, scale=1, nodes=8):
    """The slice in Philly's format, with an 8 x 8-GPU machine list, for `kumo sim --trace-dir`;
    every time multiplied by `scale`."""
    os.makedirs(f"{trace_dir}/philly-subset-marwage", exist_ok=True)
    os.makedirs(f"{trace_dir}/cluster-configs", exist_ok=True)
    with open(f"{trace_dir}/philly-subset-marwage/philly_ge4gpu_pass_jobs.csv", "w") as f:
        f.write("job_id,submitted_time,submit_offset_s,num_gpus,runtime_s,n_attempts,"
                "first_start,last_end,queue_s\n")
        for j in jobs:
            f.write(f"{j['id']},,{j['arrival'] * scale},{j['gpus']},{j['duration'] * scale},1,,,0\n")
    with open(f"{trace_dir}/cluster-configs/philly_cluster_machine_list.csv", "w") as f:
        f.write("machineId, number of GPUs, single GPU mem\n")
        for i in range(nodes):
            f.write(f"node{i + 1},8, 24GB\n")
    with open(f"{trace_dir}/cluster-configs/philly_vc_nodes_HeliosArtifact.csv", "w") as f:
        f.write("vc,node num\nall,8\n")  # one queue, as on the real systems


# ---------------------------------------------------------------------------------------------
# Submission: arrivals released by one thread, submitted by C workers


def run_arrivals(jobs, clients, submit_one):
    """Calls submit_one(job) -> handle from `clients` threads, each job at its arrival time.
    Returns {id: (client_submit_time, handle)} and the time of the first submission."""
    q = queue.Queue()
    out = {}
    lock = threading.Lock()
    errors = []
    t0 = time.time()

    def worker():
        while True:
            j = q.get()
            if j is None:
                return
            ts = time.time()
            try:
                h = submit_one(j)
            except Exception as e:  # noqa: BLE001 - reported and fatal below
                errors.append(f"{j['id']}: {e}")
                h = None
            with lock:
                out[j["id"]] = (ts, h)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for j in sorted(jobs, key=lambda j: j["arrival"]):
        delay = t0 + j["arrival"] - time.time()
        if delay > 0:
            time.sleep(delay)
        q.put(j)
    for _ in threads:
        q.put(None)
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"{len(errors)} submissions failed, first: {errors[0]}")
    return out, t0


# ---------------------------------------------------------------------------------------------
# kumo: HTTP API, one keep-alive connection per client


class Kumo:
    def __init__(self, port, token, rnd=1):
        self.port, self.token = port, token
        # Job names carry the round: kumo learns runtimes per (user, job name), and the same
        # slice submitted again under the same names would hand it each job's exact runtime from
        # the earlier rounds -- an oracle Slurm does not get. What it may learn across rounds is
        # what any history gives: the user's and project's recent runtimes.
        self.name_prefix = f"r{rnd}-b"
        self.local = threading.local()
        self.retries = 0

    def req(self, method, path, body=None, key=None):
        headers = {"Authorization": f"Bearer {self.token}", "X-Kumo-Submit-Dir": "/tmp"}
        if key:
            headers["Idempotency-Key"] = key
        for attempt in range(5):
            c = getattr(self.local, "c", None)
            if c is None:
                c = self.local.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                c.request(method, path, body=body, headers=headers)
                r = c.getresponse()
                data = r.read()
                st, out = r.status, json.loads(data) if data else None
            except (http.client.HTTPException, OSError):
                c.close()
                self.local.c = None
                if attempt == 4:
                    raise
                self.retries += 1
                continue
            # kumo answers 400 "bad request: Interrupted system call" when a signal interrupts
            # its read of the request (src/http/http.cc): transient, retried (the
            # Idempotency-Key makes a retried submission safe) and counted.
            if st == 400 and "Interrupted" in str(out) and attempt < 4:
                c.close()
                self.local.c = None
                self.retries += 1
                continue
            return st, out
        raise AssertionError

    def spec(self, j):
        cmd = ["/bin/true"] if j["duration"] == 0 else ["/bin/sleep", str(j["duration"])]
        s = {"apiVersion": "kumo/v1", "kind": "Job",
             "metadata": {"name": self.name_prefix + "".join(ch for ch in j["id"].lower()
                                                             if ch.isalnum())[-40:]},
             "spec": {"project": "default",
                      "taskGroups": [{"name": "main", "replicas": j["nodes"], "command": cmd,
                                      "resources": {"cpu": 1, "memory": "1Gi",
                                                    "gpu": j["gpus_per_node"]}}]}}
        if j.get("limit"):
            s["spec"]["maxRuntime"] = int(j["limit"])
        return json.dumps(s)

    def submit(self, j):
        st, body = self.req("POST", "/v1/jobs", self.spec(j), key=f"vs-slurm-{os.getpid()}-{j['id']}")
        if st != 201:
            raise RuntimeError(f"HTTP {st}: {body}")
        return body["id"]

    def active(self):
        st, body = self.req("GET", "/v1/top")
        if st != 200:
            raise RuntimeError(f"/v1/top HTTP {st}")
        return sum(p.get("pendingJobs", 0) + p.get("runningJobs", 0)
                   for p in body.get("projects", []))


def run_kumo(jobs, a):
    token = open(a.token_file).read().strip()
    k = Kumo(a.port, token, a.round)
    subs, t0 = run_arrivals(jobs, a.clients, k.submit)
    log(f"kumo: {len(subs)} submitted in {time.time() - t0:.1f} s ({k.retries} retried requests)")
    deadline = time.time() + a.timeout
    while k.active() > 0:
        if time.time() > deadline:
            raise SystemExit("kumo: jobs still active at the timeout")
        time.sleep(0.2)
    st, body = k.req("GET", "/v1/jobs?all=true")
    by_id = {j["id"]: j for j in body["items"]}
    gpus = {j["id"]: j["gpus"] for j in jobs}
    recs = []
    for jid, (ts, kid) in subs.items():
        kj = by_id[kid]
        # attempt > 1: the job was requeued and ran again; these jobs do not checkpoint, so
        # every such attempt restarted from zero.
        recs.append({"id": jid, "gpus": gpus[jid], "submit": ts, "server_submit": kj["submitTime"],
                     "start": kj["startTime"], "end": kj["endTime"], "state": kj["phase"],
                     "attempt": kj.get("attempt", 1)})
    recs[0]["client_retries"] = k.retries
    return recs, t0


# ---------------------------------------------------------------------------------------------
# Slurm: sbatch processes; completions from jobcomp/filetxt


def slurm_time(s):
    if not s or s in ("Unknown", "None"):
        return None
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S").timestamp() + 0.5


def read_jobcomp(path):
    recs = {}
    try:
        with open(path) as f:
            for line in f:
                kv = dict(p.split("=", 1) for p in line.split() if "=" in p)
                if "JobId" in kv:
                    recs[kv["JobId"]] = kv
    except FileNotFoundError:
        pass
    return recs


def slurm_args(j):
    args = ["sbatch", "--parsable", "-J", j["id"][-30:], "-o", "/dev/null",
            "-e", "/dev/null", "-D", "/tmp", "-N", str(j["nodes"]), "--ntasks-per-node=1",
            f"--gres=gpu:{j['gpus_per_node']}", "--mem-per-cpu=1024"]
    if j.get("limit"):
        args.append(f"--time={math.ceil(j['limit'] / 60)}")
    if j["duration"] == 0:
        cmd = "true"
    elif j["nodes"] > 1:
        cmd = f"srun sleep {j['duration']}"  # one task per node, as kumo's gang runs
    else:
        cmd = f"sleep {j['duration']}"
    return args + ["--wrap", cmd]


def run_slurm(jobs, a):
    def submit(j):
        for attempt in range(5):
            p = subprocess.run(slurm_args(j), capture_output=True, text=True)
            if p.returncode == 0:
                return p.stdout.strip().split(";")[0]
            time.sleep(0.5 * (attempt + 1))  # e.g. "Socket timed out" under load: retry
        raise RuntimeError(p.stderr.strip())

    subs, t0 = run_arrivals(jobs, a.clients, submit)
    log(f"slurm: {len(subs)} submitted in {time.time() - t0:.1f} s")
    want = {h for _, h in subs.values()}
    deadline = time.time() + a.timeout
    while True:
        done = read_jobcomp(a.jobcomp)
        if want <= done.keys():
            break
        if time.time() > deadline:
            raise SystemExit(f"slurm: {len(want - done.keys())} jobs not completed at the timeout")
        time.sleep(0.2)
    gpus = {j["id"]: j["gpus"] for j in jobs}
    recs = []
    for jid, (ts, sid) in subs.items():
        c = done[sid]
        recs.append({"id": jid, "gpus": gpus[jid], "submit": ts,
                     "server_submit": slurm_time(c.get("SubmitTime")),
                     "start": slurm_time(c.get("StartTime")), "end": slurm_time(c.get("EndTime")),
                     "state": c.get("JobState")})
    return recs, t0


# ---------------------------------------------------------------------------------------------
# Metrics


def metrics(recs, t0):
    ok = [r for r in recs if r["state"] in ("Succeeded", "COMPLETED")]
    ends = [r["end"] for r in ok]
    first = min(r["submit"] for r in recs)
    last = max(ends) if ends else first
    makespan = last - first
    jct = [r["end"] - r["submit"] for r in ok]
    wait = [max(0.0, r["start"] - r["submit"]) for r in ok]
    busy = sum(r["gpus"] * (r["end"] - r["start"]) for r in ok)
    return {"jobs": len(recs), "completed": len(ok),
            "retried_requests": sum(r.get("client_retries", 0) for r in recs),
            "submit_span_s": round(max(r["submit"] for r in recs) - first, 3),
            "makespan_s": round(makespan, 3),
            "jobs_per_s": round(len(ok) / makespan, 2) if makespan > 0 else None,
            "mean_jct_s": round(sum(jct) / len(jct), 3) if jct else None,
            "mean_wait_s": round(sum(wait) / len(wait), 3) if wait else None,
            "gpu_allocation": round(busy / (CLUSTER_GPUS * makespan), 4) if makespan > 0 else None,
            # kumo's records carry the attempt; Slurm's (jobcomp) do not: None, not measured.
            "restarted_from_zero": (sum(r["attempt"] > 1 for r in recs)
                                    if all("attempt" in r for r in recs) else None)}


def summary(a):
    R = a.dir
    ld = lambda n: json.load(open(f"{R}/{n}.json"))
    out = {"bench": "vs-slurm", "nodes": 8, "gpus": CLUSTER_GPUS}
    # Throughput: THROUGHPUT_ROUNDS rounds (files kumo_throughput.N.json), each side's median
    # round (by jobs/s) is reported, and every round's figure beside it.
    rounds = {side: sorted((json.load(open(f))["metrics"] for f in
                            glob.glob(f"{R}/{side}_throughput.*.json")),
                           key=lambda m: m["jobs_per_s"] or 0)
              for side in ("kumo", "slurm")}
    if rounds["kumo"] and rounds["slurm"]:
        kt, st = (rounds[s][(len(rounds[s]) - 1) // 2] for s in ("kumo", "slurm"))
        out["throughput_ratio"] = ratio(kt["jobs_per_s"], st["jobs_per_s"])
        out["throughput"] = {
            "jobs": kt["jobs"], "rounds": len(rounds["kumo"]),
            "kumo_jobs_per_s": kt["jobs_per_s"], "slurm_jobs_per_s": st["jobs_per_s"],
            "kumo_jobs_per_s_each": [m["jobs_per_s"] for m in rounds["kumo"]],
            "slurm_jobs_per_s_each": [m["jobs_per_s"] for m in rounds["slurm"]],
            "kumo_submit_span_s": kt["submit_span_s"], "slurm_submit_span_s": st["submit_span_s"],
            "kumo_completed": kt["completed"], "slurm_completed": st["completed"]}
    if os.path.exists(f"{R}/kumo_gang.json") and os.path.exists(f"{R}/slurm_gang.json"):
        kg, sg = ld("kumo_gang")["metrics"], ld("slurm_gang")["metrics"]
        ideal = kg["jobs"] * 1 * 8 / CLUSTER_GPUS
        out["gang_makespan_ratio"] = ratio(kg["makespan_s"], sg["makespan_s"])
        out["gang"] = {"jobs": kg["jobs"], "ideal_s": ideal, "kumo_makespan_s": kg["makespan_s"],
                       "slurm_makespan_s": sg["makespan_s"],
                       "kumo_to_ideal": ratio(kg["makespan_s"], ideal),
                       "slurm_to_ideal": ratio(sg["makespan_s"], ideal),
                       "kumo_completed": kg["completed"], "slurm_completed": sg["completed"]}
    # Trace: TRACE_ROUNDS rounds (kumo_trace.N.json), kumo and Slurm alternating; each side's
    # median round by mean JCT is reported, every round beside it.
    trounds = {side: sorted((json.load(open(f))["metrics"] for f in
                             glob.glob(f"{R}/{side}_trace.*.json")),
                            key=lambda m: m["mean_jct_s"] or float("inf"))
               for side in ("kumo", "slurm")}
    if trounds["kumo"] and trounds["slurm"]:
        kr, sr = (trounds[s][(len(trounds[s]) - 1) // 2] for s in ("kumo", "slurm"))
        out["trace_mean_jct_ratio"] = ratio(kr["mean_jct_s"], sr["mean_jct_s"])
        out["trace"] = trace_summary(R, ld, kr, sr) | {
            "rounds": len(trounds["kumo"]),
            "kumo_mean_jct_s_each": [m["mean_jct_s"] for m in trounds["kumo"]],
            "slurm_mean_jct_s_each": [m["mean_jct_s"] for m in trounds["slurm"]],
            # Requeued jobs of kumo's rounds; none of them checkpoints, so each restarted from
            # zero. Must be 0 (docs/vs-slurm.md); the script exits 1 otherwise.
            "kumo_restarted_from_zero": sum(m["restarted_from_zero"] for m in trounds["kumo"])}
    out["clients"] = {"kumo_http": a.clients, "slurm_sbatch": a.sbatch_clients}
    out["elapsed_s"] = a.elapsed
    first = ("bench", "nodes", "gpus", "throughput_ratio", "gang_makespan_ratio",
             "trace_mean_jct_ratio")  # the headline figures first, then the raw ones
    print(json.dumps({k: out[k] for k in first if k in out} |
                     {k: v for k, v in out.items() if k not in first}))


def ratio(x, y):
    return round(x / y, 3) if x and y else None


def trace_summary(R, ld, kr, sr):
    sim = {}
    for name, scale in (("sim_s1", 1), ("sim_s100", 100)):
        try:
            pol = ld(name)["policies"]
        except (OSError, ValueError, KeyError):
            continue
        for p, v in pol.items():
            sim[f"{name}_{p}"] = {
                "mean_jct_s": round(v["mean_jct_s"] / scale, 3),
                "mean_wait_s": round(v["mean_wait_s"] / scale, 3),
                "makespan_s": round(v["makespan_s"] / scale, 3),
                "gpu_allocation": round(v["gpu_allocation_makespan"], 4),
                "completed": v["completed"]}
    sk = sim.get("sim_s100_kumo", {}).get("mean_jct_s")
    keys = ("mean_jct_s", "mean_wait_s", "makespan_s", "gpu_allocation", "completed",
            "restarted_from_zero")
    t = {"jobs": kr["jobs"], "kumo": {k: kr[k] for k in keys},
         "slurm": {k: sr[k] for k in keys}, "sim": sim,
         "sim_kumo_vs_measured_jct": ratio(sk, kr["mean_jct_s"])}
    try:
        t["slice"] = ld("slice")
    except (OSError, ValueError):
        pass
    return t


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("kind")
    m.add_argument("n", type=int)
    m.add_argument("out")
    s = sub.add_parser("slice")
    s.add_argument("trace_csv")
    s.add_argument("out")
    s.add_argument("--sim-trace-dir", required=True)
    s.add_argument("--jobs", type=int, default=300)
    s.add_argument("--target-seconds", type=float, default=180)
    s.add_argument("--load", type=float, default=1.2)
    s.add_argument("--seed", type=int, default=7)
    s.add_argument("--heldout", action="store_true",
                   help="the held-out rule (philly_heldout) instead of the searched window")
    s.add_argument("--first-row", type=int, default=1500)
    s.add_argument("--max-runtime-s", type=float, default=7200)
    sm = sub.add_parser("summary")
    sm.add_argument("dir")
    sm.add_argument("--clients", type=int)
    sm.add_argument("--sbatch-clients", type=int)
    sm.add_argument("--elapsed", type=int)
    for name in ("kumo", "slurm"):
        r = sub.add_parser(name)
        r.add_argument("workload")
        r.add_argument("out")
        r.add_argument("--clients", type=int, default=16)
        r.add_argument("--timeout", type=float, default=600)
        r.add_argument("--port", type=int)
        r.add_argument("--token-file")
        r.add_argument("--round", type=int, default=1)
        r.add_argument("--jobcomp")
    a = ap.parse_args()

    if a.cmd == "summary":
        summary(a)
    elif a.cmd == "make":
        json.dump({"jobs": make_workload(a.kind, a.n)}, open(a.out, "w"))
    elif a.cmd == "slice":
        if a.heldout:
            jobs, meta = philly_heldout(a.trace_csv, a.jobs, a.target_seconds, a.load, a.seed,
                                        a.first_row, a.max_runtime_s)
        else:
            jobs, meta = philly_slice(a.trace_csv, a.jobs, a.target_seconds, a.load, a.seed)
        write_sim_trace(jobs, a.sim_trace_dir + "/s1", 1)
        write_sim_trace(jobs, a.sim_trace_dir + "/s100", 100)
        json.dump({"jobs": jobs, "meta": meta}, open(a.out, "w"))
        print(json.dumps(meta))
    else:
        jobs = json.load(open(a.workload))["jobs"]
        recs, t0 = (run_kumo if a.cmd == "kumo" else run_slurm)(jobs, a)
        res = metrics(recs, t0)
        json.dump({"metrics": res, "records": recs}, open(a.out, "w"))
        print(json.dumps(res))


if __name__ == "__main__":
    main()
