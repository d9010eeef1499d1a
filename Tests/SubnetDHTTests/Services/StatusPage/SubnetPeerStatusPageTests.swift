import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension StatusPageTests {
    /// Two real `SubnetPeer`s on 127.0.0.1 (their own network id), the second serving the page:
    /// both appear, and the first, stopped gracefully, shows as left.
    @Suite struct SubnetPeerStatusPageTests {
        @Test func aPeerStoppedGracefullyShowsAsLeftOnThePage() async throws {
            let network = LoopbackTestnet.Plan(size: 2, isolated: true)
            let heartbeat = HeartbeatSettings(interval: .seconds(1), ttl: .seconds(6))
            func configuration(_ name: String, bootstrap: [Endpoint], metrics: Bool) -> SubnetPeer.Configuration {
                var node = network.configuration(of: bootstrap.isEmpty ? 0 : 1)
                node.settings.pruneInterval = heartbeat.pruneInterval
                var configuration = SubnetPeer.Configuration(node: node)
                configuration.heartbeat = heartbeat
                configuration.name = name
                configuration.bootstrap = bootstrap
                configuration.httpPort = metrics ? 0 : nil
                configuration.offlineTimeout = .seconds(2)
                configuration.statusRecorder.refreshInterval = .milliseconds(200)
                return configuration
            }
            let started = NIOLockedValueBox<[String: (Endpoint, Int?)]>([:])
            func start(_ configuration: SubnetPeer.Configuration) throws -> (SubnetPeer, ServiceGroup, Task<Void, Never>) {
                let name = configuration.name ?? ""
                let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
                let peer = try SubnetPeer(configuration, logger: quiet) { node, port in started.withLockedValue { $0[name] = (node.localEndpoint, port) } }
                let group = ServiceGroup(services: [peer], logger: quiet)
                return (peer, group, Task { try? await group.run() })
            }
            func waitFor<T: Sendable>(_ what: String, within limit: Duration = .seconds(20),
                                      _ probe: () async throws -> T?) async throws -> T {
                let deadline = ContinuousClock.now + limit
                while ContinuousClock.now < deadline {
                    if let value = try await probe() { return value }
                    try await Task.sleep(for: .milliseconds(100))
                }
                throw HTTPTestConnection.Failure("\(what) not within \(limit)")
            }

            let (first, firstGroup, firstRun) = try start(configuration("first", bootstrap: [], metrics: false))
            let seed = try await waitFor("first bound") { started.withLockedValue { $0["first"]?.0 } }
            let (second, secondGroup, secondRun) = try start(configuration("second", bootstrap: [seed], metrics: true))
            let port = try await waitFor("second bound") { started.withLockedValue { $0["second"]?.1 } }
            func get(_ path: String) async throws -> String {
                let connection = try HTTPTestConnection(port: port)
                try connection.request(path)
                return try await connection.readResponse().body
            }
            do {
                let firstKey = try #require(first.node?.publicKey.hex)
                let secondKey = try #require(second.node?.publicKey.hex)
                let peers = try await waitFor("both peers in /peers.json") { () -> String? in
                    let body = try await get("/peers.json")
                    return body.contains(firstKey) && body.contains(secondKey) && !body.contains("joining") ? body : nil
                }
                #expect(peers.hasPrefix("[{\"owner\":") && peers.hasSuffix("}]\n"))
                let page = try await get("/")
                #expect(page.contains(#"<tr data-owner="\#(firstKey)" data-state="online">"#))
                #expect(page.contains("This node <code class=\"key\" title=\"\(secondKey)\">"))

                await firstGroup.triggerGracefulShutdown()
                let live = try await waitFor("the first peer shown as left") { () -> String? in
                    let body = try await get("/status.html")
                    return body.contains(#"<tr class="gone" data-owner="\#(firstKey)" data-reason="left">"#) ? body : nil
                }
                #expect(!live.contains(#"<tr data-owner="\#(firstKey)""#))
                #expect(!(try await get("/peers.json")).contains(firstKey))
            } catch {
                Issue.record(error)
            }
            await firstGroup.triggerGracefulShutdown()
            await secondGroup.triggerGracefulShutdown()
            // Each stop is bounded by the peer's own timeouts (join 8 s, OFFLINE 2 s); this wait too.
            _ = await withTimeout(.seconds(20)) { await firstRun.value }
            _ = await withTimeout(.seconds(20)) { await secondRun.value }
        }
    }
}
