#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

import SubnetDHTCore

/// The time the shells give the core (the core never reads a clock): wall-clock Unix time
/// read once at start, advanced by the monotonic clock from then on. A wall clock stepped
/// back by NTP or a resumed VM would otherwise make every request deadline and upkeep timer
/// look hours away and freeze the node; this clock never goes backwards.
public enum SystemClock {
    private static let anchor: (wall: Int64, monotonic: Int64) = (read(CLOCK_REALTIME), read(CLOCK_MONOTONIC))

    public static func now() -> Timestamp {
        Timestamp(milliseconds: anchor.wall + (read(CLOCK_MONOTONIC) - anchor.monotonic))
    }

    private static func read(_ clock: clockid_t) -> Int64 {
        var spec = timespec()
        clock_gettime(clock, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}
