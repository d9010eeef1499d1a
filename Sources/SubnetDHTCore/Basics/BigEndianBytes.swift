extension Array where Element == UInt8 {
    /// Appends `value`'s bytes most significant first, the order of every integer on the wire
    /// and in snapshots: one block copy, not a capacity-checked append per byte.
    package mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }
}
