/// Wall-clock time in Unix milliseconds. The core never reads a clock: every entry point
/// takes `now: Timestamp`, so tests drive expiry and timeouts on a virtual clock.
/// Unix time rather than a monotonic one because records carry absolute Unix expiries.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }
    public init(seconds: Int64) { self.milliseconds = seconds * 1000 }

    public var seconds: Int64 { milliseconds / 1000 }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.milliseconds < rhs.milliseconds }

    public static func + (lhs: Timestamp, rhs: Duration) -> Timestamp { Timestamp(milliseconds: lhs.milliseconds + rhs.millisecondsValue) }
    public static func - (lhs: Timestamp, rhs: Duration) -> Timestamp { Timestamp(milliseconds: lhs.milliseconds - rhs.millisecondsValue) }
    /// Elapsed time from `rhs` to `lhs`.
    public static func - (lhs: Timestamp, rhs: Timestamp) -> Duration { .milliseconds(lhs.milliseconds - rhs.milliseconds) }

    public var description: String { "\(milliseconds)ms" }
}

extension Duration {
    /// Whole milliseconds, truncated; the core's timers have millisecond resolution.
    public var millisecondsValue: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
