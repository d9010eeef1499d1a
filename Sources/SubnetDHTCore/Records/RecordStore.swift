/// Keyed-record storage (docs/PROTOCOL.md 3): per target, at most one record per owner,
/// kept in ascending order of owner key so that `get_records` pages with `after` cost
/// O(log n) to resume. A pure value: the caller validates records (signature, `seq` rules,
/// expiry range, policy), passes the time, and runs `expire(now:)` periodically (the pruner);
/// this type enforces only capacity and expiry.
///
/// A record lives until its own signed `exp` (Unix seconds): expired records are never
/// returned, even before `expire(now:)` drops them, and every node drops a record at the
/// same moment however long ago it was stored.
///
/// Capacity refuses rather than evicts (unlike `ItemStore`): a record's owner re-publishes
/// every heartbeat, so a refused newcomer retries soon, while evicting a live heartbeat
/// would make an online peer look gone. Only new owners are refused; an owner already
/// stored can always replace its record.
public struct RecordStore: Sendable {
    /// One record's place: its target and its owner.
    private struct RecordKey: Hashable, Sendable {
        var target: NodeID
        var owner: PublicKey
    }

    /// The records of one target. `owners` is `entries`' keys in ascending byte order: a
    /// sorted array gives binary-search lookup and ordered iteration for paging, and costs
    /// only a pointer move per owner on insert or removal.
    private struct TargetRecords: Sendable {
        /// A record with its bencoded wire dictionary, made once when it is stored: pages are
        /// read far more often than records change, and encoding every candidate again (a
        /// dictionary built, its keys sorted) dominated the cost of answering `get_records`.
        struct Entry: Sendable {
            var record: KeyedRecord
            var wire: [UInt8]
            /// What the record says, without its expiry: a record with the same hash as the
            /// one it replaces is a refresh, not a change (docs/PROTOCOL.md 3.2).
            var valueHash: RecordValueHash
            /// The store revision at which this owner's content last changed: its place in the feed.
            var changed: UInt64
        }

        var owners: [PublicKey] = []
        /// Each owner's `orderPrefix`, in `owners`' order. The binary searches compare these
        /// inline numbers and read an owner's bytes only on a tie: following every key to its
        /// heap storage costs a cache miss per step.
        var prefixes: [UInt64] = []
        /// The store-wide revision at which each owner's record was last set, in `owners'`
        /// order. A page read notes the revisions it walked past (`RecordPageStamp`): the same
        /// numbers at the same places later mean the same records, so a page built from them
        /// is still right without fetching or encoding anything.
        var revisions: [UInt64] = []
        var entries: [PublicKey: Entry] = [:]
        /// What feed readers are told (docs/PROTOCOL.md 3.2): changes and removals since a cursor.
        var feed: RecordChangeLog
        /// Each owner's `Entry.changed`, in `owners`' order: a read of many changes walks the
        /// owners in order and picks the changed ones without a lookup or a sort.
        var contentRevisions: [UInt64] = []
        /// Changes since a cursor up to which a read's page sorts them; past it, a page walks
        /// the owners from `after` instead. Sorting all of them for every page made a read of
        /// C changes, sent in about C/6 pages, cost C²/6 log C: at 10,000 peers, where a reader
        /// catching up is sent thousands, answering was quadratic.
        static let sortedChangesLimit = 256

        init(createdAt revision: UInt64) {
            feed = RecordChangeLog(floor: revision - 1)
        }

        /// Index of the first owner not less than `owner`.
        func lowerBound(_ owner: PublicKey) -> Int {
            let prefix = owner.orderPrefix
            var low = 0, high = owners.count
            while low < high {
                let middle = low + (high - low) / 2
                let other = prefixes[middle]
                if other < prefix || (other == prefix && owners[middle] < owner) { low = middle + 1 } else { high = middle }
            }
            return low
        }

        /// Index of the first owner greater than `owner`.
        func upperBound(_ owner: PublicKey) -> Int {
            let prefix = owner.orderPrefix
            var low = 0, high = owners.count
            while low < high {
                let middle = low + (high - low) / 2
                let other = prefixes[middle]
                if prefix < other || (prefix == other && owner < owners[middle]) { high = middle } else { low = middle + 1 }
            }
            return low
        }

