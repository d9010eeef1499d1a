#!/usr/bin/python3
"""SubnetDHT, libtorrent and OpenDHT side by side: N nodes of each on 127.0.0.1, the same work.

    /usr/bin/python3 Benchmarks/side_by_side.py [--nodes 32] [--puts 200] [--seed 1]
        [--subnet-dht .build/release/subnet-dht] [--only subnet-dht,libtorrent,opendht]
        [--json OUT] [--svg Benchmarks/charts/side_by_side_latency.svg] [--install]

Each implementation runs in a child process of its own, one after the other, so the child's
resident memory is that implementation's: SubnetDHT through `subnet-dht bench-local` (N
`DHTNode`s in one Swift process), libtorrent as N `lt.session`s and OpenDHT as N
`opendht.DhtRunner`s in one Python process each (this file, run with --worker). For each:

1. Bootstrap: node 0 starts; nodes 1..N-1 start one after the other, each bootstrapping from
   node 0 without waiting for the others. Bootstrap time runs from node 0's start until every
   node's routing table holds min(8, N-1) nodes, polled every 50 ms.
2. 2 s of settling, then P pairs one at a time: a put of a ~200-byte value under a fresh key from
   a random node A, then a get of that key from a random node B != A. SubnetDHT and libtorrent
   put BEP 44 mutable items (ed25519-signed, seq chosen by the put's own lookup); OpenDHT puts an
   unsigned `Value` under a random InfoHash (its native operation). A put succeeds when at least
   one node acknowledged it, a get when the value read equals the value put. Latencies count
   every attempt, failed ones up to the time they returned or timed out.
3. Memory: VmRSS of the child before any node started (interpreter or runtime baseline) and after
   the work; per node both as total / N and as (total - baseline) / N. Ratios use the latter.

Loopback only: every socket binds 127.0.0.1, libtorrent has no bootstrap routers, LSD, UPnP
or NAT-PMP, and OpenDHT bootstraps only from node 0. Every wait is bounded (per operation
--op-timeout, per implementation --impl-timeout). Needs python3-libtorrent and python3-opendht
(Debian); run with /usr/bin/python3.
"""

import argparse
import datetime
import hashlib
import importlib.util
import json
import math
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests"))
from pysupport.processes import as_bytes  # noqa: E402

LOOPBACK = "127.0.0.1"
IMPLEMENTATIONS = ("subnet-dht", "libtorrent", "opendht")
LABELS = {"subnet-dht": "SubnetDHT", "libtorrent": "libtorrent", "opendht": "OpenDHT"}
APT_PACKAGES = ("python3-libtorrent", "python3-opendht")
POLL_SECONDS = 0.05  # routing-table poll period, the same for all three (bench-local uses 50 ms too)


# ---------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------

def rss_kib(pid="self"):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def percentile(samples, fraction):
    """Nearest rank, as `subnet-dht bench` computes it."""
    if not samples:
        return None
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(len(ordered) * fraction) - 1))]


def pairs(rng, nodes, count):
    """(writer, reader) indices: the reader is another node whenever there is one."""
    out = []
    for _ in range(count):
        writer = rng.randrange(nodes)
        reader = writer if nodes == 1 else (writer + 1 + rng.randrange(nodes - 1)) % nodes
        out.append((writer, reader))
    return out


