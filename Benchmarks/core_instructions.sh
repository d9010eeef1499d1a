#!/usr/bin/env bash
# Instructions DHTCore spends per answered request (decode, routing update, answer, encode),
# counted by valgrind's callgrind: repeatable, where CPU time on this shared machine is not.
# Each request kind runs at two counts; the difference over the extra requests cancels the
# set-up (signing and storing 300 records).
#
#   bash Benchmarks/core_instructions.sh [ping] [find_node] [get_records]
#   BIN=/path/to/CoreInstructions bash Benchmarks/core_instructions.sh   # another build
set -euo pipefail
kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(ping find_node get_records)
for kind in "${kinds[@]}"; do
    case "$kind" in
    ping | find_node | get_records) ;;
    *) echo "unknown request $kind: ping, find_node or get_records" >&2; exit 2 ;;
    esac
done
# BIN is relative to where the script was called from.
[ -z "${BIN:-}" ] || BIN=$(realpath "$BIN")
cd "$(dirname "$0")"
command -v valgrind > /dev/null || { echo "needs valgrind (apt-get install -y valgrind)" >&2; exit 2; }
if [ -z "${BIN:-}" ]; then
    swift build -c release --product CoreInstructions > /dev/null
    BIN="$(swift build -c release --show-bin-path)/CoreInstructions"
fi
low=1000
high=6000
# valgrind's DWARF reader gives up on Swift's debug info; symbols are enough for counting.
stripped=$(mktemp)
trap 'rm -f "$stripped"' EXIT
strip --strip-debug -o "$stripped" "$BIN"

# Instructions of one run; fixed hashing seeds so that dictionaries probe the same way each run.
instructions() {
    SWIFT_DETERMINISTIC_HASHING=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$stripped" "$1" "$2" 2>&1 \
        | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

for kind in "${kinds[@]}"; do
    a=$(instructions "$kind" $low)
    b=$(instructions "$kind" $high)
    [ -n "$a" ] && [ -n "$b" ] || { echo "$kind: valgrind gave no count" >&2; exit 1; }
    echo "$kind: $(( (b - a) / (high - low) )) instructions per answer"
done
