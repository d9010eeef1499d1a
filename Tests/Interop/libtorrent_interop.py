#!/usr/bin/python3
"""libtorrent <-> SubnetDHT interoperability test (BEP 5, BEP 44), loopback only.

Usage:
    /usr/bin/python3 Tests/Interop/libtorrent_interop.py [--subnet-dht PATH] [--sessions N] [--verbose]
    /usr/bin/python3 Tests/Interop/libtorrent_interop.py --libtorrent-only   # self-check, ~2 s

One `subnet-dht run` node (the "hub") is started on 127.0.0.1; N libtorrent
sessions are told only about the hub (add_dht_node) and must find each other
through it; then BEP 5 announce/get_peers and BEP 44 mutable (with and without
salt, plus a seq update) and immutable items go both ways between libtorrent and
the `subnet-dht` command line, and raw KRPC `get`/`get_peers` queries check what
the hub itself stores. In --libtorrent-only mode a libtorrent session plays the
hub, so the libtorrent side of every check can be validated without the Swift
binary. Output: one `ok NAME` / `FAIL NAME: reason` line per check, then
`N passed, M failed`; exit status 1 on any failure. --verbose dumps every DHT
packet exchanged with the hub (decoded) and a summary of the query forms on
stderr; on failure the last packets with the hub are dumped anyway.

Needs only the standard library and python3-libtorrent (Debian, libtorrent-rasterbar
2.0.8); run it with /usr/bin/python3 (the pyenv python has no libtorrent).
All traffic goes to 127.0.0.1; every wait is bounded, and an overall deadline
(--timeout, default 120 s) plus a SIGALRM watchdog bound the whole run.

What had to be learned about libtorrent 2.0.8 and its Debian Python binding
(measured here, loopback, one process):

* No ed25519 in this binding: lt.ed25519_create_keypair/ed25519_sign exist only
  in later versions (bindings/python/src/ed25519.cpp is newer than 2.0.8). The
  key pair is therefore derived here in pure Python (RFC 8032 point arithmetic),
  checked at start against the BEP 44 vector and RFC 8032 test 1. The binding's
  dht_put_mutable_item(secret64, public32, data, salt) takes the 64-byte
  EXPANDED secret (clamped SHA-512(seed)), and signs itself (put_string in
  session.cpp): `data` becomes a bencoded *string* `v`, and seq is one above
  the highest seq the get phase of the put found on the network.
  Pass keys/salt/data as bytes: the C++ signature says std::string, and a Python
  str would be UTF-8 encoded first, corrupting binary keys.
* session.dht_announce(hash, port, flags) cannot be called from Python 2.0.8:
  the flags type (dht_announce_flag_t) is not exposed and int is rejected.
  BEP 5 announces are produced instead by adding a metadata-less torrent
  (add_torrent_params.info_hash); libtorrent announces it within ~1-2 s.
* dht_mutable_item_alert.item and dht_immutable_item_alert.item are DICTS
  ({'key','value','signature','seq','salt','authoritative'} / {'key','value'}),
  not the bare value; the value is item['value'] (bytes for a bencoded string).
  A mutable get posts a non-authoritative alert for each better item found and
  one final authoritative=True alert when the traversal ends.
* Alerts returned by pop_alerts() are only valid until the next pop_alerts()
  (libtorrent reuses their storage), so every alert is copied into a plain dict
  at once (LtNet._record).
* Node id: session.dht_state() (deprecated, warning suppressed) returns
  {b'node-id': [20-byte id + 4-byte IPv4]} once the DHT runs; dht_live_nodes(id)
  answers with dht_live_nodes_alert.nodes = [{'nid': sha1_hash, 'endpoint': (ip, port)}].
* Loopback needs: listen_interfaces '127.0.0.1:PORT', dht_restrict_routing_ips and
  dht_restrict_search_ips off, dht_block_ratelimit raised (default here is 5),
  dht_upload_rate_limit raised (default 8000 B/s), dht_bootstrap_nodes '' (nodes
  named there never enter the routing table); join with add_dht_node.
  dht_enforce_node_id defaults to False; dht_prefer_verified_node_ids (True) and
  dht_ignore_dark_internet (True) are switched off.
* A mutable get of a key nobody stored still ends with an authoritative alert, whose .item raises
  RuntimeError("invalid type requested from entry"). Alert `salt` fields arrive as str, keys
  and signatures as bytes.
* Dead nodes cost 15 s: libtorrent's DHT RPC timeout is 15 s and a closed loopback port is not
  failed sooner, so a traversal that meets one dead node takes ~15 s (measured; afterwards that
  node is skipped). libtorrent 2.0.8 also puts a node that sends it a BEP 44 `put` into its
  live routing table EVEN WITH `ro`=1 (measured; `get`/`get_peers` with `ro` are not added).
  So each short-lived `subnet-dht put` client leaves a dead node behind in libtorrent's
  tables. This script therefore does all libtorrent puts before any CLI client runs, issues the
  libtorrent gets that follow CLI puts in parallel (one 15 s stall at most), and gives every
  libtorrent operation LT_OP_TIMEOUT = 20 s.
* Timing: with an empty table the bootstrap "completes" at once with 0 nodes;
  add_dht_node then sends one `get_peers` (libtorrent's ping), and the node is
  in the live table within ~0.1 s. A few rounds of dht_get_peers on random
  hashes make the sessions find each other in under a second. BEP 44 puts and
  gets complete in a few ms on loopback (dht_put_alert.num_success counts the
  nodes that acknowledged; it includes other libtorrent sessions).

Wire facts the Swift node must accommodate (seen in the packet dumps of --verbose):
* libtorrent sent only `get_peers` (also its ping: add_dht_node sends one),
  `announce_peer`, `get`, `put` in these runs: no `ping`, no `find_node`; every
  query and response carries top-level `v` = b'LT\\x02\\x08'. `get` has only `id`
  and `target` (no `seq`, no `want`); `ro` is sent only by a dht_read_only session,
  and then at the TOP level of the message (BEP 43), not inside `a`. `put` carries
  `id k seq sig token v` (+ `salt` only when non-empty; never `cas`); immutable
  `put` carries `id token v`. `v` is the raw bencoded value embedded in the
  message (the signature covers exactly those bytes). `announce_peer` carries
  `id implied_port=1 info_hash port seed=0 token` (`seed` is a libtorrent
  extension, so unknown keys must be ignored; honour implied_port: use the UDP
  source port).
* libtorrent's responses carry a top-level `ip` (BEP 42 compact, 6 bytes) and an
  `r.p` (the querier's port) alongside `id`, `nodes`, `token` (4 bytes),
  `values`, `k`/`seq`/`sig`/`v`; a successful `put` is answered `{id, p}`; its
  `nodes` may include the querier itself.
* libtorrent accepts responses without `ip` and without `v`, with a 4- or 20-byte
  token (echoed back verbatim), and with unknown keys at the top level and in `r`
  (measured with a stub node).
* libtorrent only meets nodes it is told about: the hub must put querying nodes
  into its routing table and return them in `nodes`, and must not limit itself
  to one node (or one rate budget) per IP, since every peer here is 127.0.0.1.
"""

