import NIOConcurrencyHelpers
import NIOPosix
import ServiceLifecycle
import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension HTTPTests {
    @Suite struct NodeHTTPServerTests {
        static let now = Timestamp(seconds: 1_700_000_100)

        /// A server on 127.0.0.1 port 0 whose `/health` reports whatever `health` holds, judged at `now`.
        static func makeServer(metrics: NodeMetrics = NodeMetrics(),
                               health: NIOLockedValueBox<HealthReport> = NIOLockedValueBox(idleReport)) -> NodeHTTPServer {
            NodeHTTPServer(host: "127.0.0.1", port: 0, clock: { now },
                          metrics: { metrics.render() }, health: { health.withLockedValue { $0 } })
        }

        static let idleReport = HealthReport(state: "joining", lastHeartbeat: nil, routingTableSize: 0, livePeers: 0,
                                             heartbeatTTLSeconds: 60)

        @Test func metricsEndpointServesTheRegistry() async throws {
            let metrics = NodeMetrics()
            metrics.update(from: MetricsTests.status(routing: 12, records: 4, received: 100, sent: 80, malformed: 2))
            metrics.recordHeartbeat(ok: true, latency: .milliseconds(40))
            let server = Self.makeServer(metrics: metrics)
            let port = try await server.start()
            #expect(port > 0 && server.port == port)

            let connection = try HTTPTestConnection(port: port)
            try connection.request("/metrics")
            let response = try await connection.readResponse()
            #expect(response.status == 200)
            #expect(response.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
            #expect(response.headers["content-length"] == String(response.body.utf8.count))
            let body = response.body
            #expect(MetricsTests.value(of: "subnet_dht_routing_table_size", in: body) == 12)
            #expect(MetricsTests.value(of: "subnet_dht_records_stored", in: body) == 4)
            #expect(MetricsTests.value(of: "subnet_dht_datagrams_received_total", in: body) == 100)
            #expect(MetricsTests.value(of: "subnet_dht_datagrams_sent_total", in: body) == 80)
            #expect(MetricsTests.value(of: "subnet_dht_malformed_datagrams_total", in: body) == 2)
            #expect(MetricsTests.value(of: #"subnet_dht_heartbeat_publishes_total{result="ok"}"#, in: body) == 1)
            #expect(MetricsTests.value(of: "subnet_dht_heartbeat_publish_seconds_count", in: body) == 1)

            // Each scrape reads the metrics afresh, on the same keep-alive connection.
            metrics.update(from: MetricsTests.status(routing: 13, received: 130))
            try connection.request("/metrics?scrape=2")
            let second = try await connection.readResponse()
            #expect(MetricsTests.value(of: "subnet_dht_routing_table_size", in: second.body) == 13)
            #expect(MetricsTests.value(of: "subnet_dht_datagrams_received_total", in: second.body) == 130)
            await server.stop()
        }

        @Test func healthIs200WhenFreshAnd503WhenTheHeartbeatIsStale() async throws {
            let health = NIOLockedValueBox(HealthReport(state: "online", lastHeartbeat: Self.now - .seconds(5),
                                                  routingTableSize: 8, livePeers: 3, heartbeatTTLSeconds: 60))
            let server = Self.makeServer(health: health)
            let connection = try HTTPTestConnection(port: try await server.start())

            try connection.request("/health")
            let fresh = try await connection.readResponse()
            #expect(fresh.status == 200)
            #expect(fresh.headers["content-type"] == "application/json")
            #expect(fresh.body == #"{"state":"online","healthy":true,"last_heartbeat":1700000095,"last_heartbeat_age_seconds":5.000,"routing_table_size":8,"live_peers":3}"# + "\n")

            health.withLockedValue { $0.lastHeartbeat = Self.now - .seconds(61) }  // older than the 60 s TTL
            try connection.request("/health")
            let stale = try await connection.readResponse()
            #expect(stale.status == 503)
            #expect(stale.body.contains(#""healthy":false"#))
            #expect(stale.body.contains(#""last_heartbeat_age_seconds":61.000"#))

            health.withLockedValue { $0 = Self.idleReport }  // no heartbeat yet
            try connection.request("/health")
            #expect(try await connection.readResponse().status == 503)
            await server.stop()
        }

        @Test func otherPathsAre404OtherMethods405AndGarbage400() async throws {
            let server = Self.makeServer()
            let port = try await server.start()
            let connection = try HTTPTestConnection(port: port)

            try connection.request("/nope")
            let notFound = try await connection.readResponse()
            #expect(notFound.status == 404)
            #expect(!notFound.body.isEmpty)

            try connection.request("/metrics", method: "POST", body: "x=1")
            let post = try await connection.readResponse()
            #expect(post.status == 405)
            #expect(post.headers["allow"] == "GET")

            try connection.request("/health", method: "DELETE")
            #expect(try await connection.readResponse().status == 405)

            // The connection survived all of that.
            try connection.request("/health")
            #expect(try await connection.readResponse().status == 503)

            let garbage = try HTTPTestConnection(port: port)
            try garbage.send("THIS IS NOT HTTP\r\n\r\n")
            #expect(try await garbage.readResponse().status == 400)
            #expect(try await garbage.closesByPeer())
            await server.stop()
        }

        @Test func keepAliveAndConnectionClose() async throws {
            let server = Self.makeServer()
            let port = try await server.start()

            // Two pipelined requests in one write: two responses, in order, connection kept.
            let pipelined = try HTTPTestConnection(port: port)
            try pipelined.send("GET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            let first = try await pipelined.readResponse(), second = try await pipelined.readResponse()
            #expect(first.status == 404 && second.status == 503)
            #expect(first.headers["connection"] == nil && second.headers["connection"] == nil)
            try pipelined.request("/metrics")
            #expect(try await pipelined.readResponse().status == 200)

            let closing = try HTTPTestConnection(port: port)
            try closing.request("/metrics", headers: ["Connection: close"])
            let closed = try await closing.readResponse()
            #expect(closed.status == 200 && closed.headers["connection"] == "close")
            #expect(try await closing.closesByPeer())

            let old = try HTTPTestConnection(port: port)
            try old.request("/health", version: "HTTP/1.0")
            #expect(try await old.readResponse().headers["connection"] == "close")
            #expect(try await old.closesByPeer())

            let oldKeepAlive = try HTTPTestConnection(port: port)
            try oldKeepAlive.request("/nope", version: "HTTP/1.0", headers: ["Connection: keep-alive"])
            #expect(try await oldKeepAlive.readResponse().headers["connection"] == "keep-alive")
            try oldKeepAlive.request("/nope", version: "HTTP/1.0", headers: ["Connection: keep-alive"])
            #expect(try await oldKeepAlive.readResponse().status == 404)
            await server.stop()
        }

        @Test func aSlowProviderDoesNotHoldUpTheEventLoop() async throws {
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)  // every connection on one loop
            let (release, releaser) = AsyncStream<Void>.makeStream()
            let server = NodeHTTPServer(group: group, clock: { Self.now },
                                       metrics: { for await _ in release { break }; return "slow\n" },
                                       health: { Self.idleReport })
            let port = try await server.start()

            let slow = try HTTPTestConnection(port: port)
            try slow.request("/metrics")
            let quick = try HTTPTestConnection(port: port)
            try quick.request("/health")
            #expect(try await quick.readResponse().status == 503)  // answered while /metrics still waits

            releaser.yield()
            #expect(try await slow.readResponse().body == "slow\n")
            await server.stop()
            try await group.shutdownGracefully()
        }

        @Test func startStopAndRestart() async throws {
            let server = Self.makeServer()
            #expect(server.port == nil)
            let port = try await server.start()
            #expect(try await server.start() == port)
            let connection = try HTTPTestConnection(port: port)
            try connection.request("/health")
            #expect(try await connection.readResponse().status == 503)

            await server.stop()
            #expect(server.port == nil)
            #expect(try await connection.closesByPeer())  // idle keep-alive connections are closed too
            #expect(throws: HTTPTestConnection.Failure.self) { try HTTPTestConnection(port: port) }
            await #expect(throws: NodeHTTPServerError.stopped) { try await server.start() }
            await server.stop()  // a second stop is harmless
        }

        @Test func idleKeepAliveConnectionsAreClosed() async throws {
            var settings = NodeHTTPServer.Settings()
            settings.idleTimeout = .milliseconds(100)
            let server = NodeHTTPServer(settings: settings, clock: { Self.now }, metrics: { "" }, health: { Self.idleReport })
            let connection = try HTTPTestConnection(port: try await server.start())
            try connection.request("/metrics")
            #expect(try await connection.readResponse().status == 200)
            #expect(try await connection.closesByPeer(within: .seconds(5)))
            await server.stop()
        }

        @Test(.timeLimit(.minutes(1))) func stopLetsARequestInProgressFinish() async throws {
            let (release, releaser) = AsyncStream<Void>.makeStream()
            let (entered, enter) = AsyncStream<Void>.makeStream()
            let server = NodeHTTPServer(clock: { Self.now }, metrics: { enter.yield(); for await _ in release { break }; return "late\n" },
                                       health: { Self.idleReport })
            let connection = try HTTPTestConnection(port: try await server.start())
            try connection.request("/metrics")
            for await _ in entered { break }  // the request has reached the provider
            let stopping = Task { await server.stop() }
            while server.port != nil { try await Task.sleep(for: .milliseconds(2)) }
            releaser.yield()
            let response = try await connection.readResponse()
            #expect(response.status == 200 && response.body == "late\n")
            #expect(try await connection.closesByPeer())
            await stopping.value
        }

        @Test(.timeLimit(.minutes(1))) func stopClosesAStuckRequestAfterTheGracePeriod() async throws {
            let (release, releaser) = AsyncStream<Void>.makeStream()
            let (entered, enter) = AsyncStream<Void>.makeStream()
            var settings = NodeHTTPServer.Settings()
            let grace = Duration.milliseconds(400)
            settings.shutdownGracePeriod = grace
            let server = NodeHTTPServer(settings: settings, clock: { Self.now },
                                       metrics: { enter.yield(); for await _ in release { break }; return "never sent\n" },
                                       health: { Self.idleReport })
            let connection = try HTTPTestConnection(port: try await server.start())
            try connection.request("/metrics")
            for await _ in entered { break }  // the request is stuck in the provider
            let started = ContinuousClock.now
            let stopping = Task { await server.stop() }
            // Within the grace period the connection stays open...
            #expect(try await !connection.closesByPeer(within: grace / 4), "closed before the grace period ended")
            // ...and once it ends, stop() returns with the connection closed, not much later.
            await stopping.value
            let took = ContinuousClock.now - started
            #expect(took >= grace, "stop() returned after \(took), before the \(grace) grace period")
            #expect(took < grace + .seconds(5), "stop() took \(took)")
            #expect(try await connection.closesByPeer(within: .seconds(1)))
            releaser.finish()  // the provider returns into a closed connection: nothing is written
        }

        @Test func runServesUntilCancelled() async throws {
            let server = Self.makeServer()
            let task = Task { try await server.run() }
            let port = try await HTTPTests.waitForPort(of: server)
            let connection = try HTTPTestConnection(port: port)
            try connection.request("/metrics")
            #expect(try await connection.readResponse().status == 200)

            task.cancel()
            try await task.value
            #expect(server.port == nil)
            #expect(throws: HTTPTestConnection.Failure.self) { try HTTPTestConnection(port: port) }
        }

        @Test func runEndsOnTheServiceGroupsGracefulShutdown() async throws {
            let server = Self.makeServer()
            let group = ServiceGroup(services: [server])
            let task = Task { try await group.run() }
            let port = try await HTTPTests.waitForPort(of: server)
            let connection = try HTTPTestConnection(port: port)
            try connection.request("/health")
            #expect(try await connection.readResponse().status == 503)

            await group.triggerGracefulShutdown()
            try await task.value
            #expect(server.port == nil)
            #expect(throws: HTTPTestConnection.Failure.self) { try HTTPTestConnection(port: port) }
        }
    }
}
