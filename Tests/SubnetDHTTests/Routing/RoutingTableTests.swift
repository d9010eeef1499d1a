import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

private let t0 = RoutingFixtures.t0
private func endpoint(_ n: Int, port: UInt16 = 6881) -> Endpoint { RoutingFixtures.endpoint(n, port: port) }

/// A table with a seeded local id, and `count` ids that all fall in bucket `bucket`.
private func makeTable(
    seed: UInt64, bucket: Int = 0, count: Int, settings: RoutingSettings = .init()
) -> (RoutingTable, [NodeID]) {
    var rng = RoutingTestRNG(seed: seed)
    let table = RoutingTable(localID: .random(using: &rng), settings: settings)
    let ids = (0..<count).map { _ in table.randomID(inBucket: bucket, using: &rng) }
    return (table, ids)
}

extension RoutingTests {
    @Suite struct RoutingTableInsertionTests {
        @Test func bucketFillsToKThenOverflowsIntoCacheWithPingCandidate() {
            var (table, ids) = makeTable(seed: 1, count: 10)
            for n in 0..<8 {
                #expect(table.recordResponse(from: ids[n], at: endpoint(n), now: t0 + .seconds(n)) == .added)
            }
            #expect(table.count == 8)

            // Full of good nodes: the newcomer waits in the cache and nobody needs a ping.
            #expect(table.recordResponse(from: ids[8], at: endpoint(8), now: t0 + .seconds(10)) == .cached(pingCandidate: nil))
            #expect(table.contact(for: ids[8]) == nil)
            #expect(table.buckets[0].replacements.map(\.id) == [ids[8]])

            // 16 minutes on, all are questionable; ids[0] answers again and moves to the back,
            // so ids[1] is now the least recently seen and the one to ping.
            let later = t0 + .seconds(16 * 60)
            #expect(table.recordResponse(from: ids[0], at: endpoint(0), now: later) == .updated)
            #expect(table.buckets[0].contacts.map(\.id) == Array(ids[1..<8]) + [ids[0]])
            let outcome = table.recordResponse(from: ids[9], at: endpoint(9), now: later + .seconds(1))
            #expect(outcome == .cached(pingCandidate: Contact(id: ids[1], endpoint: endpoint(1), firstSeen: t0)))
            #expect(table.count == 8)
            #expect(table.buckets[0].replacements.map(\.id) == [ids[8], ids[9]])
            RoutingFixtures.checkInvariants(table)
        }

        @Test func badContactIsReplacedByNewestReplacement() throws {
            var (table, ids) = makeTable(seed: 2, count: 10)
            for n in 0..<10 { _ = table.recordResponse(from: ids[n], at: endpoint(n), now: t0) }
            #expect(table.buckets[0].replacements.map(\.id) == [ids[8], ids[9]])

            // One timeout is not enough: a single lost datagram must not evict a node.
            table.recordFailure(id: ids[3], now: t0 + .seconds(5))
            let once = try #require(table.contact(for: ids[3]))
            #expect(once.failures == 1)
            #expect(once.status(now: t0 + .seconds(5), settings: table.settings) == .good)

            table.recordFailure(id: ids[3], now: t0 + .seconds(10))
            #expect(table.contact(for: ids[3]) == nil)
            #expect(table.buckets[0].contacts.last?.id == ids[9])
            #expect(table.buckets[0].replacements.map(\.id) == [ids[8]])
            #expect(table.buckets[0].lastChanged == t0 + .seconds(10))
            #expect(table.count == 8)
            RoutingFixtures.checkInvariants(table)

            // The evicted node's IP is free again for another id.
            var rng = RoutingTestRNG(seed: 77)
            let newcomer = table.randomID(inBucket: 3, using: &rng)
            #expect(table.recordResponse(from: newcomer, at: endpoint(3, port: 7000), now: t0 + .seconds(11)) == .added)
            RoutingFixtures.checkInvariants(table)
        }

        @Test func fullBucketEvictsBadContactForVerifiedNewcomer() {
            var (table, ids) = makeTable(seed: 3, count: 9)
            for n in 0..<8 { _ = table.recordResponse(from: ids[n], at: endpoint(n), now: t0) }
            // No spares, so the bad contact stays until something can take its slot.
            table.recordFailure(id: ids[5], now: t0)
            table.recordFailure(id: ids[5], now: t0)
            #expect(table.contact(for: ids[5])?.status(now: t0, settings: table.settings) == .bad)

            #expect(table.recordResponse(from: ids[8], at: endpoint(8), now: t0 + .seconds(1)) == .added)
            #expect(table.contact(for: ids[5]) == nil)
            #expect(table.contact(for: ids[8]) != nil)
            #expect(table.count == 8)
            RoutingFixtures.checkInvariants(table)
        }