import argparse
import collections
import hashlib
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings

import libtorrent as lt

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pysupport.processes import as_bytes  # noqa: E402

warnings.simplefilter("ignore", DeprecationWarning)

LOOPBACK = "127.0.0.1"
# libtorrent's DHT RPC timeout is 15 s and a dead loopback port is not failed faster (measured),
# so a libtorrent operation that meets a dead node needs more than that.
LT_OP_TIMEOUT = 20.0
CLI_TIMEOUT = 30.0

# ---------------------------------------------------------------------------
# ed25519 (key derivation and verification only; libtorrent signs by itself)
# ---------------------------------------------------------------------------

_P = 2 ** 255 - 19
_L = 2 ** 252 + 27742317777372353535851937790883648493
_D = (-121665 * pow(121666, _P - 2, _P)) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _xrecover(y, sign):
    xx = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    x = pow(xx, (_P + 3) // 8, _P)
    if (x * x - xx) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - xx) % _P:
        return None
    if (x & 1) != sign:
        x = _P - x
    return x


_BY = 4 * pow(5, _P - 2, _P) % _P
_BX = _xrecover(_BY, 0)
_BASE = (_BX, _BY, 1, _BX * _BY % _P)
_ZERO = (0, 1, 1, 0)


def _pt_add(p, q):
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % _P
    b = (y1 + x1) * (y2 + x2) % _P
    c = 2 * _D * t1 * t2 % _P
    d = 2 * z1 * z2 % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _pt_mul(k, p):
    q = _ZERO
    while k:
        if k & 1:
            q = _pt_add(q, p)
        p = _pt_add(p, p)
        k >>= 1
    return q


def _pt_encode(p):
    x, y, z, _ = p
    zi = pow(z, _P - 2, _P)
    x, y = x * zi % _P, y * zi % _P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _pt_decode(b):
    n = int.from_bytes(b, "little")
    y, sign = n & ((1 << 255) - 1), n >> 255
    if y >= _P:
        return None
    x = _xrecover(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % _P)


def ed25519_keypair(seed):
    """(public32, expanded_secret64) from a 32-byte seed, as libtorrent/orlp ed25519."""
    h = bytearray(hashlib.sha512(seed).digest())
    h[0] &= 248
    h[31] &= 63
    h[31] |= 64
    a = int.from_bytes(h[:32], "little")
    return _pt_encode(_pt_mul(a, _BASE)), bytes(h)


def ed25519_public_from_secret64(sk):
    return _pt_encode(_pt_mul(int.from_bytes(sk[:32], "little"), _BASE))


def ed25519_verify(pub, msg, sig):
    if len(pub) != 32 or len(sig) != 64:
        return False
    a = _pt_decode(pub)
    if a is None:
        return False
    s = int.from_bytes(sig[32:], "little")
    if s >= _L:
        return False
    h = int.from_bytes(hashlib.sha512(sig[:32] + pub + msg).digest(), "little") % _L
    neg_a = (_P - a[0], a[1], a[2], _P - a[3])
    return _pt_encode(_pt_add(_pt_mul(s, _BASE), _pt_mul(h, neg_a))) == sig[:32]


def bep44_signed_buffer(salt, seq, v_bencoded):
    out = b""
    if salt:
        out += b"4:salt" + str(len(salt)).encode() + b":" + salt
    return out + b"3:seqi" + str(seq).encode() + b"e1:v" + v_bencoded


def bstr(b):
    """Bencoded byte string."""
    return str(len(b)).encode() + b":" + b


def mutable_target(pub, salt):
    return hashlib.sha1(pub + salt).hexdigest()


def immutable_target(value_bytes):
    return hashlib.sha1(bstr(value_bytes)).hexdigest()


# ---------------------------------------------------------------------------
# Check bookkeeping and time bounds
# ---------------------------------------------------------------------------


class CheckFailed(Exception):
    pass


class Deadline:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def remaining(self):
        return max(0.0, self.end - time.monotonic())

    def bound(self, seconds):
        """A step timeout no longer than what is left of the overall deadline."""
        r = self.remaining()
        if r <= 0:
            raise CheckFailed("overall deadline exceeded")
        return min(seconds, r)


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self, name, note=""):
        self.passed += 1
        print("ok %s%s" % (name, (" (%s)" % note) if note else ""), flush=True)

    def fail(self, name, reason):
        self.failed += 1
        reason = " ".join(str(reason).split())
        print("FAIL %s: %s" % (name, reason), flush=True)

    def run(self, name, fn, *args):
        """Run one check; fn returns None/a note, or raises CheckFailed. Returns True on pass."""
        try:
            note = fn(*args)
        except CheckFailed as e:
            self.fail(name, e)
            return False
        except Exception as e:  # a bug or an unexpected library error is a failure, not a crash
            self.fail(name, "%s: %s" % (type(e).__name__, e))
            return False
        self.ok(name, note or "")
        return True


def expect(cond, reason):
    if not cond:
        raise CheckFailed(reason)


def short(x, n=120):
    s = repr(x)
    return s if len(s) <= n else s[:n] + "..."


# ---------------------------------------------------------------------------
# Ports and raw KRPC (loopback only)
# ---------------------------------------------------------------------------


def free_port(used):
    """A port free for both UDP and TCP on 127.0.0.1 (libtorrent listens on both)."""
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            u.bind((LOOPBACK, 0))
            port = u.getsockname()[1]
            if port in used:
                continue
            t.bind((LOOPBACK, port))
            used.add(port)
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    raise RuntimeError("no free loopback port found in 50 tries")


