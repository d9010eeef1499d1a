#!/usr/bin/env python3
"""Fault suite: real `subnet-dht run` processes on hosts made of Linux network namespaces.

Each host is a namespace <prefix>-h<i> with address 10.77.0.(i+1)/16 on eth0, one end of a veth
whose other end is a port of bridge br0 in the namespace <prefix>-br; nothing is added to the
root namespace, so every packet stays inside these namespaces. Each node binds its host's
address on port 6881 (so the one-node-per-IP rule is on, as on a real subnet), and every
one-shot command (`records`, `peers`, `put`, `get`) runs inside a host namespace against that
host's own node. Heartbeats every 2 s with a 6 s TTL, prune every 1 s. Scenarios:

  * churn: 32 nodes (16 with --quick); SIGKILL a quarter and start as many new hosts; for
    TTL + prune + 4 s, in rounds of about a second, 4 random survivors read `peers` and
    `records node`: the share of reads listing every survivor (fails below 99 %),
    the time until no survivor lists a killed peer (limit TTL + prune + 2 s); as figures, the
    survivors' heartbeat publish times, their CPU use and when the new nodes show up;
  * loss: 8 nodes, 20 % loss and 50 ms delay on every host; 100 operations (50 with --quick)
    by 4 writers at once, each cycling put / get (of the value it just put) / records (all 8
    online): the success rate (fails below 95 %), and how often heartbeats went out;
  * restart: a node with --state-dir and --identity stopped with SIGTERM and started again,
    against a cold start of a fresh node on a new host: time until another host sees it online;
  * partition: 8 nodes split 4 / 4 (half the bridge ports moved to a second bridge) for
    TTL + 4 s: each half must see only itself; then healed: time until both halves see all 8
    (limit 2 x interval + TTL).

Loss and delay use netem where the kernel has it; without it (CONFIG_NET_SCH_NETEM unset) the
same figures come from netfilter on each host's ingress: `-m statistic` drops and NFQUEUE hands
packets to a small delayer (this file run with --delay-queue MS) that accepts them MS later.
Needs root; without namespaces it prints `skip: ...` and exits 0, or, with `CI` set, fails.
Every wait is bounded. Node logs go to a temporary folder printed first, with the seed of the random choices (--seed picks
the same victims and readers again; node ids are new every run).
Prints `ok NAME (figures)` / `FAIL NAME: reason` and a final `N passed, M failed`; exits 1 if
anything failed.

    sudo python3 Tests/Faults/netns_faults.py --subnet-dht .build/debug/subnet-dht [--quick]
"""
import argparse
import atexit
import concurrent.futures
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pysupport.checks import Checks, cannot_run, wait_until  # noqa: E402

INTERVAL, TTL, PRUNE = 2, 6, 1
PORT = 6881
SCENARIOS = ("churn", "loss", "restart", "partition")
STOP = threading.Event()   # set by SIGINT/SIGTERM/SIGHUP: worker threads end after their current command


def delay_queue(delay_ms, queue=0):
    """Holds every packet that netfilter queues to NFQUEUE `queue` of this namespace for
    `delay_ms`, then accepts it: a fixed delay like netem's, for kernels without netem.
    Speaks nfnetlink_queue over a raw netlink socket; standard library only."""
    delay = delay_ms / 1000.0
    packet_msg, verdict_msg, config_msg = 0x300, 0x301, 0x302   # NFNL_SUBSYS_QUEUE << 8 | message

    def attr(kind, payload):
        return struct.pack("=HH", 4 + len(payload), kind) + payload + b"\0" * (-len(payload) % 4)

    def message(kind, flags, *attrs):
        body = struct.pack("=BBH", socket.AF_UNSPEC, 0, socket.htons(queue)) + b"".join(attrs)
        return struct.pack("=IHHII", 16 + len(body), kind, 1 | flags, 0, 0) + body   # NLM_F_REQUEST

    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)   # NETLINK_NETFILTER
    sock.setsockopt(270, 5, 1)                                       # SOL_NETLINK, NETLINK_NO_ENOBUFS
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
    sock.bind((0, 0))
    ack = 4                                                          # NLM_F_ACK: refusals come back
    sock.send(message(config_msg, ack, attr(1, struct.pack("=BxH", 1, 0))))     # CFG_CMD bind
    sock.send(message(config_msg, ack, attr(2, struct.pack(">IB", 0, 1))))      # CFG_PARAMS: metadata
    sock.send(message(config_msg, ack, attr(5, struct.pack(">I", 1)), attr(4, struct.pack(">I", 1))))  # fail open
    held = deque()                                                   # (release time, packet id), FIFO
    while True:
        now = time.monotonic()
        while held and held[0][0] <= now:
            sock.send(message(verdict_msg, 0, attr(2, struct.pack(">II", 1, held.popleft()[1]))))  # NF_ACCEPT
        if not select.select([sock], [], [], max(0.0, held[0][0] - now) if held else None)[0]:
            continue
        data, offset = sock.recv(1 << 16), 0
        while offset + 16 <= len(data):
            length, kind = struct.unpack_from("=IH", data, offset)
            if kind == 2 and struct.unpack_from("=i", data, offset + 16)[0]:   # NLMSG_ERROR, not an ack
                sys.exit("nfqueue refused a configuration message: %s" % os.strerror(-struct.unpack_from("=i", data, offset + 16)[0]))
            if kind == packet_msg:
                at = offset + 20
                while at + 4 <= offset + length:
                    alen, atype = struct.unpack_from("=HH", data, at)
                    if atype & 0x3FFF == 1:                                     # NFQA_PACKET_HDR
                        held.append((time.monotonic() + delay, struct.unpack_from(">I", data, at + 4)[0]))
                    at += (alen + 3) & ~3
            offset += max(16, (length + 3) & ~3)