        mutating func set(_ record: KeyedRecord, encodedValue: [UInt8], revision: UInt64, now: Timestamp) {
            let wire = record.encodedWireDictionary(encodedValue: encodedValue)
            let index = lowerBound(record.owner)
            let valueHash = RecordValueHash(encodedValue: encodedValue)
            var changed = revision
            // A record that says again what an unexpired one said is a refresh: feed readers
            // were told of it already and keep it while this replica holds the owner.
            if let old = entries[record.owner], old.valueHash == valueHash, !old.record.isExpired(at: now) {
                changed = old.changed
            } else {
                feed.changed(record.owner, version: revision)
            }
            let entry = Entry(record: record, wire: wire, valueHash: valueHash, changed: changed)
            if entries.updateValue(entry, forKey: record.owner) == nil {
                owners.insert(record.owner, at: index)
                prefixes.insert(record.owner.orderPrefix, at: index)
                revisions.insert(revision, at: index)
                contentRevisions.insert(changed, at: index)
            } else {
                revisions[index] = revision
                contentRevisions[index] = changed
            }
        }

        @discardableResult
        mutating func remove(_ owner: PublicKey, revision: UInt64, now: Timestamp) -> KeyedRecord? {
            guard let record = entries.removeValue(forKey: owner)?.record else { return nil }
            feed.removed(owner, version: revision, now: now)
            let index = lowerBound(owner)
            if index < owners.count, owners[index] == owner {
                owners.remove(at: index)
                prefixes.remove(at: index)
                revisions.remove(at: index)
                contentRevisions.remove(at: index)
            }
            return record
        }

        /// The owners changed or removed after version `since`, ascending, after `after`, at
        /// most `limit`; nil when `since` is older than what the feed still knows.
        func changes(since: UInt64, after: PublicKey?, limit: Int) -> [RecordChange]? {
            guard since >= feed.floor else { return nil }
            let changed = feed.entryCount(after: since) <= Self.sortedChangesLimit
                ? sortedChanges(since: since, after: after, limit: limit)
                : walkedChanges(since: since, after: after, limit: limit)
            return changed.map { owner in
                RecordChange(owner: owner, current: entries[owner].map { ($0.record, $0.wire) })
            }
        }

        /// A few changes: those logged after `since`, sorted.
        private func sortedChanges(since: UInt64, after: PublicKey?, limit: Int) -> [PublicKey] {
            var changed = feed.owners(changedAfter: since) { owner, version in
                entries[owner]?.changed == version || feed.tombstones[owner]?.version == version
            }
            if let after { changed.removeAll { $0 <= after } }
            changed.sort()
            return Array(changed.prefix(limit))
        }

        /// Many changes: the owners held after `after` whose content changed after `since`,
        /// walked in order until `limit` are found, merged with the owners removed after
        /// `since`. A read's pages walk the owners once between them.
        private func walkedChanges(since: UInt64, after: PublicKey?, limit: Int) -> [PublicKey] {
            var changed = [PublicKey]()
            var index = after.map(upperBound) ?? 0
            while index < owners.count, changed.count < limit {
                if contentRevisions[index] > since { changed.append(owners[index]) }
                index += 1
            }
            var removed = feed.ownersRemoved(after: since)
            if let after { removed.removeAll { $0 <= after } }
            guard !removed.isEmpty else { return changed }
            var merged = [PublicKey]()
            merged.reserveCapacity(min(limit, changed.count + removed.count))
            var (left, right) = (0, 0)
            while merged.count < limit, left < changed.count || right < removed.count {
                if right == removed.count || (left < changed.count && changed[left] < removed[right]) {
                    merged.append(changed[left])
                    left += 1
                } else {
                    merged.append(removed[right])
                    right += 1
                }
            }
            return merged
        }

        /// Owners and value hashes of the records held, in owner order.
        var members: some Sequence<(owner: PublicKey, value: RecordValueHash)> {
            owners.lazy.compactMap { owner in entries[owner].map { (owner, $0.valueHash) } }
        }

        /// Keeps the feed's memory to what its readers can use.
        mutating func trimFeed(now: Timestamp, settings: RecordStoreSettings) {
            feed.trim(maxTombstones: max(settings.minTombstonesPerTarget, entries.count), lifetime: settings.tombstoneLifetime,
                      now: now, liveOwners: entries.count) { owner, version in entries[owner]?.changed == version }
        }
    }

