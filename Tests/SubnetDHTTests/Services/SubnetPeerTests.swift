import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension ServicesTests {
    @Suite struct OfflineOverUDPTests {
        @Test func anOfflineHeartbeatStaysReadableUntilItExpires() async throws {
            let nodes = try await IsolatedLoopbackNetwork().start(3)
            do {
                for node in nodes.dropFirst() { try await node.bootstrap(from: [nodes[0].localEndpoint]) }
                let settings = HeartbeatSettings(interval: .seconds(2), ttl: .seconds(6), pruneInterval: .seconds(1))
                for node in nodes {
                    try await node.startHeartbeat(ServerInfo(state: .online, role: "worker", throughput: 0, address: node.localEndpoint), settings: settings)
                }
                // Every node's first heartbeat is on the replicas before the count below.
                let deadline = ContinuousClock.now + .seconds(10)
                for node in nodes {
                    while try await node.heartbeatStatus()?.lastSuccess == nil {
                        guard ContinuousClock.now < deadline else { throw CLIStyleError("no heartbeat published within 10 s") }
                        try await Task.sleep(for: .milliseconds(20))
                    }
                }
                let offline = ServerInfo(state: .offline, role: "worker", throughput: 0, address: nodes[1].localEndpoint)
                let stopped = try await nodes[1].stopHeartbeat(final: offline)
                #expect(stopped?.accepted.count == 2)
                let read = try await nodes[2].records(key: "node")
                let states = read.compactMap(Peer.init(record:)).map { "\($0.info.address) \($0.info.state)" }
                #expect(read.count == 3, "\(states)")
                #expect(read.compactMap(Peer.init(record:)).contains { $0.owner == nodes[1].publicKey && $0.info.state == .offline })
            } catch {
                Issue.record(error)
            }
            for node in nodes { await node.shutdown() }
        }
    }
}
