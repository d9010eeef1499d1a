import SubnetDHTCore
/// A peer that was in the subnet and is not any more.
struct Departure: Hashable, Sendable {
    enum Reason: String, Hashable, Sendable {
        /// It published OFFLINE: it left on purpose.
        case left
        /// Its heartbeat expired without an OFFLINE: it died or was cut off.
        case expired
    }

    /// Its newest heartbeat seen.
    var peer: Peer
    var reason: Reason
    /// When this node's view first showed it gone.
    var noticed: Timestamp
}

/// What the status page shows at one moment: the subnet as this node sees it.
struct SubnetStatus: Sendable {
    /// When the page is rendered; ages and expiries count from here.
    var now: Timestamp
    /// When the node last told the page something (an event or a reading); nil before the first.
    var updated: Timestamp?
    /// The heartbeat key the view follows.
    var key: String
    /// This node's own key and heartbeat (nil before it has one).
    var owner: PublicKey
    var info: ServerInfo?
    /// Live in the node's view, ascending by owner key.
    var live: [Peer]
    /// Most recent first.
    var departed: [Departure]
    var routingTableSize: Int
    var storedRecords: Int
    var history: LivePeerHistory

    /// Live peers per role, most first (then by name).
    var countsByRole: [(label: String, count: Int)] {
        Self.counts(live.map(\.info.role))
    }

    /// Live peers per state (online, joining), then the departed per reason (left, expired).
    var countsByState: [(label: String, count: Int)] {
        Self.counts(live.map(\.info.state.label)) + Self.counts(departed.map(\.reason.rawValue))
    }

    /// How long ago `peer` published its heartbeat: docs/PROTOCOL.md 5 makes `seq` the
    /// publish time in milliseconds. Nil when `seq` is no such time (another implementation's
    /// counter, or more than a minute ahead of our clock).
    func heartbeatAge(of peer: Peer) -> Duration? {
        let plausible = Timestamp(seconds: 946_684_800)...(now + .seconds(60))  // since 2000
        guard plausible.contains(Timestamp(milliseconds: peer.seq)) else { return nil }
        return max(.zero, now - Timestamp(milliseconds: peer.seq))
    }

    private static func counts(_ labels: [String]) -> [(label: String, count: Int)] {
        var counts: [String: Int] = [:]
        for label in labels { counts[label, default: 0] += 1 }
        return counts.map { (label: $0.key, count: $0.value) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : $0.label < $1.label }
    }
}