def run(*command, timeout=20, check=True):
    """Runs an `ip`/`tc`/`iptables` command; raises with its stderr when it fails."""
    done = subprocess.run(list(command), capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(command), done.stderr.strip() or done.returncode))
    return done


class Node:
    def __init__(self, host, process, name, command, out_path, err_path):
        self.host, self.process, self.name, self.command = host, process, name, command
        self.out_path, self.err_path = out_path, err_path
        self.address = "%s:%d" % (host.ip, PORT)

    def stop(self, sig, timeout):
        """Sends `sig` and waits at most `timeout` s; returns the exit status or None."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None


class Host:
    def __init__(self, network, index):
        self.network, self.index = network, index
        self.ns = "%s-h%d" % (network.prefix, index)
        self.ip = "10.77.0.%d" % (index + 1)
        self.port = "h%d" % index           # its veth end on the bridge


class Network:
    """A bridge namespace and host namespaces sharing one unique prefix; `teardown` removes all
    of it and is safe to call twice or on a half-built network."""

    live = []                               # every network not yet torn down, for atexit / signals
    fault_mode = None                       # "netem" or "netfilter", found on first use

    def __init__(self, prefix, binary, logs):
        self.prefix, self.binary, self.logs = prefix, binary, logs
        self.bridge_ns = prefix + "-br"
        self.hosts, self.nodes, self.helpers = [], [], []
        self.torn_down = False
        Network.live.append(self)
        run("ip", "netns", "add", self.bridge_ns)
        for bridge in ("br0", "br1"):       # br1 is the far side of a partition
            run("ip", "-n", self.bridge_ns, "link", "add", bridge, "type", "bridge")
            run("ip", "-n", self.bridge_ns, "link", "set", bridge, "up")

    def add_host(self, index):
        host = Host(self, index)
        run("ip", "netns", "add", host.ns)
        self.hosts.append(host)
        # Both ends are created inside their namespaces: the root namespace never sees them.
        run("ip", "link", "add", "eth0", "netns", host.ns, "type", "veth", "peer", "name", host.port, "netns", self.bridge_ns)
        run("ip", "-n", self.bridge_ns, "link", "set", host.port, "master", "br0")
        run("ip", "-n", self.bridge_ns, "link", "set", host.port, "up")
        run("ip", "-n", host.ns, "link", "set", "lo", "up")
        run("ip", "-n", host.ns, "addr", "add", host.ip + "/16", "dev", "eth0")
        run("ip", "-n", host.ns, "link", "set", "eth0", "up")
        return host

    def add_faults(self, host, loss_percent, delay_ms):
        """netem on the host's eth0 when the kernel has it, else the netfilter equivalent."""
        if Network.fault_mode != "netfilter":
            tried = run("tc", "-n", host.ns, "qdisc", "add", "dev", "eth0", "root", "netem",
                        "loss", "%g%%" % loss_percent, "delay", "%dms" % delay_ms, check=False)
            if tried.returncode == 0:
                Network.fault_mode = "netem"
                return
            if Network.fault_mode == "netem":
                raise RuntimeError("netem failed on %s: %s" % (host.ns, tried.stderr.strip()))
            Network.fault_mode = "netfilter"
            if not shutil.which("iptables"):
                print("note: installing iptables for the netfilter fallback", flush=True)
                run("apt-get", "install", "-y", "-qq", "iptables", timeout=300)
            print("note: netem unavailable (%s); loss and delay via iptables statistic + NFQUEUE on each host's ingress"
                  % tried.stderr.strip(), flush=True)
        # Ingress rather than egress: a packet dropped on OUTPUT makes the sender's sendmsg fail
        # with EPERM, which netem never does. Each packet still crosses one lossy, delayed hop.
        run("ip", "netns", "exec", host.ns, "iptables", "-w", "-A", "INPUT", "-i", "eth0", "-m", "statistic",
            "--mode", "random", "--probability", "%.4f" % (loss_percent / 100.0), "-j", "DROP")
        log = open(os.path.join(self.logs, "%s-delayer.log" % host.ns), "w")
        self.helpers.append(subprocess.Popen(
            ["ip", "netns", "exec", host.ns, sys.executable, os.path.abspath(__file__), "--delay-queue", str(delay_ms)],
            stdout=log, stderr=log, start_new_session=True))
        # --queue-bypass: if the delayer dies, packets pass instead of vanishing.
        run("ip", "netns", "exec", host.ns, "iptables", "-w", "-A", "INPUT", "-i", "eth0",
            "-j", "NFQUEUE", "--queue-num", "0", "--queue-bypass")

    def start_node(self, host, name, bootstrap="10.77.0.1", extra=()):
        command = ["ip", "netns", "exec", host.ns, self.binary, "run", "--host", host.ip, "--port", str(PORT),
                   "--name", name, "--heartbeat-interval", str(INTERVAL), "--heartbeat-ttl", str(TTL),
                   "--prune-interval", str(PRUNE), "--log-level", "info", *extra]
        if bootstrap:
            command += ["--bootstrap", "%s:%d" % (bootstrap, PORT)]
        return self._launch(host, name, command)

    def _launch(self, host, name, command):
        out_path = os.path.join(self.logs, "%s-%s.out" % (self.prefix, name))
        err_path = os.path.join(self.logs, "%s-%s.err" % (self.prefix, name))
        with open(out_path, "w") as out, open(err_path, "a") as err:
            # Own session: a Ctrl-C on the suite reaches the nodes only through teardown.
            process = subprocess.Popen(command, stdout=out, stderr=err, start_new_session=True)
        node = Node(host, process, name, command, out_path, err_path)
        self.nodes.append(node)
        deadline = time.time() + 10                # bounded wait for the `listening` line
        while time.time() < deadline:
            with open(out_path) as handle:
                if handle.readline().startswith("listening "):
                    return node
            if process.poll() is not None:
                break
            time.sleep(0.05)
        with open(err_path) as handle:
            raise RuntimeError("%s printed no listening line (exit %s): %s" % (name, process.poll(), handle.read()[-300:]))

    def restart(self, node):
        """Starts `node`'s command line again on the same host (same identity and state dir)."""
        self.nodes.remove(node)
        return self._launch(node.host, node.name, node.command)

    def cli(self, host, *args, timeout=20):
        """A one-shot command inside `host`, joining through the node of that same host; returns
        (exit status, stdout, stderr), or (None, '', reason) when it timed out."""
        command = ["ip", "netns", "exec", host.ns, self.binary, *args, "--bootstrap", "%s:%d" % (host.ip, PORT)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
            return done.returncode, done.stdout, done.stderr
        except subprocess.TimeoutExpired:
            return None, "", "timed out after %d s" % timeout

    def read(self, host, what):
        """`records node --json` (what="records") or `peers --json`: a list, or None if the read failed."""
        args = ("records", "node", "--json") if what == "records" else ("peers", "--json")
        code, out, _ = self.cli(host, *args)
        if code != 0:
            return None
        try:
            return json.loads(out)
        except ValueError:
            return None

    def online(self, host):
        """Addresses whose heartbeat `host` reads as online, or None if the read failed."""
        listed = self.read(host, "records")
        return None if listed is None else {r.get("addr") for r in listed if r.get("state") == "online"}

    def fetch(self, host, path, metrics_port=9100):
        """GET http://127.0.0.1:PORT/PATH of the node on `host` (it serves loopback only, so from
        inside its namespace); the body, also of an HTTP error, or None."""
        code = ("import sys, urllib.request, urllib.error\ntry:\n"
                "    sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:%d%s', timeout=3).read().decode())\n"
                "except urllib.error.HTTPError as error:\n    sys.stdout.write(error.read().decode())\n" % (metrics_port, path))
        try:
            done = subprocess.run(["ip", "netns", "exec", host.ns, sys.executable, "-c", code], capture_output=True, text=True, timeout=10)
            return done.stdout if done.returncode == 0 else None
        except subprocess.TimeoutExpired:
            return None

    def routing_table_size(self, host):
        try:
            return json.loads(self.fetch(host, "/health") or "").get("routing_table_size")
        except ValueError:
            return None

    def metrics(self, host):
        """Prometheus samples of the node on `host` as {'name{labels}': value}."""
        samples = {}
        for line in (self.fetch(host, "/metrics") or "").splitlines():
            parts = line.rsplit(" ", 1)
            if len(parts) == 2 and not line.startswith("#"):
                try:
                    samples[parts[0]] = float(parts[1])
                except ValueError:
                    pass
        return samples

    def move_ports(self, hosts, bridge):
        for host in hosts:
            run("ip", "-n", self.bridge_ns, "link", "set", host.port, "master", bridge)

    def teardown(self):
        if self.torn_down:
            return
        self.torn_down = True
        # SIGTERM all at once (each publishes OFFLINE while the network still exists), one
        # shared 10 s deadline, then SIGKILL; delayers last, so OFFLINE is still delayed normally.
        for node in self.nodes:
            if node.process.poll() is None:
                node.process.send_signal(signal.SIGTERM)
        deadline = time.time() + 10
        for node in self.nodes:
            try:
                node.process.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait(timeout=5)
        for helper in self.helpers:
            helper.kill()
            helper.wait(timeout=5)
        delete_namespaces(self.prefix + "-")
        if self in Network.live:
            Network.live.remove(self)


def delete_namespaces(prefix):
    listed = run("ip", "netns", "list", check=False).stdout.split("\n")
    for name in (line.split()[0] for line in listed if line.strip()):
        if name.startswith(prefix):
            run("ip", "netns", "delete", name, check=False)


def cpu_seconds(nodes):
    """User + system CPU seconds the nodes' processes have used (`ip netns exec` execs the node,
    so the Popen pid is the node's)."""
    total = 0.0
    for node in nodes:
        try:
            with open("/proc/%d/stat" % node.process.pid) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")   # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total


def teardown_all():
    for network in list(Network.live):
        try:
            network.teardown()
        except Exception as error:          # keep going: the other networks must go too
            print("teardown of %s: %r" % (network.prefix, error), file=sys.stderr, flush=True)


def start_network(name, args, logs, count, faults=None, extra=()):
    """A network of `count` hosts with one node each (host 0 bootstraps the rest), all online
    as read from host 0 within 60 s; returns (network, nodes, seconds until all online)."""
    network = Network("%s-%s" % (args.prefix, name), args.binary, logs)
    hosts = [network.add_host(index) for index in range(count)]
    if faults:
        for host in hosts:
            network.add_faults(host, *faults)
    nodes = [network.start_node(host, "n%d" % host.index, bootstrap=None if host.index == 0 else "10.77.0.1", extra=extra)
             for host in hosts]
    everyone = {node.address for node in nodes}
    _, took = wait_until(60, lambda: everyone <= (network.online(hosts[0]) or set()), pause=0.25)
    missing = ""
    if took is None:
        seen = network.online(hosts[0]) or set()
        missing = "only %d of %d online after 60 s; missing %s" % (len(seen & everyone), count, sorted(everyone - seen))
    return network, nodes, took, missing


def churn(args, logs, check):
    count = 16 if args.quick else 32
    network, nodes, took, missing = start_network("churn", args, logs, count, extra=("--metrics-port", "9100"))
    check("churn-all-online", took is not None, missing, "%d nodes online %.1f s after the last start, limit 60 s" % (count, took or 0))
    if took is None:
        network.teardown()
        return
    # The bootstrap node stays: the new nodes join through it, as they would through a seed.
    victims = random.sample(nodes[1:], count // 4)
    victim_addresses = {node.address for node in victims}
    survivors = [node for node in nodes if node not in victims]
    survivor_addresses = {node.address for node in survivors}
    before = {node.name: network.metrics(node.host) for node in survivors}
    killed_at = time.time()
    for node in victims:
        node.process.kill()
        node.process.wait(timeout=5)
    fresh = [network.start_node(network.add_host(count + i), "n%d" % (count + i), extra=("--metrics-port", "9100"))
             for i in range(len(victims))]
    started_fresh = time.time() - killed_at
    fresh_addresses = {node.address for node in fresh}

    window = TTL + PRUNE + 4
    # Four readers at once, two reading `peers` and two `records node`, each from a random
    # survivor, back to back but at most one read a second each, starts staggered by 0.25 s.
    # Right after the kill a read can take seconds (lookups wait on the dead), so separate
    # pollers keep `peers` reads coming while a `records` read is slow; every read is timed on
    # its own (start and duration, from the kill) and the figures use those times.
    records_reads = []   # (start, duration, every survivor listed?, new nodes listed, survivors missing or None, reader)
    peers_reads = []     # (start, duration, a killed peer still listed?)
    cpu_at_kill = cpu_seconds(survivors)

    def read_peers(node):
        started = time.time()
        live = network.read(node.host, "peers")
        # A failed read cannot show the killed peers gone: it counts as still listing them.
        lingering = live is None or any(peer.get("addr") in victim_addresses for peer in live)
        peers_reads.append((started - killed_at, time.time() - started, lingering))

    def read_records(node):
        started = time.time()
        seen = network.online(node.host)
        records_reads.append((started - killed_at, time.time() - started, seen is not None and survivor_addresses <= seen,
                              len(fresh_addresses & seen) if seen is not None else 0,
                              sorted(a.split(":")[0] for a in survivor_addresses - seen) if seen is not None else None,
                              node.host.ip))

    def poller(read, offset):
        time.sleep(offset)
        for _ in range(window * 2):           # bounded in count and in time
            if time.time() - killed_at > window or STOP.is_set():
                return
            began = time.time()
            read(random.choice(survivors))
            time.sleep(max(0.0, 1.0 - (time.time() - began)))

    pollers = [threading.Thread(target=poller, args=(read, offset)) for read, offset in
               ((read_peers, 0.0), (read_records, 0.25), (read_peers, 0.5), (read_records, 0.75))]
    for thread in pollers:
        thread.start()
    for thread in pollers:
        thread.join(timeout=window + 30)      # a read is bounded by its 20 s timeout
    busy = (cpu_seconds(survivors) - cpu_at_kill) / (time.time() - killed_at)
    records_reads.sort()
    peers_reads.sort()
    durations = [read[1] for read in records_reads + peers_reads]
    latency = "reads took median %.2f s, max %.2f s; the %d survivors kept %.1f of %d CPUs busy" % (
        statistics.median(durations) if durations else 0, max(durations, default=0), len(survivors), busy, os.cpu_count())

    for read in [read for read in records_reads if not read[2]][:6]:   # the first few, as evidence
        print("  records read from %s at %.1f s (took %.1f s): %s" % (read[5], read[0], read[1], "failed" if read[4] is None
              else "missing %d survivors %s" % (len(read[4]), read[4])), flush=True)
    complete = sum(1 for read in records_reads if read[2])
    share = complete / len(records_reads) if records_reads else 0.0
    check("churn-records-complete", share >= 0.99,
          "%d of %d reads (%.1f %%) listed every one of %d survivors, below 99 %%; %s" % (complete, len(records_reads), 100 * share, len(survivors), latency),
          "%d of %d reads (%.1f %%) listed all %d survivors after %d killed and %d started, limit 99 %%; %s"
          % (complete, len(records_reads), 100 * share, len(survivors), len(victims), len(fresh), latency))

    # Gone = the end of the first `peers` read that lists no killed peer and began after every
    # read that still listed one had ended. The end, not the start: a read that waits seconds on
    # dead nodes may only have seen the records expire near its end.
    limit = TTL + PRUNE + 2
    listed_until = max((read[0] + read[1] for read in peers_reads if read[2]), default=None)
    clean = [read[0] + read[1] for read in peers_reads if not read[2] and (listed_until is None or read[0] >= listed_until)]
    gone_after = min(clean) if clean else None
    check("churn-killed-leave-peers", gone_after is not None and gone_after <= limit,
          "a killed peer was listed by a read that ended %.1f s after SIGKILL, and no clean read followed" % listed_until
          if gone_after is None else "gone only %.1f s after SIGKILL, limit %d s" % (gone_after, limit),
          "all %d killed peers gone from every survivor's `peers` by %.1f s after SIGKILL (the end of the first read showing none; the last read listing one ended at %s), limit %d s"
          % (len(victims), gone_after or 0, "%.1f s" % listed_until if listed_until is not None else "none", limit))
    # The heartbeat side: a survivor's record stays listed only if its next heartbeat lands
    # before the last one's TTL runs out, so how long publishing took during the churn matters.
    spent, count_published = 0.0, 0
    for node in survivors:
        after_window = network.metrics(node.host)
        spent += after_window.get("subnet_dht_heartbeat_publish_seconds_sum", 0) - before[node.name].get("subnet_dht_heartbeat_publish_seconds_sum", 0)
        count_published += after_window.get("subnet_dht_heartbeat_publish_seconds_count", 0) - before[node.name].get("subnet_dht_heartbeat_publish_seconds_count", 0)
    if count_published:
        print("  survivors' heartbeats during the window: %d publishes (%.1f per survivor in %d s, interval %d s), mean publish time %.2f s"
              % (count_published, count_published / len(survivors), window, INTERVAL, spent / count_published), flush=True)
    # Not a pass/fail criterion, a figure: how soon the replacements show up in survivors' reads.
    first_all = next((read[0] for read in records_reads if read[3] == len(fresh)), None)
    later = [read for read in records_reads if first_all is not None and read[0] >= first_all]
    print("  new nodes (all %d started %.1f s after the kill): %s" % (len(fresh), started_fresh,
          "no read listed all of them" if first_all is None else "first read listing all at %.1f s; %d of the %d reads from then on listed all"
          % (first_all, sum(1 for read in later if read[3] == len(fresh)), len(later))), flush=True)
    network.teardown()


def loss(args, logs, check):
    operations = 50 if args.quick else 100
    network, nodes, took, missing = start_network("loss", args, logs, 8, faults=(20, 50), extra=("--metrics-port", "9100"))
    check("loss-all-online", took is not None, missing, "8 nodes online %.1f s after the last start with 20 %% loss, 50 ms delay (%s), limit 60 s"
          % (took or 0, Network.fault_mode))
    if took is None:
        network.teardown()
        return
    running_since = time.time() - took
    hosts = [node.host for node in nodes]
    everyone = {node.address for node in nodes}
    # Four writers at once, each its own chain put -> get (of that value) -> records -> put ...
    # under its own key, so that 100 operations of 1-4 s each fit in about a minute.
    chains = 4
    outcomes = {"put": [], "get": [], "records": []}
    failures, latencies = [], []
    deadline = time.time() + 240                 # bounded even if every command hit its timeout

    def chain(number):
        identity = os.path.join(logs, "loss-writer-%d.key" % number)
        # keygen is local (no network): it prints the public key that `get --key` needs.
        public_key = subprocess.run([args.binary, "keygen", "--out", identity, "--force"], capture_output=True,
                                    text=True, timeout=20).stdout.strip()
        last_value = None
        for step in range(operations // chains + (1 if number < operations % chains else 0)):
            if time.time() > deadline or STOP.is_set():
                failures.append("writer %d stopped after %d operations: %s" % (number, step, "interrupted" if STOP.is_set() else "240 s budget spent"))
                return
            kind = ("put", "get", "records")[step % 3]
            host = hosts[(number * 2 + step) % len(hosts)]   # every host reads and writes in turn
            started = time.time()
            if kind == "put":
                last_value = "w%d-%d-%d" % (number, step, random.randrange(1 << 30))
                code, out, err = network.cli(host, "put", "--identity", identity, last_value)
                stored = re.search(r"stored on (\d+) of (\d+)", err)
                ok = code == 0 and stored is not None and int(stored.group(1)) > 0
                detail = "exit %s, %s" % (code, err.strip().replace("\n", "; "))
            elif kind == "get":
                code, out, err = network.cli(host, "get", "--key", public_key)
                ok = code == 0 and out.strip() == last_value
                detail = "exit %s, got %r, wanted %r" % (code, out.strip(), last_value)
            else:
                seen = network.online(host)
                ok = seen is not None and everyone <= seen
                detail = "read failed" if seen is None else "missing %s" % sorted(a.split(":")[0] for a in everyone - seen)
            latencies.append(time.time() - started)   # list.append is atomic: safe across threads
            outcomes[kind].append(ok)
            if not ok:
                failures.append("%s by writer %d from %s: %s" % (kind, number, host.ip, detail))

    with concurrent.futures.ThreadPoolExecutor(max_workers=chains) as pool:
        for job in [pool.submit(chain, number) for number in range(chains)]:
            job.result()
    done = sum(len(v) for v in outcomes.values())
    succeeded = sum(sum(v) for v in outcomes.values())
    rate = succeeded / done if done else 0.0
    per_kind = ", ".join("%s %d/%d" % (kind, sum(v), len(v)) for kind, v in outcomes.items())
    figures = "%d of %d operations succeeded (%.1f %%; %s), limit 95 %%; latency median %.2f s, max %.2f s" % (
        succeeded, done, 100 * rate, per_kind,
        statistics.median(latencies) if latencies else 0, max(latencies, default=0))
    for failure in failures[:6]:                 # the first few, as evidence
        print("  %s" % failure, flush=True)
    # The heartbeat side of the records figure: how often each node really published, and how
    # long a publish took (a heartbeat must land again before the previous one's TTL runs out).
    published, publish_seconds = [], []
    for node in nodes:
        samples = network.metrics(node.host)
        published.append(samples.get('subnet_dht_heartbeat_publishes_total{result="ok"}', 0) +
                         samples.get('subnet_dht_heartbeat_publishes_total{result="failed"}', 0))
        if samples.get("subnet_dht_heartbeat_publish_seconds_count"):
            publish_seconds.append(samples["subnet_dht_heartbeat_publish_seconds_sum"] / samples["subnet_dht_heartbeat_publish_seconds_count"])
    running = time.time() - running_since
    if published and min(published) > 0:
        print("  heartbeats: %d to %d publishes per node in about %.0f s (one per %.1f s on average, interval %d s, TTL %d s); "
              "mean publish time %.2f s" % (min(published), max(published), running, running * len(published) / sum(published),
                                            INTERVAL, TTL, statistics.mean(publish_seconds) if publish_seconds else float("nan")), flush=True)
    check("loss-operations", rate >= 0.95 and done == operations, figures + ", below 95 %" if rate < 0.95 else figures, figures)
    network.teardown()


def restart(args, logs, check):
    state_dir, identity = os.path.join(logs, "restart-state"), os.path.join(logs, "restart.identity")
    network = Network("%s-restart" % args.prefix, args.binary, logs)
    hosts = [network.add_host(index) for index in range(8)]
    nodes = [network.start_node(host, "n%d" % host.index, bootstrap=None if host.index == 0 else "10.77.0.1",
                                extra=("--state-dir", state_dir, "--identity", identity) if host.index == 3 else ())
             for host in hosts]
    everyone = {node.address for node in nodes}
    _, took = wait_until(60, lambda: everyone <= (network.online(hosts[0]) or set()), pause=0.25)
    if took is None:
        raise RuntimeError("not all 8 online within 60 s")
    reader = hosts[0]

    def seen_online(address, since):
        """True once `reader` lists `address` online with a heartbeat published after `since`
        (seq is the publish time in ms), so a stale pre-restart record cannot count."""
        def probe():
            listed = network.read(reader, "records") or []
            return any(r.get("addr") == address and r.get("state") == "online" and r.get("seq", 0) >= since * 1000
                       for r in listed)
        return probe

    warm, cold = [], []
    node = nodes[3]
    for attempt in range(3):
        code = node.stop(signal.SIGTERM, 15)
        if code != 0:
            check("restart-warm", False, "SIGTERM: exit status %s (attempt %d)" % (code, attempt + 1))
            return network.teardown()
        started = time.time()
        node = network.restart(node)
        ok, _ = wait_until(30, seen_online(node.address, started), pause=0.05)
        warm.append(time.time() - started if ok else None)
        # Its OFFLINE record is replaced by the new ONLINE one; let it settle before the next stop.
        time.sleep(1)
    with open(node.err_path) as handle:
        restored = handle.read().count("restored snapshot")
    for attempt in range(3):
        host = network.add_host(8 + attempt)
        started = time.time()
        fresh = network.start_node(host, "cold%d" % attempt)
        ok, _ = wait_until(30, seen_online(fresh.address, started), pause=0.05)
        cold.append(time.time() - started if ok else None)

    def describe(times):
        return ", ".join("%.2f" % t if t is not None else "never" for t in times)

    check("restart-warm", None not in warm and restored >= 3,
          "seen online after: %s s; `restored snapshot` logged %d times" % (describe(warm), restored),
          "stop with SIGTERM, start with --state-dir and --identity: online to host 0 after %s s (median %.2f s), snapshot restored %d times"
          % (describe(warm), statistics.median(warm) if None not in warm else 0, restored))
    check("restart-cold", None not in cold,
          "seen online after: %s s" % describe(cold),
          "fresh host, identity and no state: online to host 0 after %s s (median %.2f s)"
          % (describe(cold), statistics.median(cold) if None not in cold else 0))
    network.teardown()


def partition(args, logs, check):
    network, nodes, took, missing = start_network("partition", args, logs, 8, extra=("--metrics-port", "9100"))
    check("partition-all-online", took is not None, missing, "8 nodes online %.1f s after the last start, limit 60 s" % (took or 0))
    if took is None:
        network.teardown()
        return
    hosts = [node.host for node in nodes]
    halves = (hosts[:4], hosts[4:])
    addresses = ({"%s:%d" % (h.ip, PORT) for h in halves[0]}, {"%s:%d" % (h.ip, PORT) for h in halves[1]})
    everyone = addresses[0] | addresses[1]
    tables_before = [network.routing_table_size(host) for host in hosts]
    network.move_ports(halves[1], "br1")       # hosts 4-7 now share a bridge with no one else
    split_at = time.time()
    time.sleep(TTL + 4)                        # longer than the TTL: the other half's heartbeats expire

    readers = (halves[0][:2], halves[1][:2])   # two hosts on each side
    views = []
    isolated = True
    for side, group in enumerate(readers):
        for host in group:
            live = network.read(host, "peers")
            seen = None if live is None else {peer.get("addr") for peer in live}
            views.append("%s sees %s" % (host.ip, "nothing (read failed)" if seen is None else
                                         "%d (%d own, %d other)" % (len(seen), len(seen & addresses[side]), len(seen - addresses[side]))))
            isolated = isolated and seen == addresses[side]
    tables_split = [network.routing_table_size(host) for host in hosts]
    check("partition-halves-isolated", isolated, "; ".join(views),
          "after %.1f s apart: %s; routing-table sizes %s" % (time.time() - split_at, "; ".join(views), tables_split))

    network.move_ports(halves[1], "br0")
    healed_at = time.time()
    limit = 2 * INTERVAL + TTL
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=4)
    flat = readers[0] + readers[1]

    def merged():
        views = list(pool.map(lambda host: network.online(host) or set(), flat))
        return all(everyone <= seen for seen in views)

    ok, after = wait_until(limit + 10, merged, pause=0.1)   # past the limit, to measure a slow heal
    pool.shutdown()
    final = None
    if not ok:
        final = {host.ip: len(network.online(host) or set()) for host in flat}
    tables = [network.routing_table_size(host) for host in hosts]
    check("partition-heal", ok and after <= limit,
          "not merged %d s after the heal (peers online as seen from %s; routing-table sizes %s, before the split %s)"
          % (limit + 10, final, tables, tables_before) if not ok
          else "merged only %.1f s after the heal, limit %d s" % (after, limit),
          "both halves see all 8 online %.1f s after the heal, limit %d s" % (after or 0, limit))
    network.teardown()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--subnet-dht", default=os.environ.get("SUBNET_DHT_BIN", ".build/debug/subnet-dht"))
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for CI")
    parser.add_argument("--only", choices=SCENARIOS, action="append", help="run only these scenarios")
    parser.add_argument("--seed", type=int, help="seed for the random choices (printed at start)")
    parser.add_argument("--delay-queue", type=int, metavar="MS", help=argparse.SUPPRESS)   # internal: the delayer
    args = parser.parse_args()
    if args.delay_queue is not None:
        delay_queue(args.delay_queue)
        return 0
    args.binary = os.path.abspath(args.subnet_dht)
    args.prefix = "sdht%d" % os.getpid()      # unique: teardown only ever deletes these namespaces
    scenarios = args.only or list(SCENARIOS)

    def skip(reason):
        return cannot_run(reason, checks=len(scenarios))

    if os.geteuid() != 0:
        return skip("network namespaces need root (uid %d)" % os.geteuid())
    if not shutil.which("ip"):
        return skip("the ip command (iproute2) is missing")
    probe = run("ip", "netns", "add", args.prefix + "-probe", check=False)
    if probe.returncode != 0:
        return skip("cannot create network namespaces (%s)" % probe.stderr.strip())
    run("ip", "netns", "delete", args.prefix + "-probe", check=False)
    if not os.access(args.binary, os.X_OK):
        print("FAIL harness: no subnet-dht binary at %s" % args.binary)
        print("0 passed, 1 failed")
        return 1

    logs = tempfile.mkdtemp(prefix="subnet-faults.")
    seed = args.seed if args.seed is not None else random.randrange(1 << 31)
    random.seed(seed)                         # victims, readers, values: --seed makes the same choices again
    print("logs in %s (seed %d)" % (logs, seed), flush=True)
    checks = Checks()
    check = checks.check

    # Teardown on every path: finally below, atexit, and SIGTERM/SIGHUP turned into SystemExit
    # (SIGINT already raises KeyboardInterrupt), so namespaces never outlive the suite.
    atexit.register(teardown_all)
    atexit.register(delete_namespaces, args.prefix + "-")

    def on_signal(number, _frame):
        STOP.set()                            # lets worker threads finish early, so teardown is quick
        raise KeyboardInterrupt if number == signal.SIGINT else SystemExit(128 + number)

    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, on_signal)

    functions = {"churn": churn, "loss": loss, "restart": restart, "partition": partition}
    started = time.time()
    try:
        for name in scenarios:
            try:
                functions[name](args, logs, check)
            except Exception as error:  # one broken scenario must not hide the others' figures
                check(name, False, "harness: %r" % error)
            finally:
                teardown_all()
    except (KeyboardInterrupt, SystemExit) as stop:
        check("interrupted", False, "stopped by %s" % type(stop).__name__)
    finally:
        teardown_all()
        delete_namespaces(args.prefix + "-")
    print("took %.0f s" % (time.time() - started))
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
