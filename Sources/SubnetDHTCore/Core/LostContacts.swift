/// Contacts the pruner removed because they stopped answering or their heartbeat expired:
/// the pruner pings a few of them every round for a while, so that when a partition heals,
/// or a laptop wakes, the two sides find each other again. Without this a node keeps only
/// the contacts of its own side, refreshes only through them, and the halves never merge
/// (memberlist and Serf reconnect to failed members for the same reason).
struct LostContacts {
    struct Entry {
        var id: NodeID
        var lostAt: Timestamp
        var lastProbe: Timestamp?
    }

    /// Lost contacts remembered at most; the longest lost go first.
    let capacity: Int
    /// How long a lost contact is probed before it is given up.
    let retention: Duration
    private(set) var entries: [Endpoint: Entry] = [:]

    init(capacity: Int = 256, retention: Duration = .seconds(3600)) {
        self.capacity = capacity
        self.retention = retention
    }

    mutating func add(id: NodeID, endpoint: Endpoint, now: Timestamp) {
        if entries[endpoint] == nil, entries.count >= capacity,
            let oldest = entries.min(by: { $0.value.lostAt < $1.value.lostAt })?.key {
            entries[oldest] = nil
        }
        entries[endpoint] = Entry(id: id, lostAt: now, lastProbe: nil)
    }

    /// It answered (it is back in the routing table) or left on purpose.
    mutating func remove(_ endpoint: Endpoint) { entries[endpoint] = nil }

    /// Up to `count` contacts to probe now, least recently probed first; forgets the expired.
    mutating func takeProbes(count: Int, now: Timestamp) -> [(endpoint: Endpoint, id: NodeID)] {
        entries = entries.filter { now - $0.value.lostAt < retention }
        let chosen = entries.sorted { ($0.value.lastProbe ?? $0.value.lostAt) < ($1.value.lastProbe ?? $1.value.lostAt) }
            .prefix(count)
        for (endpoint, _) in chosen { entries[endpoint]?.lastProbe = now }
        return chosen.map { (endpoint: $0.key, id: $0.value.id) }
    }
}
