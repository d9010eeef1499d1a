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

    /// Records one store by `owner` under `key` and says whether it is within `limit`.
    mutating func admit(key: [UInt8], owner: PublicKey, limit: Int, now: Timestamp) -> Bool {
        sweep(now: now)
        let slot = Slot(key: key, owner: owner)
        var window = windows[slot] ?? Window(start: now, count: 0)
        if now - window.start >= OwnerQuota.window { window = Window(start: now, count: 0) }
        guard window.count < limit else { return false }
        window.count += 1
        windows[slot] = window
        return true
    }

    var trackedOwners: Int { windows.count }

    private mutating func sweep(now: Timestamp) {
        guard now - lastSweep >= OwnerQuota.window else { return }
        lastSweep = now
        windows = windows.filter { now - $0.value.start < OwnerQuota.window }
    }
}