    public let settings: RecordStoreSettings

    private var targets: [NodeID: TargetRecords] = [:]
    /// Every stored record by its expiry: the front expires first.
    private var byExpiry = TimeIndex<RecordKey>()
    /// Counts every record set, store-wide, so that a revision is never reused, not even by
    /// a target emptied and stored to again.
    private var lastRevision: UInt64 = 0
    /// The latest time the store was given: when a removal without one happened.
    private var latestTime = Timestamp(milliseconds: 0)

    /// Drawn when the node starts: a feed cursor from another store, or from before a restart,
    /// names another epoch and is answered with a full read (docs/PROTOCOL.md 3.2).
    public let feedEpoch: UInt64

    public init(settings: RecordStoreSettings = .init(), feedEpoch: UInt64 = 0) {
        self.settings = settings
        self.feedEpoch = feedEpoch
    }

    /// The cursor a feed reader is given now: every change so far is behind it.
    public var feedCursor: RecordFeedCursor { RecordFeedCursor(epoch: feedEpoch, version: lastRevision) }

    /// Whether `cursor` can be answered with changes: from this store's epoch and not ahead
    /// of it. The target's own horizon is checked by `changes`.
    public func accepts(_ cursor: RecordFeedCursor) -> Bool {
        cursor.epoch == feedEpoch && cursor.version <= lastRevision
    }

    /// The changes under `target` after `cursor`: records changed or added (with their wire
    /// dictionaries) and owners removed, ascending by owner after `after`, at most `limit`.
    /// Nil when the reader must read the target in full: the cursor is from another epoch or
    /// from the future, older than the tombstones kept, or the target is not held at all.
    /// Records expired but not yet dropped are left to `expire(now:)`, which the caller runs first.
    func changes(target: NodeID, since cursor: RecordFeedCursor, after: PublicKey?, limit: Int) -> [RecordChange]? {
        guard accepts(cursor), let bucket = targets[target] else { return nil }
        return bucket.changes(since: cursor.version, after: after, limit: limit)
    }

    /// How many owners `target` holds and their digest (`RecordSetDigest`), computed again
    /// only after the target changed.
    public mutating func summary(target: NodeID) -> (count: Int, digest: [UInt8]) {
        guard var bucket = targets[target] else { return (0, RecordSetDigest.digest(of: [])) }
        if let cached = bucket.feed.digest, cached.version == bucket.feed.lastChange { return (bucket.entries.count, cached.bytes) }
        let digest = RecordSetDigest.digest(of: bucket.members)
        bucket.feed.digest = (bucket.feed.lastChange, digest)
        targets[target] = bucket
        return (bucket.entries.count, digest)
    }

    /// Records held, including expired ones `expire(now:)` has not dropped yet: this is
    /// the memory bound `maxRecords` limits, not the live count (see `ownerCount`).
    public var count: Int { byExpiry.count }

    /// Targets holding at least one record (expired but not yet dropped ones included).
    public var targetCount: Int { targets.count }

    /// Every unexpired record, for snapshots.
    public func allRecords(now: Timestamp) -> [KeyedRecord] {
        targets.values.flatMap { bucket in bucket.entries.values.map(\.record).filter { !$0.isExpired(at: now) } }
    }

    /// Entries in `target`'s change log, stale ones included; tests check it stays bounded.
    func feedEntryCount(target: NodeID) -> Int { targets[target]?.feed.storedEntryCount ?? 0 }

    /// Entries in the expiry index, stale ones included; tests check it stays bounded.
    var expiryIndexEntryCount: Int { byExpiry.storedEntryCount }

    /// Owners of `target` whose record has not expired.
    /// O(1) while nothing in the store has expired, otherwise O(owners of `target`).
    public func ownerCount(target: NodeID, now: Timestamp) -> Int {
        guard let bucket = targets[target] else { return 0 }
        guard hasExpiredRecords(now: now) else { return bucket.entries.count }
        return bucket.entries.values.count { !$0.record.isExpired(at: now) }
    }

    /// `owner`'s record under `target`, or nil if there is none or it has expired.
    public func record(target: NodeID, owner: PublicKey, now: Timestamp) -> KeyedRecord? {
        guard let record = targets[target]?.entries[owner]?.record, !record.isExpired(at: now) else { return nil }
        return record
    }

