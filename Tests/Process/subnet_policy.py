#!/usr/bin/env python3
"""`run --policy FILE` and the control API as real processes on 127.0.0.1: a subnet's validator
rules shared by its nodes, and an application steering its node through the HTTP port.

Four peers (2 s heartbeats, 6 s TTL, 1 s prune) share one policy file: roles `validator` and
`miner` only, `info.stake` a number >= 0, writers from a keys file holding all four keys. B runs
with a control token and is driven through the Python client (clients/python). Checks:
  * A's live view (/peers.json) and `peers --json` list the four, with B's `info` {"stake": 5};
  * two nodes without the policy store each other's refused heartbeats: `peers --json` lists
    them, `peers --json --policy FILE` and A's view do not;
  * PUT /self with tput 12.5 on B shows in A's view within two heartbeat intervals;
  * PUT /self with role `admin` answers 422 (code 209) and A still sees B as a miner;
    without the token 401, and nothing changes;
  * a graceful stop of D reaches an open /events stream on A as `left`;
  * a key removed from the writers file (C's) leaves A's view within a prune interval or two
    of the change, and its heartbeats are refused from then on;
  * a writers file that disappears keeps the last good set (B stays in A's view) and is logged;
  * a SIGKILL of B reaches the stream as `expired` within TTL + prune interval.
Loopback only; every wait is bounded. Prints `ok NAME (figures)` / `FAIL NAME: reason` and a
final `N passed, M failed` line; exits 1 if anything failed.

    python3 Tests/Process/subnet_policy.py --subnet-dht .build/debug/subnet-dht
"""
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pysupport.checks import wait_until  # noqa: E402
from pysupport.harness import run_suite  # noqa: E402
from pysupport.localnet import free_tcp_port, http_get, metric  # noqa: E402
from pysupport.processes import start_run  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))
from subnet_dht import Client, Refused, Unauthorized  # noqa: E402

TIMING = (2, 6, 1)   # heartbeat interval, TTL, prune interval (s)


