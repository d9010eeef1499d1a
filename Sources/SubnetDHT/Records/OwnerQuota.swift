/// Counts stores per (key, owner) in one-minute windows, so that a policy's
/// `storesPerOwnerPerMinute` holds. Windows older than a minute are swept as they are met,
/// so memory stays proportional to the owners active in the last minute.
struct OwnerQuota: Sendable {
    private struct Window: Sendable {
        var start: Timestamp
        var count: Int
    }

    private struct Slot: Hashable, Sendable {
        var key: [UInt8]
        var owner: PublicKey
    }

    private var windows: [Slot: Window] = [:]
    private var lastSweep = Timestamp(milliseconds: 0)
    private static let window: Duration = .seconds(60)

    /// Whether `owner` may store another record under `key` within `limit`; counts nothing.
    mutating func allows(key: [UInt8], owner: PublicKey, limit: Int, now: Timestamp) -> Bool {
        sweep(now: now)
        guard let window = windows[Slot(key: key, owner: owner)], now - window.start < OwnerQuota.window else { return limit > 0 }
        return window.count < limit
    }

    /// Counts one store by `owner` under `key`. Only records that change the store are
    /// counted: a resent or re-announced identical record (accepted, nothing changes) is not
    /// a store, and a heartbeat resent under loss must not use up its owner's quota.
    mutating func charge(key: [UInt8], owner: PublicKey, now: Timestamp) {
        let slot = Slot(key: key, owner: owner)
        var window = windows[slot] ?? Window(start: now, count: 0)
        if now - window.start >= OwnerQuota.window { window = Window(start: now, count: 0) }
        window.count += 1
        windows[slot] = window
    }

    var trackedOwners: Int { windows.count }

    private mutating func sweep(now: Timestamp) {
        guard now - lastSweep >= OwnerQuota.window else { return }
        lastSweep = now
        windows = windows.filter { now - $0.value.start < OwnerQuota.window }
    }
}
