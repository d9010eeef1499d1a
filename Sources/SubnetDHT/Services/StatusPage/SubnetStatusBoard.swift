import SubnetDHTCore
/// What the status page shows between requests: the live peers, the peers that left recently
/// and how, the node's counters and the live-peer history. Pure: the recorder feeds it the
/// node's membership events as they come and periodic readings, each with the time, so tests
/// run it on a virtual clock. Who is live and who departed, and why, comes from the events
/// alone, as the node's view decided it; readings bring the counters and the renewed records
/// of peers already live. Bounded: at most `maxDepartures` departures, none older than
/// `departureRetention`, and a bounded history.
struct SubnetStatusBoard: Sendable {
    struct Settings: Sendable {
        /// A departed peer stays on the page this long: as long as the chart looks back.
        var departureRetention: Duration = .seconds(3600)
        /// At most this many departed peers are kept, the oldest dropped first: a page lists them all.
        var maxDepartures = 100
        var historyInterval: Duration = .seconds(30)
        var historyWindow: Duration = .seconds(3600)
    }

    let settings: Settings
    /// Ascending by owner key, as the node's view lists them.
    private(set) var live: [Peer] = []
    private(set) var departures: [PublicKey: Departure] = [:]
    private(set) var history: LivePeerHistory
    private(set) var routingTableSize = 0
    private(set) var storedRecords = 0
    /// When the node last told the board something, by an event or a reading.
    private(set) var updated: Timestamp?

    init(settings: Settings = Settings()) {
        self.settings = settings
        history = LivePeerHistory(interval: settings.historyInterval, window: settings.historyWindow)
    }

    /// Starts from a reading of the node's view, so a page opened on a node that has run for a
    /// while is right at once: its live peers, and its unexpired departed records as
    /// departures noticed now (left when OFFLINE, else expired).
    mutating func begin(with reading: SubnetReading, now: Timestamp) {
        live = reading.live.sorted { $0.owner < $1.owner }
        let liveOwners = Set(live.map(\.owner))
        for peer in reading.departed where !liveOwners.contains(peer.owner) {
            departures[peer.owner] = Departure(peer: peer, reason: peer.info.state == .offline ? .left : .expired, noticed: now)
        }
        refresh(with: reading, now: now)
    }

    /// One change of the node's view, seen at `now`.
    mutating func apply(_ event: MembershipEvent, now: Timestamp) {
        switch event {
        case .joined(let peer), .stateChanged(let peer, _), .changed(let peer):
            departures[peer.owner] = nil
            setLive(peer)
        case .left(let peer):
            removeLive(peer.owner)
            departures[peer.owner] = Departure(peer: peer, reason: .left, noticed: now)
        case .expired(let peer):
            removeLive(peer.owner)
            departures[peer.owner] = Departure(peer: peer, reason: .expired, noticed: now)
        }
        noted(now)
    }

    /// A reading of the node taken at `now`: its counters, and the newest records of the peers
    /// the events made live (each heartbeat renews a record without an event). Who is live is
    /// not taken from it: a reading can come before or after events not yet applied, and the
    /// events say who came and went.
    mutating func refresh(with reading: SubnetReading, now: Timestamp) {
        let newest = Dictionary(reading.live.map { ($0.owner, $0) }, uniquingKeysWith: { first, _ in first })
        for index in live.indices {
            if let renewed = newest[live[index].owner], renewed.seq > live[index].seq { live[index] = renewed }
        }
        routingTableSize = reading.status.routingTableSize
        storedRecords = reading.status.storedRecords
        noted(now)
    }

    /// The page at `now`: the live peers as the node's view has them. They are not filtered
    /// again by `now`: the view keeps records close to their expiry until its next read, and
    /// the page shows the view, whose expired event comes with that read.
    func status(now: Timestamp, key: String, owner: PublicKey, info: ServerInfo?) -> SubnetStatus {
        SubnetStatus(now: now, updated: updated, key: key, owner: owner, info: info,
                     live: live, departed: departedNewestFirst,
                     routingTableSize: routingTableSize, storedRecords: storedRecords, history: history)
    }

    /// Adds or renews a live peer; an older record than the one held is ignored.
    private mutating func setLive(_ peer: Peer) {
        let index = live.partitioningIndex { $0.owner >= peer.owner }
        if index < live.count, live[index].owner == peer.owner {
            if peer.seq >= live[index].seq { live[index] = peer }
        } else {
            live.insert(peer, at: index)
        }
    }

    private mutating func removeLive(_ owner: PublicKey) {
        let index = live.partitioningIndex { $0.owner >= owner }
        if index < live.count, live[index].owner == owner { live.remove(at: index) }
    }

    private mutating func noted(_ now: Timestamp) {
        updated = now
        history.record(live.count, at: now)
        dropOldDepartures(now: now)
    }

    private var departedNewestFirst: [Departure] {
        departures.values.sorted { $0.noticed != $1.noticed ? $0.noticed > $1.noticed : $0.peer.owner < $1.peer.owner }
    }

    private mutating func dropOldDepartures(now: Timestamp) {
        let cutoff = now - settings.departureRetention
        departures = departures.filter { $0.value.noticed > cutoff }
        let excess = departures.count - max(0, settings.maxDepartures)
        if excess > 0 {
            for departure in departedNewestFirst.suffix(excess) { departures[departure.peer.owner] = nil }
        }
    }
}

private extension Array {
    /// The first index whose element satisfies `belongs`, for an array where those that do
    /// follow those that do not (binary search).
    func partitioningIndex(where belongs: (Element) -> Bool) -> Int {
        var low = 0, high = count
        while low < high {
            let middle = (low + high) / 2
            if belongs(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
