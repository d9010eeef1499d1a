/// Limits and lifetimes for the peer and item stores. Every cap exists so that a flood of
/// announces or puts costs the node bounded memory, whatever the sender does.
public struct StorageSettings: Hashable, Sendable {
    /// BEP 5: clients re-announce about every 30 minutes, so a peer that missed one is gone.
    public var peerTTL: Duration
    /// One swarm cannot take the whole store; a popular torrent keeps its most recent peers.
    public var maxPeersPerInfoHash: Int
    /// Bounds the number of swarms an attacker can open with made-up info-hashes.
    public var maxInfoHashes: Int
    /// 50 compact IPv6 peers (900 bytes) still fit a 1,400-byte response next to `nodes`.
    public var maxPeersReturned: Int
    /// BEP 44: items live 2 hours after their last put unless re-put.
    public var itemTTL: Duration
    /// Memory bound: at most about 20 MB of values at the 1,000-byte limit.
    public var maxItems: Int
    /// BEP 44 limit on the bencoded value; the caller checks it (error 205) before storing.
    public var maxValueSize: Int

    public init(
        peerTTL: Duration = .seconds(30 * 60),
        maxPeersPerInfoHash: Int = 1_000,
        maxInfoHashes: Int = 10_000,
        maxPeersReturned: Int = 50,
        itemTTL: Duration = .seconds(2 * 60 * 60),
        maxItems: Int = 20_000,
        maxValueSize: Int = 1_000
    ) {
        self.peerTTL = peerTTL
        self.maxPeersPerInfoHash = maxPeersPerInfoHash
        self.maxInfoHashes = maxInfoHashes
        self.maxPeersReturned = maxPeersReturned
        self.itemTTL = itemTTL
        self.maxItems = maxItems
        self.maxValueSize = maxValueSize
    }
}
