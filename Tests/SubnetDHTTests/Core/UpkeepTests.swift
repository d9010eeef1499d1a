import Testing
@testable import SubnetDHT

@Suite(.offCooperativePool) struct UpkeepTests {
    @Test func lookupsSucceedUnderTwentyPercentLossThanksToRetries() throws {
        let subnet = SimulatedSubnet(count: 48, seed: 8)
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
        let subnet = SimulatedSubnet(count: 40, seed: 9)
        let observer = subnet.endpoints[0]
        let before = try #require(subnet.network.core(at: observer)).contacts
        #expect(before.count >= 8)
        let victims = Set(before.prefix(4).map(\.endpoint))
        for victim in victims { subnet.network.remove(victim) }
        // Past the 15-minute good window, so upkeep pings the contacts.
        subnet.network.run(for: .seconds(20 * 60))
        let after = try #require(subnet.network.core(at: observer)).contacts
        #expect(Set(after.map(\.endpoint)).isDisjoint(with: victims) || after.filter { victims.contains($0.endpoint) }.allSatisfy { $0.failures >= 2 })
        #expect(after.count >= before.count - 4)
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
