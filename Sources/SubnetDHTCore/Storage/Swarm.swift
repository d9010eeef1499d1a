/// The peers announced for one info-hash, with their last announce time and seed flag.
struct Swarm: Sendable {
    /// Peers by last announce: the front is the first to expire and the first evicted.
    private var byAnnounce = TimeIndex<Endpoint>()
    /// BEP 33: peers that announced as seeds, so `noseed` requests can skip them.
    private var seeds: Set<Endpoint> = []

    var count: Int { byAnnounce.count }
    var isEmpty: Bool { byAnnounce.isEmpty }
    var oldestAnnounce: Timestamp? { byAnnounce.first?.time }

    /// Adds `peer` or refreshes its announcement. A new peer in a swarm already holding
    /// `capacity` peers replaces the oldest announcement: recent announcers are the likeliest
    /// to still be online. Returns the change in the number of peers (0 or 1).
    mutating func announce(_ peer: Endpoint, seed: Bool, now: Timestamp, capacity: Int) -> Int {
        var added = 0
        if byAnnounce.time(of: peer) == nil {
            if byAnnounce.count >= capacity, let evicted = byAnnounce.popFirst() {
                seeds.remove(evicted.key)
            } else {
                added = 1
            }
        }
        byAnnounce.schedule(peer, at: now)
        if seed { seeds.insert(peer) } else { seeds.remove(peer) }
        return added
    }

    /// Drops every peer whose last announce is at or before `cutoff`; returns how many.
    /// Costs O(log n) per dropped peer, nothing for the rest.
    mutating func expire(announcedAtOrBefore cutoff: Timestamp) -> Int {
        var removed = 0
        while let oldest = byAnnounce.first, oldest.time <= cutoff {
            byAnnounce.popFirst()
            seeds.remove(oldest.key)
            removed += 1
        }
        return removed
    }

    /// A uniform random sample of at most `limit` peers of one address family announced
    /// after `cutoff`, by reservoir sampling: one pass, no copy of the whole swarm.
    func sample<G: RandomNumberGenerator>(
        v4: Bool, announcedAfter cutoff: Timestamp, excludingSeeds: Bool, limit: Int, using generator: inout G
    ) -> [Endpoint] {
        guard limit > 0 else { return [] }
        var chosen: [Endpoint] = []
        var eligible = 0
        for (peer, time) in byAnnounce.entries
        where time > cutoff && peer.address.isIPv4 == v4 && !(excludingSeeds && seeds.contains(peer)) {
            eligible += 1
            if chosen.count < limit {
                chosen.append(peer)
            } else {
                let slot = Int.random(in: 0..<eligible, using: &generator)
                if slot < limit { chosen[slot] = peer }
            }
        }
        return chosen
    }
}
