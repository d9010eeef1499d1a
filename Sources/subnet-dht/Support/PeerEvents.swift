import SubnetDHT

/// `peers --watch --json`: what changed between two reads of the heartbeat key, one JSON
/// object a line: `{"event": "joined" | "changed" | "left" | "expired", "peer": ROW}`, ROW the
/// same object `peers --json` prints.
struct PeerEvents {
    enum Kind: String {
        /// Live now, and not live (or unknown) at the read before.
        case joined
        /// Live at both reads, with a different state, role, name, address, throughput,
        /// version, relay or subnet fields (`info`); a heartbeat that only refreshed is no change.
        case changed
        /// Live before, and now its newest record says OFFLINE.
        case left
        /// Live before, and now no unexpired record says anything.
        case expired
    }

    /// The newest heartbeat of every owner at the last read, live or not.
    private var known: [PublicKey: Peer] = [:]

    /// The events from the last read to `records` (read at `now`), by owner; the first read
    /// reports every live peer as joined.
    mutating func update(with records: [KeyedRecord], now: Timestamp) -> [(kind: Kind, peer: Peer)] {
        var current = [PublicKey: Peer]()
        for peer in records.compactMap(Peer.init(record:)) where current[peer.owner].map({ $0.seq < peer.seq }) ?? true {
            current[peer.owner] = peer
        }
        var events = [(kind: Kind, peer: Peer)]()
        for owner in Set(known.keys).union(current.keys).sorted() {
            let before = known[owner].flatMap { $0.isLive(at: now) ? $0 : nil }
            let after = current[owner]
            switch (before, after) {
            case (nil, let peer?) where peer.isLive(at: now):
                events.append((.joined, peer))
            case (let old?, let peer?) where peer.isLive(at: now):
                if !old.info.hasSameContent(as: peer.info) { events.append((.changed, peer)) }
            case (.some, let peer?) where peer.info.state == .offline && !peer.isExpired(at: now):
                events.append((.left, peer))
            case (let old?, _):
                events.append((.expired, old))
            default:
                break
            }
        }
        known = current
        return events
    }

    /// The line of one event.
    static func line(_ kind: Kind, _ peer: Peer, now: Timestamp) -> String {
        #"{"event":"\#(kind.rawValue)","peer":\#(RecordListJSON.object(RecordRow(peer: peer), now: now))}"#
    }
}
