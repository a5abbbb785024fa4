"""HTTP/1.1 client for `kumo cache serve` (Python standard library only).

One Client holds a keep-alive connection pool per (host, port). The pool belongs to the
process that created it: after fork() a child drops the inherited sockets (they are shared with
the parent) and opens its own, so a Client may be created before a DataLoader forks workers.
"""

import errno
import http.client
import os
import select
import socket
import threading
import time
import urllib.parse
import weakref
import zlib

from . import maglev
from .errors import (
    Forbidden,
    KumoCacheError,
    ObjectNotFound,
    RangeNotSatisfiable,
    TooManyRedirects,
    Unauthorized,
)

_RETRYABLE = (
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
    http.client.RemoteDisconnected,
    http.client.BadStatusLine,
    http.client.IncompleteRead,
)
_IDEMPOTENT = ("GET", "HEAD")
# Bodies above this go with "Expect: 100-continue": a non-owner answers 307 (or 401/403/413)
# before any body byte is sent, instead of closing the connection mid-body (the server skips a
# refused body only up to 1 MiB).
EXPECT_CONTINUE_MIN = 1 << 20
_EXPECT_WAIT_S = 1.0  # RFC 9110 §10.1.1: a client need not wait forever for 100 Continue
_OWNER_CACHE_MAX = 65536

# Every live pool, so a forked child can reset them all before any user code runs.
_POOLS = weakref.WeakSet()


_CLIENTS = weakref.WeakSet()


def _reset_pools_after_fork():
    for pool in list(_POOLS):
        pool._after_fork()
    for client in list(_CLIENTS):  # a thread of the parent may have held the token lock
        client._token_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_pools_after_fork)


def _parse_hostport(server):
    if "://" in server:
        u = urllib.parse.urlsplit(server)
        return u.hostname, u.port or 80
    host, sep, port = server.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError("server %r: want HOST:PORT" % (server,))
    return host.strip("[]"), int(port)


class _Connection(http.client.HTTPConnection):
    """HTTPConnection with TCP_NODELAY: a request head and body written in two send()s must
    not wait for a delayed ACK (Nagle)."""

    def connect(self):
        super().connect()
        try:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass


class _Pool:
    """Idle keep-alive connections per (host, port), owned by one process."""

    def __init__(self, timeout, max_idle_per_host=16):
        self.timeout = timeout
        self.max_idle = max_idle_per_host
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._idle = {}
        _POOLS.add(self)

    def _after_fork(self):
        # The sockets are shared with the parent: forget them. Closing our copy of the
        # descriptor (no shutdown) leaves the parent's connection intact. A fresh lock, since
        # another thread may have held the old one at fork time.
        self._lock = threading.Lock()
        idle, self._idle = self._idle, {}
        self._pid = os.getpid()
        for conns in idle.values():
            for c in conns:
                _close_quietly(c)

    def _check_pid(self):
        if self._pid != os.getpid():  # forked without the at-fork hook (e.g. os.fork in C)
            self._after_fork()

    def acquire(self, hostport):
        """Returns (connection, reused)."""
        self._check_pid()
        while True:
            with self._lock:
                conns = self._idle.get(hostport)
                conn = conns.pop() if conns else None
            if conn is None:
                break
            if _still_open(conn):
                return conn, True
            _close_quietly(conn)
        conn = _Connection(hostport[0], hostport[1], timeout=self.timeout)
        return conn, False

    def release(self, hostport, conn):
        self._check_pid()
        with self._lock:
            conns = self._idle.setdefault(hostport, [])
            if len(conns) < self.max_idle:
                conns.append(conn)
                return
        _close_quietly(conn)

    def close(self):
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for c in conns:
                _close_quietly(c)

    def idle_count(self):
        with self._lock:
            return sum(len(v) for v in self._idle.values())


def _close_quietly(conn):
    try:
        conn.close()
    except OSError:
        pass


def _still_open(conn):
    """An idle keep-alive connection is usable if the peer has not closed it (readable = EOF
    or unexpected bytes, either way unusable)."""
    sock = conn.sock
    if sock is None:
        return False
    try:
        r, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not r


