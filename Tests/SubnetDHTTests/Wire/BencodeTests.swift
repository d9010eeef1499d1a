import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension WireTests {
    @Suite struct BencodeTests {
        private func decode(_ text: String) throws(BencodeError) -> BValue { try Bencode.decode(Array(text.utf8)) }

        @Test func decodesEveryType() throws {
            #expect(try decode("i42e") == .int(42))
            #expect(try decode("i-7e") == .int(-7))
            #expect(try decode("i0e") == .int(0))
            #expect(try decode("4:spam") == .string("spam"))
            #expect(try decode("0:") == .bytes([]))
            #expect(try decode("l4:spami1ee") == .list([.string("spam"), .int(1)]))
            #expect(try decode("d3:bar4:spam3:fooi42ee") == .dict([Array("bar".utf8): .string("spam"), Array("foo".utf8): .int(42)]))
            #expect(try decode("i9223372036854775807e") == .int(.max))
            #expect(try decode("i-9223372036854775808e") == .int(.min))
        }

        @Test func encodingIsCanonicalAndRoundTrips() throws {
            let value = BValue.dict([Array("z".utf8): .int(1), Array("a".utf8): .list([.string("x"), .int(-3)])])
            let encoded = Bencode.encode(value)
            #expect(String(decoding: encoded, as: UTF8.self) == "d1:al1:xi-3ee1:zi1ee")
            #expect(try Bencode.decode(encoded) == value)
        }

        @Test(arguments: [
            ("i01e", "leading zero"), ("i-0e", "negative zero"), ("ie", "empty integer"), ("i1", "truncated integer"),
            ("i99999999999999999999e", "integer overflow"), ("02:ab", "leading zero length"), ("5:abc", "length past end"),
            ("d1:bi1e1:ai2ee", "unsorted keys"), ("d1:ai1e1:ai2ee", "duplicate keys"), ("di1ei2ee", "integer key"),
            ("l", "unterminated list"), ("d1:a", "missing value"), ("x", "unknown type"), ("i1ei2e", "trailing bytes"),
            ("", "empty input"), ("999999999999:a", "huge length"), ("-1:a", "negative length"),
        ])
        func rejectsNonCanonicalInput(input: String, reason: String) {
            #expect(throws: BencodeError.self, "\(reason)") { try Bencode.decode(Array(input.utf8)) }
        }

        @Test func integersAndSizesAreExactAtTheExtremes() throws {
            let values: [BValue] = [.int(0), .int(-1), .int(9), .int(10), .int(-10), .int(Int64.max), .int(Int64.min),
                                    .bytes([]), .bytes(Array(repeating: 7, count: 10)), .bytes(Array(repeating: 1, count: 1000)),
                                    .list([.int(Int64.min), .bytes([1]), .list([])]),
                                    .dict([Array("b".utf8): .int(-42), Array("a".utf8): .dict([Array("zz".utf8): .bytes([0, 1])])])]
            for value in values {
                let encoded = Bencode.encode(value)
                #expect(Bencode.encodedSize(value) == encoded.count, "\(value)")
                #expect(try Bencode.decode(encoded) == value)
            }
            #expect(Bencode.encode(.int(Int64.min)) == Array("i-9223372036854775808e".utf8))
            #expect(Bencode.encode(.int(-7)) == Array("i-7e".utf8))
            #expect(Bencode.encode(.dict([Array("b".utf8): .int(1), Array("a".utf8): .int(2)])) == Array("d1:ai2e1:bi1ee".utf8))
        }

        @Test func integersAreWrittenAsSwiftPrintsThem() {
            var numbers: [Int64] = [0, 1, -1, 9, -9, Int64.max, Int64.min, Int64.max - 1, Int64.min + 1]
            var power: Int64 = 1
            for _ in 0..<18 {
                power *= 10
                numbers += [power - 1, power, power + 1, -power, -(power - 1)]
            }
            var generator = SplitMix64(seed: 3)
            numbers += (0..<2_000).map { _ in Int64(bitPattern: generator.next()) >> (generator.next() % 64) }
            for number in numbers {
                var out: [UInt8] = [7]
                Bencode.appendDecimal(number, to: &out)
                #expect(out == [7] + Array(String(number).utf8), "\(number)")
                #expect(Bencode.decimalLength(number) == String(number).count, "\(number)")
            }
        }

        @Test func limitsNestingDepth() throws {
            let ok = String(repeating: "l", count: 32) + String(repeating: "e", count: 32)
            #expect(throws: Never.self) { try Bencode.decode(Array(ok.utf8)) }
            let deep = String(repeating: "l", count: 33) + String(repeating: "e", count: 33)
            #expect(throws: BencodeError.nestingTooDeep) { try Bencode.decode(Array(deep.utf8)) }
            let veryDeep = String(repeating: "d1:a", count: 100_000)
            #expect(throws: BencodeError.nestingTooDeep) { try Bencode.decode(Array(veryDeep.utf8)) }
        }

        @Test func randomBytesNeverCrash() {
            var generator = SplitMix64(seed: 7)
            let alphabet = Array("ilde0123456789:-ab".utf8)
            for _ in 0..<20_000 {
                let length = Int.random(in: 0...40, using: &generator)
                let bytes = (0..<length).map { _ in alphabet.randomElement(using: &generator)! }
                if let value = try? Bencode.decode(bytes) {
                    // Whatever strict decoding accepts re-encodes to the same bytes.
                    #expect(Bencode.encode(value) == bytes)
                }
            }
        }
    }
}
