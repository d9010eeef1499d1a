import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

/// A subnet on the in-memory network where every node runs a heartbeat.
private struct HeartbeatSubnet {
    let subnet: InMemoryTestnet
    var keys: [Endpoint: SigningKey] = [:]
    let settings: HeartbeatSettings

    init(count: Int, seed: UInt64, settings: HeartbeatSettings = HeartbeatSettings(interval: .seconds(30), ttl: .seconds(90))) {
        subnet = InMemoryTestnet(count: count, seed: seed)
        self.settings = settings
        for endpoint in subnet.endpoints {
            let key = SigningKey.generate()
            keys[endpoint] = key
            let info = ServerInfo(state: .online, role: "worker", throughput: 1, address: endpoint)
            subnet.network.with(endpoint) { core, now in core.startHeartbeat(info, settings: settings, signingKey: key, now: now) }
        }
    }

    var network: InMemoryNetwork { subnet.network }

    func live(at endpoint: Endpoint) -> Set<PublicKey> {
        Set(network.core(at: endpoint)?.livePeers(now: network.now).map(\.owner) ?? [])
    }

    func publishes(at endpoint: Endpoint) -> [Bool] {
        (network.eventLog[endpoint] ?? []).compactMap { if case .heartbeatPublished(let ok, _) = $0 { ok } else { nil } }
    }

    func membershipEvents(at endpoint: Endpoint) -> [MembershipEvent] {
        (network.eventLog[endpoint] ?? []).compactMap { if case .membership(let event) = $0 { event } else { nil } }
    }
}

extension SubnetTests {
    @Suite(.offCooperativePool) struct HeartbeatTests {
        @Test func heartbeatsGoOutEveryIntervalAndEveryoneSeesEveryone() {
            let subnet = HeartbeatSubnet(count: 12, seed: 31)
            subnet.network.run(for: .seconds(300) + .milliseconds(500))
            let everyone = Set(subnet.keys.values.map(\.publicKey))
            for endpoint in subnet.subnet.endpoints {
                let publishes = subnet.publishes(at: endpoint)
                // One at start, then one every 30 s for 300 s.
                #expect(publishes.count == 11, "\(endpoint): \(publishes.count)")
                #expect(publishes.allSatisfy { $0 })
                #expect(subnet.live(at: endpoint) == everyone)
            }
        }

        @Test func aChangeIsPublishedAtOnceAndOfflineOnStop() throws {
            let subnet = HeartbeatSubnet(count: 10, seed: 32)
            subnet.network.run(for: .seconds(45))
            let changer = subnet.subnet.endpoints[3]
            let observer = subnet.subnet.endpoints[8]
            let before = subnet.publishes(at: changer).count
            let joining = ServerInfo(state: .joining, role: "worker", throughput: 1, address: changer)
            subnet.network.with(changer) { core, now in core.updateHeartbeat(joining, now: now) }
            subnet.network.run(for: .seconds(1))
            #expect(subnet.publishes(at: changer).count == before + 1)
            // The observer's next read shows the change.
            subnet.network.run(for: .seconds(11))
            let seen = subnet.network.core(at: observer)?.livePeers(now: subnet.network.now).first { $0.owner == subnet.keys[changer]!.publicKey }
            #expect(seen?.info.state == .joining)
            #expect(subnet.membershipEvents(at: observer).contains { if case .stateChanged(let peer, from: .online) = $0 { peer.owner == subnet.keys[changer]!.publicKey } else { false } })

            // Graceful stop: OFFLINE is announced and acknowledged, and the observer sees it as left.
            let offline = ServerInfo(state: .offline, role: "worker", throughput: 1, address: changer)
            let stop = try #require(subnet.network.with(changer) { core, now in core.stopHeartbeat(final: offline, now: now) })
            guard case .store(let stored)? = subnet.network.await(stop, at: changer) else { Issue.record("no result"); return }
            #expect(stored.accepted.count == 8)
            subnet.network.run(for: .seconds(11))
            #expect(!subnet.live(at: observer).contains(subnet.keys[changer]!.publicKey))
            #expect(subnet.membershipEvents(at: observer).contains { if case .left(let peer) = $0 { peer.owner == subnet.keys[changer]!.publicKey } else { false } })
            // No more heartbeats from the stopped node.
            let afterStop = subnet.publishes(at: changer).count
            subnet.network.run(for: .seconds(120))
            #expect(subnet.publishes(at: changer).count == afterStop)
        }

