/// A BEP 44 immutable item as stored: the bencoded value, whose SHA1 is its target.
public struct StoredImmutableItem: Hashable, Sendable {
    /// The bencoded `v`.
    public var value: [UInt8]
    /// Time of the last accepted put; the item expires `itemTTL` later.
    public var storedAt: Timestamp

    public init(value: [UInt8], storedAt: Timestamp) {
        self.value = value
        self.storedAt = storedAt
    }
}

/// The signed content of a BEP 44 mutable put, already verified by the caller.
public struct SignedMutableItem: Hashable, Sendable {
    /// `k`: 32-byte ed25519 public key.
    public var publicKey: [UInt8]
    /// Optional salt (empty when absent); the target is SHA1(`k` + salt).
    public var salt: [UInt8]
    public var seq: Int64
    /// `sig`: 64-byte ed25519 signature over the salt, seq and value.
    public var signature: [UInt8]
    /// The bencoded `v`.
    public var value: [UInt8]

    public init(publicKey: [UInt8], salt: [UInt8], seq: Int64, signature: [UInt8], value: [UInt8]) {
        self.publicKey = publicKey
        self.salt = salt
        self.seq = seq
        self.signature = signature
        self.value = value
    }
}

/// A BEP 44 mutable item as stored.
public struct StoredMutableItem: Hashable, Sendable {
    public var publicKey: [UInt8]
    public var salt: [UInt8]
    public var seq: Int64
    public var signature: [UInt8]
    /// The bencoded `v`.
    public var value: [UInt8]
    /// Time of the last accepted put; the item expires `itemTTL` later.
    public var storedAt: Timestamp

    public init(_ item: SignedMutableItem, storedAt: Timestamp) {
        publicKey = item.publicKey
        salt = item.salt
        seq = item.seq
        signature = item.signature
        value = item.value
        self.storedAt = storedAt
    }

    /// The signed content, without the storage time.
    public var item: SignedMutableItem {
        SignedMutableItem(publicKey: publicKey, salt: salt, seq: seq, signature: signature, value: value)
    }
}

/// Why the item store refused a put; `code` is the KRPC error code to answer with.
public enum ItemStoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// `cas` was given and differs from the stored item's `seq` (BEP 44).
    case casMismatch
    /// The stored item's `seq` is higher, or equal with different content (BEP 44).
    case sequenceNotNewer
    /// The store holds no items at all (`maxItems` is 0); a full store evicts instead.
    case full

    public var code: Int {
        switch self {
        case .casMismatch: 301
        case .sequenceNotNewer: 302
        case .full: 202
        }
    }

    /// The message for the KRPC error's second element.
    public var message: String {
        switch self {
        case .casMismatch: "CAS mismatch"
        case .sequenceNotNewer: "sequence number not newer"
        case .full: "storage full"
        }
    }

    public var description: String { "\(code) \(message)" }
}
