import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension StorageTests {
    @Suite struct PeerStorageTests {
        private let t0 = StorageFixtures.t0
        private let hash = StorageFixtures.id(1)
        private let ttl = StorageSettings().peerTTL

        private func v4Peers(_ store: PeerStore, at now: Timestamp, limit: Int = 50) -> Set<Endpoint> {
            Set(store.peers(for: hash, family: true, limit: limit, now: now))
        }

        @Test func defaultsMatchTheProtocol() {
            let settings = StorageSettings()
            #expect(settings.peerTTL == .seconds(1_800))
            #expect(settings.maxPeersPerInfoHash == 1_000)
            #expect(settings.maxInfoHashes == 10_000)
            #expect(settings.maxPeersReturned == 50)
            #expect(settings.itemTTL == .seconds(7_200))
            #expect(settings.maxItems == 20_000)
            #expect(settings.maxValueSize == 1_000)
        }

        @Test func peerExpiresAfterTTLAndNotBefore() {
            var store = PeerStore()
            let peer = StorageFixtures.v4(1)
            store.announce(infoHash: hash, peer: peer, now: t0)
            let lastLiveMoment = t0 + ttl - .milliseconds(1)

            #expect(v4Peers(store, at: lastLiveMoment) == [peer])
            store.expire(now: lastLiveMoment)
            #expect(store.peerCount == 1)
            #expect(v4Peers(store, at: lastLiveMoment) == [peer])

            // Reads hide it as soon as it is due, even before `expire` runs.
            #expect(v4Peers(store, at: t0 + ttl).isEmpty)
            store.expire(now: t0 + ttl)
            #expect(store.peerCount == 0)
            #expect(store.infoHashCount == 0)
            #expect(store.peerCount(for: hash) == 0)
        }

        @Test func reannounceRefreshesWithoutDuplicating() {
            var store = PeerStore()
            let peer = StorageFixtures.v4(1)
            store.announce(infoHash: hash, peer: peer, now: t0)
            store.announce(infoHash: hash, peer: peer, now: t0 + .seconds(20 * 60))
            #expect(store.peerCount == 1)

            let afterFirstWouldExpire = t0 + .seconds(40 * 60)
            store.expire(now: afterFirstWouldExpire)
            #expect(v4Peers(store, at: afterFirstWouldExpire) == [peer])

            store.expire(now: t0 + .seconds(50 * 60))
            #expect(store.peerCount == 0)
        }

        @Test func expiryDropsExactlyTheStaleAnnouncementsAcrossSwarms() {
            var store = PeerStore()
            // Swarm n gets peers announced at minutes n and n + 10.
            for n in 0..<20 {
                store.announce(infoHash: StorageFixtures.id(n), peer: StorageFixtures.v4(n), now: t0 + .seconds(Int64(n) * 60))
                store.announce(infoHash: StorageFixtures.id(n), peer: StorageFixtures.v6(n), now: t0 + .seconds(Int64(n + 10) * 60))
            }
            #expect(store.peerCount == 40)
            // At minute 45 everything announced at minute 15 or earlier is gone: v4 peers 0...15
            // and v6 peers 0...5; swarms 0...5 lose both and disappear.
            store.expire(now: t0 + .seconds(45 * 60))
            #expect(store.peerCount == 40 - 16 - 6)
            #expect(store.infoHashCount == 14)
            #expect(store.peerCount(for: StorageFixtures.id(10)) == 1)
            #expect(store.peerCount(for: StorageFixtures.id(19)) == 2)
        }

        @Test func limitIsRespectedAndTheSubsetVaries() {
            var store = PeerStore()
            let announced = Set((0..<200).map(StorageFixtures.v4))
            for peer in announced { store.announce(infoHash: hash, peer: peer, now: t0) }

            var generator = SeededGenerator(state: 42)
            var seen = Set<Endpoint>()
            for _ in 0..<50 {
                let sample = store.peers(for: hash, family: true, limit: 10, now: t0, using: &generator)
                #expect(sample.count == 10)
                #expect(Set(sample).count == 10)
                #expect(Set(sample).isSubset(of: announced))
                seen.formUnion(sample)
            }
            // 500 draws from 200 peers: a fixed or biased prefix would show far fewer.
            #expect(seen.count > 150)

            #expect(store.peers(for: hash, family: true, limit: 500, now: t0).count == 50)
            #expect(store.peers(for: hash, family: true, limit: 0, now: t0).isEmpty)
            #expect(store.peers(for: StorageFixtures.id(99), family: true, limit: 10, now: t0).isEmpty)
        }

        @Test func fewerPeersThanTheLimitAreAllReturned() {
            var store = PeerStore()
            let announced = Set((0..<7).map(StorageFixtures.v4))
            for peer in announced { store.announce(infoHash: hash, peer: peer, now: t0) }
            #expect(v4Peers(store, at: t0, limit: 10) == announced)
        }

        @Test func addressFamiliesAreKeptApart() {
            var store = PeerStore()
            let v4 = Set((0..<3).map(StorageFixtures.v4))
            let v6 = Set((0..<2).map(StorageFixtures.v6))
            for peer in v4.union(v6) { store.announce(infoHash: hash, peer: peer, now: t0) }
            #expect(Set(store.peers(for: hash, family: true, limit: 50, now: t0)) == v4)
            #expect(Set(store.peers(for: hash, family: false, limit: 50, now: t0)) == v6)
        }

        @Test func seedsCanBeLeftOut() {
            var store = PeerStore()
            let seed = StorageFixtures.v4(1)
            let leecher = StorageFixtures.v4(2)
            store.announce(infoHash: hash, peer: seed, seed: true, now: t0)
            store.announce(infoHash: hash, peer: leecher, now: t0)
            #expect(Set(store.peers(for: hash, family: true, limit: 50, now: t0, excludingSeeds: true)) == [leecher])
            #expect(v4Peers(store, at: t0) == [seed, leecher])

            // Announcing again without the flag means it is downloading again.
            store.announce(infoHash: hash, peer: seed, now: t0)
            #expect(Set(store.peers(for: hash, family: true, limit: 50, now: t0, excludingSeeds: true)) == [seed, leecher])
        }

        @Test func fullSwarmReplacesItsOldestAnnouncement() {
            var store = PeerStore(settings: StorageSettings(maxPeersPerInfoHash: 5))
            for n in 0..<5 { store.announce(infoHash: hash, peer: StorageFixtures.v4(n), now: t0 + .seconds(Int64(n))) }
            // Peer 0 re-announces, so peer 1 is now the oldest and makes room for peer 5.
            store.announce(infoHash: hash, peer: StorageFixtures.v4(0), now: t0 + .seconds(10))
            store.announce(infoHash: hash, peer: StorageFixtures.v4(5), now: t0 + .seconds(11))
            #expect(v4Peers(store, at: t0 + .seconds(11)) == Set([0, 2, 3, 4, 5].map(StorageFixtures.v4)))

            for n in 6..<1_000 { store.announce(infoHash: hash, peer: StorageFixtures.v4(n), now: t0 + .seconds(Int64(n + 6))) }
            #expect(store.peerCount == 5)
            #expect(store.peerCount(for: hash) == 5)
            #expect(v4Peers(store, at: t0 + .seconds(1_005)) == Set((995..<1_000).map(StorageFixtures.v4)))
        }

        @Test func infoHashCapEvictsTheLeastRecentlyAnnouncedSwarm() {
            var store = PeerStore(settings: StorageSettings(maxInfoHashes: 3))
            for n in 0..<3 {
                store.announce(infoHash: StorageFixtures.id(n), peer: StorageFixtures.v4(n), now: t0 + .seconds(Int64(n)))
            }
            // Swarm 0 is active again, so swarm 1 is the idle one when swarm 3 arrives.
            store.announce(infoHash: StorageFixtures.id(0), peer: StorageFixtures.v4(9), now: t0 + .seconds(5))
            store.announce(infoHash: StorageFixtures.id(3), peer: StorageFixtures.v4(3), now: t0 + .seconds(6))
            #expect(store.infoHashCount == 3)
            #expect(store.peerCount(for: StorageFixtures.id(1)) == 0)
            #expect(store.peerCount(for: StorageFixtures.id(0)) == 2)
            #expect(store.peerCount == 4)

            for n in 4..<500 {
                store.announce(infoHash: StorageFixtures.id(n), peer: StorageFixtures.v4(n), now: t0 + .seconds(Int64(n + 3)))
            }
            #expect(store.infoHashCount == 3)
            #expect(store.peerCount == 3)
            store.expire(now: t0 + .seconds(10_000))
            #expect(store.infoHashCount == 0)
            #expect(store.peerCount == 0)
        }

        @Test func zeroCapsSwitchPeerStorageOff() {
            var store = PeerStore(settings: StorageSettings(maxPeersPerInfoHash: 0))
            store.announce(infoHash: hash, peer: StorageFixtures.v4(1), now: t0)
            #expect(store.peerCount == 0)
            #expect(store.infoHashCount == 0)
        }
    }
}
