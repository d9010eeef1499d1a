import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension TestnetTests {
    @Suite struct LoopbackTestnetTests {
        @Test func nodesJoinedInTurnKnowEachOtherAndUseTheGivenKeys() async throws {
            var plan = LoopbackTestnet.Plan(size: 5, isolated: true)
            plan.signingKeys = try (0..<2).map { try SigningKey(seed: [UInt8](repeating: UInt8(7 + $0), count: SigningKey.seedLength)) }
            let testnet = try await LoopbackTestnet.start(plan, joining: .inTurn)
            #expect(testnet.nodes.count == 5)
            #expect(testnet.seed == testnet.nodes[0].localEndpoint)
            #expect(testnet.nodes[0].publicKey == plan.signingKeys[0].publicKey)
            #expect(testnet.nodes[1].publicKey == plan.signingKeys[1].publicKey)
            // Past the given keys, fresh ones.
            #expect(Set(testnet.nodes.dropFirst(2).map(\.publicKey)).count == 3)
            #expect(testnet.joins.isEmpty)
            // Each later node joined through node 0 before the next started, so node 0 knows all.
            #expect(try await testnet.nodes[0].contacts().count == 4)
            for node in testnet.nodes.dropFirst() { #expect(try await node.contacts().count >= 1) }
            await testnet.shutdown()
        }

        @Test func backgroundJoinsTellWhenEachEnded() async throws {
            let before = ContinuousClock.now
            let testnet = try await LoopbackTestnet.start(.init(size: 4, isolated: true), joining: .inBackground)
            #expect(testnet.joins.count == 3)
            for join in testnet.joins {
                let ended = try #require(await join.value)
                #expect(ended > before)
            }
            await testnet.shutdown()
        }

        @Test func withoutJoiningNoNodeKnowsAnother() async throws {
            let testnet = try await LoopbackTestnet.start(.init(size: 3, isolated: true))
            for node in testnet.nodes { #expect(try await node.contacts().isEmpty) }
            await testnet.shutdown()
        }

        /// A taken port fails the start, and the nodes already bound are stopped: their ports
        /// can be bound again at once. Node 1's port is taken on purpose; node 0's, the one
        /// below, is free unless another test holds it, and then the case is tried again.
        @Test func aTakenPortStopsTheNodesAlreadyStarted() async throws {
            for _ in 0..<5 {
                let squatter = try await DHTNode.start(DHTNode.Configuration(host: "127.0.0.1", port: 0))
                let taken = Int(squatter.localEndpoint.port)
                let plan = LoopbackTestnet.Plan(size: 2, basePort: taken - 1, isolated: true)
                do {
                    let testnet = try await LoopbackTestnet.start(plan)
                    Issue.record("node 1 bound \(testnet.nodes[1].localEndpoint), a port in use")
                    await testnet.shutdown()
                } catch DHTNodeError.bindFailed(let text) where text.contains(":\(taken - 1)") {
                    await squatter.shutdown()
                    continue
                } catch DHTNodeError.bindFailed(let text) {
                    #expect(text.contains(":\(taken)"), "the error names node 1's address: \(text)")
                }
                let rebound = try await DHTNode.start(plan.configuration(of: 0))
                #expect(Int(rebound.localEndpoint.port) == taken - 1)
                await rebound.shutdown()
                await squatter.shutdown()
                return
            }
            Issue.record("the port below a free one was taken five times over")
        }

        @Test func theNetworkIDIsOwnOnlyWhenIsolated() {
            #expect(LoopbackTestnet.Plan(size: 1).settings.networkID == 0)
            let first = LoopbackTestnet.Plan(size: 1, isolated: true).settings.networkID
            let second = LoopbackTestnet.Plan(size: 1, isolated: true).settings.networkID
            #expect(first != 0 && second != 0 && first != second)
            #expect(LoopbackTestnet.Plan(size: 1, host: "10.0.0.1").settings.routing.restrictIPs == false)
        }
    }
}
