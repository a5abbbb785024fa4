#!/usr/bin/python3
"""Integration test of python/kumo_cache against a real `kumo cache serve` on loopback.

Run: KUMO_BINARY=build/bin/kumo PYTHONPATH=python /usr/bin/python3 test/python/test_kumo_cache.py
(or pass the kumo binary as the first argument). ctest runs it as python_cache_client.
"""

import hashlib
import http.server
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import warnings

_HERE = os.path.dirname(os.path.abspath(__file__))
_REPO = os.path.dirname(os.path.dirname(_HERE))
sys.path.insert(0, os.path.join(_REPO, "python"))

import kumo_cache  # noqa: E402
from kumo_cache import Client, KumoDataset  # noqa: E402

if __name__ == "__main__" and len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
    os.environ["KUMO_BINARY"] = os.path.abspath(sys.argv.pop(1))
KUMO = os.environ.get("KUMO_BINARY", os.path.join(_REPO, "build", "bin", "kumo"))

try:
    import torch  # noqa: F401
    import torch.utils.data
    HAVE_TORCH = True
except Exception:  # pragma: no cover - depends on the machine
    HAVE_TORCH = False

SECRET = "python-client-test-secret-0123456789abcdef"
ACL = ("namespaces:\n"
       "  team-a:\n    read: [data, other]\n    write: [data]\n"
       "  readers:\n    read: [data]\n"
       "  team-b:\n    read: [other]\n    write: [other]\n")
N_SAMPLES = 200
MAX_SAMPLE = 200 * 1024


def mint(secret_file, ns, ttl=3600):
    out = subprocess.run([KUMO, "cache", "token", "--secret-file", secret_file, "--sub",
                          "system:serviceaccount:%s:trainer" % ns, "--ttl-s", str(ttl)],
                         check=True, capture_output=True, text=True, timeout=10)
    return out.stdout.strip()


def sha(b):
    return hashlib.sha256(b).hexdigest()


_PORT_FILE = []


def _has_port_file():
    """Whether this kumo's `cache serve` takes --port-file (else the port is read from the
    "listening on" line)."""
    if not _PORT_FILE:
        out = subprocess.run([KUMO, "cache", "serve", "--help"], capture_output=True, text=True,
                             timeout=10)
        _PORT_FILE.append("--port-file" in out.stdout + out.stderr)
    return _PORT_FILE[0]


