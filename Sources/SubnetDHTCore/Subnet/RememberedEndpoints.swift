/// Endpoints remembered for `memory` after they were added, at most `capacity` of them (the
/// earliest added goes first when full): a node shown any number of them keeps only so many.
/// Serves the replicas caught hiding the node's own record (`MembershipWatch.hiders`) and the
/// replicas that showed they hold it (`StoreChecks`).
struct RememberedEndpoints: Sendable {
    let memory: Duration
    let capacity: Int
    private var added: [Endpoint: Timestamp] = [:]

    init(memory: Duration, capacity: Int) {
        self.memory = memory
        self.capacity = capacity
    }

    mutating func add(_ endpoint: Endpoint, now: Timestamp) {
        added = added.filter { now - $0.value < memory }
        if added[endpoint] == nil, added.count >= capacity, let earliest = added.min(by: { $0.value < $1.value })?.key {
            added[earliest] = nil
        }
        added[endpoint] = now
    }

    func contains(_ endpoint: Endpoint, now: Timestamp) -> Bool {
        added[endpoint].map { now - $0 < memory } ?? false
    }

    /// Whether none is remembered at `now`.
    func isEmpty(now: Timestamp) -> Bool {
        !added.values.contains { now - $0 < memory }
    }

    /// The endpoints still remembered at `now`.
    func current(now: Timestamp) -> Set<Endpoint> {
        Set(added.lazy.filter { now - $0.value < memory }.map(\.key))
    }
}
