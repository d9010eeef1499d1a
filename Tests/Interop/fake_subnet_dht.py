#!/usr/bin/python3
"""A stand-in for the `subnet-dht` command line, built on libtorrent, to check the
subnet-dht code path of libtorrent_interop.py (output parsing, exit codes, SIGTERM)
before the Swift binary exists:

    Tests/Interop/libtorrent_interop.py --subnet-dht Tests/Interop/fake_subnet_dht.py

It follows the CLI contract in the harness's brief: `run` prints
`listening HOST:PORT NODE_ID_HEX PUBLIC_KEY_HEX` and serves until SIGTERM/SIGINT;
`put` prints `public_key HEX` / `target HEX`; `get` prints the value or exits 1;
`lookup` prints the closest nodes. Loopback only; every wait is bounded.
It is a harness self-test, not a reference for SubnetDHT's behaviour.
"""

import argparse
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import libtorrent as lt  # noqa: E402
from libtorrent_interop import (CheckFailed, LtNet, LOOPBACK, LT_OP_TIMEOUT, ed25519_keypair, free_port,  # noqa: E402
                                immutable_target, mutable_target, session_settings, value_text)

MAX_LIFETIME = 600.0  # `run` never outlives this, even if nobody stops it


def read_seed(path):
    if not path:
        return os.urandom(32)
    with open(path) as f:
        return bytes.fromhex(f.read().strip())


def hostport(s):
    host, port = s.rsplit(":", 1)
    if host != LOOPBACK:
        raise SystemExit("fake subnet-dht: loopback only, got %s" % host)
    return host, int(port)


def cmd_run(a):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    ses = lt.session(session_settings(a.port))
    for b in a.bootstrap or []:
        ses.add_dht_node(hostport(b))
    end = time.monotonic() + 10
    nid = None
    while nid is None and time.monotonic() < end:
        st = ses.dht_state()
        ids = st.get(b"node-id") if isinstance(st, dict) else None
        nid = bytes(ids[0])[:20] if ids else None
        time.sleep(0.02)
    if nid is None:
        print("no DHT node id", file=sys.stderr)
        return 2
    print("listening %s:%d %s %s" % (a.host, a.port, nid.hex(), ed25519_keypair(read_seed(a.identity))[0].hex()),
          flush=True)
    end = time.monotonic() + MAX_LIFETIME
    while not stop and time.monotonic() < end:
        ses.pop_alerts()
        time.sleep(0.05)
    return 0


def client(bootstrap):
    net = LtNet(1, set(), False)
    if os.environ.get("FAKE_RO", "1") == "1":
        net.sessions[0]["s"].apply_settings({"dht_read_only": True})
    net.sessions[0]["s"].add_dht_node(hostport(bootstrap))
    port = hostport(bootstrap)[1]
    end = time.monotonic() + 5
    while time.monotonic() < end:
        nodes = net.live_nodes([0], timeout=0.5).get(0, [])
        if any(ep[1] == port for _, ep in nodes):
            break
        time.sleep(0.05)
    for _ in range(2):  # fill the table a little
        net.sessions[0]["s"].dht_get_peers(lt.sha1_hash(os.urandom(20)))
        net.wait_for(lambda e: False, 0.2)
    return net


def cmd_put(a):
    net = client(a.bootstrap[0])
    if a.immutable:
        target = net.put_immutable(0, a.value.encode(), LT_OP_TIMEOUT)
        assert target == immutable_target(a.value.encode())
        print("target %s" % target)
        return 0
    pub, sk = ed25519_keypair(read_seed(a.identity))
    salt = (a.salt or "").encode()
    net.put_mutable(0, sk, pub, a.value.encode(), salt, LT_OP_TIMEOUT)
    print("public_key %s\ntarget %s" % (pub.hex(), mutable_target(pub, salt)))
    return 0


def cmd_get(a):
    net = client(a.bootstrap[0])
    if a.key:
        r = net.get_mutable(0, bytes.fromhex(a.key), (a.salt or "").encode(), LT_OP_TIMEOUT)
        v = None if r is None else r[0]
    else:
        v = net.get_immutable(0, a.target.lower(), LT_OP_TIMEOUT)
    if v is None:
        return 1
    print(value_text(v))
    return 0


def cmd_lookup(a):
    net = client(a.bootstrap[0])
    net.sessions[0]["s"].dht_get_peers(lt.sha1_hash(bytes.fromhex(a.target)))
    net.wait_for(lambda e: False, 0.5)
    nodes = net.live_nodes([0]).get(0, [])
    t = int(a.target, 16)
    for nid, ep in sorted(nodes, key=lambda n: int(n[0], 16) ^ t)[:8]:
        print("%s %s:%d" % (nid, ep[0], ep[1]))
    print("rounds 1")
    return 0


def main():
    ap = argparse.ArgumentParser(description="libtorrent-backed stand-in for subnet-dht")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--host", default=LOOPBACK)
    r.add_argument("--port", type=int, default=0)
    r.add_argument("--bootstrap", action="append")
    r.add_argument("--identity")
    p = sub.add_parser("put")
    p.add_argument("--bootstrap", action="append", required=True)
    p.add_argument("--identity")
    p.add_argument("--salt")
    p.add_argument("--immutable", action="store_true")
    p.add_argument("value")
    g = sub.add_parser("get")
    g.add_argument("--bootstrap", action="append", required=True)
    g.add_argument("--key")
    g.add_argument("--salt")
    g.add_argument("target", nargs="?")
    lk = sub.add_parser("lookup")
    lk.add_argument("--bootstrap", action="append", required=True)
    lk.add_argument("target")
    a = ap.parse_args()
    if a.cmd == "run":
        if a.host != LOOPBACK:
            ap.error("loopback only")
        if a.port == 0:
            a.port = free_port(set())
    try:
        return {"run": cmd_run, "put": cmd_put, "get": cmd_get, "lookup": cmd_lookup}[a.cmd](a)
    except CheckFailed as e:
        print("fake subnet-dht: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
