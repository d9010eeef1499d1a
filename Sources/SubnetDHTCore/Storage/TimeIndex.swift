import Collections

/// Keys ordered by a time, each key at most once, any key cheap to reschedule or remove.
/// The stores use it to find what expires next, and what to evict, without scanning.
///
/// A binary heap cannot move or delete an arbitrary element, so rescheduling pushes a new
/// entry and leaves the old one behind, recognisable as stale by its stamp (lazy deletion).
/// Stale entries are dropped when they reach the top, and the heap is rebuilt from the live
/// keys once stale ones outnumber them: re-putting one key forever keeps memory bounded,
/// and every operation costs amortised O(log n).
struct TimeIndex<Key: Hashable & Sendable>: Sendable {
    private struct Slot: Sendable {
        var time: Timestamp
        var stamp: UInt64
    }

    private struct Entry: Comparable, Sendable {
        var time: Timestamp
        /// Unique per `schedule`: tells the live entry of a key from stale ones, and breaks
        /// ties between equal times in scheduling order.
        var stamp: UInt64
        var key: Key

        static func < (lhs: Entry, rhs: Entry) -> Bool { (lhs.time, lhs.stamp) < (rhs.time, rhs.stamp) }
        static func == (lhs: Entry, rhs: Entry) -> Bool { lhs.stamp == rhs.stamp }
    }

    /// Stale entries tolerated beyond the live count, so that small indexes are not rebuilt
    /// on every other reschedule.
    private static var compactionSlack: Int { 32 }

    /// The live time and stamp of each key; the heap entry with this stamp is the live one.
    private var slots: [Key: Slot] = [:]
    /// Invariant: the top entry is live (see `settle`).
    private var heap = Heap<Entry>()
    private var nextStamp: UInt64 = 0

    var count: Int { slots.count }
    var isEmpty: Bool { slots.isEmpty }

    /// Heap entries, stale ones included: lets tests check that the bookkeeping stays bounded.
    var storedEntryCount: Int { heap.count }

    /// The key with the earliest time (the earliest scheduled among equal times).
    var first: (key: Key, time: Timestamp)? { heap.min.map { ($0.key, $0.time) } }

    /// Every live key with its time, in no particular order.
    var entries: some Sequence<(key: Key, time: Timestamp)> { slots.lazy.map { ($0.key, $0.value.time) } }

    func time(of key: Key) -> Timestamp? { slots[key]?.time }

    /// Inserts `key` at `time`, or moves it there if already present.
    mutating func schedule(_ key: Key, at time: Timestamp) {
        if slots[key]?.time == time { return }
        let stamp = nextStamp
        nextStamp += 1
        slots[key] = Slot(time: time, stamp: stamp)
        heap.insert(Entry(time: time, stamp: stamp, key: key))
        settle()
    }

    /// Removes `key`, returning the time it had.
    @discardableResult
    mutating func remove(_ key: Key) -> Timestamp? {
        guard let slot = slots.removeValue(forKey: key) else { return nil }
        settle()
        return slot.time
    }

    /// Removes and returns the key with the earliest time.
    @discardableResult
    mutating func popFirst() -> (key: Key, time: Timestamp)? {
        guard let entry = heap.popMin() else { return nil }
        slots[entry.key] = nil
        settle()
        return (entry.key, entry.time)
    }

    /// Restores the invariants after a change: stale entries are at most the live count plus
    /// slack, and the top entry is live so that `first` needs no mutation.
    private mutating func settle() {
        if heap.count > 2 * slots.count + Self.compactionSlack {
            heap = Heap(slots.map { Entry(time: $0.value.time, stamp: $0.value.stamp, key: $0.key) })
            return
        }
        while let top = heap.min, slots[top.key]?.stamp != top.stamp {
            heap.removeMin()
        }
    }
}