def _has_members():
    out = subprocess.run([KUMO, "cache", "serve", "--help"], capture_output=True, text=True,
                         timeout=10)
    return "--members" in out.stdout + out.stderr


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A `kumo cache serve` child process on 127.0.0.1. Port 0 lets the kernel choose; the
    chosen port is read from the server's "listening on HOST:PORT" line (stdout goes to a
    file in the temp dir, which therefore acts as a port file)."""

    def __init__(self, workdir, port=0, name="server", extra=()):
        self.workdir = workdir
        self.out = os.path.join(workdir, name + ".out")
        self.err = os.path.join(workdir, name + ".err")
        self.port_file = os.path.join(workdir, name + ".port") if _has_port_file() else None
        args = [KUMO, "cache", "serve", "--listen", "127.0.0.1:%d" % port, "--dir",
                os.path.join(workdir, name + "-store"), "--capacity", "1Gi", "--workers", "2",
                "--auth-secret-file", os.path.join(workdir, "secret"), "--acl",
                os.path.join(workdir, "acl.yaml")] + list(extra)
        if os.environ.get("KUMO_TEST_CACHE_IO"):  # the I/O backend under test (CMakeLists.txt)
            args += ["--io", os.environ["KUMO_TEST_CACHE_IO"]]
        if self.port_file:
            args += ["--port-file", self.port_file]
            if os.path.exists(self.port_file):  # from a previous run in this dir: stale
                os.unlink(self.port_file)
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.proc = subprocess.Popen(args, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        self.port = self._wait_port(port, deadline=time.monotonic() + 15)

    def _wait_port(self, requested, deadline):
        pattern = re.compile(r"listening on 127\.0\.0\.1:(\d+) .*\n")
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("kumo cache serve exited %s: %s" % (
                    self.proc.returncode, open(self.err, errors="replace").read()))
            if self.port_file:  # written then renamed by the server: whole or absent
                try:
                    with open(self.port_file) as f:
                        text = f.read().strip()
                    if text.isdigit():
                        return int(text)
                except FileNotFoundError:
                    pass
            else:
                with open(self.out, errors="replace") as f:
                    m = pattern.search(f.read())
                if m:
                    return int(m.group(1))
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("kumo cache serve did not report its port within 15 s")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


class CacheTestBase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(KUMO, os.X_OK):
            if "KUMO_BINARY" in os.environ:  # asked for explicitly (ctest): a failure
                raise RuntimeError("KUMO_BINARY=%s is not executable" % KUMO)
            raise unittest.SkipTest("no kumo binary at %s (set KUMO_BINARY)" % KUMO)
        cls.tmp = tempfile.mkdtemp(prefix="kumo-pytest-")
        cls.secret_file = os.path.join(cls.tmp, "secret")
        with open(cls.secret_file, "w") as f:
            f.write(SECRET + "\n")
        with open(os.path.join(cls.tmp, "acl.yaml"), "w") as f:
            f.write(ACL)
        try:
            cls.server = Server(cls.tmp)
        except Exception:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise
        cls.addr = "127.0.0.1:%d" % cls.server.port
        cls.token = mint(cls.secret_file, "team-a")
        cls.client = Client([cls.addr], token=cls.token, timeout=10)
        rng = random.Random(20261202)
        cls.keys = ["samples/%04d.bin" % i for i in range(N_SAMPLES)]
        sizes = [1, MAX_SAMPLE] + [rng.randint(1, MAX_SAMPLE) for _ in range(N_SAMPLES - 2)]
        cls.digests = []
        for key, size in zip(cls.keys, sizes):
            data = rng.randbytes(size)
            cls.client.put("data", key, data)
            cls.digests.append(sha(data))
        cls.sizes = sizes

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)


class ClientTest(CacheTestBase):
    def test_get_all_samples_intact(self):
        for key, digest, size in zip(self.keys, self.digests, self.sizes):
            data = self.client.get("data", key)
            self.assertEqual(len(data), size, key)
            self.assertEqual(sha(data), digest, key)

    def test_put_stat_get_delete(self):
        c = self.client
        for key in ["plain", "dir/sub/file.jpg", "with space & %25 + ?#", "ünïcødé/ключ"]:
            data = os.urandom(1000)
            etag = c.put("data", key, data)
            self.assertTrue(etag and etag.startswith('"'), etag)
            st = c.stat("data", key)
            self.assertEqual(st["size"], 1000)
            self.assertEqual(st["etag"], etag)
            self.assertEqual(c.get("data", key), data)
            self.assertTrue(c.exists("data", key))
            c.delete("data", key)
            self.assertFalse(c.exists("data", key))
            with self.assertRaises(KeyError):
                c.get("data", key)
            with self.assertRaises(KeyError):
                c.head("data", key)
            with self.assertRaises(KeyError):
                c.delete("data", key)
        # Overwrite, and bytearray / memoryview bodies.
        c.put("data", "over", b"first")
        c.put("data", "over", bytearray(b"second, longer"))
        self.assertEqual(c.get("data", "over"), b"second, longer")
        c.put("data", "over", memoryview(b"third"))
        self.assertEqual(c.get("data", "over"), b"third")
        c.put("data", "empty", b"")
        self.assertEqual(c.get("data", "empty"), b"")
        with self.assertRaises(TypeError):
            c.put("data", "str", "not bytes")

    def test_range(self):
        c = self.client
        key = self.keys[1]  # the 200 KiB sample
        full = c.get("data", key)
        n = len(full)
        self.assertEqual(c.get("data", key, range=(0, 0)), full[:1])
        self.assertEqual(c.get("data", key, range=(10, 99)), full[10:100])
        self.assertEqual(c.get("data", key, range=(n - 5, None)), full[-5:])
        self.assertEqual(c.get("data", key, range=(None, 7)), full[-7:])
        self.assertEqual(c.get("data", key, range="bytes=100-199"), full[100:200])
        self.assertEqual(c.get("data", key, range=slice(1000, 70000)), full[1000:70000])
        self.assertEqual(c.get("data", key, range=(n - 10, n + 1000)), full[-10:])
        with self.assertRaises(kumo_cache.RangeNotSatisfiable):
            c.get("data", key, range=(n, n + 10))
        with self.assertRaises(ValueError):
            c.get("data", key, range=(n + 1, None))

    def test_not_found_and_permissions(self):
        with self.assertRaises(KeyError) as ctx:
            self.client.get("data", "no/such/key")
        self.assertEqual(ctx.exception.status, 404)
        readers = Client([self.addr], token=mint(self.secret_file, "readers"))
        self.assertEqual(readers.get("data", self.keys[0]), self.client.get("data", self.keys[0]))
        with self.assertRaises(PermissionError) as ctx:
            readers.put("data", "x", b"nope")
        self.assertEqual(ctx.exception.status, 403)
        team_b = Client([self.addr], token=mint(self.secret_file, "team-b"))
        with self.assertRaises(kumo_cache.Forbidden):
            team_b.get("data", self.keys[0])
        team_b.put("other", "k", b"b's")
        self.assertEqual(self.client.get("other", "k"), b"b's")
        with self.assertRaises(kumo_cache.Unauthorized):
            Client([self.addr]).get("data", self.keys[0])
        forged_secret = os.path.join(self.tmp, "forged")
        with open(forged_secret, "w") as f:
            f.write("some-other-secret-0123456789abcdef0123\n")
        with self.assertRaises(PermissionError) as ctx:
            Client([self.addr], token=mint(forged_secret, "team-a")).get("data", self.keys[0])
        self.assertEqual(ctx.exception.status, 401)
        for c in (readers, team_b):
            c.close()

    def test_token_file_rotation(self):
        tf = os.path.join(self.tmp, "token")

        def write(tok):
            with open(tf + ".new", "w") as f:
                f.write(tok + "\n")
            os.replace(tf + ".new", tf)  # how kubelet swaps projected tokens (new inode)

        write(mint(self.secret_file, "readers"))
        c = Client([self.addr], token_file=tf)
        self.assertEqual(sha(c.get("data", self.keys[3])), self.digests[3])
        with self.assertRaises(PermissionError):
            c.put("data", "rotated", b"x")  # readers may not write
        write(mint(self.secret_file, "team-a"))
        c.put("data", "rotated", b"now allowed")  # the next call picks up the new token
        self.assertEqual(c.get("data", "rotated"), b"now allowed")
        write(mint(self.secret_file, "team-a", ttl=-300))  # expired (beyond the 30 s leeway)
        with self.assertRaises(kumo_cache.Unauthorized):
            c.get("data", "rotated")
        write(mint(self.secret_file, "team-a"))
        self.assertEqual(c.get("data", "rotated"), b"now allowed")

        # Rewritten in place with the same size and mtime (undetectable by stat): the client
        # still recovers, because a 401 makes it re-read the file once and retry.
        expired = mint(self.secret_file, "team-a", ttl=-300)
        with open(tf, "w") as f:
            f.write(expired + "\n")
        with self.assertRaises(kumo_cache.Unauthorized):
            c.get("data", "rotated")
        st = os.stat(tf)
        fresh = mint(self.secret_file, "team-a")
        self.assertEqual(len(fresh), len(expired))
        with open(tf, "r+") as f:
            f.write(fresh + "\n")
        os.utime(tf, ns=(st.st_atime_ns, st.st_mtime_ns))
        self.assertEqual(c.get("data", "rotated"), b"now allowed")
        c.close()

    def test_keep_alive_pool(self):
        c = Client([self.addr], token=self.token)
        for key in self.keys[:20]:
            c.get("data", key)
        self.assertEqual(c._pool.idle_count(), 1)  # one connection, reused 20 times
        c.close()
        self.assertEqual(c._pool.idle_count(), 0)

    def test_threads_share_a_client(self):
        errors = []

        def reader(offset):
            try:
                for i in range(offset, N_SAMPLES, 4):
                    if sha(self.client.get("data", self.keys[i])) != self.digests[i]:
                        errors.append(i)
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))

        threads = [threading.Thread(target=reader, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        self.assertFalse(any(t.is_alive() for t in threads))
        self.assertEqual(errors, [])

    def test_fork_safety(self):
        c = Client([self.addr], token=self.token)
        c.get("data", self.keys[0])
        self.assertEqual(c._pool.idle_count(), 1)
        pid = os.fork()
        if pid == 0:  # child: must not touch the parent's socket
            code = 0
            try:
                if c._pool.idle_count() != 0:
                    code = 3
                for i in range(0, N_SAMPLES, 7):
                    if sha(c.get("data", self.keys[i])) != self.digests[i]:
                        code = 4
            except BaseException:  # noqa: BLE001
                code = 5
            os._exit(code)
        for i in range(1, N_SAMPLES, 5):  # the parent keeps using its connection meanwhile
            self.assertEqual(sha(c.get("data", self.keys[i])), self.digests[i])
        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.02)
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            self.fail("forked child did not finish in 30 s")
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        self.assertEqual(sha(c.get("data", self.keys[2])), self.digests[2])
        c.close()


class RestartTest(CacheTestBase):
    def test_server_restart_stale_pool(self):
        c = Client([self.addr], token=self.token)
        self.assertEqual(sha(c.get("data", self.keys[9])), self.digests[9])
        self.assertEqual(c._pool.idle_count(), 1)
        port = self.server.port
        self.server.stop()
        # The pooled connection is now dead. A PUT is not retried, so the pool must notice the
        # closed connection before reusing it; a GET would also survive via its retry.
        type(self).server = Server(self.tmp, port=port)
        self.assertEqual(self.server.port, port)
        c.put("data", "after-restart", b"fresh connection")
        self.assertEqual(c.get("data", "after-restart"), b"fresh connection")
        for i in range(0, N_SAMPLES, 10):  # the index was rebuilt from disk
            self.assertEqual(sha(c.get("data", self.keys[i])), self.digests[i])
        c.close()


class ClusterTest(unittest.TestCase):
    """Three real nodes with one member file: the client, given only node-a, follows the
    nodes' own Maglev 307s (large PUTs with Expect: 100-continue) and remembers owners."""

    @classmethod
    def setUpClass(cls):
        if not os.access(KUMO, os.X_OK) or not _has_members():
            raise unittest.SkipTest("this kumo has no --members (cluster routing)")
        cls.tmp = tempfile.mkdtemp(prefix="kumo-pycluster-")
        cls.secret_file = os.path.join(cls.tmp, "secret")
        with open(cls.secret_file, "w") as f:
            f.write(SECRET + "\n")
        with open(os.path.join(cls.tmp, "acl.yaml"), "w") as f:
            f.write(ACL)
        cls.names = ["node-a", "node-b", "node-c"]
        members = os.path.join(cls.tmp, "members")
        for attempt in range(3):  # a chosen free port can be taken before a node binds it
            ports = []
            while len(ports) < 3:  # addresses go into the member file, so choose them first
                p = free_port()
                if p not in ports:
                    ports.append(p)
            cls.addrs = ["127.0.0.1:%d" % p for p in ports]
            with open(members, "w") as f:
                for n, a in zip(cls.names, cls.addrs):
                    f.write("%s %s\n" % (n, a))
            cls.servers = []
            try:
                for n, p in zip(cls.names, ports):
                    cls.servers.append(Server(cls.tmp, port=p, name=n,
                                              extra=["--members", members, "--self", n]))
                break
            except Exception:
                for srv in cls.servers:
                    srv.stop()
                if attempt == 2:
                    shutil.rmtree(cls.tmp, ignore_errors=True)
                    raise
        cls.token = mint(cls.secret_file, "team-a")

    @classmethod
    def tearDownClass(cls):
        for srv in cls.servers:
            srv.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_routes_through_one_node(self):
        rng = random.Random(7)
        objs = {"c/%03d" % i: rng.randbytes(rng.randint(1, 64 * 1024)) for i in range(30)}
        for i in range(4):  # above EXPECT_CONTINUE_MIN: sent with Expect: 100-continue
            objs["c/big-%d" % i] = rng.randbytes(kumo_cache.client.EXPECT_CONTINUE_MIN + 4096)
        c = Client([self.addrs[0]], token=self.token)
        for k, v in objs.items():
            c.put("data", k, v)
        owners = {k: c._owners.get(("data", k), ("127.0.0.1", self.servers[0].port))
                  for k in objs}
        used = {"127.0.0.1:%d" % p for _, p in owners.values()}
        self.assertEqual(used, set(self.addrs))  # 34 keys land on all three nodes
        redirected_big = [k for k in objs if k.startswith("c/big") and
                          ("data", k) in c._owners]
        self.assertTrue(redirected_big, "no large PUT went through a 307")
        fresh = Client([self.addrs[0]], token=self.token)  # no remembered owners
        direct = [Client([a], token=self.token, no_redirect=True) for a in self.addrs]
        for k, v in objs.items():
            self.assertEqual(c.get("data", k), v, k)
            self.assertEqual(fresh.get("data", k), v, k)
            holders = [a for a, d in zip(self.addrs, direct) if d.exists("data", k)]
            self.assertEqual(holders, ["127.0.0.1:%d" % owners[k][1]], k)
        # Any node is a fine entry point; DELETE follows the 307 too.
        anywhere = Client(self.addrs, token=self.token)
        for k in objs:
            anywhere.delete("data", k)
            with self.assertRaises(KeyError):
                fresh.get("data", k)
        for cl in [c, fresh, anywhere] + direct:
            cl.close()

    def test_client_side_maglev_goes_direct(self):
        members = os.path.join(self.tmp, "members")
        c = Client(members_file=members, token=self.token)
        self.assertEqual(sorted(c.servers), sorted(self.addrs))
        direct = [Client([a], token=self.token, no_redirect=True) for a in self.addrs]
        rng = random.Random(11)
        objs = {"m/%03d" % i: rng.randbytes(rng.randint(1, 2 << 20)) for i in range(24)}
        objs["m/ünï cødé/%41"] = b"non-ascii key"
        for k, v in objs.items():
            c.put("data", k, v)
            self.assertEqual(c.get("data", k), v)
        self.assertEqual(c._owners, {})  # the client's table agreed with the nodes: no 307
        placed = set()
        for k in objs:
            holders = [a for a, d in zip(self.addrs, direct) if d.exists("data", k)]
            self.assertEqual(holders, [c._maglev().owner("data", k)], k)
            placed.update(holders)
        self.assertEqual(placed, set(self.addrs))
        for k in objs:
            c.delete("data", k)
        for cl in [c] + direct:
            cl.close()

    @unittest.skipUnless(HAVE_TORCH, "torch cannot be imported")
    def test_dataloader_over_the_cluster(self):
        members = os.path.join(self.tmp, "members")
        c = Client(members_file=members, token=self.token)
        rng = random.Random(5)
        keys = ["dl/%03d" % i for i in range(64)]
        digests = []
        for k in keys:
            data = rng.randbytes(rng.randint(1, 128 * 1024))
            c.put("data", k, data)
            digests.append(sha(data))
        ds = KumoDataset({"members_file": members, "token": self.token}, "data", keys)
        loader = torch.utils.data.DataLoader(Indexed(ds), batch_size=8, num_workers=2,
                                             shuffle=True, collate_fn=keep_bytes, timeout=60)
        seen = {}
        for batch in loader:
            for i, data in batch:
                self.assertNotIn(i, seen)
                seen[i] = sha(data)
        self.assertEqual([seen.get(i) for i in range(len(keys))], digests)
        c.close()

    def test_xxh64_matches_server_etags(self):
        d = Client([self.addrs[0]], token=self.token, no_redirect=True)
        rng = random.Random(3)
        for n in [0, 1, 3, 4, 7, 8, 31, 32, 33, 63, 64, 100, 1000, 4097]:
            data = rng.randbytes(n)
            etag = d.put("data", "x/%d" % n, data)
            self.assertEqual(etag, '"%016x"' % kumo_cache.maglev.xxh64(data), n)
            d.delete("data", "x/%d" % n)
        d.close()

    def test_large_put_single_node_expect_continue(self):
        d = Client([self.addrs[1]], token=self.token, no_redirect=True)
        big = os.urandom(3 << 20)
        d.put("data", "big-local", big)  # 100 Continue, then the body
        self.assertEqual(d.get("data", "big-local"), big)
        d.delete("data", "big-local")
        with self.assertRaises(PermissionError):  # refused before the body is sent
            Client([self.addrs[1]], token=mint(self.secret_file, "readers"),
                   no_redirect=True).put("data", "big-nope", big)
        d.close()