def krpc_query(port, q, args, timeout=2.0, tries=3):
    """One KRPC query to 127.0.0.1:port, read-only (BEP 43: top-level `ro`=1, so the hub does not
    add this throw-away socket to its routing table)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((LOOPBACK, 0))
        a = {b"id": os.urandom(20)}
        a.update(args)
        for _ in range(tries):
            tid = os.urandom(2)
            sock.sendto(lt.bencode({b"t": tid, b"y": b"q", b"q": q, b"a": a, b"ro": 1}), (LOOPBACK, port))
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                sock.settimeout(max(0.01, end - time.monotonic()))
                try:
                    data, src = sock.recvfrom(65536)
                except socket.timeout:
                    break
                if src != (LOOPBACK, port):
                    continue
                try:
                    msg = lt.bdecode(data)
                except RuntimeError:
                    raise CheckFailed("undecodable response to %s: %s" % (q.decode(), short(data)))
                if isinstance(msg, dict) and msg.get(b"t") == tid:
                    if msg.get(b"y") == b"e":
                        raise CheckFailed("error response to %s: %s" % (q.decode(), short(msg.get(b"e"))))
                    if msg.get(b"y") != b"r" or not isinstance(msg.get(b"r"), dict):
                        raise CheckFailed("malformed response to %s: %s" % (q.decode(), short(msg)))
                    return msg[b"r"]
        raise CheckFailed("no response to raw %s from 127.0.0.1:%d after %d tries" % (q.decode(), port, tries))
    finally:
        sock.close()


# ---------------------------------------------------------------------------
# libtorrent sessions
# ---------------------------------------------------------------------------

def alert_value(a):
    """item['value'] of a dht_*_item_alert, or None when nothing was found (then .item raises)."""
    try:
        item = a.item
    except RuntimeError:  # "invalid type requested from entry": the item is empty
        return None
    if isinstance(item, dict):
        return item.get("value")
    return item


PKT_RE = re.compile(r"(<==|==>)[^\[]*\[([0-9.]+):(\d+)\]")


def session_settings(port):
    cat = lt.alert.category_t
    return {
        "listen_interfaces": "%s:%d" % (LOOPBACK, port),
        "enable_dht": True,
        "dht_bootstrap_nodes": "",
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "dht_block_ratelimit": 10000,
        "dht_upload_rate_limit": 10 ** 7,
        "dht_enforce_node_id": False,
        "dht_prefer_verified_node_ids": False,
        "dht_ignore_dark_internet": False,
        "dht_read_only": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "alert_queue_size": 100000,
        "alert_mask": int(cat.dht_notification | cat.dht_operation_notification
                          | cat.dht_log_notification | cat.error_notification
                          | cat.status_notification),
    }


class LtNet:
    """N libtorrent sessions in this process, with alerts copied into plain events."""

    def __init__(self, count, used_ports, verbose):
        self.verbose = verbose
        self.hub_port = None
        self.events = []
        self.hub_packets = collections.deque(maxlen=3000)
        self.query_forms = collections.defaultdict(collections.Counter)  # (dir, kind) -> Counter(keys)
        self.sessions = []
        for _ in range(count):
            port = free_port(used_ports)
            self.sessions.append({"s": lt.session(session_settings(port)), "port": port, "nid": None})

    def close(self):
        for rec in self.sessions:
            rec["s"] = None  # the destructor aborts the session
        self.sessions = []

    # -- alerts --

    def pump(self):
        for idx, rec in enumerate(self.sessions):
            for a in rec["s"].pop_alerts():
                self._record(idx, a)

    def _record(self, idx, a):
        kind = type(a).__name__
        ev = None
        if kind == "dht_pkt_alert":
            self._packet(idx, a)
            return
        if kind == "dht_mutable_item_alert":
            ev = {"key": as_bytes(a.key), "salt": as_bytes(a.salt), "seq": a.seq, "value": alert_value(a),
                  "sig": as_bytes(a.signature), "authoritative": a.authoritative}
        elif kind == "dht_immutable_item_alert":
            ev = {"target": str(a.target), "value": alert_value(a)}
        elif kind == "dht_put_alert":
            ev = {"target": str(a.target), "public_key": as_bytes(a.public_key), "salt": as_bytes(a.salt),
                  "seq": a.seq, "num_success": a.num_success}
        elif kind == "dht_live_nodes_alert":
            ev = {"node_id": str(a.node_id),
                  "nodes": [(str(n["nid"]), tuple(n["endpoint"])) for n in a.nodes]}
        elif kind == "dht_get_peers_reply_alert":
            ev = {"info_hash": str(a.info_hash), "peers": [tuple(p) for p in a.peers()]}
        elif kind == "dht_announce_alert":
            ev = {"info_hash": str(a.info_hash), "ip": str(a.ip), "port": a.port}
        elif kind in ("listen_succeeded_alert", "listen_failed_alert", "dht_error_alert",
                      "dht_bootstrap_alert", "udp_error_alert"):
            ev = {"message": a.message()}
        if ev is not None:
            ev["n"] = len(self.events)
            ev["idx"] = idx
            ev["kind"] = kind[:-len("_alert")]
            self.events.append(ev)

    def _packet(self, idx, a):
        if self.hub_port is None:
            return
        m = PKT_RE.search(a.message())
        if not m or int(m.group(3)) != self.hub_port or idx == self.hub_index():
            return
        try:
            msg = lt.bdecode(bytes(a.pkt_buf))
        except RuntimeError:
            msg = bytes(a.pkt_buf)
        direction = "lt%d->hub" % idx if m.group(1) == "==>" else "hub->lt%d" % idx
        self.hub_packets.append((time.monotonic(), direction, msg))
        if isinstance(msg, dict):
            y = msg.get(b"y")
            if y == b"q":
                kind = "query " + msg.get(b"q", b"?").decode("latin-1")
                keys = sorted(k.decode("latin-1") for k in (msg.get(b"a") or {}))
            elif y == b"r":
                kind = "response"
                keys = sorted(k.decode("latin-1") for k in (msg.get(b"r") or {}))
            else:
                kind, keys = "y=" + repr(y), []
            top = sorted(k.decode("latin-1") for k in msg)
            self.query_forms[("to-hub" if "->hub" in direction else "from-hub", kind)][
                "top[%s] args[%s]" % (",".join(top), ",".join(keys))] += 1
        if self.verbose:
            print("  pkt %s %s" % (direction, short(msg, 600)), file=sys.stderr)

    def hub_index(self):
        return getattr(self, "_hub_index", None)

    def mark(self):
        self.pump()
        return len(self.events)

    def wait_for(self, pred, timeout, start=0):
        """First event (index >= start) satisfying pred, pumping alerts for at most timeout s."""
        end = time.monotonic() + timeout
        seen = start
        while True:
            self.pump()
            while seen < len(self.events):
                ev = self.events[seen]
                seen += 1
                if pred(ev):
                    return ev
            if time.monotonic() >= end:
                return None
            time.sleep(0.02)

    # -- node ids and routing tables --

    def node_id(self, idx):
        rec = self.sessions[idx]
        if rec["nid"] is None:
            st = rec["s"].dht_state()
            ids = st.get(b"node-id") if isinstance(st, dict) else None
            if ids:
                rec["nid"] = bytes(ids[0])[:20]
        return rec["nid"]

    def live_nodes(self, indices, timeout=2.0):
        """{idx: [(nid_hex, (ip, port)), ...]} from dht_live_nodes for each session."""
        start = self.mark()
        for i in indices:
            nid = self.node_id(i)
            if nid is not None:
                self.sessions[i]["s"].dht_live_nodes(lt.sha1_hash(nid))
        out = {}
        end = time.monotonic() + timeout
        while len(out) < len(indices) and time.monotonic() < end:
            ev = self.wait_for(lambda e: e["kind"] == "dht_live_nodes" and e["idx"] not in out,
                               end - time.monotonic(), start)
            if ev is None:
                break
            out[ev["idx"]] = ev["nodes"]
        return out

    # -- BEP 44 / BEP 5 operations --

    def put_mutable(self, idx, secret64, pub, value, salt, timeout):
        start = self.mark()
        self.sessions[idx]["s"].dht_put_mutable_item(secret64, pub, value, salt)
        ev = self.wait_for(lambda e: e["kind"] == "dht_put" and e["idx"] == idx
                           and e["public_key"] == pub and e["salt"] == salt, timeout, start)
        expect(ev is not None, "libtorrent session %d: no dht_put_alert within %.0f s" % (idx, timeout))
        expect(ev["num_success"] >= 1, "libtorrent put reached no node (num_success=0)")
        return ev

    def get_mutable(self, idx, pub, salt, timeout):
        """(value, seq) of the authoritative result, or None when nothing was found."""
        return self.parallel_gets([("m", idx, pub, salt)], timeout)[0][0]

    def parallel_gets(self, reqs, timeout):
        """Issue all gets at once, then wait for all: ("m", idx, pub, salt) -> (value, seq) from the
        final authoritative alert (best seq seen), ("i", idx, target_hex) -> (value, None); None if
        nothing was found or nothing came within timeout. Returns (results, seconds per request)."""
        start = self.mark()
        t0 = time.monotonic()
        for r in reqs:
            if r[0] == "m":
                self.sessions[r[1]]["s"].dht_get_mutable_item(r[2], r[3])
            else:
                self.sessions[r[1]]["s"].dht_get_immutable_item(lt.sha1_hash(bytes.fromhex(r[2])))
        results = [None] * len(reqs)
        secs = [timeout] * len(reqs)
        pending = set(range(len(reqs)))
        end = t0 + timeout
        seen = start
        while pending:
            self.pump()
            while seen < len(self.events):
                ev = self.events[seen]
                seen += 1
                for k in list(pending):
                    r = reqs[k]
                    if ev["idx"] != r[1]:
                        continue
                    if (r[0] == "m" and ev["kind"] == "dht_mutable_item" and ev["key"] == r[2]
                            and ev["salt"] == r[3]):
                        if ev["value"] is not None and (results[k] is None or ev["seq"] >= results[k][1]):
                            results[k] = (ev["value"], ev["seq"])
                        if ev["authoritative"]:
                            pending.discard(k)
                            secs[k] = time.monotonic() - t0
                    elif r[0] == "i" and ev["kind"] == "dht_immutable_item" and ev["target"] == r[2]:
                        results[k] = None if ev["value"] is None else (ev["value"], None)
                        pending.discard(k)
                        secs[k] = time.monotonic() - t0
            if not pending or time.monotonic() >= end:
                break
            time.sleep(0.02)
        return results, secs

    def put_immutable(self, idx, value, timeout):
        start = self.mark()
        target = str(self.sessions[idx]["s"].dht_put_immutable_item(value))
        ev = self.wait_for(lambda e: e["kind"] == "dht_put" and e["idx"] == idx and e["target"] == target,
                           timeout, start)
        expect(ev is not None, "libtorrent session %d: no dht_put_alert within %.0f s" % (idx, timeout))
        expect(ev["num_success"] >= 1, "libtorrent immutable put reached no node (num_success=0)")
        return target

    def get_immutable(self, idx, target_hex, timeout):
        r = self.parallel_gets([("i", idx, target_hex)], timeout)[0][0]
        return None if r is None else r[0]


def value_text(v):
    """How the CLI prints a value: the string if it is a bencoded string, else the bencoded form."""
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return lt.bencode(v).decode("latin-1")


# ---------------------------------------------------------------------------
# The hub: subnet-dht (CLI) or, in --libtorrent-only mode, a libtorrent session
# ---------------------------------------------------------------------------


class SubnetHub:
    label = "subnet"

    def __init__(self, binary, port, workdir, deadline):
        self.binary, self.port, self.workdir, self.deadline = binary, port, workdir, deadline
        self.proc = None
        self.lines = queue.Queue()
        self.stderr_path = os.path.join(workdir, "subnet-dht-run.stderr")
        self.node_id = None
        self.public_key = None
        self.run_seed = os.urandom(32)

    def identity_file(self, seed, name):
        # Mode 0600: subnet-dht refuses identity files that others can read.
        path = os.path.join(self.workdir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(seed.hex() + "\n")
        return path

    def start(self, timeout):
        ident = self.identity_file(self.run_seed, "run.identity")
        err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [self.binary, "run", "--host", LOOPBACK, "--port", str(self.port), "--identity", ident],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, start_new_session=True)
        err.close()
        threading.Thread(target=self._reader, daemon=True).start()
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise CheckFailed("no `listening` line within %.0f s%s" % (timeout, self.stderr_tail()))
        if line is None:
            raise CheckFailed("subnet-dht run exited (rc=%s) before printing `listening`%s"
                              % (self.proc.poll(), self.stderr_tail()))
        m = re.match(r"^listening (\S+):(\d+) ([0-9a-fA-F]{40}) ([0-9a-fA-F]{64})\s*$", line)
        expect(m, "first stdout line is not `listening HOST:PORT NODE_ID_HEX PUBLIC_KEY_HEX`: %s" % short(line))
        expect(m.group(1) == LOOPBACK and int(m.group(2)) == self.port,
               "listening on %s:%s, asked for %s:%d" % (m.group(1), m.group(2), LOOPBACK, self.port))
        self.node_id, self.public_key = m.group(3).lower(), m.group(4).lower()
        return "node id %s" % self.node_id

    def _reader(self):
        for raw in self.proc.stdout:  # drains stdout so the child never blocks on a full pipe
            self.lines.put(raw.decode("utf-8", "replace").rstrip("\n"))
        self.lines.put(None)

    def stderr_tail(self, n=1500):
        try:
            with open(self.stderr_path, "rb") as f:
                data = f.read()[-n:].decode("utf-8", "replace")
            return "; stderr tail: " + data if data.strip() else ""
        except OSError:
            return ""

    def stop(self, timeout=5.0):
        """SIGTERM, then SIGKILL after timeout. Returns (rc, graceful)."""
        if self.proc is None:
            return None, True
        if self.proc.poll() is not None:
            return self.proc.returncode, False
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout), True
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=5), False

    def cli(self, args, timeout):
        t = self.deadline.bound(timeout)
        try:
            p = subprocess.run([self.binary] + args, stdin=subprocess.DEVNULL, capture_output=True, timeout=t)
        except subprocess.TimeoutExpired:
            raise CheckFailed("`subnet-dht %s` timed out after %.0f s" % (" ".join(args), t))
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")

    def _boot(self):
        return ["--bootstrap", "%s:%d" % (LOOPBACK, self.port)]

    @staticmethod
    def _field(out, name):
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == name and re.fullmatch(r"[0-9a-fA-F]+", parts[1]):
                return parts[1].lower()
        return None

    def put_mutable(self, value, salt, seed):
        ident = self.identity_file(seed, "put-%s.identity" % seed.hex()[:8])
        args = ["put"] + self._boot() + ["--identity", ident] + (["--salt", salt] if salt else []) + [value]
        rc, out, err = self.cli(args, CLI_TIMEOUT)
        expect(rc == 0, "`subnet-dht put` exit %d: %s" % (rc, short(out + err, 400)))
        pk, target = self._field(out, "public_key"), self._field(out, "target")
        expect(pk and len(pk) == 64, "no `public_key HEX` line in put output: %s" % short(out))
        expect(target and len(target) == 40, "no `target HEX` line in put output: %s" % short(out))
        return pk, target

    def get_mutable(self, pub_hex, salt):
        args = ["get"] + self._boot() + ["--key", pub_hex] + (["--salt", salt] if salt else [])
        return self._get(args)

    def put_immutable(self, value):
        rc, out, err = self.cli(["put"] + self._boot() + ["--immutable", value], CLI_TIMEOUT)
        expect(rc == 0, "`subnet-dht put --immutable` exit %d: %s" % (rc, short(out + err, 400)))
        target = self._field(out, "target")
        expect(target and len(target) == 40, "no `target HEX` line in put output: %s" % short(out))
        return target

    def get_immutable(self, target_hex):
        return self._get(["get"] + self._boot() + [target_hex])

    def _get(self, args):
        rc, out, err = self.cli(args, CLI_TIMEOUT)
        if rc == 1:
            return None
        expect(rc == 0, "`subnet-dht %s` exit %d: %s" % (" ".join(args[:1]), rc, short(out + err, 400)))
        return out[:-1] if out.endswith("\n") else out

    def lookup(self, target_hex):
        rc, out, err = self.cli(["lookup"] + self._boot() + [target_hex], CLI_TIMEOUT)
        expect(rc == 0, "`subnet-dht lookup` exit %d: %s" % (rc, short(out + err, 400)))
        return out


class LtHub:
    """A libtorrent session standing in for subnet-dht (--libtorrent-only self-check)."""

    label = "lthub"

    def __init__(self, net, idx, deadline):
        self.net, self.idx, self.deadline = net, idx, deadline
        self.port = net.sessions[idx]["port"]
        self.node_id = None

    def start(self, timeout):
        end = time.monotonic() + timeout
        while self.net.node_id(self.idx) is None and time.monotonic() < end:
            time.sleep(0.05)
        nid = self.net.node_id(self.idx)
        expect(nid is not None, "hub session has no DHT node id after %.0f s" % timeout)
        self.node_id = nid.hex()
        return "node id %s" % self.node_id

    def stop(self, timeout=5.0):
        return 0, True

    def put_mutable(self, value, salt, seed):
        pub, sk = ed25519_keypair(seed)
        s = salt.encode() if salt else b""
        self.net.put_mutable(self.idx, sk, pub, value.encode(), s, self.deadline.bound(LT_OP_TIMEOUT))
        return pub.hex(), mutable_target(pub, s)

    def get_mutable(self, pub_hex, salt):
        r = self.net.get_mutable(self.idx, bytes.fromhex(pub_hex), salt.encode() if salt else b"",
                                 self.deadline.bound(LT_OP_TIMEOUT))
        return None if r is None else value_text(r[0])

    def put_immutable(self, value):
        return self.net.put_immutable(self.idx, value.encode(), self.deadline.bound(LT_OP_TIMEOUT))

    def get_immutable(self, target_hex):
        v = self.net.get_immutable(self.idx, target_hex, self.deadline.bound(LT_OP_TIMEOUT))
        return None if v is None else value_text(v)


# ---------------------------------------------------------------------------
# The test
# ---------------------------------------------------------------------------


def self_test_ed25519():
    vec_sk = bytes.fromhex("e06d3183d14159228433ed599221b80bd0a5ce8352e4bdf0262f76786ef1c74d"
                           "b7e7a9fea2c0eb269d61e3b38e450a22e754941ac78479d6c54e1faf6037881d")
    vec_pk = bytes.fromhex("77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548")
    vec_sig = bytes.fromhex("305ac8aeb6c9c151fa120f120ea2cfb923564e11552d06a5d856091e5e853cff"
                            "1260d3f39e4999684aa92eb73ffd136e6f4f3ecbfda0ce53a1608ecd7ae21f01")
    expect(ed25519_public_from_secret64(vec_sk) == vec_pk, "BEP 44 vector: public key from expanded secret")
    expect(ed25519_verify(vec_pk, bep44_signed_buffer(b"", 1, b"12:Hello World!"), vec_sig),
           "BEP 44 vector 1 signature does not verify")
    expect(not ed25519_verify(vec_pk, bep44_signed_buffer(b"", 2, b"12:Hello World!"), vec_sig),
           "a wrong buffer verifies")
    expect(mutable_target(vec_pk, b"foobar") == "411eba73b6f087ca51a3795d9c8c938d365e32c1", "BEP 44 salted target")
    expect(immutable_target(b"Hello World!") == "e5f96f6f38320f0f33959cb4d3d656452117aadb", "BEP 44 immutable target")
    rfc_seed = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    expect(ed25519_keypair(rfc_seed)[0].hex() == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
           "RFC 8032 test 1 public key")


def default_binary():
    env = os.environ.get("SUBNET_DHT_BIN")
    if env:
        return env
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(repo, ".build", "debug", "subnet-dht")


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--subnet-dht", default=None, metavar="PATH",
                    help="subnet-dht binary (default: $SUBNET_DHT_BIN or <repo>/.build/debug/subnet-dht)")
    ap.add_argument("--sessions", type=int, default=4, help="libtorrent sessions besides the hub (>= 2, default 4)")
    ap.add_argument("--libtorrent-only", action="store_true",
                    help="self-check: a libtorrent session plays the hub instead of subnet-dht")
    ap.add_argument("--timeout", type=float, default=120.0, help="overall deadline in seconds (default 120)")
    ap.add_argument("--verbose", action="store_true", help="dump DHT packets exchanged with the hub on stderr")
    args = ap.parse_args()
    if args.sessions < 2:
        ap.error("--sessions must be at least 2")
    return args


class Watchdog(Exception):
    pass


class Interrupted(BaseException):
    """SIGINT/SIGTERM: stop, clean up, report what ran."""


class Abort(Exception):
    """A fatal check failed; later checks cannot run."""


def main():
    args = parse_args()
    results = Results()
    deadline = Deadline(args.timeout)

    def on_alarm(signum, frame):
        raise Watchdog("watchdog: run exceeded %.0f s" % (args.timeout + 30))

    def on_signal(signum, frame):
        raise Interrupted(signal.Signals(signum).name)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.alarm(int(args.timeout) + 30)

    mode = "libtorrent-only" if args.libtorrent_only else "subnet-dht"
    binary = None
    if not args.libtorrent_only:
        binary = args.subnet_dht or default_binary()
        if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
            results.fail("subnet-dht-binary", "not found or not executable: %s" % binary)
            print("%d passed, %d failed" % (results.passed, results.failed))
            return 1
    print("# mode %s, libtorrent %s, %d sessions%s" % (mode, lt.__version__, args.sessions,
                                                       (", binary " + binary) if binary else ""), flush=True)

    results.run("ed25519-vectors", self_test_ed25519)

    used_ports = set()
    workdir = tempfile.mkdtemp(prefix="lt-interop-")
    net = None
    hub = None
    stop_note = None
    try:
        # -- the hub --
        if args.libtorrent_only:
            net = LtNet(args.sessions + 1, used_ports, args.verbose)
            net._hub_index = 0
            lt_idx = list(range(1, args.sessions + 1))
            hub = LtHub(net, 0, deadline)
        else:
            hub = SubnetHub(binary, free_port(used_ports), workdir, deadline)
            net = LtNet(args.sessions, used_ports, args.verbose)
            net._hub_index = None
            lt_idx = list(range(args.sessions))
        H = hub.label
        net.hub_port = hub.port
        lt_ports = {net.sessions[i]["port"]: i for i in lt_idx}

        if not results.run("%s-start" % H, hub.start, deadline.bound(15)):
            raise Abort()
        if isinstance(hub, SubnetHub):
            def check_identity():
                want = ed25519_keypair(hub.run_seed)[0].hex()
                expect(hub.public_key == want, "listening public key %s, identity seed gives %s"
                       % (hub.public_key, want))
            results.run("subnet-run-public-key-matches-identity", check_identity)

        # -- sessions listen and join through the hub only --
        def sessions_listening():
            end = time.monotonic() + deadline.bound(LT_OP_TIMEOUT)
            missing = lt_idx
            while time.monotonic() < end:
                net.pump()
                missing = [i for i in lt_idx if not (net.sessions[i]["s"].is_dht_running()
                                                     and net.node_id(i) is not None)]
                if not missing:
                    break
                time.sleep(0.05)
            expect(not missing, "DHT not running / no node id on sessions %s" % missing)
            bad = [(i, net.sessions[i]["s"].listen_port()) for i in lt_idx
                   if net.sessions[i]["s"].listen_port() != net.sessions[i]["port"]]
            expect(not bad, "sessions not listening on their port: %s" % bad)
            return "ports %s" % sorted(lt_ports)
        if not results.run("lt-sessions-listening", sessions_listening):
            raise Abort()

        for i in lt_idx:
            net.sessions[i]["s"].add_dht_node((LOOPBACK, hub.port))

        def sessions_reach_hub():
            end = time.monotonic() + deadline.bound(20)
            tables = {}
            while time.monotonic() < end:
                tables = net.live_nodes(lt_idx, timeout=min(2.0, max(0.1, end - time.monotonic())))
                if all(any(ep[1] == hub.port for _, ep in tables.get(i, [])) for i in lt_idx):
                    break
                time.sleep(0.2)
            lacking = [i for i in lt_idx if not any(ep[1] == hub.port for _, ep in tables.get(i, []))]
            expect(not lacking, "sessions %s do not have the hub in their routing table after 20 s" % lacking)
            wrong = [(i, nid) for i in lt_idx for nid, ep in tables[i]
                     if ep[1] == hub.port and nid != hub.node_id]
            expect(not wrong, "libtorrent sees the hub with node id %s, hub says %s" % (wrong[:1], hub.node_id))
        results.run("lt-sessions-reach-%s" % H, sessions_reach_hub)

        # -- lookups until the sessions know each other (they were told only about the hub) --
        tables = {}
        end = time.monotonic() + deadline.bound(20)
        rounds = 0
        while time.monotonic() < end and rounds < 20:
            rounds += 1
            for i in lt_idx:
                net.sessions[i]["s"].dht_get_peers(lt.sha1_hash(os.urandom(20)))
            net.wait_for(lambda e: False, 0.3)
            tables = net.live_nodes(lt_idx)
            if all(any(ep[1] in lt_ports and ep[1] != net.sessions[i]["port"] for _, ep in tables.get(i, []))
                   for i in lt_idx):
                break
        for i in lt_idx:
            def found_peer(i=i):
                peers = sorted(ep[1] for _, ep in tables.get(i, [])
                               if ep[1] in lt_ports and ep[1] != net.sessions[i]["port"])
                expect(peers, "routing table after %d lookup rounds holds no other libtorrent session: %s"
                       % (rounds, sorted(ep[1] for _, ep in tables.get(i, []))))
                return "knows %s after %d rounds" % (peers, rounds)
            results.run("lt%d-found-peers-via-%s" % (i, H), found_peer)

        # -- BEP 5: announce (via a torrent, see header) and get_peers --
        announcer, seeker = lt_idx[0], lt_idx[1]
        info_hash = os.urandom(20)
        ann = {}

        def bep5_announce():
            start = net.mark()
            atp = lt.add_torrent_params()
            atp.info_hash = lt.sha1_hash(info_hash)
            atp.save_path = os.path.join(workdir, "torrent")
            ann["handle"] = net.sessions[announcer]["s"].add_torrent(atp)
            end = time.monotonic() + deadline.bound(15)
            while time.monotonic() < end:
                net.pump()
                sent = [m for _, d, m in list(net.hub_packets)
                        if d == "lt%d->hub" % announcer and isinstance(m, dict) and m.get(b"q") == b"announce_peer"
                        and (m.get(b"a") or {}).get(b"info_hash") == info_hash]
                tids = {m.get(b"t") for m in sent}
                answers = [m for _, d, m in list(net.hub_packets)
                           if d == "hub->lt%d" % announcer and isinstance(m, dict) and m.get(b"t") in tids]
                if any(m.get(b"y") == b"r" for m in answers):
                    return "announce_peer answered by hub"
                if any(m.get(b"y") == b"e" for m in answers):
                    raise CheckFailed("hub answered announce_peer with error %s" % short(answers[-1].get(b"e")))
                time.sleep(0.05)
            raise CheckFailed("libtorrent sent %d announce_peer to the hub, none answered in time" % len(sent)
                              if sent else "libtorrent sent no announce_peer to the hub within 15 s")
        announced = results.run("bep5-lt-announce-to-%s" % H, bep5_announce)

        def bep5_hub_returns_peer():
            expect(announced, "announce step failed")
            r = krpc_query(hub.port, b"get_peers", {b"info_hash": info_hash}, timeout=deadline.bound(2))
            values = r.get(b"values") or []
            want = socket.inet_aton(LOOPBACK) + net.sessions[announcer]["port"].to_bytes(2, "big")
            expect(isinstance(values, list) and want in values,
                   "raw get_peers to hub: values %s lack 127.0.0.1:%d (keys %s)"
                   % (short(values), net.sessions[announcer]["port"], sorted(r)))
            return "values %d" % len(values)
        results.run("bep5-%s-returns-announced-peer" % H, bep5_hub_returns_peer)

        def bep5_lt_finds_peer():
            start = net.mark()
            net.sessions[seeker]["s"].dht_get_peers(lt.sha1_hash(info_hash))
            want = (LOOPBACK, net.sessions[announcer]["port"])
            ev = net.wait_for(lambda e: e["kind"] == "dht_get_peers_reply" and e["idx"] == seeker
                              and e["info_hash"] == info_hash.hex() and want in e["peers"],
                              deadline.bound(LT_OP_TIMEOUT), start)
            expect(ev is not None, "libtorrent get_peers found no %s:%d" % want)
        results.run("bep5-lt-get-peers-finds-announcer", bep5_lt_finds_peer)
        if "handle" in ann:
            net.sessions[announcer]["s"].remove_torrent(ann["handle"])

        # -- BEP 44, libtorrent -> hub. All libtorrent puts come first: each short-lived
        # `subnet-dht put` client later leaves a dead node in libtorrent's tables (see header),
        # and a libtorrent traversal that meets one waits out a 15 s RPC timeout.
        tag = os.urandom(3).hex()
        putter = lt_idx[0]

        def attempt(fn):
            try:
                return fn(), None
            except CheckFailed as e:
                return None, str(e)
            except Exception as e:
                return None, "%s: %s" % (type(e).__name__, e)

        lt_items = {}
        for name, salt in (("plain", ""), ("salt", "salt-" + tag), ("update", "")):
            pub, sk = ed25519_keypair(os.urandom(32))
            value = "lt-put-%s-%s" % (name, tag)
            ev, err = attempt(lambda: net.put_mutable(putter, sk, pub, value.encode(), salt.encode(),
                                                      deadline.bound(LT_OP_TIMEOUT)))
            item = {"pub": pub, "salt": salt, "value": value, "seq": ev and ev["seq"], "err": err,
                    "n": ev and ev["num_success"]}
            if name == "update" and not err:
                value2 = "lt-put-update2-%s" % tag
                ev2, err2 = attempt(lambda: net.put_mutable(putter, sk, pub, value2.encode(), b"",
                                                            deadline.bound(LT_OP_TIMEOUT)))
                item.update(value=value2, first_seq=item["seq"], seq=ev2 and ev2["seq"], err=err2)
            lt_items[name] = item
        imm_value = "lt-immutable-%s" % tag
        imm_target, imm_err = attempt(lambda: net.put_immutable(lt_idx[2 % len(lt_idx)], imm_value.encode(),
                                                                deadline.bound(LT_OP_TIMEOUT)))

        def raw_check_mutable(pub, salt, value, seq):
            r = krpc_query(hub.port, b"get", {b"target": bytes.fromhex(mutable_target(pub, salt))},
                           timeout=deadline.bound(2))
            expect(b"v" in r, "raw get to hub: no `v` in response (keys %s)" % sorted(r))
            expect(r.get(b"k") == pub, "raw get: k %s != %s" % (short(r.get(b"k")), pub.hex()))
            expect(r.get(b"seq") == seq, "raw get: seq %s, expected %d" % (r.get(b"seq"), seq))
            v = lt.bencode(r[b"v"])
            expect(v == bstr(value), "raw get: v %s, expected %s" % (short(v), short(bstr(value))))
            expect(ed25519_verify(pub, bep44_signed_buffer(salt, seq, v), r.get(b"sig") or b""),
                   "raw get: signature does not verify")
            expect(isinstance(r.get(b"token"), bytes) and r.get(b"token"), "raw get: no token")
            return "hub stores seq %d, signature verifies" % seq

        def lt_to_hub(item, want_seq):
            expect(item["err"] is None, "libtorrent put: %s" % item["err"])
            if want_seq == 2:
                expect(item["first_seq"] == 1, "first libtorrent put had seq %s, expected 1" % item["first_seq"])
            expect(item["seq"] == want_seq, "libtorrent put seq %s, expected %d%s" % (
                item["seq"], want_seq, " (the network must have returned seq 1)" if want_seq == 2 else ""))
            t = time.monotonic()
            got = hub.get_mutable(item["pub"].hex(), item["salt"])
            expect(got is not None, "%s get --key %s%s found nothing"
                   % (H, item["pub"].hex(), " --salt " + item["salt"] if item["salt"] else ""))
            expect(got == item["value"], "%s get returned %s, expected %s" % (H, short(got), short(item["value"])))
            return "%s get %.1f s" % (H, time.monotonic() - t)

        def hub_stores(item, want_seq):
            expect(item["err"] is None, "libtorrent put failed")
            return raw_check_mutable(item["pub"], item["salt"].encode(), item["value"].encode(), want_seq)

        for name, sfx, want_seq in (("plain", "", 1), ("salt", "-salt", 1), ("update", "-update", 2)):
            results.run("bep44-mutable%s-lt-to-%s" % (sfx, H), lt_to_hub, lt_items[name], want_seq)
            results.run("bep44-mutable%s-%s-stores-lt-item" % (sfx, H), hub_stores, lt_items[name], want_seq)

        def imm_lt_to_hub():
            expect(imm_err is None, "libtorrent immutable put: %s" % imm_err)
            expect(imm_target == immutable_target(imm_value.encode()),
                   "libtorrent target %s != sha1(bencoded value)" % imm_target)
            got = hub.get_immutable(imm_target)
            expect(got is not None, "%s get %s found nothing" % (H, imm_target))
            expect(got == imm_value, "%s get returned %s, expected %s" % (H, short(got), short(imm_value)))
        results.run("bep44-immutable-lt-to-%s" % H, imm_lt_to_hub)

        def imm_hub_stores():
            expect(imm_err is None, "libtorrent put failed")
            r = krpc_query(hub.port, b"get", {b"target": bytes.fromhex(imm_target)}, timeout=deadline.bound(2))
            expect(b"v" in r, "raw get to hub: no `v` (keys %s)" % sorted(r))
            v = lt.bencode(r[b"v"])
            expect(hashlib.sha1(v).hexdigest() == imm_target, "raw get: sha1(v) != target; v=%s" % short(v))
        results.run("bep44-immutable-%s-stores-lt-item" % H, imm_hub_stores)

        # -- BEP 44, hub -> libtorrent: all hub puts, then all libtorrent gets in parallel --
        hub_items = {}
        seed_c, seed_e = os.urandom(32), os.urandom(32)
        for name, salt, seed in (("plain", "", seed_c), ("salt", "hsalt-" + tag, seed_c), ("update", "", seed_e)):
            value = "%s-put-%s-%s" % (H, name, tag)
            res, err = attempt(lambda: hub.put_mutable(value, salt, seed))
            item = {"pub": ed25519_keypair(seed)[0], "salt": salt, "value": value, "res": res, "err": err}
            if name == "update" and not err:
                value2 = "%s-put-update2-%s" % (H, tag)
                res2, err2 = attempt(lambda: hub.put_mutable(value2, salt, seed))
                item.update(value=value2, err=err2, res=res2)
            hub_items[name] = item
        himm_value = "%s-immutable-%s" % (H, tag)
        himm_target, himm_err = attempt(lambda: hub.put_immutable(himm_value))

        reqs, slots = [], {}
        for k, name in enumerate(("plain", "salt", "update")):
            it = hub_items[name]
            if it["err"] is None:
                slots[name] = len(reqs)
                reqs.append(("m", lt_idx[(k + 1) % len(lt_idx)], it["pub"], it["salt"].encode()))
        if himm_err is None:
            slots["imm"] = len(reqs)
            reqs.append(("i", lt_idx[0], himm_target))
        t0 = time.monotonic()
        got_all, got_secs = net.parallel_gets(reqs, deadline.bound(LT_OP_TIMEOUT)) if reqs else ([], [])

        def hub_to_lt(name, want_seq):
            it = hub_items[name]
            expect(it["err"] is None, "%s put: %s" % (H, it["err"]))
            pk, target = it["res"]
            expect(pk == it["pub"].hex(), "put printed public_key %s, identity seed gives %s" % (pk, it["pub"].hex()))
            want_target = mutable_target(it["pub"], it["salt"].encode())
            expect(target == want_target, "put printed target %s, sha1(k+salt) is %s" % (target, want_target))
            r, secs = got_all[slots[name]], got_secs[slots[name]]
            expect(r is not None, "libtorrent dht_get_mutable_item found nothing in %.1f s" % secs)
            expect(r[0] == it["value"].encode(), "libtorrent got %s, expected %s" % (short(r[0]), short(it["value"])))
            expect(r[1] == want_seq, "libtorrent got seq %d, expected %d" % (r[1], want_seq))
            return "libtorrent get %.1f s" % secs

        for name, sfx, want_seq in (("plain", "", 1), ("salt", "-salt", 1), ("update", "-update", 2)):
            results.run("bep44-mutable%s-%s-to-lt" % (sfx, H), hub_to_lt, name, want_seq)

        def imm_hub_to_lt():
            expect(himm_err is None, "%s put --immutable: %s" % (H, himm_err))
            expect(himm_target == immutable_target(himm_value.encode()), "put printed target %s, sha1(bencoded "
                   "string) is %s" % (himm_target, immutable_target(himm_value.encode())))
            r, secs = got_all[slots["imm"]], got_secs[slots["imm"]]
            expect(r is not None, "libtorrent dht_get_immutable_item found nothing in %.1f s" % secs)
            expect(r[0] == himm_value.encode(), "libtorrent got %s, expected %s" % (short(r[0]), short(himm_value)))
            return "libtorrent get %.1f s" % secs
        results.run("bep44-immutable-%s-to-lt" % H, imm_hub_to_lt)

        def hub_get_missing():
            got = hub.get_mutable(ed25519_keypair(os.urandom(32))[0].hex(), "")
            expect(got is None, "get of a key nobody put returned %s" % short(got))
        results.run("bep44-%s-get-missing-finds-nothing" % H, hub_get_missing)

        # -- subnet-dht lookup walks libtorrent nodes --
        if isinstance(hub, SubnetHub):
            def lookup_finds_lt():
                i = lt_idx[-1]
                target = net.node_id(i).hex()
                out = hub.lookup(target)
                expect(target in out.lower() or ":%d" % net.sessions[i]["port"] in out,
                       "lookup of libtorrent node %s (127.0.0.1:%d) does not list it: %s"
                       % (target, net.sessions[i]["port"], short(out, 400)))
            results.run("subnet-lookup-finds-libtorrent-nodes", lookup_finds_lt)
    except Abort:
        pass
    except Watchdog as e:
        results.fail("watchdog", e)
    except Interrupted as e:
        results.fail("interrupted", e)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # let the clean-up finish
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_note = teardown(net, hub)
    if isinstance(hub, SubnetHub) and hub.proc is not None and stop_note is not None:
        rc, graceful = stop_note
        # The README promises exit 0 after a graceful stop: any other status is a failure.
        if graceful and rc == 0:
            results.ok("subnet-run-stops-on-sigterm", "exit status %s" % rc)
        elif graceful:
            results.fail("subnet-run-stops-on-sigterm", "exit status %s after SIGTERM, not 0%s" % (rc, hub.stderr_tail(600)))
        else:
            results.fail("subnet-run-stops-on-sigterm", "exit status %s (had exited early or needed SIGKILL)%s"
                         % (rc, hub.stderr_tail(600)))
    return report(results, net, args)


def teardown(net, hub):
    note = None
    if hub is not None and isinstance(hub, SubnetHub):
        try:
            note = hub.stop()
        except Exception as e:
            print("# stopping subnet-dht: %s" % e, file=sys.stderr)
    if net is not None:
        try:
            net.pump()
        except Exception:
            pass
    return note


def report(results, net, args):
    if net is not None:
        if args.verbose or results.failed:
            pkts = list(net.hub_packets)
            shown = pkts if args.verbose else pkts[-40:]
            if shown and not args.verbose:
                print("# last %d DHT packets between libtorrent and the hub:" % len(shown), file=sys.stderr)
                for _, d, m in shown:
                    print("#   %s %s" % (d, short(m, 400)), file=sys.stderr)
        if args.verbose and net.query_forms:
            print("# message forms seen between libtorrent and the hub (count, keys):", file=sys.stderr)
            for (d, kind), forms in sorted(net.query_forms.items()):
                for form, n in forms.most_common():
                    print("#   %-9s %-22s x%-4d %s" % (d, kind, n, form), file=sys.stderr)
        net.close()
    print("%d passed, %d failed" % (results.passed, results.failed), flush=True)
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