def suite(binary, logs, check, processes):
    def keygen(name):
        path = os.path.join(logs, name + ".key")
        made = subprocess.run([binary, "keygen", "--out", path], capture_output=True, text=True, timeout=30)
        return path, made.stdout.strip()

    identities = {name: keygen(name) for name in ("a", "b", "c", "d")}
    writers = os.path.join(logs, "writers.txt")

    def write_writers(names):
        with open(writers + ".new", "w") as out:
            out.write("# staked keys\n" + "".join(identities[name][1] + "\n" for name in names))
        os.replace(writers + ".new", writers)

    write_writers(["a", "b", "c", "d"])
    policy = os.path.join(logs, "policy.json")
    with open(policy, "w") as out:
        json.dump({"keys": {"node": {"roles": ["validator", "miner"], "info": {"stake": {"type": "number", "min": 0}},
                                     "writers_file": "writers.txt", "max_ttl": 300}}, "open_keys": False}, out)

    def start(index, name, role, stake, bootstrap, extra=()):
        return start_run(binary, logs, index, name, TIMING, bootstrap,
                         ("--policy", policy, "--identity", identities[name][0], "--role", role,
                          "--info", "stake=%s" % stake, *extra), processes)

    a_http, b_http, c_http = free_tcp_port(), free_tcp_port(), free_tcp_port()
    token_file = os.path.join(logs, "control-token")
    _, seed, _ = start(0, "a", "miner", 1, None, ("--http-port", str(a_http)))
    b_process, _, b_key = start(1, "b", "miner", 5, seed, ("--http-port", str(b_http), "--control-token", token_file))
    start(2, "c", "validator", 2, seed, ("--http-port", str(c_http)))
    d_process, _, d_key = start(3, "d", "miner", 3, seed)
    b = Client(b_http, token_file=token_file)
    a = Client(a_http)

    def view():
        try:
            return {row["name"]: row for row in a.peers()}
        except Exception:
            return {}

    listed, took = wait_until(30, lambda: view() if set(view()) == {"a", "b", "c", "d"} else None)
    cli = subprocess.run([binary, "peers", "--json", "--bootstrap", seed], capture_output=True, text=True, timeout=60)
    cli_rows = {row.get("name"): row for row in json.loads(cli.stdout or "[]")} if cli.returncode == 0 else {}
    check("policy-view-lists-writers", listed is not None and listed["b"].get("info") == {"stake": 5}
          and listed["c"].get("role") == "validator" and cli_rows.get("b", {}).get("info") == {"stake": 5},
          "A's view: %s; peers --json: %s %s" % ({name: (row.get("role"), row.get("info")) for name, row in (listed or view()).items()},
                                                  cli.returncode, cli.stderr[-300:]),
          "4 peers after %.1f s; peers --json lists %d" % (took or 0, len(cli_rows)))

    # The application reports its throughput: the other nodes see it within two intervals.
    put_at = time.time()
    row = b.update(tput=12.5)
    seen, took = wait_until(4 * TIMING[0], lambda: True if view().get("b", {}).get("tput") == 12500 else None, pause=0.1)
    check("put-self-tput-reaches-others", row["tput"] == 12500 and seen and took <= 2 * TIMING[0],
          "PUT answered %s; A's row for b %s" % (row, view().get("b")),
          "12.5/s in A's view %.2f s after the PUT (two intervals: %d s)" % (took or -1, 2 * TIMING[0]))

    # A change the policy refuses, and a write without the token: nothing changes.
    try:
        b.update(role="admin")
        refused = None
    except Refused as error:
        refused = error
    try:
        Client(b_http).update(tput=99)
        unauthorized = None
    except Unauthorized as error:
        unauthorized = error
    time.sleep(2 * TIMING[0])
    after = view().get("b", {})
    check("policy-refusal-422-and-token-401", refused is not None and refused.status == 422 and refused.code == 209
          and unauthorized is not None and unauthorized.status == 401
          and after.get("role") == "miner" and after.get("tput") == 12500,
          "refused %r; unauthorized %r; A's row for b %s" % (refused, unauthorized, after),
          "422 code 209: %s" % (refused.message if refused else "-"))

    # E and F run without the policy, as workers: each stores the other's heartbeat, which
    # every node with the policy refuses. A plain read lists them; a reader with the policy
    # does not, nor does A's view. They stop before the checks below, which they would
    # disturb (their stores would take C's refused heartbeats).
    e_process, e_address, _ = start_run(binary, logs, 4, "e", TIMING, seed, ("--role", "worker"), processes)
    f_process, _, _ = start_run(binary, logs, 5, "f", TIMING, e_address, ("--role", "worker"), processes)

    def reader_names(*extra):
        out = subprocess.run([binary, "peers", "--json", "--bootstrap", seed, *extra], capture_output=True, text=True, timeout=60)
        return sorted(row.get("name") for row in json.loads(out.stdout)) if out.returncode == 0 else None

    plain, _ = wait_until(30, lambda: (lambda names: names if names and {"e", "f"} <= set(names) else None)(reader_names()), pause=1)
    with_policy = reader_names("--policy", policy)
    a_view = sorted(view())
    for process in (e_process, f_process):
        process.terminate()
        process.wait(timeout=20)
    check("reader-policy-hides-refused", plain == ["a", "b", "c", "d", "e", "f"] and with_policy == ["a", "b", "c", "d"]
          and a_view == ["a", "b", "c", "d"],
          "peers --json: %s; with --policy: %s; A's view: %s" % (plain, with_policy, a_view))

    # A's event stream: a graceful stop of D arrives as `left`.
    events = []

    def follow():
        try:
            for event in a.events(reconnect=False):
                events.append((time.time(), event))
        except Exception as error:
            events.append((time.time(), repr(error)))

    threading.Thread(target=follow, daemon=True).start()
    wait_until(10, lambda: True if events else None)
    d_process.terminate()

    def event_for(name, key):
        for at, event in events:
            if not isinstance(event, str) and event.name == name and event.data.get("owner") == key:
                return at
        return None

    left_at, _ = wait_until(20, lambda: event_for("left", d_key))
    d_process.wait(timeout=20)
    check("graceful-stop-arrives-as-left", left_at is not None,
          "events: %s" % [(e.name, e.data.get("name") if isinstance(e.data, dict) else None) for _, e in events if not isinstance(e, str)])

    # C's key leaves the writers file: A stops showing it, and stores of C's heartbeat fail.
    def failed_publishes():
        status, body = http_get(c_http, "/metrics")
        return metric(body, "subnet_dht_heartbeat_publishes_total", 'result="failed"') or 0 if status == 200 else 0

    failed_before = failed_publishes()
    write_writers(["a", "b"])
    gone, took = wait_until(10, lambda: True if "c" not in view() and "b" in view() else None)
    refused, _ = wait_until(10, lambda: True if failed_publishes() > failed_before else None)
    # The policy file is re-read every second: gone within that and a prune interval (and the
    # 0.25 s between our looks).
    check("writers-file-change-enforced", gone and refused and took <= 1 + TIMING[2] + 0.5,
          "A's live peers metric %s; A's view %s;" % (metric(http_get(a_http, "/metrics")[1] or "", "subnet_dht_live_peers"), sorted(view()))
          + " A's view %s; C's failed publishes %s -> %s; A's events %s" % (
              sorted(view()), failed_before, failed_publishes(),
              [(e.name, e.id, e.data.get("name") if isinstance(e.data, dict) else len(e.data or [])) for _, e in events if not isinstance(e, str)]),
          "C gone from A's view %.1f s after the file changed" % (took if gone else -1))

    # The writers file disappears: the last good set stays, and the node says so.
    os.remove(writers)
    time.sleep(3 * TIMING[2] + 1)
    still = view()
    with open(os.path.join(logs, "node-0.err")) as log:
        logged = "policy not reloaded" in log.read()
    check("unreadable-writers-keep-last-set", set(still) == {"a", "b"} and logged,
          "A's view %s; logged %s" % (sorted(still), logged))

    # B dies without a word: its heartbeat runs out, and A's stream says `expired`.
    b_process.kill()
    killed_at = time.time()
    expired_at, _ = wait_until(TIMING[1] + TIMING[2] + 10, lambda: event_for("expired", b_key))
    bound = TIMING[1] + TIMING[2]
    check("sigkill-arrives-as-expired", expired_at is not None and expired_at - killed_at <= bound + 1,
          "events: %s" % [(e.name, e.data.get("name") if isinstance(e.data, dict) else None) for _, e in events if not isinstance(e, str)],
          "expired %.1f s after SIGKILL (TTL + prune: %d s)" % ((expired_at or 0) - killed_at, bound))


def main():
    return run_suite("subnet-policy.", suite)


if __name__ == "__main__":
    sys.exit(main())