class _Redirector(http.server.BaseHTTPRequestHandler):
    """Answers every request with 307 to `target` (host:port), counting requests."""

    protocol_version = "HTTP/1.1"
    target = None
    hits = 0

    def _redirect(self):
        type(self).hits += 1
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        self.send_response(307)
        self.send_header("Location", "http://%s%s" % (self.target(), self.path))
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD = do_PUT = do_DELETE = _redirect

    def log_message(self, *args):
        pass


class RedirectTest(CacheTestBase):
    def _serve(self, target):
        handler = type("H", (_Redirector,), {"target": staticmethod(target), "hits": 0})
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        srv.daemon_threads = True
        t = threading.Thread(target=srv.serve_forever, daemon=True)
        t.start()
        self.addCleanup(t.join, 10)
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        return srv, handler

    def test_follows_307_and_remembers_owner(self):
        srv, h = self._serve(lambda: self.addr)
        c = Client(["127.0.0.1:%d" % srv.server_address[1]], token=self.token)
        self.assertEqual(sha(c.get("data", self.keys[5])), self.digests[5])
        self.assertEqual(h.hits, 1)
        self.assertEqual(sha(c.get("data", self.keys[5])), self.digests[5])
        self.assertEqual(h.hits, 1)  # went straight to the owner the second time
        c.put("data", "via-redirect", b"body survives a 307")  # 307 keeps method and body
        self.assertEqual(h.hits, 2)
        self.assertEqual(self.client.get("data", "via-redirect"), b"body survives a 307")
        self.assertEqual(c.stat("data", "via-redirect")["size"], 19)
        c.delete("data", "via-redirect")
        with self.assertRaises(KeyError):
            self.client.get("data", "via-redirect")
        c.close()

    def test_redirect_loop_is_bounded(self):
        box = {}
        srv, h = self._serve(lambda: box["self"])
        box["self"] = "127.0.0.1:%d" % srv.server_address[1]
        c = Client([box["self"]], token=self.token, max_redirects=3)
        with self.assertRaises(kumo_cache.TooManyRedirects):
            c.get("data", self.keys[0])
        self.assertEqual(h.hits, 4)  # the first request + 3 hops
        c.close()


