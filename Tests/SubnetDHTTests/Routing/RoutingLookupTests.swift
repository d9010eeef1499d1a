import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

private let t0 = RoutingFixtures.t0

extension RoutingTests {
    @Suite struct RoutingLookupTests {
        /// 1,000 nodes at random depths (so that many buckets fill, not only the first few),
        /// some of them bad, then `closest` against a brute-force sort of the whole table.
        @Test func closestMatchesBruteForce() {
            var rng = RoutingTestRNG(seed: 42)
            var table = RoutingTable(localID: .random(using: &rng))
            var inserted: [NodeID] = []
            for n in 0..<1_000 {
                let depth = Int.random(in: 0..<120, using: &rng)
                let id = table.randomID(inBucket: depth, using: &rng)
                _ = table.recordResponse(from: id, at: RoutingFixtures.endpoint(n), now: t0 + .milliseconds(Int64(n)))
                inserted.append(id)
            }
            for id in inserted.enumerated().filter({ $0.offset % 9 == 0 }).map(\.element) {
                table.recordFailure(id: id, now: t0 + .seconds(2))
                table.recordFailure(id: id, now: t0 + .seconds(3))
            }
            RoutingFixtures.checkInvariants(table)
            let all = table.allContacts
            let live = all.filter { !$0.isBad(settings: table.settings) }
            #expect(all.count > 200)
            #expect(live.count < all.count, "the scenario should leave some bad contacts")

            var targets: [NodeID] = [table.localID, .zero, .max]
            targets += all.prefix(20).map(\.id)
            for _ in 0..<100 { targets.append(.random(using: &rng)) }
            for _ in 0..<100 { targets.append(table.randomID(inBucket: Int.random(in: 0..<130, using: &rng), using: &rng)) }

            func bruteForce(_ contacts: [Contact], _ target: NodeID, _ count: Int) -> [NodeID] {
                Array(contacts.map(\.id).sorted { $0.distance(to: target) < $1.distance(to: target) }.prefix(count))
            }
            for target in targets {
                for count in [1, 8, 20, 2_000] {
                    #expect(table.closest(to: target, count: count).map(\.id) == bruteForce(live, target, count))
                    #expect(table.closest(to: target, count: count, includeBad: true).map(\.id) == bruteForce(all, target, count))
                }
            }
            #expect(table.closest(to: .zero, count: 0).isEmpty)
        }

        /// A table of both families, two IPv6 contacts to each IPv4 one: one family's `closest`
        /// is that family's nearest, however many of the other lie nearer.
        @Test func closestOfOneFamilyMatchesBruteForce() {
            var rng = RoutingTestRNG(seed: 9)
            var table = RoutingTable(localID: .random(using: &rng))
            for n in 0..<600 {
                let id = table.randomID(inBucket: Int.random(in: 0..<60, using: &rng), using: &rng)
                let endpoint = n % 3 == 0 ? RoutingFixtures.endpoint(n)
                    : Endpoint(address: .v6(high: 0x2001_0db8_0000_0000, low: UInt64(n + 1)), port: 6881)
                _ = table.recordResponse(from: id, at: endpoint, now: t0)
            }
            let all = table.allContacts
            let ipv4 = all.filter(\.endpoint.address.isIPv4)
            let ipv6 = all.filter { !$0.endpoint.address.isIPv4 }
            #expect(ipv4.count >= 8 && ipv6.count > ipv4.count)

            func bruteForce(_ contacts: [Contact], _ target: NodeID, _ count: Int) -> [NodeID] {
                Array(contacts.map(\.id).sorted { $0.distance(to: target) < $1.distance(to: target) }.prefix(count))
            }
            var targets = all.prefix(10).map(\.id)
            for _ in 0..<50 { targets.append(table.randomID(inBucket: Int.random(in: 0..<60, using: &rng), using: &rng)) }
            for target in targets {
                for count in [1, 8, 50] {
                    #expect(table.closest(to: target, count: count, families: .ipv4).map(\.id) == bruteForce(ipv4, target, count))
                    #expect(table.closest(to: target, count: count, families: .ipv6).map(\.id) == bruteForce(ipv6, target, count))
                    #expect(table.closest(to: target, count: count, families: [.ipv4, .ipv6]).map(\.id) == bruteForce(all, target, count))
                }
            }
        }

        @Test func refreshTargetsFallInStaleBucketsInRange() {
            var rng = RoutingTestRNG(seed: 7)
            var table = RoutingTable(localID: .random(using: &rng))

            // An empty table still refreshes its first bucket: that lookup is how it fills.
            let first = table.refreshTargets(now: t0, using: &rng)
            #expect(first.map { table.bucketIndex(of: $0) } == [0])

            var n = 0
            for depth in [0, 1, 2, 5] {
                let id = table.randomID(inBucket: depth, using: &rng)
                #expect(table.recordResponse(from: id, at: RoutingFixtures.endpoint(n), now: t0) == .added)
                n += 1
            }
            // In range: buckets 0...6 (deepest non-empty plus one). Those that just changed are fresh.
            let now = t0 + .seconds(60)
            let stale = table.refreshTargets(now: now, using: &rng)
            #expect(stale.map { table.bucketIndex(of: $0) } == [3, 4, 6])
            #expect(table.refreshTargets(now: now, using: &rng).isEmpty)

            // After the interval every bucket in range is due again, each target inside its bucket.
            let later = t0 + .seconds(16 * 60)
            let all = table.refreshTargets(now: later, using: &rng)
            #expect(all.map { table.bucketIndex(of: $0) } == Array(0...6))
            #expect(Set(all).count == all.count)

            // A bucket whose node answers is fresh again and skipped.
            let answering = table.allContacts[0]
            let bucket = table.bucketIndex(of: answering.id)
            _ = table.recordResponse(from: answering.id, at: answering.endpoint, now: later + .seconds(16 * 60))
            let after = table.refreshTargets(now: later + .seconds(16 * 60), using: &rng)
            #expect(after.map { table.bucketIndex(of: $0) } == Array(0...6).filter { $0 != bucket })
        }

        @Test func randomIDsStayInTheirBucket() {
            var rng = RoutingTestRNG(seed: 8)
            let table = RoutingTable(localID: .random(using: &rng))
            for index in 0..<RoutingTable.bucketCount {
                #expect(table.bucketIndex(of: table.randomID(inBucket: index, using: &rng)) == index)
            }
        }
    }
}
