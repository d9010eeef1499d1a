import Crypto

/// SHA-1, used where the Mainline DHT protocol fixes it: 160-bit targets and ids.
/// It is not used for anything that needs collision resistance on its own; signatures do that.
public enum SHA1Hash {
    public static let byteCount = 20

    /// The 20-byte digest of `bytes`.
    public static func digest(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        var hasher = Insecure.SHA1()
        // Hash contiguous input in place; only lazy sequences pay for a copy.
        let hashedInPlace: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            hasher.update(bufferPointer: UnsafeRawBufferPointer(buffer))
        }
        if hashedInPlace == nil {
            Array(bytes).withUnsafeBytes { hasher.update(bufferPointer: $0) }
        }
        return Array(hasher.finalize())
    }

    /// The digest as a DHT id / target.
    public static func id(_ bytes: some Sequence<UInt8>) -> NodeID {
        guard let id = NodeID(bytes: digest(bytes)) else {
            preconditionFailure("SHA-1 digests are always 20 bytes")
        }
        return id
    }
}

extension NodeID {
    /// A node's default id: SHA1 of its ed25519 public key (docs/PROTOCOL.md 1), so that
    /// routing-table entries map directly to heartbeat-record owners.
    public static func defaultID(for publicKey: PublicKey) -> NodeID {
        SHA1Hash.id(publicKey.bytes)
    }
}
