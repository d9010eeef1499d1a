#!/usr/bin/env python3
"""The control API against bad input, as real processes on 127.0.0.1.

A seed and a member B (control token, 1 s heartbeats, 4 s TTL). Through B's HTTP port:
  * malformed JSON, wrong types, unknown fields, an oversized `info`, unknown endpoints and
    methods: each answered with its status and a clear `{"error", "code"}` (the oversized
    `info` naming the 1,000-byte limit), and none of it published: the seed still sees B as
    it was;
  * a 16 MB body: 413 without reading it all, and B answers the next request;
  * 1,000 event streams opened and dropped (some beyond the 256 at once, answered 503): B's
    memory stays bounded, it keeps heartbeating (/health 200, a fresh heartbeat), and a new
    stream works.
Loopback only; every loop is bounded. Prints `ok NAME (figures)` / `FAIL NAME: reason` and a
final `N passed, M failed` line; exits 1 if anything failed.

    python3 Tests/Process/control_input.py --subnet-dht .build/debug/subnet-dht
"""
import http.client
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pysupport.checks import wait_until  # noqa: E402
from pysupport.harness import run_suite  # noqa: E402
from pysupport.localnet import free_tcp_port, http_get  # noqa: E402
from pysupport.processes import rss_kib, start_run  # noqa: E402

TIMING = (1, 4, 1)   # heartbeat interval, TTL, prune interval (s)
STREAMS = 1000


def request(port, method, path, body=b"", headers=None, timeout=10):
    """(status, parsed JSON or text) of one request on a fresh connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text
    finally:
        connection.close()


def suite(binary, logs, check, processes):
    seed_http, b_http = free_tcp_port(), free_tcp_port()
    token_file = os.path.join(logs, "control-token")
    _, seed, _ = start_run(binary, logs, 0, "seed", TIMING, None, ("--http-port", str(seed_http)), processes)
    b_process, _, b_key = start_run(binary, logs, 1, "b", TIMING, seed,
                                    ("--http-port", str(b_http), "--control-token", token_file, "--info", "stake=5"), processes)
    with open(token_file) as handle:
        auth = {"Authorization": "Bearer " + handle.read().strip(), "Content-Type": "application/json"}

    def b_on_seed():
        status, body = http_get(seed_http, "/peers.json")
        rows = [row for row in json.loads(body) if row["owner"] == b_key] if status == 200 else []
        return rows[0] if rows else None

    before, _ = wait_until(30, b_on_seed)

    # Bad bodies and paths: each its status and a clear error, nothing applied.
    cases = [
        ("PUT", "/self", b"{not json", 400, "not JSON"),
        ("PUT", "/self", b"[1, 2]", 400, "a JSON object"),
        ("PUT", "/self", b'{"tput": "fast"}', 400, "tput must be a number"),
        ("PUT", "/self", b'{"role": ["miner"]}', 400, "role must be a string"),
        ("PUT", "/self", b'{"state": "asleep"}', 400, "state must be"),
        ("PUT", "/self", b'{"stake": 5}', 400, "unknown field"),
        ("PUT", "/self", json.dumps({"info": {"blob": "x" * 1200}}).encode(), 422, "1000-byte limit"),
        ("PUT", "/self", b'{"name": "' + b"n" * 65 + b'"}', 400, "name must be at most 64 bytes"),
        ("POST", "/records/jobs", b'{"value": true}', 400, "bencode has no boolean"),
        ("POST", "/records/jobs", b'{"value": 1, "ttl": -5}', 400, "ttl must be"),
        ("POST", "/records/%ff", b'{"value": 1}', 400, "not UTF-8"),
        ("DELETE", "/self", b"", 405, "use PUT"),
        ("PUT", "/admin", b"{}", 404, "not found"),
    ]
    outcomes = []
    for method, path, body, status, words in cases:
        got, answer = request(b_http, method, path, body, auth)
        message = answer.get("error", "") if isinstance(answer, dict) else answer
        outcomes.append((method, path, got, message, got == status and words in message))
    time.sleep(3 * TIMING[0])
    after = b_on_seed()
    unchanged = before is not None and after is not None and after["info"] == {"stake": 5} and after["tput"] is None \
        and after["role"] == before["role"]
    check("bad-input-clear-errors-nothing-published", all(ok for *_, ok in outcomes) and unchanged,
          "; ".join("%s %s -> %s %r" % (m, p, s, e[:80]) for m, p, s, e, ok in outcomes if not ok)
          + "; B on the seed before %s after %s" % (before, after),
          "%d bad requests refused" % len(outcomes))

    # A 16 MB body: refused without being read, and the port still answers.
    huge = b'{"info": {"blob": "' + b"x" * (16 * 1024 * 1024) + b'"}}'
    began = time.time()
    try:
        huge_status, huge_answer = request(b_http, "PUT", "/self", huge, auth, timeout=30)
    except (OSError, http.client.HTTPException) as error:
        # The node may answer 413 and close before the client has sent it all.
        huge_status, huge_answer = 413 if isinstance(error, (BrokenPipeError, ConnectionResetError)) else None, repr(error)
    after_huge, _ = request(b_http, "GET", "/health")
    check("huge-body-413-bounded", huge_status == 413 and after_huge == 200,
          "huge body -> %s %r; /health after %s" % (huge_status, str(huge_answer)[:120], after_huge),
          "answered in %.2f s" % (time.time() - began))

    # 1,000 event streams, opened in waves and dropped: bounded memory, heartbeats go on.
    rss_before = rss_kib(b_process.pid)
    accepted = refused = 0
    opened = 0
    while opened < STREAMS:
        wave = []
        for _ in range(min(300, STREAMS - opened)):  # above the 256 allowed at once
            sock = socket.create_connection(("127.0.0.1", b_http), timeout=10)
            sock.sendall(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            wave.append(sock)
            opened += 1
        for sock in wave:
            try:
                head = sock.recv(64)
            except OSError:
                head = b""
            if head.startswith(b"HTTP/1.1 200"):
                accepted += 1
            elif head.startswith(b"HTTP/1.1 503"):
                refused += 1
        for sock in wave:
            sock.close()
        time.sleep(0.5)
    rss_peak = rss_kib(b_process.pid)
    time.sleep(2)
    health_status, health = request(b_http, "GET", "/health")
    fresh = health_status == 200 and isinstance(health, dict) and (health.get("last_heartbeat_age_seconds") or 99) <= 2 * TIMING[0]
    stream = socket.create_connection(("127.0.0.1", b_http), timeout=10)
    stream.sendall(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    first = b""
    deadline = time.time() + 10
    while b"event: reset" not in first and time.time() < deadline:
        first += stream.recv(4096)
    stream.close()
    rss_after = rss_kib(b_process.pid)
    check("thousand-dropped-streams-bounded", accepted + refused == STREAMS and refused > 0 and fresh
          and b"event: reset" in first and rss_peak - rss_before < 64 * 1024,
          "accepted %d refused %d; health %s %s; new stream %r; RSS %d -> %d -> %d KiB"
          % (accepted, refused, health_status, health, first[:80], rss_before, rss_peak, rss_after),
          "%d streams (%d at once refused 503); RSS %.1f -> %.1f MiB at the peak, %.1f after; heartbeat %.1f s old"
          % (STREAMS, refused, rss_before / 1024, rss_peak / 1024, rss_after / 1024,
             (health or {}).get("last_heartbeat_age_seconds") or -1 if isinstance(health, dict) else -1))


def main():
    return run_suite("control-input.", suite)


if __name__ == "__main__":
    sys.exit(main())
