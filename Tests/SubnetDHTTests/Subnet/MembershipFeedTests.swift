import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension SubnetTests {
    /// Live views kept by record feeds on a simulated network (docs/PROTOCOL.md 3.2): once a
    /// view is built, a heartbeat that changes nothing costs its readers no record, and a change
    /// costs each read one.
    @Suite(.offCooperativePool) struct MembershipFeedTests {
        /// What the nodes of a subnet sent and received, by kind, while it was counted.
        final class FeedTraffic {
            var fullPageReads = 0
            var feedReads = 0
            var feedRecordsSent = 0
            var feedRemovalsSent = 0
        }

        private static func start(count: Int, seed: UInt64) -> (InMemoryTestnet, [Endpoint: SigningKey]) {
            let subnet = InMemoryTestnet(count: count, seed: seed)
            return (subnet, subnet.startHeartbeats())
        }

        private static func count(_ subnet: InMemoryTestnet) -> FeedTraffic {
            let traffic = FeedTraffic()
            for endpoint in subnet.endpoints {
                subnet.network.observeTraffic(of: endpoint) { datagram in
                    switch datagram {
                    case .received(let bytes, _, _):
                        guard let message = try? KRPCCodec.decode(bytes), case .query(let query) = message.body else { return }
                        switch query.method {
                        case .getRecords(_, let after, _) where after != QueryMethod.tokenOnlyCursor: traffic.fullPageReads += 1
                        case .getRecordChanges: traffic.feedReads += 1
                        default: break
                        }
                    case .sent(let bytes, _):
                        guard let message = try? KRPCCodec.decode(bytes), case .response(let body) = message.body, body.feedCursor != nil else { return }
                        traffic.feedRecordsSent += RecordPage.entries(of: body).count
                        traffic.feedRemovalsSent += (body.gone?.count ?? 0) / 32
                    }
                }
            }
            return traffic
        }

        @Test func aQuietSubnetsViewsCostNoRecordsAndAChangeCostsOneRecordPerRead() {
            let (subnet, keys) = Self.start(count: 12, seed: 71)
            let everyone = Set(keys.values.map(\.publicKey))
            subnet.network.run(for: .seconds(100))
            for endpoint in subnet.endpoints {
                #expect(Set(subnet.network.core(at: endpoint)?.livePeers(now: subnet.network.now).map(\.owner) ?? []) == everyone)
            }
            // Two heartbeat intervals with nothing changing: reads every prune interval, no full
            // page read and not one record sent, though every peer heartbeated twice.
            let quiet = Self.count(subnet)
            func statistics() -> CoreStatistics {
                subnet.endpoints.compactMap { subnet.network.core(at: $0)?.statistics }.reduce(into: CoreStatistics()) { sum, each in
                    sum.feedChangeReads += each.feedChangeReads
                    sum.feedFullReads += each.feedFullReads
                    sum.feedRecordsReceived += each.feedRecordsReceived
                    sum.feedRemovalsReceived += each.feedRemovalsReceived
                    sum.replicasAvoided += each.replicasAvoided
                }
            }
            let before = statistics()
            subnet.network.run(for: .seconds(60))
            let after = statistics()
            // The readers' own counters agree: change reads only, nothing in them.
            #expect(after.feedChangeReads - before.feedChangeReads >= 12 * 3 * 5 && after.feedFullReads == before.feedFullReads)
            #expect(after.feedRecordsReceived == before.feedRecordsReceived && after.feedRemovalsReceived == before.feedRemovalsReceived)
            // Honest replicas are not dropped as hiding owners once the subnet has settled.
            #expect(after.replicasAvoided == before.replicasAvoided, "\(after.replicasAvoided - before.replicasAvoided) replicas dropped")
            #expect(quiet.fullPageReads == 0)
            #expect(quiet.feedReads >= 12 * 3 * 5, "\(quiet.feedReads) feed reads")
            #expect(quiet.feedRecordsSent == 0 && quiet.feedRemovalsSent == 0)

            // One peer goes from ONLINE to JOINING: one record per read that follows, and every
            // view has the change within one prune interval.
            let changer = subnet.endpoints[3]
            let changed = Self.count(subnet)
            subnet.network.with(changer) { core, now in
                core.updateHeartbeat(ServerInfo(state: .joining, role: "worker", throughput: 1, address: changer), now: now)
            }
            subnet.network.run(for: .seconds(11))
            for endpoint in subnet.endpoints {
                let peer = subnet.network.core(at: endpoint)?.livePeers(now: subnet.network.now).first { $0.owner == keys[changer]!.publicKey }
                #expect(peer?.info.state == .joining, "\(endpoint) sees \(String(describing: peer?.info.state))")
            }
            // Each reader follows 3 homes of its own; its own record it holds locally too.
            #expect(changed.feedRecordsSent >= 11 && changed.feedRecordsSent <= 12 * 3, "\(changed.feedRecordsSent) records")
            #expect(changed.fullPageReads == 0)

            // A silent death reaches every view as a removal, within TTL and a prune interval of its last heartbeat.
            let victim = subnet.endpoints[7]
            subnet.network.remove(victim)
            let removed = Self.count(subnet)
            subnet.network.run(for: .seconds(90) + .seconds(10) + .seconds(1))
            for endpoint in subnet.endpoints where endpoint != victim {
                #expect(subnet.network.core(at: endpoint)?.livePeers(now: subnet.network.now).contains { $0.owner == keys[victim]!.publicKey } == false)
            }
            #expect(removed.feedRemovalsSent >= 11, "\(removed.feedRemovalsSent) removals")
        }

        /// Stores acknowledged on nodes that keep nothing.
        final class HiddenStores {
            var count = 0
        }

        /// Replicas that route honestly and acknowledge every store but keep no record, with
        /// ids closer to the `node` target than any peer's (issue 24's attack), more of them
        /// than k: each peer catches them hiding its own heartbeat, stores and reads past them,
        /// and every view lists everyone.
        @Test func replicasThatHideRecordsAreCaughtAndViewsReadPastThem() {
            let subnet = InMemoryTestnet(count: 16, seed: 83)
            let target = KeyedRecord.target(forKey: RecordFixtures.nodeKey)
            var generator = SplitMix64(seed: 83)
            let hidden = HiddenStores()
            var hiders = Set<Endpoint>()
            for index in 0..<10 {
                let id = target.randomized(afterPrefix: 40, using: &generator)
                let endpoint = Endpoint(address: .v4(0x7f00_0200 | UInt32(index)), port: 7000)
                subnet.network.add(DHTCore(localID: id, settings: .loopbackTestNetwork, seed: generator.next(), now: subnet.network.now), at: endpoint)
                subnet.network.filterInbound(of: endpoint) { bytes, source, _ in
                    guard let message = try? KRPCCodec.decode(bytes), case .query(let query) = message.body,
                        case .announceRecord = query.method else { return nil }
                    hidden.count += 1
                    return [(KRPCCodec.encode(KRPCMessage(transactionID: message.transactionID, body: .response(ResponseBody(id: id)))), source)]
                }
                let operation = subnet.network.with(endpoint) { core, now in core.bootstrap(from: [subnet.endpoints[index]], now: now) }
                _ = subnet.network.await(operation, at: endpoint)
                hiders.insert(endpoint)
            }
            let keys = subnet.startHeartbeats()
            // Within two heartbeat intervals.
            subnet.network.run(for: .seconds(60))
            let everyone = Set(keys.values.map(\.publicKey))
            for endpoint in subnet.endpoints {
                let view = Set(subnet.network.core(at: endpoint)?.livePeers(now: subnet.network.now).map(\.owner) ?? [])
                #expect(view == everyone, "\(endpoint) sees \(view.count) of \(everyone.count)")
            }
            #expect(hidden.count >= 16, "the first heartbeats went to the hiders: \(hidden.count)")
            let caught = subnet.endpoints.reduce(0) { $0 + (subnet.network.core(at: $1)?.statistics.replicasAvoided ?? 0) }
            #expect(caught >= 16, "\(caught) hiders caught")
            // Caught, they are stored on no more: the next interval's heartbeats all go past them.
            let before = hidden.count
            subnet.network.run(for: .seconds(30))
            #expect(hidden.count == before, "\(hidden.count - before) stores on hiders")
        }
    }
}

extension InMemoryTestnet {
    /// Every node heartbeats ONLINE as a worker (30 s interval, 90 s TTL) under a fresh key,
    /// from now; returns each node's key.
    func startHeartbeats() -> [Endpoint: SigningKey] {
        var keys = [Endpoint: SigningKey]()
        let settings = HeartbeatSettings(interval: .seconds(30), ttl: .seconds(90))
        for endpoint in endpoints {
            let key = SigningKey.generate()
            keys[endpoint] = key
            let info = ServerInfo(state: .online, role: "worker", throughput: 1, address: endpoint)
            network.with(endpoint) { core, now in core.startHeartbeat(info, settings: settings, signingKey: key, now: now) }
        }
        return keys
    }
}
