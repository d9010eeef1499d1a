#!/usr/bin/env python3
"""Requests and validated stores one SubnetDHT node answers per second, next to this machine's limits.

One `subnet-dht run` (release, one event loop, --rate-limit 0, --open-keys, no heartbeat) on
127.0.0.1 under an open-loop load from a separate process (`throughput/udp_load.c`). For each
kind of request the offered rate is raised by half until more than 1 % go unanswered twice in a
row (or the generator itself cannot send faster), then bisected three times: the figure is the
highest rate answered with under 1 % lost. Measured in the same run:

  * the request-rate limit: a plain C UDP echo server (`throughput/udp_echo.c`, one recvfrom and
    one sendto per datagram) under the same generator and search;
  * the store limit: bare libsodium ed25519 verifies per second (`throughput/verify_rate.c`).

Requests: find_node for random targets, then announce_record (every datagram a new record of a
new owner, signed, with the node's token, so each one is a full validation: decode, token,
expiry, policy, signature, store), then get_records of keys holding thousands of records
(padded queries, full pages). Datagram files come from the `LoadDatagrams` executable.

    python3 Benchmarks/node_throughput.py [--bin Benchmarks/.build/release] [--json OUT]

Needs gcc and libsodium-dev (pkg-config). Loopback only; every step is bounded (at most 2 s of
load and 0.3 s of drain); about 2 minutes in all.
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "Tests"))
from pysupport.bencode import query  # noqa: E402

LOSS_LIMIT = 0.01


def compile_tools(out):
    flags = ["-O2", "-Wall", "-Wextra"]
    sodium = subprocess.run(["pkg-config", "--cflags", "--libs", "libsodium"], capture_output=True, text=True, check=True).stdout.split()
    for name, extra in (("udp_load", []), ("udp_echo", []), ("verify_rate", sodium)):
        subprocess.run(["gcc", *flags, "-o", os.path.join(out, name), os.path.join(HERE, "throughput", name + ".c"), *extra], check=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_node(port, timeout=15):
    """Pings 127.0.0.1:port until it answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        deadline = time.time() + timeout
        while time.time() < deadline:
            sock.sendto(query(b"pp", "ping", id=b"p" * 20), ("127.0.0.1", port))
            try:
                if b"1:y1:r" in sock.recv(2048):
                    return True
            except socket.timeout:
                pass
        return False


