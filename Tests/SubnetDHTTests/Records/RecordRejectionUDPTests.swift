import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

/// A raw client on a real UDP socket, announcing records to a live node and reading them back.
private struct RecordClient {
    let socket: RawUDPSocket
    let node: Endpoint
    let id = NodeID.random()
    var nextTransaction: UInt16 = 1

    mutating func ask(_ method: QueryMethod) -> KRPCMessage? {
        nextTransaction += 1
        let tid = [UInt8(nextTransaction >> 8), UInt8(nextTransaction & 0xff)]
        socket.send(KRPCCodec.encode(KRPCMessage(transactionID: tid, body: .query(Query(senderID: id, method: method)))), to: node)
        for _ in 0..<20 {
            guard let bytes = socket.receive() else { continue }
            if let message = try? KRPCCodec.decode(bytes), message.transactionID == tid { return message }
        }
        return nil
    }

    mutating func page(_ key: [UInt8], after: [UInt8]? = nil) -> ResponseBody? {
        guard case .response(let body)? = ask(.getRecords(target: KeyedRecord.target(forKey: key), after: after, want: nil))?.body else { return nil }
        return body
    }

    mutating func token(_ key: [UInt8]) -> [UInt8] { page(key)?.token ?? [] }

    /// The error code of an announce, or 0 when accepted.
    mutating func announce(_ arguments: [[UInt8]: BValue]) -> Int? {
        switch ask(.announceRecord(arguments: arguments))?.body {
        case .response?: return 0
        case .error(let error)?: return error.code
        default: return nil
        }
    }

    mutating func stored(_ key: [UInt8]) -> [KeyedRecord] {
        guard let body = page(key) else { return [] }
        return RecordPage.entries(of: body).compactMap { try? KeyedRecord(wire: $0, key: key) }
    }
}

