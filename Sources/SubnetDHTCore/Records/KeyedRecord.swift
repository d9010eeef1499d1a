/// One owner's signed statement under a shared key (docs/PROTOCOL.md 3): many owners
/// publish under one key such as `node`, each in its own subkey `k`, each record with its
/// own sequence number and absolute expiry. The key names the DHT target, SHA1(`key`), so
/// every record of one key lives on the same nodes and one `get_records` pages through all.
///
/// A value of this type is not validated by construction: `init(wire:key:)` checks the
/// shapes the wire can get wrong, and the caller checks the signature, expiry range, size
/// and policy in the order docs/PROTOCOL.md 3 fixes, so that each failure gets its own
/// error code.
public struct KeyedRecord: Hashable, Sendable {
    /// Longest `key` (docs/PROTOCOL.md 3; a longer or empty one is answered with 207).
    public static let maxKeyLength = 64
    /// Largest bencoded `v` (docs/PROTOCOL.md 3; a larger one is answered with 205).
    public static let maxValueLength = 1_000
    /// Length of `sig`: a detached ed25519 signature.
    public static let signatureLength = SigningKey.signatureLength

    /// The key's name, 1 to 64 bytes, e.g. `node`. Bytes, not text: keys are compared and
    /// hashed exactly as they travel.
    public var key: [UInt8]
    /// `k`: the owner's ed25519 public key, which signs the record and names its subkey.
    public var owner: PublicKey
    /// `seq` >= 0: a newer record from the same owner has a larger one.
    public var seq: Int64
    /// `exp`: absolute expiry in Unix seconds, chosen and signed by the owner, so that every
    /// replica drops the record at the same moment whoever stored it and when.
    public var expires: Int64
    /// `v`: any bencoded value (a `ServerInfo` dictionary under the `node` key).
    public var value: BValue
    /// `sig`: 64-byte ed25519 signature by `owner` over `signedBuffer`.
    public var signature: [UInt8]

    /// A record from its fields as they are; nothing is checked or signed. Use
    /// `signed(key:value:seq:expires:by:)` to make a record to publish.
    public init(key: [UInt8], owner: PublicKey, seq: Int64, expires: Int64, value: BValue, signature: [UInt8]) {
        self.key = key
        self.owner = owner
        self.seq = seq
        self.expires = expires
        self.value = value
        self.signature = signature
    }

    /// docs/PROTOCOL.md 3: `3:expi<exp>e3:key<len>:<key>3:seqi<seq>e1:v<bencoded v>`, the
    /// bencoded entries in key order without the outer `d`...`e`. It starts with `3:exp`,
    /// while a BEP 44 buffer starts with `4:salt` or `3:seq`, so a signature over one kind of
    /// item can never be replayed as the other.
    public static func signedBuffer(key: [UInt8], seq: Int64, expires: Int64, encodedValue: [UInt8]) -> [UInt8] {
        // Written entry by entry: string interpolation cost a String and an array per store.
        var writer = KRPCWriter(capacity: key.count + encodedValue.count + 64)
        writer.key("exp")
        writer.integer(expires)
        writer.key("key")
        writer.bytes(key)
        writer.key("seq")
        writer.integer(seq)
        writer.key("v")
        writer.encoded(encodedValue)
        return writer.out
    }

    /// Builds and signs a record: the publisher's side of `announce_record`.
    public static func signed(key: [UInt8], value: BValue, seq: Int64, expires: Int64, by signer: SigningKey) -> KeyedRecord {
        let buffer = signedBuffer(key: key, seq: seq, expires: expires, encodedValue: Bencode.encode(value))
        return KeyedRecord(key: key, owner: signer.publicKey, seq: seq, expires: expires, value: value, signature: signer.sign(buffer))
    }

    /// The bencoded `v`: what the signature covers and what the 1,000-byte limit measures.
    /// Strict decoding makes this the exact bytes that arrived on the wire.
    public var encodedValue: [UInt8] { Bencode.encode(value) }

