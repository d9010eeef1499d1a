/// Keeps the node from amplifying a spoofed flood: an answer to a requester that has not
/// shown it receives at its address is at most `factor` times the size of its query (QUIC's
/// rule, with 4 instead of 3 so that a plain `find_node` still gets its 8 nodes).
///
/// A requester shows it by answering one of our queries (our random transaction id came
/// back from that address), or by a store accepted with a write token (the token was sent
/// to its IP). Others that want a large answer, such as a one-shot reader
/// asking for a 1,000-byte item or a full page of records, pad their query (`pad`,
/// docs/PROTOCOL.md 1.2).
struct AmplificationLimit {
    /// Answer bytes allowed per query byte for an unverified requester.
    static let factor = 4
    /// Verified addresses remembered at most; the oldest go first.
    let capacity: Int
    /// How long an answer to us counts as proof.
    let lifetime: Duration
    private var verified: [Endpoint: Timestamp] = [:]

    init(capacity: Int = 8_192, lifetime: Duration = .seconds(30 * 60)) {
        self.capacity = capacity
        self.lifetime = lifetime
    }

    /// `endpoint` answered one of our queries, or stored with a valid write token.
    mutating func noteVerified(_ endpoint: Endpoint, now: Timestamp) {
        if verified[endpoint] == nil, verified.count >= capacity { evict(now: now) }
        verified[endpoint] = now
    }

    func isVerified(_ endpoint: Endpoint, now: Timestamp) -> Bool {
        guard let at = verified[endpoint] else { return false }
        return now - at < lifetime
    }

    /// The largest answer `endpoint` may get to a query of `requestSize` bytes.
    func responseLimit(for endpoint: Endpoint, requestSize: Int, maxResponseSize: Int, now: Timestamp) -> Int {
        isVerified(endpoint, now: now) ? maxResponseSize : min(maxResponseSize, requestSize * Self.factor)
    }

    /// The size our own query must reach so that a full answer fits the limit at a node
    /// that does not know us yet.
    static func paddedQuerySize(maxResponseSize: Int) -> Int {
        (maxResponseSize + factor - 1) / factor
    }

    /// Drops expired entries, then the oldest quarter if that was not enough.
    private mutating func evict(now: Timestamp) {
        verified = verified.filter { now - $0.value < lifetime }
        guard verified.count >= capacity else { return }
        let cutoff = verified.values.sorted()[verified.count / 4]
        verified = verified.filter { $0.value > cutoff }
    }
}
