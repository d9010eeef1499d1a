/// One target's change log, kept by a replica for feed readers (docs/PROTOCOL.md 3.2): which
/// owners' content changed, and which owners were removed, at which store revision. A reader
/// holding a cursor at or above `floor` is answered with what happened after it; one below is
/// sent a full read, because removals older than the floor are forgotten.
///
/// Entries are appended in revision order and never edited: an owner that changes again gets
/// a new entry and its old one goes stale (its revision no longer matches the owner's). Stale
/// entries are skipped when read and dropped when they outnumber the current ones, so memory
/// stays proportional to the owners and tombstones held.
struct RecordChangeLog: Sendable {
    struct Tombstone: Sendable {
        var version: UInt64
        var removedAt: Timestamp
    }

    private var log: [(version: UInt64, owner: PublicKey)] = []
    private var logStart = 0
    /// Owners removed, with when: the removals a reader after `floor` is still told of.
    private(set) var tombstones: [PublicKey: Tombstone] = [:]
    /// Removals in revision order (stale once the owner returns or its tombstone is trimmed).
    private var removals: [(version: UInt64, owner: PublicKey)] = []
    private var removalsStart = 0
    /// Cursors below this are answered with a full read.
    private(set) var floor: UInt64
    /// The revision of the newest change or removal: what a cached digest is checked against.
    private(set) var lastChange: UInt64
    /// The digest of the target's members at `version`, kept until the next change.
    var digest: (version: UInt64, bytes: [UInt8])?

    init(floor: UInt64) {
        self.floor = floor
        lastChange = floor
    }

    var hasTombstones: Bool { !tombstones.isEmpty }

    /// Entries held, stale ones included; tests check it stays bounded.
    var storedEntryCount: Int { log.count - logStart + removals.count - removalsStart }

    mutating func changed(_ owner: PublicKey, version: UInt64) {
        tombstones[owner] = nil
        log.append((version, owner))
        lastChange = version
    }

    mutating func removed(_ owner: PublicKey, version: UInt64, now: Timestamp) {
        tombstones[owner] = Tombstone(version: version, removedAt: now)
        log.append((version, owner))
        removals.append((version, owner))
        lastChange = version
    }

    /// Owners whose newest entry is after `since`; `isCurrent(owner, version)` tells the
    /// owner's newest entry from stale ones. Costs O(log n) plus the entries after `since`.
    func owners(changedAfter since: UInt64, isCurrent: (PublicKey, UInt64) -> Bool) -> [PublicKey] {
        log[Self.firstEntry(after: since, in: log, from: logStart)...].compactMap { isCurrent($0.owner, $0.version) ? $0.owner : nil }
    }

    /// Entries logged after `since`, stale ones included: at most what a read from `since`
    /// has to look at. O(log n).
    func entryCount(after since: UInt64) -> Int {
        log.count - Self.firstEntry(after: since, in: log, from: logStart)
    }

    /// Owners removed after `since` and still removed, in owner order. Costs O(log n) plus the
    /// removals after `since`.
    func ownersRemoved(after since: UInt64) -> [PublicKey] {
        removals[Self.firstEntry(after: since, in: removals, from: removalsStart)...]
            .compactMap { tombstones[$0.owner]?.version == $0.version ? $0.owner : nil }
            .sorted()
    }

    /// Index of the first entry of `entries` (in version order from `start`) after `since`.
    private static func firstEntry(after since: UInt64, in entries: [(version: UInt64, owner: PublicKey)], from start: Int) -> Int {
        var low = start, high = entries.count
        while low < high {
            let middle = low + (high - low) / 2
            if entries[middle].version <= since { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Forgets the oldest tombstones while more than `maxTombstones` are held or they are
    /// older than `lifetime`, raising the floor past them, then drops entries the floor has
    /// passed and compacts once stale entries outnumber the current ones (`liveOwners` held,
    /// `isLive(owner, version)` true for a held owner's newest entry).
    mutating func trim(maxTombstones: Int, lifetime: Duration, now: Timestamp, liveOwners: Int,
                       isLive: (PublicKey, UInt64) -> Bool) {
        while removalsStart < removals.count {
            let (version, owner) = removals[removalsStart]
            guard let tombstone = tombstones[owner], tombstone.version == version else {
                removalsStart += 1
                continue
            }
            guard tombstones.count > maxTombstones || tombstone.removedAt + lifetime <= now else { break }
            tombstones[owner] = nil
            floor = max(floor, version)
            removalsStart += 1
        }
        // Entries at or below the floor are never read again: cursors below it get full reads.
        while logStart < log.count, log[logStart].version <= floor { logStart += 1 }
        if log.count - logStart > 2 * (liveOwners + tombstones.count) + 32 {
            log = log[logStart...].filter { isLive($0.owner, $0.version) || tombstones[$0.owner]?.version == $0.version }
            logStart = 0
        } else if logStart > 32, logStart > log.count / 2 {
            log.removeFirst(logStart)
            logStart = 0
        }
        if removalsStart > 32, removalsStart > removals.count / 2 {
            removals.removeFirst(removalsStart)
            removalsStart = 0
        }
    }
}
