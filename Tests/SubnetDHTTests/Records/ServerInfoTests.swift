import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension RecordsTests {
    @Suite struct ServerInfoTests {
        private static let v4 = Endpoint(address: .v4(0x0a00_0001), port: 6881)
        private static let v6 = Endpoint(address: .v6(high: 0x2001_0db8 << 32, low: 0x1234), port: 51_413)

        private static func minimal() -> ServerInfo {
            ServerInfo(state: .online, role: "validator", throughput: 12_500, address: v4)
        }

        private static func full() throws -> ServerInfo {
            var pings = [String: Int64]()
            for n in 0..<8 { pings[ServerInfo.pingKey(for: try RecordsTests.signer(UInt8(n + 10)).publicKey)] = Int64(n) * 1_250 + 380 }
            return ServerInfo(
                state: .joining, role: "coordinator", throughput: 0, address: v6, name: "eu-west-validator-17",
                version: "subnet-dht/1.4.2", relay: false, pings: pings)
        }

        /// Decodes, and checks that re-encoding reproduces the exact bytes.
        private static func roundTrip(_ info: ServerInfo) throws -> ServerInfo {
            let bytes = Bencode.encode(info.bencoded)
            let decoded = try ServerInfo(bencoded: try Bencode.decode(bytes))
            #expect(Bencode.encode(decoded.bencoded) == bytes)
            return decoded
        }

        @Test func roundTripWithRequiredFieldsOnly() throws {
            let info = Self.minimal()
            #expect(try Self.roundTrip(info) == info)
            #expect(Bencode.encode(info.bencoded) == Array("d4:addr6:".utf8) + [10, 0, 0, 1, 0x1a, 0xe1] + Array("4:role9:validator5:statei2e4:tputi12500ee".utf8))
        }

        @Test func theSubnetsOwnFieldsTravelAsOneCanonicalJSONObject() throws {
            var info = Self.minimal()
            info.info = ["stake": .integer(5), "score": .number(0.75), "zone": .string("eu/west"), "tags": .array([.string("gpu"), .bool(true)]),
                         "limits": .object(["rps": .integer(40), "burst": .null])]
            let decoded = try Self.roundTrip(info)
            #expect(decoded == info)
            // Keys sorted, no spaces, integers without a fraction, slashes as they are.
            guard case .dict(let entries) = info.bencoded, case .bytes(let text)? = entries[Array("info".utf8)] else {
                Issue.record("no info entry"); return
            }
            #expect(String(decoding: text, as: UTF8.self)
                == #"{"limits":{"burst":null,"rps":40},"score":0.75,"stake":5,"tags":["gpu",true],"zone":"eu/west"}"#)
            // No fields, no entry.
            #expect(Bencode.encode(Self.minimal().bencoded) == Bencode.encode(ServerInfo(state: .online, role: "validator", throughput: 12_500,
                                                                                        address: Self.v4, info: [:]).bencoded))
        }

        @Test func aThroughputNeverReportedTravelsAsTnoneBesideAZeroTput() throws {
            var info = Self.minimal()
            info.throughput = 0
            info.throughputReported = false
            #expect(Bencode.encode(info.bencoded) == Array("d4:addr6:".utf8) + [10, 0, 0, 1, 0x1a, 0xe1]
                + Array("4:role9:validator5:statei2e5:tnonei1e4:tputi0ee".utf8))
            #expect(try Self.roundTrip(info) == info)
            // Reported (older nodes send no tnone): no entry, and 0 reads as a reported zero.
            info.throughputReported = true
            #expect(try Self.roundTrip(info).throughputReported)
            guard case .dict(var entries) = info.bencoded else { return }
            entries[Array("tnone".utf8)] = .int(0)
            #expect(try ServerInfo(bencoded: .dict(entries)).throughputReported)
            entries[Array("tnone".utf8)] = .int(2)
            #expect(throws: ServerInfoError.invalidValue("tnone")) { try ServerInfo(bencoded: .dict(entries)) }
            // What readers print.
            var unreported = Self.minimal()
            unreported.throughputReported = false
            #expect(RecordRow.throughputText(of: unreported) == "-" && RecordRow.throughputText(of: Self.minimal()) == "12.500/s")
        }

        @Test func theLargestValueSizeCountsTheWidestAddressThroughputAndVersion() throws {
            let info = Self.minimal()
            let widest = ServerInfo(state: .online, role: "validator", throughput: .max,
                                    address: Endpoint(address: .v6(high: .max, low: .max), port: .max),
                                    version: String(repeating: "x", count: ServerInfo.maxVersionLength))
            #expect(info.largestValueSize == Bencode.encode(widest.bencoded).count)
            #expect(info.largestValueSize > Bencode.encode(info.bencoded).count)
        }

        @Test func infoThatIsNotAJSONObjectIsRefused() throws {
            for text in ["not json", "[1,2]", "5", "{\"open\":", ""] {
                guard case .dict(var entries) = Self.minimal().bencoded else { return }
                entries[Array("info".utf8)] = .string(text)
                #expect(throws: ServerInfoError.invalidValue("info"), "\(text)") { try ServerInfo(bencoded: .dict(entries)) }
            }
            guard case .dict(var entries) = Self.minimal().bencoded else { return }
            entries[Array("info".utf8)] = .int(5)
            #expect(throws: ServerInfoError.wrongType("info")) { try ServerInfo(bencoded: .dict(entries)) }
            // An empty object is no fields.
            entries[Array("info".utf8)] = .string("{}")
            #expect(try ServerInfo(bencoded: .dict(entries)).info.isEmpty)
        }

        @Test func roundTripWithEveryOptionalField() throws {
            let info = try Self.full()
            #expect(try Self.roundTrip(info) == info)
            var relayed = Self.minimal()
            relayed.relay = true
            relayed.name = ""
            #expect(try Self.roundTrip(relayed) == relayed)
            for state in ServerInfo.State.allCases {
                var changed = info
                changed.state = state
                #expect(try Self.roundTrip(changed).state == state)
            }
        }

        @Test func unknownFieldsAreKeptAndReencodedAsIs() throws {
            guard case .dict(var entries) = Self.minimal().bencoded else { Issue.record("not a dictionary"); return }
            entries[Array("caps".utf8)] = .list([.string("gpu"), .int(4)])
            entries[Array("zone".utf8)] = .dict([Array("az".utf8): .bytes([0xff, 0x00])])
            let original = BValue.dict(entries)

            let info = try ServerInfo(bencoded: original)
            #expect(info.unknownFields.count == 2)
            #expect(info.unknownFields[Array("caps".utf8)] == .list([.string("gpu"), .int(4)]))
            #expect(info.bencoded == original)
            #expect(try Self.roundTrip(info) == info)
        }

        @Test func knownNamesInUnknownFieldsDoNotOverrideFields() {
            var info = Self.minimal()
            info.unknownFields = [Array("state".utf8): .int(7), Array("name".utf8): .string("ghost"), Array("x".utf8): .int(1)]
            let encoded = info.bencoded
            #expect(encoded["state"] == .int(2))
            #expect(encoded["name"] == nil)
            #expect(encoded["x"] == .int(1))
        }

        @Test func emptyPingsAreAbsent() throws {
            #expect(Self.minimal().bencoded["pings"] == nil)
            guard case .dict(var entries) = Self.minimal().bencoded else { Issue.record("not a dictionary"); return }
            entries[Array("pings".utf8)] = .dict([:])
            let info = try ServerInfo(bencoded: .dict(entries))
            #expect(info.pings.isEmpty)
            #expect(info == Self.minimal())
        }

        @Test func pingKeysAreTheFirstEightKeyBytesInHex() throws {
            let owner = try RecordsTests.owner([0xde, 0xad, 0xbe, 0xef, 0x01, 0x23, 0x45, 0x67] + [UInt8](repeating: 0xaa, count: 24))
            #expect(ServerInfo.pingKey(for: owner) == "deadbeef01234567")
            guard case .dict(var entries) = Self.minimal().bencoded else { Issue.record("not a dictionary"); return }
            entries[Array("pings".utf8)] = .dict([Array("DEADBEEF01234567".utf8): .int(0), Array("deadbeef01234567".utf8): .int(900)])
            let info = try ServerInfo(bencoded: .dict(entries))
            #expect(info.pings == ["DEADBEEF01234567": 0, "deadbeef01234567": 900])
        }

        @Test func rolesAreNotCheckedHere() throws {
            var info = Self.minimal()
            info.role = "astronaut"
            #expect(try Self.roundTrip(info).role == "astronaut")
            #expect(ServerInfo.defaultRoles == ["validator", "miner", "worker", "standby", "coordinator", "bootstrap"])
            #expect(ServerInfo.State.allCases.map(\.rawValue) == [0, 1, 2])
        }

        @Test func limitsAreInclusive() throws {
            var info = Self.minimal()
            info.role = String(repeating: "r", count: 32)
            info.name = String(repeating: "é", count: 32)  // 64 bytes of UTF-8
            info.version = String(repeating: "v", count: 32)
            info.throughput = .max
            #expect(try Self.roundTrip(info) == info)
        }

        @Test func everyRuleViolationIsATypedError() throws {
            guard case .dict(let valid) = try Self.full().bencoded else { Issue.record("not a dictionary"); return }

            func with(_ field: String, _ value: BValue?) -> BValue {
                var entries = valid
                entries[Array(field.utf8)] = value
                return .dict(entries)
            }
            func pings(_ key: String, _ value: BValue) -> BValue { with("pings", .dict([Array(key.utf8): value])) }

            let cases: [(BValue, ServerInfoError)] = [
                (.list([]), .notADictionary),
                (.string("state"), .notADictionary),
                (with("state", nil), .missingField("state")),
                (with("role", nil), .missingField("role")),
                (with("tput", nil), .missingField("tput")),
                (with("addr", nil), .missingField("addr")),
                (with("state", .string("2")), .wrongType("state")),
                (with("state", .int(3)), .invalidValue("state")),
                (with("state", .int(-1)), .invalidValue("state")),
                (with("role", .int(1)), .wrongType("role")),
                (with("role", .string(String(repeating: "r", count: 33))), .invalidValue("role")),
                (with("role", .bytes([0xff, 0xfe])), .invalidValue("role")),
                (with("tput", .string("1")), .wrongType("tput")),
                (with("tput", .int(-1)), .invalidValue("tput")),
                (with("addr", .int(0)), .wrongType("addr")),
                (with("addr", .bytes([1, 2, 3, 4, 5])), .invalidValue("addr")),
                (with("addr", .bytes([1, 2, 3, 4, 5, 6, 7])), .invalidValue("addr")),
                (with("addr", .bytes([UInt8](repeating: 1, count: 19))), .invalidValue("addr")),
                (with("name", .list([])), .wrongType("name")),
                (with("name", .string(String(repeating: "n", count: 65))), .invalidValue("name")),
                (with("name", .bytes([0xc3])), .invalidValue("name")),
                (with("ver", .int(1)), .wrongType("ver")),
                (with("ver", .string(String(repeating: "v", count: 33))), .invalidValue("ver")),
                (with("relay", .string("1")), .wrongType("relay")),
                (with("relay", .int(2)), .invalidValue("relay")),
                (with("relay", .int(-1)), .invalidValue("relay")),
                (with("pings", .list([])), .wrongType("pings")),
                (pings("0123456789abcde", .int(1)), .invalidValue("pings")),
                (pings("0123456789abcdef0", .int(1)), .invalidValue("pings")),
                (pings("0123456789abcdeg", .int(1)), .invalidValue("pings")),
                (pings("0123456789abcdef", .string("1")), .wrongType("pings")),
                (pings("0123456789abcdef", .int(-1)), .invalidValue("pings")),
            ]
            for (value, expected) in cases {
                #expect(throws: expected) { try ServerInfo(bencoded: value) }
            }
            #expect(ServerInfoError.missingField("addr").message == "server info field addr missing")
        }

        @Test func realisticHeartbeatIsWellUnderTheValueLimit() throws {
            let info = try Self.full()
            #expect(info.pings.count == 8)
            let size = Bencode.encode(info.bencoded).count
            #expect(size == 339)  // counted by hand: 27 addr, 29 name, 208 pings, 10 relay, 20 role, 10 state, 9 tput, 24 ver, 2 d...e
            #expect(size < KeyedRecord.maxValueLength / 2)

            // Every field at its limit, IPv6, 8 pings of the largest RTT: still fits.
            var largest = info
            largest.role = String(repeating: "r", count: ServerInfo.maxRoleLength)
            largest.name = String(repeating: "n", count: ServerInfo.maxNameLength)
            largest.version = String(repeating: "v", count: ServerInfo.maxVersionLength)
            largest.throughput = .max
            largest.pings = largest.pings.mapValues { _ in .max }
            #expect(Bencode.encode(largest.bencoded).count < KeyedRecord.maxValueLength)
        }
    }
}
