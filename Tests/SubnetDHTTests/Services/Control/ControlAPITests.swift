import NIOConcurrencyHelpers
import NIOPosix
import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension ServicesTests {
    /// The control API: its parts (the change a body asks for, the event journal) and its
    /// routes through a real `NodeHTTPServer` on 127.0.0.1 over stand-ins for the node.
    @Suite enum ControlTests {}
}

typealias ControlTests = ServicesTests.ControlTests

extension ControlTests {
    @Suite struct ControlAPITests {
        static let token = "0123456789abcdef0123456789abcdef"
        static let now = Timestamp(seconds: 1_700_000_100)
        static let owner = SigningKey.generate().publicKey
        static let base = ServerInfo(state: .online, role: "miner", throughput: 0, address: Endpoint("127.0.0.1:7000")!)

        /// What the stand-ins were asked to do.
        final class Calls: Sendable {
            let updates = NIOLockedValueBox<[SelfUpdate]>([])
            let announced = NIOLockedValueBox<[String]>([])
        }

        /// The API over stand-ins: `update` applies a change to `base` and refuses the role
        /// `admin` as a subnet's policy would; `announce` is taken by one replica, or by none
        /// and refused by another when `accepting` is false.
        static func makeServer(token: String? = token, settings: ControlAPI.Settings = ControlAPI.Settings(),
                               journal: EventJournal = EventJournal(), policy: KeyPolicy? = .openKey, accepting: Bool = true,
                               calls: Calls = Calls()) -> NodeHTTPServer {
            let api = ControlAPI(token: token, settings: settings, journal: journal, owner: owner, updateSelf: { change throws(SelfUpdateError) in
                calls.updates.withLockedValue { $0.append(change) }
                if change.role == "admin" { throw .refused("role admin is not one of this subnet's roles", code: 209) }
                return change.applied(to: base)
            }, keyPolicy: { _ in policy }, announce: { key, value, ttl in
                calls.announced.withLockedValue { $0.append(key) }
                let record = KeyedRecord.signed(key: Array(key.utf8), value: value, seq: 7, expires: now.seconds + ttl.components.seconds,
                                                by: SigningKey.generate())
                let replica = NodeInfo(id: .zero, endpoint: Endpoint("127.0.0.2:6881")!)
                var result = StoreResult(lookup: LookupResult(target: .zero, closest: [], rounds: 0, messagesSent: 0, responses: 0, peers: [],
                                                              records: []), accepted: [], rejected: [], unanswered: [], seq: nil)
                if accepting { result.accepted = [replica] } else { result.rejected = [(replica, KRPCError(code: 209, message: "rejected by record policy"))] }
                return (record, result)
            })
            return NodeHTTPServer(host: "127.0.0.1", port: 0, settings: NodeHTTPServer.Settings(), group: MultiThreadedEventLoopGroup.singleton,
                                  clock: { now }, metrics: { "" }, health: { HTTPTests.NodeHTTPServerTests.idleReport }, pages: [api])
        }

        static func request(_ server: NodeHTTPServer, _ method: String, _ path: String, body: String = "",
                            token: String? = token) async throws -> HTTPTestConnection.Response {
            let connection = try HTTPTestConnection(port: try await server.start())
            try connection.request(path, method: method, headers: token.map { ["Authorization: Bearer \($0)"] } ?? [], body: body)
            return try await connection.readResponse()
        }

        /// `{"error": ..., "code": N}` of an answer.
        static func error(_ response: HTTPTestConnection.Response) throws -> (message: String, code: Int64) {
            guard case .object(let fields) = try JSONValue(parsing: Array(response.body.utf8)),
                  case .string(let message)? = fields["error"], case .integer(let code)? = fields["code"] else {
                throw HTTPTestConnection.Failure("not an error body: \(response.body)")
            }
            return (message, code)
        }

