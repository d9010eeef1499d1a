import HTTPTypes
import Hummingbird
import NIOCore
import SubnetDHTCore

/// The local control API on the node's HTTP port, for the application the node runs beside:
///
/// - `PUT /self`: change the heartbeat (role, name, tput, state, info) and publish it at once;
///   200 with the new row, 422 when the node's own policy would refuse it.
/// - `POST /records/KEY`: publish `{"value": ..., "ttl": S}` under KEY signed by the node; 200
///   with the replicas that took it and those that refused (502 when none took it).
/// - `GET /events`: Server-Sent Events of the live view (`joined`, `changed`, `left`,
///   `expired`, each with the peer's row), resumable with `Last-Event-ID`.
///
/// Writes need `Authorization: Bearer TOKEN` (401 without it, 403 when the node has no
/// token); reads are open, as the port binds loopback unless told otherwise. Errors are
/// `{"error": "...", "code": N}`: N is the rule code a replica would answer (205, 208, 209)
/// or else the HTTP status.
struct ControlAPI: Sendable {
    struct Settings: Sendable {
        /// Largest request body read; a larger one is answered 413 unread.
        var maxBodySize = 64 * 1024
        /// A comment line this often keeps an idle event stream (and proxies on the way) open.
        var keepAliveInterval: Duration = .seconds(15)
        /// Event streams open at once; more are answered 503, so clients that never go away
        /// cannot pile up.
        var maxEventStreams = 256
    }

    /// The bearer token writes need; nil turns writes off.
    let token: String?
    let settings: Settings
    let journal: EventJournal
    let owner: PublicKey
    /// Applies a change to the heartbeat: `SubnetPeer.update(_:)`.
    let updateSelf: @Sendable (SelfUpdate) async throws(SelfUpdateError) -> ServerInfo
    /// What publishing a record takes: `DHTNode.keyPolicy(for:)` and `DHTNode.announce(key:value:ttl:seq:)`.
    let keyPolicy: @Sendable (String) async throws -> KeyPolicy?
    let announce: @Sendable (String, BValue, Duration) async throws -> (record: KeyedRecord, result: StoreResult)
    /// `GET /events`.
    let events: EventStream

    init(token: String?, settings: Settings = Settings(), journal: EventJournal, owner: PublicKey,
         updateSelf: @escaping @Sendable (SelfUpdate) async throws(SelfUpdateError) -> ServerInfo,
         keyPolicy: @escaping @Sendable (String) async throws -> KeyPolicy?,
         announce: @escaping @Sendable (String, BValue, Duration) async throws -> (record: KeyedRecord, result: StoreResult)) {
        self.token = token
        self.settings = settings
        self.journal = journal
        self.owner = owner
        self.updateSelf = updateSelf
        self.keyPolicy = keyPolicy
        self.announce = announce
        events = EventStream(journal: journal, keepAliveInterval: settings.keepAliveInterval, maxStreams: settings.maxEventStreams)
    }

    /// A failed request: its status, and the code and message of its JSON body.
    struct Failure: Error {
        let status: HTTPResponse.Status
        let code: Int
        let message: String

        init(_ status: HTTPResponse.Status, _ message: String, code: Int? = nil) {
            self.status = status
            self.code = code ?? status.code
            self.message = message
        }

        var response: Response {
            var headers: [(HTTPField.Name, String)] = []
            if status == .unauthorized { headers.append((.wwwAuthenticate, "Bearer")) }
            return .content(status, contentType: "application/json", ControlAPI.errorBody(message, code: code), headers: headers)
        }
    }

    static func errorBody(_ message: String, code: Int) -> String {
        JSONValue.object(["error": .string(message), "code": .integer(Int64(code))]).jsonText + "\n"
    }

    // MARK: - Writes

    /// 401 or 403 unless the request carries the token.
    func authorize(_ request: Request) throws(Failure) {
        guard let token else {
            throw Failure(.forbidden, "writes are off: start the node with --control-token FILE to allow them")
        }
        guard let given = request.headers[.authorization], given.hasPrefix("Bearer "),
              Self.constantTimeEqual(Array(given.utf8.dropFirst(7)), Array(token.utf8)) else {
            throw Failure(.unauthorized, "a write needs the header Authorization: Bearer TOKEN, TOKEN from the node's --control-token file")
        }
    }

