import SubnetDHT

/// Datagrams and bytes one watched node received and sent, by query method, and the
/// wall-clock time its core spent on what it received.
struct TrafficCounter {
    var received: [String: Int] = [:]
    var receivedBytes: [String: Int] = [:]
    /// Core time spent on each kind received.
    var cpu: [String: Duration] = [:]
    /// `get_records` queries from nodes that run a full heartbeat (their view reads), the
    /// bytes of the answers sent back to them and the core time they took.
    var getRecordsFromReaders = 0
    var bytesToReaders = 0
    var cpuForReaders: Duration = .zero
    var sent = 0
    var sentBytes = 0

    var totalCPU: Duration { cpu.values.reduce(.zero, +) }

    var totalReceived: Int { received.values.reduce(0, +) }
    var totalReceivedBytes: Int { receivedBytes.values.reduce(0, +) }
}

/// The traffic of the nodes a heartbeat run watches (the replicas of `node`), counted from the
/// network's traffic observer. Which peers are readers is this simulation's own notion, so it
/// lives here and not in the network.
final class TrafficCounters {
    private(set) var counters: [Endpoint: TrafficCounter] = [:]
    /// Nodes whose `get_records` count as view reads.
    var readers: Set<Endpoint> = []

    /// Counts the traffic of `endpoint` on `network` from now on, from zero.
    func watch(_ endpoint: Endpoint, on network: InMemoryNetwork) {
        counters[endpoint] = TrafficCounter()
        network.observeTraffic(of: endpoint) { [unowned self] datagram in
            switch datagram {
            case .received(let bytes, let source, let coreTime):
                count(Self.classify(bytes), bytes: bytes.count, from: source, at: endpoint, cpu: coreTime)
            case .sent(let bytes, let destination):
                counters[endpoint]!.sent += 1
                counters[endpoint]!.sentBytes += bytes.count
                if readers.contains(destination) { counters[endpoint]!.bytesToReaders += bytes.count }
            }
        }
    }

    func stopWatching(_ endpoint: Endpoint, on network: InMemoryNetwork) {
        network.stopObservingTraffic(of: endpoint)
        counters[endpoint] = nil
    }

    subscript(endpoint: Endpoint) -> TrafficCounter? { counters[endpoint] }

    private func count(_ kind: String, bytes: Int, from source: Endpoint, at destination: Endpoint, cpu: Duration) {
        counters[destination]!.received[kind, default: 0] += 1
        counters[destination]!.receivedBytes[kind, default: 0] += bytes
        counters[destination]!.cpu[kind, default: .zero] += cpu
        if kind == "get_records", readers.contains(source) {
            counters[destination]!.getRecordsFromReaders += 1
            counters[destination]!.cpuForReaders += cpu
        }
    }

    private static let queryMarker = Array("1:y1:q".utf8)
    private static let methods: [(name: String, marker: [UInt8])] = [
        "announce_record", "get_records", "get_record_changes", "find_node", "get_peers", "ping", "announce_peer", "get", "put",
    ].map { ($0, Array("1:q\($0.utf8.count):\($0)".utf8)) }
    /// Keys that tell answers apart: a feed answer carries its cursor, a records page its
    /// records (plain or compressed), a lookup step its nodes.
    private static let answers: [(name: String, marker: [UInt8])] = [
        ("feed answer", Array("3:ver".utf8)), ("records answer", Array("2:rz".utf8)), ("records answer", Array("7:records".utf8)),
        ("nodes answer", Array("5:nodes".utf8)),
    ]

    /// The query method a datagram carries, or the kind of answer.
    private static func classify(_ bytes: [UInt8]) -> String {
        guard contains(bytes, queryMarker) else { return answers.first { contains(bytes, $0.marker) }?.name ?? "other answer or error" }
        return methods.first { contains(bytes, $0.marker) }?.name ?? "other query"
    }

    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count, let first = needle.first else { return false }
        var index = 0
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == first {
                var match = true
                for offset in 1..<needle.count where haystack[index + offset] != needle[offset] {
                    match = false
                    break
                }
                if match { return true }
            }
            index += 1
        }
        return false
    }
}