def free_port(used):
    """A port free for both UDP and TCP on 127.0.0.1 (libtorrent listens on both)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((LOOPBACK, 0))
            port = udp.getsockname()[1]
            if port in used:
                continue
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                    tcp.bind((LOOPBACK, port))
            except OSError:
                continue
        used.add(port)
        return port
    raise RuntimeError("no free port on 127.0.0.1")


def wait_for_tables(sizes, target, timeout, started):
    """Poll sizes() (one routing-table size per node) until all reach target or timeout.
    Returns (seconds since started or None, smallest table seen at the end)."""
    deadline = time.monotonic() + timeout
    while True:
        smallest = min(sizes())
        now = time.monotonic()
        if smallest >= target:
            return now - started, smallest
        if now >= deadline:
            return None, smallest
        time.sleep(POLL_SECONDS)


def worker_result(name, args, target, bootstrap_s, smallest, put_ms, get_ms, put_acks, put_ok, get_ok,
                  rss_before, extra=None):
    result = {"implementation": name, "nodes": args.nodes, "puts": args.puts, "value_size": args.value_size,
              "bootstrap_target": target, "bootstrap_s": bootstrap_s, "min_table_at_bootstrap": smallest,
              "put_ok": put_ok, "get_ok": get_ok, "put_acks": put_acks,
              "put_ms": [round(x, 3) for x in put_ms], "get_ms": [round(x, 3) for x in get_ms],
              "rss_kib_before": rss_before, "rss_kib_after": rss_kib()}
    result.update(extra or {})
    return result


# ---------------------------------------------------------------------------
# libtorrent worker: N sessions in this process
# ---------------------------------------------------------------------------

def ed25519_keypair(seed):
    """(public 32 bytes, expanded secret 64 bytes) from a 32-byte seed. The 2.0.8 binding has no
    lt.ed25519_create_keypair; dht_put_mutable_item takes the expanded secret (clamped
    SHA-512 of the seed, as orlp/ed25519 stores it) and signs by itself."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    expanded = bytearray(hashlib.sha512(seed).digest())
    expanded[0] &= 248
    expanded[31] &= 63
    expanded[31] |= 64
    return public, bytes(expanded)


LT_QUERY_KINDS = ("ping", "find_node", "get_peers", "announce_peer", "get", "put", "sample_infohashes")


def libtorrent_settings(lt, port, bootstrap):
    category = lt.alert.category_t
    return {
        "listen_interfaces": f"{LOOPBACK}:{port}",
        "enable_dht": True,
        # Node 0 is the only bootstrap router; nothing outside 127.0.0.1 is ever named.
        "dht_bootstrap_nodes": bootstrap,
        # Every node shares 127.0.0.1: without these the table keeps one node per IP.
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "dht_enforce_node_id": False,
        "dht_prefer_verified_node_ids": False,
        "dht_ignore_dark_internet": False,
        # Per-IP limits would count all N nodes as one source (SubnetDHT tells loopback
        # sources apart by port; OpenDHT's limits are lifted below too).
        "dht_block_ratelimit": 100000,
        "dht_upload_rate_limit": 10 ** 8,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_incoming_utp": False,
        "enable_outgoing_utp": False,
        "alert_queue_size": 100000,
        "alert_mask": int(category.dht_notification | category.error_notification),
    }


def alert_value(alert):
    try:
        item = alert.item
    except RuntimeError:  # an empty item ("invalid type requested from entry"): nothing found
        return None
    return item.get("value") if isinstance(item, dict) else item


def wait_alert(session, matches, timeout):
    """The first alert of session for which matches(alert) returns a value other than None;
    (value, seconds waited) or (None, timeout). Other alerts of this session are dropped."""
    started = time.perf_counter()
    deadline = started + timeout
    while True:
        for alert in session.pop_alerts():
            found = matches(alert)
            if found is not None:
                return found, time.perf_counter() - started
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            return None, timeout
        # wait_for_alert wakes as soon as an alert is queued: no polling granularity in the latency.
        session.wait_for_alert(max(1, int(remaining * 1000)))


