#!/usr/bin/env bash
# Runs a test network of N hosts, each a Linux network namespace with its own address, instead
# of N ports on 127.0.0.1: this is how a subnet really looks (one node per IP, so the
# one-node-per-IP rule is on; real ARP and a real bridge between hosts; optional packet loss and
# delay). Host i is the namespace <prefix>-h<i> with address 10.77.0.(i+1)/16 on its eth0, a
# veth whose other end is a port of the bridge br0 inside the namespace <prefix>-br. Nothing is
# added to the root namespace, so no traffic can leave the machine. Each host runs one
# `subnet-dht run --host 10.77.0.(i+1) --port 6881`, all joining through host 0.
#
#   Bootstrap/netns-testnet.sh [NODES]                 e.g. Bootstrap/netns-testnet.sh 8 (needs root)
#   LOSS=20 DELAY=50 Bootstrap/netns-testnet.sh        20 % loss and 50 ms delay on every host
#   DURATION=30 Bootstrap/netns-testnet.sh             stop by itself after 30 s (else Ctrl-C)
#
# Environment: NODES (8), INTERVAL / TTL heartbeat seconds (5 / 15), PRUNE seconds (2), LOSS
# percent (0), DELAY ms (0), DURATION seconds (none), LOGS folder (a new temporary one),
# LOG_LEVEL (info), BIN path to subnet-dht (when unset it is built: swift build --product subnet-dht).
# Without root or network namespaces it prints `skip: ...` and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."

nodes=${1:-${NODES:-8}}
interval=${INTERVAL:-5}
ttl=${TTL:-15}
prune=${PRUNE:-2}
loss=${LOSS:-0}
delay=${DELAY:-0}
port=6881
prefix="sdht$$"            # unique per run: teardown deletes exactly the namespaces with this prefix
bridge_ns="$prefix-br"
bootstrap="10.77.0.1:$port"

