import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension CoreTests {
    @Suite(.offCooperativePool) struct UpkeepTests {
        @Test func lookupsSucceedUnderTwentyPercentLossThanksToRetries() throws {
            let subnet = InMemoryTestnet(count: 48, seed: 8)
            subnet.network.lossRate = 0.2
            var generator = SplitMix64(seed: 8)
            var exact = 0, sent = 0, answered = 0
            for trial in 0..<30 {
                let target = NodeID.random(using: &generator)
                let origin = subnet.endpoints[trial]
                let result = try #require(subnet.lookup(from: origin, target: target, kind: .findNode))
                let expected = subnet.trueClosest(to: target, k: 8, among: Set(subnet.endpoints).subtracting([origin]))
                if result.closest.first?.id == expected.first { exact += 1 }
                #expect(result.closest.count == 8)
                sent += result.messagesSent
                answered += result.responses
            }
            // A query fails only if both attempts lose a datagram each way (about 13% at 20% loss);
            // the nearest node is still found almost always, since several nodes name it.
            #expect(exact >= 27)
            #expect(sent > answered, "losses must show as retries")
            #expect(subnet.network.datagramsDropped > 0)
        }

        @Test func deadContactsAreReplacedFromTheReplacementCache() throws {
            // A node with a full bucket learns of more nodes, then its contacts die: upkeep pings
            // them, they fail twice, and spares take their place.
            let subnet = InMemoryTestnet(count: 40, seed: 9)
            let observer = subnet.endpoints[0]
            let routing = try #require(subnet.network.core(at: observer)).routing
            let k = routing.settings.bucketSize
            let index = try #require(routing.buckets.indices.first { routing.buckets[$0].contacts.count == k && routing.buckets[$0].replacements.count >= 2 },
                                     "no full bucket with spares to test with")
            let before = routing.buckets[index]
            let victims = Set(before.contacts.prefix(2).map(\.endpoint))
            let spares = Set(before.replacements.map(\.endpoint))
            for victim in victims { subnet.network.remove(victim) }
            // Past the 15-minute good window, so upkeep pings the contacts.
            subnet.network.run(for: .seconds(20 * 60))
            let after = try #require(subnet.network.core(at: observer)).routing.buckets[index].contacts
            let present = Set(after.map(\.endpoint))
            #expect(present.isDisjoint(with: victims), "dead contacts still in the bucket")
            #expect(after.count == k, "the bucket lost slots: \(after.count) of \(k)")
            // The contacts that were not victims stayed; the free slots went to former spares.
            let newcomers = present.subtracting(before.contacts.map(\.endpoint))
            #expect(newcomers.count == victims.count)
            #expect(newcomers.isSubset(of: spares), "\(newcomers) were not spares of the bucket")
        }

        @Test func readOnlyNodesAreNeitherAnsweredFromNorAddedToTables() throws {
            let network = InMemoryNetwork()
            let server = Endpoint("127.0.0.1:1")!, client = Endpoint("127.0.0.1:2")!
            network.add(DHTCore(localID: .random(), settings: .loopbackTestNetwork, now: network.now), at: server)
            var readOnly = DHTSettings.loopbackTestNetwork
            readOnly.readOnly = true
            network.add(DHTCore(localID: .random(), settings: readOnly, now: network.now), at: client)
            let ping = network.with(client) { core, now in core.startPing(server, now: now) }
            guard case .ping(.success)? = network.await(ping, at: client) else { Issue.record("read-only client got no answer"); return }
            #expect(network.core(at: server)?.routingTableSize == 0)
            // The read-only node does not answer queries.
            let back = network.with(server) { core, now in core.startPing(client, now: now) }
            guard case .ping(.failure(.timedOut))? = network.await(back, at: server) else { Issue.record("read-only node answered"); return }
        }

        @Test func secureIDEnforcementKeepsForgedIDsOutOfTheTable() throws {
            var settings = DHTSettings()
            settings.enforceSecureNodeIDs = true
            var core = DHTCore(localID: .random(), settings: settings, now: Timestamp(seconds: 1_700_000_000))
            let now = Timestamp(seconds: 1_700_000_000)
            let publicAddress = IPAddress("124.31.75.21")!
            let forged = NodeInfo(id: .random(), endpoint: Endpoint(address: publicAddress, port: 1))
            let genuine = NodeInfo(id: SecureNodeID.make(for: publicAddress), endpoint: Endpoint(address: publicAddress, port: 2))
            for node in [forged, genuine] {
                _ = core.startPing(node.endpoint, now: now)
                for effect in core.takeEffects() {
                    guard case .send(let bytes, _) = effect, let query = try? KRPCCodec.decode(bytes) else { continue }
                    let reply = KRPCMessage(transactionID: query.transactionID, body: .response(ResponseBody(id: node.id)))
                    core.receive(KRPCCodec.encode(reply), from: node.endpoint, now: now)
                }
            }
            #expect(core.contacts.map(\.id) == [genuine.id])
        }
    }
}
