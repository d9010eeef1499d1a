import HTTPTypes
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
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

/// The HTTP/1.1 server of a node's HTTP port, on Hummingbird: `/metrics` (Prometheus text
/// format), `/health` (JSON; 200 when healthy, 503 when not) and, when given a `StatusPage`,
/// the status page and its JSON (`/`, `/peers.json`, `/records/KEY.json`). Any other path is
/// 404, another method than the path's 405, a malformed request 400. Bodies come from closures
/// called once per request, in the connection's task, never on the event loop; the closures
/// ``SubnetPeer`` gives read what its follower of the node keeps, so a request does not wait
/// on the node.
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
    private let state = NIOLockedValueBox(Phase.idle)

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
                  pages: [])
    }

    /// A server that also serves `pages`, in order.
    init(host: String, port: Int, settings: Settings, group: any EventLoopGroup, clock: @escaping @Sendable () -> Timestamp,
         metrics: @escaping @Sendable () async -> String, health: @escaping @Sendable () async -> HealthReport,
         pages: [any NodeHTTPPages]) {
        self.host = host
        self.requestedPort = port
        self.settings = settings
        self.group = group
        var routes = NodeHTTPRoutes()
        for page in pages { page.addRoutes(to: &routes, clock: clock) }
        routes.add(.get, "/metrics") { _, _ in
            .content(.ok, contentType: Self.metricsContentType, await metrics())
        }
        routes.add(.get, "/health") { _, _ in
            let report = await health()
            let now = clock()
            return .content(report.isHealthy(now: now) ? .ok : .serviceUnavailable, contentType: "application/json",
                         report.json(now: now) + "\n")
        }
        routes.hint("/metrics")
        routes.hint("/health")
        self.routes = routes
    }

    static let metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

    /// The bound port while the server listens, else nil.
    public var port: Int? {
        state.withLockedValue { phase in
            if case .listening(let port, _) = phase { port } else { nil }
        }
    }

    /// Binds and starts serving; returns the bound port. Calling it again while listening
    /// returns the same port.
    @discardableResult
    public func start() async throws -> Int {
        let claim = state.withLockedValue { phase -> Result<Int?, NodeHTTPServerError> in
            switch phase {
            case .idle:
                phase = .starting
                return .success(nil)
            case .starting: return .failure(.alreadyStarting)
            case .listening(let port, _): return .success(port)
            case .stopped: return .failure(.stopped)
            }
        }
        if let port = try claim.get() { return port }

        let bound = NIOLockedValueBox<CheckedContinuation<Int, any Error>?>(nil)
        let report: @Sendable (Result<Int, any Error>) -> Void = { result in
            bound.withLockedValue { continuation in
                continuation?.resume(with: result)
                continuation = nil
            }
        }
        let address = "\(host):\(requestedPort)"
        let application = Application(
            router: routes.router(),
            server: .nodeHTTP1(idleTimeout: settings.idleTimeout),
            configuration: ApplicationConfiguration(address: .hostname(host, port: requestedPort), backlog: settings.backlog),
            onServerRunning: { channel in report(.success(channel.localAddress?.port ?? 0)) },
            eventLoopGroupProvider: .shared(group),
            logger: Self.logger)
        // The server's own group: its graceful shutdown lets requests in progress finish, and
        // once the grace period is over it cancels them and closes their connections.
        var configuration = ServiceGroupConfiguration(services: [application], logger: Self.logger)
        configuration.maximumGracefulShutdownDuration = settings.shutdownGracePeriod
        let services = ServiceGroup(configuration: configuration)
        let running = Task {
            do {
                try await services.run()
                report(.failure(NodeHTTPServerError.stopped))
            } catch {
                report(.failure(NodeHTTPServerError.bindFailed("\(address): \(error)")))
            }
        }
        let port: Int
        do {
            port = try await withCheckedThrowingContinuation { continuation in
                bound.withLockedValue { $0 = continuation }
            }
        } catch {
            _ = await running.result
            state.withLockedValue { phase in
                if case .starting = phase { phase = .idle }
            }
            throw error
        }
        let kept = state.withLockedValue { phase -> Bool in
            guard case .starting = phase else { return false }  // stopped while binding
            phase = .listening(port, Serving(services: services, task: running))
            return true
        }
        guard kept else {
            await Serving(services: services, task: running).stop()
            throw NodeHTTPServerError.stopped
        }
        return port
    }

    /// Stops listening, lets requests in progress finish (up to `settings.shutdownGracePeriod`)
    /// and closes every connection. Returns once they are closed.
    public func stop() async {
        let serving = state.withLockedValue { phase -> Serving? in
            defer { phase = .stopped }
            if case .listening(_, let serving) = phase { return serving }
            return nil
        }
        await serving?.stop()
    }

    /// Serves until graceful shutdown of the surrounding `ServiceGroup` or cancellation, then stops.
    public func run() async throws {
        try await start()
        try? await gracefulShutdown()  // throws only on cancellation, which ends the service the same way
        await stop()
    }

    /// Hummingbird's own lines (a server started, a request failed) matter only when something is wrong.
    private static let logger: Logger = {
        var logger = Logger(label: "subnet-dht.http")
        logger.logLevel = .warning
        return logger
    }()

    /// A listening server's service group and the task that runs it.
    private struct Serving: Sendable {
        let services: ServiceGroup
        let task: Task<Void, Never>

        func stop() async {
            await services.triggerGracefulShutdown()
            await task.value
        }
    }

    private enum Phase: Sendable {
        case idle
        case starting
        case listening(Int, Serving)
        case stopped
    }
}