die() { echo "netns-testnet: $*" >&2; exit 1; }
[[ "$nodes" =~ ^[0-9]+$ ]] && [ "$nodes" -ge 1 ] && [ "$nodes" -le 254 ] || die "NODES must be 1..254 (10.77.0.1-254), not '$nodes'"
[[ "$loss" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "LOSS must be a percentage, not '$loss'"
[[ "$delay" =~ ^[0-9]+$ ]] || die "DELAY must be whole milliseconds, not '$delay'"

# Skip, not fail, where namespaces cannot be made (no root, a container without CAP_SYS_ADMIN):
# the same script then works as a smoke test on machines that can and stays quiet elsewhere.
if [ "$(id -u)" -ne 0 ]; then echo "skip: network namespaces need root (uid $(id -u))"; exit 0; fi
if ! command -v ip >/dev/null; then echo "skip: the ip command (iproute2) is missing"; exit 0; fi

if [ -z "${BIN:-}" ]; then
    Bootstrap/install-deps.sh
    swift build --product subnet-dht >&2
    BIN="$(swift build --show-bin-path)/subnet-dht"
fi
[ -x "$BIN" ] || die "no subnet-dht binary at $BIN"
logs=${LOGS:-$(mktemp -d -t subnet-dht-netns.XXXXXX)}
mkdir -p "$logs"

node_pids=()      # subnet-dht run processes, stopped first so their OFFLINE still gets out
helper_pids=()    # packet delayers (netfilter fallback), stopped after the nodes
sleeper=""        # the final sleep, ended on teardown

# Teardown runs on every exit path (normal end, Ctrl-C, SIGTERM, a failing command under set -e),
# and tolerates a half-built network: every step ignores what is not there.
teardown() {
    local status=$?
    trap - EXIT INT TERM
    set +e
    if [ ${#node_pids[@]} -gt 0 ]; then
        echo "stopping ${#node_pids[@]} nodes (each publishes OFFLINE first)" >&2
        kill -TERM "${node_pids[@]}" 2>/dev/null
        # Bounded wait (15 s) for the OFFLINE publication, then SIGKILL whatever is left.
        for _ in $(seq 1 150); do
            local alive=0
            for pid in "${node_pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
            [ "$alive" -eq 0 ] && break
            sleep 0.1
        done
        kill -KILL "${node_pids[@]}" 2>/dev/null
    fi
    [ ${#helper_pids[@]} -gt 0 ] && kill -KILL "${helper_pids[@]}" 2>/dev/null
    [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null
    # Reap only what was killed above: a bare `wait` would also wait for unrelated children.
    local children=("${node_pids[@]}" "${helper_pids[@]}")
    [ ${#children[@]} -gt 0 ] && wait "${children[@]}" 2>/dev/null
    # Deleting a namespace removes its veth ends, bridge, qdiscs and firewall rules with it.
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$prefix-"); do
        ip netns delete "$ns" 2>/dev/null || echo "netns-testnet: could not delete namespace $ns" >&2
    done
    echo "logs kept in $logs" >&2
    exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT     # exit runs the EXIT trap, so teardown happens exactly once
trap 'exit 143' TERM

# The bridge lives in a namespace of its own so that the root namespace is never touched.
if ! ip netns add "$bridge_ns" 2>"$logs/netns.err"; then
    echo "skip: cannot create network namespaces ($(head -1 "$logs/netns.err"))"
    exit 0
fi
ip -n "$bridge_ns" link add br0 type bridge
ip -n "$bridge_ns" link set br0 up

add_host() {                       # add_host INDEX: namespace, veth to the bridge, address, lo
    local i=$1 ns="$prefix-h$1"
    ip netns add "$ns"
    # Both veth ends are created directly inside their namespaces.
    ip link add eth0 netns "$ns" type veth peer name "h$i" netns "$bridge_ns"
    ip -n "$bridge_ns" link set "h$i" master br0
    ip -n "$bridge_ns" link set "h$i" up
    ip -n "$ns" link set lo up     # the node and the one-shot commands also use loopback
    ip -n "$ns" addr add "10.77.0.$((i + 1))/16" dev eth0
    ip -n "$ns" link set eth0 up
}

# Packet delay without netem: netfilter hands every incoming packet of a host to this queue,
# which gives it back (NF_ACCEPT) DELAY ms later. Standard library only; run inside the host's
# namespace, it binds NFQUEUE 0 of that namespace through a netlink socket.
read -r -d '' delayer <<'PY' || true
import select, socket, struct, sys, time
from collections import deque
queue, delay = 0, float(sys.argv[1]) / 1000
PACKET, VERDICT, CONFIG = 0x300, 0x301, 0x302            # NFNL_SUBSYS_QUEUE << 8 | message
def attr(kind, payload):
    return struct.pack("=HH", 4 + len(payload), kind) + payload + b"\0" * (-len(payload) % 4)
def message(kind, flags, *attrs):
    body = struct.pack("=BBH", 0, 0, socket.htons(queue)) + b"".join(attrs)
    return struct.pack("=IHHII", 16 + len(body), kind, 1 | flags, 0, 0) + body
sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)  # NETLINK_NETFILTER
sock.setsockopt(270, 5, 1)                                     # NETLINK_NO_ENOBUFS
sock.bind((0, 0))
sock.send(message(CONFIG, 4, attr(1, struct.pack("=BxH", 1, 0))))                      # bind the queue
sock.send(message(CONFIG, 4, attr(2, struct.pack(">IB", 0, 1))))                       # metadata only
sock.send(message(CONFIG, 4, attr(5, struct.pack(">I", 1)), attr(4, struct.pack(">I", 1))))  # fail open
held = deque()
while True:
    now = time.monotonic()
    while held and held[0][0] <= now:
        sock.send(message(VERDICT, 0, attr(2, struct.pack(">II", 1, held.popleft()[1]))))
    if not select.select([sock], [], [], max(0.0, held[0][0] - now) if held else None)[0]:
        continue
    data, offset = sock.recv(1 << 16), 0
    while offset + 16 <= len(data):
        length, kind = struct.unpack_from("=IH", data, offset)
        if kind == 2 and struct.unpack_from("=i", data, offset + 16)[0]:
            sys.exit("nfqueue refused a configuration message")
        if kind == PACKET:
            at = offset + 20
            while at + 4 <= offset + length:
                alen, atype = struct.unpack_from("=HH", data, at)
                if atype & 0x3FFF == 1:                        # NFQA_PACKET_HDR: the packet id
                    held.append((time.monotonic() + delay, struct.unpack_from(">I", data, at + 4)[0]))
                at += (alen + 3) & ~3
        offset += (length + 3) & ~3
PY

fault_mode=none
add_faults() {                     # add_faults INDEX: LOSS % and DELAY ms on that host
    local i=$1 ns="$prefix-h$1"
    [ "$loss" = 0 ] && [ "$delay" = 0 ] && return 0
    local netem=(netem)
    [ "$loss" != 0 ] && netem+=(loss "$loss%")
    [ "$delay" != 0 ] && netem+=(delay "${delay}ms")
    if [ "$fault_mode" != netfilter ] && tc -n "$ns" qdisc add dev eth0 root "${netem[@]}" 2>"$logs/netem.err"; then
        fault_mode=netem
        return 0
    fi
    [ "$fault_mode" = netem ] && die "netem worked on an earlier host but not on $ns: $(cat "$logs/netem.err")"
    # Kernels built without CONFIG_NET_SCH_NETEM: the same figures with netfilter on the
    # host's ingress (each packet still crosses exactly one lossy, delayed hop). Ingress, because
    # a packet dropped on output makes the sender's sendmsg fail with EPERM, which netem never does.
    if [ "$fault_mode" = none ]; then
        echo "netns-testnet: netem unavailable ($(head -1 "$logs/netem.err")); using iptables statistic + NFQUEUE on each host's ingress" >&2
        if ! command -v iptables >/dev/null; then
            echo "netns-testnet: installing iptables" >&2
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iptables >/dev/null
        fi
        fault_mode=netfilter
    fi
    if [ "$loss" != 0 ]; then
        ip netns exec "$ns" iptables -w -A INPUT -i eth0 -m statistic --mode random \
            --probability "$(awk -v p="$loss" 'BEGIN { printf "%.4f", p / 100 }')" -j DROP
    fi
    if [ "$delay" != 0 ]; then
        ip netns exec "$ns" python3 -c "$delayer" "$delay" >"$logs/delayer-$i.log" 2>&1 &
        helper_pids+=($!)
        # --queue-bypass: should the delayer die, packets pass instead of being dropped.
        ip netns exec "$ns" iptables -w -A INPUT -i eth0 -j NFQUEUE --queue-num 0 --queue-bypass
    fi
}

for ((i = 0; i < nodes; i++)); do
    add_host "$i"
    add_faults "$i"
done
[ "$fault_mode" != none ] && echo "faults: loss ${loss}% delay ${delay} ms on every host ($fault_mode)" >&2

beat=(--heartbeat-interval "$interval" --heartbeat-ttl "$ttl" --prune-interval "$prune" --log-level "${LOG_LEVEL:-info}")
for ((i = 0; i < nodes; i++)); do
    role=worker
    args=(run --host "10.77.0.$((i + 1))" --port "$port" --identity "$logs/node-$i.identity"
          --name "node-$i" "${beat[@]}")
    if [ "$i" -eq 0 ]; then role=bootstrap; else args+=(--bootstrap "$bootstrap"); fi
    ip netns exec "$prefix-h$i" "$BIN" "${args[@]}" --role "$role" >"$logs/node-$i.out" 2>"$logs/node-$i.err" &
    node_pids+=($!)
done

# Wait (bounded, 10 s per node at most) for every node's `listening` line.
for ((i = 0; i < nodes; i++)); do
    for _ in $(seq 1 100); do
        [ -s "$logs/node-$i.out" ] && break
        kill -0 "${node_pids[$i]}" 2>/dev/null || die "node $i exited: $(tail -3 "$logs/node-$i.err")"
        sleep 0.1
    done
    [ -s "$logs/node-$i.out" ] || die "node $i printed no listening line within 10 s"
done
echo "bootstrap $bootstrap"

# A one-shot reader inside host 0 (it binds there, so it reaches 10.77.0.0/16); `timeout` keeps
# every read bounded whatever the network does.
records() { timeout 30 ip netns exec "$prefix-h0" "$BIN" records node --bootstrap "$bootstrap" "$@"; }

# Wait until every node's heartbeat is ONLINE, bounded by 3 TTLs (at least 30 s): loss and
# delay slow the joins down, a broken network must not hang the script.
limit=$(( 3 * ${ttl%.*} > 30 ? 3 * ${ttl%.*} : 30 ))
online=0
started=$SECONDS
while [ $((SECONDS - started)) -lt "$limit" ]; do
    online=$(records --json 2>/dev/null | grep -o '"state" *: *"online"' | wc -l || true)
    [ "$online" -ge "$nodes" ] && break
    sleep 0.5
done
[ "$online" -ge "$nodes" ] || echo "netns-testnet: only $online of $nodes online after $limit s" >&2
echo "heartbeat records under \`node\` ($online of $nodes online):"
records | sed 's/^/  /'
echo "inspect them yourself:  ip netns exec $prefix-h0 $BIN records node --bootstrap $bootstrap   (or: peers --watch)"
echo "hosts: $prefix-h0 .. $prefix-h$((nodes - 1)) (10.77.0.1 .. 10.77.0.$nodes), bridge in $bridge_ns"
echo "logs in $logs; Ctrl-C stops every node and deletes the namespaces"

# `sleep & wait` rather than a plain sleep: bash runs a trap only between commands, and wait
# returns at once on a signal, so SIGTERM tears down immediately.
if [ -n "${DURATION:-}" ]; then
    sleep "$DURATION" & sleeper=$!
    wait "$sleeper"
else
    while :; do sleep 3600 & sleeper=$!; wait "$sleeper"; done
fi
