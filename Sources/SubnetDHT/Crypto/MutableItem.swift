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
        var buffer = [UInt8]()
        buffer.reserveCapacity(salt.count + encodedValue.count + 40)
        if !salt.isEmpty {
            buffer.append(contentsOf: "4:salt".utf8)
            Bencode.appendDecimal(Int64(salt.count), to: &buffer)
            buffer.append(UInt8(ascii: ":"))
            buffer.append(contentsOf: salt)
        }
        buffer.append(contentsOf: "3:seqi".utf8)
        Bencode.appendDecimal(seq, to: &buffer)
        buffer.append(contentsOf: "e1:v".utf8)
        buffer.append(contentsOf: encodedValue)
        return buffer
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
