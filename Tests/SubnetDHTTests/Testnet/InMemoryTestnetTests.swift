import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension TestnetTests {
    @Suite(.offCooperativePool) struct InMemoryTestnetTests {
        @Test func everyNodeKnowsAtLeastKOthersAfterTheBuild() {
            let testnet = InMemoryTestnet(count: 20, seed: 5)
            let k = DHTSettings.loopbackTestNetwork.k
            for endpoint in testnet.endpoints {
                #expect(testnet.network.core(at: endpoint)!.routingTableSize >= min(k, 19))
            }
            #expect(testnet.endpoints == (0..<20).map { Endpoint(address: .v4(0x7f00_0001), port: UInt16(20000 + $0)) })
        }

        @Test func theSameSeedGivesTheSameNodes() {
            let first = InMemoryTestnet(count: 6, seed: 7)
            let second = InMemoryTestnet(count: 6, seed: 7)
            #expect(first.ids == second.ids)
            #expect(first.endpoints.map { first.network.core(at: $0)!.contacts.map(\.id) }
                    == second.endpoints.map { second.network.core(at: $0)!.contacts.map(\.id) })
            #expect(InMemoryTestnet(count: 6, seed: 8).ids != first.ids)
        }

        @Test func aGrownNetworkJoinsEveryNodeInBatches() {
            var generator = SplitMix64(seed: 3)
            var reports = [Int]()
            let testnet = InMemoryTestnet(growing: 40, on: InMemoryNetwork(), settings: DHTSettings(), joinBatch: 8,
                                          generator: &generator) { joined, results in
                reports.append(joined)
                #expect(results.allSatisfy { $0 != nil })
            }
            // Batches never outnumber the nodes already in: 1 + 1 + 2 + 4 + 8 + 8 + 8 + 8.
            #expect(reports == [2, 4, 8, 16, 24, 32, 40])
            #expect(Set(testnet.endpoints.map(\.address)).count == 40)
            #expect(testnet.endpoints.allSatisfy { testnet.network.core(at: $0)!.routingTableSize > 0 })
        }

        @Test func closestIsTheSortedPrefix() {
            var generator = SplitMix64(seed: 11)
            let ids = (0..<50).map { _ in NodeID.random(using: &generator) }
            let target = NodeID.random(using: &generator)
            let sorted = ids.sorted { $0.distance(to: target) < $1.distance(to: target) }
            #expect(InMemoryTestnet.closest(to: target, among: ids, count: 8) == Array(sorted.prefix(8)))
        }
    }
}
