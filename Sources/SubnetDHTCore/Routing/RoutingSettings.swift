/// Every limit and interval of the routing table, each with the reason for its default.
public struct RoutingSettings: Sendable, Equatable {
    /// k: BEP 5's bucket size; every Mainline client uses 8, and lookups return k nodes.
    public var bucketSize: Int
    /// One spare per slot, so a bucket that loses all its nodes refills without a lookup.
    public var replacementCacheSize: Int
    /// BEP 5: a node is good if it answered us within the last 15 minutes.
    public var goodWindow: Duration
    /// Two consecutive timeouts, as libtorrent and BEP 5's "multiple failures": one lost
    /// datagram must not evict a node, a dead one must go quickly.
    public var maxFailures: Int
    /// BEP 5: a bucket untouched for 15 minutes is refreshed with a lookup inside its range.
    public var refreshInterval: Duration
    /// One node per IP in the whole table (an IP held by another id is refused), as
    /// libtorrent's `restrict_routing_ips`: stops one host from filling the table with
    /// Sybil ids. Loopback and LAN test networks, where every node shares an IP, turn it off.
    public var restrictIPs: Bool

    public init(
        bucketSize: Int = 8,
        replacementCacheSize: Int = 8,
        goodWindow: Duration = .seconds(15 * 60),
        maxFailures: Int = 2,
        refreshInterval: Duration = .seconds(15 * 60),
        restrictIPs: Bool = true
    ) {
        precondition(bucketSize > 0 && replacementCacheSize >= 0 && maxFailures > 0)
        self.bucketSize = bucketSize
        self.replacementCacheSize = replacementCacheSize
        self.goodWindow = goodWindow
        self.maxFailures = maxFailures
        self.refreshInterval = refreshInterval
        self.restrictIPs = restrictIPs
    }
}
