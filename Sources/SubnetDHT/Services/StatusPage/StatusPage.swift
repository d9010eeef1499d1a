import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SubnetDHTCore

/// The subnet's status page on a node's HTTP port, and the JSON behind it:
///
/// - `GET /`: the page, rendered here; its script fetches `/status.html` every poll interval
///   and swaps it in, so it updates without a reload and one renderer draws both.
/// - `GET /status.html`: the live part of the page alone.
/// - `GET /peers.json`: the live peers of the node's view (no network round trip), in the
///   shape `subnet-dht peers --json` prints.
/// - `GET /records/KEY.json[?all=1]`: KEY read from the network (bounded in time and in reads
///   at once), as `subnet-dht records KEY --json [--all]` prints it. KEY is percent-decoded
///   and must be 1 to 64 bytes of UTF-8.
///
/// Every answer is computed in a task, off the event loop; the page and `/peers.json` read the
/// recorder's snapshot, never the node.
public struct StatusPage: Sendable {
    public struct Settings: Sendable {
        /// How often the open page fetches its live part again.
        public var pollInterval: Duration = .seconds(2)
        /// A `/records/KEY.json` read not finished by then is answered 504 (it is a lookup
        /// and a few pages from the key's replicas: about a second on a LAN).
        public var recordsTimeout: Duration = .seconds(10)
        /// At most this many `/records/KEY.json` reads run at once; more are answered 503, so
        /// an HTTP client cannot make the node flood the DHT with lookups.
        public var concurrentRecordReads = 4
        /// At most this many peers are listed in the page (all are in `/peers.json`): a page
        /// polled every 2 s stays small in a 10,000-peer subnet.
        public var maxPageRows = 500

        public init() {}
    }

    public let settings: Settings
    let recorder: SubnetStatusRecorder
    let readRecords: @Sendable (String) async throws -> [KeyedRecord]
    /// `/records/KEY.json` reads in flight, counted until each read truly ends (a timed-out
    /// read runs on), so stuck reads cannot pile up.
    private let recordReads = NIOLockedValueBox(0)

    /// The page of `recorder`'s view; `/records/KEY.json` reads through `node`.
    public init(recorder: SubnetStatusRecorder, node: DHTNode, settings: Settings = Settings()) {
        self.init(recorder: recorder, settings: settings, readRecords: { key in try await node.records(key: key) })
    }

    init(recorder: SubnetStatusRecorder, settings: Settings = Settings(),
         readRecords: @escaping @Sendable (String) async throws -> [KeyedRecord]) {
        self.recorder = recorder
        self.settings = settings
        self.readRecords = readRecords
    }

    /// The page's paths, each answering GET; the answers are computed in the connection's
    /// task, and the page and `/peers.json` read the recorder's snapshot, never the node.
    func addRoutes(to routes: inout NodeHTTPRoutes, clock: @escaping @Sendable () -> Timestamp) {
        let recorder = self.recorder, settings = self.settings
        for path in ["/", "/index.html"] {
            routes.add(.get, path) { _, _ in Self.html(StatusPageHTML(settings: settings).document(recorder.status(now: clock()))) }
        }
        routes.add(.get, "/status.html") { _, _ in
            Self.html(StatusPageHTML(settings: settings).live(recorder.status(now: clock())))
        }
        routes.add(.get, "/peers.json") { _, _ in
            let status = recorder.status(now: clock())
            return Self.json(RecordListJSON.render(status.live.map(RecordRow.init(peer:)), now: status.now))
        }
        // One segment, checked by `RecordsRequest`: a bad key is 400, a path without `.json` 404.
        routes.add(.get, "/records/{key}") { request, _ in
            switch RecordsRequest.parse(path: request.uri.path, query: request.uri.query ?? "") {
            case .success(let parsed): await self.records(parsed, clock: clock)
            case .failure(.notFound(let message)): .text(.notFound, message + "\n")
            case .failure(.badRequest(let message)): .text(.badRequest, message + "\n")
            }
        }
        routes.hint("/")
        routes.hint("/peers.json")
        routes.hint("/records/KEY.json")
    }

