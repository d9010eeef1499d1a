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

        mutating func set(_ record: KeyedRecord, encodedValue: [UInt8], revision: UInt64) {
            let wire = record.encodedWireDictionary(encodedValue: encodedValue)
            let index = lowerBound(record.owner)
            if entries.updateValue(Entry(record: record, wire: wire), forKey: record.owner) == nil {
                owners.insert(record.owner, at: index)
                prefixes.insert(record.owner.orderPrefix, at: index)
                revisions.insert(revision, at: index)
            } else {
                revisions[index] = revision
            }
        }

        @discardableResult
        mutating func remove(_ owner: PublicKey) -> KeyedRecord? {
            guard let record = entries.removeValue(forKey: owner)?.record else { return nil }
            let index = lowerBound(owner)
            if index < owners.count, owners[index] == owner {
                owners.remove(at: index)
                prefixes.remove(at: index)
                revisions.remove(at: index)
            }
            return record
        }
    }

    public let settings: RecordStoreSettings

    private var targets: [NodeID: TargetRecords] = [:]
    /// Every stored record by its expiry: the front expires first.
    private var byExpiry = TimeIndex<RecordKey>()
    /// Counts every record set, store-wide, so that a revision is never reused, not even by
    /// a target emptied and stored to again.
    private var lastRevision: UInt64 = 0

    public init(settings: RecordStoreSettings = .init()) {
        self.settings = settings
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
        targets[target, default: TargetRecords()].set(record, encodedValue: encodedValue, revision: lastRevision)
        byExpiry.schedule(RecordKey(target: target, owner: record.owner), at: Self.expiryTime(of: record))
    }

    /// Drops every record whose `exp` has passed (`isExpired(at: now)`) and returns them,
    /// earliest expiry first, for the pruner and the membership view to report. Costs
    /// O(log n) per dropped record; unexpired records are not visited.
    @discardableResult
    public mutating func expire(now: Timestamp) -> [KeyedRecord] {
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
        return dropped
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
        bucket.remove(key.owner)
        // Empty targets go, so memory follows what is stored.
        if !bucket.entries.isEmpty { targets[key.target] = bucket }
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