class Client:
    """A kumo cache client.

    servers: ["HOST:PORT", ...]; a key goes first to servers[crc32(bucket/key) % n] (or to the
    owner a 307 named before) and follows up to max_redirects 307s to the owner.
    token / token_file: bearer token; token_file is re-read whenever its mtime/size/inode
    change (projected service-account tokens rotate), and once more after a 401.
    """

    def __init__(self, servers=None, token=None, token_file=None, timeout=30, max_redirects=3,
                 no_redirect=False, retries=2, members=None, members_file=None):
        if isinstance(servers, str):
            servers = [servers]
        self.members = [tuple(m) for m in members] if members else None
        self.members_file = members_file
        self._members_sig = None
        self._table = None
        if not servers:
            servers = [a for _, a in (self.members or self._read_members() or [])]
        if not servers:
            raise ValueError("servers: at least one HOST:PORT (or members)")
        self.servers = list(servers)
        self._hostports = [_parse_hostport(s) for s in self.servers]
        self.token = token
        self.token_file = token_file
        self.timeout = timeout
        self.max_redirects = max_redirects
        self.no_redirect = no_redirect
        self.retries = retries
        self._token_sig = None
        self._file_token = None
        self._token_lock = threading.Lock()
        self._owners = {}
        self._pool = _Pool(timeout)
        _CLIENTS.add(self)

    # -- configuration / pickling: a Client travels as its configuration only -------------

    def config(self):
        return dict(servers=list(self.servers), token=self.token, token_file=self.token_file,
                    timeout=self.timeout, max_redirects=self.max_redirects,
                    no_redirect=self.no_redirect, retries=self.retries,
                    members=self.members, members_file=self.members_file)

    def __getstate__(self):
        return self.config()

    def __setstate__(self, state):
        self.__init__(**state)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._pool.close()

    def __del__(self):
        pool = getattr(self, "_pool", None)
        if pool is not None:
            try:
                pool.close()
            except Exception:  # noqa: BLE001 - interpreter shutdown
                pass

    # -- public API -----------------------------------------------------------------------

    def get(self, bucket, key, range=None):
        """The object's bytes (or the slice `range`: (start, end) inclusive, (start, None),
        (None, suffix_len), or a literal "bytes=..." string). KeyError if missing."""
        headers = {}
        if range is not None:
            headers["Range"] = _range_header(range)
        status, _, body = self._request("GET", bucket, key, headers=headers)
        return body

    def put(self, bucket, key, data):
        """Stores `data` (bytes-like); returns the ETag once the object is durable."""
        if isinstance(data, str):
            raise TypeError("put wants bytes, not str")
        body = bytes(data) if not isinstance(data, (bytes, bytearray)) else data
        _, headers, _ = self._request("PUT", bucket, key, body=body)
        return headers.get("etag")

    def head(self, bucket, key):
        """{"size": int, "etag": str, "headers": {...}}; KeyError if missing."""
        _, headers, _ = self._request("HEAD", bucket, key)
        size = headers.get("content-length")
        return {"size": int(size) if size is not None else None, "etag": headers.get("etag"),
                "headers": headers}

    stat = head

    def exists(self, bucket, key):
        try:
            self.head(bucket, key)
            return True
        except ObjectNotFound:
            return False

    def delete(self, bucket, key):
        """Removes the object; KeyError if it was not there."""
        self._request("DELETE", bucket, key)

    # -- internals --------------------------------------------------------------------------

    def current_token(self, force_reload=False):
        if self.token_file is None:
            return self.token
        try:
            st = os.stat(self.token_file)
            sig = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            sig = None
        with self._token_lock:
            if force_reload or sig != self._token_sig or self._file_token is None:
                try:
                    with open(self.token_file, "r") as f:
                        self._file_token = f.read().strip()
                except OSError as e:
                    if self.token is not None:
                        return self.token
                    raise Unauthorized("cannot read token file %s: %s" % (self.token_file, e))
                self._token_sig = sig
            return self._file_token

    def _read_members(self):
        if self.members_file is None:
            return None
        with open(self.members_file) as f:
            return maglev.parse_member_file(f.read())

    def _maglev(self):
        """The member table (members= fixed, or members_file= re-read when it changes)."""
        if self.members_file is not None:
            try:
                st = os.stat(self.members_file)
                sig = (st.st_mtime_ns, st.st_size, st.st_ino)
            except OSError:
                return self._table
            if sig != self._members_sig:
                try:
                    table = maglev.MaglevTable(self._read_members())
                except (OSError, ValueError):
                    return self._table  # keep the old table, as the server does
                self._table, self._members_sig = table, sig
                self._owners.clear()  # owners may have moved
        elif self.members and self._table is None:
            self._table = maglev.MaglevTable(self.members)
        return self._table

    def _first_hop(self, bucket, key):
        owner = self._owners.get((bucket, key))
        if owner is not None:
            return owner
        table = self._maglev()
        if table is not None:
            addr = table.owner(bucket, key)
            if addr is not None:
                return _parse_hostport(addr)
        i = zlib.crc32(("%s/%s" % (bucket, key)).encode()) % len(self._hostports)
        return self._hostports[i]

    def _remember_owner(self, bucket, key, hostport):
        if len(self._owners) >= _OWNER_CACHE_MAX:
            self._owners.clear()
        self._owners[(bucket, key)] = hostport

    def _request(self, method, bucket, key, headers=None, body=None):
        path = "/v1/objects/%s/%s" % (urllib.parse.quote(bucket, safe=""),
                                      urllib.parse.quote(key, safe="/"))
        hostport = self._first_hop(bucket, key)
        hops = 0
        reloaded_token = False
        while True:
            h = dict(headers or {})
            token = self.current_token()
            if token:
                h["Authorization"] = "Bearer " + token
            if self.no_redirect:
                h["X-Kumo-No-Redirect"] = "1"
            try:
                status, rheaders, rbody = self._send(hostport, method, path, h, body)
            except KumoCacheError:
                self._owners.pop((bucket, key), None)  # a remembered owner may be gone
                raise
            if status == 307:
                loc = rheaders.get("location")
                hops += 1
                if not loc:
                    raise KumoCacheError("307 without Location", 307, _url(hostport, path))
                if hops > self.max_redirects:
                    raise TooManyRedirects("more than %d redirects for %s/%s"
                                           % (self.max_redirects, bucket, key), 307,
                                           _url(hostport, path))
                u = urllib.parse.urlsplit(loc)
                if u.hostname:
                    hostport = (u.hostname, u.port or 80)
                if u.path:
                    path = u.path
                continue
            if status == 401 and self.token_file is not None and not reloaded_token:
                reloaded_token = True
                if self.current_token(force_reload=True) != token:
                    continue  # rotated between our stat and the server's check: try the new one
            if hops:
                if status < 500:
                    self._remember_owner(bucket, key, hostport)
            _raise_for_status(status, rheaders, rbody, method, _url(hostport, path))
            return status, rheaders, rbody

    def _send(self, hostport, method, path, headers, body):
        attempts = 1 + (self.retries if method in _IDEMPOTENT else 0)
        last = None
        for attempt in range(attempts):
            conn, reused = self._pool.acquire(hostport)
            try:
                if body is not None and len(body) > EXPECT_CONTINUE_MIN:
                    early = self._request_expect_continue(conn, method, path, headers, body)
                    if early is not None:
                        return early
                else:
                    conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                status = resp.status
                rheaders = {k.lower(): v for k, v in resp.getheaders()}
                if resp.will_close:
                    _close_quietly(conn)
                else:
                    self._pool.release(hostport, conn)
                return status, rheaders, data
            except _RETRYABLE as e:
                _close_quietly(conn)
                last = e
                continue
            except socket.timeout as e:
                _close_quietly(conn)
                raise KumoCacheError("%s %s: timed out after %ss" % (method, _url(hostport, path),
                                                                    self.timeout)) from e
            except http.client.HTTPException as e:  # malformed response: not retried
                _close_quietly(conn)
                raise KumoCacheError("%s %s: bad response: %r" % (method, _url(hostport, path),
                                                                  e)) from e
            except OSError as e:
                _close_quietly(conn)
                if e.errno in (errno.ECONNRESET, errno.EPIPE):
                    last = e
                    continue
                raise KumoCacheError("%s %s: %s" % (method, _url(hostport, path), e)) from e
        raise KumoCacheError("%s %s: connection lost (%s)" % (method, _url(hostport, path),
                                                             last)) from last


    def _request_expect_continue(self, conn, method, path, headers, body):
        """Sends the head with Expect: 100-continue, then the body once the server asks for
        it (or after _EXPECT_WAIT_S of silence). Returns (status, headers, body) if the server
        answered finally before the body was sent (the connection is then closed), else None
        with the request fully sent and the response (after 100 Continue) still to read."""
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.putheader("Content-Length", str(len(body)))
        conn.putheader("Expect", "100-continue")
        conn.endheaders()
        sock = conn.sock
        deadline = _monotonic() + _EXPECT_WAIT_S
        peek = b""
        while len(peek) < 12:
            left = deadline - _monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([sock], [], [], left)
            if not r:
                break
            peek = sock.recv(12, socket.MSG_PEEK)
            if not peek:
                raise http.client.RemoteDisconnected("closed before answering Expect")
            if len(peek) < 12:
                time.sleep(0.001)
        if len(peek) >= 12 and peek[9:12] != b"100":
            resp = conn.getresponse()  # a final answer: the body was never sent
            data = resp.read()
            status, rheaders = resp.status, {k.lower(): v for k, v in resp.getheaders()}
            _close_quietly(conn)
            return status, rheaders, data
        conn.send(body)  # getresponse() skips the 100 Continue itself
        return None


def _monotonic():
    return time.monotonic()


def _url(hostport, path):
    return "http://%s:%d%s" % (hostport[0], hostport[1], path)


def _range_header(r):
    if isinstance(r, str):
        return r if r.startswith("bytes=") else "bytes=" + r
    if isinstance(r, slice):
        if r.step not in (None, 1) or r.start is None or r.stop is None:
            raise ValueError("range slice wants start:stop")
        r = (r.start, r.stop - 1)
    start, end = r
    if start is None:
        return "bytes=-%d" % end
    if end is None:
        return "bytes=%d-" % start
    return "bytes=%d-%d" % (start, end)


def _raise_for_status(status, headers, body, method, url):
    if 200 <= status < 300 or status == 304:
        return
    detail = body[:200].decode("utf-8", "replace").strip() if body else ""
    msg = "%s %s: %d%s" % (method, url, status, (" " + detail) if detail else "")
    if status == 404:
        raise ObjectNotFound(msg, status, url)
    if status == 401:
        raise Unauthorized(msg, status, url)
    if status == 403:
        raise Forbidden(msg, status, url)
    if status == 416:
        raise RangeNotSatisfiable(msg, status, url)
    raise KumoCacheError(msg, status, url)
