#!/usr/bin/env bash
# Allocation gate for the micro-benchmarks (CoreBenchmarks, RecordBenchmarks).
#
#   bash Benchmarks/thresholds.sh check    # fails when a benchmark allocates more than Thresholds/ allows
#   bash Benchmarks/thresholds.sh update   # after an intended change: record the new counts
#
# Thresholds/ holds each benchmark's p90 malloc count per iteration and nothing else: wall
# time on a shared 2-core machine varies by tens of percent from run to run, allocation counts
# do not. The tolerance (5 %, at least 2 mallocs) is in the benchmarks' configuration.
set -euo pipefail
cd "$(dirname "$0")"
case "${1:-check}" in
update)
    swift package --disable-sandbox --allow-writing-to-package-directory benchmark thresholds update --no-progress
    # Keep the malloc counts only: the plugin also writes wall time and throughput.
    /usr/bin/env python3 - <<'PY'
import glob, json, os
for path in glob.glob("Thresholds/*.p90.json"):
    with open(path) as file:
        metrics = json.load(file)
    if "mallocCountTotal" not in metrics:  # a benchmark that counts no mallocs gates nothing
        os.remove(path)
        continue
    with open(path, "w") as file:
        json.dump({"mallocCountTotal": metrics["mallocCountTotal"]}, file, indent=2, sort_keys=True)
        file.write("\n")
PY
    ;;
check)
    swift package --disable-sandbox benchmark thresholds check --no-progress
    ;;
*)
    echo "usage: $0 check|update" >&2
    exit 2
    ;;
esac