        @Test func aSilentPeerLeavesEveryViewWithinTTLPlusPruneInterval() {
            let subnet = HeartbeatSubnet(count: 12, seed: 33)
            subnet.network.run(for: .seconds(40))
            let victim = subnet.subnet.endpoints[5]
            let victimKey = subnet.keys[victim]!.publicKey
            let victimID = subnet.network.core(at: victim)!.localID
            // Its last heartbeat went out at about t=30 s; it expires 90 s later.
            subnet.network.remove(victim)
            let survivors = subnet.subnet.endpoints.filter { $0 != victim }
            #expect(survivors.allSatisfy { subnet.live(at: $0).contains(victimKey) })
            subnet.network.run(for: .seconds(80) + .seconds(10) + .seconds(1))
            for endpoint in survivors {
                #expect(!subnet.live(at: endpoint).contains(victimKey), "\(endpoint) still sees the dead peer")
                #expect(subnet.membershipEvents(at: endpoint).contains { if case .expired(let peer) = $0 { peer.owner == victimKey } else { false } })
                // The pruner also took it out of the routing table.
                #expect(subnet.network.core(at: endpoint)?.contacts.contains { $0.id == victimID } == false)
            }
        }

        @Test func readersUnderTwentyPercentLossSeeEveryPeer() {
            // The fault suite's loss scenario on the virtual clock: 8 peers at 2 s / 6 s, 50 ms
            // each way, 20 % of datagrams lost; one-shot readers join through a random peer and
            // read `node`. With records stamped at the publish's start, about 1 read in 11 missed
            // a peer whose record lapsed during the read (reads take up to 2 s here).
            let settings = HeartbeatSettings(interval: .seconds(2), ttl: .seconds(6), pruneInterval: .seconds(1))
            let subnet = HeartbeatSubnet(count: 8, seed: 3, settings: settings)
            let network = subnet.network
            network.latency = .milliseconds(50)
            network.lossRate = 0.2
            network.run(for: .seconds(20))
            let everyone = Set(subnet.keys.values.map(\.publicKey))
            var readerSettings = DHTSettings.loopbackTestNetwork
            readerSettings.readOnly = true
            var generator = SplitMix64(seed: 3)
            var complete = 0, answered = 0
            for trial in 0..<40 {
                let reader = Endpoint(address: .v4(0x7f00_0002), port: UInt16(30000 + trial))
                network.add(DHTCore(localID: .random(using: &generator), settings: readerSettings, seed: generator.next(), now: network.now), at: reader)
                let via = subnet.subnet.endpoints[Int(generator.next() % 8)]
                _ = network.await(network.with(reader) { core, now in core.bootstrap(from: [via], now: now) }, at: reader)
                let read = network.with(reader) { core, now in core.startRecordsLookup(key: Array("node".utf8), now: now) }
                let result = network.await(read, at: reader)
                network.remove(reader)
                // A reader whose every bootstrap datagram was lost reads nothing and says so;
                // the CLI reports that as unreachable, which is not a miss.
                guard case .lookup(let lookup)? = result, lookup.responses > 0 else { continue }
                answered += 1
                if Set(lookup.records.map(\.owner)) == everyone { complete += 1 }
                network.run(for: .milliseconds(300))
            }
            #expect(answered >= 36)
            #expect(complete >= answered - 1, "\(complete) of \(answered) reads listed all 8 peers")
        }

