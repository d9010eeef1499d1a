import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension RecordsTests {
    @Suite struct KeyedRecordTests {
        private let key = RecordsTests.nodeKey
        private let expires = RecordsTests.t0.seconds + 90

        private func signedRecord(value: BValue = .dict([Array("a".utf8): .int(1)])) throws -> KeyedRecord {
            KeyedRecord.signed(key: key, value: value, seq: 42, expires: expires, by: try RecordsTests.signer(1))
        }

        @Test func signedBufferIsByteExact() {
            let buffer = KeyedRecord.signedBuffer(
                key: Array("node".utf8), seq: 1, expires: 1_700_000_090, encodedValue: Array("4:spam".utf8))
            #expect(buffer == Array("3:expi1700000090e3:key4:node3:seqi1e1:v4:spam".utf8))

            // Binary key bytes go in verbatim with their length; numbers in plain decimal.
            let binary = KeyedRecord.signedBuffer(key: [0x00, 0xff, 0x3a], seq: 0, expires: -5, encodedValue: Array("le".utf8))
            #expect(binary == Array("3:expi-5e3:key3:".utf8) + [0x00, 0xff, 0x3a] + Array("3:seqi0e1:vle".utf8))
        }

        @Test func instanceBufferEncodesTheValue() throws {
            let record = KeyedRecord(
                key: key, owner: try RecordsTests.owner(1), seq: 7, expires: 1_000, value: .dict([Array("a".utf8): .int(1)]),
                signature: [])
            #expect(record.encodedValue == Array("d1:ai1ee".utf8))
            #expect(record.signedBuffer == Array("3:expi1000e3:key4:node3:seqi7e1:vd1:ai1ee".utf8))
        }

        @Test func signAndVerifyRoundTrip() throws {
            let signer = try RecordsTests.signer(1)
            let record = try signedRecord()
            #expect(record.owner == signer.publicKey)
            #expect(record.signature.count == 64)
            #expect(record.hasValidSignature())
            #expect(signer.publicKey.verify(signature: record.signature, message: record.signedBuffer))
        }

        @Test func signatureOverOtherContentFails() throws {
            let original = try signedRecord()

            var otherKey = original
            otherKey.key = Array("nodf".utf8)
            var otherExpiry = original
            otherExpiry.expires += 1
            var otherSeq = original
            otherSeq.seq += 1
            var otherValue = original
            otherValue.value = .dict([Array("a".utf8): .int(2)])
            var otherOwner = original
            otherOwner.owner = try RecordsTests.signer(2).publicKey
            var flipped = original
            flipped.signature[0] ^= 0x01

            for tampered in [otherKey, otherExpiry, otherSeq, otherValue, otherOwner, flipped] {
                #expect(!tampered.hasValidSignature())
            }
        }

        @Test func wrongLengthSignatureIsInvalidNotACrash() throws {
            let original = try signedRecord()
            for length in [0, 1, 63, 65, 128] {
                var record = original
                record.signature = Array(original.signature.prefix(length)) + [UInt8](repeating: 0, count: max(0, length - 64))
                #expect(record.signature.count == length)
                #expect(!record.hasValidSignature())
            }
        }

        @Test func bufferNeverEqualsABEP44Buffer() throws {
            let value = Array("12:Hello World!".utf8)
            for (recordKey, seq) in [(Array("node".utf8), Int64(0)), (Array("seq".utf8), 1), ([UInt8](repeating: 0x34, count: 64), 99)] {
                let recordBuffer = KeyedRecord.signedBuffer(key: recordKey, seq: seq, expires: 0, encodedValue: value)
                #expect(recordBuffer.starts(with: Array("3:exp".utf8)))
                for salt in [[], Array("salt".utf8), recordKey] {
                    let bep44 = BEP44.signedBuffer(salt: salt, seq: seq, encodedValue: value)
                    #expect(bep44.starts(with: Array("4:salt".utf8)) || bep44.starts(with: Array("3:seq".utf8)))
                    #expect(bep44 != recordBuffer)
                }
            }

            // Cross-replay: a record signature does not verify as a BEP 44 item, nor the reverse.
            let signer = try RecordsTests.signer(3)
            let record = KeyedRecord.signed(key: key, value: .bytes(Array("x".utf8)), seq: 5, expires: expires, by: signer)
            let bep44Buffer = BEP44.signedBuffer(salt: key, seq: 5, encodedValue: record.encodedValue)
            #expect(!signer.publicKey.verify(signature: record.signature, message: bep44Buffer))
            var replayed = record
            replayed.signature = signer.sign(bep44Buffer)
            #expect(!replayed.hasValidSignature())
        }

        @Test func targetIsSHA1OfTheKey() throws {
            #expect(KeyedRecord.target(forKey: Array("node".utf8)).hex == "f8e966d1e207d02c44511a58dccff2f5429e9a3b")
            let record = try signedRecord()
            #expect(record.target == KeyedRecord.target(forKey: key))
            #expect(KeyedRecord.target(forKey: Array("other".utf8)) != record.target)
        }

        @Test func expiresAtTheStartOfItsSecond() throws {
            var record = try signedRecord()
            record.expires = 100
            #expect(!record.isExpired(at: Timestamp(milliseconds: 99_999)))
            #expect(record.isExpired(at: Timestamp(milliseconds: 100_000)))
            #expect(record.isExpired(at: Timestamp(milliseconds: 500_000)))
        }

        @Test func wireRoundTrip() throws {
            let record = try signedRecord(value: .list([.int(-3), .bytes([0, 1, 2]), .dict([:])]))
            let wire = record.wireDictionary
            #expect(Set(try #require(wire.dictValue).keys) == Set(["k", "seq", "exp", "v", "sig"].map { Array($0.utf8) }))

            let bytes = Bencode.encode(wire)
            let decoded = try KeyedRecord(wire: try Bencode.decode(bytes), key: key)
            #expect(decoded == record)
            #expect(decoded.hasValidSignature())
            #expect(Bencode.encode(decoded.wireDictionary) == bytes)
            #expect(record.encodedWireDictionary == bytes)
        }

        /// The hand-ordered writer and the signed buffer's digits agree with the generic encoder
        /// for negative, zero and long numbers and for values of every shape.
        @Test func writtenFormsMatchTheGenericEncoder() throws {
            let values: [BValue] = [.int(0), .int(-1), .int(Int64.max), .bytes([]), .string("hello"),
                                    .list([.list([]), .dict([Array("b".utf8): .int(2), Array("a".utf8): .string("x")])])]
            for (index, value) in values.enumerated() {
                var record = try signedRecord(value: value)
                record.seq = [0, 7, 1_000_000_007, Int64.max][index % 4]
                record.expires = [1, 1_700_000_000, 99, 10][index % 4]
                #expect(record.encodedWireDictionary == Bencode.encode(record.wireDictionary))
                let textual = Array("3:expi\(record.expires)e3:key\(key.count):".utf8) + key
                    + Array("3:seqi\(record.seq)e1:v".utf8) + Bencode.encode(value)
                #expect(record.signedBuffer == textual)
            }
        }

        /// The validator encodes `v` once and passes the bytes on; the forms built from them
        /// are the ones built by encoding again, and the signature is judged the same way.
        @Test func formsFromAnEncodedValueMatchTheEncodingOnes() throws {
            let values: [BValue] = [.int(-3), .string("hello"), .dict([Array("b".utf8): .int(2), Array("a".utf8): .list([])])]
            for value in values {
                let record = try signedRecord(value: value)
                let encoded = Bencode.encode(value)
                #expect(record.encodedWireDictionary(encodedValue: encoded) == Bencode.encode(record.wireDictionary))
                #expect(record.hasValidSignature(encodedValue: encoded))
                #expect(!record.hasValidSignature(encodedValue: Bencode.encode(.string("other"))))
            }
        }

        @Test func extraEntriesAreIgnored() throws {
            let record = try signedRecord()
            guard case .dict(var entries) = record.wireDictionary else { Issue.record("not a dictionary"); return }
            entries[Array("id".utf8)] = .bytes([UInt8](repeating: 9, count: 20))
            entries[Array("token".utf8)] = .bytes([1, 2, 3, 4])
            entries[Array("key".utf8)] = .bytes(key)
            #expect(try KeyedRecord(wire: .dict(entries), key: key) == record)
        }

        @Test func malformedWireFormsAreTypedErrors() throws {
            let record = try signedRecord()
            guard case .dict(let valid) = record.wireDictionary else { Issue.record("not a dictionary"); return }

            func with(_ field: String, _ value: BValue?) -> BValue {
                var entries = valid
                entries[Array(field.utf8)] = value
                return .dict(entries)
            }

            let cases: [(BValue, RecordDecodingError)] = [
                (.list([]), .notADictionary),
                (.int(1), .notADictionary),
                (.bytes(Array("d1:ki1ee".utf8)), .notADictionary),
                (with("k", nil), .missingField("k")),
                (with("seq", nil), .missingField("seq")),
                (with("exp", nil), .missingField("exp")),
                (with("v", nil), .missingField("v")),
                (with("sig", nil), .missingField("sig")),
                (with("k", .int(1)), .wrongType("k")),
                (with("seq", .bytes(Array("1".utf8))), .wrongType("seq")),
                (with("exp", .list([])), .wrongType("exp")),
                (with("sig", .dict([:])), .wrongType("sig")),
                (with("k", .bytes([UInt8](repeating: 1, count: 31))), .invalidValue("k")),
                (with("k", .bytes([UInt8](repeating: 1, count: 33))), .invalidValue("k")),
                (with("k", .bytes([])), .invalidValue("k")),
                (with("sig", .bytes([UInt8](repeating: 1, count: 63))), .invalidValue("sig")),
                (with("sig", .bytes([UInt8](repeating: 1, count: 65))), .invalidValue("sig")),
                (with("seq", .int(-1)), .invalidValue("seq")),
                (with("seq", .int(.min)), .invalidValue("seq")),
            ]
            for (wire, expected) in cases {
                #expect(throws: expected) { try KeyedRecord(wire: wire, key: key) }
            }

            let validWire = record.wireDictionary
            #expect(throws: RecordDecodingError.invalidValue("key")) { try KeyedRecord(wire: validWire, key: []) }
            #expect(throws: RecordDecodingError.invalidValue("key")) {
                try KeyedRecord(wire: validWire, key: [UInt8](repeating: 0x61, count: 65))
            }
            #expect(try KeyedRecord(wire: validWire, key: [UInt8](repeating: 0x61, count: 64)).key.count == 64)
            #expect(RecordDecodingError.missingField("k").message == "record field k missing")
        }

        @Test func anyExpiryAndSequenceDecodeWithoutOverflow() throws {
            let record = try signedRecord()
            guard case .dict(var entries) = record.wireDictionary else { Issue.record("not a dictionary"); return }
            entries[Array("exp".utf8)] = .int(.max)
            entries[Array("seq".utf8)] = .int(.max)
            let decoded = try KeyedRecord(wire: .dict(entries), key: key)
            #expect(decoded.expires == .max && decoded.seq == .max)
            #expect(!decoded.hasValidSignature())
            #expect(!decoded.isExpired(at: Timestamp(milliseconds: .max)))
        }
    }
}
