#!/usr/bin/env python3
"""UDP datagrams each subnet peer receives per second in steady state, at 12 and at 36 peers.

For each subnet size N, starts N `subnet-dht run` processes on 127.0.0.1 (heartbeat every 2 s,
TTL 8 s, prune every 1 s; the first standalone, the others bootstrapped through it, each with a
--metrics-port), waits until every peer's view (/peers.json) lists all N peers (at most
--converge seconds; a subnet that does not converge is reported and measured anyway), waits
--settle seconds more, then reads each peer's `subnet_dht_datagrams_received_total` and
`subnet_dht_datagrams_sent_total` from /metrics, waits --window seconds and reads them again.
Prints, per N, the median, mean, min and max over peers of datagrams received (and sent) per
peer per second, the CPU the peers used in the window (cores), then the ratios of those figures
between the largest and the smallest N. The membership issue (24) asks that datagrams received
per peer per second grow at most 1.5x from 12 to 36 peers: the mean says what a peer costs on
average, the max what the busiest peers (the heartbeat key's replicas) carry; the median drops
when those replicas become a minority of the peers, so it is no measure of growth on its own.

    /usr/bin/python3 Benchmarks/membership_traffic.py --subnet-dht .build/debug/subnet-dht \\
        [--peers 12,36] [--settle 20] [--window 20] [--converge 60] [--json OUT]

Loopback only; every wait is bounded; every process is stopped at the end, on errors and on
Ctrl-C. Logs go to a fresh temporary directory, printed first.
"""
import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "Tests"))
from pysupport.checks import wait_until  # noqa: E402
from pysupport.localnet import free_tcp_port, http_get, metric  # noqa: E402
from pysupport.processes import start_run, stop_all  # noqa: E402

TIMING = (2, 8, 1)  # heartbeat interval, TTL, prune interval (s)
RECEIVED, SENT = "subnet_dht_datagrams_received_total", "subnet_dht_datagrams_sent_total"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def view_size(port):
    status, body = http_get(port, "/peers.json")
    return len(json.loads(body)) if status == 200 else None


def counters(port):
    """(time, received, sent) of one peer's /metrics; the counters are None when unreadable."""
    at = time.time()
    status, body = http_get(port, "/metrics")
    if status != 200:
        return at, None, None
    return at, metric(body, RECEIVED), metric(body, SENT)


def cpu_seconds(processes):
    total = 0
    for process in processes:
        try:
            with open("/proc/%d/stat" % process.pid) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except OSError:
            pass
    return total / CLOCK_TICKS


def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return {"median": None, "mean": None, "min": None, "max": None}
    return {"median": statistics.median(values), "mean": statistics.mean(values), "min": min(values), "max": max(values)}


def measure(binary, logs, peers, args):
    """Starts `peers` processes, waits for their views, measures the window; stops them all."""
    processes, ports = [], []
    try:
        seed = None
        for index in range(peers):
            port = free_tcp_port()
            _, address, _ = start_run(binary, logs, index, "traffic-%d" % index, TIMING, seed,
                                      ("--metrics-port", str(port)), processes)
            seed = seed or address
            ports.append(port)
        started = time.time()

        def converged():
            sizes = [view_size(port) for port in ports]
            return sizes if all(size == peers for size in sizes) else None

        sizes, took = wait_until(args.converge, converged, pause=0.5)
        if sizes is None:
            sizes = [view_size(port) for port in ports]
            print("  N=%d: views did not all list %d peers within %d s: sizes %s"
                  % (peers, peers, args.converge, sorted(s if s is not None else -1 for s in sizes)), flush=True)
        else:
            print("  N=%d: every view lists %d peers %.1f s after the last start" % (peers, peers, took), flush=True)
        time.sleep(args.settle)

        cpu_before = cpu_seconds(processes)
        before = [counters(port) for port in ports]
        time.sleep(args.window)
        after = [counters(port) for port in ports]
        cpu = (cpu_seconds(processes) - cpu_before) / args.window
        sizes_after = [view_size(port) for port in ports]

        def rates(column):
            return [(b[column] - a[column]) / (b[0] - a[0]) if a[column] is not None and b[column] is not None else None
                    for a, b in zip(before, after)]

        received, sent = rates(1), rates(2)
        exited = [index for index, process in enumerate(processes) if process.poll() is not None]
        return {"peers": peers, "converged": took is not None,
                "converge_seconds": took, "since_last_start": time.time() - started,
                "view_sizes_after": sorted(s if s is not None else -1 for s in sizes_after),
                "received_per_second": spread(received), "sent_per_second": spread(sent),
                "received_per_peer": received, "sent_per_peer": sent,
                "cpu_cores": cpu, "exited": exited}
    finally:
        stop_all(processes)


