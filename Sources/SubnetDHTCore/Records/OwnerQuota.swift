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

        func hash(into hasher: inout Hasher) {
            hasher.combine(contentsOf: key)
            hasher.combine(owner)
        }
    }

    private var windows: [Slot: Window] = [:]
    private var lastSweep = Timestamp(milliseconds: 0)
    private static let window: Duration = .seconds(60)

    /// Whether `owner` may store another record under `key` within `limit`; counts nothing.
    mutating func allows(key: [UInt8], owner: PublicKey, limit: Int, now: Timestamp) -> Bool {
        sweep(now: now)
        return currentWindow(of: Slot(key: key, owner: owner), now: now).count < limit
    }

    /// Counts one store by `owner` under `key`. Only records that change the store are
    /// counted: a resent or re-announced identical record (accepted, nothing changes) is not
    /// a store, and a heartbeat resent under loss must not use up its owner's quota.
    mutating func charge(key: [UInt8], owner: PublicKey, now: Timestamp) {
        let slot = Slot(key: key, owner: owner)
        var window = currentWindow(of: slot, now: now)
        window.count += 1
        windows[slot] = window
    }

    /// The slot's window still open at `now`, or a new empty one from `now`.
    private func currentWindow(of slot: Slot, now: Timestamp) -> Window {
        guard let window = windows[slot], now - window.start < OwnerQuota.window else { return Window(start: now, count: 0) }
        return window
    }

    private mutating func sweep(now: Timestamp) {
        guard now - lastSweep >= OwnerQuota.window else { return }
        lastSweep = now
        windows = windows.filter { now - $0.value.start < OwnerQuota.window }
    }
}
