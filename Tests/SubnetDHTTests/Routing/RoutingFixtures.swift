import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

/// SplitMix64: a seeded generator so that failures reproduce.
struct RoutingTestRNG: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

enum RoutingFixtures {
    /// A realistic Unix time, so nothing depends on the clock starting at zero.
    static let t0 = Timestamp(seconds: 1_700_000_000)

    /// A distinct public IPv4 endpoint per `n`: 11.0.0.0/8 is not a local range, so the
    /// one-node-per-IP rule applies to it.
    static func endpoint(_ n: Int, port: UInt16 = 6881) -> Endpoint {
        Endpoint(address: .v4(0x0B00_0000 | UInt32(n + 1)), port: port)
    }

    /// The table's structural rules, checked after every scenario: each node in its own
    /// bucket, bounds kept, no id twice, and the IP index matching what is stored.
    static func checkInvariants(_ table: RoutingTable, sourceLocation: SourceLocation = #_sourceLocation) {
        var seen = Set<NodeID>()
        var ips: [IPAddress: NodeID] = [:]
        var duplicateIP = false
        for (index, bucket) in table.buckets.enumerated() {
            #expect(bucket.contacts.count <= table.settings.bucketSize, sourceLocation: sourceLocation)
            #expect(bucket.replacements.count <= table.settings.replacementCacheSize, sourceLocation: sourceLocation)
            for contact in bucket.contacts + bucket.replacements {
                #expect(table.bucketIndex(of: contact.id) == index, sourceLocation: sourceLocation)
                #expect(seen.insert(contact.id).inserted, "\(contact.id) stored twice", sourceLocation: sourceLocation)
                if ips.updateValue(contact.id, forKey: contact.endpoint.address) != nil { duplicateIP = true }
            }
        }
        #expect(!seen.contains(table.localID), sourceLocation: sourceLocation)
        if table.settings.restrictIPs {
            #expect(!duplicateIP, "two nodes share an IP", sourceLocation: sourceLocation)
            #expect(table.ipHolders == ips, sourceLocation: sourceLocation)
        } else {
            #expect(table.ipHolders.isEmpty, sourceLocation: sourceLocation)
        }
    }
}
