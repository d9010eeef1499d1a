#!/usr/bin/env python3
"""Every operator-facing command and `run` flag of `subnet-dht`, as real processes on 127.0.0.1.

A subnet of 4 plain peers (2 s heartbeats, 6 s TTL) plus peers that each carry flags:
  * F: --node-id, --json-logs, --max-records 2, --rate-limit 5, --metrics-port, --role validator;
  * Q: --no-heartbeat;
  * K: --key jobs (no node accepts that key yet), then O: --key jobs --open-keys;
  * N: --network-id 7, on its own;
  * S: --node-shard-depth 2.
Checks:
  * S's heartbeat is listed by `records node --node-shard-depth 2` alone, and that read lists
    no depth-0 heartbeat;
  * `ping` prints F's chosen id and exits 0; exits 2 where nothing answers and across network ids;
  * Q answers pings and publishes no heartbeat;
  * F logs JSON lines only, stores at most 2 records, answers at most its burst of a ping flood;
  * K's heartbeats under `jobs` are refused everywhere until O runs with --open-keys, then O
    holds them: they show under `records jobs`, never under `records node`;
  * `peers` and `records` print their human tables; `peers --watch` redraws when a peer leaves;
  * `get` exits 1 for nothing found, 2 for no network, 64 for a bad command line; `run` refuses a
    bad flag with 64 before it binds; `keygen` writes a 0600 identity and overwrites only with --force.
Loopback only; every wait is bounded. Prints `ok NAME (figures)` / `FAIL NAME: reason` and a
final `N passed, M failed` line; exits 1 if anything failed.

    python3 Tests/Process/cli_commands.py --subnet-dht .build/debug/subnet-dht
"""
import argparse
import json
import os
import re
import select
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pysupport.bencode import query  # noqa: E402
from pysupport.checks import Checks, wait_until  # noqa: E402
from pysupport.localnet import free_port, free_tcp_port, http_get, metric  # noqa: E402
from pysupport.processes import start_run, stop_all  # noqa: E402

TIMING = (2, 6, 1)   # heartbeat interval, TTL, prune interval (s)
PLAIN_PEERS = 4
F_NODE_ID = "f0" * 20
F_MAX_RECORDS, F_RATE = 2, 5
TABLE_HEADER = ["OWNER", "STATE", "ROLE", "NAME", "ADDRESS", "TPUT", "VERSION", "SEQ", "EXPIRES"]
# With a peer that publishes subnet fields (--info), the table shows them in an INFO column.
INFO_TABLE_HEADER = TABLE_HEADER[:7] + ["INFO"] + TABLE_HEADER[7:]


def ping_flood(address, count, settle=1.0):
    """Sends `count` pings to `address` back to back from one fresh socket (one source) and
    returns how many were answered within `settle` seconds of the last."""
    host, port = address.rsplit(":", 1)
    answered = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for index in range(count):
            sender.sendto(query(b"p%d" % index, "ping", id=os.urandom(20)), (host, int(port)))
        deadline = time.time() + settle
        while time.time() < deadline:
            ready, _, _ = select.select([sender], [], [], max(0, deadline - time.time()))
            if ready:
                # Only answers to our pings: a node may also ping a new source back to learn it.
                answer = sender.recv(2048)
                if b"1:y1:r" in answer and b"1:t" in answer:
                    answered += 1
    return answered


