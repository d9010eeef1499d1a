/// Identifies an operation (lookup, store, ping) started on the core, so the shell can
/// match its completion to the caller waiting for it.
public struct OperationID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public var description: String { "op\(rawValue)" }
}

/// Why an operation produced no answer.
public enum OperationFailure: Error, Hashable, Sendable {
    case timedOut
    case error(KRPCError)
}

public enum OperationResult: Sendable {
    case ping(Result<NodeID, OperationFailure>)
    case lookup(LookupResult)
    case store(StoreResult)
}

/// A mutable BEP 44 item as found on the network; its signature was verified by the core.
public struct MutableItem: Hashable, Sendable {
    public var publicKey: [UInt8]
    public var salt: [UInt8]
    public var seq: Int64
    public var value: BValue
    public var signature: [UInt8]
}

/// What an iterative lookup found.
public struct LookupResult: Sendable {
    public var target: NodeID
    /// The closest nodes that answered, nearest first (at most k).
    public var closest: [NodeInfo]
    /// Hops from the starting nodes to the deepest node that answered.
    public var rounds: Int
    /// Queries sent, retries included.
    public var messagesSent: Int
    /// Responses received.
    public var responses: Int
    /// `get_peers`: peers found.
    public var peers: [Endpoint]
    /// `get` of an immutable item: its value, checked against the target.
    public var immutableValue: BValue?
    /// `get` of a mutable item: the valid item with the highest `seq`.
    public var mutableItem: MutableItem?
    /// `get_records`: every verified record, unexpired when its replica served it, the highest
    /// `seq` per owner, ascending by owner key.
    public var records: [KeyedRecord]
}

/// What a store (announce_peer, put) achieved after its lookup.
public struct StoreResult: Sendable {
    public var lookup: LookupResult
    /// Nodes that acknowledged the store.
    public var accepted: [NodeInfo]
    /// Nodes that answered with an error, and the error.
    public var rejected: [(NodeInfo, KRPCError)]
    /// Nodes that did not answer.
    public var unanswered: [NodeInfo]
    /// The seq that was stored (mutable puts), useful when the core chose it.
    public var seq: Int64?
}
