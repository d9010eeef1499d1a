#!/usr/bin/env python3
"""Real `subnet-dht run` processes on 127.0.0.1: heartbeats, SIGKILL and SIGTERM.

Starts 8 peers with a 2 s heartbeat interval and 6 s TTL (prune every 1 s), then checks:
  * `subnet-dht records node --json` shows all 8 peers online;
  * a peer killed with SIGKILL leaves `subnet-dht peers` within TTL + prune interval;
  * a peer stopped with SIGTERM exits 0 and shows `offline` at once under `records --all`.
Loopback only; every wait is bounded. Prints `ok NAME` / `FAIL NAME: reason` and a final
`N passed, M failed` line.

    python3 Tests/Process/subnet_processes.py --subnet-dht .build/debug/subnet-dht
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

INTERVAL, TTL, PRUNE = 2, 6, 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--subnet-dht", default=os.environ.get("SUBNET_DHT_BIN", ".build/debug/subnet-dht"))
    parser.add_argument("--nodes", type=int, default=8)
    args = parser.parse_args()
    binary = os.path.abspath(args.subnet_dht)
    logs = tempfile.mkdtemp(prefix="subnet-processes.")
    results = []
    processes = []

    def check(name, condition, reason=""):
        results.append(condition)
        print(("ok " + name) if condition else ("FAIL %s: %s" % (name, reason)), flush=True)

    def cli(*extra, timeout=30):
        return subprocess.run([binary, *extra], capture_output=True, text=True, timeout=timeout)

    def start(index, bootstrap):
        command = [binary, "run", "--host", "127.0.0.1", "--port", "0", "--name", "proc-%d" % index,
                   "--heartbeat-interval", str(INTERVAL), "--heartbeat-ttl", str(TTL), "--prune-interval", str(PRUNE),
                   "--log-level", "warning"]
        if bootstrap:
            command += ["--bootstrap", bootstrap]
        err = open(os.path.join(logs, "node-%d.err" % index), "w")
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True)
        line = process.stdout.readline().split()
        if len(line) != 4 or line[0] != "listening":
            raise RuntimeError("node %d printed %r" % (index, line))
        return process, line[1], line[3]

    def records(all_records=False, boot=None):
        extra = ["--all"] if all_records else []
        out = cli("records", "node", "--json", "--bootstrap", boot, *extra)
        return json.loads(out.stdout) if out.returncode == 0 else []

    try:
        first, seed, _ = start(0, None)
        processes.append(first)
        peers = [(first, seed)]
        keys = {}
        for index in range(1, args.nodes):
            process, address, key = start(index, seed)
            processes.append(process)
            peers.append((process, address))
            keys[address] = key
        reader = peers[-1][1]

        deadline = time.time() + 30
        online = []
        while time.time() < deadline:
            online = [r for r in records(boot=reader) if r.get("state") == "online"]
            if len(online) == args.nodes:
                break
            time.sleep(0.5)
        check("records-shows-all-online", len(online) == args.nodes,
              "%d of %d online: %s" % (len(online), args.nodes, [r.get("name") for r in online]))
        fields = {"owner", "seq", "exp", "expires_in", "state", "role", "addr", "name", "ver", "tput"}
        check("records-json-fields", bool(online) and all(fields <= set(r) for r in online),
              "fields: %s" % (sorted(online[0]) if online else None))

        # SIGKILL: gone from `peers` within TTL + prune interval (plus a read's worth of slack).
        victim, victim_address = peers[3]
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=5)
        killed_at = time.time()
        gone_after = None
        while time.time() - killed_at < TTL + PRUNE + 5:
            out = cli("peers", "--json", "--bootstrap", reader)
            live = json.loads(out.stdout) if out.returncode == 0 else None
            if live is not None and all(p["addr"] != victim_address for p in live):
                gone_after = time.time() - killed_at
                break
            time.sleep(0.5)
        check("sigkill-leaves-peers", gone_after is not None and gone_after <= TTL + PRUNE + 1,
              "still listed after %.1f s" % (time.time() - killed_at) if gone_after is None else "took %.1f s" % gone_after)

        # SIGTERM: exit 0, and `records --all` shows the peer offline at once.
        leaver, leaver_address = peers[5]
        leaver.send_signal(signal.SIGTERM)
        code = leaver.wait(timeout=15)
        check("sigterm-exits-0", code == 0, "exit status %s" % code)
        listed = [r for r in records(all_records=True, boot=reader) if r.get("addr") == leaver_address]
        check("sigterm-shows-offline", len(listed) == 1 and listed[0]["state"] == "offline", "records --all: %s" % listed)
        hidden = [r for r in records(boot=reader) if r.get("addr") == leaver_address]
        check("offline-hidden-without-all", not hidden, "records without --all: %s" % hidden)
    except Exception as error:  # the summary line must still be printed
        check("harness", False, repr(error))
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
    passed = sum(1 for r in results if r)
    failed = len(results) - passed
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
