#!/usr/bin/env python3
"""`subnet-dht run` under a service manager's notification socket, as real processes on 127.0.0.1.

The test binds its own NOTIFY_SOCKET (a Unix datagram socket in a temporary directory) and
starts B with it and WATCHDOG_USEC=1000000, bootstrapping from a seed that is not up yet.
Checks:
  * no READY=1 while B cannot join (it is JOINING); READY=1 once the seed is up, with B
    ONLINE (its /health says so) when it arrives;
  * WATCHDOG=1 at half the asked second: every gap between two under 1 s, their median near 0.5 s;
  * STATUS= lines name the state and the live peers;
  * STOPPING=1 on SIGTERM, before B exits 0.
Loopback only; every wait is bounded. Prints `ok NAME (figures)` / `FAIL NAME: reason` and a
final `N passed, M failed` line; exits 1 if anything failed.

    python3 Tests/Process/systemd_notify.py --subnet-dht .build/debug/subnet-dht
"""
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pysupport.checks import wait_until  # noqa: E402
from pysupport.harness import run_suite  # noqa: E402
from pysupport.localnet import free_port, free_tcp_port, http_get  # noqa: E402
from pysupport.processes import start_run  # noqa: E402

TIMING = (1, 4, 1)   # heartbeat interval, TTL, prune interval (s)


def suite(binary, logs, check, processes):
    messages = []  # (time, [fields])
    path = os.path.join(logs, "notify.sock")
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(path)
    receiver.settimeout(0.5)
    listening = True

    def receive():
        while listening:
            try:
                data = receiver.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            messages.append((time.time(), data.decode().split("\n")))

    threading.Thread(target=receive, daemon=True).start()

    def first(field, after=0.0):
        for at, fields in messages:
            if at >= after and field in fields:
                return at
        return None

    try:
        seed_port = free_port(socket.SOCK_DGRAM)
        b_http = free_tcp_port()
        environment = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="1000000")
        command = [binary, "run", "--host", "127.0.0.1", "--port", "0", "--name", "b", "--bootstrap", "127.0.0.1:%d" % seed_port,
                   "--heartbeat-interval", str(TIMING[0]), "--heartbeat-ttl", str(TIMING[1]), "--prune-interval", str(TIMING[2]),
                   "--http-port", str(b_http)]
        b = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=open(os.path.join(logs, "node-b.err"), "w"), text=True, env=environment)
        processes.append(b)
        b.stdout.readline()

        # The seed is not up: B keeps joining, and says nothing of being ready.
        time.sleep(3)
        _, health = http_get(b_http, "/health")
        joining_state = json.loads(health).get("state") if health and health.startswith("{") else health
        early_ready = first("READY=1")
        start_run(binary, logs, 0, "seed", TIMING, None, ("--port", str(seed_port)), processes)
        ready_at, _ = wait_until(30, lambda: first("READY=1"), pause=0.05)
        _, health = http_get(b_http, "/health")
        state_at_ready = json.loads(health).get("state") if health and health.startswith("{") else health
        check("ready-only-once-online", early_ready is None and joining_state == "joining" and ready_at is not None
              and state_at_ready == "online",
              "READY before the seed: %s; state while joining %r; READY at %s; state then %r" % (early_ready, joining_state, ready_at, state_at_ready))

        # The watchdog, at half of WATCHDOG_USEC.
        time.sleep(5)
        beats = [at for at, fields in messages if "WATCHDOG=1" in fields and at >= (ready_at or 0)]
        gaps = [later - earlier for earlier, later in zip(beats, beats[1:])]
        median = statistics.median(gaps) if gaps else None
        check("watchdog-at-half-the-interval", len(gaps) >= 6 and max(gaps) < 1.0 and 0.35 <= median <= 0.75,
              "WATCHDOG=1 gaps: %s" % ["%.2f" % gap for gap in gaps],
              "%d beats in %.1f s, gaps median %.2f s, longest %.2f s (asked: 1 s)" % (len(beats), beats[-1] - beats[0] if beats else 0,
                                                                                       median or -1, max(gaps) if gaps else -1))

        statuses = [field for _, fields in messages for field in fields if field.startswith("STATUS=")]
        check("status-lines", any(status.startswith("STATUS=online: ") and "live peers" in status for status in statuses),
              "STATUS lines: %s" % statuses[-5:], statuses[-1] if statuses else "")

        signalled = time.time()
        b.terminate()
        code = b.wait(timeout=30)
        time.sleep(0.3)
        stopping = first("STOPPING=1", after=signalled)
        check("stopping-on-sigterm", stopping is not None and code == 0,
              "STOPPING=1 at %s; exit %s" % (stopping, code), "STOPPING=1 %.2f s after SIGTERM" % ((stopping or 0) - signalled))
    finally:
        listening = False
        receiver.close()


def main():
    return run_suite("systemd-notify.", suite)


if __name__ == "__main__":
    sys.exit(main())
