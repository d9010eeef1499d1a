import SubnetDHTCore
/// What the status page remembers between reads of the node: the live peers, the peers that
/// left recently, the node's counters and the live-peer history. Pure: the recorder feeds it
/// each read and the time, so tests run it on a virtual clock. Bounded: at most
/// `maxDepartures` departures, none older than `departureRetention`, and a bounded history.
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
    private(set) var live: [Peer] = []
    private(set) var departures: [PublicKey: Departure] = [:]
    private(set) var history: LivePeerHistory
    private(set) var routingTableSize = 0
    private(set) var storedRecords = 0
    /// When the last reading came in.
    private(set) var updated: Timestamp?

    init(settings: Settings = Settings()) {
        self.settings = settings
        history = LivePeerHistory(interval: settings.historyInterval, window: settings.historyWindow)
    }

    /// Folds in one reading taken at `now`. A peer live before and absent now left (if the
    /// reading holds its OFFLINE heartbeat) or expired (if it holds nothing of it); a departed
    /// peer that is live again is no longer departed.
    mutating func apply(_ reading: SubnetReading, now: Timestamp) {
        let liveOwners = Set(reading.live.map(\.owner))
        for peer in reading.offline where !liveOwners.contains(peer.owner) {
            let earlier = departures[peer.owner]
            departures[peer.owner] = Departure(peer: peer, reason: .left, noticed: earlier?.noticed ?? now)
        }
        for peer in live where !liveOwners.contains(peer.owner) && departures[peer.owner] == nil {
            departures[peer.owner] = Departure(peer: peer, reason: .expired, noticed: now)
        }
        for owner in liveOwners { departures[owner] = nil }
        live = reading.live
        routingTableSize = reading.routingTableSize
        storedRecords = reading.storedRecords
        updated = now
        history.record(reading.live.count, at: now)
        dropOldDepartures(now: now)
    }

    /// The page at `now`: the peers of the last reading, as the node's view had them. They are
    /// not filtered again by `now`: the view keeps records close to their expiry and refreshes
    /// them every prune interval, so a reading up to a refresh interval old, filtered by a
    /// later clock, would drop live peers the view itself still lists.
    func status(now: Timestamp, key: String, owner: PublicKey, info: ServerInfo?) -> SubnetStatus {
        SubnetStatus(now: now, updated: updated, key: key, owner: owner, info: info,
                     live: live, departed: departedNewestFirst,
                     routingTableSize: routingTableSize, storedRecords: storedRecords, history: history)
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
