import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension CryptoTests {
    @Suite struct Ed25519Tests {
        /// RFC 8032 section 7.1, TEST 1: fixes the seed -> key derivation and deterministic signing.
        /// Keys order by their bytes and hash by them: the store's paging and dictionaries rely on both.
        @Test func keysOrderAndHashByTheirBytes() throws {
            var random = SplitMix64(seed: 7)
            var keys: [PublicKey] = []
            for index in 0..<200 {
                var bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
                // Long common prefixes, where a comparison must look past the first bytes.
                if index % 2 == 1, let previous = keys.last { bytes.replaceSubrange(0..<31, with: previous.bytes[0..<31]) }
                keys.append(try #require(PublicKey(bytes: bytes)))
            }
            for (left, right) in zip(keys, keys.dropFirst()) {
                #expect((left < right) == left.bytes.lexicographicallyPrecedes(right.bytes))
                #expect(!(left < left))
            }
            let copy = try #require(PublicKey(bytes: keys[0].bytes))
            #expect(Set(keys + [copy]).count == Set(keys.map(\.bytes)).count)
            #expect(copy.hashValue == keys[0].hashValue)
        }

        @Test func matchesRFC8032Vector() throws {
            let seed = try #require(HexEncoding.decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
            let key = try SigningKey(seed: seed)
            #expect(key.seed == seed)
            #expect(key.publicKey.hex == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
            let signature = key.sign([])
            #expect(HexEncoding.encode(signature)
                == "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
            #expect(key.publicKey.verify(signature: signature, message: []))
        }

        @Test func signVerifyRoundTripAndTamperDetection() throws {
            let key = try SigningKey(seed: Array(0..<32))
            let message = Array("3:seqi7e1:v4:ping".utf8)
            let signature = key.sign(message)
            #expect(signature.count == 64)
            #expect(key.publicKey.verify(signature: signature, message: message))
            #expect(key.publicKey.verify(signature: signature[...], message: message), "any collection type")

            var badSignature = signature
            badSignature[10] ^= 0x01
            #expect(!key.publicKey.verify(signature: badSignature, message: message))
            var badMessage = message
            badMessage[0] ^= 0x80
            #expect(!key.publicKey.verify(signature: signature, message: badMessage))
            #expect(!SigningKey.generate().publicKey.verify(signature: signature, message: message))
        }

        @Test func wrongLengthSignaturesAreRejectedNotFatal() throws {
            let key = SigningKey.generate()
            let signature = key.sign([1, 2, 3])
            #expect(!key.publicKey.verify(signature: [], message: [1, 2, 3]))
            #expect(!key.publicKey.verify(signature: signature.dropLast(), message: [1, 2, 3]))
            #expect(!key.publicKey.verify(signature: signature + [0], message: [1, 2, 3]))
        }

        @Test func seedLengthIsChecked() {
            #expect(throws: CryptoError.invalidSeedLength) { try SigningKey(seed: Array(repeating: 1, count: 31)) }
            #expect(throws: CryptoError.invalidSeedLength) { try SigningKey(seed: Array(repeating: 1, count: 64)) }
            #expect(throws: CryptoError.invalidSeedLength) { try SigningKey(seed: []) }
        }

        @Test func seedDeterminesKeyAndGenerateIsRandom() throws {
            let first = SigningKey.generate()
            let again = try SigningKey(seed: first.seed)
            #expect(again.publicKey == first.publicKey)
            #expect(SigningKey.generate().publicKey != first.publicKey)
        }

        @Test func descriptionNeverShowsTheSeed() {
            let key = SigningKey.generate()
            #expect(!String(describing: key).contains(HexEncoding.encode(key.seed)))
            #expect(String(describing: key).contains(key.publicKey.hex))
        }

        @Test func publicKeyParsingAndOrdering() throws {
            #expect(PublicKey(bytes: [UInt8](repeating: 0, count: 31)) == nil)
            #expect(PublicKey(bytes: [UInt8](repeating: 0, count: 33)) == nil)
            #expect(PublicKey(hex: "zz") == nil)
            let low = try #require(PublicKey(bytes: [0x01] + [UInt8](repeating: 0xff, count: 31)))
            let high = try #require(PublicKey(bytes: [0x02] + [UInt8](repeating: 0x00, count: 31)))
            #expect(low < high)
            #expect(!(high < low))
            #expect([high, low].sorted() == [low, high])
            let hex = "77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548"
            let parsed = try #require(PublicKey(hex: hex))
            #expect(parsed.hex == hex)
            #expect(PublicKey(bytes: parsed.bytes[...]) == parsed)
        }
    }
}
