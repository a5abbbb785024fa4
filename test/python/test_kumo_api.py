"""The kumo Python package against the real `kumo server` and `kumo cache serve` (loopback,
temp dirs, stopped by PID): datasets push/pull/open (sharded by RANK/WORLD_SIZE), a job with a
code snapshot, results, cp and rerun. Run by test/python/run_pytest.sh (make test)."""

import hashlib
import os
import socket
import subprocess
import tempfile
import time

import pytest

import kumo

KUMO = os.environ["KUMO_BINARY"]


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _wait(pred, what, timeout=30):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


@pytest.fixture(scope="module")
def cluster():
    tmp = tempfile.TemporaryDirectory()
    d = tmp.name
    data, cache_port = os.path.join(d, "server"), _free_port()
    with open(os.path.join(d, "inv.yaml"), "w") as f:
        f.write("nodes: [{name: n, cpu: 4, memory: 8Gi}]\n")
    with open(os.path.join(d, "acl.yaml"), "w") as f:
        f.write("namespaces:\n  kumo: {read: [datasets], write: [datasets]}\n")
    log = open(os.path.join(d, "log"), "w")
    server = subprocess.Popen([KUMO, "server", "--data-dir", data, "--listen", "127.0.0.1:0",
                               "--inventory", os.path.join(d, "inv.yaml"), "--no-cgroups",
                               "--cache", "127.0.0.1:%d" % cache_port], stdout=log, stderr=log)
    procs = [server]
    try:
        port_file = os.path.join(data, "server.port")
        _wait(lambda: os.path.exists(port_file) and open(port_file).read().strip(), "server")
        os.makedirs(os.path.join(d, "cache"))
        procs.append(subprocess.Popen(
            [KUMO, "cache", "serve", "--listen", "127.0.0.1:%d" % cache_port, "--port-file",
             os.path.join(d, "cache.port"), "--dir", os.path.join(d, "cache"), "--capacity",
             "256Mi", "--jwks", os.path.join(data, "cache-jwks.json"), "--acl",
             os.path.join(d, "acl.yaml")], stdout=log, stderr=log))
        _wait(lambda: os.path.exists(os.path.join(d, "cache.port")), "cache")
        client = kumo.Client("127.0.0.1:" + open(port_file).read().strip(),
                             open(os.path.join(data, "admin.token")).read().strip())
        yield client, d
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)
        tmp.cleanup()


def _tree(root, files):
    for path, data in files.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)


def test_datasets_push_pull_and_sharded_stream(cluster):
    k, d = cluster
    src = os.path.join(d, "src")
    files = {"a/%02d.bin" % i: os.urandom(1000 + i) for i in range(10)}
    _tree(src, files)
    v1 = k.push_dataset("digits", src, project="default")
    assert v1["version"] == 1 and v1["created"]
    assert v1["digest"] == kumo.manifest_digest(
        [{"path": p, "size": len(b), "sha256": hashlib.sha256(b).hexdigest()}
         for p, b in files.items()])
    again = k.push_dataset("digits", src)
    assert again["version"] == 1 and not again["created"]
    # A manifest with the fast checksum (as `kumo dataset push` records it) digests the same way
    # here as in the server.
    with_xxh3 = [{"path": p, "size": len(b), "sha256": hashlib.sha256(b).hexdigest(),
                  "xxh3": "%032x" % i} for i, (p, b) in enumerate(sorted(files.items()))]
    v2 = k._call("POST", "/v1/datasets/digits/versions", {"files": with_xxh3})
    assert v2["version"] == 2 and v2["digest"] == kumo.manifest_digest(with_xxh3)
    assert v2["digest"] != v1["digest"]

    k.pull_dataset("digits", os.path.join(d, "pulled"), version=1)
    for p, b in files.items():
        assert open(os.path.join(d, "pulled", p), "rb").read() == b

    shards = [list(k.open_dataset("digits", 1, rank=r, world_size=3)) for r in range(3)]
    seen = [path for shard in shards for path, _ in shard]
    assert sorted(seen) == sorted(files) and len(seen) == len(set(seen))
    assert all(files[path] == data for shard in shards for path, data in shard)
    os.environ["RANK"], os.environ["WORLD_SIZE"] = "1", "2"
    try:
        from_env = [p for p, _ in k.open_dataset("digits", 1)]
    finally:
        del os.environ["RANK"], os.environ["WORLD_SIZE"]
    assert from_env == sorted(files)[1::2]


def test_dataset_stream_in_a_torch_dataloader(cluster):
    torch = pytest.importorskip("torch")
    k, d = cluster
    src = os.path.join(d, "tensors")
    _tree(src, {"%d.bin" % i: bytes([i]) * 4 for i in range(8)})
    k.push_dataset("tensors", src, project="default")
    ds = k.open_dataset("tensors", transform=lambda path, data: torch.tensor(list(data)))
    assert isinstance(ds, torch.utils.data.IterableDataset)
    batches = list(torch.utils.data.DataLoader(ds, batch_size=4, num_workers=2))
    values = sorted(int(t[0]) for b in batches for t in b)
    assert values == list(range(8))


def test_job_with_snapshot_results_cp_and_rerun(cluster):
    k, d = cluster
    code = os.path.join(d, "code")
    _tree(code, {"main.sh": b"echo $KUMO_SEED > $KUMO_OUTPUT_DIR/seed.txt\n"
                            b"echo '{\"score\": 7}' > $KUMO_OUTPUT_DIR/metrics.json\n"
                            b"head -c 1500000 /dev/zero | tr '\\0' x\n"})
    spec = ("apiVersion: kumo/v1\nkind: Job\nmetadata: {name: py}\nspec:\n  project: default\n"
            "  taskGroups:\n    - name: main\n      command: [\"/bin/sh\", \"main.sh\"]\n"
            "      resources: {cpu: 1, memory: 1Gi}\n")
    job = k.submit(spec, snapshot_dir=code)
    assert k.watch(job["id"], timeout=120)["phase"] == "Succeeded"
    [result] = k.results(job["id"])
    assert result["metrics"] == {"score": 7}
    log = k.logs(job["id"])  # more than the server's 1 MiB a request
    assert len(log) == 1500000 and set(log) == {"x"}
    assert result["codeVersion"]["snapshot"].startswith("sha256:")
    seed = k.cp(job["id"], "seed.txt", os.path.join(d, "seed.txt"))
    assert open(seed).read().strip() == str(result["seed"])

    again = k.rerun(job["id"])
    assert k.watch(again["id"], timeout=120)["phase"] == "Succeeded"
    [r2] = k.results(again["id"])
    assert r2["seed"] == result["seed"]
    assert r2["codeVersion"]["snapshot"] == result["codeVersion"]["snapshot"]
    assert r2["codeVersion"]["rerunOf"] == job["id"]

    with pytest.raises(kumo.ApiError) as e:
        k.dataset_version("no-such-dataset")
    assert e.value.status == 404