        @Test func promotionPrefersVerifiedSparesButTakesUnverifiedOnes() {
            var (table, ids) = makeTable(seed: 4, count: 11)
            for n in 0..<8 { _ = table.recordResponse(from: ids[n], at: endpoint(n), now: t0) }
            _ = table.recordResponse(from: ids[8], at: endpoint(8), now: t0)   // verified spare
            _ = table.recordQuery(from: ids[9], at: endpoint(9), now: t0)      // newer, unverified spare

            table.recordFailure(id: ids[0], now: t0)
            table.recordFailure(id: ids[0], now: t0)
            #expect(table.contact(for: ids[8]) != nil)
            #expect(table.buckets[0].replacements.map(\.id) == [ids[9]])

            // With only an unverified spare left, it is promoted anyway; it is questionable
            // until it answers, so the core will ping it.
            table.recordFailure(id: ids[1], now: t0)
            table.recordFailure(id: ids[1], now: t0)
            let promoted = table.contact(for: ids[9])
            #expect(promoted?.isVerified == false)
            #expect(table.questionableContacts(now: t0).map(\.id) == [ids[9]])
            RoutingFixtures.checkInvariants(table)
        }

        @Test func replacementCacheIsBoundedAndDropsUnverifiedSparesFirst() {
            var (table, ids) = makeTable(seed: 5, count: 14, settings: .init(replacementCacheSize: 3))
            for n in 0..<8 { _ = table.recordResponse(from: ids[n], at: endpoint(n), now: t0) }
            for n in 8..<12 { _ = table.recordResponse(from: ids[n], at: endpoint(n), now: t0) }
            // Newest kept: the oldest spare went.
            #expect(table.buckets[0].replacements.map(\.id) == [ids[9], ids[10], ids[11]])

            _ = table.recordQuery(from: ids[12], at: endpoint(12), now: t0)
            #expect(table.buckets[0].replacements.map(\.id) == [ids[10], ids[11], ids[12]])

            // A verified spare pushes out the unverified one, not an older verified one.
            _ = table.recordResponse(from: ids[13], at: endpoint(13), now: t0)
            #expect(table.buckets[0].replacements.map(\.id) == [ids[10], ids[11], ids[13]])
            RoutingFixtures.checkInvariants(table)
        }

        @Test func removePromotesASpareAndForgetsSpares() {
            var (table, ids) = makeTable(seed: 6, count: 10)
            for n in 0..<10 { _ = table.recordResponse(from: ids[n], at: endpoint(n), now: t0) }
            table.remove(id: ids[2])
            #expect(table.contact(for: ids[2]) == nil)
            #expect(table.contact(for: ids[9]) != nil)
            #expect(table.count == 8)
            table.remove(id: ids[8])
            #expect(table.buckets[0].replacements.isEmpty)
            table.remove(id: ids[0])
            #expect(table.count == 7)
            RoutingFixtures.checkInvariants(table)
        }
    }
}

extension RoutingTests {
    @Suite struct RoutingTableTrustTests {
        @Test func localIDIsNeverInserted() {
            var (table, _) = makeTable(seed: 10, count: 0)
            let local = table.localID
            #expect(table.recordResponse(from: local, at: endpoint(1), now: t0) == .rejected(.localID))
            #expect(table.recordQuery(from: local, at: endpoint(1), now: t0) == .rejected(.localID))
            table.recordFailure(id: local, now: t0)
            table.remove(id: local)
            #expect(table.count == 0)
            #expect(table.buckets.allSatisfy { $0.replacements.isEmpty })
            #expect(table.contact(for: local) == nil)
            #expect(table.closest(to: local, count: 8).isEmpty)
            RoutingFixtures.checkInvariants(table)
        }