    /// The body, at most `settings.maxBodySize` bytes.
    func body(of request: Request) async throws(Failure) -> [UInt8] {
        do {
            var buffer = try await request.body.collect(upTo: settings.maxBodySize)
            return buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch {
            throw Failure(.contentTooLarge, "the body is over \(settings.maxBodySize) bytes")
        }
    }

    func putSelf(_ request: Request) async throws(Failure) -> Response {
        try authorize(request)
        let body = try await body(of: request)
        let change: SelfUpdate
        do {
            change = try SelfUpdate(json: body)
        } catch {
            throw Self.failure(error)
        }
        let info: ServerInfo
        do {
            info = try await updateSelf(change)
        } catch {
            throw Self.failure(error)
        }
        let row = ["\"owner\":\"\(owner.hex)\""] + RecordListJSON.heartbeatFields(info)
        return .content(.ok, contentType: "application/json", "{" + row.joined(separator: ",") + "}\n")
    }

    private static func failure(_ error: SelfUpdateError) -> Failure {
        switch error {
        case .badRequest(let message): Failure(.badRequest, message)
        case .refused(let message, let code): Failure(.unprocessableContent, message, code: code)
        case .noHeartbeat: Failure(.conflict, error.description)
        case .notRunning: Failure(.serviceUnavailable, error.description)
        }
    }

    func postRecord(_ request: Request) async throws(Failure) -> Response {
        try authorize(request)
        let key = try Self.key(inPath: request.uri.path)
        let (value, ttl) = try Self.record(in: try await body(of: request))
        let size = Bencode.encode(value).count, limit = StorageSettings().maxValueSize
        guard size <= limit else {
            throw Failure(.unprocessableContent, "the value is \(size) bytes bencoded, over the \(limit)-byte limit of a record's value",
                          code: 205)
        }
        let policy: KeyPolicy?
        do {
            policy = try await keyPolicy(key)
        } catch {
            throw Failure(.serviceUnavailable, "the node is not running")
        }
        guard let policy else {
            throw Failure(.unprocessableContent, "this node has no policy for the key \(key) and open keys are off: replicas like it refuse it",
                          code: 209)
        }
        if let refusal = policy.refusal(owner: owner, value: value) {
            throw Failure(.unprocessableContent, "the policy for \(key) refuses it: \(refusal)", code: 209)
        }
        guard ttl <= policy.maxTTL else {
            throw Failure(.unprocessableContent, "ttl \(ttl.components.seconds) s is over the \(policy.maxTTL.components.seconds) s the policy for \(key) allows",
                          code: 208)
        }
        let published: (record: KeyedRecord, result: StoreResult)
        do {
            published = try await announce(key, value, ttl)
        } catch {
            throw Failure(.serviceUnavailable, "could not publish: \(error)")
        }
        let result = published.result
        var fields: [String: JSONValue] = [
            "key": .string(key), "owner": .string(owner.hex),
            "seq": .integer(published.record.seq), "exp": .integer(published.record.expires),
            "accepted": .array(result.accepted.map { .string($0.endpoint.description) }),
            "rejected": .array(result.rejected.map { node, error in
                .object(["node": .string(node.endpoint.description), "code": .integer(Int64(error.code)), "error": .string(error.message)])
            }),
            "unanswered": .integer(Int64(result.unanswered.count)),
        ]
        if result.accepted.isEmpty { fields["error"] = .string("no replica accepted the record") }
        return .content(result.accepted.isEmpty ? .badGateway : .ok, contentType: "application/json", JSONValue.object(fields).jsonText + "\n")
    }

    /// KEY of `/records/KEY`.
    private static func key(inPath path: String) throws(Failure) -> String {
        switch PercentEncoding.recordKey(path.dropFirst(recordsPrefix.count)) {
        case .success(let key): return key
        case .failure(let bad): throw Failure(.badRequest, bad.message)
        }
    }

    private static let recordsPrefix = "/records/"

    /// `{"value": JSON, "ttl": seconds}`; ttl defaults to 600.
    private static func record(in body: [UInt8]) throws(Failure) -> (BValue, Duration) {
        guard let parsed = try? JSONValue(parsing: body) else { throw Failure(.badRequest, "the body is not JSON") }
        guard case .object(let fields) = parsed else {
            throw Failure(.badRequest, "the body must be a JSON object {\"value\": ..., \"ttl\": seconds}, not \(parsed.typeName)")
        }
        if let unknown = fields.keys.sorted().first(where: { $0 != "value" && $0 != "ttl" }) {
            throw Failure(.badRequest, "unknown field \(JSONText.quoted(unknown)): a body has value and ttl")
        }
        guard let json = fields["value"] else { throw Failure(.badRequest, "value is missing") }
        let value: BValue
        do {
            value = try json.bencoded()
        } catch {
            throw Failure(.badRequest, "value: \(error)")
        }
        var ttl: Int64 = 600
        if let given = fields["ttl"] {
            guard case .integer(let seconds) = given, seconds > 0 else {
                throw Failure(.badRequest, "ttl must be a whole number of seconds above 0, not \(given.jsonText)")
            }
            ttl = seconds
        }
        return (value, .seconds(ttl))
    }

    /// Compares in time that does not depend on where the first difference is.
    private static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}

extension ControlAPI: NodeHTTPPages {
    func addRoutes(to routes: inout NodeHTTPRoutes, clock: @escaping @Sendable () -> Timestamp) {
        routes.add(.put, "/self") { request, _ in
            do throws(Failure) { return try await putSelf(request) } catch { return error.response }
        }
        routes.add(.post, "/records/{key}") { request, _ in
            // `/records/KEY.json` is where KEY is read; a key ending in `.json` is published
            // with its dot encoded (`%2E`).
            guard !request.uri.path.hasSuffix(".json") else {
                return .text(.methodNotAllowed, "method not allowed: use GET\n", headers: [(.allow, "GET")])
            }
            do throws(Failure) { return try await postRecord(request) } catch { return error.response }
        }
        routes.add(.get, "/events") { request, context in
            do throws(Failure) { return try events.response(to: request, channel: context.channel, now: clock) } catch { return error.response }
        }
        routes.hint("/events")
    }
}
