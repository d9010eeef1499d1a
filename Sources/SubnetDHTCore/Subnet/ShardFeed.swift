/// One storage target of a watched key, kept by record feeds (docs/PROTOCOL.md 3.2) from a few
/// of its replicas (`homes`) instead of reading every record again each prune interval.
///
/// Each owner is held with the set of replicas that vouch for it: one that listed it in a full
/// read or sent its record as a change, and has not sent its removal since. An owner stays in
/// the view while any replica vouches for it, so one replica's false or early removal (a store
/// it missed, a lie) costs nothing while another holds the owner. A replica that stops
/// answering keeps vouching for `vouchTime` after its last answer, then its word lapses.
///
/// Pure: the core sends the queries this returns, hands back the answers, and turns the
/// changes of what is held into membership events.
struct ShardFeed: Sendable {
    /// A replica this reader follows.
    struct Replica: Sendable {
        var node: NodeInfo
        /// `since` for the next read: empty until a read completed (a full read then).
        var cursor: [UInt8] = []
        var read: Read?
        var lastAnswer: Timestamp?
        var failures = 0
        /// Completed reads in a row after which it lacked owners another home holds.
        var disagreements = 0
        /// Read in full once for disagreeing: disagreeing again, it is replaced.
        var reReadForDisagreeing = false
        /// The replica's count and digest of what it holds, from its latest read.
        var count: Int64?
        var digest: [UInt8]?

        init(node: NodeInfo) { self.node = node }
    }

    /// A read in progress from one replica: its pages so far.
    struct Read: Sendable {
        var since: [UInt8]
        var next: [UInt8]?
        var full = false
        var records: [BValue] = []
        var gone: [PublicKey] = []
        var pages = 0
        /// `after` of the page asked last: a `more` that repeats it makes no progress.
        var after: [UInt8]?
        /// `ownStoreRound` when the read began: it shows the stores acknowledged by then.
        var ownStoreRound = 0
    }

    /// An owner as held: its best record and who vouches for it.
    struct Held: Sendable {
        var record: KeyedRecord
        var vouchers: Set<Endpoint>
        /// The owner's default node id: a replica never holds the record of its own owner
        /// (an announcer does not store on itself), which is no sign of hiding.
        var ownerID: NodeID
        /// When this reader first held the owner: a replica is judged only on owners held long
        /// enough that an honest one has them too (`settled(_:vouchTime:now:)`).
        var heldSince: Timestamp
    }

    /// What one answer to a feed query led to.
    struct ReadOutcome: Sendable {
        /// The query for the read's next page, if any.
        var next: QueryMethod?
        /// What a completed read changed in what is held.
        var changes: [Change] = []
        /// The home was noticed lacking owners the others hold (docs/PROTOCOL.md 3.2): it is
        /// read in full; `avoided` when it still did after that and was replaced.
        var noticed = false
        var avoided = false
        /// A spot check found a replica holding owners this view lacks: it is followed now.
        var followsAnother = false
        /// The home acknowledged this reader's own record, then read without it: it hides
        /// records, and was replaced.
        var hidesOwnRecord: Endpoint?
    }

    /// Completed reads in a row a home may lack owners another home holds, while changes
    /// travel, before it is read in full, and again before it is replaced.
    static let patience = 3

    /// What a completed read changed in what is held.
    enum Change: Sendable {
        /// The owner is held with this record, new or newer than before.
        case held(KeyedRecord)
        /// No replica vouches for the owner any more.
        case released(PublicKey)
    }

    /// The reader's own store, a replica like the others: an announcer never stores on its
    /// own node, so in a small subnet some records are held only here.
    static let localVoucher = Endpoint(address: .v4(0), port: 0)

