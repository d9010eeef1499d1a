import NIOConcurrencyHelpers
import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension StatusPageTests {
    /// The status page's routes through a real `NodeHTTPServer` on 127.0.0.1, over a recorder
    /// fed by hand and a stand-in for the DHT read.
    @Suite struct StatusPageRoutesTests {
        static let now = StatusPageTests.start + .seconds(3)
        let keys = StatusPageTests.keys

        /// Peers 0-3 live, peer 4 said OFFLINE, as the recorder saw them at `now`: a first reading, then the event.
        func makeRecorder(names: [String?] = [nil, nil, nil, nil]) -> SubnetStatusRecorder {
            let me = keys[0]
            let recorder = SubnetStatusRecorder(key: "node", owner: me.publicKey, info: {
                RecordFixtures.serverInfo(port: 7000, role: "bootstrap", name: "me")
            })
            let live = (0..<4).map { StatusPageTests.peer(keys[$0], port: 7000 + UInt16($0), name: names[$0]) }
            let gone = StatusPageTests.peer(keys[4], port: 7004)
            recorder.begin(with: StatusPageTests.reading(live: live + [gone]), now: StatusPageTests.start)
            let offline = StatusPageTests.peer(keys[4], port: 7004, state: .offline, published: Self.now)
            recorder.record(.left(offline), now: Self.now)
            return recorder
        }

        func makeServer(_ recorder: SubnetStatusRecorder, settings: StatusPage.Settings = StatusPage.Settings(),
                        readRecords: @escaping @Sendable (String) async throws -> [KeyedRecord] = { _ in [] }) -> NodeHTTPServer {
            NodeHTTPServer(clock: { Self.now }, metrics: { "" }, health: { HTTPTests.NodeHTTPServerTests.idleReport },
                          statusPage: StatusPage(recorder: recorder, settings: settings, readRecords: readRecords))
        }

        func get(_ path: String, from server: NodeHTTPServer, method: String = "GET") async throws -> HTTPTestConnection.Response {
            let connection = try HTTPTestConnection(port: try await server.start())
            try connection.request(path, method: method)
            return try await connection.readResponse()
        }

        @Test func thePageListsTheLivePeersAndThePeerThatLeft() async throws {
            let server = makeServer(makeRecorder())
            let page = try await get("/", from: server)
            #expect(page.status == 200)
            #expect(page.headers["content-type"] == "text/html; charset=utf-8")
            #expect(page.headers["cache-control"] == "no-store")
            let body = page.body
            #expect(body.hasPrefix("<!doctype html>"))
            #expect(body.contains(#"<meta name="viewport""#))
            for key in keys.prefix(4) {
                #expect(body.contains(#"<tr data-owner="\#(key.publicKey.hex)" data-state="online">"#))
                #expect(body.contains(#"data-copy="\#(key.publicKey.hex)""#))  // a copy button with the whole key
            }
            #expect(body.contains(#"<tr class="gone" data-owner="\#(keys[4].publicKey.hex)" data-reason="left">"#))
            #expect(body.contains(#"<div class="stat" id="live-count"><b>4</b>"#))
            #expect(body.contains(#"<div class="stat" id="routing-table"><b>5</b>"#))
            #expect(body.contains(#"<div class="stat" id="stored-records"><b>7</b>"#))
            #expect(body.contains("<li>worker <b>4</b></li>") && body.contains("<li>left <b>1</b></li>"))
            #expect(body.contains("<svg class=\"chart\"") && body.contains("<polyline"))
            #expect(body.contains("3.0 s ago"))  // the heartbeat age, from seq
            // Nothing to fetch from elsewhere: no external script, style, font or image.
            #expect(!body.contains("src=") && !body.contains("<link") && !body.contains("href=\"http") && !body.contains("@import"))
            await server.stop()
        }

        @Test func theLivePartIsServedAloneForThePageToSwapIn() async throws {
            let server = makeServer(makeRecorder())
            let live = try await get("/status.html", from: server)
            #expect(live.status == 200)
            #expect(!live.body.contains("<html") && !live.body.contains("<script"))
            #expect(live.body.contains(#"<table id="peers" class="sortable">"#) && live.body.contains(#"<table id="departed""#))
            let page = try await get("/", from: server)
            #expect(page.body.contains(live.body))  // one renderer for both
            await server.stop()
        }

        @Test func textFromRecordsIsEscaped() async throws {
            let server = makeServer(makeRecorder(names: ["<img src=x onerror=alert(1)>", "a&b", nil, nil]))
            let body = try await get("/", from: server).body
            #expect(body.contains("&lt;img src=x onerror=alert(1)&gt;") && body.contains("a&amp;b"))
            #expect(!body.contains("<img"))
            await server.stop()
        }

        @Test func peersJSONIsTheCLIsShapeOfTheLivePeers() async throws {
            let recorder = makeRecorder()
            let server = makeServer(recorder)
            let response = try await get("/peers.json", from: server)
            #expect(response.status == 200)
            #expect(response.headers["content-type"] == "application/json")
            let live = recorder.status(now: Self.now).live
            #expect(live.count == 4)
            #expect(response.body == RecordListJSON.render(live.map(RecordRow.init(peer:)), now: Self.now) + "\n")
            #expect(response.body.hasPrefix(#"[{"owner":"\#(keys[0].publicKey.hex)","seq":"#))
            #expect(response.body.contains(#""expires_in":12,"state":"online","role":"worker","addr":"127.0.0.1:7000","name":null,"ver":"0.1.0","tput":1500,"info":{}}"#))
            await server.stop()
        }

        @Test func recordsJSONReadsThePercentDecodedKey() async throws {
            let asked = NIOLockedValueBox<[String]>([])
            let online = RecordFixtures.heartbeat(keys[1], seq: 1, expires: Self.now.seconds + 10)
            let offline = RecordFixtures.heartbeat(keys[2], seq: 1, expires: Self.now.seconds + 10, info: RecordFixtures.serverInfo(state: .offline))
            let server = makeServer(makeRecorder()) { key in
                asked.withLockedValue { $0.append(key) }
                return [online, offline]
            }
            let plain = try await get("/records/node.json", from: server)
            #expect(plain.status == 200 && plain.headers["content-type"] == "application/json")
            #expect(plain.body == RecordListJSON.render([RecordRow(record: online)], now: Self.now) + "\n")
            let all = try await get("/records/my%20key%2Fx.json?all=1", from: server)
            #expect(all.body == RecordListJSON.render([RecordRow(record: online), RecordRow(record: offline)], now: Self.now) + "\n")
            #expect(try await get("/records/node.json?all=0&x=1", from: server).body == plain.body)
            #expect(asked.withLockedValue { $0 } == ["node", "my key/x", "node"])
            await server.stop()
        }

        @Test func badKeysAre400UnknownPaths404AndOtherMethods405() async throws {
            let server = makeServer(makeRecorder()) { key in
                if key.utf8.count != 64 { Issue.record("a read for a bad request: \(key)") }
                return []
            }
            for path in ["/records/.json", "/records/%zz.json", "/records/%4.json", "/records/%ff%fe.json",
                         "/records/" + String(repeating: "k", count: 65) + ".json", "/records/node.json?all=maybe"] {
                let response = try await get(path, from: server)
                #expect(response.status == 400, "\(path)")
                #expect(response.body.hasPrefix("bad "), "\(path): \(response.body)")
            }
            #expect(try await get("/records/" + String(repeating: "k", count: 64) + ".json", from: server).status == 200)
            for path in ["/nope", "/records/node", "/records", "/peers", "/index.htm"] {
                let response = try await get(path, from: server)
                #expect(response.status == 404, "\(path)")
                #expect(!response.body.isEmpty)
            }
            for path in ["/", "/status.html", "/peers.json", "/records/node.json"] {
                let response = try await get(path, from: server, method: "POST")
                #expect(response.status == 405 && response.headers["allow"] == "GET", "\(path)")
            }
            await server.stop()
        }

        @Test func aSlowReadIs504AFailedOne503AndReadsAtOnceAreBounded() async throws {
            var settings = StatusPage.Settings()
            settings.recordsTimeout = .milliseconds(200)
            settings.concurrentRecordReads = 1
            let (release, releaser) = AsyncStream<Void>.makeStream()
            let calls = NIOLockedValueBox(0)
            let server = makeServer(makeRecorder(), settings: settings) { key in
                guard key != "broken" else { throw DHTNodeError.shutDown }
                if calls.withLockedValue({ $0 += 1; return $0 }) == 1 {
                    for await _ in release { break }  // the first read hangs until released
                }
                return []
            }
            let slow = try await get("/records/node.json", from: server)
            #expect(slow.status == 504 && slow.body.contains("within"))
            // The timed-out read still runs, so it still counts against the limit.
            let refused = try await get("/records/node.json", from: server)
            #expect(refused.status == 503 && refused.headers["retry-after"] == "1")
            releaser.yield()
            var answered: HTTPTestConnection.Response?
            for _ in 0..<100 {
                let response = try await get("/records/node.json", from: server)
                if response.status == 200 { answered = response; break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(answered?.body == "[]\n")
            let failed = try await get("/records/broken.json", from: server)
            #expect(failed.status == 503 && failed.body.hasPrefix("could not read broken"))
            await server.stop()
        }

        @Test func withoutAStatusPageOnlyMetricsAndHealthAreServed() async throws {
            let server = HTTPTests.NodeHTTPServerTests.makeServer()
            let connection = try HTTPTestConnection(port: try await server.start())
            for path in ["/", "/peers.json", "/records/node.json"] {
                try connection.request(path)
                #expect(try await connection.readResponse().status == 404)
            }
            await server.stop()
        }

        @Test func percentEncodingRoundTrips() {
            for key in ["node", "my key/x", "ключ", "a%b+c", "~._-"] {
                let encoded = PercentEncoding.encode(key)
                #expect(encoded.allSatisfy { $0.isASCII && $0 != " " && $0 != "/" })
                #expect(PercentEncoding.decode(Substring(encoded)) == Array(key.utf8))
            }
            #expect(PercentEncoding.decode("a+b%2B") == Array("a+b+".utf8))
            #expect(PercentEncoding.decode("%") == nil && PercentEncoding.decode("%g0") == nil)
        }
    }
}
