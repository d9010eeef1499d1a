/// BEP 44 item storage: immutable items by SHA1(value), mutable items by SHA1(key + salt).
/// A pure value: the caller verifies targets, signatures and sizes, passes the time, and
/// runs `expire(now:)` periodically; this type enforces only the storage rules.
///
/// An item lives `itemTTL` after its last accepted put (`now < storedAt + itemTTL`), so a
/// re-put extends its life, and a rejected put changes nothing at all: replaying an older
/// signed item can neither replace nor shorten the current one.
///
/// Capacity: a put of a new target into a full store (`maxItems`) evicts the item closest
/// to expiry, i.e. the least recently put. Refusing instead would let whoever filled the
/// store first lock every other publisher out for two hours, while eviction keeps items
/// their owners still re-put; flooding is the job of the caller's tokens and rate limits.
public struct ItemStore: Sendable {
    /// Immutable and mutable targets are separate namespaces: one key cannot touch the other.
    private enum Key: Hashable, Sendable {
        case immutable(NodeID)
        case mutable(NodeID)
    }

    public let settings: StorageSettings

    private var immutableItems: [NodeID: StoredImmutableItem] = [:]
    private var mutableItems: [NodeID: StoredMutableItem] = [:]
    /// Every item by its last accepted put: the front expires first and is evicted first.
    private var byLastPut = TimeIndex<Key>()

    public init(settings: StorageSettings = StorageSettings()) {
        self.settings = settings
    }

    /// Items held, including expired ones `expire(now:)` has not dropped yet.
    public var count: Int { byLastPut.count }

    /// Entries in the expiry index, stale ones included; tests check it stays bounded.
    var expiryIndexEntryCount: Int { byLastPut.storedEntryCount }

    /// The unexpired immutable item stored under `target`.
    public func immutable(_ target: NodeID, now: Timestamp) -> StoredImmutableItem? {
        guard let item = immutableItems[target], isLive(storedAt: item.storedAt, now: now) else { return nil }
        return item
    }

    /// The unexpired mutable item stored under `target`.
    public func mutable(_ target: NodeID, now: Timestamp) -> StoredMutableItem? {
        guard let item = mutableItems[target], isLive(storedAt: item.storedAt, now: now) else { return nil }
        return item
    }

    /// Stores or re-puts an immutable item. The caller has checked that `target` is
    /// SHA1(`value`), so a re-put carries the same value and only extends the item's life.
    /// Stores nothing when `maxItems` is 0.
    public mutating func putImmutable(target: NodeID, value: [UInt8], now: Timestamp) {
        let key = Key.immutable(target)
        guard makeRoom(for: key) else { return }
        immutableItems[target] = StoredImmutableItem(value: value, storedAt: now)
        byLastPut.schedule(key, at: now)
    }

    /// Stores a mutable item under the BEP 44 rules, checked against the unexpired stored
    /// item if any, in this order: `cas` given and not the stored `seq` → `.casMismatch`
    /// (301); stored `seq` higher → `.sequenceNotNewer` (302); equal `seq` → accepted as a
    /// re-put (life extended) if the item is identical, else `.sequenceNotNewer` (302).
    /// A higher `seq`, or no stored item, replaces. On error nothing changes.
    public mutating func putMutable(target: NodeID, item: SignedMutableItem, cas: Int64?, now: Timestamp) throws(ItemStoreError) {
        if let stored = mutable(target, now: now) {
            if let cas, cas != stored.seq { throw .casMismatch }
            if stored.seq > item.seq { throw .sequenceNotNewer }
            // Signatures are deterministic: the same seq with other content is a different
            // item, which BEP 44 says must come with a higher seq.
            if stored.seq == item.seq, stored.item != item { throw .sequenceNotNewer }
        }
        let key = Key.mutable(target)
        guard makeRoom(for: key) else { throw .full }
        mutableItems[target] = StoredMutableItem(item, storedAt: now)
        byLastPut.schedule(key, at: now)
    }

    /// Drops items whose last put is `itemTTL` or more ago. Costs O(log n) per dropped item;
    /// live items are not visited.
    public mutating func expire(now: Timestamp) {
        let cutoff = now - settings.itemTTL
        while let next = byLastPut.first, next.time <= cutoff {
            byLastPut.popFirst()
            removeItem(next.key)
        }
    }

    private func isLive(storedAt: Timestamp, now: Timestamp) -> Bool {
        now < storedAt + settings.itemTTL
    }

    /// Ensures `key` can be stored: true if it is already held or there is room, evicting
    /// the least recently put items when the store is full; false if storage is off.
    private mutating func makeRoom(for key: Key) -> Bool {
        if byLastPut.time(of: key) != nil { return true }
        guard settings.maxItems > 0 else { return false }
        while byLastPut.count >= settings.maxItems, let victim = byLastPut.popFirst() {
            removeItem(victim.key)
        }
        return true
    }

    private mutating func removeItem(_ key: Key) {
        switch key {
        case .immutable(let target): immutableItems[target] = nil
        case .mutable(let target): mutableItems[target] = nil
        }
    }
}