        @Test func unverifiedQueryingNodeWaitsForItsResponse() throws {
            var (table, ids) = makeTable(seed: 11, count: 2)
            let querier = ids[0]
            let outcome = table.recordQuery(from: querier, at: endpoint(1), now: t0)
            #expect(outcome == .cached(pingCandidate: Contact(id: querier, endpoint: endpoint(1), firstSeen: t0)))
            #expect(table.count == 0)
            #expect(table.contact(for: querier) == nil)
            #expect(table.closest(to: querier, count: 8).isEmpty)
            // Querying again does not promote it either.
            #expect(table.recordQuery(from: querier, at: endpoint(1), now: t0 + .seconds(1)) == outcome)
            #expect(table.count == 0)

            // The answer to the core's ping inserts it, remembering when it queried us.
            #expect(table.recordResponse(from: querier, at: endpoint(1), now: t0 + .seconds(2)) == .added)
            let contact = try #require(table.contact(for: querier))
            #expect(contact.lastResponse == t0 + .seconds(2))
            #expect(contact.lastQueriedUs == t0 + .seconds(1))
            #expect(contact.firstSeen == t0)
            #expect(table.buckets[0].replacements.isEmpty)

            // A spoofed query naming a node cannot lock out its real address: the answer wins.
            _ = table.recordQuery(from: ids[1], at: endpoint(66), now: t0)
            #expect(table.recordResponse(from: ids[1], at: endpoint(2), now: t0 + .seconds(3)) == .added)
            #expect(table.contact(for: ids[1])?.endpoint == endpoint(2))
            RoutingFixtures.checkInvariants(table)
        }

        @Test func unverifiedQuerierIntoFullGoodBucketNeedsNoPing() {
            var (table, ids) = makeTable(seed: 12, count: 9)
            for n in 0..<8 { _ = table.recordResponse(from: ids[n], at: endpoint(n), now: t0) }
            #expect(table.recordQuery(from: ids[8], at: endpoint(8), now: t0) == .cached(pingCandidate: nil))
            #expect(table.count == 8)
            #expect(table.buckets[0].replacements.map(\.id) == [ids[8]])
        }

        @Test func queryRefreshesKnownContactWithoutReordering() throws {
            var (table, ids) = makeTable(seed: 13, count: 3)
            for n in 0..<3 { _ = table.recordResponse(from: ids[n], at: endpoint(n), now: t0) }
            #expect(table.recordQuery(from: ids[0], at: endpoint(0), now: t0 + .seconds(5)) == .updated)
            #expect(try #require(table.contact(for: ids[0])).lastQueriedUs == t0 + .seconds(5))
            #expect(table.buckets[0].contacts.map(\.id) == ids)
        }

        @Test func endpointMismatchIsRefusedUntilTheOriginalGoesBad() throws {
            var (table, ids) = makeTable(seed: 14, count: 2)
            let node = ids[0]
            _ = table.recordResponse(from: node, at: endpoint(1), now: t0)
            #expect(table.recordResponse(from: node, at: endpoint(2), now: t0 + .seconds(1)) == .rejected(.endpointMismatch))
            #expect(table.recordResponse(from: node, at: endpoint(1, port: 9999), now: t0 + .seconds(1)) == .rejected(.endpointMismatch))
            #expect(table.recordQuery(from: node, at: endpoint(2), now: t0 + .seconds(1)) == .rejected(.endpointMismatch))
            let kept = try #require(table.contact(for: node))
            #expect(kept.endpoint == endpoint(1))
            #expect(kept.lastResponse == t0)
            #expect(kept.lastQueriedUs == nil)

            // Once it stops answering at the old address, a verified answer may move it.
            table.recordFailure(id: node, now: t0 + .seconds(2))
            table.recordFailure(id: node, now: t0 + .seconds(3))
            #expect(table.recordQuery(from: node, at: endpoint(2), now: t0 + .seconds(4)) == .rejected(.endpointMismatch))
            #expect(table.recordResponse(from: node, at: endpoint(2), now: t0 + .seconds(5)) == .updated)
            let moved = try #require(table.contact(for: node))
            #expect(moved.endpoint == endpoint(2))
            #expect(moved.failures == 0)
            RoutingFixtures.checkInvariants(table)
            // The old IP is free for another node.
            #expect(table.recordResponse(from: ids[1], at: endpoint(1), now: t0 + .seconds(6)) == .added)
            RoutingFixtures.checkInvariants(table)
        }

        @Test func verifiedSpareKeepsItsEndpointToo() {
            var (table, ids) = makeTable(seed: 15, count: 9)
            for n in 0..<9 { _ = table.recordResponse(from: ids[n], at: endpoint(n), now: t0) }
            #expect(table.recordResponse(from: ids[8], at: endpoint(50), now: t0) == .rejected(.endpointMismatch))
            #expect(table.buckets[0].replacements.first?.endpoint == endpoint(8))
        }

