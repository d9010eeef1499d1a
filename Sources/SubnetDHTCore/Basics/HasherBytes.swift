extension Hasher {
    /// Feeds a byte array to the hasher in one call. An array's own `hash(into:)` feeds its
    /// bytes one at a time, a call each: keys, signatures and owners are 32 to 64 bytes, and
    /// hashing them so was the largest single cost of storing a record on the event loop.
    /// The count goes in first, so that no two arrays that differ only in where one ends and
    /// the next begins hash alike inside a larger key.
    mutating func combine(contentsOf bytes: [UInt8]) {
        combine(bytes.count)
        bytes.withUnsafeBytes { combine(bytes: $0) }
    }
}