    let key: [UInt8]
    let target: NodeID
    private(set) var homes: [Replica] = []
    /// Replicas no longer read, and until when their word still counts.
    private var retired: [Endpoint: Timestamp] = [:]
    /// Record-capable nodes closest to the target, from the latest lookup or store.
    private(set) var candidates: [NodeInfo] = []
    private(set) var candidatesFoundAt: Timestamp?
    /// When the feed looks the replicas up itself next, and the wait after that: short while
    /// the node is young and its first lookups met few nodes, doubling to the refresh period.
    private var nextLookup: Timestamp?
    private var lookupDelay: Duration?
    /// Replicas that answered a feed query without a cursor: they have no feeds.
    private(set) var withoutFeeds: Set<Endpoint> = []
    /// Candidates that failed as homes since the last lookup: not chosen again until it.
    private var failed: Set<Endpoint> = []
    private(set) var held: [PublicKey: Held] = [:]
    var lookupInFlight: OperationID?
    /// The local store's cursor, like a replica's.
    private var localCursor: RecordFeedCursor?
    /// A replica not followed, asked for its summary alone (`dn`, `dg`): the check that the
    /// followed ones do not all hide the same owners.
    private(set) var spotCheck: NodeInfo?
    private var roundsSinceSpotCheck = 0
    /// Which candidate the next spot check asks: each in turn.
    private var spotCheckTurn = 0
    /// The reader's own record under this target, if it stores one (its heartbeat), and
    /// where the latest store of it was acknowledged, by store round: the one thing a reader
    /// knows every honest replica holds (docs/PROTOCOL.md 3.2).
    private var ownOwner: PublicKey?
    private var ownStores: [Endpoint: Int] = [:]
    private var ownStoreRound = 0
    /// When the latest store was acknowledged: past `vouchTime` after it the record may have
    /// expired (a node that was down, or could not store), and no replica owes it.
    private var ownStoredAt: Timestamp?
    /// Poll rounds between spot checks: a check adds a third of a round's queries this way.
    static let spotCheckEvery = 3

    init(key: [UInt8], target: NodeID) {
        self.key = key
        self.target = target
    }

    /// Whether the replicas must be looked up: none known, or the feed's own schedule is due.
    /// The schedule counts the feed's own lookups only, not the heartbeat's stores: those go
    /// to the target the same way each time, while the feed's lookups widen what a young
    /// node knows near the target (from `firstDelay`, doubling up to `refresh`).
    mutating func needsLookup(now: Timestamp, firstDelay: Duration, refresh: Duration) -> Bool {
        guard lookupInFlight == nil else { return false }
        if candidatesFoundAt == nil || homes.isEmpty || now >= nextLookup ?? now {
            let delay = lookupDelay.map { min($0 * 2, refresh) } ?? firstDelay
            lookupDelay = delay
            nextLookup = now + delay
            return true
        }
        return false
    }

    /// No replica reachable offers feeds: the key is read with full `get_records` reads instead.
    var hasNoFeeds: Bool { candidatesFoundAt != nil && homes.isEmpty && !candidates.isEmpty && candidates.allSatisfy { withoutFeeds.contains($0.endpoint) } }

    /// The closest record-capable nodes now known. Homes no longer among them are retired
    /// (their word counts for `vouchTime` more); free places go to candidates chosen at
    /// random, so that readers spread over the replicas.
    mutating func adopt(_ nodes: [NodeInfo], wanted: Int, vouchTime: Duration, now: Timestamp, generator: inout SplitMix64) {
        candidates = nodes
        candidatesFoundAt = now
        failed.removeAll()
        let current = Set(nodes.map(\.endpoint))
        for home in homes where !current.contains(home.node.endpoint) { retire(home, vouchTime: vouchTime, now: now) }
        homes.removeAll { !current.contains($0.node.endpoint) }
        fillHomes(wanted: wanted, generator: &generator)
    }

    private mutating func fillHomes(wanted: Int, generator: inout SplitMix64) {
        var free = candidates.filter { node in
            !withoutFeeds.contains(node.endpoint) && !failed.contains(node.endpoint) && !homes.contains { $0.node.endpoint == node.endpoint }
                && spotCheck?.endpoint != node.endpoint
        }
        while homes.count < wanted, !free.isEmpty {
            let pick = free.remove(at: Int(generator.next() % UInt64(free.count)))
            homes.append(follow(pick))
        }
    }

