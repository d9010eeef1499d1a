import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

/// Drives one core with hand-made datagrams, as a raw client on the wire would.
struct RawPeer {
    var core = DHTCore(localID: NodeID.random(), settings: .loopbackTestNetwork, now: Timestamp(seconds: 1_700_000_000))
    var now = Timestamp(seconds: 1_700_000_000)
    var me = Endpoint("127.0.0.1:4000")!
    let myID = NodeID.random()

    /// Sends `datagram` and returns the messages the core sent back to us.
    mutating func exchange(_ datagram: [UInt8]) -> [KRPCMessage] {
        core.receive(datagram, from: me, now: now)
        return core.takeEffects().compactMap { effect in
            guard case .send(let bytes, let destination) = effect, destination == me else { return nil }
            return try? KRPCCodec.decode(bytes)
        }.filter { if case .query = $0.body { false } else { true } }
    }

    mutating func ask(_ method: QueryMethod) -> KRPCMessage? {
        exchange(KRPCCodec.encode(KRPCMessage(transactionID: [7, 7], body: .query(Query(senderID: myID, method: method))))).first
    }

    mutating func token(for target: NodeID) -> [UInt8] {
        guard case .response(let body)? = ask(.get(target: target, seq: nil, want: nil))?.body else { return [] }
        return body.token ?? []
    }

    mutating func put(key: SigningKey, value: BValue, seq: Int64, salt: [UInt8] = [], cas: Int64? = nil,
                      token: [UInt8]? = nil, signature: [UInt8]? = nil) -> KRPCMessage? {
        let target = BEP44.mutableTarget(publicKey: key.publicKey.bytes, salt: salt)
        let signed = signature ?? key.sign(BEP44.signedBuffer(salt: salt, seq: seq, encodedValue: Bencode.encode(value)))
        return ask(.put(PutArguments(token: token ?? self.token(for: target), value: value, publicKey: key.publicKey.bytes,
                                     signature: signed, seq: seq, cas: cas, salt: salt)))
    }
}

private func errorCode(_ message: KRPCMessage?) -> Int? {
    guard case .error(let error)? = message?.body else { return nil }
    return error.code
}

private func isSuccess(_ message: KRPCMessage?) -> Bool {
    guard case .response? = message?.body else { return false }
    return true
}

extension CoreTests {
    @Suite struct QueryHandlingTests {
        @Test func answersPingWithRequesterAddressAndVersion() throws {
            var peer = RawPeer()
            let answer = peer.ask(.ping)
            let reply = try #require(answer)
            guard case .response(let body) = reply.body else { Issue.record("no response"); return }
            #expect(body.id == peer.core.localID)
            #expect(reply.transactionID == [7, 7])
            #expect(reply.requesterAddress == peer.me)
            #expect(reply.clientVersion == DHTSettings().clientVersion)
        }

        @Test func mutablePutEnforcesEveryBEP44Rule() throws {
            var peer = RawPeer()
            let key = SigningKey.generate()
            #expect(isSuccess(peer.put(key: key, value: .string("v5"), seq: 5)))
            // Lower seq: 302. Equal seq, other value: 302. Equal and identical: accepted.
            #expect(errorCode(peer.put(key: key, value: .string("v4"), seq: 4)) == 302)
            #expect(errorCode(peer.put(key: key, value: .string("other"), seq: 5)) == 302)
            #expect(isSuccess(peer.put(key: key, value: .string("v5"), seq: 5)))
            // CAS mismatch: 301.
            #expect(errorCode(peer.put(key: key, value: .string("v6"), seq: 6, cas: 4)) == 301)
            // Bad signature: 206. Bad token: 203.
            #expect(errorCode(peer.put(key: key, value: .string("v7"), seq: 7, signature: [UInt8](repeating: 1, count: 64))) == 206)
            #expect(errorCode(peer.put(key: key, value: .string("v7"), seq: 7, token: [1, 2, 3, 4])) == 203)
            // Too big: 205. Salt too long: 207.
            #expect(errorCode(peer.put(key: key, value: .bytes([UInt8](repeating: 0x61, count: 1000)), seq: 8)) == 205)
            #expect(errorCode(peer.put(key: key, value: .string("v"), seq: 8, salt: [UInt8](repeating: 0x62, count: 65))) == 207)
            // After all those rejections the stored item is still seq 5.
            let target = BEP44.mutableTarget(publicKey: key.publicKey.bytes, salt: [])
            guard case .response(let body)? = peer.ask(.get(target: target, seq: nil, want: nil))?.body else {
                Issue.record("no get response"); return
            }
            #expect(body.seq == 5)
            #expect(body.value == .string("v5"))
            // A requester that already has seq 5 is not sent the value again.
            guard case .response(let short)? = peer.ask(.get(target: target, seq: 5, want: nil))?.body else { Issue.record("no response"); return }
            #expect(short.seq == 5 && short.value == nil)
            // CAS that matches replaces.
            #expect(isSuccess(peer.put(key: key, value: .string("v6"), seq: 6, cas: 5)))
        }