        @Test func halvesSplitLongerThanTheTTLMergeAgainAfterTheHeal() {
            let settings = HeartbeatSettings(interval: .seconds(2), ttl: .seconds(6), pruneInterval: .seconds(1))
            let subnet = HeartbeatSubnet(count: 8, seed: 35, settings: settings)
            subnet.network.run(for: .seconds(10))
            let everyone = Set(subnet.keys.values.map(\.publicKey))
            #expect(subnet.subnet.endpoints.allSatisfy { subnet.live(at: $0) == everyone })
            let left = Set(subnet.subnet.endpoints.prefix(4))
            subnet.network.isCut = { from, to in left.contains(from) != left.contains(to) }
            subnet.network.run(for: .seconds(12))
            // Apart for twice the TTL: each half sees only itself, and has pruned the other.
            for endpoint in subnet.subnet.endpoints {
                let own = Set(subnet.subnet.endpoints.filter { left.contains($0) == left.contains(endpoint) }.compactMap { subnet.keys[$0]?.publicKey })
                #expect(subnet.live(at: endpoint) == own)
            }
            subnet.network.isCut = nil
            // Lost contacts are probed every prune: within two heartbeat intervals after the
            // probes get through, both halves see all eight again.
            var merged: Duration?
            for step in 1...20 {
                subnet.network.run(for: .milliseconds(500))
                if subnet.subnet.endpoints.allSatisfy({ subnet.live(at: $0) == everyone }) {
                    merged = .milliseconds(500 * Int64(step))
                    break
                }
            }
            #expect(merged != nil && merged! <= .seconds(6), "merged after \(String(describing: merged))")
        }

        @Test func aLoneFirstNodeReadsItsViewAsSoonAsAHeartbeatGetsThrough() {
            // The first node of a network heartbeats into an empty table; its view, read then,
            // found no one. When a second node joins, the first node's next heartbeat attempt
            // gets through, and its view is read at once, not a 10 s prune interval later.
            let network = InMemoryNetwork()
            let first = Endpoint("127.0.0.1:1")!, second = Endpoint("127.0.0.1:2")!
            let settings = HeartbeatSettings(interval: .seconds(30), ttl: .seconds(90), pruneInterval: .seconds(10))
            let keys = [SigningKey.generate(), SigningKey.generate()]
            for (index, endpoint) in [first, second].enumerated() {
                network.add(DHTCore(localID: .random(), settings: .loopbackTestNetwork, now: network.now), at: endpoint)
                let info = ServerInfo(state: .online, role: "worker", throughput: 1, address: endpoint)
                if index == 0 {
                    network.with(endpoint) { core, now in core.startHeartbeat(info, settings: settings, signingKey: keys[index], now: now) }
                }
            }
            network.run(for: .seconds(3))
            #expect(network.core(at: first)?.livePeers(now: network.now).isEmpty == true)
            let joined = network.with(second) { core, now in core.bootstrap(from: [first], now: now) }
            _ = network.await(joined, at: second)
            let info = ServerInfo(state: .online, role: "worker", throughput: 1, address: second)
            network.with(second) { core, now in core.startHeartbeat(info, settings: settings, signingKey: keys[1], now: now) }
            let joinedAt = network.now
            // The first node's heartbeat, waiting out a backoff of up to 4 s, goes out as soon as
            // the second node is in its table.
            network.run(for: .milliseconds(500))
            let firstPublishes = (network.eventLog[first] ?? []).compactMap { if case .heartbeatPublished(let ok, _) = $0 { ok } else { nil } }
            #expect(firstPublishes.contains(true), "\(firstPublishes)")
            // Its view, read when nobody answered, is read again then, not a 10 s prune interval later.
            network.run(for: .seconds(2))
            let seen = Set(network.core(at: first)?.livePeers(now: network.now).map(\.owner) ?? [])
            #expect(seen == Set(keys.map(\.publicKey)), "seen \(seen.count) by \(network.now - joinedAt)")
        }

