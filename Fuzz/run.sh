#!/usr/bin/env bash
# Builds the libFuzzer target with every module instrumented and fuzzes the datagram
# handling for a bounded time (default 60 s; `Fuzz/run.sh 3600` locally for longer).
# The committed seeds (Fuzz/Corpus) are copied into a working corpus that grows across
# runs in Fuzz/.corpus (untracked). On a crash the input is kept in Fuzz/Regressions
# (commit it: FuzzRegressionTests replays it) and the script exits 1.
set -euo pipefail
cd "$(dirname "$0")"

seconds=${1:-60}
swift build -c debug --product FuzzDatagram -Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library >&2
bin="$(swift build -c debug --show-bin-path -Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library)/FuzzDatagram"

mkdir -p .corpus .artifacts
cp -n Corpus/* .corpus/ 2>/dev/null || true
log=$(mktemp -t fuzz-log.XXXXXX)
status=0
# -max_len: the largest datagram a node accepts. -rss_limit_mb bounds memory per input.
"$bin" .corpus -max_total_time="$seconds" -max_len=1500 -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix=.artifacts/ -print_final_stats=1 >"$log" 2>&1 || status=$?

executions=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
corpus=$(find .corpus -type f | wc -l)
echo "fuzzed ${seconds} s: ${executions} executions, corpus ${corpus} inputs"
grep -m1 '^data paths:' "$log" || echo "data paths: not reported"
if [ "$status" -ne 0 ]; then
    tail -40 "$log" >&2
    for artifact in .artifacts/*; do
        [ -e "$artifact" ] || continue
        kept="Regressions/$(basename "$artifact")"
        cp "$artifact" "$kept"
        echo "crash input kept in Fuzz/$kept" >&2
    done
    exit 1
fi
