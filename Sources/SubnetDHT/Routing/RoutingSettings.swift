/// Routing-table limits and intervals, each with the reason for its default.
public struct RoutingSettings: Hashable, Sendable {
    /// k: contacts per bucket; 8 as in BEP 5 and libtorrent.
    public var bucketSize = 8
    /// Verified spares per bucket, promoted when a contact goes bad.
    public var replacementCacheSize = 8
    /// BEP 5: a node is good if it answered us within the last 15 minutes.
    public var goodWindow: Duration = .seconds(15 * 60)
    /// Consecutive timeouts after which a contact is bad: two, so one lost datagram is forgiven.
    public var maxFailures = 2
    /// BEP 5: refresh a bucket nobody touched for 15 minutes.
    public var refreshInterval: Duration = .seconds(15 * 60)
    /// At most one contact per IP address, so one host cannot fill the table with fake ids.
    /// Loopback and private test networks turn it off: every node there shares an address.
    public var restrictIPs = true

    public init() {}
}