        @Test func aNodeCutOffRejoinsWithBackoffAndRepublishes() {
            let subnet = HeartbeatSubnet(count: 6, seed: 34)
            subnet.network.run(for: .seconds(35))
            let lonely = subnet.subnet.endpoints[4]
            let seed = subnet.subnet.endpoints[0]
            // Everyone else vanishes: the lonely node's table empties as its contacts fail.
            var removed = [Endpoint: DHTCore]()
            for endpoint in subnet.subnet.endpoints where endpoint != lonely {
                removed[endpoint] = subnet.network.core(at: endpoint)
                subnet.network.remove(endpoint)
            }
            subnet.network.run(for: .seconds(20 * 60))
            #expect(subnet.network.core(at: lonely)?.routingTableSize == 0)
            let publishesWhileAlone = subnet.publishes(at: lonely)
            #expect(publishesWhileAlone.contains(false))
            // The seed comes back; within the 60 s backoff cap the node has rejoined and republished.
            subnet.network.add(removed[seed]!, at: seed)
            subnet.network.run(for: .seconds(65))
            #expect((subnet.network.core(at: lonely)?.routingTableSize ?? 0) > 0)
            #expect(subnet.publishes(at: lonely).count > publishesWhileAlone.count)
            #expect(subnet.publishes(at: lonely).last == true)
        }
    }
}

extension SubnetTests {
    @Suite struct HeartbeatPublisherTests {
        let settings = HeartbeatSettings(interval: .seconds(2), ttl: .seconds(6))

        @Test func seqKeepsIncreasingWhenTheClockStepsBack() {
            var publisher = HeartbeatPublisher(info: RecordFixtures.serverInfo(), settings: settings, signingKey: .generate(),
                                               now: Timestamp(seconds: 1_700_000_000))
            var last: Int64 = 0
            for now in [1_700_000_000_000, 1_700_000_002_700, 1_699_999_000_000, 1_699_999_000_000, 1_700_000_001_000] as [Int64] {
                let record = publisher.nextRecord(now: Timestamp(milliseconds: now))
                #expect(record.seq > last)
                #expect(record.hasValidSignature())
                // Whole seconds, rounded down: never past the TTL, less than a second short of it.
                #expect(record.expires * 1000 <= now + 6000 && record.expires * 1000 > now + 5000)
                last = record.seq
            }
        }

        @Test func theRecordIsSignedAgainWithItsExpiryCountedFromTheStores() throws {
            let start = Timestamp(seconds: 1_700_000_000)
            var publisher = HeartbeatPublisher(info: RecordFixtures.serverInfo(), settings: settings, signingKey: .generate(), now: start)
            let first = publisher.nextRecord(now: start)
            let operation = OperationID(rawValue: 7)
            publisher.started(operation, record: first, now: start)
            #expect(publisher.restamp(OperationID(rawValue: 8), now: start + .seconds(1)) == nil, "not the heartbeat in flight")
            // The lookup took 1.5 s: the stores carry an expiry 1.5 s later, under the same seq.
            let restamped = publisher.restamp(operation, now: start + .milliseconds(1_500))
            let stamped = try #require(restamped)
            #expect(stamped.expires == first.expires + 1)
            #expect(stamped.seq == first.seq && stamped.value == first.value)
            #expect(stamped.hasValidSignature())
            var succeeded = StoreResult(lookup: LookupResult(target: .zero, closest: [], rounds: 0, messagesSent: 0, responses: 0, peers: [],
                                                             records: []), accepted: [], rejected: [], unanswered: [], seq: nil)
            succeeded.accepted = [NodeInfo(id: .zero, endpoint: Endpoint("127.0.0.1:1")!)]
            _ = publisher.finished(operation, result: succeeded, now: start + .seconds(2))
            #expect(publisher.lastRecord == stamped)
            // The cadence still counts from the publish's start.
            #expect(publisher.nextPublish == start + .seconds(2))
        }

