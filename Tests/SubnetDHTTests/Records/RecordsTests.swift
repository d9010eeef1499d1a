import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

/// Namespace for the keyed-record tests, so that `swift test --filter RecordsTests` selects
/// exactly this folder's tests.
@Suite enum RecordsTests {
    /// Virtual clock origin; no test reads the real clock or sleeps.
    static let t0 = Timestamp(seconds: 1_700_000_000)
    static let nodeKey = Array("node".utf8)

    /// A deterministic key pair, distinct per `n`.
    static func signer(_ n: UInt8) throws -> SigningKey {
        try SigningKey(seed: [UInt8](repeating: n, count: SigningKey.seedLength))
    }

    /// An owner key from arbitrary bytes; the store never verifies, so no key pair is needed.
    static func owner(_ bytes: [UInt8]) throws -> PublicKey {
        try #require(PublicKey(bytes: bytes))
    }

    /// An owner whose key bytes sort in the order of `n`.
    static func owner(_ n: Int) throws -> PublicKey {
        var bytes = [UInt8](repeating: 0, count: PublicKey.byteCount)
        bytes[0] = UInt8(truncatingIfNeeded: n >> 8)
        bytes[1] = UInt8(truncatingIfNeeded: n)
        return try owner(bytes)
    }

    /// A record the store accepts as is: the signature is a placeholder because validating
    /// it is the caller's job, not the store's.
    static func record(_ owner: PublicKey, seq: Int64 = 1, expiresIn seconds: Int64, key: [UInt8] = nodeKey) -> KeyedRecord {
        KeyedRecord(
            key: key, owner: owner, seq: seq, expires: t0.seconds + seconds, value: .int(seq),
            signature: [UInt8](repeating: 0, count: KeyedRecord.signatureLength))
    }
}
