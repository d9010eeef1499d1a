#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension ServicesTests {
    @Suite struct OfflineOverUDPTests {
        @Test func anOfflineHeartbeatStaysReadableUntilItExpires() async throws {
            let testnet = try await LoopbackTestnet.start(.init(size: 3, isolated: true), joining: .inTurn)
            let nodes = testnet.nodes
            do {
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
                // One read of the node (`status()`, what /metrics and /health use) carries the
                // live view's size and the last heartbeat.
                while try await nodes[0].livePeers().count < 3 {
                    guard ContinuousClock.now < deadline + .seconds(10) else { throw CLIStyleError("the view never held all 3") }
                    try await Task.sleep(for: .milliseconds(20))
                }
                let status = try await nodes[0].status()
                #expect(status.livePeers == 3)
                let lastHeartbeat = try #require(status.lastHeartbeat)
                #expect(lastHeartbeat <= (try await nodes[0].heartbeatStatus()?.lastSuccess ?? .init(milliseconds: 0)))
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
            await testnet.shutdown()
        }
    }

    @Suite struct SubnetPeerStartTests {
        /// A run whose HTTP port is taken fails, and stops the node it had started: nothing
        /// answers on its UDP port afterwards.
        @Test func aRunThatCannotServeHTTPLeavesNoSocketBehind() async throws {
            let probe = try await DHTNode.start(DHTNode.Configuration(host: "127.0.0.1", port: 0))
            let udpPort = Int(probe.localEndpoint.port)
            await probe.shutdown()
            let taken = try Self.tcpListener()
            defer { close(taken.descriptor) }
            var configuration = SubnetPeer.Configuration(node: DHTNode.Configuration(host: "127.0.0.1", port: udpPort))
            configuration.httpPort = taken.port
            configuration.heartbeat = nil
            let peer = try SubnetPeer(configuration)
            await #expect(throws: (any Error).self) { try await peer.run() }
            #expect(peer.node == nil)
            var settings = DHTSettings.loopbackTestNetwork
            settings.requestTimeout = .milliseconds(500)
            settings.maxAttempts = 1
            let client = try await DHTNode.start(DHTNode.Configuration(host: "127.0.0.1", port: 0, settings: settings))
            await #expect(throws: (any Error).self, "the failed run's node still answers") {
                _ = try await client.ping(Endpoint(address: .v4(0x7f00_0001), port: UInt16(udpPort)))
            }
            await client.shutdown()
        }

        /// A TCP socket listening on a port of 127.0.0.1 the system chose.
        static func tcpListener() throws -> (descriptor: Int32, port: Int) {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { throw CLIStyleError("socket failed") }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0, listen(descriptor, 1) == 0 else {
                close(descriptor)
                throw CLIStyleError("bind or listen failed")
            }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
            }
            return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
        }
    }
}

extension ServicesTests {
    /// `SubnetPeer.update(_:)`, what `PUT /self` calls, on a lone peer over loopback.
    @Suite struct SubnetPeerUpdateTests {
        static func configuration(heartbeat: Bool = true) -> SubnetPeer.Configuration {
            var configuration = SubnetPeer.Configuration(node: DHTNode.Configuration(host: "127.0.0.1", port: 0))
            configuration.role = "miner"
            configuration.heartbeat = heartbeat ? HeartbeatSettings(interval: .seconds(1), ttl: .seconds(4), pruneInterval: .seconds(1)) : nil
            return configuration
        }

        /// Waits (bounded) until `probe` holds.
        static func eventually(_ what: String, _ probe: () async throws -> Bool) async throws {
            let deadline = ContinuousClock.now + .seconds(20)
            while try await !probe() {
                guard ContinuousClock.now < deadline else { throw CLIStyleError("\(what) never happened") }
                try await Task.sleep(for: .milliseconds(10))
            }
        }

        @Test func aChangeIsPublishedAtOnceAndARefusedOneChangesNothing() async throws {
            let peer = try SubnetPeer(Self.configuration())
            await #expect(throws: SelfUpdateError.notRunning) { try await peer.update(SelfUpdate(throughput: 1)) }
            let running = Task { try await peer.run() }
            try await Self.eventually("ONLINE") { peer.info?.state == .online }
            #expect(peer.info?.throughputReported == false)
            let node = try #require(peer.node)

            let changed = try await peer.update(SelfUpdate(throughput: 12.5, info: ["stake": .integer(5)]))
            #expect(changed.throughput == 12_500 && changed.throughputReported && changed.info == ["stake": .integer(5)])
            #expect(peer.info == changed)
            // The heartbeat carries it from now on (published at once, not at the next interval).
            try await Self.eventually("the change in the heartbeat") { try await node.heartbeatStatus()?.info == changed }

            // The node's own policy (roles) and the value limit refuse before anything changes.
            do {
                _ = try await peer.update(SelfUpdate(role: "admin"))
                Issue.record("role admin was taken")
            } catch {
                guard case .refused(let message, 209) = error else { Issue.record("\(error)"); return }
                #expect(message.contains("admin"))
            }
            do {
                _ = try await peer.update(SelfUpdate(info: ["blob": .string(String(repeating: "x", count: 1_000))]))
                Issue.record("an oversized heartbeat was taken")
            } catch {
                guard case .refused(let message, 205) = error else { Issue.record("\(error)"); return }
                #expect(message.contains("1000-byte limit"))
            }
            #expect(peer.info == changed)
            #expect(try await node.heartbeatStatus()?.info == changed)

            running.cancel()
            try await running.value
            await #expect(throws: SelfUpdateError.notRunning) { try await peer.update(SelfUpdate(throughput: 2)) }
        }

        @Test func aPeerWithoutHeartbeatsHasNothingToChange() async throws {
            let peer = try SubnetPeer(Self.configuration(heartbeat: false))
            await #expect(throws: SelfUpdateError.noHeartbeat) { try await peer.update(SelfUpdate(throughput: 1)) }
        }
    }
}
