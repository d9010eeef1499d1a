import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension TransportTests {
    /// Signatures checked ahead of the event loop: the verdict that travels with a datagram, the
    /// claim a store makes, and the check a worker runs over raw datagrams.
    @Suite struct SignaturePrecheckTests {
        private static func announceDatagram(_ record: KeyedRecord, token: [UInt8] = [1, 2, 3, 4]) -> [UInt8] {
            let arguments = RecordFixtures.arguments(record, token: token)
            let query = Query(senderID: NodeID.random(), method: .announceRecord(arguments: arguments))
            return KRPCCodec.encode(KRPCMessage(transactionID: [0, 1], body: .query(query)))
        }

        private static func record(expires: Int64 = 2_000_000_000) -> KeyedRecord {
            RecordFixtures.heartbeat(SigningKey.generate(), seq: 1, expires: expires)
        }

        @Test func aVerdictAnswersOnlyForItsExactTriple() {
            let key = [UInt8](repeating: 1, count: 32), signature = [UInt8](repeating: 2, count: 64)
            let verdict = SignatureVerdict(claim: SignatureClaim(publicKey: key, signature: signature, message: [3, 4]), valid: true)
            #expect(verdict.answer(publicKey: key, signature: signature, message: [3, 5]) == nil)
            #expect(verdict.answer(publicKey: [UInt8](repeating: 9, count: 32), signature: signature, message: [3, 4]) == nil)
            #expect(verdict.answer(publicKey: key, signature: [UInt8](repeating: 3, count: 64), message: [3, 4]) == nil)
            #expect(verdict.answer(publicKey: key, signature: signature, message: [3, 4]) == true)
            let refused = SignatureVerdict(claim: SignatureClaim(publicKey: key, signature: signature, message: [3, 4]), valid: false)
            #expect(refused.answer(publicKey: key, signature: signature, message: [3, 4]) == false)
        }

        @Test func verifyTakesAKnownVerdictForItsTripleOnly() throws {
            // A false verdict for a genuine signature shows the verdict is consulted: libsodium would say true.
            let signer = SigningKey.generate()
            let message = Array("remembered".utf8)
            let signature = signer.sign(message)
            let known = SignatureVerdict(claim: SignatureClaim(publicKey: signer.publicKey.bytes, signature: signature, message: message), valid: false)
            #expect(!signer.publicKey.verify(signature: signature, message: message, known: known))
            #expect(signer.publicKey.verify(signature: signature, message: message))
            // About other bytes it says nothing: libsodium decides.
            let other = Array("other".utf8)
            #expect(signer.publicKey.verify(signature: signer.sign(other), message: other, known: known))
        }

        @Test func aWorkerReachesTheVerdictTheValidatorWillAskFor() throws {
            let genuine = Self.record()
            var forged = Self.record()
            forged.signature = [UInt8](repeating: 7, count: 64)
            #expect(SignaturePrecheck.mayBeSignedStore(Self.announceDatagram(genuine)))
            let checked = SignaturePrecheck.check([Self.announceDatagram(genuine), Self.announceDatagram(forged)])
            // The exact buffer `KeyedRecord.hasValidSignature` verifies.
            let first = try #require(checked[0].signature), second = try #require(checked[1].signature)
            #expect(first.answer(publicKey: genuine.owner.bytes, signature: genuine.signature, message: genuine.signedBuffer) == true)
            #expect(second.answer(publicKey: forged.owner.bytes, signature: forged.signature, message: forged.signedBuffer) == false)
        }

        @Test func aSignedPutIsCheckedOverItsBEP44Buffer() throws {
            let signer = SigningKey.generate()
            let value = BValue.string("hello")
            let buffer = BEP44.signedBuffer(salt: Array("s".utf8), seq: 4, encodedValue: Bencode.encode(value))
            let signature = signer.sign(buffer)
            let put = PutArguments(token: [1], value: value, publicKey: signer.publicKey.bytes, signature: signature, seq: 4, salt: Array("s".utf8))
            let datagram = KRPCCodec.encode(KRPCMessage(transactionID: [9], body: .query(Query(senderID: .random(), method: .put(put)))))
            #expect(SignaturePrecheck.mayBeSignedStore(datagram))
            let verdict = try #require(SignaturePrecheck.check([datagram])[0].signature)
            #expect(verdict.answer(publicKey: signer.publicKey.bytes, signature: signature, message: buffer) == true)
        }

        /// The core judges a store by the verdict that came with it: a false verdict for a genuine
        /// signature is refused with 206 (libsodium would accept it), and the same datagram without
        /// a verdict is stored.
        @Test func theCoreJudgesAStoreByTheVerdictThatCameWithIt() throws {
            var peer = RawPeer()
            let record = RecordFixtures.heartbeat(SigningKey.generate(), seq: 1, expires: peer.now.seconds + 60)
            let datagram = Self.announceDatagram(record, token: peer.token(for: record.target))
            let checked = SignaturePrecheck.check([datagram])[0]
            let claim = try #require(checked.signature).claim
            let lie = PrecheckedDatagram(decoded: checked.decoded, signature: SignatureVerdict(claim: claim, valid: false))
            peer.core.receive(datagram, prechecked: lie, from: peer.me, now: peer.now)
            peer.core.receive(datagram, prechecked: nil, from: peer.me, now: peer.now)
            let replies = peer.core.takeEffects().compactMap { effect -> KRPCMessage? in
                guard case .send(let bytes, let destination) = effect, destination == peer.me else { return nil }
                return try? KRPCCodec.decode(bytes)
            }
            guard replies.count == 2, case .error(let error) = replies[0].body, case .response = replies[1].body else {
                Issue.record("expected a 206 and then an answer, got \(replies)")
                return
            }
            #expect(error.code == 206)
            #expect(peer.core.storedRecordCount == 1)
        }

        /// The scan that jumps from colon to colon says what reading every byte says, on datagrams
        /// with the two markers anywhere, the ends included, amid colons and padding.
        @Test func theColonScanAgreesWithAByteByByteOne() {
            func reference(_ bytes: [UInt8]) -> Bool {
                let text = bytes.map { Character(UnicodeScalar($0)) }
                func has(_ marker: String) -> Bool {
                    let needle = Array(marker)
                    guard text.count >= needle.count + 1 else { return false }
                    // The colon must sit at 1...count-5, as the scan reads 4 bytes past it.
                    return (0...(text.count - needle.count)).contains { start in
                        Array(text[start..<start + needle.count]) == needle && start + 1 <= text.count - 5
                    }
                }
                return bytes.count >= 6 && has("3:sig") && has("1:y1:q")
            }
            var generator = SplitMix64(seed: 9)
            let pieces: [[UInt8]] = [Array("3:sig".utf8), Array("1:y1:q".utf8), Array("::".utf8), [0, 0, 0, 0], Array("3:si".utf8), Array("1:y1:r".utf8)]
            var positives = 0
            for _ in 0..<3_000 {
                var datagram = [UInt8]()
                for _ in 0..<Int(generator.next() % 5) { datagram += pieces[Int(generator.next() % UInt64(pieces.count))] }
                let cut = Int(generator.next() % 3)
                if cut > 0, datagram.count > cut { datagram.removeLast(cut) }
                let expected = reference(datagram)
                if expected { positives += 1 }
                #expect(SignaturePrecheck.mayBeSignedStore(datagram) == expected, "\(datagram)")
            }
            #expect(positives > 100)
        }

        @Test func datagramsWithoutASignatureOrNotQueriesCarryNoVerdict() {
            let findNode = KRPCCodec.encode(KRPCMessage(transactionID: [1], body: .query(Query(senderID: .random(), method: .findNode(target: .random(), want: nil)))))
            #expect(!SignaturePrecheck.mayBeSignedStore(findNode))
            var body = ResponseBody(id: .random())
            body.signature = [UInt8](repeating: 1, count: 64)
            let answer = KRPCCodec.encode(KRPCMessage(transactionID: [2], body: .response(body)))
            // A get's answer carries a signature but is not a store: it stays on the event loop.
            #expect(!SignaturePrecheck.mayBeSignedStore(answer))
            let garbage = Array("d3:sig".utf8) + [0xff, 0x00]
            let keyless = RecordFixtures.arguments(Self.record(), token: [1]) { $0[Array("key".utf8)] = nil }
            let noKey = KRPCCodec.encode(KRPCMessage(transactionID: [3], body: .query(Query(senderID: .random(), method: .announceRecord(arguments: keyless)))))
            let checked = SignaturePrecheck.check([findNode, answer, garbage, noKey, [], [0x64]])
            #expect(checked.count == 6)
            #expect(checked.allSatisfy { $0.signature == nil })
        }

        /// What a worker decoded goes to the core with the datagram, and is judged as the datagram
        /// itself would be: a signed put is stored, a malformed query answered with 203.
        @Test func theCoreTakesAWorkersDecodingAsIfItHadDecodedItself() throws {
            var peer = RawPeer()
            let signer = SigningKey.generate()
            let value = BValue.string("decoded once")
            let target = BEP44.mutableTarget(publicKey: signer.publicKey.bytes, salt: [])
            let signature = signer.sign(BEP44.signedBuffer(salt: [], seq: 1, encodedValue: Bencode.encode(value)))
            let put = PutArguments(token: peer.token(for: target), value: value, publicKey: signer.publicKey.bytes, signature: signature, seq: 1)
            let datagram = KRPCCodec.encode(KRPCMessage(transactionID: [4, 2], body: .query(Query(senderID: peer.myID, method: .put(put)))))
            let malformed = Array("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:xx1:y1:q".utf8)
            let checked = SignaturePrecheck.check([datagram, malformed])
            guard checked.count == 2, case .success = checked[0].decoded, case .failure = checked[1].decoded else {
                Issue.record("expected one decoded message and one failure, got \(checked.map(\.decoded))")
                return
            }
            #expect(checked[0].signature?.valid == true)

            peer.core.receive(datagram, prechecked: checked[0], from: peer.me, now: peer.now)
            peer.core.receive(malformed, prechecked: checked[1], from: peer.me, now: peer.now)
            let replies = peer.core.takeEffects().compactMap { effect -> KRPCMessage? in
                guard case .send(let bytes, let destination) = effect, destination == peer.me else { return nil }
                return try? KRPCCodec.decode(bytes)
            }
            #expect(replies.map(\.transactionID) == [[4, 2], Array("xx".utf8)])
            guard replies.count == 2, case .response = replies[0].body, case .error(let error) = replies[1].body else {
                Issue.record("expected an answer and an error, got \(replies)")
                return
            }
            #expect(error.code == 203)
            guard case .response(let body)? = peer.ask(.get(target: target, seq: nil, want: nil))?.body else {
                Issue.record("no answer to get")
                return
            }
            #expect(body.value == value)
        }
    }
}