    /// Unexpired records of `target` with owner key bytes strictly greater than `after`
    /// (nil = from the start), ascending by owner bytes, at most `limit`: one `get_records`
    /// page, resumed from the last `k` the reader saw. Costs O(log n) plus the records
    /// visited.
    public func records(target: NodeID, after: PublicKey?, limit: Int, now: Timestamp) -> [KeyedRecord] {
        page(target: target, after: after, limit: limit, now: now).map(\.record)
    }

    /// The same records, each with its bencoded wire dictionary (what a page carries).
    public func page(target: NodeID, after: PublicKey?, limit: Int, now: Timestamp) -> [(record: KeyedRecord, wire: [UInt8])] {
        stampedPage(target: target, after: after, limit: limit, now: now).candidates
    }

    /// `page`, with the stamp of what it read: `isCurrent` tells later whether the same read
    /// would give the same records.
    func stampedPage(target: NodeID, after: PublicKey?, limit: Int, now: Timestamp)
        -> (candidates: [(record: KeyedRecord, wire: [UInt8])], stamp: RecordPageStamp) {
        var stamp = RecordPageStamp()
        guard limit > 0, let bucket = targets[target] else { return ([], stamp) }
        var index = after.map { bucket.upperBound($0) } ?? 0
        var page = [(record: KeyedRecord, wire: [UInt8])]()
        while index < bucket.owners.count, page.count < limit {
            stamp.revisions.append(bucket.revisions[index])
            if let entry = bucket.entries[bucket.owners[index]], !entry.record.isExpired(at: now) {
                page.append((entry.record, entry.wire))
                stamp.firstExpiry = min(stamp.firstExpiry, entry.record.expires)
            }
            index += 1
        }
        stamp.reachedEnd = index == bucket.owners.count
        return (page, stamp)
    }

    /// Whether `stampedPage` with the same target and cursor would now read the very records
    /// it read when it gave `stamp`, none of them expired since: O(log n) plus the records
    /// the page walked past, and nothing allocated or hashed.
    func isCurrent(_ stamp: RecordPageStamp, target: NodeID, after: PublicKey?, now: Timestamp) -> Bool {
        guard now.seconds < stamp.firstExpiry, let bucket = targets[target] else { return false }
        let start = after.map { bucket.upperBound($0) } ?? 0
        let end = start + stamp.revisions.count
        guard end <= bucket.revisions.count else { return false }
        // A page that ran to the end of the owners would take in an owner added after them.
        if stamp.reachedEnd, end != bucket.revisions.count { return false }
        return bucket.revisions[start..<end].elementsEqual(stamp.revisions)
    }

    /// Stores `record`, replacing its owner's record under the same target if any, and
    /// reschedules its expiry to the new `exp` (longer or shorter).
    ///
    /// The caller has already validated the record (signature, `seq` rules, expiry range,
    /// policy); this enforces only capacity, and on error changes nothing:
    /// - `.full` (202) when the owner has no record here and the store already holds
    ///   `maxRecords` records, or the target is new and `maxTargets` targets are held.
    ///   Expired records count until `expire(now:)` drops them: this is a memory bound.
    /// - `.tooManyOwners` (209) when the owner has no unexpired record under the target and
    ///   the target already holds `maxOwners` owners with unexpired records.
    public mutating func store(_ record: KeyedRecord, maxOwners: Int, now: Timestamp) throws(RecordStoreError) {
        try store(record, target: record.target, encodedValue: record.encodedValue, maxOwners: maxOwners, now: now)
    }

    /// `store(_:maxOwners:now:)` for a caller that has worked out the record's `target` and
    /// bencoded `v` already (the validator does both), so neither is computed again.
    mutating func store(_ record: KeyedRecord, target: NodeID, encodedValue: [UInt8], maxOwners: Int, now: Timestamp) throws(RecordStoreError) {
        let existing = targets[target]?.entries[record.owner]?.record
        if existing == nil {
            if targets[target] == nil, targets.count >= settings.maxTargets { throw .full }
            if count >= settings.maxRecords { throw .full }
        }
        if existing?.isExpired(at: now) ?? true, ownerCount(target: target, now: now) >= maxOwners {
            throw .tooManyOwners
        }
        lastRevision += 1
        latestTime = max(latestTime, now)
        var bucket = targets.removeValue(forKey: target) ?? TargetRecords(createdAt: lastRevision)
        bucket.set(record, encodedValue: encodedValue, revision: lastRevision, now: now)
        bucket.trimFeed(now: now, settings: settings)
        targets[target] = bucket
        byExpiry.schedule(RecordKey(target: target, owner: record.owner), at: Self.expiryTime(of: record))
    }

