import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension CoreTests {
    /// What the core counts of its traffic for the metrics: queries received and answers sent by
    /// method, errors sent by code, and the bytes of every datagram in and out.
    @Suite struct TrafficCountTests {
        private static func errorCode(_ message: KRPCMessage?) -> Int? {
            guard case .error(let error)? = message?.body else { return nil }
            return error.code
        }

        private static func isAnswer(_ message: KRPCMessage?) -> Bool {
            guard case .response? = message?.body else { return false }
            return true
        }

        @Test func queriesAnswersAndErrorsAreCountedByMethodAndCode() throws {
            var peer = RawPeer()
            #expect(Self.isAnswer(peer.ask(.ping)))
            #expect(Self.isAnswer(peer.ask(.ping)))
            #expect(Self.isAnswer(peer.ask(.findNode(target: .random(), want: nil))))
            #expect(Self.isAnswer(peer.ask(.getPeers(infoHash: .random(), want: nil))))
            #expect(Self.errorCode(peer.ask(.announcePeer(infoHash: .random(), port: 6881, impliedPort: false, token: [1, 2]))) == 203)
            // Immutable put: a bad token is 203; with a token (one `get`) it is stored.
            let value = BValue.string("counted")
            #expect(Self.errorCode(peer.ask(.put(PutArguments(token: [0], value: value)))) == 203)
            let target = BEP44.immutableTarget(encodedValue: Bencode.encode(value))
            #expect(Self.isAnswer(peer.ask(.put(PutArguments(token: peer.token(for: target), value: value)))))
            // Mutable put (a `get` for the token each): stored, then a lower seq is 302.
            let key = SigningKey.generate()
            #expect(Self.isAnswer(peer.put(key: key, value: .int(5), seq: 5)))
            #expect(Self.errorCode(peer.put(key: key, value: .int(4), seq: 4)) == 302)
            // Keyed records: a get_records for the token, then announce_record with it and without.
            let record = RecordFixtures.heartbeat(.generate(), seq: 1, expires: peer.now.seconds + 60)
            guard case .response(let page)? = peer.ask(.getRecords(target: record.target, after: nil, want: nil))?.body else {
                Issue.record("no get_records answer"); return
            }
            let token = try #require(page.token)
            #expect(Self.isAnswer(peer.ask(.announceRecord(arguments: RecordFixtures.arguments(record, token: token)))))
            #expect(Self.errorCode(peer.ask(.announceRecord(arguments: RecordFixtures.arguments(record, token: [9])))) == 203)
            // A record feed read, from nothing.
            #expect(Self.isAnswer(peer.ask(.getRecordChanges(target: record.target, since: [], after: nil))))
            // Unknown methods: 204 without a target, answered as a find_node with one.
            #expect(Self.errorCode(peer.ask(.unknown(name: "frobnicate"))) == 204)
            #expect(Self.isAnswer(peer.ask(.unknown(name: "sample_infohashes", target: .random()))))

            let statistics = peer.core.statistics
            let received: [QueryKind: Int] = [.ping: 2, .findNode: 1, .getPeers: 1, .announcePeer: 1, .get: 3, .put: 4,
                                              .getRecords: 1, .announceRecord: 2, .getRecordChanges: 1, .other: 2]
            let answered: [QueryKind: Int] = [.ping: 2, .findNode: 1, .getPeers: 1, .announcePeer: 0, .get: 3, .put: 2,
                                              .getRecords: 1, .announceRecord: 1, .getRecordChanges: 1, .other: 1]
            for kind in QueryKind.allCases {
                #expect(statistics.queriesReceived[kind] == received[kind], "queries received, \(kind.name)")
                #expect(statistics.answersSent[kind] == answered[kind], "answers sent, \(kind.name)")
            }
            let errors: [SentErrorCode: Int] = [.protocol203: 3, .methodUnknown204: 1, .sequenceNotNewer302: 1]
            for code in SentErrorCode.allCases {
                #expect(statistics.errorsSentByCode[code] == errors[code, default: 0], "errors sent, \(code.label)")
            }
            // The breakdowns add up to the totals the core already kept.
            #expect(statistics.answersSent.total == statistics.queriesAnswered)
            #expect(statistics.errorsSentByCode.total == statistics.errorsSent)
            #expect(statistics.queriesReceived.total == statistics.queriesAnswered + statistics.errorsSent)
        }

        @Test func methodNamesOffTheWireAreCountedAsOtherUnlessTheNodeServesThem() {
            var peer = RawPeer()
            let strangers = ["vote", "PING", "get_records2", "", String(repeating: "x", count: 300)]
            for name in strangers {
                let datagram = KRPCCodec.encode(KRPCMessage(transactionID: [1], body: .query(Query(senderID: peer.myID, method: .unknown(name: name)))))
                #expect(Self.errorCode(peer.exchange(datagram).first) == 204, "\(name.prefix(20))")
            }
            #expect(peer.core.statistics.queriesReceived[.other] == strangers.count)
            #expect(peer.core.statistics.queriesReceived.total == strangers.count)
            #expect(peer.core.statistics.errorsSentByCode[.methodUnknown204] == strangers.count)
            // A known method keeps its wire name.
            let known: [QueryMethod] = [.ping, .findNode(target: .random(), want: nil), .getPeers(infoHash: .random(), want: nil),
                                        .announcePeer(infoHash: .random(), port: 1, impliedPort: true, token: []), .get(target: .random(), seq: nil, want: nil),
                                        .put(PutArguments(token: [], value: .int(1))), .getRecords(target: .random(), after: nil, want: nil),
                                        .announceRecord(arguments: [:]), .getRecordChanges(target: .random(), since: [], after: nil)]
            #expect(known.map(\.kind.name) == known.map(\.name))
            #expect(Set(known.map(\.kind)) == Set(QueryKind.allCases).subtracting([.other]))
            #expect(QueryMethod.unknown(name: "ping").kind == .other)
        }

        @Test func errorCodesOutsideTheSentSetAreCountedAsOther() {
            for code in Array(201...209) + [301, 302] {
                #expect(SentErrorCode(code: code).label == String(code))
            }
            for code in [0, -203, 200, 210, 300, 303, 404, Int.max] {
                #expect(SentErrorCode(code: code) == .other, "\(code)")
            }
            #expect(Set(SentErrorCode.allCases.map(\.label)).count == SentErrorCode.allCases.count)
        }

        @Test func malformedAndRateLimitedQueriesAreNotCountedByMethod() {
            var settings = DHTSettings.loopbackTestNetwork
            settings.rateLimit.burst = 3
            settings.rateLimit.queriesPerSecond = 1
            var peer = RawPeer()
            peer.core = DHTCore(localID: .random(), settings: settings, now: peer.now)
            // Truncated: a 203 is sent, but no method was read.
            let truncated = Array("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:zz1:y1:q".utf8)
            #expect(Self.errorCode(peer.exchange(truncated).first) == 203)
            #expect(peer.core.statistics.queriesReceived.total == 0)
            #expect(peer.core.statistics.errorsSentByCode[.protocol203] == 1)
            // Two tokens left in the bucket: two pings answered, the others dropped unread.
            for _ in 0..<5 { _ = peer.ask(.ping) }
            #expect(peer.core.statistics.queriesReceived[.ping] == 2)
            #expect(peer.core.statistics.answersSent[.ping] == 2)
            #expect(peer.core.statistics.rateLimited == 3)
        }

        @Test func aReadOnlyNodeCountsTheQueriesItLeavesUnanswered() {
            var settings = DHTSettings.loopbackTestNetwork
            settings.readOnly = true
            var peer = RawPeer()
            peer.core = DHTCore(localID: .random(), settings: settings, now: peer.now)
            #expect(peer.ask(.ping) == nil)
            #expect(peer.ask(.findNode(target: .random(), want: nil)) == nil)
            #expect(peer.core.statistics.queriesReceived[.ping] == 1)
            #expect(peer.core.statistics.queriesReceived[.findNode] == 1)
            #expect(peer.core.statistics.answersSent.total == 0)
        }

        @Test func bytesInAndOutAreTheSumsOfTheDatagrams() {
            var peer = RawPeer()
            var received = 0, sent = 0, datagrams = 0
            func deliver(_ datagram: [UInt8], from source: Endpoint) {
                peer.core.receive(datagram, from: source, now: peer.now)
                received += datagram.count
                datagrams += 1
                collect()
            }
            func collect() {
                for case .send(let bytes, _) in peer.core.takeEffects() { sent += bytes.count }
            }
            let others = (1...4).map { Endpoint("127.0.0.1:\(7000 + $0)")! }
            for (index, source) in others.enumerated() {
                let query = Query(senderID: .random(), method: index % 2 == 0 ? .ping : .findNode(target: .random(), want: nil))
                deliver(KRPCCodec.encode(KRPCMessage(transactionID: [UInt8(index)], body: .query(query))), from: source)
            }
            // Malformed, oversized and unmatched datagrams count as received bytes too.
            deliver(Array("garbage".utf8), from: peer.me)
            deliver([UInt8](repeating: 0x64, count: KRPCCodec.maxDatagramSize + 100), from: peer.me)
            deliver(KRPCCodec.encode(KRPCMessage(transactionID: [0xee], body: .response(ResponseBody(id: .random())))), from: peer.me)
            // Queries of the core's own: a ping and a lookup, to the contacts it now knows.
            _ = peer.core.startPing(peer.me, now: peer.now)
            _ = peer.core.startLookup(target: .random(), kind: .findNode, now: peer.now)
            collect()
            peer.now = peer.now + .seconds(30)
            peer.core.tick(now: peer.now)  // retries of the unanswered queries
            collect()

            #expect(peer.core.statistics.datagramsReceived == datagrams)
            #expect(peer.core.statistics.bytesReceived == received)
            #expect(received > KRPCCodec.maxDatagramSize)
            #expect(peer.core.statistics.datagramsSent > others.count)
            #expect(peer.core.statistics.bytesSent == sent)
            #expect(sent > 0)
        }
    }
}