        @Test func immutablePutChecksTokenAndTarget() throws {
            var peer = RawPeer()
            let value = BValue.string("Hello World!")
            let target = BEP44.immutableTarget(encodedValue: Bencode.encode(value))
            #expect(target.hex == "e5f96f6f38320f0f33959cb4d3d656452117aadb")
            #expect(errorCode(peer.ask(.put(PutArguments(token: [0], value: value)))) == 203)
            // A token issued for another target is refused too.
            let otherToken = peer.token(for: NodeID.random())
            #expect(errorCode(peer.ask(.put(PutArguments(token: otherToken, value: value)))) == 203)
            #expect(isSuccess(peer.ask(.put(PutArguments(token: peer.token(for: target), value: value)))))
            guard case .response(let body)? = peer.ask(.get(target: target, seq: nil, want: nil))?.body else { Issue.record("no response"); return }
            #expect(body.value == value)
        }

        @Test func itemsExpireTwoHoursAfterTheirLastPut() throws {
            var peer = RawPeer()
            let key = SigningKey.generate()
            #expect(isSuccess(peer.put(key: key, value: .int(1), seq: 1)))
            let target = BEP44.mutableTarget(publicKey: key.publicKey.bytes, salt: [])
            peer.now = peer.now + .seconds(2 * 3600 - 10)
            peer.core.tick(now: peer.now)
            guard case .response(let before)? = peer.ask(.get(target: target, seq: nil, want: nil))?.body else { Issue.record("no response"); return }
            #expect(before.value == .int(1))
            peer.now = peer.now + .seconds(20)
            peer.core.tick(now: peer.now)
            guard case .response(let after)? = peer.ask(.get(target: target, seq: nil, want: nil))?.body else { Issue.record("no response"); return }
            #expect(after.value == nil)
        }

        @Test func announcePeerNeedsAValidTokenAndGetPeersReturnsIt() throws {
            var peer = RawPeer()
            let infoHash = NodeID.random()
            #expect(errorCode(peer.ask(.announcePeer(infoHash: infoHash, port: 5000, impliedPort: false, token: [1]))) == 203)
            guard case .response(let first)? = peer.ask(.getPeers(infoHash: infoHash, want: nil))?.body else { Issue.record("no response"); return }
            let token = try #require(first.token)
            #expect(first.values == nil)
            #expect(isSuccess(peer.ask(.announcePeer(infoHash: infoHash, port: 5000, impliedPort: false, token: token))))
            #expect(isSuccess(peer.ask(.announcePeer(infoHash: infoHash, port: 1, impliedPort: true, token: token))))
            guard case .response(let second)? = peer.ask(.getPeers(infoHash: infoHash, want: nil))?.body else { Issue.record("no response"); return }
            #expect(Set(second.values ?? []) == [Endpoint("127.0.0.1:5000")!, Endpoint("127.0.0.1:4000")!])
        }