    /// The bytes `signature` must cover.
    public var signedBuffer: [UInt8] {
        Self.signedBuffer(key: key, seq: seq, expires: expires, encodedValue: encodedValue)
    }

    /// True only if `signature` is `owner`'s ed25519 signature over `signedBuffer`; a
    /// signature of the wrong length is simply false.
    public func hasValidSignature() -> Bool {
        hasValidSignature(encodedValue: encodedValue)
    }

    /// `hasValidSignature()` for a caller holding `encodedValue` (the record's `v` bencoded)
    /// already, and perhaps a verdict on the signature reached ahead (`SignatureVerdict`).
    func hasValidSignature(encodedValue: [UInt8], known: SignatureVerdict? = nil) -> Bool {
        owner.verify(signature: signature, message: Self.signedBuffer(key: key, seq: seq, expires: expires, encodedValue: encodedValue),
                     known: known)
    }

    /// The DHT target the record is stored under: SHA1(`key`).
    public var target: NodeID { Self.target(forKey: key) }

    /// SHA1(`key`): where every record of `key` lives, whoever owns it, when the key is not sharded.
    public static func target(forKey key: [UInt8]) -> NodeID { SHA1Hash.id(key) }

    /// The deepest sharding of a key: 256 storage targets.
    public static let maxShardDepth = 8

    /// docs/PROTOCOL.md 3.3: where `owner`'s record under `key` is stored when the key is
    /// sharded `depth` bits deep: the shard named by the top `depth` bits of the owner key.
    public static func target(forKey key: [UInt8], owner: PublicKey, shardDepth depth: Int) -> NodeID {
        guard depth > 0 else { return target(forKey: key) }
        return shardTarget(forKey: key, depth: depth, shard: Int(owner.bytes[0] >> (8 - depth)))
    }

    /// Every storage target of `key` sharded `depth` bits deep: SHA1(`key`) alone at depth 0.
    public static func storageTargets(forKey key: [UInt8], shardDepth depth: Int) -> [NodeID] {
        guard depth > 0 else { return [target(forKey: key)] }
        return (0..<(1 << depth)).map { shardTarget(forKey: key, depth: depth, shard: $0) }
    }

    /// SHA1 of the key, a zero byte, the depth, the shard and 64 zero bytes: longer than any
    /// key, so no key's own target is ever a shard of another.
    private static func shardTarget(forKey key: [UInt8], depth: Int, shard: Int) -> NodeID {
        SHA1Hash.id(key + [0, UInt8(depth), UInt8(shard)] + [UInt8](repeating: 0, count: 64))
    }

    /// True once `exp` has come: a record expiring at second `s` is gone from the start of
    /// that second (`exp <= now.seconds`), on every node alike.
    public func isExpired(at now: Timestamp) -> Bool { expires <= now.seconds }

    /// Wire form inside `get_records` `records` lists: the dictionary `{k, seq, exp, v, sig}`.
    /// `key` is left out because the target the reader asked for implies it.
    public var wireDictionary: BValue {
        .dict([
            WireField.owner: .bytes(owner.bytes),
            WireField.seq: .int(seq),
            WireField.expires: .int(expires),
            WireField.value: value,
            WireField.signature: .bytes(signature),
        ])
    }

    /// `Bencode.encode(wireDictionary)`, written without building the dictionary.
    public var encodedWireDictionary: [UInt8] { encodedWireDictionary(encodedValue: encodedValue) }

    /// The same bytes, from `encodedValue` (the record's `v` bencoded) rather than encoding `v` again.
    func encodedWireDictionary(encodedValue: [UInt8]) -> [UInt8] {
        var writer = KRPCWriter(capacity: 96 + signature.count + encodedValue.count)
        // The wire dictionary, keys in byte order: the store keeps this form of every record
        // it holds and writes one per store. `encodedValue` is copied as it is.
        writer.dictionary { entries in
            entries.key("exp")
            entries.integer(expires)
            entries.key("k")
            entries.bytes(owner.bytes)
            entries.key("seq")
            entries.integer(seq)
            entries.key("sig")
            entries.bytes(signature)
            entries.key("v")
            entries.encoded(encodedValue)
        }
        return writer.out
    }

