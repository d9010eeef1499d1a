#!/usr/bin/env python3
"""Two builds of `subnet-dht bench-local` (the SubnetDHT part of side_by_side.py) alternating.

    python3 Benchmarks/bench_local_ab.py BASE_BINARY NEW_BINARY [--runs 7] [--nodes 32] [--puts 200]

Runs BASE and NEW in turn (BASE first on odd rounds, NEW first on even ones), each with the
same seed, and prints for put p50, get p50, resident memory per node and bootstrap time the
median over the runs of each build and the ratio NEW / BASE, with every run's figure.
Loopback only; each run is bounded (300 s).
"""
import argparse
import json
import statistics
import subprocess


def p50(values):
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) // 2) - 1)]


def run(binary, args):
    out = subprocess.run([binary, "bench-local", "--nodes", str(args.nodes), "--puts", str(args.puts),
                          "--seed", "1", "--json"], capture_output=True, text=True, timeout=300, check=True).stdout
    report = json.loads(out)
    return {"put_ms": p50(report["put_ms"]), "get_ms": p50(report["get_ms"]),
            "rss_mib_per_node": (report["rss_kib_after"] - report["rss_kib_before"]) / report["nodes"] / 1024,
            "bootstrap_s": report["bootstrap_s"] or float("nan"), "ok": (report["put_ok"], report["get_ok"])}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base")
    parser.add_argument("new")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--nodes", type=int, default=32)
    parser.add_argument("--puts", type=int, default=200)
    args = parser.parse_args()
    results = {"base": [], "new": []}
    for round_number in range(args.runs):
        order = [("base", args.base), ("new", args.new)]
        for name, binary in order if round_number % 2 == 0 else reversed(order):
            results[name].append(run(binary, args))
    for figure in ("put_ms", "get_ms", "rss_mib_per_node", "bootstrap_s"):
        base = [r[figure] for r in results["base"]]
        new = [r[figure] for r in results["new"]]
        ratio = statistics.median(new) / statistics.median(base)
        print("%-16s base %.3f  new %.3f  ratio %.3f   base %s  new %s" % (
            figure, statistics.median(base), statistics.median(new), ratio,
            " ".join("%.3f" % v for v in base), " ".join("%.3f" % v for v in new)))
    print("ok (puts, gets): base %s  new %s" % ([r["ok"] for r in results["base"]], [r["ok"] for r in results["new"]]))


if __name__ == "__main__":
    main()