    /// A replica followed from now on, retired before or not. Its word is its own again: left
    /// among the retired, the next full read of any home (its own first one included) would
    /// withdraw what it vouches for while its change reads never list those owners again, and
    /// the reader would accuse it of hiding its own record.
    private mutating func follow(_ node: NodeInfo) -> Replica {
        retired[node.endpoint] = nil
        return Replica(node: node)
    }

    private mutating func retire(_ home: Replica, vouchTime: Duration, now: Timestamp) {
        retired[home.node.endpoint] = (home.lastAnswer ?? now) + vouchTime
    }

    /// The first query of a read for every home not reading already.
    mutating func startReads() -> [(node: NodeInfo, query: QueryMethod)] {
        var queries = [(node: NodeInfo, query: QueryMethod)]()
        for index in homes.indices where homes[index].read == nil {
            homes[index].read = Read(since: homes[index].cursor, ownStoreRound: ownStoreRound)
            queries.append((homes[index].node, .getRecordChanges(target: target, since: homes[index].cursor, after: nil)))
        }
        guard !queries.isEmpty else { return queries }
        roundsSinceSpotCheck += 1
        let unfollowed = candidates.filter { node in
            !withoutFeeds.contains(node.endpoint) && !failed.contains(node.endpoint) && !homes.contains { $0.node.endpoint == node.endpoint }
        }
        if spotCheck == nil, roundsSinceSpotCheck >= Self.spotCheckEvery, !unfollowed.isEmpty {
            roundsSinceSpotCheck = 0
            let pick = unfollowed[spotCheckTurn % unfollowed.count]
            spotCheckTurn &+= 1
            spotCheck = pick
            // `since` empty and `after` past every owner: a full answer with no record in it.
            queries.append((pick, spotCheckQuery))
        }
        return queries
    }

    /// A spot check's query: `since` empty and `after` past every owner, a full answer with
    /// no record in it.
    private var spotCheckQuery: QueryMethod { .getRecordChanges(target: target, since: [], after: QueryMethod.tokenOnlyCursor) }

    /// Whether `query`, sent to `endpoint`, is what a read or the spot check in flight waits
    /// for: its answer counts, and its retries are still wanted. A replica may be asked more
    /// than once in a row in different parts (spot-checked, then followed; followed, let go,
    /// followed again), so an answer is matched to what was asked, not only to who answers:
    /// a late answer of one part must not pass for another's. A spot check's empty answer
    /// taken as a new home's first read made that home vouch for nothing, and the reader
    /// accused it of hiding its own record.
    func awaits(_ query: QueryMethod?, from endpoint: Endpoint) -> Bool {
        query != nil && query == awaitedQuery(from: endpoint)
    }

    /// The query whose answer from `endpoint` a read or the spot check in flight waits for.
    func awaitedQuery(from endpoint: Endpoint) -> QueryMethod? {
        if spotCheck?.endpoint == endpoint { return spotCheckQuery }
        guard let read = homes.first(where: { $0.node.endpoint == endpoint })?.read else { return nil }
        return .getRecordChanges(target: target, since: read.since, after: read.after)
    }

    /// A spot check's answer: a replica that holds more owners than every followed replica
    /// together tells of owners hidden from this view, and is followed in place of the
    /// followed replica that holds the fewest.
    private mutating func spotChecked(_ node: NodeInfo, body: ResponseBody?, vouchTime: Duration, now: Timestamp) -> ReadOutcome {
        spotCheck = nil
        if let body, body.feedCursor == nil { withoutFeeds.insert(node.endpoint) }
        guard let body, body.feedCursor != nil, let count = body.memberCount, let digest = body.memberDigest,
            !homes.contains(where: { $0.digest == digest }), Self.isMany(Int(clamping: count) - held.count, of: held.count),
            let fewest = homes.indices.min(by: { (homes[$0].count ?? 0) < (homes[$1].count ?? 0) })
        else { return ReadOutcome() }
        retire(homes[fewest], vouchTime: vouchTime, now: now)
        homes[fewest] = follow(node)
        var outcome = ReadOutcome()
        outcome.noticed = true
        outcome.followsAnother = true
        return outcome
    }

