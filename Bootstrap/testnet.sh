#!/usr/bin/env bash
# Runs a local test network: N `subnet-dht run` processes on 127.0.0.1 (default 8), each
# publishing a signed heartbeat under `node`; logs in one folder, a printed bootstrap address,
# the table of heartbeat records once all are ONLINE, and a clean stop of every node on Ctrl-C
# (or after DURATION seconds when set).
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
# Short heartbeats so the demo shows joins and departures within seconds.
beat=(--heartbeat-interval "${INTERVAL:-5}" --heartbeat-ttl "${TTL:-15}" --prune-interval 2 --log-level warning)
for ((i = 0; i < nodes; i++)); do
    port=$((base_port + i))
    role=worker
    [ "$i" -eq 0 ] && role=bootstrap
    args=(run --host 127.0.0.1 --port "$port" --identity "$logs/node-$i.identity" --name "node-$i" --role "$role" "${beat[@]}")
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

# Wait (bounded, 30 s) until every node's heartbeat is ONLINE, then show the records.
for _ in $(seq 1 60); do
    online=$("$bin" records node --json --bootstrap "$bootstrap" 2>/dev/null | grep -o '"state":"online"' | wc -l)
    [ "$online" -ge "$nodes" ] && break
    sleep 0.5
done
echo "heartbeat records under \`node\` ($online of $nodes online):"
"$bin" records node --bootstrap "$bootstrap" | sed 's/^/  /'
echo "inspect them yourself:  $bin records node --bootstrap $bootstrap   (or: peers --watch)"
echo "logs in $logs; Ctrl-C stops every node (each publishes OFFLINE first)"
if [ -n "${DURATION:-}" ]; then
    sleep "$DURATION"
else
    while :; do sleep 3600; done
fi
