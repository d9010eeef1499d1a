#!/usr/bin/env bash
# Runs a local test network: N `subnet-dht run` processes on 127.0.0.1 (default 8), logs in
# one folder, a printed bootstrap address, a demonstration put/get through the network, and a
# clean stop of every node on Ctrl-C (or after DURATION seconds when set).
#
#   Bootstrap/testnet.sh [NODES] [BASE_PORT]      e.g. Bootstrap/testnet.sh 8 6881
#   DURATION=30 Bootstrap/testnet.sh               stop by itself after 30 s
set -euo pipefail
cd "$(dirname "$0")/.."

nodes=${1:-8}
base_port=${2:-6881}
logs=${LOGS:-$(mktemp -d -t subnet-dht-testnet.XXXXXX)}

Bootstrap/install-deps.sh
swift build -c release --product subnet-dht >&2
bin="$(swift build -c release --show-bin-path)/subnet-dht"

pids=()
stop() {
    trap - INT TERM EXIT
    echo "stopping ${#pids[@]} nodes" >&2
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    echo "logs kept in $logs" >&2
}
trap stop INT TERM EXIT

bootstrap="127.0.0.1:$base_port"
for ((i = 0; i < nodes; i++)); do
    port=$((base_port + i))
    args=(run --host 127.0.0.1 --port "$port" --identity "$logs/node-$i.identity")
    [ "$i" -gt 0 ] && args+=(--bootstrap "$bootstrap")
    "$bin" "${args[@]}" >"$logs/node-$i.out" 2>"$logs/node-$i.err" &
    pids+=($!)
done

# Wait (bounded) for every node's `listening` line.
for ((i = 0; i < nodes; i++)); do
    for _ in $(seq 1 50); do
        [ -s "$logs/node-$i.out" ] && break
        sleep 0.1
    done
done
echo "bootstrap $bootstrap"
echo "nodes:"
cat "$logs"/node-*.out | sort -k2 | sed 's/^/  /'
sleep 1

echo "demonstration: a signed BEP 44 item put through node 1 and read back through the last node"
"$bin" put --bootstrap "127.0.0.1:$((base_port + 1))" --identity "$logs/demo.identity" "hello from the test network" | sed 's/^/  /'
key=$(awk '{print $2}' <("$bin" put --bootstrap "$bootstrap" --identity "$logs/demo.identity" "hello again" 2>/dev/null) | head -1)
echo "  get --key $key:"
"$bin" get --bootstrap "127.0.0.1:$((base_port + nodes - 1))" --key "$key" | sed 's/^/    /'

echo "logs in $logs; Ctrl-C stops every node"
if [ -n "${DURATION:-}" ]; then
    sleep "$DURATION"
else
    while :; do sleep 3600; done
fi