    /// A page of a read from `endpoint` arrived, or its query failed (`body` nil): the answer to
    /// `asked`, ignored unless a read or the spot check awaits it. Returns the query for the
    /// next page, if any, and the changes a completed read made.
    mutating func answered(from endpoint: Endpoint, asked: QueryMethod?, body: ResponseBody?, wanted: Int, vouchTime: Duration,
                           maxPages: Int, now: Timestamp, generator: inout SplitMix64) -> ReadOutcome {
        guard awaits(asked, from: endpoint) else { return ReadOutcome() }
        if let check = spotCheck, check.endpoint == endpoint { return spotChecked(check, body: body, vouchTime: vouchTime, now: now) }
        guard let index = homes.firstIndex(where: { $0.node.endpoint == endpoint }), var read = homes[index].read else { return ReadOutcome() }
        // Taken out while it grows: appending to records the home still shared copied them
        // all on every page, which made a read of many pages quadratic. Put back to go on.
        homes[index].read = nil
        // A `more` that repeats the `after` asked: not one change fits even a padded page, so
        // the read cannot finish. It fails as an unanswered one does; the cursor stays.
        guard let body, body.more == nil || body.more != read.after else {
            homes[index].read = nil
            homes[index].failures += 1
            if homes[index].failures >= 2 { replace(index, wanted: wanted, vouchTime: vouchTime, now: now, generator: &generator) }
            return ReadOutcome()
        }
        guard let cursor = body.feedCursor else {
            // An older SubnetDHT node or a plain one: no feeds here.
            withoutFeeds.insert(endpoint)
            replace(index, wanted: wanted, vouchTime: vouchTime, now: now, generator: &generator)
            return ReadOutcome()
        }
        if read.pages == 0 {
            read.next = cursor
            read.full = body.isFullRead
            homes[index].count = body.memberCount
            homes[index].digest = body.memberDigest
        } else if body.isFullRead, !read.full {
            // The cursor fell behind the replica's memory mid-read: start again from nothing.
            homes[index].read = nil
            homes[index].cursor = []
            return ReadOutcome()
        }
        read.pages += 1
        read.records += RecordPage.entries(of: body)
        if let gone = body.gone, gone.count % PublicKey.byteCount == 0 {
            read.gone += stride(from: 0, to: gone.count, by: PublicKey.byteCount).compactMap {
                PublicKey(bytes: Array(gone[$0..<($0 + PublicKey.byteCount)]))
            }
        }
        if let more = body.more, read.pages < maxPages {
            read.after = more
            homes[index].read = read
            return ReadOutcome(next: .getRecordChanges(target: target, since: read.since, after: more))
        }
        homes[index].read = nil
        homes[index].failures = 0
        homes[index].lastAnswer = now
        homes[index].cursor = read.next ?? []
        var records = [KeyedRecord]()
        for wire in read.records {
            guard let record = try? KeyedRecord(wire: wire, key: key), !record.isExpired(at: now) else { continue }
            records.append(record)
        }
        var changes = apply(records: records, gone: read.gone, full: read.full, from: endpoint, verified: false, now: now)
        // A new home has vouched for all it holds: replicas retired before it now say nothing.
        if read.full, !retired.isEmpty {
            let lapsed = Set(retired.keys)
            retired.removeAll()
            changes += withdraw(lapsed)
        }
        var outcome = ReadOutcome(changes: changes)
        if hidesOwnRecord(endpoint, readFromRound: read.ownStoreRound, vouchTime: vouchTime, now: now) {
            outcome.hidesOwnRecord = endpoint
            replace(index, wanted: wanted, vouchTime: vouchTime, now: now, generator: &generator)
            return outcome
        }
        judge(index, outcome: &outcome, wanted: wanted, vouchTime: vouchTime, now: now, generator: &generator)
        return outcome
    }

    /// The reader's own record was stored (acknowledged) at `endpoints`.
    mutating func ownRecordStored(by owner: PublicKey, at endpoints: [Endpoint], now: Timestamp) {
        ownOwner = owner
        ownStoredAt = now
        ownStoreRound += 1
        ownStores = Dictionary(endpoints.map { ($0, ownStoreRound) }, uniquingKeysWith: max)
    }