    /// Drops every record whose `exp` has passed (`isExpired(at: now)`) and returns them,
    /// earliest expiry first, for the pruner and the membership view to report. Costs
    /// O(log n) per dropped record; unexpired records are not visited.
    @discardableResult
    public mutating func expire(now: Timestamp) -> [KeyedRecord] {
        latestTime = max(latestTime, now)
        var dropped = [KeyedRecord]()
        while let next = byExpiry.first {
            guard let record = targets[next.key.target]?.entries[next.key.owner]?.record else {
                // Unreachable while index and targets agree; dropping the entry keeps the
                // loop finite if they ever do not.
                byExpiry.popFirst()
                continue
            }
            guard record.isExpired(at: now) else { break }
            byExpiry.popFirst()
            removeFromTarget(next.key)
            dropped.append(record)
        }
        trimFeeds(now: now)
        return dropped
    }

    /// Drops tombstones past their lifetime in every target, so a quiet key's feed shrinks too.
    private mutating func trimFeeds(now: Timestamp) {
        for target in Array(targets.keys) {
            guard targets[target]?.feed.hasTombstones == true else { continue }
            targets[target]?.trimFeed(now: now, settings: settings)
        }
    }

    /// Forgets `owner`'s record under `target`, if any.
    public mutating func remove(target: NodeID, owner: PublicKey) {
        let key = RecordKey(target: target, owner: owner)
        byExpiry.remove(key)
        removeFromTarget(key)
    }

    /// Whether any stored record has expired at `now`. The index's front has the earliest
    /// `exp`, so checking it alone answers for the whole store.
    private func hasExpiredRecords(now: Timestamp) -> Bool {
        guard let first = byExpiry.first else { return false }
        return targets[first.key.target]?.entries[first.key.owner]?.record.isExpired(at: now) ?? true
    }

    private mutating func removeFromTarget(_ key: RecordKey) {
        guard var bucket = targets.removeValue(forKey: key.target) else { return }
        lastRevision += 1
        bucket.remove(key.owner, revision: lastRevision, now: latestTime)
        // Empty targets go, tombstones and all, so memory follows what is stored: a feed
        // reader's cursor for a target no longer held is answered with a full (empty) read.
        guard !bucket.entries.isEmpty else { return }
        bucket.trimFeed(now: latestTime, settings: settings)
        targets[key.target] = bucket
    }

    /// `exp` as a timestamp for ordering the index. Saturates instead of overflowing for
    /// absurd expiries; saturated ones lie beyond any representable `now`, so ordering
    /// among them does not matter (expiry itself is decided by `isExpired(at:)`).
    private static func expiryTime(of record: KeyedRecord) -> Timestamp {
        let (milliseconds, overflow) = record.expires.multipliedReportingOverflow(by: 1_000)
        guard overflow else { return Timestamp(milliseconds: milliseconds) }
        return Timestamp(milliseconds: record.expires < 0 ? .min : .max)
    }
}

/// Which stored records one page read walked past (`RecordStore.stampedPage`): their
/// revisions in order, whether the read ran to the last owner, and the earliest expiry of
/// those it returned. Expired records it skipped stay expired, so they need no bound.
struct RecordPageStamp: Sendable, Equatable {
    var revisions: [UInt64] = []
    var reachedEnd = false
    /// Unix seconds: the page is stale from this second on.
    var firstExpiry: Int64 = .max
}

/// Why the record store refused a record; `code` is the KRPC error code to answer with.
public enum RecordStoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The node's record memory (`maxRecords`) or key count (`maxTargets`) is used up.
    case full
    /// The key already holds as many live owners as its policy allows.
    case tooManyOwners

    public var code: Int {
        switch self {
        case .full: 202
        case .tooManyOwners: 209
        }
    }

    /// The message for the KRPC error's second element.
    public var message: String {
        switch self {
        case .full: "storage full"
        case .tooManyOwners: "too many owners for this key"
        }
    }

    public var description: String { "\(code) \(message)" }
}
