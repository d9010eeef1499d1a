/// BEP 5's three states of a known node.
public enum ContactStatus: Sendable, Hashable {
    /// Answered recently (or answered once and still queries us): safe to hand out.
    case good
    /// Not heard from lately: ping it before trusting or evicting it.
    case questionable
    /// Timed out repeatedly: the first to be replaced.
    case bad
}

/// A node the routing table knows, with the bookkeeping BEP 5's node states need.
///
/// Equality and hashing use only `id` and `endpoint`: a contact is the node it names, and
/// its timestamps and failure count change with time without making it another node.
public struct Contact: Sendable, Hashable, CustomStringConvertible {
    public var id: NodeID
    public var endpoint: Endpoint
    /// When it last answered one of our queries; nil while unverified.
    public var lastResponse: Timestamp?
    /// When it last sent us a query.
    public var lastQueriedUs: Timestamp?
    /// Consecutive timeouts since its last response.
    public var failures: Int
    public var firstSeen: Timestamp

    public init(
        id: NodeID,
        endpoint: Endpoint,
        firstSeen: Timestamp,
        lastResponse: Timestamp? = nil,
        lastQueriedUs: Timestamp? = nil,
        failures: Int = 0
    ) {
        self.id = id
        self.endpoint = endpoint
        self.firstSeen = firstSeen
        self.lastResponse = lastResponse
        self.lastQueriedUs = lastQueriedUs
        self.failures = failures
    }

    /// A node that never answered us may be a spoofed source address.
    public var isVerified: Bool { lastResponse != nil }

    public func isBad(settings: RoutingSettings) -> Bool { failures >= settings.maxFailures }

    /// BEP 5: good if it answered within the window, or answered ever and queried us within
    /// it; bad after `maxFailures` consecutive timeouts (checked first: timeouts are newer
    /// evidence than the last answer, since a response resets them); else questionable.
    public func status(now: Timestamp, settings: RoutingSettings) -> ContactStatus {
        if isBad(settings: settings) { return .bad }
        guard let lastResponse else { return .questionable }
        if now - lastResponse <= settings.goodWindow { return .good }
        if let lastQueriedUs, now - lastQueriedUs <= settings.goodWindow { return .good }
        return .questionable
    }

    public static func == (lhs: Contact, rhs: Contact) -> Bool {
        lhs.id == rhs.id && lhs.endpoint == rhs.endpoint
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(id)
        hasher.combine(endpoint)
    }

    public var description: String { "\(id)@\(endpoint)" }
}