        @Test func failuresBackOffWithinTheIntervalAndSuccessResets() {
            let start = Timestamp(seconds: 1_700_000_000)
            var publisher = HeartbeatPublisher(info: RecordFixtures.serverInfo(), settings: HeartbeatSettings(interval: .seconds(30), ttl: .seconds(90)),
                                               signingKey: .generate(), now: start)
            let failed = StoreResult(lookup: LookupResult(target: .zero, closest: [], rounds: 0, messagesSent: 0, responses: 0, peers: [],
                                                          records: []), accepted: [], rejected: [], unanswered: [], seq: nil)
            var now = start
            var delays = [Int64]()
            for index in 0..<7 {
                #expect(publisher.isDue(now: now))
                let record = publisher.nextRecord(now: now)
                publisher.started(OperationID(rawValue: UInt64(index)), record: record, now: now)
                _ = publisher.finished(OperationID(rawValue: UInt64(index)), result: failed, now: now)
                delays.append((publisher.nextPublish - now).millisecondsValue / 1000)
                now = publisher.nextPublish
            }
            #expect(delays == [1, 2, 4, 8, 16, 30, 30])
            #expect(publisher.failed == 7)
            var succeeded = failed
            succeeded.accepted = [NodeInfo(id: .zero, endpoint: Endpoint("127.0.0.1:1")!)]
            let record = publisher.nextRecord(now: now)
            publisher.started(OperationID(rawValue: 99), record: record, now: now)
            _ = publisher.finished(OperationID(rawValue: 99), result: succeeded, now: now)
            #expect(publisher.nextPublish == now + .seconds(30))
            #expect(publisher.lastSuccess == now)
        }

        @Test func settingsAreValidated() {
            #expect(throws: HeartbeatSettingsError.self) { try HeartbeatSettings(interval: .seconds(30), ttl: .seconds(30)).validate() }
            #expect(throws: HeartbeatSettingsError.self) { try HeartbeatSettings(interval: .milliseconds(2_000), ttl: .milliseconds(2_500)).validate() }
            #expect(throws: HeartbeatSettingsError.self) { try HeartbeatSettings(interval: .seconds(2), ttl: .seconds(6), pruneInterval: .seconds(4)).validate() }
            #expect(HeartbeatSettings(interval: .seconds(2), ttl: .seconds(6)).pruneInterval == .seconds(2))
            #expect(HeartbeatSettings().pruneInterval == .seconds(10))
            #expect(throws: HeartbeatSettingsError.self) { try HeartbeatSettings(interval: .seconds(30), ttl: .seconds(4000)).validate() }
            #expect(throws: HeartbeatSettingsError.self) { try HeartbeatSettings(interval: .zero, ttl: .seconds(10)).validate() }
            #expect(throws: Never.self) { try HeartbeatSettings(interval: .seconds(2), ttl: .seconds(6)).validate() }
        }
    }
}

extension SubnetTests {
    @Suite struct MembershipViewTests {
        @Test func reportsJoinStateChangeLeaveAndExpiry() {
            let now = Timestamp(seconds: 1_700_000_000)
            let a = SigningKey.generate(), b = SigningKey.generate()
            var view = MembershipView()
            let aJoining = RecordFixtures.heartbeat(a, seq: 1, expires: now.seconds + 90, info: RecordFixtures.serverInfo(state: .joining))
            let bOnline = RecordFixtures.heartbeat(b, seq: 1, expires: now.seconds + 30)
            #expect(view.apply([aJoining, bOnline], now: now).count == 2)
            let aOnline = RecordFixtures.heartbeat(a, seq: 2, expires: now.seconds + 90)
            #expect(view.apply([aOnline], now: now) == [.stateChanged(Peer(record: aOnline)!, from: .joining)])
            // An older record changes nothing.
            #expect(view.apply([aJoining], now: now).isEmpty)
            let aOffline = RecordFixtures.heartbeat(a, seq: 3, expires: now.seconds + 90, info: RecordFixtures.serverInfo(state: .offline))
            #expect(view.apply([aOffline], now: now) == [.left(Peer(record: aOffline)!)])
            #expect(view.livePeers(now: now).map(\.owner) == [b.publicKey])
            #expect(view.departedPeers(now: now).map(\.owner) == [a.publicKey])
            // b's heartbeat runs out without an OFFLINE: expired, even though the read missed it.
            let later = now + .seconds(31)
            #expect(view.apply([], now: later) == [.expired(Peer(record: bOnline)!)])
            #expect(view.livePeers(now: later).isEmpty)
        }

