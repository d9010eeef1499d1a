import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension CryptoTests {
    @Suite struct SecureNodeIDTests {
        /// BEP 42's table (docs/PROTOCOL.md 2.1): only the first 21 bits and the last byte are
        /// determined.
        static let vectors: [(ip: String, r: UInt8, id: String)] = [
            ("124.31.75.21", 1, "5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401"),
            ("21.75.31.124", 86, "5a3ce9c14e7a08645677bbd1cfe7d8f956d53256"),
            ("65.23.51.170", 22, "a5d43220bc8f112a3d426c84764f8c2a1150e616"),
            ("84.124.73.14", 65, "1b0321dd1bb1fe518101ceef99462b947a01ff41"),
            ("43.213.53.83", 90, "e56f6cbf5b7c4be0237986d5243b87aa6d51305a"),
        ]

        @Test(arguments: vectors.indices)
        func generatesBEP42Prefixes(index: Int) throws {
            let vector = Self.vectors[index]
            let ip = try #require(IPAddress(vector.ip))
            let expected = try #require(NodeID(hex: vector.id))
            var generator = SystemRandomNumberGenerator()
            let id = SecureNodeID.make(for: ip, r: vector.r, random: &generator)
            #expect(id.distance(to: expected).leadingZeroBitCount >= 21, "first 21 bits for \(vector.ip)")
            #expect(id.bytes[19] == expected.bytes[19])
            #expect(id.bytes[19] == vector.r)
        }

        @Test(arguments: vectors.indices)
        func acceptsPublishedIDsAndRejectsPrefixChanges(index: Int) throws {
            let vector = Self.vectors[index]
            let ip = try #require(IPAddress(vector.ip))
            let id = try #require(NodeID(hex: vector.id))
            #expect(SecureNodeID.isValid(id, for: ip))
            for bit in 0..<21 {
                #expect(!SecureNodeID.isValid(id.flippingBit(bit), for: ip), "bit \(bit)")
            }
            // Bits 21..<152 are free.
            #expect(SecureNodeID.isValid(id.flippingBit(21), for: ip))
            #expect(SecureNodeID.isValid(id.flippingBit(151), for: ip))
        }

        @Test func rejectsArbitraryIDForPublicAddress() throws {
            let ip = try #require(IPAddress("124.31.75.21"))
            let arbitrary = try #require(NodeID(hex: "0123456789abcdef0123456789abcdef01234567"))
            #expect(!SecureNodeID.isValid(arbitrary, for: ip))
            // The id valid for one address is not valid for another.
            let other = try #require(IPAddress("8.8.8.8"))
            let id = try #require(NodeID(hex: Self.vectors[0].id))
            #expect(!SecureNodeID.isValid(id, for: other))
        }

        @Test func localAddressesAreExempt() throws {
            let arbitrary = try #require(NodeID(hex: "0123456789abcdef0123456789abcdef01234567"))
            for local in ["127.0.0.1", "10.0.0.7", "192.168.1.20", "172.20.0.1", "169.254.3.4", "::1", "fe80::1", "fd12::3"] {
                #expect(SecureNodeID.isValid(arbitrary, for: try #require(IPAddress(local))), "\(local)")
            }
        }

        @Test func generatedIDsValidateForBothFamilies() throws {
            for text in ["8.8.8.8", "203.0.113.9", "2001:db8::1", "2a00:1450:4001:81c::200e"] {
                let ip = try #require(IPAddress(text))
                let first = SecureNodeID.make(for: ip)
                let second = SecureNodeID.make(for: ip)
                #expect(SecureNodeID.isValid(first, for: ip), "\(text)")
                #expect(SecureNodeID.isValid(second, for: ip), "\(text)")
                #expect(first != second, "free bits are random")
                #expect(!SecureNodeID.isValid(first.flippingBit(0), for: ip), "\(text)")
            }
        }

        /// Only the high 64 bits of an IPv6 address enter the CRC, so an id stays valid when the
        /// interface identifier changes.
        @Test func ipv6UsesOnlyTheHigh64Bits() throws {
            let ip = try #require(IPAddress("2001:db8:1:2::1"))
            let sibling = try #require(IPAddress("2001:db8:1:2:ffff::9"))
            let id = SecureNodeID.make(for: ip)
            #expect(SecureNodeID.isValid(id, for: sibling))
        }
    }
}
