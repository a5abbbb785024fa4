"""Client-side Maglev routing, the same table `kumo cache serve --members` builds
(src/cache/routing/maglev.cc): with it a client sends each request straight to the owner instead of
paying a 307 through another node. Pure Python XXH64 (checked against the server's ETags)."""

_M64 = (1 << 64) - 1
_P1 = 11400714785074694791
_P2 = 14029467366897019727
_P3 = 0x165667B19E3779F9
_P4 = 9650029242287828579
_P5 = 2870177450012600261

TABLE_SIZE = 65537
OFFSET_SEED = 0x6B756D6F2D6F6666  # "kumo-off"
SKIP_SEED = 0x6B756D6F2D736B70    # "kumo-skp"
KEY_SEED = 0x6B756D6F2D6B6579     # "kumo-key"


def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & _M64


def _round(acc, lane):
    acc = (acc + lane * _P2) & _M64
    return (_rotl(acc, 31) * _P1) & _M64


def _merge(acc, v):
    acc ^= _round(0, v)
    return (acc * _P1 + _P4) & _M64


def xxh64(data, seed=0):
    n = len(data)
    i = 0
    if n >= 32:
        v1 = (seed + _P1 + _P2) & _M64
        v2 = (seed + _P2) & _M64
        v3 = seed
        v4 = (seed - _P1) & _M64
        while i + 32 <= n:
            v1 = _round(v1, int.from_bytes(data[i:i + 8], "little"))
            v2 = _round(v2, int.from_bytes(data[i + 8:i + 16], "little"))
            v3 = _round(v3, int.from_bytes(data[i + 16:i + 24], "little"))
            v4 = _round(v4, int.from_bytes(data[i + 24:i + 32], "little"))
            i += 32
        h = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & _M64
        for v in (v1, v2, v3, v4):
            h = _merge(h, v)
    else:
        h = (seed + _P5) & _M64
    h = (h + n) & _M64
    while i + 8 <= n:
        h ^= _round(0, int.from_bytes(data[i:i + 8], "little"))
        h = (_rotl(h, 27) * _P1 + _P4) & _M64
        i += 8
    if i + 4 <= n:
        h ^= (int.from_bytes(data[i:i + 4], "little") * _P1) & _M64
        h = (_rotl(h, 23) * _P2 + _P3) & _M64
        i += 4
    while i < n:
        h ^= (data[i] * _P5) & _M64
        h = (_rotl(h, 11) * _P1) & _M64
        i += 1
    h ^= h >> 33
    h = (h * _P2) & _M64
    h ^= h >> 29
    h = (h * _P3) & _M64
    h ^= h >> 32
    return h


def parse_member_file(text):
    """[(name, "host:port")] from the plain `name host:port` format (YAML member files are not
    parsed here: pass members=[(name, address), ...] instead)."""
    out = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("members:") or line == "---":
            raise ValueError("YAML member files: pass members=[(name, address), ...]")
        parts = line.split()
        if len(parts) != 2:
            raise ValueError("member file line %r: want `name host:port`" % line)
        out.append((parts[0], parts[1]))
    return out


_TABLES = {}


class MaglevTable:
    def __init__(self, members):
        self.members = sorted(members)  # by name, as the server
        names = [m[0] for m in self.members]
        if len(set(names)) != len(names):
            raise ValueError("a member is listed twice")
        self.entries = _build(tuple(names))

    def owner(self, bucket, key):
        """The owner's "host:port", or None without members."""
        if not self.members:
            return None
        h = xxh64(("%s/%s" % (bucket, key)).encode("utf-8"), KEY_SEED)
        return self.members[self.entries[h % TABLE_SIZE]][1]


def _build(names):
    cached = _TABLES.get(names)
    if cached is not None:
        return cached
    m = TABLE_SIZE
    n = len(names)
    if n == 0:
        return []
    offset = [xxh64(nm.encode(), OFFSET_SEED) % m for nm in names]
    skip = [xxh64(nm.encode(), SKIP_SEED) % (m - 1) + 1 for nm in names]
    nxt = [0] * n
    entries = [-1] * m
    filled = 0
    while True:
        for i in range(n):
            c = (offset[i] + nxt[i] * skip[i]) % m
            while entries[c] >= 0:
                nxt[i] += 1
                c = (offset[i] + nxt[i] * skip[i]) % m
            entries[c] = i
            nxt[i] += 1
            filled += 1
            if filled == m:
                _TABLES[names] = entries
                return entries
