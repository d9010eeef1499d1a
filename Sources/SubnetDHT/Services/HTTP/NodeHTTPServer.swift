import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import SubnetDHTCore

public enum NodeHTTPServerError: Error, Equatable, CustomStringConvertible {
    /// `start()` was called while another `start()` was still binding.
    case alreadyStarting
    /// The server was stopped; it does not start again.
    case stopped
    case bindFailed(String)

    public var description: String {
        switch self {
        case .alreadyStarting: "the node's HTTP server is already starting"
        case .stopped: "the node's HTTP server was stopped"
        case .bindFailed(let reason): "could not bind the node's HTTP server: \(reason)"
        }
    }
}

/// The small HTTP/1.1 server of a node's HTTP port: `/metrics` (Prometheus text format),
/// `/health` (JSON; 200 when healthy, 503 when not) and, when given a `StatusPage`, the
/// status page and its JSON (`/`, `/peers.json`, `/records/KEY.json`). Any other path is 404,
/// another method than GET 405, a malformed request 400. Bodies come from closures called
/// once per request, in a task, never on the event loop; the closures ``SubnetPeer`` gives
/// read what its follower of the node keeps, so a request does not wait on the node.
///
///     let server = NodeHTTPServer(port: 9090, metrics: { metrics.render() }, health: { await report() })
///     let port = try await server.start()   // or put it in a ServiceGroup: `run()` serves until shutdown
///
/// One-shot: after `stop()` it does not start again.
public final class NodeHTTPServer: Service, Sendable {
    public struct Settings: Sendable {
        /// A keep-alive connection with no request for this long is closed, so forgotten clients do not hold sockets.
        public var idleTimeout: Duration = .seconds(60)
        /// On `stop()`, a request in progress gets this long to be answered before its connection is closed.
        public var shutdownGracePeriod: Duration = .seconds(5)
        /// Connections waiting to be accepted; scrapers and probes are few.
        public var backlog: Int = 64

        public init() {}
    }

    public let host: String
    /// The port asked for; 0 lets the system pick one (see `port`).
    public let requestedPort: Int
    public let settings: Settings
    private let group: any EventLoopGroup
    private let routes: NodeHTTPRoutes
    private let state = NIOLockedValueBox(ServerState())

    /// A server that does not listen yet: ``start()`` or ``run()`` binds it. The status page
    /// comes in through `init(host:port:settings:group:clock:metrics:health:statusPage:)`.
    ///
    /// - Parameters:
    ///   - host: The address to bind; loopback by default.
    ///   - port: The TCP port; 0 (the default) lets the system pick one.
    ///   - settings: Idle timeout, shutdown grace period and listen backlog.
    ///   - group: The NIO event loops the server runs on.
    ///   - clock: The time `/health` judges heartbeat age by.
    ///   - metrics: The `/metrics` body, e.g. `{ nodeMetrics.render() }`.
    ///   - health: The node's health, read per `/health` request.
    public convenience init(host: String = "127.0.0.1", port: Int = 0, settings: Settings = Settings(),
                            group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                            clock: @escaping @Sendable () -> Timestamp = { SystemClock.now() },
                            metrics: @escaping @Sendable () async -> String,
                            health: @escaping @Sendable () async -> HealthReport) {
        self.init(host: host, port: port, settings: settings, group: group, clock: clock, metrics: metrics, health: health,
                  pages: nil)
    }

    /// A server that also serves `pages`.
    init(host: String, port: Int, settings: Settings, group: any EventLoopGroup, clock: @escaping @Sendable () -> Timestamp,
         metrics: @escaping @Sendable () async -> String, health: @escaping @Sendable () async -> HealthReport,
         pages: (any NodeHTTPPages)?) {
        self.host = host
        self.requestedPort = port
        self.settings = settings
        self.group = group
        self.routes = NodeHTTPRoutes(metrics: metrics, health: health, pages: pages, clock: clock)
    }

    /// The bound port while the server listens, else nil.
    public var port: Int? {
        state.withLockedValue { state in
            if case .listening(_, let port) = state.phase { port } else { nil }
        }
    }

    /// Binds and starts serving; returns the bound port. Calling it again while listening
    /// returns the same port.
    @discardableResult
    public func start() async throws -> Int {
        let claim = state.withLockedValue { state -> Result<Int?, NodeHTTPServerError> in
            switch state.phase {
            case .idle:
                state.phase = .starting
                return .success(nil)
            case .starting: return .failure(.alreadyStarting)
            case .listening(_, let port): return .success(port)
            case .stopped: return .failure(.stopped)
            }
        }
        if let port = try claim.get() { return port }

        let channel: any Channel
        do {
            channel = try await makeBootstrap().bind(host: host, port: requestedPort).get()
        } catch {
            state.withLockedValue { state in
                if case .starting = state.phase { state.phase = .idle }
            }
            throw NodeHTTPServerError.bindFailed("\(host):\(requestedPort): \(error)")
        }
        let port = channel.localAddress?.port ?? requestedPort
        let kept = state.withLockedValue { state -> Bool in
            guard case .starting = state.phase else { return false }  // stopped while binding
            state.phase = .listening(channel, port: port)
            return true
        }
        guard kept else {
            try? await channel.close()
            throw NodeHTTPServerError.stopped
        }
        return port
    }

    /// Stops listening, lets requests in progress finish (up to `settings.shutdownGracePeriod`)
    /// and closes every connection. Returns once they are closed.
    public func stop() async {
        let (listener, connections) = state.withLockedValue { state -> ((any Channel)?, [any Channel]) in
            if case .stopped = state.phase { return (nil, []) }
            var listener: (any Channel)?
            if case .listening(let channel, _) = state.phase { listener = channel }
            state.phase = .stopped
            return (listener, Array(state.connections.values))
        }
        try? await listener?.close()
        let grace = TimeAmount(settings.shutdownGracePeriod)
        let deadlines = connections.map { connection in
            // Idle connections close now, busy ones after their response's end.
            connection.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
            return connection.eventLoop.scheduleTask(in: grace) { connection.close(promise: nil) }
        }
        for (connection, deadline) in zip(connections, deadlines) {
            try? await connection.closeFuture.get()
            deadline.cancel()
        }
    }

    /// Serves until graceful shutdown of the surrounding `ServiceGroup` or cancellation, then stops.
    public func run() async throws {
        try await start()
        try? await gracefulShutdown()  // throws only on cancellation, which ends the service the same way
        await stop()
    }

    private func makeBootstrap() -> ServerBootstrap {
        let state = self.state, routes = self.routes, idleTimeout = TimeAmount(settings.idleTimeout)
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: Int32(clamping: settings.backlog))
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                let id = ObjectIdentifier(channel)
                let accepted = state.withLockedValue { state -> Bool in
                    switch state.phase {
                    case .starting, .listening: break
                    case .idle, .stopped: return false
                    }
                    state.connections[id] = channel
                    return true
                }
                guard accepted else { return channel.close() }
                channel.closeFuture.whenComplete { _ in
                    state.withLockedValue { $0.connections[id] = nil }
                }
                return channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(IdleStateHandler(readTimeout: idleTimeout))
                    try pipeline.configureHTTPServerPipeline(withErrorHandling: true)
                    try pipeline.addHandler(NodeHTTPHandler(routes: routes))
                }
            }
    }
}

private struct ServerState: Sendable {
    enum Phase: Sendable {
        case idle
        case starting
        case listening(any Channel, port: Int)
        case stopped
    }

    var phase = Phase.idle
    /// Open connections, so `stop()` can close them.
    var connections: [ObjectIdentifier: any Channel] = [:]
}