class RetryTest(unittest.TestCase):
    """A peer that drops the first connection without answering: GET/HEAD retry, PUT not."""

    def _flaky(self, drops):
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(8)
        lsock.settimeout(10)
        state = {"drops": drops, "requests": 0}

        def run():
            while True:
                try:
                    conn, _ = lsock.accept()
                except OSError:
                    return
                with conn:
                    conn.settimeout(10)
                    buf = b""
                    while b"\r\n\r\n" not in buf:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        buf += chunk
                    state["requests"] += 1
                    if state["drops"] > 0:
                        state["drops"] -= 1
                        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                        b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST on close
                        continue
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                                 b"Connection: close\r\n\r\nok")

        t = threading.Thread(target=run, daemon=True)
        t.start()
        self.addCleanup(t.join, 10)
        self.addCleanup(lsock.close)
        return "127.0.0.1:%d" % lsock.getsockname()[1], state

    def test_get_retries_after_reset(self):
        addr, state = self._flaky(drops=1)
        self.assertEqual(Client([addr], timeout=10).get("b", "k"), b"ok")
        self.assertEqual(state["requests"], 2)

    def test_put_does_not_retry(self):
        addr, state = self._flaky(drops=1)
        with self.assertRaises(kumo_cache.KumoCacheError):
            Client([addr], timeout=10).put("b", "k", b"v")
        self.assertEqual(state["requests"], 1)


