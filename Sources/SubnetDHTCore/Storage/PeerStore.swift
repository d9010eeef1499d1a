/// BEP 5 peer storage: `announce_peer` adds, `get_peers` reads. A pure value: the caller
/// passes the time and runs `expire(now:)` periodically; nothing here reads a clock.
///
/// Announcements live `peerTTL` after the last one: a peer is live while less than
/// `peerTTL` has passed since its last announce. Caps: `maxPeersPerInfoHash` per swarm (a
/// new peer replaces the oldest announcement) and `maxInfoHashes` swarms (a new info-hash
/// replaces the swarm whose newest announcement is oldest, i.e. the least active one).
public struct PeerStore: Sendable {
    public let settings: StorageSettings

    private var swarms: [NodeID: Swarm] = [:]
    /// Swarms by their oldest announcement: `expire` visits only swarms with something to drop.
    private var byOldestAnnounce = TimeIndex<NodeID>()
    /// Swarms by their newest announcement: the front is the least active, evicted at the cap.
    private var byNewestAnnounce = TimeIndex<NodeID>()

    /// Peers held, including expired ones `expire(now:)` has not dropped yet.
    public private(set) var peerCount = 0
    /// Info-hashes held, including ones whose peers have all expired but not been dropped.
    public var infoHashCount: Int { swarms.count }

    public init(settings: StorageSettings = StorageSettings()) {
        self.settings = settings
    }

    /// Peers held for `infoHash`, including expired ones not yet dropped.
    public func peerCount(for infoHash: NodeID) -> Int { swarms[infoHash]?.count ?? 0 }

    /// Records that `peer` announced `infoHash` at `now`, or refreshes its announcement.
    public mutating func announce(infoHash: NodeID, peer: Endpoint, seed: Bool = false, now: Timestamp) {
        // A zero cap means peer storage is switched off.
        guard settings.maxPeersPerInfoHash > 0, settings.maxInfoHashes > 0 else { return }
        if swarms[infoHash] == nil, swarms.count >= settings.maxInfoHashes, let idle = byNewestAnnounce.first {
            drop(idle.key)
        }
        peerCount += swarms[infoHash, default: Swarm()].announce(
            peer, seed: seed, now: now, capacity: settings.maxPeersPerInfoHash)
        // `max` so that a clock stepping back does not make an active swarm look idle.
        byNewestAnnounce.schedule(infoHash, at: max(byNewestAnnounce.time(of: infoHash) ?? now, now))
        syncOldestAnnounce(of: infoHash)
    }

    /// Up to `limit` (never more than `maxPeersReturned`) unexpired peers of one family for
    /// `infoHash`, a random subset drawn from `generator` when there are more, as BEP 5
    /// suggests so that every peer gets found. `excludingSeeds` serves BEP 33's `noseed`.
    public func peers<G: RandomNumberGenerator>(
        for infoHash: NodeID, family v4: Bool, limit: Int, now: Timestamp, excludingSeeds: Bool = false,
        using generator: inout G
    ) -> [Endpoint] {
        guard let swarm = swarms[infoHash] else { return [] }
        return swarm.sample(
            v4: v4, announcedAfter: now - settings.peerTTL, excludingSeeds: excludingSeeds,
            limit: min(limit, settings.maxPeersReturned), using: &generator)
    }

    /// Drops announcements older than `peerTTL`, and swarms left empty. Costs O(log n) per
    /// dropped peer and per swarm touched; swarms with nothing expired are not visited.
    public mutating func expire(now: Timestamp) {
        let cutoff = now - settings.peerTTL
        while let next = byOldestAnnounce.first, next.time <= cutoff {
            peerCount -= swarms[next.key]?.expire(announcedAtOrBefore: cutoff) ?? 0
            syncOldestAnnounce(of: next.key)
        }
    }

    /// Re-files a swarm under its current oldest announcement, or drops it when empty.
    private mutating func syncOldestAnnounce(of infoHash: NodeID) {
        if let oldest = swarms[infoHash]?.oldestAnnounce {
            byOldestAnnounce.schedule(infoHash, at: oldest)
        } else {
            drop(infoHash)
        }
    }

    private mutating func drop(_ infoHash: NodeID) {
        if let swarm = swarms.removeValue(forKey: infoHash) { peerCount -= swarm.count }
        byOldestAnnounce.remove(infoHash)
        byNewestAnnounce.remove(infoHash)
    }
}