    /// Whether `endpoint`, which acknowledged the reader's own record before the read that
    /// just completed began, does not vouch for it after that read. An honest replica sends
    /// a record it took since the cursor as a change, or listed it already (a refresh), so
    /// this needs no other replica's word and no patience: it is a lie, or a store lost in a
    /// restart, and either way the replica is no place to read or store this target.
    private func hidesOwnRecord(_ endpoint: Endpoint, readFromRound round: Int, vouchTime: Duration, now: Timestamp) -> Bool {
        guard let owner = ownOwner, let stored = ownStores[endpoint], round >= stored,
            let storedAt = ownStoredAt, now - storedAt < vouchTime else { return false }
        return held[owner]?.vouchers.contains(endpoint) != true
    }

    /// After a completed read: a home that reports another set than every other home, and
    /// lacks owners one of them holds, for `patience` reads in a row, is read in full; if it
    /// still does after that, it is replaced. The owners it hid stay in the view meanwhile, on
    /// the other homes' word.
    private mutating func judge(_ index: Int, outcome: inout ReadOutcome, wanted: Int, vouchTime: Duration, now: Timestamp,
                                generator: inout SplitMix64) {
        let home = homes[index]
        let others = homes.filter { $0.node.endpoint != home.node.endpoint && $0.digest != nil }
        let agrees = others.isEmpty || others.contains { $0.digest == home.digest && $0.count == home.count }
        // Only when the summaries differ is what is held scanned.
        let otherEndpoints = Set(others.map(\.node.endpoint))
        var lacked = 0, othersHold = 0
        if !agrees {
            for entry in held.values where !entry.vouchers.isDisjoint(with: otherEndpoints) && entry.ownerID != home.node.id
                && Self.settled(entry, vouchTime: vouchTime, now: now) {
                othersHold += 1
                if !entry.vouchers.contains(home.node.endpoint) { lacked += 1 }
            }
        }
        guard Self.isMany(lacked, of: othersHold) else {
            homes[index].disagreements = 0
            if agrees { homes[index].reReadForDisagreeing = false }
            return
        }
        homes[index].disagreements += 1
        guard homes[index].disagreements >= Self.patience else { return }
        homes[index].disagreements = 0
        outcome.noticed = true
        // An honest replica may lack a few owners whose stores went to a slightly different set
        // of nodes; one that still lacks a quarter of what the others hold (3 owners at least)
        // after a full read is hiding them, and is no longer read. The owners stay on the
        // others' word either way.
        // A full read is made once per disagreement, not again while it lasts.
        if !home.reReadForDisagreeing {
            homes[index].reReadForDisagreeing = true
            homes[index].cursor = []
        } else if lacked >= 3, lacked * 4 >= othersHold {
            outcome.avoided = true
            replace(index, wanted: wanted, vouchTime: vouchTime, now: now, generator: &generator)
        }
    }

    /// Whether `difference` owners, of `total`, are worth acting on: 3 at least, and 1 % of a
    /// large set. Honest replicas differ by a few owners whose stores went to other nodes, and
    /// while changes travel; acting means a full read, which at 10,000 owners is 2 MB, and at
    /// 1 % churn per interval every read of every replica differed by one or two.
    static func isMany(_ difference: Int, of total: Int) -> Bool {
        difference >= max(3, total / 100)
    }

    /// Whether `entry` can tell an honest replica from one that hides: held for a heartbeat
    /// interval (a third of `vouchTime`, the TTL) and not expired. Replicas answer at different
    /// moments, so a join or a death between two answers makes their sets differ for a while;
    /// at 10,000 peers with 1 % churn that happened on nearly every read, and each time a
    /// replica was read in full (10,000 records) for it.
    private static func settled(_ entry: Held, vouchTime: Duration, now: Timestamp) -> Bool {
        !entry.record.isExpired(at: now) && now - entry.heldSince >= vouchTime / 3
    }

