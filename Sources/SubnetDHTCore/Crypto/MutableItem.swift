/// BEP 44 helpers shared by the storage and client sides: the exact bytes a mutable item's
/// signature covers, and how items map to DHT targets. Byte-exactness matters because
/// libtorrent and other peers sign and verify the same buffer.
public enum BEP44 {
    /// Largest bencoded `v` a node stores (BEP 44).
    public static let maxValueLength = 1000
    /// Largest `salt` a node accepts (BEP 44).
    public static let maxSaltLength = 64

    /// `[4:salt<len>:<salt>]3:seqi<seq>e1:v<encodedValue>`: the bencoded dictionary entries
    /// without the outer `d`/`e`. The salt entry is omitted when the salt is empty, as BEP 44
    /// and libtorrent do, so unsalted items verify across implementations.
    public static func signedBuffer(salt: [UInt8], seq: Int64, encodedValue: [UInt8]) -> [UInt8] {
        var writer = KRPCWriter(capacity: salt.count + encodedValue.count + 40)
        if !salt.isEmpty {
            writer.key("salt")
            writer.bytes(salt)
        }
        writer.key("seq")
        writer.integer(seq)
        writer.key("v")
        writer.encoded(encodedValue)
        return writer.out
    }

    /// Target of a mutable item: SHA1(public key ++ salt).
    public static func mutableTarget(publicKey: [UInt8], salt: [UInt8]) -> NodeID {
        SHA1Hash.id(publicKey + salt)
    }

    /// Target of an immutable item: SHA1 of its bencoded value, so the content names itself.
    public static func immutableTarget(encodedValue: [UInt8]) -> NodeID {
        SHA1Hash.id(encodedValue)
    }
}