def run_libtorrent(args):
    import warnings
    warnings.simplefilter("ignore", DeprecationWarning)
    import libtorrent as lt
    rss_before = rss_kib()
    rng = random.Random(args.seed)
    target = min(8, args.nodes - 1)
    used = set()

    started = time.monotonic()
    sessions, ports = [], []
    for index in range(args.nodes):
        port = free_port(used)
        bootstrap = "" if index == 0 else f"{LOOPBACK}:{ports[0]}"
        session = lt.session(libtorrent_settings(lt, port, bootstrap))
        if index:
            # Also as a routing-table entry: libtorrent never keeps a bootstrap router in its table.
            session.add_dht_node((LOOPBACK, ports[0]))
        sessions.append(session)
        ports.append(port)

    def sizes():
        for session in sessions:
            session.post_dht_stats()
        out = [None] * len(sessions)
        for index, session in enumerate(sessions):
            size, _ = wait_alert(session, lambda a: sum(b["num_nodes"] for b in a.routing_table)
                                 if type(a).__name__ == "dht_stats_alert" else None, 2.0)
            out[index] = size or 0
        return out

    # Node 0 is a router for the others and libtorrent keeps routers out of its table, so with
    # N <= 9 at most N - 2 nodes can ever be in node 1..N-1's table.
    table_target = min(target, args.nodes - 2) if args.nodes <= 9 else target
    bootstrap_s, smallest = wait_for_tables(sizes, max(table_target, 0), args.bootstrap_timeout, started)
    time.sleep(args.settle)

    def queries_sent():
        """Queries sent by all sessions (libtorrent's dht.*_out counters; responses not counted)."""
        total = 0
        for session in sessions:
            session.post_session_stats()
            values, _ = wait_alert(session, lambda a: a.values
                                   if type(a).__name__ == "session_stats_alert" else None, 2.0)
            total += sum((values or {}).get(f"dht.dht_{kind}_out", 0) for kind in LT_QUERY_KINDS)
        return total

    queries_before = queries_sent()
    put_ms, get_ms, put_acks, first_value_ms = [], [], [], []
    put_ok = get_ok = 0
    for writer, reader in pairs(rng, args.nodes, args.puts):
        public, secret = ed25519_keypair(bytes(rng.getrandbits(8) for _ in range(32)))
        value = bytes(rng.getrandbits(8) for _ in range(args.value_size))
        for session in sessions:  # untimed: drop what other sessions queued meanwhile
            session.pop_alerts()

        t0 = time.perf_counter()
        sessions[writer].dht_put_mutable_item(secret, public, value, b"")
        acks, _ = wait_alert(sessions[writer], lambda a: a.num_success
                             if type(a).__name__ == "dht_put_alert" and as_bytes(a.public_key) == public else None,
                             args.op_timeout)
        put_ms.append((time.perf_counter() - t0) * 1000)
        put_acks.append(acks or 0)
        put_ok += 1 if acks else 0

        # The get ends with the authoritative alert (end of the traversal), as SubnetDHT's
        # getMutable and OpenDHT's get end with theirs; non-authoritative ones come earlier.
        best = {"value": None, "seq": -1, "first": None}

        def mutable(alert):
            if type(alert).__name__ != "dht_mutable_item_alert" or as_bytes(alert.key) != public:
                return None
            found = alert_value(alert)
            if found is not None and alert.seq >= best["seq"]:
                best["value"], best["seq"] = as_bytes(found), alert.seq
                if best["first"] is None:
                    best["first"] = (time.perf_counter() - t0) * 1000
            return True if alert.authoritative else None

        t0 = time.perf_counter()
        sessions[reader].dht_get_mutable_item(public, b"")
        wait_alert(sessions[reader], mutable, args.op_timeout)
        get_ms.append((time.perf_counter() - t0) * 1000)
        first_value_ms.append(best["first"])
        get_ok += 1 if best["value"] == value else 0

    queries = queries_sent() - queries_before
    extra = {"bootstrap_target_used": table_target, "min_table_after": min(sizes()), "queries_sent": queries,
             "get_first_value_ms": [None if x is None else round(x, 3) for x in first_value_ms],
             "bootstrap_note": "dht_bootstrap_nodes = node 0 (libtorrent's own find-self bootstrap) "
                               "plus add_dht_node(node 0); tables read from dht_stats_alert"}
    return worker_result("libtorrent", args, target, bootstrap_s, smallest, put_ms, get_ms, put_acks,
                         put_ok, get_ok, rss_before, extra)


# ---------------------------------------------------------------------------
# OpenDHT worker: N runners in this process
# ---------------------------------------------------------------------------