    /// What the reader's own store holds under the target, read as a feed like a replica's.
    mutating func readLocal(_ store: RecordStore, now: Timestamp) -> [Change] {
        if let cursor = localCursor, let changes = store.changes(target: target, since: cursor, after: nil, limit: .max) {
            localCursor = store.feedCursor
            let records = changes.compactMap(\.current?.record)
            let gone = changes.filter { $0.current == nil }.map(\.owner)
            return apply(records: records, gone: gone, full: false, from: Self.localVoucher, verified: true, now: now)
        }
        localCursor = store.feedCursor
        let records = store.records(target: target, after: nil, limit: .max, now: now)
        return apply(records: records, gone: [], full: true, from: Self.localVoucher, verified: true, now: now)
    }

    /// Replicas whose word has lapsed (retired ones past their time, homes silent for
    /// `vouchTime`) stop vouching; returns the owners no one vouches for any more.
    mutating func lapse(vouchTime: Duration, now: Timestamp) -> [Change] {
        var lapsed = Set(retired.filter { $0.value <= now }.keys)
        for endpoint in lapsed { retired[endpoint] = nil }
        for index in homes.indices {
            guard let last = homes[index].lastAnswer, last + vouchTime <= now else { continue }
            lapsed.insert(homes[index].node.endpoint)
            // What it vouched for is forgotten, so its next read must list everything again.
            // A read still in flight (the node was suspended or cut off mid-read) is dropped:
            // finishing it from its old cursor would list only the changes since, and leave
            // every owner that only refreshed out of the view for good.
            homes[index].cursor = []
            homes[index].lastAnswer = nil
            homes[index].read = nil
        }
        return lapsed.isEmpty ? [] : withdraw(lapsed)
    }

    /// A home that failed or has no feeds makes way for another candidate.
    private mutating func replace(_ index: Int, wanted: Int, vouchTime: Duration, now: Timestamp, generator: inout SplitMix64) {
        let home = homes.remove(at: index)
        retire(home, vouchTime: vouchTime, now: now)
        failed.insert(home.node.endpoint)
        fillHomes(wanted: wanted, generator: &generator)
    }

    private mutating func apply(records: [KeyedRecord], gone: [PublicKey], full: Bool, from voucher: Endpoint, verified: Bool,
                                now: Timestamp) -> [Change] {
        var changes = [Change]()
        var listed = Set<PublicKey>()
        for record in records {
            listed.insert(record.owner)
            if var entry = held[record.owner] {
                entry.vouchers.insert(voucher)
                // Only a record that would win needs its signature checked.
                if record.seq > entry.record.seq, verified || record.hasValidSignature() {
                    entry.record = record
                    changes.append(.held(record))
                }
                held[record.owner] = entry
            } else if verified || record.hasValidSignature() {
                held[record.owner] = Held(record: record, vouchers: [voucher], ownerID: .defaultID(for: record.owner), heldSince: now)
                changes.append(.held(record))
            }
        }
        var dropped = Set(gone)
        if full {
            for (owner, entry) in held where entry.vouchers.contains(voucher) && !listed.contains(owner) { dropped.insert(owner) }
        }
        for owner in dropped.sorted() where !listed.contains(owner) {
            guard var entry = held[owner], entry.vouchers.remove(voucher) != nil else { continue }
            if entry.vouchers.isEmpty {
                held[owner] = nil
                changes.append(.released(owner))
            } else {
                held[owner] = entry
            }
        }
        return changes
    }

    private mutating func withdraw(_ vouchers: Set<Endpoint>) -> [Change] {
        var changes = [Change]()
        for (owner, entry) in held where !entry.vouchers.isDisjoint(with: vouchers) {
            let remaining = entry.vouchers.subtracting(vouchers)
            if remaining.isEmpty {
                held[owner] = nil
                changes.append(.released(owner))
            } else {
                held[owner]?.vouchers = remaining
            }
        }
        return changes.sorted { lhs, rhs in
            guard case .released(let left) = lhs, case .released(let right) = rhs else { return false }
            return left < right
        }
    }
}
