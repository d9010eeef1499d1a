/// A 160-bit Kademlia identifier: node ids, info-hashes and BEP 44 / record targets.
///
/// Stored as three machine words rather than an array so that XOR distance and
/// comparisons never allocate; routing-table and lookup hot paths compare ids constantly.
public struct NodeID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let byteCount = 20

    /// Bytes 0..<8, big-endian.
    @usableFromInline var high: UInt64
    /// Bytes 8..<16, big-endian.
    @usableFromInline var middle: UInt64
    /// Bytes 16..<20, big-endian.
    @usableFromInline var low: UInt32

    @inlinable init(high: UInt64, middle: UInt64, low: UInt32) {
        self.high = high
        self.middle = middle
        self.low = low
    }

    /// Builds an id from exactly 20 bytes; returns nil for any other length.
    public init?<Bytes: Collection>(bytes: Bytes) where Bytes.Element == UInt8 {
        guard bytes.count == NodeID.byteCount else { return nil }
        var h: UInt64 = 0, m: UInt64 = 0, l: UInt32 = 0
        for (index, byte) in bytes.enumerated() {
            switch index {
            case 0..<8: h = h << 8 | UInt64(byte)
            case 8..<16: m = m << 8 | UInt64(byte)
            default: l = l << 8 | UInt32(byte)
            }
        }
        self.init(high: h, middle: m, low: l)
    }

    /// Parses 40 hex digits (either case).
    public init?(hex: String) {
        guard let bytes = HexEncoding.decode(hex), let id = NodeID(bytes: bytes) else { return nil }
        self = id
    }

    public static let zero = NodeID(high: 0, middle: 0, low: 0)
    public static let max = NodeID(high: .max, middle: .max, low: .max)

    /// A uniformly random id.
    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> NodeID {
        NodeID(high: generator.next(), middle: generator.next(), low: generator.next())
    }

    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(NodeID.byteCount)
        append(to: &out)
        return out
    }

    /// Writes the 20 bytes onto `out`: encoders build a datagram without an array per id.
    /// Three block copies rather than twenty single appends, each with its own capacity
    /// check: an answer writes up to sixteen ids.
    public func append(to out: inout [UInt8]) {
        out.appendBigEndian(high)
        out.appendBigEndian(middle)
        out.appendBigEndian(low)
    }

    public var hex: String { HexEncoding.encode(bytes) }
    public var description: String { hex }

    /// Kademlia XOR distance, itself an id so that distances compare as unsigned 160-bit integers.
    @inlinable public func distance(to other: NodeID) -> NodeID {
        NodeID(high: high ^ other.high, middle: middle ^ other.middle, low: low ^ other.low)
    }

    /// Number of leading zero bits (160 for the zero id): the length of the common prefix
    /// when applied to a distance, which selects the k-bucket.
    @inlinable public var leadingZeroBitCount: Int {
        if high != 0 { return high.leadingZeroBitCount }
        if middle != 0 { return 64 + middle.leadingZeroBitCount }
        if low != 0 { return 128 + low.leadingZeroBitCount }
        return 160
    }

    /// The bit at `index` (0 = most significant).
    @inlinable public func bit(_ index: Int) -> Bool {
        precondition(index >= 0 && index < 160)
        switch index {
        case 0..<64: return (high >> UInt64(63 - index)) & 1 == 1
        case 64..<128: return (middle >> UInt64(127 - index)) & 1 == 1
        default: return (low >> UInt32(159 - index)) & 1 == 1
        }
    }

    /// Returns a copy with bit `index` flipped; used to build refresh targets inside a bucket.
    public func flippingBit(_ index: Int) -> NodeID {
        precondition(index >= 0 && index < 160)
        var copy = self
        switch index {
        case 0..<64: copy.high ^= 1 << UInt64(63 - index)
        case 64..<128: copy.middle ^= 1 << UInt64(127 - index)
        default: copy.low ^= 1 << UInt32(159 - index)
        }
        return copy
    }

    /// A random id that shares the first `prefixLength` bits with `self`.
    public func randomized<G: RandomNumberGenerator>(afterPrefix prefixLength: Int, using generator: inout G) -> NodeID {
        let random = NodeID.random(using: &generator)
        let mask = NodeID.prefixMask(length: prefixLength)
        return NodeID(
            high: (high & mask.high) | (random.high & ~mask.high),
            middle: (middle & mask.middle) | (random.middle & ~mask.middle),
            low: (low & mask.low) | (random.low & ~mask.low))
    }

    /// An id whose first `length` bits are set and the rest clear.
    static func prefixMask(length: Int) -> NodeID {
        func mask64(_ bits: Int) -> UInt64 { bits <= 0 ? 0 : bits >= 64 ? .max : ~(UInt64.max >> UInt64(bits)) }
        func mask32(_ bits: Int) -> UInt32 { bits <= 0 ? 0 : bits >= 32 ? .max : ~(UInt32.max >> UInt32(bits)) }
        return NodeID(high: mask64(length), middle: mask64(length - 64), low: mask32(length - 128))
    }

    @inlinable public static func < (lhs: NodeID, rhs: NodeID) -> Bool {
        if lhs.high != rhs.high { return lhs.high < rhs.high }
        if lhs.middle != rhs.middle { return lhs.middle < rhs.middle }
        return lhs.low < rhs.low
    }
}

/// Lower-case hex, the form ids and keys take on the command line and in logs.
public enum HexEncoding {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var out = [UInt8]()
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes hex of even length; nil on any other character.
    public static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let hi = nibble(utf8[index]), let lo = nibble(utf8[index + 1]) else { return nil }
            out.append(hi << 4 | lo)
            index += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
