/// A subnet member as its newest heartbeat describes it.
public struct Peer: Hashable, Sendable {
    /// The key that signed the heartbeat: the peer's identity.
    public var owner: PublicKey
    /// What the heartbeat says: state, role, address, throughput.
    public var info: ServerInfo
    /// The heartbeat's sequence number; a newer heartbeat has a larger one.
    public var seq: Int64
    /// Absolute expiry of the heartbeat, Unix seconds.
    public var expires: Int64

    /// A peer from a heartbeat's fields.
    public init(owner: PublicKey, info: ServerInfo, seq: Int64, expires: Int64) {
        self.owner = owner
        self.info = info
        self.seq = seq
        self.expires = expires
    }

    /// docs/PROTOCOL.md 4: live while the newest heartbeat is unexpired and not OFFLINE.
    public func isLive(at now: Timestamp) -> Bool {
        info.state != .offline && !isExpired(at: now)
    }

    /// True once the heartbeat's expiry has come.
    public func isExpired(at now: Timestamp) -> Bool { expires * 1000 <= now.milliseconds }

    /// The peer a `node` record describes, or nil when its value is not a ServerInfo.
    public init?(record: KeyedRecord) {
        guard let info = try? ServerInfo(bencoded: record.value) else { return nil }
        self.init(owner: record.owner, info: info, seq: record.seq, expires: record.expires)
    }
}

/// A change in who is in the subnet.
public enum MembershipEvent: Hashable, Sendable {
    /// First seen, or seen again after leaving or expiring, in a state other than OFFLINE.
    case joined(Peer)
    /// A live peer moved between JOINING and ONLINE.
    case stateChanged(Peer, from: ServerInfo.State)
    /// A live peer, in the same state, published other content: role, name, address,
    /// throughput, version, relay or subnet fields (`info`). A heartbeat that only refreshed,
    /// or changed only its round-trip times (`pings`, new every heartbeat), is no change.
    case changed(Peer)
    /// The peer said OFFLINE: it left on purpose.
    case left(Peer)
    /// The peer's heartbeat expired without an OFFLINE: it died or was cut off.
    case expired(Peer)

    /// The peer the event is about, as its newest heartbeat describes it.
    public var peer: Peer {
        switch self {
        case .joined(let peer), .stateChanged(let peer, _), .changed(let peer), .left(let peer), .expired(let peer): peer
        }
    }
}

/// Who is in the subnet, built from `node` records read from the network, and what changed
/// since the last read. Pure: the core feeds it reads and the clock.
///
/// A peer read in full (`apply`) lives until its record's own expiry. A peer held through
/// record feeds (`hold`) is *vouched for*: its replicas keep it while its heartbeats refresh
/// them, and those refreshes never reach the reader (docs/PROTOCOL.md 3.2), so its record's
/// expiry says nothing; it goes when its feed releases it (`release`).
struct MembershipView: Sendable {
    private(set) var peers: [PublicKey: Peer] = [:]
    private var vouched: Set<PublicKey> = []
    /// The key's policy on this node, when it has one: a record it would refuse to store is
    /// not shown either, whoever stored it (a replica without the policy, or with another).
    private var policy: KeyPolicy?

    init(policy: KeyPolicy? = nil) {
        self.policy = policy
    }

    /// Folds in a complete read of the key. Owners missing from the read keep their last
    /// record until it expires: a read can miss a replica, an expiry cannot be wrong.
    mutating func apply(_ records: [KeyedRecord], now: Timestamp) -> [MembershipEvent] {
        var events = [MembershipEvent]()
        for record in records where admits(record) {
            guard let peer = Peer(record: record), !peer.isExpired(at: now) else { continue }
            events += observe(peer, now: now)
        }
        return events + expire(now: now)
    }

    /// A record a feed holds: the owner stays until the feed releases it.
    mutating func hold(_ record: KeyedRecord, now: Timestamp) -> [MembershipEvent] {
        guard admits(record), let peer = Peer(record: record) else { return [] }
        let events = observe(peer, now: now)
        if peers[peer.owner] != nil { vouched.insert(peer.owner) }
        return events
    }

    /// No replica vouches for the owner any more: it is gone, reported as expired if it was live.
    mutating func release(_ owner: PublicKey, now: Timestamp) -> [MembershipEvent] {
        guard vouched.remove(owner) != nil, let peer = peers.removeValue(forKey: owner) else { return [] }
        return peer.info.state != .offline ? [.expired(peer)] : []
    }

    private func admits(_ record: KeyedRecord) -> Bool {
        policy?.refusal(of: record) == nil
    }

    /// Judges by `policy` from now on: live peers it refuses go, reported as expired (their
    /// records no longer count, whatever their expiry says); departed ones are dropped quietly.
    mutating func admit(_ policy: KeyPolicy?, now: Timestamp) -> [MembershipEvent] {
        self.policy = policy
        guard let policy else { return [] }
        var events = [MembershipEvent]()
        for (owner, peer) in peers where policy.refusal(owner: owner, value: peer.info.bencoded) != nil {
            // Judged live before its feed's vouching goes: a held peer's record has expired on
            // paper (refreshes never reach a reader), and it was live all the same.
            if isLive(peer, now: now) { events.append(.expired(peer)) }
            peers[owner] = nil
            vouched.remove(owner)
        }
        return events.sorted { $0.peer.owner < $1.peer.owner }
    }

    /// One peer's newest record.
    mutating func observe(_ peer: Peer, now: Timestamp) -> [MembershipEvent] {
        let previous = peers[peer.owner]
        if let previous, previous.seq >= peer.seq { return [] }
        let wasLive = previous.map { isLive($0, now: now) } ?? false
        peers[peer.owner] = peer
        switch (wasLive, peer.info.state) {
        case (false, .offline):
            return []
        case (false, _):
            return [.joined(peer)]
        case (true, .offline):
            return [.left(peer)]
        case (true, let state):
            guard let previous else { return [] }
            if previous.info.state != state { return [.stateChanged(peer, from: previous.info.state)] }
            return previous.info.hasSameContent(as: peer.info) ? [] : [.changed(peer)]
        }
    }

    /// Drops peers whose heartbeat expired; a live one going this way is reported as expired.
    /// Vouched peers are their feed's to release.
    mutating func expire(now: Timestamp) -> [MembershipEvent] {
        var events = [MembershipEvent]()
        for (owner, peer) in peers where isGone(peer, now: now) {
            peers[owner] = nil
            if peer.info.state != .offline { events.append(.expired(peer)) }
        }
        return events.sorted { $0.peer.owner < $1.peer.owner }
    }

    func livePeers(now: Timestamp) -> [Peer] {
        peers.values.filter { isLive($0, now: now) }.sorted { $0.owner < $1.owner }
    }

    /// Peers known to be gone (OFFLINE records not yet expired).
    func departedPeers(now: Timestamp) -> [Peer] {
        peers.values.filter { !isLive($0, now: now) }.sorted { $0.owner < $1.owner }
    }

    private func isGone(_ peer: Peer, now: Timestamp) -> Bool {
        peer.isExpired(at: now) && !vouched.contains(peer.owner)
    }

    private func isLive(_ peer: Peer, now: Timestamp) -> Bool {
        peer.info.state != .offline && !isGone(peer, now: now)
    }
}