    private func records(_ request: RecordsRequest, clock: @escaping @Sendable () -> Timestamp) async -> Response {
        let limit = settings.concurrentRecordReads
        let admitted = recordReads.withLockedValue { reads in
            guard reads < limit else { return false }
            reads += 1
            return true
        }
        guard admitted else {
            return .text(.serviceUnavailable, "too many record reads in progress; try again\n", headers: [(.retryAfter, "1")])
        }
        let read = readRecords, reads = recordReads, key = request.key
        let outcome = await withTimeout(settings.recordsTimeout) { () -> Result<[KeyedRecord], any Error> in
            defer { reads.withLockedValue { $0 -= 1 } }
            do {
                return .success(try await read(key))
            } catch {
                return .failure(error)
            }
        }
        switch outcome {
        case nil:
            return .text(.gatewayTimeout, "no answer from the network for \(key) within \(settings.recordsTimeout.components.seconds) s\n")
        case .failure(let error)?:
            return .text(.serviceUnavailable, "could not read \(key): \(error)\n")
        case .success(let records)?:
            return Self.json(RecordListJSON.render(RecordRow.records(records, includeOffline: request.includeOffline), now: clock()))
        }
    }

    /// Pages and JSON change every second: never cached, never sniffed as another type.
    private static let headers: [(HTTPField.Name, String)] = [(.cacheControl, "no-store"), (.xContentTypeOptions, "nosniff")]

    private static func html(_ body: String) -> Response {
        .content(.ok, contentType: "text/html; charset=utf-8", body, headers: headers)
    }

    /// One line, as the CLI prints it.
    private static func json(_ body: String) -> Response {
        .content(.ok, contentType: "application/json", body + "\n", headers: headers)
    }
}

/// `/records/KEY.json[?all=1]`, parsed and checked.
struct RecordsRequest: Equatable, Sendable {
    static let prefix = "/records/"
    static let suffix = ".json"

    enum Failure: Error, Equatable {
        case notFound(String)
        case badRequest(String)
    }

    var key: String
    /// `?all=1`: OFFLINE heartbeats too, as `records --all`.
    var includeOffline: Bool

    static func parse(path: String, query: String) -> Result<RecordsRequest, Failure> {
        guard path.hasPrefix(prefix), path.hasSuffix(suffix), path.utf8.count >= prefix.utf8.count + suffix.utf8.count else {
            return .failure(.notFound("not found: records are at /records/KEY.json"))
        }
        let key: String
        switch PercentEncoding.recordKey(path.dropFirst(prefix.count).dropLast(suffix.count)) {
        case .success(let decoded): key = decoded
        case .failure(let bad): return .failure(.badRequest(bad.message))
        }
        var includeOffline = false
        for parameter in query.split(separator: "&") {
            let pair = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair[0] == "all" else { continue }  // other parameters are ignored, as browsers add their own
            switch pair.count > 1 ? pair[1] : "" {
            case "", "1", "true": includeOffline = true
            case "0", "false": includeOffline = false
            default: return .failure(.badRequest("bad query: all must be 1 or 0"))
            }
        }
        return .success(RecordsRequest(key: key, includeOffline: includeOffline))
    }
}

extension StatusPage: NodeHTTPPages {}

extension NodeHTTPServer {
    /// A server that does not listen yet, serving the status page beside `/metrics` and
    /// `/health`: ``start()`` or ``run()`` binds it.
    ///
    /// - Parameters:
    ///   - host: The address to bind; loopback by default.
    ///   - port: The TCP port; 0 (the default) lets the system pick one.
    ///   - settings: Idle timeout, shutdown grace period and listen backlog.
    ///   - group: The NIO event loops the server runs on.
    ///   - clock: The time `/health` judges heartbeat age by.
    ///   - metrics: The `/metrics` body, e.g. `{ nodeMetrics.render() }`.
    ///   - health: The node's health, read per `/health` request.
    ///   - statusPage: The subnet's status page and its JSON; nil serves only `/metrics` and `/health`.
    public convenience init(host: String = "127.0.0.1", port: Int = 0, settings: Settings = Settings(),
                            group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                            clock: @escaping @Sendable () -> Timestamp = { SystemClock.now() },
                            metrics: @escaping @Sendable () async -> String,
                            health: @escaping @Sendable () async -> HealthReport,
                            statusPage: StatusPage?) {
        self.init(host: host, port: port, settings: settings, group: group, clock: clock, metrics: metrics, health: health,
                  pages: statusPage.map { [$0] } ?? [])
    }
}
