/// CRC-32C (Castagnoli), the checksum BEP 42 derives secure node-id prefixes from.
/// Software and table-driven: it only ever runs over 4 or 8 bytes, so hardware CRC
/// instructions would add platform code for no measurable gain.
public enum CRC32C {
    /// The reflected Castagnoli polynomial 0x1EDC6F41.
    private static let polynomial: UInt32 = 0x82F6_3B78

    private static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 {
            crc = crc & 1 == 1 ? (crc >> 1) ^ polynomial : crc >> 1
        }
        return crc
    }

    /// The standard CRC-32C of `bytes` (initial value and final XOR 0xFFFFFFFF).
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc = table[Int((crc ^ UInt32(byte)) & 0xff)] ^ (crc >> 8)
        }
        return crc ^ 0xFFFF_FFFF
    }
}
