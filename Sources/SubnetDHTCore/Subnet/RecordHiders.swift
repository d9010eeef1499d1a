/// Replicas caught hiding this node's own record (docs/PROTOCOL.md 3.2): they acknowledged its
/// store, then read without it. For a while they only route: record lookups pass through them
/// but neither store on them nor read from them, so the node's heartbeat and its live view
/// move on to the next closest nodes. Bounded: a node can be shown only so many liars, and
/// a replica that lost the record in a restart is trusted again after `memory`.
struct RecordHiders: Sendable {
    /// How long a replica stays a hider after it was caught.
    let memory: Duration
    /// Hiders remembered at most; the one caught earliest goes first.
    let capacity: Int
    private(set) var caught: [Endpoint: Timestamp] = [:]

    init(memory: Duration = .seconds(600), capacity: Int = 256) {
        self.memory = memory
        self.capacity = capacity
    }

    mutating func add(_ endpoint: Endpoint, now: Timestamp) {
        caught = caught.filter { now - $0.value < memory }
        if caught[endpoint] == nil, caught.count >= capacity, let earliest = caught.min(by: { $0.value < $1.value })?.key {
            caught[earliest] = nil
        }
        caught[endpoint] = now
    }

    /// Whether no hider is remembered at `now`.
    func isEmpty(now: Timestamp) -> Bool {
        !caught.values.contains { now - $0 < memory }
    }

    /// The hiders still remembered at `now`.
    func current(now: Timestamp) -> Set<Endpoint> {
        Set(caught.lazy.filter { now - $0.value < memory }.map(\.key))
    }
}
