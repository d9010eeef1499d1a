import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension TestnetTests {
    @Suite struct InMemoryNetworkTests {
        @Test func anObserverSeesAWatchedNodesDatagramsAndItsCoreTime() {
            let testnet = InMemoryTestnet(count: 4, seed: 2)
            let network = testnet.network
            let watched = testnet.endpoints[1]
            var received = [(bytes: Int, from: Endpoint, coreTime: Duration)]()
            var sent = [Endpoint]()
            network.observeTraffic(of: watched) { datagram in
                switch datagram {
                case .received(let bytes, let source, let coreTime): received.append((bytes.count, source, coreTime))
                case .sent(_, let destination): sent.append(destination)
                }
            }
            _ = testnet.lookup(from: testnet.endpoints[0], target: testnet.ids[1], kind: .findNode)
            #expect(received.contains { $0.from == testnet.endpoints[0] && $0.bytes > 0 && $0.coreTime >= .zero })
            #expect(sent.contains(testnet.endpoints[0]))

            network.stopObservingTraffic(of: watched)
            let seen = received.count + sent.count
            _ = testnet.lookup(from: testnet.endpoints[0], target: testnet.ids[1], kind: .findNode)
            #expect(received.count + sent.count == seen)
        }

        @Test(arguments: [true, false]) func theEventLogIsKeptOnlyWhenAsked(keeps: Bool) {
            let testnet = InMemoryTestnet(count: 3, seed: 4)
            let network = testnet.network
            network.keepsEventLog = keeps
            let heartbeat = HeartbeatSettings(interval: .seconds(30), ttl: .seconds(90), pruneInterval: .seconds(10))
            for endpoint in testnet.endpoints {
                let info = ServerInfo(state: .online, role: "worker", throughput: 1, address: endpoint)
                network.with(endpoint) { core, now in core.startHeartbeat(info, settings: heartbeat, signingKey: SigningKey.generate(), now: now) }
            }
            network.run(for: .seconds(15))
            let published = testnet.endpoints.flatMap { network.eventLog[$0] ?? [] }
                .filter { if case .heartbeatPublished = $0 { true } else { false } }
            #expect(published.isEmpty == !keeps)
            #expect(network.endpoints == testnet.endpoints)
        }
    }
}
