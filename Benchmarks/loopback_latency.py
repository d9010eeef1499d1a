#!/usr/bin/env python3
"""Put/get latency and memory of an N-node SubnetDHT network on 127.0.0.1.

Starts N `subnet-dht run` processes (release build), waits until they have joined, runs
`subnet-dht bench` (P mutable puts of ~200-byte values under fresh keys, then P gets, one at a
time) through one of them, and reads each node's resident memory from /proc. Loopback only;
every wait is bounded.

    python3 Benchmarks/loopback_latency.py [--nodes 16] [--puts 200] [--bin PATH]
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=16)
    parser.add_argument("--puts", type=int, default=200)
    parser.add_argument("--base-port", type=int, default=17100)
    parser.add_argument("--bin", default=None, help="subnet-dht binary (default: swift build -c release)")
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    binary = args.bin
    if binary is None:
        subprocess.run(["swift", "build", "-c", "release", "--product", "subnet-dht"], cwd=root, check=True,
                       stdout=sys.stderr)
        path = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=root, check=True,
                              capture_output=True, text=True).stdout.strip()
        binary = os.path.join(path, "subnet-dht")

    logs = tempfile.mkdtemp(prefix="subnet-dht-latency.")
    bootstrap = f"127.0.0.1:{args.base_port}"
    processes = []
    try:
        for index in range(args.nodes):
            command = [binary, "run", "--host", "127.0.0.1", "--port", str(args.base_port + index)]
            if index:
                command += ["--bootstrap", bootstrap]
            out = open(os.path.join(logs, f"node-{index}.out"), "w")
            err = open(os.path.join(logs, f"node-{index}.err"), "w")
            processes.append(subprocess.Popen(command, stdout=out, stderr=err))
            time.sleep(0.02)
        deadline = time.time() + 20
        while time.time() < deadline:
            joined = sum(1 for i in range(1, args.nodes)
                         if "joined" in open(os.path.join(logs, f"node-{i}.err")).read())
            if joined == args.nodes - 1:
                break
            time.sleep(0.2)
        time.sleep(1)
        bench = subprocess.run([binary, "bench", "--bootstrap", f"127.0.0.1:{args.base_port + 1}",
                                "--puts", str(args.puts), "--json"],
                               capture_output=True, text=True, timeout=600)
        if bench.returncode != 0:
            print(bench.stderr, file=sys.stderr)
            return 1
        result = json.loads(bench.stdout.strip().splitlines()[-1])
        memory = sorted(rss_kib(process.pid) for process in processes)
        print(f"nodes {args.nodes}, puts {args.puts}, values ~200 bytes, loopback, one bench client")
        print(f"put  p50 {result['put_ms']['p50']:.3f} ms  p90 {result['put_ms']['p90']:.3f} ms  "
              f"p99 {result['put_ms']['p99']:.3f} ms  ok {result['put_ok']}/{args.puts}")
        print(f"get  p50 {result['get_ms']['p50']:.3f} ms  p90 {result['get_ms']['p90']:.3f} ms  "
              f"p99 {result['get_ms']['p99']:.3f} ms  ok {result['get_ok']}/{args.puts}")
        print(f"resident memory per node: median {memory[len(memory) // 2] / 1024:.1f} MiB, "
              f"max {memory[-1] / 1024:.1f} MiB")
        return 0
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    sys.exit(main())
