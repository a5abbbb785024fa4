"""bench/task-start.sh's driver: sequential task starts under kumo-shim, three ways, rounds
rotating the order; medians of per-start wall and CPU milliseconds. Last line: one JSON object."""
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

SHIM, WORK, STARTS, ROUNDS = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
UID = 200000
DATA = os.path.join(WORK, "data")      # 0700, like a data dir: the sandbox hides it
OUT = os.path.join(DATA, "output")     # the task's writable dir
DATASET = os.path.join(WORK, "dataset")  # bound read-only
BWRAP = shutil.which("bwrap")
SETPRIV = shutil.which("setpriv")


def argv(mode, run_dir):
    base = [SHIM, "__task-shim", run_dir, "/tmp"]
    if mode == "plain":
        return base + ["--", "true"]
    if mode == "isolated":
        return base + [f"--uid={UID}", f"--gid={UID}", f"--hide={DATA}", f"--rw={OUT}",
                       f"--ro={DATASET}", "--", "true"]
    return base + ["--", BWRAP, "--bind", "/", "/", "--tmpfs", DATA, "--bind", OUT, OUT,
                   "--ro-bind", DATASET, DATASET, "--proc", "/proc", "--dev-bind", "/dev", "/dev",
                   "--", SETPRIV, f"--reuid={UID}", f"--regid={UID}", "--clear-groups",
                   "--no-new-privs", "true"]


def children_cpu_s():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def one_round(mode, r):
    runs = os.path.join(DATA, "runs", f"{mode}-{r}")
    dirs = [os.path.join(runs, f"task-{i}") for i in range(STARTS)]
    for d in dirs:
        os.makedirs(d, mode=0o700)
    cpu0, t0 = children_cpu_s(), time.perf_counter()
    for d in dirs:
        rc = subprocess.call(argv(mode, d), stdin=subprocess.DEVNULL)
        if rc != 0:
            sys.exit(f"task-start: {mode} start failed ({rc}): "
                     + open(os.path.join(d, "stderr")).read())
    wall, cpu = time.perf_counter() - t0, children_cpu_s() - cpu0
    shutil.rmtree(runs)
    return 1000 * wall / STARTS, 1000 * cpu / STARTS


def main():
    os.makedirs(OUT)
    os.makedirs(DATASET)
    os.chmod(DATASET, 0o755)
    os.chmod(WORK, 0o711)  # the task opens its dataset with its own uid: the path must let it
    os.chmod(DATA, 0o700)
    modes = ["plain", "isolated"] + (["bwrap"] if BWRAP and SETPRIV else [])
    wall = {m: [] for m in modes}
    cpu = {m: [] for m in modes}
    for r in range(ROUNDS):
        order = modes[r % len(modes):] + modes[:r % len(modes)]
        for m in order:
            w, c = one_round(m, r)
            wall[m].append(w)
            cpu[m].append(c)
            print(f"round {r + 1} {m}: {w:.2f} ms/start wall, {c:.2f} ms/start cpu",
                  file=sys.stderr)
    result = {"starts_per_round": STARTS, "rounds": ROUNDS}
    for m in modes:
        result[f"{m}_wall_ms"] = round(statistics.median(wall[m]), 3)
        result[f"{m}_cpu_ms"] = round(statistics.median(cpu[m]), 3)
    result["isolation_adds_wall_ms"] = round(result["isolated_wall_ms"] - result["plain_wall_ms"], 3)
    result["isolation_adds_cpu_ms"] = round(result["isolated_cpu_ms"] - result["plain_cpu_ms"], 3)
    if "bwrap" not in modes:
        result["bwrap"] = "not installed (Debian bubblewrap)"
    result["command"] = f"bench/task-start.sh {STARTS} {ROUNDS}"
    print(json.dumps(result))


main()