def opendht_table_size(runner):
    """Nodes in the IPv4 routing table, from OpenDHT's own dump (one `Node ...` line each);
    the binding exposes no count. Expired entries are not counted."""
    log = runner.getRoutingTablesLog(socket.AF_INET)
    return sum(1 for line in log.splitlines() if line.lstrip().startswith("Node ") and "expired" not in line)


def run_opendht(args):
    import opendht
    rss_before = rss_kib()
    rng = random.Random(args.seed)
    target = min(8, args.nodes - 1)

    started = time.monotonic()
    runners = []
    seed_port = None
    for index in range(args.nodes):
        config = opendht.DhtConfig()
        # All nodes share 127.0.0.1: OpenDHT's per-IP limit (global/8) would count them as one
        # source. OpenDHT's own local-network tests lift both limits the same way.
        config.setRateLimit(-1, -1)
        runner = opendht.DhtRunner()
        # Binds 127.0.0.1 only (no IPv6 socket); no public bootstrap is ever named.
        runner.run(port=0, ipv4=LOOPBACK, config=config)
        if index == 0:
            seed_port = runner.getBound(socket.AF_INET).getPort()
        else:
            runner.bootstrap(LOOPBACK, str(seed_port))
        runners.append(runner)

    bootstrap_s, smallest = wait_for_tables(lambda: [opendht_table_size(r) for r in runners], target,
                                            args.bootstrap_timeout, started)
    time.sleep(args.settle)

    put_ms, get_ms, put_acks = [], [], []
    put_ok = get_ok = 0
    for writer, reader in pairs(rng, args.nodes, args.puts):
        key = opendht.InfoHash.get("%032x" % rng.getrandbits(128))
        data = bytes(rng.getrandbits(8) for _ in range(args.value_size))
        value = opendht.Value(data)

        done = threading.Event()
        outcome = {"ok": False, "acks": 0}

        def put_done(ok, nodes):
            outcome["ok"], outcome["acks"] = bool(ok), len(nodes or [])
            done.set()

        t0 = time.perf_counter()
        runners[writer].put(key, value, done_cb=put_done)
        finished = done.wait(args.op_timeout)
        put_ms.append((time.perf_counter() - t0) * 1000)
        put_acks.append(outcome["acks"] if finished else 0)
        put_ok += 1 if finished and outcome["ok"] else 0

        done = threading.Event()
        found = []

        def got(v):
            found.append(bytes(v.data))
            return True

        def get_done(ok, nodes):
            done.set()

        t0 = time.perf_counter()
        runners[reader].get(key, get_cb=got, done_cb=get_done)
        done.wait(args.op_timeout)
        get_ms.append((time.perf_counter() - t0) * 1000)
        get_ok += 1 if data in found else 0

    extra = {"min_table_after": min(opendht_table_size(r) for r in runners),
             "bootstrap_note": "DhtRunner.bootstrap(127.0.0.1, node 0's port); tables counted in "
                               "getRoutingTablesLog(AF_INET), unconfirmed entries included; acks = nodes "
                               "in the put's done callback"}
    return worker_result("opendht", args, target, bootstrap_s, smallest, put_ms, get_ms, put_acks,
                         put_ok, get_ok, rss_before, extra)


def run_worker(args):
    run = {"libtorrent": run_libtorrent, "opendht": run_opendht}[args.worker]
    result = run(args)
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    # Skip the sessions' and runners' destructors: they join threads and can take seconds;
    # the process ends here and the kernel frees every socket.
    os._exit(0)


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------

def missing_modules(names):
    wanted = {"libtorrent": "libtorrent", "opendht": "opendht"}
    return [name for name in names if name in wanted and importlib.util.find_spec(wanted[name]) is None]