        @Test func everyAnswerSaysItServesKeyedRecords() throws {
            var peer = RawPeer()
            let ping = peer.ask(.ping), findNode = peer.ask(.findNode(target: .random(), want: nil))
            #expect(try #require(ping).keyedRecords == DHTCore.keyedRecordsRevision)
            #expect(try #require(findNode).keyedRecords == 1)
            // Errors do not: only an answer proves what the node serves.
            let error = peer.ask(.unknown(name: "frobnicate"))
            #expect(try #require(error).keyedRecords == nil)
        }

        @Test func anUnknownMethodAboutATargetIsAnsweredAsFindNode() throws {
            var peer = RawPeer()
            // Some contacts for the answer: they pinged the core and answered its pings.
            for port in 6001...6003 {
                let contact = Endpoint("127.0.0.1:\(port)")!
                peer.core.receive(KRPCCodec.encode(KRPCMessage(transactionID: [1], body: .query(Query(senderID: .random(), method: .ping)))),
                                  from: contact, now: peer.now)
                for effect in peer.core.takeEffects() {
                    guard case .send(let bytes, contact) = effect, let ping = try? KRPCCodec.decode(bytes), case .query = ping.body else { continue }
                    peer.core.receive(KRPCCodec.encode(KRPCMessage(transactionID: ping.transactionID, body: .response(ResponseBody(id: .random())))),
                                      from: contact, now: peer.now)
                }
            }
            let target = NodeID.random()
            let expected = peer.ask(.findNode(target: target, want: nil))
            guard case .response(let asFindNode)? = expected?.body, let nodes = asFindNode.nodes else { Issue.record("no find_node answer"); return }
            #expect(nodes.count == 3)
            guard case .response(let body)? = peer.ask(.unknown(name: "sample_infohashes", target: target, want: nil))?.body else {
                Issue.record("an unknown method with a target was not answered"); return
            }
            #expect(body.nodes == nodes)
            #expect(body.nodes6 == nil)
            #expect(body.token == nil)
            guard case .response(let both)? = peer.ask(.unknown(name: "x", target: target, want: [.ipv4, .ipv6]))?.body else {
                Issue.record("no answer with want"); return
            }
            #expect(both.nodes == nodes)
            #expect(both.nodes6 == [])
        }

        @Test func nodes6CarriesIPv6ContactsWhenAsked() throws {
            var peer = RawPeer()
            let v6 = (1...3).map { Endpoint("[::1]:\(7000 + $0)")! }
            let v4 = Endpoint("127.0.0.1:7100")!
            for contact in v6 + [v4] {
                _ = peer.core.startPing(contact, now: peer.now)
                for effect in peer.core.takeEffects() {
                    guard case .send(let bytes, contact) = effect, let ping = try? KRPCCodec.decode(bytes) else { continue }
                    peer.core.receive(KRPCCodec.encode(KRPCMessage(transactionID: ping.transactionID, body: .response(ResponseBody(id: .random())))),
                                      from: contact, now: peer.now)
                }
            }
            let target = NodeID.random()
            guard case .response(let both)? = peer.ask(.findNode(target: target, want: [.ipv4, .ipv6]))?.body else {
                Issue.record("no response"); return
            }
            #expect(Set((both.nodes6 ?? []).map(\.endpoint)) == Set(v6))
            #expect((both.nodes ?? []).map(\.endpoint) == [v4])
            // Without `want`, an IPv4 requester gets its own family only (BEP 32).
            guard case .response(let own)? = peer.ask(.findNode(target: target, want: nil))?.body else { Issue.record("no response"); return }
            #expect(own.nodes6 == nil)
            #expect(own.nodes?.map(\.endpoint) == [v4])
            guard case .response(let six)? = peer.ask(.getPeers(infoHash: target, want: [.ipv6]))?.body else { Issue.record("no response"); return }
            #expect(six.nodes == nil)
            #expect(six.nodes6?.count == 3)
            // A node list written and read back keeps every IPv6 contact whole.
            let wire = try KRPCCodec.decode(KRPCCodec.encode(KRPCMessage(transactionID: [1], body: .response(both))))
            guard case .response(let decoded) = wire.body else { Issue.record("not a response"); return }
            #expect(decoded.nodes6 == both.nodes6)
        }

