import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension CryptoTests {
    @Suite struct BEP44Tests {
        static let publicKeyHex = "77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548"
        static let value = Array("12:Hello World!".utf8)

        @Test func vector1MutableWithoutSalt() throws {
            let buffer = BEP44.signedBuffer(salt: [], seq: 1, encodedValue: Self.value)
            #expect(buffer == Array("3:seqi1e1:v12:Hello World!".utf8))
            let key = try #require(PublicKey(hex: Self.publicKeyHex))
            #expect(BEP44.mutableTarget(publicKey: key.bytes, salt: []).hex == "4a533d47ec9c7d95b1ad75f576cffc641853b750")
            let signature = try #require(HexEncoding.decode(
                "305ac8aeb6c9c151fa120f120ea2cfb923564e11552d06a5d856091e5e853cff1260d3f39e4999684aa92eb73ffd136e6f4f3ecbfda0ce53a1608ecd7ae21f01"))
            #expect(key.verify(signature: signature, message: buffer))
            var flipped = signature
            flipped[63] ^= 0x01
            #expect(!key.verify(signature: flipped, message: buffer))
        }

        @Test func vector2MutableWithSalt() throws {
            let salt = Array("foobar".utf8)
            let buffer = BEP44.signedBuffer(salt: salt, seq: 1, encodedValue: Self.value)
            #expect(buffer == Array("4:salt6:foobar3:seqi1e1:v12:Hello World!".utf8))
            let key = try #require(PublicKey(hex: Self.publicKeyHex))
            #expect(BEP44.mutableTarget(publicKey: key.bytes, salt: salt).hex == "411eba73b6f087ca51a3795d9c8c938d365e32c1")
            let signature = try #require(HexEncoding.decode(
                "6834284b6b24c3204eb2fea824d82f88883a3d95e8b4a21b8c0ded553d17d17ddf9a8a7104b1258f30bed3787e6cb896fca78c58f8e03b5f18f14951a87d9a08"))
            #expect(key.verify(signature: signature, message: buffer))
            // The same signature must not verify for the unsalted buffer: salt is covered.
            #expect(!key.verify(signature: signature, message: BEP44.signedBuffer(salt: [], seq: 1, encodedValue: Self.value)))
        }

        @Test func vector3Immutable() {
            #expect(BEP44.immutableTarget(encodedValue: Self.value).hex == "e5f96f6f38320f0f33959cb4d3d656452117aadb")
        }

        @Test func bufferEncodesLargeAndNegativeSequenceNumbers() {
            #expect(BEP44.signedBuffer(salt: [], seq: Int64.max, encodedValue: Array("i0e".utf8))
                == Array("3:seqi9223372036854775807e1:vi0e".utf8))
            #expect(BEP44.signedBuffer(salt: [0x00], seq: 0, encodedValue: Array("le".utf8))
                == Array("4:salt1:".utf8) + [0x00] + Array("3:seqi0e1:vle".utf8))
        }

        @Test func ownSignatureRoundTrip() throws {
            let key = try SigningKey(seed: [UInt8](repeating: 7, count: 32))
            let buffer = BEP44.signedBuffer(salt: Array("s".utf8), seq: 42, encodedValue: Self.value)
            let signature = key.sign(buffer)
            #expect(key.publicKey.verify(signature: signature, message: buffer))
            var tampered = buffer
            tampered[tampered.count - 1] ^= 0x01
            #expect(!key.publicKey.verify(signature: signature, message: tampered))
            let newerSeq = BEP44.signedBuffer(salt: Array("s".utf8), seq: 43, encodedValue: Self.value)
            #expect(!key.publicKey.verify(signature: signature, message: newerSeq))
        }
    }
}
