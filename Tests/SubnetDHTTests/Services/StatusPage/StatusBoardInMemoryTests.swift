import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension StatusPageTests {
    /// The status board fed what a core of the in-memory network emits, on its virtual clock:
    /// the membership events of `CoreEvent.membership`, applied at the time the core emitted
    /// them, over a first reading of its view, as `NodeStatusFeed` feeds it from a real node.
    @Suite(.offCooperativePool) struct StatusBoardInMemoryTests {
        @Test func aPeerThatSaysOfflineShowsAsLeftAndASilentOneAsExpiredAtTheirTimes() throws {
            let heartbeat = HeartbeatSettings(interval: .seconds(2), ttl: .seconds(6), pruneInterval: .seconds(1))
            let subnet = InMemoryTestnet(count: 6, seed: 23)
            let network = subnet.network
            var keys = [Endpoint: SigningKey]()
            for endpoint in subnet.endpoints {
                let key = SigningKey.generate()
                keys[endpoint] = key
                let info = ServerInfo(state: .online, role: "worker", throughput: 1, address: endpoint)
                network.with(endpoint) { core, now in core.startHeartbeat(info, settings: heartbeat, signingKey: key, now: now) }
            }
            let observer = subnet.endpoints[0], leaver = subnet.endpoints[1], silent = subnet.endpoints[2]

            func reading() -> SubnetReading {
                let core = network.core(at: observer)!
                let status = NodeStatus(routingTableSize: core.routingTableSize, pendingRequests: core.pendingRequestCount,
                                        storedRecords: core.storedRecordCount, statistics: core.statistics,
                                        unreachableDrops: 0, socketReopens: 0, signaturesCheckedAhead: 0)
                return SubnetReading(status: status, live: core.livePeers(now: network.now), departed: core.departedPeers(now: network.now))
            }
            var board = SubnetStatusBoard()
            board.begin(with: reading(), now: network.now)
            // The observer's events, each applied at the virtual time it was emitted (to 100 ms),
            // and a reading every second.
            var applied = 0, steps = 0
            func step() {
                network.run(for: .milliseconds(100))
                let log = network.eventLog[observer] ?? []
                for case .membership(let change) in log.dropFirst(applied) { board.apply(change, now: network.now) }
                applied = log.count
                steps += 1
                if steps % 10 == 0 { board.refresh(with: reading(), now: network.now) }
            }
            func run(for duration: Duration) {
                let end = network.now + duration
                while network.now < end { step() }
            }
            func row(_ endpoint: Endpoint) -> Departure? {
                board.status(now: network.now, key: "node", owner: keys[observer]!.publicKey, info: nil)
                    .departed.first { $0.peer.owner == keys[endpoint]!.publicKey }
            }

            run(for: .seconds(20))
            #expect(Set(board.live.map(\.owner)) == Set(keys.values.map(\.publicKey)))
            #expect(board.departures.isEmpty)

            // The leaver publishes OFFLINE; the silent peer drops off the network just after a
            // heartbeat was stored, which stays on the replicas until it expires.
            let silentCore = { network.core(at: silent)?.heartbeatStatus }
            let published = silentCore()?.published
            while silentCore()?.published == published { step() }
            let lastSeq = try #require(silentCore()?.lastSeq)
            network.remove(silent)
            let leftAt = network.now
            let offline = ServerInfo(state: .offline, role: "worker", throughput: 1, address: leaver)
            _ = network.with(leaver) { core, now in core.stopHeartbeat(final: offline, now: now) }
            run(for: .seconds(15))

            let left = try #require(row(leaver))
            #expect(left.reason == .left && left.peer.info.state == .offline)
            // Seen at the observer's next read of its view: within a prune interval and a read.
            #expect(left.noticed > leftAt && left.noticed <= leftAt + .seconds(3), "left noticed \(left.noticed - leftAt) after")
            let expired = try #require(row(silent))
            #expect(expired.reason == .expired)
            // Not before the heartbeat's expiry, and at the prune that follows it.
            let expiredAt = Timestamp(seconds: (Timestamp(milliseconds: lastSeq) + heartbeat.ttl).seconds)
            #expect(expired.noticed >= expiredAt && expired.noticed <= expiredAt + .seconds(2), "expired noticed \(expired.noticed - expiredAt) after")
            #expect(Set(board.live.map(\.owner)) == Set(keys.filter { $0.key != leaver && $0.key != silent }.values.map(\.publicKey)))
        }
    }
}
