/// Whether a contact serves keyed records, as far as this node has seen: the verdicts of
/// docs/PROTOCOL.md 7.2.
public enum RecordSupport: Sendable, Hashable {
    /// Nothing seen yet, or its `plain` verdict has expired: asked with `get_records` once.
    case unknown
    /// Said `kr` in a response, or answered a keyed-record query as one.
    case capable
    /// Ignored a keyed-record query, refused it as unknown (204), or answered it as a
    /// `find_node` (libtorrent): asked only BEP 5 queries until the verdict expires.
    case plain
}

/// How many routing-table contacts are of each `RecordSupport`, for operators.
public struct RecordSupportCounts: Sendable, Hashable {
    public var capable = 0
    public var plain = 0
    public var unknown = 0

    public init(capable: Int = 0, plain: Int = 0, unknown: Int = 0) {
        self.capable = capable
        self.plain = plain
        self.unknown = unknown
    }
}

/// What each contact is known to answer beyond BEP 5, learnt from its answers and silences
/// (docs/PROTOCOL.md 7, keyed records beside plain Mainline nodes). The core reads it
/// to pick the query a contact can answer, to choose record replicas among capable nodes,
/// and to judge a contact's health only by queries it is known to support: BEP 5 permits a
/// node to ignore methods it does not know, and such silence is no sign of a dead node.
///
/// Keyed by endpoint, not id: a verdict is about the program answering at that address, and
/// lookup candidates outside the routing table need one too. Only answers to our own queries
/// teach it (their transaction ids prove the source), never incoming queries, which anyone
/// can send under another node's address.
struct ContactCapabilities {
    private struct Entry {
        /// Nil: unknown. A date: plain until then.
        var plainUntil: Timestamp?
        var servesRecords = false
        /// Answered a BEP 44 `get` or `put`: from then on its silence to one counts.
        var answeredBEP44 = false

        var isEmpty: Bool { plainUntil == nil && !servesRecords && !answeredBEP44 }
    }

    /// Contacts remembered at most; past it one that does not serve records is forgotten
    /// (an arbitrary one when all do), which costs only a query to learn it again.
    let capacity: Int
    /// How long a `plain` verdict holds before the contact is asked once more (it may have
    /// been upgraded, or its silence may have been loss).
    let plainMemory: Duration
    private var entries: [Endpoint: Entry] = [:]
    /// Entries holding a plain verdict, lapsed ones not yet swept included: none means no
    /// contact needs to be steered around, which answers can check for nothing.
    private(set) var plainVerdicts = 0

    init(capacity: Int, plainMemory: Duration) {
        self.capacity = max(1, capacity)
        self.plainMemory = plainMemory
    }

    var count: Int { entries.count }

    func recordSupport(of endpoint: Endpoint, now: Timestamp) -> RecordSupport {
        guard let entry = entries[endpoint] else { return .unknown }
        if entry.servesRecords { return .capable }
        if let until = entry.plainUntil, now < until { return .plain }
        return .unknown
    }

    func hasAnsweredBEP44(_ endpoint: Endpoint) -> Bool { entries[endpoint]?.answeredBEP44 == true }

    /// Whether `endpoint` is known to answer `method`, so that its silence to it counts
    /// against the contact's health. BEP 5's methods always are; BEP 44's once the contact
    /// has answered one; keyed-record queries once it is known to serve records; another
    /// implementation's methods never.
    func isKnownToSupport(_ method: QueryMethod, at endpoint: Endpoint, now: Timestamp) -> Bool {
        switch method {
        case .ping, .findNode, .getPeers, .announcePeer: true
        case .get, .put: hasAnsweredBEP44(endpoint)
        case .getRecords, .announceRecord, .getRecordChanges: recordSupport(of: endpoint, now: now) == .capable
        case .unknown: false
        }
    }

    /// It said `kr`, or answered a keyed-record query as one: this outranks any silence.
    mutating func noteServesRecords(_ endpoint: Endpoint) {
        update(endpoint) { entry in
            entry.servesRecords = true
            entry.plainUntil = nil
        }
    }

    /// It ignored or refused a keyed-record query. A contact known to serve records keeps
    /// that standing (its silence is a failure like any other, judged by the routing table).
    mutating func noteIgnoresRecords(_ endpoint: Endpoint, now: Timestamp) {
        guard entries[endpoint]?.servesRecords != true else { return }
        let until = now + plainMemory
        update(endpoint) { $0.plainUntil = until }
    }

    mutating func noteAnsweredBEP44(_ endpoint: Endpoint) {
        guard entries[endpoint]?.answeredBEP44 != true else { return }
        update(endpoint) { $0.answeredBEP44 = true }
    }

    /// Forgets expired `plain` verdicts that were all an entry held.
    mutating func sweep(now: Timestamp) {
        for (endpoint, entry) in entries {
            guard let until = entry.plainUntil, now >= until else { continue }
            var stale = entry
            stale.plainUntil = nil
            plainVerdicts -= 1
            entries[endpoint] = stale.isEmpty ? nil : stale
        }
    }

    private mutating func update(_ endpoint: Endpoint, _ change: (inout Entry) -> Void) {
        if entries[endpoint] == nil, entries.count >= capacity {
            // Capable contacts are the few worth keeping where plain ones abound.
            let evicted = entries.remove(at: entries.firstIndex { !$0.value.servesRecords } ?? entries.startIndex)
            if evicted.value.plainUntil != nil { plainVerdicts -= 1 }
        }
        let wasPlain = entries[endpoint]?.plainUntil != nil
        change(&entries[endpoint, default: Entry()])
        let isPlain = entries[endpoint]?.plainUntil != nil
        if wasPlain != isPlain { plainVerdicts += isPlain ? 1 : -1 }
    }
}
