extension Array where Element == UInt8 {
    /// Appends `value`'s bytes most significant first, the order of every integer on the wire
    /// and in snapshots: one block copy, not a capacity-checked append per byte.
    package mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }
}

extension Collection where Element == UInt8 {
    /// The bytes read as one integer, most significant first: the reverse of `appendBigEndian`
    /// for exactly `T`'s width; fewer bytes give a smaller number, extra ones shift out.
    package func bigEndianInteger<T: FixedWidthInteger>(as type: T.Type = T.self) -> T {
        reduce(0) { $0 << 8 | T($1) }
    }
}