def run_child(name, args):
    """Runs one implementation in its own process; its JSON result or {"error": ...}."""
    if name == "subnet-dht":
        command = [args.subnet_dht, "bench-local", "--nodes", str(args.nodes), "--puts", str(args.puts),
                   "--value-size", str(args.value_size), "--seed", str(args.seed),
                   "--bootstrap-timeout", str(args.bootstrap_timeout), "--settle", str(args.settle), "--json"]
    else:
        command = [sys.executable, os.path.abspath(__file__), "--worker", name] + [
            f"--{key.replace('_', '-')}={getattr(args, key)}"
            for key in ("nodes", "puts", "value_size", "seed", "bootstrap_timeout", "settle", "op_timeout")]
    print(f"== {LABELS[name]}: {' '.join(command)}", file=sys.stderr, flush=True)
    load_before = load_average()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    try:
        out, err = child.communicate(timeout=args.impl_timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate(timeout=10)
        return {"implementation": name, "error": f"timed out after {args.impl_timeout:.0f} s"}
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if child.returncode != 0 or not lines:
        tail = (err or "").strip().splitlines()[-15:]
        return {"implementation": name, "error": f"exit status {child.returncode}", "stderr": tail}
    result = json.loads(lines[-1])
    # Other work on the machine slows all three; the load says how much it did during each run.
    result["load_before"], result["load_after"] = load_before, load_average()
    return result


def load_average():
    with open("/proc/loadavg") as loadavg:
        return float(loadavg.read().split()[0])


def summarize(result):
    """Adds the derived figures the table, the ratios and the chart use."""
    if "error" in result:
        return result
    n = result["nodes"]
    for op in ("put", "get"):
        samples = result[f"{op}_ms"]
        result[f"{op}_p"] = {f"p{p}": percentile(samples, p / 100) for p in (50, 90, 99)}
    result["rss_per_node_total_kib"] = result["rss_kib_after"] / n
    result["rss_per_node_net_kib"] = (result["rss_kib_after"] - result["rss_kib_before"]) / n
    acks = result.get("put_acks") or []
    result["put_acks_mean"] = sum(acks) / len(acks) if acks else 0
    queries = result.get("queries_sent")
    result["queries_per_pair"] = None if queries is None else queries / result["puts"]
    return result


def fmt(value, digits=2):
    return "-" if value is None else f"{value:.{digits}f}"


def print_table(results, args):
    print(f"side by side: {args.nodes} nodes each on 127.0.0.1, {args.puts} put/get pairs of "
          f"{args.value_size}-byte values, seed {args.seed}, {datetime.datetime.now():%Y-%m-%d %H:%M}")
    header = ("implementation", "bootstrap s", "put p50", "put p90", "put p99", "get p50", "get p90", "get p99",
              "put ok", "get ok", "acks/put", "queries/pair", "RSS/node", "(-base)/node", "base", "load")
    rows = []
    for r in results:
        if "error" in r:
            rows.append((LABELS[r["implementation"]], "FAILED: " + r["error"]) + ("",) * (len(header) - 2))
            continue
        boot = fmt(r["bootstrap_s"]) if r["bootstrap_s"] is not None else f"n/r ({r['min_table_at_bootstrap']})"
        rows.append((LABELS[r["implementation"]], boot,
                     *(fmt(r["put_p"][k]) for k in ("p50", "p90", "p99")),
                     *(fmt(r["get_p"][k]) for k in ("p50", "p90", "p99")),
                     f"{r['put_ok']}/{r['puts']}", f"{r['get_ok']}/{r['puts']}", fmt(r["put_acks_mean"], 1),
                     fmt(r["queries_per_pair"], 1),
                     f"{r['rss_per_node_total_kib'] / 1024:.2f} MiB", f"{r['rss_per_node_net_kib'] / 1024:.2f} MiB",
                     f"{r['rss_kib_before'] / 1024:.1f} MiB", f"{r['load_before']:.1f}-{r['load_after']:.1f}"))
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]
    for row in [header] + rows:
        print("  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    print("latencies in ms (nearest-rank percentiles over every attempt); bootstrap: until every routing "
          "table holds min(8, N-1) nodes (n/r: not reached within --bootstrap-timeout, smallest table "
          "in brackets); RSS/node = process VmRSS after the work / N; (-base)/node = (VmRSS after - "
          "VmRSS before any node) / N; base = VmRSS before any node (interpreter or runtime); acks/put = nodes "
          "that acknowledged a put, mean; queries/pair = queries all nodes sent during the work / P (- where "
          "not counted); load = 1-min load average before-after (2 cores)")
    for r in results:
        if "error" not in r and r.get("bootstrap_note"):
            print(f"  {LABELS[r['implementation']]}: {r['bootstrap_note']}")
        if "error" not in r and "timeouts" in r:
            print(f"  {LABELS[r['implementation']]}: during the work {r['timeouts']} request timeouts, "
                  f"{r['rate_limited']} queries rate-limited; find-self lookups all done after "
                  f"{fmt(r.get('bootstrap_lookups_s'), 3)} s")
        if "error" not in r and r.get("bootstrap_target_used", r.get("bootstrap_target")) != r.get("bootstrap_target"):
            print(f"  {LABELS[r['implementation']]}: table target {r['bootstrap_target_used']} "
                  f"(node 0 is a bootstrap router, never in a libtorrent table)")


