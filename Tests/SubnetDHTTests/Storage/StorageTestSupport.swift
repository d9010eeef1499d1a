@testable import SubnetDHT
@testable import SubnetDHTCore

/// Shared fixtures for the storage tests: a virtual clock origin, ids and endpoints from
/// small integers, and a seeded generator so that random sampling is reproducible.
enum StorageFixtures {
    static let t0 = Timestamp(seconds: 1_700_000_000)

    static func id(_ n: Int) -> NodeID { NodeID(high: 0, middle: 0, low: UInt32(n)) }

    static func v4(_ n: Int) -> Endpoint { Endpoint(address: .v4(0x0a00_0000 | UInt32(n)), port: 6881) }

    static func v6(_ n: Int) -> Endpoint { Endpoint(address: .v6(high: 0x2001_0db8 << 32, low: UInt64(n)), port: 6881) }
}

/// SplitMix64: tiny, seedable, good enough to drive sampling in tests.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
