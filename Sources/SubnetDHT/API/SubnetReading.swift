import SubnetDHTCore

/// One read of a running node for its HTTP port, taken in one hop onto its event loop: its
/// status (counters, routing table, last heartbeat) and its live view's peers.
struct SubnetReading: Sendable {
    var status: NodeStatus
    /// Unexpired heartbeats not OFFLINE, ascending by owner key.
    var live: [Peer]
    /// The view's other records: OFFLINE heartbeats not yet expired (peers that said they
    /// were leaving), and any heartbeat that expired since the view last dropped expired ones.
    var departed: [Peer]

    static func read(from node: DHTNode) async throws -> SubnetReading {
        try await node.subnetReading()
    }
}