        @Test func anErrorToAStrangerKeepsTheAmplificationLimit() throws {
            var peer = RawPeer()
            // A query of n bytes (no `y`: a 203 "missing field y") sized so that the bare 203 fits in
            // 4n bytes and the one with its message does not.
            func error(_ text: String) -> Int {
                KRPCCodec.encode(KRPCMessage(transactionID: Array("z".utf8), body: .error(KRPCError(code: 203, message: text)),
                                             clientVersion: peer.core.settings.clientVersion)).count
            }
            let full = error("missing field y"), bare = error("")
            // An empty key sorts first: `d0:<n>:<n bytes>1:t1:ze`, from 12 bytes.
            let sized = (0..<60).map { Array("d0:\($0):\(String(repeating: "p", count: $0))1:t1:ze".utf8) }
            let tiny = try #require(sized.first { 4 * $0.count >= bare && 4 * $0.count < full })
            let replies = peer.exchange(tiny)
            #expect(replies.count == 1)
            #expect(errorCode(replies.first) == 203)
            guard case .error(let error)? = replies.first?.body else { Issue.record("no error reply"); return }
            #expect(error.message == "")
            #expect(replies.allSatisfy { KRPCCodec.encode($0).count <= 4 * tiny.count })
            // 8 bytes: not even a bare 203 fits in 32, so nothing is sent.
            #expect(peer.exchange(Array("d1:t1:ze".utf8)).isEmpty)
            #expect(peer.core.statistics.responsesTrimmed == 2)
        }

        @Test func unknownMethodsGet204AndMalformedQueries203() throws {
            var peer = RawPeer()
            #expect(errorCode(peer.ask(.unknown(name: "frobnicate"))) == 204)
            let truncated = Array("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:zz1:y1:q".utf8)
            let replies = peer.exchange(truncated)
            #expect(replies.count == 1)
            #expect(replies.first?.transactionID == Array("zz".utf8))
            #expect(errorCode(replies.first) == 203)
            // No readable transaction id: dropped silently. Responses with junk are never answered.
            #expect(peer.exchange(Array("garbage".utf8)).isEmpty)
            #expect(peer.exchange(Array("d1:rd2:id3:abce1:t2:aa1:y1:re".utf8)).isEmpty)
            #expect(peer.core.statistics.malformedDropped == 3)
        }

        @Test func findNodeAnswersTheClosestKnownNodes() throws {
            var peer = RawPeer()
            // Teach the core 20 nodes by having them answer its pings.
            var known = [NodeInfo]()
            for index in 0..<20 {
                let node = NodeInfo(id: .random(), endpoint: Endpoint(address: .v4(0x7f00_0001), port: UInt16(5000 + index)))
                known.append(node)
                _ = peer.core.startPing(node.endpoint, now: peer.now)
                for effect in peer.core.takeEffects() {
                    guard case .send(let bytes, _) = effect, let query = try? KRPCCodec.decode(bytes) else { continue }
                    let reply = KRPCMessage(transactionID: query.transactionID, body: .response(ResponseBody(id: node.id)))
                    peer.core.receive(KRPCCodec.encode(reply), from: node.endpoint, now: peer.now)
                }
                _ = peer.core.takeEffects()
            }
            let target = NodeID.random()
            guard case .response(let body)? = peer.ask(.findNode(target: target, want: nil))?.body else { Issue.record("no answer"); return }
            // Buckets hold k contacts each, so compare with what the table kept, by brute force.
            let inTable = peer.core.contacts.map { NodeInfo(id: $0.id, endpoint: $0.endpoint) }
            #expect(inTable.count >= 8 && Set(inTable).isSubset(of: Set(known)))
            let expected = inTable.sorted { $0.id.distance(to: target) < $1.id.distance(to: target) }.prefix(8)
            #expect(body.nodes == Array(expected))
            #expect(body.nodes6 == nil)
        }
    }
}