        @Test func putSelfAppliesTheChangeAndAnswersTheNewRow() async throws {
            let calls = Calls()
            let server = Self.makeServer(calls: calls)
            let response = try await Self.request(server, "PUT", "/self", body: #"{"tput": 12.5, "info": {"stake": 5}, "name": "gpu-1"}"#)
            #expect(response.status == 200 && response.headers["content-type"] == "application/json")
            #expect(response.body == #"{"owner":"\#(Self.owner.hex)","state":"online","role":"miner","addr":"127.0.0.1:7000","name":"gpu-1","ver":null,"tput":12500,"info":{"stake":5}}"# + "\n")
            #expect(calls.updates.withLockedValue { $0 } == [SelfUpdate(name: .some("gpu-1"), throughput: 12.5, info: ["stake": .integer(5)])])
            await server.stop()
        }

        @Test func writesWithoutTheTokenAre401AndChangeNothing() async throws {
            let calls = Calls()
            let server = Self.makeServer(calls: calls)
            for token in [nil, "wrong", Self.token + "x", String(Self.token.dropLast())] {
                let response = try await Self.request(server, "PUT", "/self", body: #"{"tput": 1}"#, token: token)
                #expect(response.status == 401 && response.headers["www-authenticate"] == "Bearer", "\(token ?? "none")")
                #expect(try Self.error(response).code == 401)
                #expect(try await Self.request(server, "POST", "/records/jobs", body: #"{"value": 1}"#, token: token).status == 401)
            }
            #expect(calls.updates.withLockedValue { $0 }.isEmpty && calls.announced.withLockedValue { $0 }.isEmpty)
            // Reads stay open.
            #expect(try await Self.request(server, "GET", "/metrics", token: nil).status == 200)
            await server.stop()
        }

        @Test func withoutATokenFileWritesAre403() async throws {
            let calls = Calls()
            let server = Self.makeServer(token: nil, calls: calls)
            let response = try await Self.request(server, "PUT", "/self", body: #"{"tput": 1}"#)
            #expect(response.status == 403)
            #expect(try Self.error(response).message.contains("--control-token"))
            #expect(calls.updates.withLockedValue { $0 }.isEmpty)
            await server.stop()
        }

        @Test func aChangeThePolicyRefusesIs422WithItsCode() async throws {
            let server = Self.makeServer()
            let response = try await Self.request(server, "PUT", "/self", body: #"{"role": "admin"}"#)
            #expect(response.status == 422)
            let error = try Self.error(response)
            #expect(error.code == 209 && error.message.contains("admin"))
            await server.stop()
        }

        @Test func badBodiesAre400AndNothingIsApplied() async throws {
            let calls = Calls()
            let server = Self.makeServer(calls: calls)
            let cases: [(String, String)] = [
                ("{", "not JSON"), ("[1]", "a JSON object"), (#"{"tput": "fast"}"#, "tput must be a number"),
                (#"{"tput": -1}"#, "tput must be"), (#"{"role": 5}"#, "role must be a string"), (#"{"state": "joining"}"#, "state must be"),
                (#"{"info": [1]}"#, "info must be an object"), (#"{"owner": "x"}"#, "unknown field"),
                (#"{"role": "\#(String(repeating: "r", count: 33))"}"#, "role must be 1 to 32 bytes"),
            ]
            for (body, expected) in cases {
                let response = try await Self.request(server, "PUT", "/self", body: body)
                #expect(response.status == 400, "\(body)")
                #expect(try Self.error(response).message.contains(expected), "\(body): \(response.body)")
            }
            #expect(calls.updates.withLockedValue { $0 }.isEmpty)
            await server.stop()
        }

        @Test func aHugeBodyIs413UnreadAndTheNodeStillAnswers() async throws {
            var settings = ControlAPI.Settings()
            settings.maxBodySize = 1024
            let calls = Calls()
            let server = Self.makeServer(settings: settings, calls: calls)
            let body = #"{"info": {"blob": ""# + String(repeating: "x", count: 64 * 1024) + #""}}"#
            let response = try await Self.request(server, "PUT", "/self", body: body)
            #expect(response.status == 413)
            #expect(try Self.error(response).message.contains("1024 bytes"))
            #expect(calls.updates.withLockedValue { $0 }.isEmpty)
            #expect(try await Self.request(server, "PUT", "/self", body: #"{"tput": 2}"#).status == 200)
            await server.stop()
        }

        @Test func postRecordsPublishesAndNamesTheReplicas() async throws {
            let calls = Calls()
            let server = Self.makeServer(calls: calls)
            let response = try await Self.request(server, "POST", "/records/my%20jobs", body: #"{"value": {"job": 7}, "ttl": 60}"#)
            #expect(response.status == 200)
            let body = try JSONValue(parsing: Array(response.body.utf8))
            guard case .object(let fields) = body else { Issue.record("not an object: \(response.body)"); return }
            #expect(fields["key"] == .string("my jobs") && fields["accepted"] == .array([.string("127.0.0.2:6881")]))
            #expect(fields["rejected"] == .array([]) && fields["exp"] == .integer(Self.now.seconds + 60))
            #expect(calls.announced.withLockedValue { $0 } == ["my jobs"])
            await server.stop()

            let refusing = Self.makeServer(accepting: false)
            let refused = try await Self.request(refusing, "POST", "/records/jobs", body: #"{"value": "x"}"#)
            #expect(refused.status == 502 && refused.body.contains(#""code":209"#) && refused.body.contains("no replica accepted"))
            await refusing.stop()
        }

        @Test func postRecordsRefusesWhatReplicasWouldBeforeSendingIt() async throws {
            let calls = Calls()
            let server = Self.makeServer(policy: KeyPolicy(maxTTL: .seconds(300), maxOwners: 10, storesPerOwnerPerMinute: 10) { value in
                value == .string("bad") ? "bad is not allowed" : nil
            }, calls: calls)
            let cases: [(String, String, Int, Int64)] = [
                ("/records/jobs", #"{"value": "bad"}"#, 422, 209),
                ("/records/jobs", #"{"value": 1, "ttl": 301}"#, 422, 208),
                ("/records/jobs", #"{"value": "\#(String(repeating: "v", count: 1000))"}"#, 422, 205),
                ("/records/jobs", #"{"value": 1.5}"#, 400, 400),
                ("/records/jobs", #"{"value": 1, "ttl": 0}"#, 400, 400),
                ("/records/jobs", #"{"ttl": 5}"#, 400, 400),
                ("/records/jobs", #"{"value": 1, "extra": 2}"#, 400, 400),
                ("/records/%zz", #"{"value": 1}"#, 400, 400),
                ("/records/" + String(repeating: "k", count: 65), #"{"value": 1}"#, 400, 400),
            ]
            for (path, body, status, code) in cases {
                let response = try await Self.request(server, "POST", path, body: body)
                #expect(response.status == status, "\(path) \(body): \(response.body)")
                #expect(try Self.error(response).code == code, "\(path) \(body)")
            }
            #expect(try Self.error(try await Self.request(server, "POST", "/records/jobs", body: #"{"value": "\#(String(repeating: "v", count: 1000))"}"#))
                .message.contains("1000-byte limit"))
            #expect(calls.announced.withLockedValue { $0 }.isEmpty)
            await server.stop()

            let closed = Self.makeServer(policy: nil)
            let noPolicy = try await Self.request(closed, "POST", "/records/jobs", body: #"{"value": 1}"#)
            #expect(noPolicy.status == 422)
            #expect(try Self.error(noPolicy).code == 209)
            await closed.stop()
        }

        @Test func otherMethodsAre405AndUnknownPaths404() async throws {
            let server = Self.makeServer()
            let get = try await Self.request(server, "GET", "/self")
            #expect(get.status == 405 && get.headers["allow"] == "PUT")
            let read = try await Self.request(server, "POST", "/records/node.json", body: #"{"value": 1}"#)
            #expect(read.status == 405 && read.headers["allow"] == "GET")
            let notFound = try await Self.request(server, "PUT", "/selves", body: "{}")
            #expect(notFound.status == 404 && notFound.body.contains("/events"))
            await server.stop()
        }
    }
}