def log_complaints(logs):
    """Lines at warning level or above in the peers' logs, by level."""
    counts = {}
    for name in os.listdir(logs):
        with open(os.path.join(logs, name), errors="replace") as handle:
            for line in handle:
                for level in ("warning", "error", "critical"):
                    if " %s " % level in line:
                        counts[level] = counts.get(level, 0) + 1
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subnet-dht", default=os.environ.get("SUBNET_DHT_BIN", ".build/debug/subnet-dht"))
    parser.add_argument("--peers", default="12,36", help="subnet sizes, comma-separated")
    parser.add_argument("--settle", type=float, default=20, help="seconds after convergence before the window")
    parser.add_argument("--window", type=float, default=20, help="seconds between the two counter reads")
    parser.add_argument("--converge", type=float, default=60, help="most seconds to wait for full views")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    binary = os.path.abspath(args.subnet_dht)
    sizes = [int(n) for n in args.peers.split(",")]
    print("binary %s; heartbeat %d s, TTL %d s, prune %d s; settle %g s, window %g s"
          % ((binary,) + TIMING + (args.settle, args.window)), flush=True)
    results = []
    for peers in sizes:
        logs = tempfile.mkdtemp(prefix="membership-traffic-%d." % peers)
        print("N=%d: logs in %s" % (peers, logs), flush=True)
        result = measure(binary, logs, peers, args)
        result["logs"], result["log_complaints"] = logs, log_complaints(logs)
        results.append(result)
        r, s = result["received_per_second"], result["sent_per_second"]
        print("N=%d received/peer/s median %.2f mean %.2f min %.2f max %.2f | sent/peer/s median %.2f mean %.2f"
              " min %.2f max %.2f | cpu %.2f cores | converged %s | views after %s..%s | exited %s | log warnings/errors %s"
              % (peers, r["median"], r["mean"], r["min"], r["max"], s["median"], s["mean"], s["min"], s["max"], result["cpu_cores"],
                 result["converged"], result["view_sizes_after"][0], result["view_sizes_after"][-1],
                 result["exited"] or "none", result["log_complaints"] or "none"), flush=True)
    summary = {"binary": binary, "timing": TIMING, "settle": args.settle, "window": args.window, "results": results}
    if len(results) > 1:
        # The median is the figure the issue names; mean and max show a load that falls on a
        # few peers only (e.g. the replicas of the heartbeat key), which the median can hide.
        summary["ratios"] = {}
        for figure in ("median", "mean", "max"):
            low, high = results[0]["received_per_second"][figure], results[-1]["received_per_second"][figure]
            summary["ratios"][figure] = high / low if low else None
        summary["ratio"] = summary["ratios"]["median"]
        print("ratio received/peer/s N=%d / N=%d: median %.2f (limit 1.5), mean %.2f, max %.2f"
              % ((sizes[-1], sizes[0]) + tuple(summary["ratios"][f] for f in ("median", "mean", "max"))), flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(summary, handle, indent=2)
    return 0


if __name__ == "__main__":
    # Ctrl-C and SIGTERM (also when started in the background) unwind through `finally`.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
