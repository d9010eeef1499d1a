import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension CoreTests {
    @Suite struct IterativeLookupTests {
        let target = NodeID.zero
        let local = NodeID.max

        /// An id at XOR distance `n` from the zero target, so smaller n is closer.
        func node(_ n: UInt32) -> NodeInfo {
            NodeInfo(id: NodeID(high: 0, middle: 0, low: n), endpoint: Endpoint(address: .v4(0x7f00_0001), port: UInt16(n)))
        }

        /// A record lookup where nearly every node is a router (answers without a token): it ends
        /// after the routerWidening x k closest have answered, asks no endpoint twice though the
        /// candidate limit forgets some, and keeps only the replica it met.
        static let routerWalkSeed: UInt64 = 1

        @Test func aRecordLookupAmongRoutersIsBounded() {
            let k = 8
            var lookup = IterativeLookup(target: target, kind: .getRecords(key: Array("node".utf8)), localID: local, k: k, candidateLimit: 64)
            // 2,000 nodes, each knowing a few at every scale of distance below its own, as a
            // Kademlia table does: it names 2 from each of the ranges [p/2, p), [p/4, p/2),
            // [p/8, p/4) and [1, p/8) of positions (distance p from the target). Near the target
            // a walk has fresh candidates without end, which an unbounded record lookup asks on.
            let nodes = (1...2000).map { node(UInt32($0) * 7) }
            lookup.seed(nodes: Array(nodes.suffix(16)), endpoints: [])
            var askedCount: [Endpoint: Int] = [:]
            var rounds = 0
            // Seeded: which nodes each answer names decides how long the walk is, and with the
            // system's generator a run now and then went past the bound below.
            var generator = SplitMix64(seed: Self.routerWalkSeed)
            while !lookup.isFinished && rounds < 10_000 {
                rounds += 1
                let batch = lookup.nextQueries(alpha: 3)
                if batch.isEmpty { break }
                for candidate in batch {
                    askedCount[candidate.endpoint, default: 0] += 1
                    let position = Int(candidate.endpoint.port) / 7
                    var named: [NodeInfo] = []
                    for (low, high) in [(position / 2, position), (position / 4, position / 2), (position / 8, position / 4), (1, max(2, position / 8))] {
                        named += nodes[max(0, low - 1)..<max(low, high - 1)].shuffled(using: &generator).prefix(2)
                    }
                    // One node in 100 is a replica and answers with a token.
                    let token: [UInt8]? = position % 100 == 0 ? [1] : nil
                    lookup.handleResponse(from: candidate.endpoint, body: ResponseBody(id: candidate.id!, nodes: Array(named), token: token),
                                          verifiedItem: nil, immutableValue: nil)
                }
            }
            #expect(lookup.isFinished)
            #expect(askedCount.values.allSatisfy { $0 == 1 }, "an endpoint was asked twice")
            // Bounded: about 80 messages here, where the walk without the bound asked about 900.
            #expect(lookup.messagesSent <= 120, "\(lookup.messagesSent) messages")
            #expect(lookup.closestResponded.allSatisfy { Int($0.endpoint.port) / 7 % 100 == 0 })
        }

        @Test func keepsAlphaInFlightClosestFirst() {
            var lookup = IterativeLookup(target: target, kind: .findNode, localID: local, k: 8, candidateLimit: 64)
            lookup.seed(nodes: (1...20).map { node($0 * 10) }, endpoints: [])
            let first = lookup.nextQueries(alpha: 3)
            #expect(first.map(\.endpoint.port) == [10, 20, 30])
            #expect(lookup.nextQueries(alpha: 3).isEmpty)
            lookup.handleFailure(from: first[0].endpoint)
            #expect(lookup.nextQueries(alpha: 3).map(\.endpoint.port) == [40])
        }

        @Test func onceNothingCloserComesTheRestOfTheKClosestAreAskedAtOnce() {
            var lookup = IterativeLookup(target: target, kind: .findNode, localID: local, k: 8, candidateLimit: 64)
            lookup.seed(nodes: (1...20).map { node($0 * 10) }, endpoints: [])
            #expect(lookup.nextQueries(alpha: 3).map(\.endpoint.port) == [10, 20, 30])
            // 20 names 5, closer than any known: the lookup still moves, so alpha holds.
            lookup.handleResponse(from: node(20).endpoint, body: ResponseBody(id: node(20).id, nodes: [node(5)]), verifiedItem: nil, immutableValue: nil)
            #expect(lookup.nextQueries(alpha: 3).map(\.endpoint.port) == [5])
            // 5, now the closest known, answers with nothing closer: the final round begins, and
            // the k closest not yet asked all go out, not alpha at a time.
            lookup.handleResponse(from: node(5).endpoint, body: ResponseBody(id: node(5).id, nodes: [node(40)]), verifiedItem: nil, immutableValue: nil)
            #expect(lookup.nextQueries(alpha: 3).map(\.endpoint.port) == [40, 50, 60, 70])
            // A later answer that names a closer node ends the final round: alpha holds again.
            lookup.handleResponse(from: node(40).endpoint, body: ResponseBody(id: node(40).id, nodes: [node(1)]), verifiedItem: nil, immutableValue: nil)
            #expect(lookup.nextQueries(alpha: 3).isEmpty, "10, 30, 50, 60 and 70 still hold more than alpha slots")
        }

        @Test func theFinalRoundWaitsUntilTheClosestKnownHasAnswered() {
            var lookup = IterativeLookup(target: target, kind: .findNode, localID: local, k: 8, candidateLimit: 64)
            lookup.seed(nodes: (1...20).map { node($0 * 10) }, endpoints: [])
            #expect(lookup.nextQueries(alpha: 3).map(\.endpoint.port) == [10, 20, 30])
            // 20 names nothing closer, but 10, the closest known, has not answered yet: it may.
            lookup.handleResponse(from: node(20).endpoint, body: ResponseBody(id: node(20).id), verifiedItem: nil, immutableValue: nil)
            #expect(lookup.nextQueries(alpha: 3).map(\.endpoint.port) == [40])
        }

        @Test func aResentQueryFreesItsSlotButStillHoldsTheResult() {
            var lookup = IterativeLookup(target: target, kind: .findNode, localID: local, k: 2, candidateLimit: 64)
            lookup.seed(nodes: [node(10), node(20), node(30)], endpoints: [])
            #expect(lookup.nextQueries(alpha: 2).map(\.endpoint.port) == [10, 20])
            // 10 timed out once and was resent: 30 is asked in its place, in case 10 is dead.
            lookup.noteRetry(to: node(10).endpoint)
            #expect(lookup.nextQueries(alpha: 2).map(\.endpoint.port) == [30])
            for n: UInt32 in [20, 30] {
                lookup.handleResponse(from: node(n).endpoint, body: ResponseBody(id: node(n).id), verifiedItem: nil, immutableValue: nil)
            }
            #expect(!lookup.isFinished, "the slow node is still awaited")
            lookup.handleResponse(from: node(10).endpoint, body: ResponseBody(id: node(10).id), verifiedItem: nil, immutableValue: nil)
            #expect(lookup.isFinished)
            #expect(lookup.result().closest.map(\.endpoint.port) == [10, 20])
            #expect(lookup.messagesSent == 4)
        }

        @Test func aSlowNodeBeyondTheKClosestDoesNotHoldTheLookup() {
            var lookup = IterativeLookup(target: target, kind: .findNode, localID: local, k: 2, candidateLimit: 64)
            lookup.seed(nodes: [node(10), node(20)], endpoints: [])
            #expect(lookup.nextQueries(alpha: 3).map(\.endpoint.port) == [10, 20])
            lookup.noteRetry(to: node(20).endpoint)
            // 10 answers and names 5, closer still; 5 answers too.
            lookup.handleResponse(from: node(10).endpoint, body: ResponseBody(id: node(10).id, nodes: [node(5)]), verifiedItem: nil, immutableValue: nil)
            #expect(!lookup.isFinished)
            #expect(lookup.nextQueries(alpha: 3).map(\.endpoint.port) == [5])
            lookup.handleResponse(from: node(5).endpoint, body: ResponseBody(id: node(5).id), verifiedItem: nil, immutableValue: nil)
            #expect(lookup.isFinished, "the slow 20 is farther than the two that answered")
            #expect(lookup.result().closest.map(\.endpoint.port) == [5, 10])
        }

        @Test func convergesWhenTheKClosestHaveAnswered() {
            var lookup = IterativeLookup(target: target, kind: .findNode, localID: local, k: 2, candidateLimit: 64)
            lookup.seed(nodes: [node(100), node(200), node(300)], endpoints: [])
            // With k = 2 the third seed is beyond the k closest and is not asked while they live.
            let first = lookup.nextQueries(alpha: 3)
            #expect(first.map(\.endpoint.port) == [100, 200])
            // One answer names two closer nodes, which must be asked next.
            lookup.handleResponse(from: node(200).endpoint, body: ResponseBody(id: node(200).id, nodes: [node(5), node(7)]),
                                  verifiedItem: nil, immutableValue: nil)
            #expect(!lookup.isFinished)
            lookup.handleResponse(from: node(100).endpoint, body: ResponseBody(id: node(100).id), verifiedItem: nil, immutableValue: nil)
            let second = lookup.nextQueries(alpha: 3)
            #expect(second.map(\.endpoint.port) == [5, 7])
            for candidate in second {
                lookup.handleResponse(from: candidate.endpoint, body: ResponseBody(id: candidate.id!), verifiedItem: nil, immutableValue: nil)
            }
            #expect(lookup.isFinished)
            let result = lookup.result()
            #expect(result.closest.map(\.endpoint.port) == [5, 7])
            #expect(result.rounds == 2)
            #expect(result.messagesSent == 4)
            #expect(result.responses == 4)
        }

        @Test func bootstrapEndpointsLearnTheirIDs() {
            var lookup = IterativeLookup(target: target, kind: .findNode, localID: local, k: 8, candidateLimit: 64)
            let seed = Endpoint("127.0.0.1:9")!
            lookup.seed(nodes: [], endpoints: [seed])
            #expect(lookup.nextQueries(alpha: 3).map(\.endpoint) == [seed])
            lookup.handleResponse(from: seed, body: ResponseBody(id: node(9).id, nodes: [node(3)]), verifiedItem: nil, immutableValue: nil)
            #expect(lookup.nextQueries(alpha: 3).map(\.endpoint.port) == [3])
            lookup.handleFailure(from: node(3).endpoint)
            #expect(lookup.isFinished)
            #expect(lookup.result().closest == [node(9)])
        }

        @Test func candidateListIsBoundedAndNeverHoldsUs() {
            var lookup = IterativeLookup(target: target, kind: .findNode, localID: node(1).id, k: 8, candidateLimit: 16)
            lookup.seed(nodes: [node(1000)], endpoints: [])
            _ = lookup.nextQueries(alpha: 1)
            lookup.handleResponse(from: node(1000).endpoint, body: ResponseBody(id: node(1000).id, nodes: (1...200).map { node(UInt32($0)) }),
                                  verifiedItem: nil, immutableValue: nil)
            #expect(lookup.candidates.count <= 16)
            #expect(!lookup.candidates.contains { $0.id == node(1).id })
            // The closest candidates were kept, the farthest dropped.
            #expect(lookup.candidates.first?.endpoint.port == 2)
        }

        @Test func immutableGetStopsAtTheFirstValueButAStoreLookupGoesOn() {
            for stops in [true, false] {
                var lookup = IterativeLookup(target: target, kind: .getImmutable, localID: local, k: 8, candidateLimit: 64,
                                             stopsAtFirstValue: stops)
                lookup.seed(nodes: [node(10), node(20), node(30)], endpoints: [])
                _ = lookup.nextQueries(alpha: 3)
                lookup.handleResponse(from: node(30).endpoint, body: ResponseBody(id: node(30).id), verifiedItem: nil,
                                      immutableValue: .string("found"))
                #expect(lookup.isFinished == stops)
            }
        }
    }
}
