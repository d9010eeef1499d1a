import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension APITests {
    /// The node's one event hub: every subscriber gets the events it selects, in order, and
    /// every stream ends when the hub finishes.
    @Suite struct EventHubTests {
        let peer = Peer(owner: SigningKey.generate().publicKey,
                        info: ServerInfo(state: .online, role: "worker", throughput: 1, address: Endpoint("127.0.0.1:7000")!),
                        seq: 1, expires: 100)

        @Test func eachSubscriberGetsTheEventsItSelects() async {
            let hub = EventHub<CoreEvent>()
            let everything = hub.subscribe()
            let membership = hub.subscribe { event -> MembershipEvent? in
                if case .membership(let change) = event { change } else { nil }
            }
            hub.publish(.heartbeatPublished(ok: true, latency: .milliseconds(3)))
            hub.publish(.membership(.joined(peer)))
            hub.publish(.pruned(records: 1, peers: 0))
            hub.publish(.membership(.left(peer)))
            hub.finish()

            var kinds = [String]()
            for await event in everything {
                switch event {
                case .heartbeatPublished: kinds.append("heartbeat")
                case .membership: kinds.append("membership")
                case .pruned: kinds.append("pruned")
                case .operationFinished: kinds.append("finished")
                }
            }
            #expect(kinds == ["heartbeat", "membership", "pruned", "membership"])
            var changes = [MembershipEvent]()
            for await change in membership { changes.append(change) }
            #expect(changes == [.joined(peer), .left(peer)])
        }

        @Test func aSubscriptionAfterTheHubFinishedEndsAtOnce() async {
            let hub = EventHub<CoreEvent>()
            hub.finish()
            let late = hub.subscribe()
            hub.publish(.pruned(records: 1, peers: 1))
            var count = 0
            for await _ in late { count += 1 }
            #expect(count == 0)
        }
    }
}
