import NIOHTTP1
import SubnetDHTCore

/// A response, computed on or off the event loop.
struct NodeHTTPResponse: Sendable {
    var status: HTTPResponseStatus
    var contentType: String
    var body: String
    var extraHeaders: [(String, String)] = []

    static func text(_ status: HTTPResponseStatus, _ body: String, extraHeaders: [(String, String)] = []) -> Self {
        NodeHTTPResponse(status: status, contentType: "text/plain; charset=utf-8", body: body, extraHeaders: extraHeaders)
    }

    /// 405, for a method other than GET on a path that exists.
    static let methodNotAllowed = text(.methodNotAllowed, "method not allowed: use GET\n", extraHeaders: [("Allow", "GET")])
}

/// How a request is answered.
enum NodeHTTPRoute {
    /// Answered on the event loop at once: only for answers that cost nothing to make.
    case immediate(NodeHTTPResponse)
    /// Computed in a task, off the event loop: the providers are `async`, may take a while,
    /// and the server's loop may be the one a DHT node runs on.
    case deferred(@Sendable () async -> NodeHTTPResponse)
}

/// Pages served on the node's HTTP port beside `/metrics` and `/health` (the status page):
/// the HTTP layer routes to them without knowing what they show.
protocol NodeHTTPPages: Sendable {
    /// The answer for `path`, or nil when the path is none of the pages'.
    func route(method: HTTPMethod, path: String, query: String, clock: @escaping @Sendable () -> Timestamp) -> NodeHTTPRoute?
    /// The paths, as a 404 names them, e.g. `/, /peers.json`.
    var pathsHint: String { get }
}

/// What the node's HTTP port answers on which path: `GET /metrics`, `GET /health`, the status
/// pages' paths when there are some, 405 for another method on those paths, 404 for any other.
struct NodeHTTPRoutes: Sendable {
    static let metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

    let metrics: @Sendable () async -> String
    let health: @Sendable () async -> HealthReport
    let pages: (any NodeHTTPPages)?
    let clock: @Sendable () -> Timestamp

    func route(_ head: HTTPRequestHead) -> NodeHTTPRoute {
        let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = parts.first.map(String.init) ?? "", query = parts.count > 1 ? String(parts[1]) : ""
        guard path == "/metrics" || path == "/health" else {
            if let pages, let route = pages.route(method: head.method, path: path, query: query, clock: clock) {
                return route
            }
            let hint = pages.map { "\($0.pathsHint), /metrics or /health" } ?? "/metrics or /health"
            return .immediate(.text(.notFound, "not found: try \(hint)\n"))
        }
        guard head.method == .GET else { return .immediate(.methodNotAllowed) }
        if path == "/metrics" {
            return .deferred { [metrics] in
                NodeHTTPResponse(status: .ok, contentType: Self.metricsContentType, body: await metrics())
            }
        }
        return .deferred { [health, clock] in
            let report = await health()
            let now = clock()
            return NodeHTTPResponse(status: report.isHealthy(now: now) ? .ok : .serviceUnavailable,
                                    contentType: "application/json", body: report.json(now: now) + "\n")
        }
    }
}
