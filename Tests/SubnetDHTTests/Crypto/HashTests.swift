import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension CryptoTests {
    @Suite struct SHA1Tests {
        @Test func matchesKnownDigests() {
            #expect(HexEncoding.encode(SHA1Hash.digest([UInt8]())) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
            #expect(HexEncoding.encode(SHA1Hash.digest(Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
            #expect(SHA1Hash.id(Array("abc".utf8)).hex == "a9993e364706816aba3e25717850c26c9cd0d89d")
        }

        @Test func hashesNonContiguousSequences() {
            let lazy = "abc".utf8.lazy.map { $0 }
            #expect(HexEncoding.encode(SHA1Hash.digest(lazy)) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        }

        /// SHA1(public key) with an empty salt is BEP 44 test 1's target, which pins the default id.
        @Test func defaultIDIsSHA1OfPublicKey() throws {
            let key = try #require(PublicKey(hex: "77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548"))
            #expect(NodeID.defaultID(for: key).hex == "4a533d47ec9c7d95b1ad75f576cffc641853b750")
        }
    }

    @Suite struct CRC32CTests {
        @Test func matchesStandardCheckValue() {
            #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
            #expect(CRC32C.checksum([UInt8]()) == 0)
        }

        /// RFC 3720 (iSCSI) appendix B.4 vectors.
        @Test func matchesISCSIVectors() {
            #expect(CRC32C.checksum([UInt8](repeating: 0x00, count: 32)) == 0x8A91_36AA)
            #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
            #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        }
    }
}
