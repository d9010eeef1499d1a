#!/usr/bin/env python3
"""`run --policy FILE` as real processes on 127.0.0.1: a subnet's validator rules shared by its nodes.

Three peers (2 s heartbeats, 6 s TTL, 1 s prune) share one policy file: roles `validator` and
`miner` only, `info.stake` a number >= 0, writers from a keys file holding all three keys.
Checks:
  * every peer's live view (A's /peers.json) lists the three, with B's `info` {"stake": 5};
  * a key removed from the writers file leaves A's view within a few prune intervals, and its
    heartbeats are refused from then on;
  * a writers file that disappears keeps the last good set (B stays in A's view) and is logged.
Loopback only; every wait is bounded. Prints `ok NAME (figures)` / `FAIL NAME: reason` and a
final `N passed, M failed` line; exits 1 if anything failed.

    python3 Tests/Process/subnet_policy.py --subnet-dht .build/debug/subnet-dht
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pysupport.checks import Checks, wait_until  # noqa: E402
from pysupport.localnet import free_tcp_port, http_get, metric  # noqa: E402
from pysupport.processes import start_run, stop_all  # noqa: E402

TIMING = (2, 6, 1)   # heartbeat interval, TTL, prune interval (s)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--subnet-dht", default=os.environ.get("SUBNET_DHT_BIN", ".build/debug/subnet-dht"))
    args = parser.parse_args()
    binary = os.path.abspath(args.subnet_dht)
    logs = tempfile.mkdtemp(prefix="subnet-policy.")
    print("logs in %s" % logs, flush=True)
    checks = Checks()
    check = checks.check
    processes = []

    def keygen(name):
        path = os.path.join(logs, name + ".key")
        made = subprocess.run([binary, "keygen", "--out", path], capture_output=True, text=True, timeout=30)
        return path, made.stdout.strip()

    try:
        identities = {name: keygen(name) for name in ("a", "b", "c")}
        writers = os.path.join(logs, "writers.txt")

        def write_writers(names):
            with open(writers + ".new", "w") as out:
                out.write("# staked keys\n" + "".join(identities[name][1] + "\n" for name in names))
            os.replace(writers + ".new", writers)

        write_writers(["a", "b", "c"])
        policy = os.path.join(logs, "policy.json")
        with open(policy, "w") as out:
            json.dump({"keys": {"node": {"roles": ["validator", "miner"], "info": {"stake": {"type": "number", "min": 0}},
                                         "writers_file": "writers.txt", "max_ttl": 300}}, "open_keys": False}, out)

        def start(index, name, role, stake, bootstrap, extra=()):
            return start_run(binary, logs, index, name, TIMING, bootstrap,
                             ("--policy", policy, "--identity", identities[name][0], "--role", role,
                              "--info", "stake=%s" % stake, *extra), processes)

        a_http = free_tcp_port()
        _, seed, _ = start(0, "a", "miner", 1, None, ("--metrics-port", str(a_http)))
        start(1, "b", "miner", 5, seed)
        c_http = free_tcp_port()
        start(2, "c", "validator", 2, seed, ("--metrics-port", str(c_http)))

        def view():
            status, body = http_get(a_http, "/peers.json")
            return {row["name"]: row for row in json.loads(body)} if status == 200 else {}

        listed, took = wait_until(30, lambda: view() if set(view()) == {"a", "b", "c"} else None)
        check("policy-view-lists-writers", listed is not None and listed["b"].get("info") == {"stake": 5}
              and listed["c"].get("role") == "validator",
              "A's view: %s" % {name: (row.get("role"), row.get("info")) for name, row in (listed or view()).items()},
              "3 peers after %.1f s" % (took or 0))

        # C's key leaves the writers file: A stops showing it, and stores of C's heartbeat fail.
        def failed_publishes():
            status, body = http_get(c_http, "/metrics")
            return metric(body, "subnet_dht_heartbeat_publishes_total", 'result="failed"') or 0 if status == 200 else 0

        failed_before = failed_publishes()
        removed_at = time.time()
        write_writers(["a", "b"])
        gone, took = wait_until(10, lambda: True if "c" not in view() and "b" in view() else None)
        refused, _ = wait_until(10, lambda: True if failed_publishes() > failed_before else None)
        check("writers-file-change-enforced", gone and refused,
              "A's view %s; C's failed publishes %s -> %s" % (sorted(view()), failed_before, failed_publishes()),
              "C gone from A's view %.1f s after the file changed" % (time.time() - removed_at if gone else -1))

        # The writers file disappears: the last good set stays, and the node says so.
        os.remove(writers)
        time.sleep(3 * TIMING[2] + 1)
        still = view()
        with open(os.path.join(logs, "node-0.err")) as log:
            logged = "policy not reloaded" in log.read()
        check("unreadable-writers-keep-last-set", set(still) == {"a", "b"} and logged,
              "A's view %s; logged %s" % (sorted(still), logged))
    except Exception as error:  # the summary line must still be printed
        check("harness", False, repr(error))
    finally:
        stop_all(processes)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