        @Test func otherContentInTheSameStateIsAChangeAndNewPingsAreNot() {
            let now = Timestamp(seconds: 1_700_000_000)
            let a = SigningKey.generate()
            var view = MembershipView()
            var info = RecordFixtures.serverInfo()
            #expect(view.apply([RecordFixtures.heartbeat(a, seq: 1, expires: now.seconds + 90, info: info)], now: now).count == 1)
            // A refresh with new round-trip times only: nothing to act on.
            info.pings = [ServerInfo.pingKey(for: SigningKey.generate().publicKey): 420]
            #expect(view.apply([RecordFixtures.heartbeat(a, seq: 2, expires: now.seconds + 90, info: info)], now: now).isEmpty)
            // A new throughput, then new subnet fields: each a change, with the new content.
            info.throughput = 12_500
            let faster = RecordFixtures.heartbeat(a, seq: 3, expires: now.seconds + 90, info: info)
            #expect(view.apply([faster], now: now) == [.changed(Peer(record: faster)!)])
            info.info = ["stake": .integer(5)]
            let staked = RecordFixtures.heartbeat(a, seq: 4, expires: now.seconds + 90, info: info)
            #expect(view.apply([staked], now: now) == [.changed(Peer(record: staked)!)])
            #expect(view.livePeers(now: now).first?.info.info == ["stake": .integer(5)])
        }

        @Test func aPeerHeldByAFeedThatThePolicyNowRefusesLeavesAsExpired() {
            let start = Timestamp(seconds: 1_700_000_000)
            let miner = SigningKey.generate()
            var view = MembershipView()
            let held = RecordFixtures.heartbeat(miner, seq: 1, expires: start.seconds + 90, info: RecordFixtures.serverInfo(role: "miner"))
            #expect(view.hold(held, now: start) == [.joined(Peer(record: held)!)])
            // Long after its record's own expiry: refreshes never reach a feed's reader, and the
            // feed still vouches for it, so it is live...
            let later = start + .seconds(600)
            #expect(view.livePeers(now: later).map(\.owner) == [miner.publicKey])
            // ...until the writers change: then it goes, and is reported as it goes.
            var writers = KeyPolicy.node()
            writers.allowedWriters = []
            #expect(view.admit(writers, now: later) == [.expired(Peer(record: held)!)])
            #expect(view.livePeers(now: later).isEmpty)
        }

        @Test func aRecordTheNodesPolicyWouldRefuseIsNotShown() {
            let now = Timestamp(seconds: 1_700_000_000)
            let miner = SigningKey.generate(), worker = SigningKey.generate()
            var view = MembershipView(policy: .node(roles: ["validator", "miner"]))
            let admitted = RecordFixtures.heartbeat(miner, seq: 1, expires: now.seconds + 90, info: RecordFixtures.serverInfo(role: "miner"))
            // Stored by a replica without the policy: read in full or held by a feed, never shown.
            let refused = RecordFixtures.heartbeat(worker, seq: 1, expires: now.seconds + 90, info: RecordFixtures.serverInfo(role: "worker"))
            #expect(view.apply([admitted, refused], now: now) == [.joined(Peer(record: admitted)!)])
            #expect(view.hold(refused, now: now).isEmpty)
            #expect(view.livePeers(now: now).map(\.owner) == [miner.publicKey])
            #expect(view.release(worker.publicKey, now: now).isEmpty)
            // Without a policy (a reader that has none for the key) every heartbeat shows.
            var open = MembershipView()
            #expect(open.apply([admitted, refused], now: now).count == 2)
            // The writers change: a live peer the new policy refuses leaves at once, as expired.
            var writers = KeyPolicy.node(roles: ["miner", "worker"])
            writers.allowedWriters = [worker.publicKey]
            #expect(open.admit(writers, now: now) == [.expired(Peer(record: admitted)!)])
            #expect(open.livePeers(now: now).map(\.owner) == [worker.publicKey])
            #expect(open.apply([admitted], now: now).isEmpty)
        }
    }
}