        @Test func oneNodePerPublicIPByDefault() throws {
            var (table, ids) = makeTable(seed: 16, count: 3)
            let ip = try #require(IPAddress("203.0.113.5"))
            #expect(table.recordResponse(from: ids[0], at: Endpoint(address: ip, port: 6881), now: t0) == .added)
            #expect(table.recordResponse(from: ids[1], at: Endpoint(address: ip, port: 6882), now: t0) == .rejected(.ipRestricted))
            #expect(table.recordQuery(from: ids[2], at: Endpoint(address: ip, port: 6883), now: t0) == .rejected(.ipRestricted))
            #expect(table.count == 1)
            #expect(table.buckets[0].replacements.isEmpty)
            RoutingFixtures.checkInvariants(table)

            // A holder that stopped answering gives way (a host restarted with a new id).
            table.recordFailure(id: ids[0], now: t0)
            table.recordFailure(id: ids[0], now: t0)
            #expect(table.recordResponse(from: ids[1], at: Endpoint(address: ip, port: 6882), now: t0 + .seconds(1)) == .added)
            #expect(table.contact(for: ids[0]) == nil)
            RoutingFixtures.checkInvariants(table)
        }

        @Test func unverifiedSpareGivesItsIPToAVerifiedNode() throws {
            var (table, ids) = makeTable(seed: 17, count: 3)
            let ip = try #require(IPAddress("198.51.100.7"))
            _ = table.recordQuery(from: ids[0], at: Endpoint(address: ip, port: 1), now: t0)
            // Another unverified claim is refused, a verified one wins.
            #expect(table.recordQuery(from: ids[1], at: Endpoint(address: ip, port: 2), now: t0) == .rejected(.ipRestricted))
            #expect(table.recordResponse(from: ids[2], at: Endpoint(address: ip, port: 3), now: t0) == .added)
            #expect(table.buckets[0].replacements.isEmpty)
            RoutingFixtures.checkInvariants(table)
        }

        @Test func sharedIPsAllowedWhenRestrictionIsOff() throws {
            var (table, ids) = makeTable(seed: 18, count: 3, settings: .init(restrictIPs: false))
            let loopback = try #require(IPAddress("127.0.0.1"))
            for n in 0..<3 {
                #expect(table.recordResponse(from: ids[n], at: Endpoint(address: loopback, port: UInt16(7000 + n)), now: t0) == .added)
            }
            #expect(table.count == 3)
            RoutingFixtures.checkInvariants(table)
        }
    }
}

extension RoutingTests {
    @Suite struct ContactStatusTests {
        @Test func goodQuestionableBadFollowTheClock() throws {
            var (table, ids) = makeTable(seed: 20, count: 2)
            let settings = table.settings
            let node = ids[0]
            _ = table.recordResponse(from: node, at: endpoint(0), now: t0)
            func status(at time: Timestamp) throws -> ContactStatus {
                try #require(table.contact(for: node)).status(now: time, settings: settings)
            }

            #expect(try status(at: t0) == .good)
            #expect(try status(at: t0 + .seconds(15 * 60)) == .good)
            #expect(try status(at: t0 + .seconds(15 * 60) + .milliseconds(1)) == .questionable)

            // Answered once and still queries us: good again, until that query is 15 minutes old.
            let queried = t0 + .seconds(20 * 60)
            _ = table.recordQuery(from: node, at: endpoint(0), now: queried)
            #expect(try status(at: queried) == .good)
            #expect(try status(at: queried + .seconds(16 * 60)) == .questionable)

            table.recordFailure(id: node, now: queried + .seconds(16 * 60))
            #expect(try status(at: queried + .seconds(16 * 60)) == .questionable)
            table.recordFailure(id: node, now: queried + .seconds(17 * 60))
            // Bad wins even over a fresh query: it no longer answers ours.
            _ = table.recordQuery(from: node, at: endpoint(0), now: queried + .seconds(18 * 60))
            #expect(try status(at: queried + .seconds(18 * 60)) == .bad)

            // An answer resets the failures.
            let back = queried + .seconds(19 * 60)
            #expect(table.recordResponse(from: node, at: endpoint(0), now: back) == .updated)
            #expect(try status(at: back) == .good)
            #expect(try #require(table.contact(for: node)).failures == 0)
        }

        @Test func aNodeThatOnlyQueriedUsIsNeverGood() {
            let settings = RoutingSettings()
            let contact = Contact(id: .max, endpoint: endpoint(0), firstSeen: t0, lastQueriedUs: t0)
            #expect(contact.status(now: t0, settings: settings) == .questionable)
        }
    }
}