# DataLoader helpers live at module level so spawned workers can unpickle them.
def keep_bytes(batch):
    return batch


def with_pid(data):
    return os.getpid(), data


class Indexed:
    def __init__(self, inner):
        self.inner = inner

    def __len__(self):
        return len(self.inner)

    def __getitem__(self, i):
        return i, self.inner[i]


@unittest.skipUnless(HAVE_TORCH, "torch cannot be imported")
class DataLoaderTest(CacheTestBase):
    def _check(self, dataset, num_workers, context=None, shuffle=True):
        loader = torch.utils.data.DataLoader(
            Indexed(dataset), batch_size=8, num_workers=num_workers, shuffle=shuffle,
            collate_fn=keep_bytes, timeout=60, multiprocessing_context=context,
            generator=torch.Generator().manual_seed(num_workers))
        seen = {}
        pids = set()
        batches = 0
        for batch in loader:
            batches += 1
            self.assertLessEqual(len(batch), 8)
            for i, (pid, data) in batch:
                self.assertNotIn(i, seen, "index %d delivered twice" % i)
                seen[i] = sha(data)
                pids.add(pid)
        self.assertEqual(batches, (N_SAMPLES + 7) // 8)
        self.assertEqual(sorted(seen), list(range(N_SAMPLES)))
        for i in range(N_SAMPLES):
            self.assertEqual(seen[i], self.digests[i], "sample %d corrupted" % i)
        self.assertNotIn(os.getpid(), pids)
        self.assertEqual(len(pids), num_workers)  # 25 batches round-robin over the workers

    def test_two_workers_fork(self):
        # The client has live pooled connections in the parent before the workers fork.
        self.client.get("data", self.keys[0])
        ds = KumoDataset(self.client, "data", self.keys, transform=with_pid)
        ds[0]  # the dataset's own client exists in the parent too
        self._check(ds, 2)

    def test_three_workers_fork(self):
        ds = KumoDataset({"servers": [self.addr], "token": self.token}, "data", self.keys,
                         transform=with_pid)
        with warnings.catch_warnings():  # "suggested max number of worker ... is 2"
            warnings.simplefilter("ignore", UserWarning)
            self._check(ds, 3)

    def test_two_workers_spawn_pickles_config_only(self):
        ds = kumo_cache.CacheDataset(self.client, "data", self.keys, transform=with_pid)
        self.assertIsInstance(ds, torch.utils.data.Dataset)
        ds[0]
        self._check(ds, 2, context="spawn", shuffle=False)

    def test_dataset_without_workers(self):
        ds = KumoDataset(self.client, "data", self.keys)
        self.assertEqual(len(ds), N_SAMPLES)
        self.assertEqual(sha(ds[-1]), self.digests[-1])
        self.assertEqual(sha(ds[17]), self.digests[17])


if __name__ == "__main__":
    unittest.main(verbosity=2)