def ratios(results):
    """SubnetDHT / peer for every figure, and the project's targets."""
    by_name = {r["implementation"]: r for r in results if "error" not in r}
    subnet = by_name.get("subnet-dht")
    out = {}
    if subnet is None:
        return out
    for peer in ("libtorrent", "opendht"):
        other = by_name.get(peer)
        if other is None:
            continue

        def ratio(a, b):
            return None if a is None or not b else a / b

        entry = {"bootstrap": ratio(subnet["bootstrap_s"], other["bootstrap_s"]),
                 "rss_per_node_net": ratio(subnet["rss_per_node_net_kib"], other["rss_per_node_net_kib"])}
        for op in ("put", "get"):
            for p in ("p50", "p90", "p99"):
                entry[f"{op}_{p}"] = ratio(subnet[f"{op}_p"][p], other[f"{op}_p"][p])
        out[peer] = entry
    return out


def targets(ratio_table):
    """The project's goals, each (text, ratio, bound, met)."""
    checks = []
    lt = ratio_table.get("libtorrent", {})
    od = ratio_table.get("opendht", {})
    for text, value, bound in (("get p50 <= libtorrent's", lt.get("get_p50"), 1.0),
                               ("get p50 <= half of OpenDHT's", od.get("get_p50"), 0.5),
                               ("put p50 <= libtorrent's", lt.get("put_p50"), 1.0),
                               ("RSS per node <= OpenDHT's", od.get("rss_per_node_net"), 1.0)):
        if value is not None:
            checks.append({"target": text, "ratio": value, "bound": bound, "met": value <= bound})
    return checks


def median_targets(rounds):
    """Each target judged on the median of its ratio over the rounds that measured it."""
    checks = []
    for first in rounds[0]["targets"]:
        values = [check["ratio"] for r in rounds for check in r["targets"] if check["target"] == first["target"]]
        middle = statistics.median(values)
        checks.append({"target": first["target"], "ratios": values, "ratio": middle, "bound": first["bound"],
                       "met": middle <= first["bound"]})
    return checks


def print_ratios(ratio_table, checks):
    for peer, entry in ratio_table.items():
        parts = [f"{key} {fmt(value, 3)}" for key, value in entry.items()]
        print(f"SubnetDHT / {LABELS[peer]}: " + ", ".join(parts))
    if ratio_table:
        print("(RSS ratio uses (VmRSS after - baseline) / N; below 1 means SubnetDHT is faster or smaller)")
    for check in checks:
        print(f"target {check['target']}: ratio {check['ratio']:.3f} (bound {check['bound']}) "
              f"{'MET' if check['met'] else 'MISSED'}")


# --- SVG chart, written by hand (no matplotlib) ---

COLORS = {"subnet-dht": "#d9480f", "libtorrent": "#1c7ed6", "opendht": "#2b8a3e"}


