/// A routing-table entry: a node we know by id and address, with what we have seen of it.
public struct Contact: Hashable, Sendable {
    public var id: NodeID
    public var endpoint: Endpoint
    /// Last time it answered one of our queries; nil if it never did (it only queried us).
    public var lastResponse: Timestamp?
    /// Last time it sent us a query.
    public var lastQueriedUs: Timestamp?
    /// Consecutive unanswered queries.
    public var failures: Int
    public var firstSeen: Timestamp

    public init(id: NodeID, endpoint: Endpoint, lastResponse: Timestamp? = nil, lastQueriedUs: Timestamp? = nil,
                failures: Int = 0, firstSeen: Timestamp) {
        self.id = id
        self.endpoint = endpoint
        self.lastResponse = lastResponse
        self.lastQueriedUs = lastQueriedUs
        self.failures = failures
        self.firstSeen = firstSeen
    }

    /// BEP 5's classification: good if it answered recently (or answered once and queries us
    /// recently), bad after repeated timeouts, questionable otherwise.
    public func status(now: Timestamp, settings: RoutingSettings) -> ContactStatus {
        if failures >= settings.maxFailures { return .bad }
        if let lastResponse {
            if now - lastResponse <= settings.goodWindow { return .good }
            if let lastQueriedUs, now - lastQueriedUs <= settings.goodWindow { return .good }
        }
        return .questionable
    }

    var lastSeen: Timestamp { max(lastResponse ?? firstSeen, lastQueriedUs ?? firstSeen) }
}

public enum ContactStatus: Hashable, Sendable {
    case good, questionable, bad
}

public enum InsertOutcome: Hashable, Sendable {
    case added
    case updated
    /// Kept as a spare; the core should ping `pingCandidate` (a questionable contact, or the
    /// new node itself when it is unverified) so the table can decide.
    case cached(pingCandidate: Contact?)
    case rejected(RejectReason)
}

public enum RejectReason: Hashable, Sendable {
    case localID
    case ipRestricted
    case endpointMismatch
}
