/// Memory bounds of the keyed-record store. Per-key limits (how many owners one key holds,
/// its largest TTL) belong to the key's policy and are passed to `RecordStore.store`.
public struct RecordStoreSettings: Hashable, Sendable {
    /// Total records held across all keys: about 100 MB at the 1,000-byte value limit,
    /// and ten `node` registries at the policy's default of 10,000 owners.
    public var maxRecords: Int
    /// Keys (targets) held: bounds the bookkeeping an attacker can make a node keep by
    /// announcing under made-up keys, when the node runs with open keys.
    public var maxTargets: Int

    /// How long a replica remembers that an owner went (docs/PROTOCOL.md 3.2): a feed reader
    /// that polls less often than this is sent a full read instead of the removals.
    public var tombstoneLifetime: Duration
    /// Tombstones a target keeps even when it holds fewer owners than this; beyond it, at
    /// most as many as the owners it holds. Bounds the feed's memory against churn.
    public var minTombstonesPerTarget: Int

    public init(maxRecords: Int = 100_000, maxTargets: Int = 1_000, tombstoneLifetime: Duration = .seconds(600),
                minTombstonesPerTarget: Int = 1_024) {
        self.maxRecords = maxRecords
        self.maxTargets = maxTargets
        self.tombstoneLifetime = tombstoneLifetime
        self.minTombstonesPerTarget = minTombstonesPerTarget
    }
}