def table(text):
    """A human table's lines split into cells (columns are separated by two or more spaces)."""
    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines() if line.strip()]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--subnet-dht", default=os.environ.get("SUBNET_DHT_BIN", ".build/debug/subnet-dht"))
    args = parser.parse_args()
    binary = os.path.abspath(args.subnet_dht)
    logs = tempfile.mkdtemp(prefix="cli-commands.")
    print("logs in %s" % logs, flush=True)
    checks = Checks()
    check = checks.check
    processes = []

    def cli(*extra, timeout=30):
        return subprocess.run([binary, *extra], capture_output=True, text=True, timeout=timeout)

    def start(index, name, bootstrap, extra=()):
        return start_run(binary, logs, index, name, TIMING, bootstrap, extra, processes)

    def read_json(*command):
        out = cli(*command)
        return json.loads(out.stdout) if out.returncode == 0 else None

    try:
        # A bad flag is refused before anything binds: exit 64 and the reason, no `listening` line.
        refused = cli("run", "--port", "0", "--role", "king", timeout=10)
        check("run-refuses-bad-flag-64", refused.returncode == 64 and "--role must be one of" in refused.stderr
              and "listening" not in refused.stdout, "exit %s, stderr %r" % (refused.returncode, refused.stderr[-300:]))

        # --policy: a mistake in the file stops run before it binds, naming the line and field.
        policy = os.path.join(logs, "policy.json")
        with open(policy, "w") as out:
            out.write('{"keys": {"node": {"roles": ["validator", "miner"],\n  "max_ttl": "long"}}}\n')
        bad_policy = cli("run", "--port", "0", "--policy", policy, timeout=10)
        check("run-refuses-bad-policy", bad_policy.returncode == 64 and "line 2: keys.node.max_ttl: must be a number, not string" in bad_policy.stderr
              and "listening" not in bad_policy.stdout, "exit %s, stderr %r" % (bad_policy.returncode, bad_policy.stderr[-300:]))

        first, seed, _ = start(0, "plain-0", None)
        plain = [(first, seed)]
        for index in range(1, PLAIN_PEERS):
            process, address, _ = start(index, "plain-%d" % index, seed)
            plain.append((process, address))
        f_metrics = free_tcp_port()
        _, f_address, f_key = start(10, "flags", seed, ("--node-id", F_NODE_ID, "--json-logs", "--max-records", str(F_MAX_RECORDS),
                                                        "--rate-limit", str(F_RATE), "--metrics-port", str(f_metrics),
                                                        "--role", "validator", "--info", "stake=5", "--info", "zone=eu"))
        k_metrics = free_tcp_port()
        _, k_address, k_key = start(11, "keyed", seed, ("--key", "jobs", "--metrics-port", str(k_metrics)))
        _, n_address, _ = start(12, "network-7", None, ("--network-id", "7"))
        _, quiet_address, quiet_key = start(14, "quiet", seed, ("--no-heartbeat",))
        _, _, s_key = start(15, "sharded", seed, ("--node-shard-depth", "2"))

        # ping: the id F was given, exit 0; exit 2 where nothing listens and across network ids.
        pong = cli("ping", f_address)
        words = pong.stdout.split()
        check("ping-prints-node-id", pong.returncode == 0 and words[:3] == ["pong", f_address, F_NODE_ID],
              "exit %s, stdout %r, stderr %r" % (pong.returncode, pong.stdout, pong.stderr[-200:]),
              "%s ms" % (words[3] if len(words) > 3 else "?"))
        nobody = "127.0.0.1:%d" % free_port(socket.SOCK_DGRAM)
        began = time.time()
        silent = cli("ping", nobody)
        check("ping-no-answer-exits-2", silent.returncode == 2 and "no answer" in silent.stderr,
              "exit %s, stderr %r" % (silent.returncode, silent.stderr[-200:]), "gave up after %.1f s" % (time.time() - began))
        same_network = cli("ping", "--network-id", "7", n_address)
        other_network = cli("ping", n_address)
        check("network-id-separates", same_network.returncode == 0 and same_network.stdout.startswith("pong ")
              and other_network.returncode == 2,
              "--network-id 7: exit %s %r; network 0: exit %s %r" % (same_network.returncode, same_network.stdout,
                                                                     other_network.returncode, other_network.stdout))

        # All node heartbeats online; K's, under `jobs`, are not among them.
        reader = plain[-1][1]

        def node_view():
            listed = read_json("records", "node", "--json", "--bootstrap", reader) or []
            online = [r for r in listed if r.get("state") == "online"]
            return online if len(online) == PLAIN_PEERS + 1 else None

        online, took = wait_until(30, node_view)
        owners = {r["owner"] for r in online or []}
        check("node-records-online", online is not None and f_key in owners and k_key not in owners and quiet_key not in owners,
              "records node: %s" % [(r.get("name"), r.get("state")) for r in online or []],
              "%d online after %.1f s" % (PLAIN_PEERS + 1, took or 0))

        # --info: F's subnet fields travel in its signed heartbeat to every reader's JSON rows.
        infos = {r["owner"]: r.get("info") for r in online or []}
        check("info-travels", infos.get(f_key) == {"stake": 5, "zone": "eu"}
              and all(info == {} for owner, info in infos.items() if owner != f_key),
              "info by owner: %s" % infos)

        # --node-shard-depth 2: S's heartbeat is stored under the 4 shard targets of `node`, so
        # only a read at the same depth lists it, and that read lists no depth-0 heartbeat.
        def sharded_view():
            listed = read_json("records", "node", "--json", "--node-shard-depth", "2", "--bootstrap", reader) or []
            return listed if s_key in {r.get("owner") for r in listed} else None

        sharded, took = wait_until(30, sharded_view)
        check("node-shard-depth", sharded is not None and {r.get("owner") for r in sharded} == {s_key} and s_key not in owners,
              "records node --node-shard-depth 2: %s; S among depth-0 records: %s" % (
                  [(r.get("name"), r.get("state")) for r in sharded or []], s_key in owners),
              "listed after %.1f s" % (took or 0))

        # --no-heartbeat: the peer serves the DHT but publishes nothing.
        quiet_pong = cli("ping", quiet_address)
        check("no-heartbeat-serves-silently", quiet_pong.returncode == 0 and online is not None and quiet_key not in owners,
              "ping exit %s; listed under node: %s" % (quiet_pong.returncode, quiet_key in owners))

        # --json-logs: every stderr line of F is one JSON object with a level and a message.
        with open(os.path.join(logs, "node-10.err")) as handle:
            lines = [line for line in handle.read().splitlines() if line.strip()]
        parsed = []
        for line in lines:
            try:
                parsed.append(json.loads(line))
            except ValueError:
                parsed.append(None)
        check("json-logs", lines and all(isinstance(p, dict) and {"level", "message", "time"} <= set(p) for p in parsed),
              "lines %r" % lines[:3], "%d JSON log lines, e.g. %r" % (len(lines), lines[0][:120] if lines else ""))

        # --max-records: F is a replica of `node` (every node is, among 7) yet holds at most 2.
        status, body = http_get(f_metrics, "/metrics")
        stored = metric(body, "subnet_dht_records_stored") if status == 200 else None
        check("max-records-bounds-storage", stored is not None and 1 <= stored <= F_MAX_RECORDS,
              "GET /metrics %s: records_stored %s" % (status, stored),
              "stores %s of %d node records" % (stored, PLAIN_PEERS + 1))

        # --rate-limit 5 (burst 10): a flood of 40 pings from one source gets at most the burst and
        # what refills while it lasts; a plain peer (250/s, burst 500) answers all 40.
        limited = ping_flood(f_address, 40)
        unlimited = ping_flood(plain[1][1], 40)
        _, body = http_get(f_metrics, "/metrics")
        dropped = metric(body, "subnet_dht_rate_limited_queries_total") or 0
        check("rate-limit-drops-a-flood", 2 * F_RATE - 2 <= limited <= 2 * F_RATE + 2 and unlimited >= 38 and dropped >= 40 - limited,
              "F answered %d of 40 (burst %d), a plain peer %d of 40, F counted %s dropped" % (limited, 2 * F_RATE, unlimited, dropped),
              "F %d of 40, plain peer %d of 40" % (limited, unlimited))

        # --key jobs without any node's --open-keys: refused everywhere.
        def published(port, result):
            status, body = http_get(port, "/metrics")
            return metric(body, "subnet_dht_heartbeat_publishes_total", 'result="%s"' % result) if status == 200 else None

        failed, _ = wait_until(10, lambda: (published(k_metrics, "failed") or 0) > 0)
        jobs_before = read_json("records", "jobs", "--json", "--all", "--bootstrap", reader)
        check("key-refused-without-open-keys", failed and published(k_metrics, "ok") == 0 and jobs_before == [],
              "K publishes ok %s failed %s; records jobs %s" % (published(k_metrics, "ok"), published(k_metrics, "failed"), jobs_before))

        # announce: a record under a key no replica has a policy for is refused by all (exit 1).
        refused_announce = cli("announce", "jobs", '{"task": "resize"}', "--bootstrap", reader)
        check("announce-refused-without-policy", refused_announce.returncode == 1 and "rejected by" in refused_announce.stderr
              and "209" in refused_announce.stderr, "exit %s, stderr %r" % (refused_announce.returncode, refused_announce.stderr[-300:]))

        # --open-keys: O accepts records under `jobs`, so K's heartbeats land there. O's own do
        # not: a peer publishes to the other nodes closest to the key, and those refuse `jobs`.
        _, _, o_key = start(13, "open", seed, ("--key", "jobs", "--open-keys"))

        def jobs_view():
            listed = read_json("records", "jobs", "--json", "--bootstrap", reader) or []
            return listed if k_key in {r.get("owner") for r in listed} else None

        jobs, took = wait_until(20, jobs_view)
        in_node = {r.get("owner") for r in read_json("records", "node", "--json", "--bootstrap", reader) or []}
        check("open-keys-accepts-key", jobs is not None and (published(k_metrics, "ok") or 0) > 0 and not {o_key, k_key} & in_node,
              "records jobs %s; K publishes ok %s; in node: %s" % (jobs, published(k_metrics, "ok"), bool({o_key, k_key} & in_node)),
              "K listed under jobs %.1f s after O started" % (took or 0))

        # The human tables: a header and one row per live peer, with the names they run under
        # (and F's subnet fields in the INFO column).
        out = cli("peers", "--bootstrap", reader)
        rows = table(out.stdout)
        peers = sorted((row[3], row[2], row[7]) for row in rows[1:]) if rows and rows[0] == INFO_TABLE_HEADER else []
        want = sorted([("flags", "validator", "stake=5 zone=eu")] + [("plain-%d" % i, "worker", "-") for i in range(PLAIN_PEERS)])
        check("peers-table", out.returncode == 0 and peers == want and all(len(row) == len(INFO_TABLE_HEADER) for row in rows),
              "exit %s, stdout %r" % (out.returncode, out.stdout))
        out = cli("records", "jobs", "--bootstrap", reader)
        rows = table(out.stdout)
        check("records-table", out.returncode == 0 and rows[:1] == [TABLE_HEADER]
              and [row[3] for row in rows[1:]] == ["keyed"] and all(row[1] == "online" for row in rows[1:]),
              "exit %s, stdout %r" % (out.returncode, out.stdout))

        # announce: with O there, the record is stored (on O) and read back under its owner.
        announced = cli("announce", "jobs", '{"task": "resize", "size": 640}', "--ttl", "60", "--bootstrap", reader)
        announcer = (re.search(r"^owner ([0-9a-f]{64})$", announced.stdout, re.M) or [None, None])[1]
        rows = {r.get("owner"): r for r in read_json("records", "jobs", "--json", "--bootstrap", reader) or []}
        check("announce-stores-a-record", announced.returncode == 0 and announcer in rows
              and rows[announcer].get("value") == "d4:sizei640e4:task6:resizee" and 0 < rows[announcer].get("expires_in", 0) <= 60,
              "exit %s, stdout %r, stderr %r; jobs rows %s" % (announced.returncode, announced.stdout, announced.stderr[-300:], rows.get(announcer)))

        # peers --watch: redraws with one peer fewer once a peer stops gracefully.
        watch = subprocess.Popen([binary, "peers", "--watch", "--interval", "0.5", "--bootstrap", reader],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        processes.append(watch)
        counts = []

        def watch_shows(count, limit):
            deadline = time.time() + limit
            while time.time() < deadline:
                ready, _, _ = select.select([watch.stdout], [], [], max(0, deadline - time.time()))
                if not ready:
                    break
                line = watch.stdout.readline()
                if not line:
                    break
                found = re.search(r"(\d+) live peers", line)
                if found:
                    counts.append(int(found.group(1)))
                    if counts[-1] == count:
                        return True
            return False

        # peers --watch --json: one event a line, the first read's peers as joined.
        json_watch = subprocess.Popen([binary, "peers", "--watch", "--json", "--interval", "0.5", "--bootstrap", reader],
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        processes.append(json_watch)
        events = []
        pending = [b""]

        def json_watch_sees(wanted, limit):
            # Raw reads, split here: a buffered readline would leave lines select() cannot see.
            deadline = time.time() + limit
            while time.time() < deadline:
                ready, _, _ = select.select([json_watch.stdout], [], [], max(0, deadline - time.time()))
                if not ready:
                    break
                chunk = os.read(json_watch.stdout.fileno(), 65536)
                if not chunk:
                    break
                *lines, pending[0] = (pending[0] + chunk).split(b"\n")
                for line in lines:
                    try:
                        event = json.loads(line)
                    except ValueError:
                        events.append(("not JSON", line))
                        continue
                    events.append((event.get("event"), (event.get("peer") or {}).get("name")))
                if wanted(events):
                    return True
            return False

        joined = json_watch_sees(lambda seen: sum(1 for kind, _ in seen if kind == "joined") == PLAIN_PEERS + 1, 15)
        before = watch_shows(PLAIN_PEERS + 1, 15)
        plain[2][0].send_signal(signal.SIGTERM)
        after = watch_shows(PLAIN_PEERS, 15)
        left = json_watch_sees(lambda seen: ("left", "plain-2") in seen, 15)
        for watcher in (watch, json_watch):
            watcher.send_signal(signal.SIGINT)
            watcher.wait(timeout=10)
        check("peers-watch-redraws", before and after, "drawn counts %s" % counts, "drawn counts %s" % counts)
        check("peers-watch-json-events", joined and left and all(kind in ("joined", "changed", "left", "expired") for kind, _ in events),
              "events %s" % events, "%d events" % len(events))

        # update: PUT /self on a running node from the command line; refusals exit 1 with the code.
        u_http, token = free_tcp_port(), os.path.join(logs, "control-token")
        start(16, "steered", seed, ("--http-port", str(u_http), "--control-token", token))
        changed = cli("update", "--http-port", str(u_http), "--token-file", token, "--tput", "12.5", "--info", "stake=7")
        row = json.loads(changed.stdout) if changed.returncode == 0 else {}
        king = cli("update", "--http-port", str(u_http), "--token-file", token, "--role", "king")
        tokenless = cli("update", "--http-port", str(u_http), "--tput", "1")
        nothing = cli("update", "--http-port", str(u_http))
        check("update-changes-the-heartbeat", row.get("tput") == 12500 and row.get("info") == {"stake": 7} and row.get("name") == "steered"
              and king.returncode == 1 and "(code 209)" in king.stderr and tokenless.returncode == 1 and "HTTP 401" in tokenless.stderr
              and nothing.returncode == 64 and "nothing to change" in nothing.stderr,
              "update %s %r; king %s %r; tokenless %s %r; nothing %s" % (changed.returncode, changed.stdout or changed.stderr[-200:],
                                                                        king.returncode, king.stderr[-200:], tokenless.returncode,
                                                                        tokenless.stderr[-200:], nothing.returncode))

        # get: 1 nothing found, 2 no network, 64 a bad command line.
        missing = cli("get", os.urandom(20).hex(), "--bootstrap", reader)
        unreachable = cli("get", os.urandom(20).hex(), "--bootstrap", nobody)
        bad = cli("get")
        check("get-exit-codes", (missing.returncode, unreachable.returncode, bad.returncode) == (1, 2, 64)
              and "not found" in missing.stderr and "no answer" in unreachable.stderr and "give either TARGET_HEX" in bad.stderr,
              "exits %s, %s, %s; stderr %r / %r / %r" % (missing.returncode, unreachable.returncode, bad.returncode,
                                                       missing.stderr[-100:], unreachable.stderr[-100:], bad.stderr[-100:]))
        records_unreachable = cli("records", "--bootstrap", nobody)
        check("records-no-network-exits-2", records_unreachable.returncode == 2,
              "exit %s, stderr %r" % (records_unreachable.returncode, records_unreachable.stderr[-200:]))

        # keygen: a 0600 file whose key it prints; kept unless --force.
        identity = os.path.join(logs, "keygen-identity")
        made = cli("keygen", "--out", identity)
        mode = stat.S_IMODE(os.stat(identity).st_mode) if os.path.exists(identity) else None
        with open(identity, "rb") as handle:
            content = handle.read()
        again = cli("keygen", "--out", identity)
        with open(identity, "rb") as handle:
            kept = handle.read() == content
        forced = cli("keygen", "--out", identity, "--force")
        check("keygen", made.returncode == 0 and re.fullmatch(r"[0-9a-f]{64}\n", made.stdout) and mode == 0o600
              and again.returncode != 0 and kept and forced.returncode == 0 and forced.stdout != made.stdout,
              "first exit %s %r mode %s; second exit %s kept %s; --force exit %s %r" % (
                  made.returncode, made.stdout, oct(mode or 0), again.returncode, kept, forced.returncode, forced.stdout))
    except Exception as error:  # the summary line must still be printed
        check("harness", False, repr(error))
    finally:
        stop_all(processes)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