class Search:
    """Raises the offered rate by half while under 1 % is lost, then bisects three times."""

    def __init__(self, tools, port, datagrams, seconds, fresh=False, count=0, echo=False):
        self.tools, self.port, self.datagrams, self.seconds, self.echo = tools, port, datagrams, seconds, echo
        self.fresh, self.count, self.used = fresh, count, 0
        self.steps = []

    def step(self, rate):
        command = [os.path.join(self.tools, "udp_load"), str(self.port), self.datagrams, "%d" % rate, str(self.seconds)]
        if self.fresh:
            # Each datagram once: a record sent again is "already stored", not a new store.
            needed = int(rate * self.seconds) + 1
            if self.used + needed > self.count:
                return None
            command += [str(self.used), str(needed)]
            self.used += needed
        done = subprocess.run(command, capture_output=True, text=True, timeout=self.seconds + 10, check=True)
        result = json.loads(done.stdout)
        if done.stderr.strip():
            print("    " + done.stderr.strip(), flush=True)
        # An echo server sends our queries back; a node's own queries (pings) are not answers.
        answered = result["answers"] + result["other"] + (result["queries"] if self.echo else 0)
        result["lost"] = 1 - answered / result["sent"] if result["sent"] else 1
        result["answered_rate"] = answered / self.seconds
        result["generator_kept_up"] = result["sent_rate"] >= 0.97 * rate
        result["ok"] = result["lost"] < LOSS_LIMIT and result["generator_kept_up"]
        self.steps.append(result)
        print("    offered %7d/s  sent %7d/s  answered %7.0f/s  errors %d  lost %5.2f %%%s" % (
            rate, result["sent_rate"], result["answered_rate"], result["errors"], 100 * result["lost"],
            "" if result["generator_kept_up"] else "  (generator could not send faster)"), flush=True)
        return result

    def judged(self, rate):
        """A step, repeated once if it failed: on a shared 2-core machine another process's
        burst can cost one step its 1 %, and one noisy step would end the search early."""
        result = self.step(rate)
        if result is not None and not result["ok"] and result["generator_kept_up"]:
            result = self.step(rate)
        return result

    def run(self, start, ceiling=400_000):
        best, bad, rate = None, None, start
        while rate <= ceiling:
            result = self.judged(rate)
            if result is None:
                break
            if result["ok"]:
                best = result
                rate = int(rate * 1.5)
            else:
                bad = result
                break
        limited_by_generator = bad is not None and not bad["generator_kept_up"]
        if best is not None and bad is not None and not limited_by_generator:
            low, high = best["offered_rate"], bad["offered_rate"]
            for _ in range(3):
                middle = int((low + high) / 2)
                result = self.judged(middle)
                if result is None:
                    break
                if result["ok"]:
                    best, low = result, middle
                else:
                    high = middle
        return {"rate": best["answered_rate"] if best else 0.0, "limited_by_generator": limited_by_generator, "steps": self.steps}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=os.path.join(HERE, ".build", "release"),
                        help="folder with subnet-dht and LoadDatagrams (release builds of this package)")
    parser.add_argument("--records", type=int, default=200_000,
                        help="announce_record datagrams to prepare (new owners); the node holds all of them")
    parser.add_argument("--only", default="echo,find_node,announce_record,get_records",
                        help="comma-separated subset of echo, find_node, announce_record, get_records")
    parser.add_argument("--json", help="write every figure to this file")
    args = parser.parse_args()
    binary, loader = os.path.join(args.bin, "subnet-dht"), os.path.join(args.bin, "LoadDatagrams")
    for path in (binary, loader):
        if not os.access(path, os.X_OK):
            sys.exit("%s missing: cd Benchmarks && swift build -c release --product subnet-dht && swift build -c release --product LoadDatagrams" % path)
    work = tempfile.mkdtemp(prefix="subnet-throughput.")
    node = None
    try:
        compile_tools(work)
        figures = {"date": time.strftime("%Y-%m-%d"), "load_average_before": os.getloadavg()}
        def verify_rate():
            return json.loads(subprocess.run([os.path.join(work, "verify_rate")], capture_output=True,
                                             text=True, check=True, timeout=30).stdout)["verifies_per_second"]

        figures["verify_per_second"] = verify_rate()
        print("bare libsodium verify: %.0f/s" % figures["verify_per_second"], flush=True)

        port = free_port()
        node = subprocess.Popen([binary, "run", "--host", "127.0.0.1", "--port", str(port), "--rate-limit", "0", "--open-keys",
                                 "--no-heartbeat", "--log-level", "warning",
                                 # Room for every record, so that no store is refused as "storage full".
                                 "--max-records", str(args.records + 10_000)], stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "node.log"), "w"))
        if not wait_for_node(port):
            sys.exit("the node did not answer a ping within 15 s (log: %s)" % os.path.join(work, "node.log"))
        subprocess.run([loader, "--node", "127.0.0.1:%d" % port, "--out", work, "--count", str(args.records),
                        "--keys", str((args.records + 9_999) // 10_000)], check=True, timeout=300)

        only = set(args.only.split(","))
        empty = {"rate": float("nan"), "limited_by_generator": False, "steps": []}
        figures.update({name: empty for name in ("echo", "find_node", "announce_record", "get_records")})
        if "echo" in only:
            print("UDP echo (C, one thread), the request-rate limit:", flush=True)
            echo_port = free_port()
            echo = subprocess.Popen([os.path.join(work, "udp_echo"), str(echo_port), "120"], stdout=subprocess.PIPE, text=True)
            echo.stdout.readline()
            figures["echo"] = Search(work, echo_port, os.path.join(work, "find_node.bin"), 2, echo=True).run(20_000)
            echo.kill()
            echo.wait()
        if "find_node" in only:
            print("node, find_node:", flush=True)
            figures["find_node"] = Search(work, port, os.path.join(work, "find_node.bin"), 2).run(10_000)
        if "announce_record" in only:
            print("node, announce_record (new record, new owner, each verified):", flush=True)
            # The verify rate of this machine drifts by a quarter within minutes (a shared host),
            # so it is measured again just before and after the stores, and the highest of the
            # three is the limit: the fraction errs on the low side.
            before = verify_rate()
            figures["announce_record"] = Search(work, port, os.path.join(work, "announce.bin"), 1, fresh=True, count=args.records).run(3_000)
            after = verify_rate()
            figures["verify_per_second_around_stores"] = [before, after]
            figures["verify_per_second"] = max(figures["verify_per_second"], before, after)
            print("    bare verify just before and after the stores: %.0f/s, %.0f/s" % (before, after), flush=True)
        if "get_records" in only:
            # Run after the stores, so that the keys hold thousands of records.
            print("node, get_records (keys of up to 10,000 records, padded queries):", flush=True)
            figures["get_records"] = Search(work, port, os.path.join(work, "get_records.bin"), 2).run(5_000)
        figures["node_rss_kib"] = int(open("/proc/%d/status" % node.pid).read().split("VmRSS:")[1].split()[0])
        figures["load_average_after"] = os.getloadavg()

        echo_rate = figures["echo"]["rate"]
        print()
        print("| request | answered/s with < 1 % lost | limit | fraction | target |")
        print("| --- | --- | --- | --- | --- |")
        for name in ("find_node", "get_records"):
            rate = figures[name]["rate"]
            print("| %s | %.0f | echo %.0f%s | %.0f %% | 50 %% %s |" % (
                name, rate, echo_rate, " (generator-bound)" if figures["echo"]["limited_by_generator"] else "",
                100 * rate / echo_rate, "met" if rate >= 0.5 * echo_rate else "NOT met"))
        stores = figures["announce_record"]["rate"]
        print("| announce_record (stores) | %.0f | verify %.0f | %.0f %% | 80 %% %s |" % (
            stores, figures["verify_per_second"], 100 * stores / figures["verify_per_second"],
            "met" if stores >= 0.8 * figures["verify_per_second"] else "NOT met"))
        print("node RSS after the run: %.1f MiB; load average before %s, after %s" % (
            figures["node_rss_kib"] / 1024, "/".join("%.1f" % v for v in figures["load_average_before"]),
            "/".join("%.1f" % v for v in figures["load_average_after"])))
        if args.json:
            with open(args.json, "w") as out:
                json.dump(figures, out, indent=1)
    finally:
        if node is not None:
            node.terminate()
            try:
                node.wait(timeout=5)
            except subprocess.TimeoutExpired:
                node.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
