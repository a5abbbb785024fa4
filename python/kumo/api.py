"""The /v1 API of `kumo server` (docs/api.md, docs/datasets.md) over the standard library.

Metadata goes to the server; dataset bytes go between this process and kumo cache with the
short-lived token the server hands out (kumo_cache.Client), exactly as `kumo dataset` does.
"""

import hashlib
import http.client
import json
import os
import subprocess
import time
import urllib.parse

from kumo_cache import Client as CacheClient

TERMINAL_PHASES = ("Succeeded", "Failed", "Cancelled")


class ApiError(Exception):
    """An HTTP answer other than 2xx: .status and the server's message."""

    def __init__(self, status, message):
        super().__init__("%d: %s" % (status, message))
        self.status = status
        self.message = message


def _sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def manifest_digest(files):
    """The digest kumo gives a manifest (src/api/dataset_manifest.h): sha256 of the canonical
    JSON — files sorted by path, keys sorted, no spaces; "xxh3" (the fast checksum the C++
    client records) and "executable" only when present."""
    entries = []
    for f in sorted(files, key=lambda f: f["path"].encode()):
        e = {"path": f["path"], "sha256": f["sha256"], "size": f["size"]}
        if f.get("xxh3"):
            e["xxh3"] = f["xxh3"]
        if f.get("executable"):
            e["executable"] = True
        entries.append(e)
    text = json.dumps({"files": entries}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _walk(root, skip_git):
    """Regular files under root as (relative path, absolute path, stat)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        if skip_git and ".git" in dirnames:
            dirnames.remove(".git")
        for name in filenames:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            if not os.path.stat.S_ISREG(st.st_mode):
                if skip_git:
                    continue
                raise ValueError("%s: not a regular file (symlinks and special files are refused)"
                                 % full)
            out.append((os.path.relpath(full, root).replace(os.sep, "/"), full, st))
    return sorted(out)


class Client:
    def __init__(self, server=None, token=None, timeout=60):
        self.server = (server or os.environ.get("KUMO_SERVER") or "127.0.0.1:7080")
        self.server = self.server.replace("http://", "").rstrip("/")
        self.token = token or os.environ.get("KUMO_TOKEN")
        if not self.token and os.environ.get("KUMO_TOKEN_FILE"):
            with open(os.environ["KUMO_TOKEN_FILE"]) as f:
                self.token = f.read().strip()
        if not self.token:
            raise ValueError("no API token: pass token= or set KUMO_TOKEN")
        self.timeout = timeout

    # ---- transport ----

    def _call(self, method, path, body=None, headers=None, raw=False):
        host, port = self.server.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=self.timeout)
        h = {"Authorization": "Bearer " + self.token}
        h.update(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=body, headers=h)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        if resp.status // 100 != 2:
            try:
                message = json.loads(data)["error"]
            except (ValueError, KeyError, TypeError):
                message = data.decode(errors="replace")
            raise ApiError(resp.status, message)
        return data if raw else json.loads(data)

    # ---- jobs ----

    def submit(self, spec_yaml, snapshot_dir=None, submit_dir=None):
        """Submits a job spec (YAML text). With snapshot_dir, that directory is uploaded as the
        job's code snapshot (git: tracked + untracked, .gitignore honoured) and the tasks run in a
        copy of it."""
        headers = {"Content-Type": "application/yaml",
                   "X-Kumo-Submit-Dir": os.path.abspath(submit_dir or snapshot_dir or os.getcwd()),
                   "Idempotency-Key": os.urandom(16).hex()}
        if snapshot_dir is not None:
            headers["X-Kumo-Snapshot"] = self.upload_snapshot(snapshot_dir)
        return self._call("POST", "/v1/jobs", spec_yaml, headers)

    def get(self, job_id):
        return self._call("GET", "/v1/jobs/%d" % job_id)

    def watch(self, job_id, timeout=600, poll_s=0.2):
        """Polls until the job reaches a terminal phase; returns the job. TimeoutError after
        `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if job["phase"] in TERMINAL_PHASES:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError("job %d is still %s" % (job_id, job["phase"]))
            time.sleep(poll_s)

    def logs(self, job_id, task=0, stream="stdout"):
        """The whole log as it is now; the server answers at most 1 MiB a request, so the
        pieces are asked for from `next` until the size the server reported."""
        parts, offset = [], 0
        while True:
            page = self._call("GET", "/v1/jobs/%d/logs?task=%d&stream=%s&offset=%d"
                              % (job_id, task, stream, offset))
            parts.append(page["data"])
            if not page["data"] or page["next"] >= page["size"]:
                return "".join(parts)
            offset = page["next"]

    def results(self, job_id):
        return self._call("GET", "/v1/jobs/%d/results" % job_id)["items"]

    def outputs(self, job_id):
        return self._call("GET", "/v1/jobs/%d/outputs" % job_id)["files"]

    def cp(self, job_id, path, dest):
        """Copies one output file to `dest`, in the server's 8 MiB pieces."""
        size = {f["path"]: f["size"] for f in self.outputs(job_id)}.get(path)
        if size is None:
            raise ApiError(404, "job %d: no output %r" % (job_id, path))
        quoted = "/".join(urllib.parse.quote(p) for p in path.split("/"))
        partial = dest + ".kumo-partial"
        with open(partial, "wb") as f:
            offset = 0
            while offset < size:
                piece = self._call("GET", "/v1/jobs/%d/outputs/%s?offset=%d" % (job_id, quoted, offset),
                                   raw=True)
                if not piece:
                    raise ApiError(500, "%s shrank while it was copied" % path)
                f.write(piece[: size - offset])
                offset += len(piece)
        os.replace(partial, dest)
        return dest

    def rerun(self, job_id):
        """A new job with the spec, code snapshot and seed of the job's latest Result."""
        results = self.results(job_id)
        if not results:
            raise ApiError(409, "job %d has no Result yet" % job_id)
        r = results[-1]
        code = dict(r.get("codeVersion") or {})
        if "snapshot" not in code:
            raise ApiError(409, "job %d ran without a code snapshot" % job_id)
        headers = {"Content-Type": "application/yaml",
                   "X-Kumo-Submit-Dir": code.pop("submitDir", "/"),
                   "X-Kumo-Snapshot": code.pop("snapshot"),
                   "X-Kumo-Rerun-Of": str(job_id),
                   "X-Kumo-Seed": str(r["seed"]),
                   "Idempotency-Key": os.urandom(16).hex()}
        code.pop("rerunOf", None)
        headers["X-Kumo-Code-Version"] = json.dumps(code)
        return self._call("POST", "/v1/jobs", r["spec"], headers)

    # ---- code snapshots ----

    def upload_snapshot(self, root):
        """Uploads `root` as a code snapshot; returns its digest."""
        root = os.path.abspath(root)
        try:
            listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                                     "--exclude-standard"], cwd=root, check=True,
                                    capture_output=True).stdout.decode().split("\0")
            files = []
            for rel in sorted(set(p for p in listed if p)):
                full = os.path.join(root, rel)
                if os.path.isfile(full) and not os.path.islink(full):
                    files.append((rel, full, os.lstat(full)))
        except (OSError, subprocess.CalledProcessError):
            files = _walk(root, skip_git=True)
        cap = self._call("GET", "/v1/snapshots")["maxBytes"]
        total = sum(st.st_size for _, _, st in files)
        if total > cap:
            raise ApiError(413, "snapshot of %s: %d bytes is over the server's cap of %d" %
                           (root, total, cap))
        blobs, manifest = {}, []
        for rel, full, st in files:
            with open(full, "rb") as f:
                data = f.read()
            sha = hashlib.sha256(data).hexdigest()
            blobs[sha] = data
            entry = {"path": rel, "size": len(data), "sha256": sha}
            if st.st_mode & 0o100:
                entry["executable"] = True
            manifest.append(entry)
        body = {"files": manifest}
        answer = self._call("POST", "/v1/snapshots", body)
        for sha in answer["missing"]:
            self._call("PUT", "/v1/snapshots/blobs/" + sha, blobs[sha],
                       {"Content-Type": "application/octet-stream"})
        if answer["missing"]:
            answer = self._call("POST", "/v1/snapshots", body)
        return answer["digest"]

    # ---- datasets ----

    def _cache(self, access):
        return CacheClient(access["servers"], token=access["token"])

    def push_dataset(self, name, root, project=None):
        """Uploads the files under `root` that the cache lacks, then creates the version.
        Returns the server's answer ({"version", "digest", "created", ...})."""
        body = {"project": project} if project else {}
        started = self._call("POST", "/v1/datasets/%s/uploads" % name, body)
        access = started["cache"]
        cache = self._cache(access)
        files = []
        for rel, full, st in _walk(root, skip_git=False):
            sha = _sha256_file(full)
            key = access["prefix"] + sha
            try:
                have = cache.head(access["bucket"], key)["size"] == st.st_size
            except KeyError:  # ObjectNotFound: not uploaded yet
                have = False
            if not have:
                with open(full, "rb") as f:
                    cache.put(access["bucket"], key, f.read())
            files.append({"path": rel, "size": st.st_size, "sha256": sha})
        body["files"] = files
        return self._call("POST", "/v1/datasets/%s/versions" % name, body)

    def dataset_version(self, name, version="latest"):
        return self._call("GET", "/v1/datasets/%s/versions/%s" % (name, version))

    def pull_dataset(self, name, dest, version="latest"):
        """Fetches every file of the version into `dest`, each checked against its SHA-256.
        (The C++ client checks the manifest's XXH3-128 by default; Python's standard library
        has no XXH3, so this client always takes the full check that `kumo dataset pull
        --verify sha256` takes — the same guarantee, more CPU.)"""
        v = self.dataset_version(name, version)
        cache = self._cache(v["cache"])
        for f in v["manifest"]["files"]:
            data = cache.get(v["cache"]["bucket"], v["cache"]["prefix"] + f["sha256"])
            if hashlib.sha256(data).hexdigest() != f["sha256"]:
                raise ApiError(500, "%s: the cache's bytes do not match the manifest" % f["path"])
            path = os.path.join(dest, f["path"])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path + ".kumo-partial", "wb") as out:
                out.write(data)
            os.replace(path + ".kumo-partial", path)
        return v

    def open_dataset(self, name, version="latest", transform=None, rank=None, world_size=None):
        """The version as a streaming dataset (a torch IterableDataset when torch is installed)
        of (path, bytes) — or transform(path, bytes) — sharded by RANK/WORLD_SIZE."""
        v = self.dataset_version(name, version)
        return StreamingDataset(v, transform, rank, world_size)


def _iterable_base():
    try:
        import torch.utils.data
        return torch.utils.data.IterableDataset
    except ImportError:  # torch is optional: a plain iterable then
        return object


class StreamingDataset(_iterable_base()):
    """One dataset version, streamed from kumo cache. Shard r of w (RANK/WORLD_SIZE from the
    environment unless given) takes files r, r + w, r + 2w, ... of the manifest (sorted by path),
    so the shards of one job are disjoint and together cover the version; within a shard,
    DataLoader workers split the files the same way. Every file's SHA-256 is checked."""

    def __init__(self, version, transform=None, rank=None, world_size=None):
        self.version = version
        self.transform = transform
        self.rank = int(os.environ.get("RANK", 0)) if rank is None else rank
        self.world_size = int(os.environ.get("WORLD_SIZE", 1)) if world_size is None else world_size
        if not 0 <= self.rank < self.world_size:
            raise ValueError("rank %d is not in [0, %d)" % (self.rank, self.world_size))

    def files(self):
        """The manifest entries of this shard."""
        return self.version["manifest"]["files"][self.rank::self.world_size]

    def __iter__(self):
        files = self.files()
        try:
            import torch.utils.data
            info = torch.utils.data.get_worker_info()
        except ImportError:
            info = None
        if info is not None:
            files = files[info.id::info.num_workers]
        access = self.version["cache"]
        cache = CacheClient(access["servers"], token=access["token"])
        for f in files:
            data = cache.get(access["bucket"], access["prefix"] + f["sha256"])
            if hashlib.sha256(data).hexdigest() != f["sha256"]:
                raise ApiError(500, "%s: the cache's bytes do not match the manifest" % f["path"])
            yield self.transform(f["path"], data) if self.transform else (f["path"], data)