extension RecordsTests {
    @Suite(.serialized) struct RecordRejectionUDPTests {
        @Test func everyRejectionCodeLeavesTheStoredRecordIntact() async throws {
            let node = try await DHTNode.start(DHTNode.Configuration(host: "127.0.0.1", port: 0))
            var client = RecordClient(socket: try RawUDPSocket(), node: node.localEndpoint)
            let key = RecordFixtures.nodeKey
            let owner = SigningKey.generate()
            let now = SystemClock.now().seconds
            let original = RecordFixtures.heartbeat(owner, seq: 10, expires: now + 90)
            #expect(client.announce(RecordFixtures.arguments(original, token: client.token(key))) == 0)
            #expect(client.stored(key) == [original])

            let token = client.token(key)
            let newer = RecordFixtures.heartbeat(owner, seq: 11, expires: now + 90, info: RecordFixtures.serverInfo(port: 7000))
            var cases: [(String, Int, [[UInt8]: BValue])] = []
            // 205: value over 1,000 bytes (an unknown field makes it big, the schema would allow it).
            var bigInfo = RecordFixtures.serverInfo()
            bigInfo.unknownFields[Array("pad".utf8)] = .bytes([UInt8](repeating: 0x70, count: 1000))
            cases.append(("value too big", 205, RecordFixtures.arguments(
                KeyedRecord.signed(key: key, value: bigInfo.bencoded, seq: 11, expires: now + 90, by: owner), token: token)))
            // 207: empty and over-long keys.
            cases.append(("empty key", 207, RecordFixtures.arguments(newer, token: token) { $0[Array("key".utf8)] = .bytes([]) }))
            cases.append(("long key", 207, RecordFixtures.arguments(newer, token: token) { $0[Array("key".utf8)] = .bytes([UInt8](repeating: 0x6b, count: 65)) }))
            // 203: bad token, wrong types, negative seq.
            cases.append(("bad token", 203, RecordFixtures.arguments(newer, token: [1, 2, 3, 4])))
            cases.append(("seq wrong type", 203, RecordFixtures.arguments(newer, token: token) { $0[Array("seq".utf8)] = .string("11") }))
            cases.append(("negative seq", 203, RecordFixtures.arguments(newer, token: token) { $0[Array("seq".utf8)] = .int(-1) }))
            cases.append(("short k", 203, RecordFixtures.arguments(newer, token: token) { $0[Array("k".utf8)] = .bytes([1, 2]) }))
            // 208: expiry in the past, or beyond the key's max TTL plus skew.
            cases.append(("expired", 208, RecordFixtures.arguments(RecordFixtures.heartbeat(owner, seq: 11, expires: now - 1), token: token)))
            cases.append(("too far", 208, RecordFixtures.arguments(RecordFixtures.heartbeat(owner, seq: 11, expires: now + 3600 + 120), token: token)))
            // 206: forged signature, a signature over another key, over another expiry.
            cases.append(("forged", 206, RecordFixtures.arguments(newer, token: token) { $0[Array("sig".utf8)] = .bytes([UInt8](repeating: 9, count: 64)) }))
            let otherKey = KeyedRecord.signed(key: Array("other".utf8), value: newer.value, seq: 11, expires: now + 90, by: owner)
            cases.append(("signed for another key", 206, RecordFixtures.arguments(newer, token: token) { $0[Array("sig".utf8)] = .bytes(otherKey.signature) }))
            cases.append(("signed for another expiry", 206, RecordFixtures.arguments(newer, token: token) { $0[Array("exp".utf8)] = .int(now + 91) }))
            // 209: schema violations and a role outside the subnet's set.
            cases.append(("bad state", 209, RecordFixtures.arguments(
                KeyedRecord.signed(key: key, value: .dict([Array("state".utf8): .int(7)]), seq: 11, expires: now + 90, by: owner), token: token)))
            cases.append(("unknown role", 209, RecordFixtures.arguments(
                RecordFixtures.heartbeat(owner, seq: 11, expires: now + 90, info: RecordFixtures.serverInfo(role: "pirate")), token: token)))
            // 302: older seq, or the same seq with another value.
            cases.append(("older seq", 302, RecordFixtures.arguments(RecordFixtures.heartbeat(owner, seq: 9, expires: now + 90), token: token)))
            cases.append(("same seq, other value", 302, RecordFixtures.arguments(
                RecordFixtures.heartbeat(owner, seq: 10, expires: now + 90, info: RecordFixtures.serverInfo(port: 9)), token: token)))

            for (name, code, arguments) in cases {
                #expect(client.announce(arguments) == code, "\(name)")
                #expect(client.stored(key) == [original], "\(name) changed the stored record")
            }
            // 209 for a key without a policy: nothing stored under it either.
            let misc = KeyedRecord.signed(key: Array("misc".utf8), value: .int(1), seq: 1, expires: now + 90, by: owner)
            #expect(client.announce(RecordFixtures.arguments(misc, token: client.token(Array("misc".utf8)))) == 209)
            #expect(client.stored(Array("misc".utf8)).isEmpty)
            // The identical record is accepted and changes nothing; the newer one replaces it.
            #expect(client.announce(RecordFixtures.arguments(original, token: token)) == 0)
            #expect(client.announce(RecordFixtures.arguments(newer, token: token)) == 0)
            #expect(client.stored(key) == [newer])
            let status = try await node.status()
            #expect(status.storedRecords == 1)
            // Every signed announce above went through the worker pool first (the default).
            #expect(status.signaturesCheckedAhead >= cases.count)
            await node.shutdown()
        }

        /// Checked on a worker or on the loop, a signature gets the same verdict.
        @Test(arguments: [true, false]) func signaturesGetTheSameVerdictWhereverTheyAreChecked(ahead: Bool) async throws {
            let node = try await DHTNode.start(DHTNode.Configuration(host: "127.0.0.1", port: 0, signatureCheckPool: ahead ? .singleton : nil))
            var client = RecordClient(socket: try RawUDPSocket(), node: node.localEndpoint)
            let key = RecordFixtures.nodeKey
            let now = SystemClock.now().seconds
            let owners = (0..<6).map { _ in SigningKey.generate() }
            for (index, owner) in owners.enumerated() {
                let record = RecordFixtures.heartbeat(owner, seq: 1, expires: now + 90)
                let arguments = RecordFixtures.arguments(record, token: client.token(key)) {
                    if index % 2 == 1 { $0[Array("sig".utf8)] = .bytes(SigningKey.generate().sign(record.signedBuffer)) }
                }
                #expect(client.announce(arguments) == (index % 2 == 1 ? 206 : 0), "owner \(index)")
            }
            let status = try await node.status()
            #expect(status.storedRecords == 3)
            #expect(ahead ? status.signaturesCheckedAhead == owners.count : status.signaturesCheckedAhead == 0)
            await node.shutdown()
        }
    }
}
