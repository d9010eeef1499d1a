import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension BasicsTests {
    @Suite struct NodeIDTests {
        @Test func roundTripsBytesAndHex() throws {
            let hex = "4a533d47ec9c7d95b1ad75f576cffc641853b750"
            let id = try #require(NodeID(hex: hex))
            #expect(id.hex == hex)
            #expect(NodeID(bytes: id.bytes) == id)
            #expect(NodeID(bytes: [UInt8](repeating: 0, count: 19)) == nil)
            #expect(NodeID(hex: "zz") == nil)
        }

        @Test func xorDistanceOrdersByCommonPrefix() throws {
            let a = try #require(NodeID(hex: "0000000000000000000000000000000000000001"))
            let b = try #require(NodeID(hex: "8000000000000000000000000000000000000001"))
            #expect(a.distance(to: b).leadingZeroBitCount == 0)
            #expect(a.distance(to: a) == .zero)
            #expect(a.distance(to: a).leadingZeroBitCount == 160)
            let c = try #require(NodeID(hex: "0000000000000000000000000000000000000003"))
            #expect(a.distance(to: c).leadingZeroBitCount == 158)
            #expect(a < b)
        }

        @Test func flipsAndReadsEveryBit() {
            for index in [0, 63, 64, 127, 128, 159] {
                let flipped = NodeID.zero.flippingBit(index)
                #expect(flipped.bit(index))
                #expect(flipped.leadingZeroBitCount == index)
            }
        }

        @Test func randomizedKeepsPrefix() {
            var generator = SystemRandomNumberGenerator()
            let base = NodeID.max
            for prefix in [0, 7, 64, 100, 130, 160] {
                let id = base.randomized(afterPrefix: prefix, using: &generator)
                #expect(id.distance(to: base).leadingZeroBitCount >= prefix)
            }
        }
    }
}

extension BasicsTests {
    @Suite struct EndpointTests {
        @Test func parsesAndEncodesCompactForms() throws {
            let v4 = try #require(Endpoint("127.0.0.1:6881"))
            #expect(v4.compact == [127, 0, 0, 1, 0x1a, 0xe1])
            #expect(Endpoint(compact: v4.compact) == v4)
            #expect(v4.description == "127.0.0.1:6881")
            let v6 = try #require(Endpoint("[::1]:80"))
            #expect(v6.compact.count == 18)
            #expect(Endpoint(compact: v6.compact) == v6)
            #expect(v6.description == "[::1]:80")
            #expect(v6.address.isLoopback)
            #expect(Endpoint("localhost:1")?.address == IPAddress("127.0.0.1"))
            #expect(Endpoint("1.2.3.4") == nil)
            #expect(Endpoint("1.2.3.4:99999") == nil)
            #expect(Endpoint("::1:80") == nil)
        }

        @Test func classifiesLocalRanges() throws {
            for local in ["10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.0.1", "127.0.0.5", "fe80::1", "fd00::1", "::1"] {
                #expect(try #require(IPAddress(local)).isLocal, "\(local)")
            }
            for global in ["8.8.8.8", "172.32.0.1", "2001:db8::1"] {
                #expect(try #require(IPAddress(global)).isLocal == false, "\(global)")
            }
        }
    }
}
