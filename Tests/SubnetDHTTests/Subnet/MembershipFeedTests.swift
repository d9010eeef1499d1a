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
            var keys = [Endpoint: SigningKey]()
            let settings = HeartbeatSettings(interval: .seconds(30), ttl: .seconds(90))
            for endpoint in subnet.endpoints {
                let key = SigningKey.generate()
                keys[endpoint] = key
                let info = ServerInfo(state: .online, role: "worker", throughput: 1, address: endpoint)
                subnet.network.with(endpoint) { core, now in core.startHeartbeat(info, settings: settings, signingKey: key, now: now) }
            }
            return (subnet, keys)
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
    }
}