    /// Parses a record dictionary (`{k, seq, exp, v, sig}`; other entries, such as the `id`
    /// and `token` of `announce_record` arguments, are ignored) under `key`.
    ///
    /// Checks only shapes: every field present with its type, `k` 32 bytes, `sig` 64 bytes,
    /// `seq` >= 0, and `key` 1...64 bytes (`.invalidValue("key")`, which docs/PROTOCOL.md 3
    /// answers with 207 rather than 203). It does NOT verify the signature, the size of `v` or
    /// the expiry range: the caller decides when and whether to, and which code each failure
    /// gets.
    public init(wire: BValue, key: [UInt8]) throws(RecordDecodingError) {
        guard case .dict(let entries) = wire else { throw .notADictionary }
        guard !key.isEmpty, key.count <= Self.maxKeyLength else { throw .invalidValue("key") }

        let ownerBytes = try Self.bytes(WireField.owner, "k", in: entries)
        guard let owner = PublicKey(bytes: ownerBytes) else { throw .invalidValue("k") }
        let seq = try Self.integer(WireField.seq, "seq", in: entries)
        guard seq >= 0 else { throw .invalidValue("seq") }
        let expires = try Self.integer(WireField.expires, "exp", in: entries)
        guard let value = entries[WireField.value] else { throw .missingField("v") }
        let signature = try Self.bytes(WireField.signature, "sig", in: entries)
        guard signature.count == Self.signatureLength else { throw .invalidValue("sig") }

        self.init(key: key, owner: owner, seq: seq, expires: expires, value: value, signature: signature)
    }

    /// Dictionary keys of the wire form, encoded once.
    private enum WireField {
        static let owner = Array("k".utf8)
        static let seq = Array("seq".utf8)
        static let expires = Array("exp".utf8)
        static let value = Array("v".utf8)
        static let signature = Array("sig".utf8)
    }

    private static func bytes(_ field: [UInt8], _ name: String, in entries: [[UInt8]: BValue]) throws(RecordDecodingError) -> [UInt8] {
        guard let entry = entries[field] else { throw .missingField(name) }
        guard case .bytes(let bytes) = entry else { throw .wrongType(name) }
        return bytes
    }

    private static func integer(_ field: [UInt8], _ name: String, in entries: [[UInt8]: BValue]) throws(RecordDecodingError) -> Int64 {
        guard let entry = entries[field] else { throw .missingField(name) }
        guard case .int(let number) = entry else { throw .wrongType(name) }
        return number
    }
}

/// Why a record dictionary could not be read. Each names the field at fault, so the
/// caller can answer with a precise KRPC error (203, or 207 for `key`) instead of a crash.
public enum RecordDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The record is not a bencoded dictionary.
    case notADictionary
    /// A required field (`k`, `seq`, `exp`, `v`, `sig`) is absent.
    case missingField(String)
    /// A field has the wrong bencode type (e.g. `seq` as a string).
    case wrongType(String)
    /// A field has the right type but an impossible value (`k` not 32 bytes, `sig` not 64
    /// bytes, `seq` negative, `key` empty or longer than 64 bytes).
    case invalidValue(String)

    /// Text for the KRPC error message.
    public var message: String {
        switch self {
        case .notADictionary: "record is not a dictionary"
        case .missingField(let field): "record field \(field) missing"
        case .wrongType(let field): "record field \(field) has the wrong type"
        case .invalidValue(let field): "record field \(field) invalid"
        }
    }

    /// The same text as `message`.
    public var description: String { message }
}