def svg_chart(results, args):
    ok = [r for r in results if "error" not in r]
    metrics = [(op, p) for op in ("put", "get") for p in ("p50", "p90", "p99")]
    values = [r[f"{op}_p"][p] for r in ok for op, p in metrics if r[f"{op}_p"][p]]
    if not values:
        return None
    low, high = min(values), max(values)
    log = high / max(low, 1e-9) > 30
    width, height = 860, 460
    left, right, top, bottom = 80, 170, 50, 70
    plot_w, plot_h = width - left - right, height - top - bottom

    if log:
        lo_exp = math.floor(math.log10(low))
        hi_exp = math.ceil(math.log10(high))
        if hi_exp == lo_exp:
            hi_exp += 1
        ticks = [10 ** e for e in range(lo_exp, hi_exp + 1)]

        def y_of(v):
            return top + plot_h * (1 - (math.log10(v) - lo_exp) / (hi_exp - lo_exp))
        floor_y = top + plot_h
    else:
        step = nice_step(high / 5)
        top_value = step * math.ceil(high / step)
        ticks = [step * i for i in range(int(round(top_value / step)) + 1)]

        def y_of(v):
            return top + plot_h * (1 - v / top_value)
        floor_y = top + plot_h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{width / 2 - right / 2 + left / 2}" y="24" text-anchor="middle" font-size="15">'
             f'BEP 44 put and get latency, {args.nodes} nodes each on 127.0.0.1, {args.puts} pairs '
             f'({datetime.date.today()})</text>']
    for tick in ticks:
        y = y_of(tick)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick_label(tick)}</text>')
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{floor_y}" stroke="black"/>')
    parts.append(f'<line x1="{left}" y1="{floor_y}" x2="{left + plot_w}" y2="{floor_y}" stroke="black"/>')
    parts.append(f'<text transform="translate(22,{top + plot_h / 2}) rotate(-90)" text-anchor="middle">'
                 f'latency, ms{" (log scale)" if log else ""}</text>')
    parts.append(f'<text x="{left + plot_w / 2}" y="{height - 18}" text-anchor="middle">'
                 f'operation and percentile (nearest rank over {args.puts} operations)</text>')

    group_w = plot_w / len(metrics)
    bar_w = min(28, group_w * 0.8 / max(len(ok), 1))
    for g, (op, p) in enumerate(metrics):
        x0 = left + g * group_w + (group_w - bar_w * len(ok)) / 2
        for b, r in enumerate(ok):
            value = r[f"{op}_p"][p]
            if value is None or value <= 0:
                continue
            y = y_of(value)
            x = x0 + b * bar_w
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" height="{floor_y - y:.1f}" '
                         f'fill="{COLORS[r["implementation"]]}"><title>{LABELS[r["implementation"]]} {op} {p}: '
                         f'{value:.3f} ms</title></rect>')
            parts.append(f'<text x="{x + (bar_w - 2) / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle" '
                         f'font-size="9">{value_label(value)}</text>')
        parts.append(f'<text x="{left + g * group_w + group_w / 2:.1f}" y="{floor_y + 18}" '
                     f'text-anchor="middle">{op} {p}</text>')
    for i, r in enumerate(ok):
        y = top + 10 + i * 22
        x = left + plot_w + 20
        parts.append(f'<rect x="{x}" y="{y - 10}" width="14" height="14" fill="{COLORS[r["implementation"]]}"/>')
        parts.append(f'<text x="{x + 20}" y="{y + 2}">{LABELS[r["implementation"]]}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def nice_step(raw):
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def tick_label(value):
    return f"{value:g}"


def value_label(value):
    return f"{value:.2f}" if value < 10 else f"{value:.0f}"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--nodes", type=int, default=32)
    parser.add_argument("--puts", type=int, default=200)
    parser.add_argument("--value-size", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--subnet-dht", default=None, help="subnet-dht binary (default .build/release/subnet-dht)")
    parser.add_argument("--only", default=",".join(IMPLEMENTATIONS), help="comma-separated subset, run in this order")
    parser.add_argument("--json", default=None, help="write every figure and sample here")
    parser.add_argument("--svg", default=None, help="write the latency chart here")
    parser.add_argument("--install", action="store_true", help="apt-get install missing Python peers")
    parser.add_argument("--bootstrap-timeout", type=float, default=120.0, help="longest wait for the tables, s")
    parser.add_argument("--settle", type=float, default=2.0, help="pause between bootstrap and work, s")
    parser.add_argument("--op-timeout", type=float, default=20.0,
                        help="longest wait for one put or get, s (libtorrent's RPC timeout is 15 s)")
    parser.add_argument("--impl-timeout", type=float, default=1200.0, help="longest run of one implementation, s")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run the implementations this many times, alternating, and judge the targets "
                             "on the median of the rounds' ratios (this machine's speed drifts within minutes)")
    parser.add_argument("--worker", choices=("libtorrent", "opendht"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 1 <= args.nodes <= 256:
        parser.error("--nodes must be 1 to 256")
    if not 1 <= args.puts <= 10000:
        parser.error("--puts must be 1 to 10,000")
    if not 1 <= args.value_size <= 990:
        parser.error("--value-size must be 1 to 990")
    for name in ("bootstrap_timeout", "op_timeout", "impl_timeout"):
        if not 0 < getattr(args, name) <= 86400:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    if not 1 <= args.rounds <= 20:
        parser.error("--rounds must be 1 to 20")
    if not 0 <= args.settle <= 600:
        parser.error("--settle must be 0 to 600")
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in args.only if name not in IMPLEMENTATIONS]
    if unknown:
        parser.error(f"unknown implementation(s) {', '.join(unknown)}; choose from {', '.join(IMPLEMENTATIONS)}")
    return args


def main():
    args = parse_args()
    if args.worker:
        run_worker(args)
        return 0
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if args.subnet_dht is None:
        args.subnet_dht = os.path.join(root, ".build", "release", "subnet-dht")
    if "subnet-dht" in args.only and not os.access(args.subnet_dht, os.X_OK):
        print(f"no subnet-dht binary at {args.subnet_dht}: swift build -c release --product subnet-dht, "
              f"or pass --subnet-dht PATH", file=sys.stderr)
        return 2
    missing = missing_modules(args.only)
    if missing:
        command = ["apt-get", "install", "-y", *APT_PACKAGES]
        if not args.install:
            print(f"missing Python module(s) {', '.join(missing)} for {sys.executable}; install them with:\n"
                  f"    {' '.join(command)}\n(or rerun with --install; run with /usr/bin/python3)", file=sys.stderr)
            return 2
        subprocess.run(command, check=True, timeout=900, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        if missing_modules(args.only):
            print("still missing after apt-get: run with /usr/bin/python3", file=sys.stderr)
            return 2

    rounds = []
    for number in range(1, args.rounds + 1):
        if args.rounds > 1:
            print(f"round {number} of {args.rounds}:", flush=True)
        results = [summarize(run_child(name, args)) for name in args.only]
        table = ratios(results)
        checks = targets(table)
        print_table(results, args)
        print_ratios(table, checks)
        rounds.append({"results": results, "ratios": table, "targets": checks})
    if args.rounds > 1:
        checks = median_targets(rounds)
        print(f"over {args.rounds} rounds (median of the rounds' ratios):")
        for check in checks:
            print(f"target {check['target']}: ratios {', '.join(f'{value:.3f}' for value in check['ratios'])}; "
                  f"median {check['ratio']:.3f} (bound {check['bound']}) {'MET' if check['met'] else 'MISSED'}")

    if args.json:
        with open(args.json, "w") as out:
            json.dump({"nodes": args.nodes, "puts": args.puts, "value_size": args.value_size, "seed": args.seed,
                       "date": datetime.datetime.now().isoformat(timespec="seconds"),
                       "results": results, "ratios": table, "targets": checks,
                       "rounds": rounds if args.rounds > 1 else None}, out, indent=1)
        print(f"wrote {args.json}")
    if args.svg:
        chart = svg_chart(results, args)
        if chart:
            os.makedirs(os.path.dirname(os.path.abspath(args.svg)), exist_ok=True)
            with open(args.svg, "w") as out:
                out.write(chart)
            print(f"wrote {args.svg}")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
