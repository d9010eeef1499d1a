/// What the core asks its shell to do.
public enum CoreEffect: Sendable {
    case send([UInt8], to: Endpoint)
    case event(CoreEvent)
}

public enum CoreEvent: Sendable {
    case operationFinished(OperationID, OperationResult)
    /// Someone joined, changed state, left or expired in the watched key's live view.
    case membership(MembershipEvent)
    /// The node's own heartbeat was announced (or failed to be), with the announce's latency.
    case heartbeatPublished(ok: Bool, latency: Duration)
    /// The pruner dropped expired records and dead or failing routing-table entries.
    case pruned(records: Int, peers: Int)
}
