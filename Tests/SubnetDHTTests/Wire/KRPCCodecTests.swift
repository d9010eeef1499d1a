import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension WireTests {
    @Suite struct KRPCCodecTests {
        let id = NodeID(hex: "0102030405060708090a0b0c0d0e0f1011121314")!
        let target = NodeID(hex: "ffffffffffffffffffffffffffffffffffffffff")!

        private func roundTrip(_ message: KRPCMessage) throws -> KRPCMessage {
            try KRPCCodec.decode(KRPCCodec.encode(message))
        }

        @Test func decodesTheBEP5PingExample() throws {
            let bytes = Array("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe".utf8)
            let message = try KRPCCodec.decode(bytes)
            #expect(message.transactionID == Array("aa".utf8))
            guard case .query(let query) = message.body else { Issue.record("not a query"); return }
            #expect(query.method == .ping)
            #expect(query.senderID.bytes == Array("abcdefghij0123456789".utf8))
            #expect(KRPCCodec.encode(message) == bytes)
        }

        @Test func roundTripsEveryQuery() throws {
            let methods: [QueryMethod] = [
                .ping,
                .findNode(target: target, want: [.ipv4, .ipv6]),
                .getPeers(infoHash: target, want: nil),
                .announcePeer(infoHash: target, port: 6881, impliedPort: true, token: [1, 2, 3]),
                .get(target: target, seq: 4, want: [.ipv6]),
                .put(PutArguments(token: [9], value: .string("Hello World!"), publicKey: Array(repeating: 1, count: 32),
                                  signature: Array(repeating: 2, count: 64), seq: 1, cas: 0, salt: Array("foobar".utf8))),
                .put(PutArguments(token: [9], value: .list([.int(1)]))),
                .announcePeer(infoHash: target, port: 1, impliedPort: false, token: []),
                .getRecords(target: target, after: Array(repeating: 5, count: 32), want: [.ipv4]),
                .getRecords(target: target, after: nil, want: nil),
                .getRecordChanges(target: target, since: [], after: nil),
                .getRecordChanges(target: target, since: Array(repeating: 7, count: 16), after: Array(repeating: 5, count: 32)),
                .announceRecord(arguments: [Array("key".utf8): .string("node"), Array("a".utf8): .dict([:]), Array("zz".utf8): .int(-1)]),
                .unknown(name: "vote"),
                .unknown(name: "sample_infohashes", target: target, want: [.ipv6]),
            ]
            for method in methods {
                let message = KRPCMessage(transactionID: [0, 1, 2, 3], body: .query(Query(senderID: id, method: method)),
                                          clientVersion: Array("SD01".utf8), readOnly: true, networkID: 7)
                #expect(try roundTrip(message) == message, "\(method.name)")
            }
        }

        @Test func roundTripsResponsesAndErrors() throws {
            let v4 = NodeInfo(id: target, endpoint: Endpoint("127.0.0.1:6881")!)
            let v6 = NodeInfo(id: id, endpoint: Endpoint("[::1]:6882")!)
            let body = ResponseBody(id: id, nodes: [v4], nodes6: [v6], token: [1, 2], values: [Endpoint("10.0.0.1:1")!],
                                    value: .string("x"), publicKey: Array(repeating: 3, count: 32),
                                    signature: Array(repeating: 4, count: 64), seq: 9)
            let response = KRPCMessage(transactionID: [5], body: .response(body), requesterAddress: Endpoint("1.2.3.4:5")!)
            #expect(try roundTrip(response) == response)
            // Every key of `r`, so that the writer's hand-sorted order meets the strict decoder.
            var everything = body
            everything.records = [.dict([Array("k".utf8): .int(1)])]
            everything.compressedRecords = [1, 2, 3]
            everything.uncompressedRecordsLength = 40
            everything.more = Array(repeating: 6, count: 32)
            everything.feedCursor = Array(repeating: 8, count: 16)
            everything.isFullRead = true
            everything.gone = Array(repeating: 9, count: 64)
            everything.memberCount = 12
            everything.memberDigest = Array(repeating: 10, count: 16)
            let full = KRPCMessage(transactionID: [7], body: .response(everything), clientVersion: [1], requesterAddress: Endpoint("[::1]:5")!,
                                   readOnly: true, networkID: 3)
            #expect(try roundTrip(full) == full)
            // `pad` is counted, never decoded: the message reads back without it.
            var padded = full
            padded.padding = 40
            #expect(KRPCCodec.encode(padded).count == KRPCCodec.encode(full).count + "3:pad40:".count + 40)
            #expect(try roundTrip(padded) == full)
            let error = KRPCMessage(transactionID: [6], body: .error(.sequenceNotNewer))
            #expect(try roundTrip(error) == error)
        }

        @Test func malformedInputIsATypedErrorWithTheTransactionID() {
            let cases: [(String, [UInt8]?)] = [
                ("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:q", Array("aa".utf8)),  // truncated
                ("d1:t2:aa1:y1:q1:ad2:id20:abcdefghij0123456789e1:q4:pinge", Array("aa".utf8)),  // unsorted keys
                ("d1:ad2:id3:abce1:q4:ping1:t2:bb1:y1:qe", Array("bb".utf8)),  // short id
                ("d1:ad2:idi5ee1:q4:ping1:t2:cc1:y1:qe", Array("cc".utf8)),  // wrong type
                ("d1:q4:ping1:t2:dd1:y1:qe", Array("dd".utf8)),  // no arguments
                ("le", nil),
                ("garbage", nil),
            ]
            for (text, expectedTID) in cases {
                do {
                    _ = try KRPCCodec.decode(Array(text.utf8))
                    Issue.record("accepted \(text)")
                } catch {
                    #expect(error.transactionID == expectedTID, "\(text)")
                }
            }
        }

        @Test func oversizedDatagramsAreRefused() {
            let big = [UInt8](repeating: UInt8(ascii: "a"), count: 1501)
            #expect(throws: KRPCDecodingError.self) { try KRPCCodec.decode(big) }
        }

        @Test func unknownMethodsDecodeAsUnknown() throws {
            let bytes = Array("d1:ad2:id20:abcdefghij0123456789e1:q5:vote!1:t2:aa1:y1:qe".utf8)
            guard case .query(let query) = try KRPCCodec.decode(bytes).body else { Issue.record("not a query"); return }
            #expect(query.method == .unknown(name: "vote!"))
        }

        @Test func anUnknownMethodKeepsATwentyByteTargetOrInfoHash() throws {
            func method(_ arguments: String) throws -> QueryMethod? {
                let bytes = Array("d1:ad2:id20:abcdefghij0123456789\(arguments)e1:q4:vote1:t2:aa1:y1:qe".utf8)
                guard case .query(let query) = try KRPCCodec.decode(bytes).body else { return nil }
                return query.method
            }
            let twenty = NodeID(bytes: Array("ABCDEFGHIJ0123456789".utf8))!
            #expect(try method("6:target20:ABCDEFGHIJ0123456789") == .unknown(name: "vote", target: twenty, want: nil))
            #expect(try method("9:info_hash20:ABCDEFGHIJ0123456789") == .unknown(name: "vote", target: twenty, want: nil))
            #expect(try method("6:target20:ABCDEFGHIJ01234567894:wantl2:n6e") == .unknown(name: "vote", target: twenty, want: [.ipv6]))
            // Another implementation's argument of another shape is no target, and no error.
            #expect(try method("6:target19:ABCDEFGHIJ012345678") == .unknown(name: "vote"))
            #expect(try method("6:targeti5e") == .unknown(name: "vote"))
            #expect(try method("9:info_hash20:ABCDEFGHIJ01234567896:target3:abc") == .unknown(name: "vote", target: twenty, want: nil))
        }

        @Test func kr_saysWhichKeyedRecordsRevisionARespondentServes() throws {
            let response = KRPCMessage(transactionID: [5], body: .response(ResponseBody(id: id)), clientVersion: Array("SD01".utf8),
                                       requesterAddress: Endpoint("1.2.3.4:5")!, networkID: 9, keyedRecords: 1)
            let bytes = KRPCCodec.encode(response)
            // Between `ip` and `n`, as the strict decoder's key order wants.
            #expect(String(decoding: bytes, as: UTF8.self).contains("2:kri1e1:ni9e"))
            #expect(try roundTrip(response) == response)
            #expect(try roundTrip(KRPCMessage(transactionID: [5], body: .response(ResponseBody(id: id)))).keyedRecords == nil)
            // Another implementation's `kr` of another type reads as absent, and the answer stands.
            let foreign = Array("d2:kr3:abc1:rd2:id20:abcdefghij0123456789e1:t1:x1:y1:re".utf8)
            let decoded = try KRPCCodec.decode(foreign)
            #expect(decoded.keyedRecords == nil)
            #expect(!decoded.servesKeyedRecords)
            #expect(!(try KRPCCodec.decode(Array("d2:kri0e1:rd2:id20:abcdefghij0123456789e1:t1:x1:y1:re".utf8))).servesKeyedRecords)
        }

        @Test func malformedNodeListsAreRejected() {
            let body = "d2:id20:abcdefghij01234567895:nodes3:abce"
            let bytes = Array("d1:r\(body)1:t1:x1:y1:re".utf8)
            #expect(throws: KRPCDecodingError.self) { try KRPCCodec.decode(bytes) }
        }
    }
}
