import CSodium

/// Where a feed reader stands with one replica (docs/PROTOCOL.md 3.2): the replica's epoch
/// (drawn when its node starts, so a cursor never outlives the store it was read from) and the
/// last change version the reader has seen. Opaque on the wire: 16 bytes, both big-endian.
public struct RecordFeedCursor: Hashable, Sendable {
    public static let byteCount = 16
    public var epoch: UInt64
    public var version: UInt64

    public init(epoch: UInt64, version: UInt64) {
        self.epoch = epoch
        self.version = version
    }

    /// The cursor `bytes` carry, nil unless they are exactly 16 bytes.
    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount else { return nil }
        epoch = bytes[0..<8].bigEndianInteger()
        version = bytes[8..<16].bigEndianInteger()
    }

    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(Self.byteCount)
        out.appendBigEndian(epoch)
        out.appendBigEndian(version)
        return out
    }
}

/// A record's content without its liveness: BLAKE2b-128 of its bencoded `v`. Two records of
/// one owner with the same hash say the same thing, so the newer is a refresh (a later `exp`)
/// and not a change a feed reader must be sent (docs/PROTOCOL.md 3.2).
public struct RecordValueHash: Hashable, Sendable {
    public static let byteCount = 16
    var high: UInt64
    var low: UInt64

    public init(encodedValue: [UInt8]) {
        Sodium.ensureInitialized()
        var output = [UInt8](repeating: 0, count: Self.byteCount)
        _ = crypto_generichash(&output, Self.byteCount, encodedValue, UInt64(encodedValue.count), nil, 0)
        high = output[0..<8].bigEndianInteger()
        low = output[8..<16].bigEndianInteger()
    }

    func append(to bytes: inout [UInt8]) {
        bytes.appendBigEndian(high)
        bytes.appendBigEndian(low)
    }
}

/// What one replica holds under a target, in 16 bytes (`dg`, docs/PROTOCOL.md 3.2): BLAKE2b-128
/// over each live owner's key and value hash, in ascending owner order. Equal digests mean
/// the same owners saying the same things; expiry and `seq` are left out, so replicas that
/// took an owner's heartbeats at different moments still agree. A hash of the whole sorted
/// list, not a sum of per-owner hashes: a sum (or XOR) can be steered to any value by an
/// adversary that adds records of its own (a generalised birthday search), which would let a
/// replica hide an owner behind a matching digest.
public enum RecordSetDigest {
    public static let byteCount = 16

    /// The digest of `members`, which must be in ascending owner order.
    public static func digest(of members: some Sequence<(owner: PublicKey, value: RecordValueHash)>) -> [UInt8] {
        Sodium.ensureInitialized()
        var input = [UInt8]()
        for member in members {
            input += member.owner.bytes
            member.value.append(to: &input)
        }
        var output = [UInt8](repeating: 0, count: byteCount)
        _ = crypto_generichash(&output, byteCount, input, UInt64(input.count), nil, 0)
        return output
    }
}

/// One item of a feed page: an owner whose record changed (or appeared), with the record as
/// stored and its wire dictionary, or an owner the replica no longer holds (`record` nil).
struct RecordChange: Sendable {
    var owner: PublicKey
    var current: (record: KeyedRecord, wire: [UInt8])?
}
