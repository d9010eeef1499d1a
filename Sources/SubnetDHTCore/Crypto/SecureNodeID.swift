/// BEP 42 node-id restriction: the first 21 bits of a node id are tied to the node's
/// external IP, so an attacker cannot pick ids next to a target (Sybil / eclipse attacks)
/// without controlling many IPs. The last byte carries `r`, whose low 3 bits vary the prefix
/// so that 8 nodes behind one IP can still coexist.
public enum SecureNodeID {
    /// Masks keep only the bits of the address an ISP cannot trivially vary (BEP 42).
    private static let ipv4Mask: UInt32 = 0x030F_3FFF
    private static let ipv6Mask: UInt64 = 0x0103_070F_1F3F_7FFF
    /// The id's top 21 bits come from the CRC: the 21 high bits of a 64-bit word.
    private static let prefixMask: UInt64 = 0xFFFF_F800_0000_0000

    /// An id valid for `ip`: CRC prefix, `r` as the last byte, everything else random.
    /// Only `r & 7` enters the CRC; the whole byte is stored, as libtorrent does.
    public static func make(for ip: IPAddress, r: UInt8, random: inout some RandomNumberGenerator) -> NodeID {
        let base = NodeID.random(using: &random)
        let prefix = UInt64(crc(for: ip, r: r)) << 32 & prefixMask
        return NodeID(
            high: prefix | (base.high & ~prefixMask),
            middle: base.middle,
            low: (base.low & ~0xFF) | UInt32(r))
    }

    /// Whether `id` satisfies BEP 42 for `ip`. Local, private and loopback addresses are
    /// always accepted: test networks and LANs have no meaningful external address.
    public static func isValid(_ id: NodeID, for ip: IPAddress) -> Bool {
        if ip.isLocal { return true }
        let r = UInt8(truncatingIfNeeded: id.low)
        let expected = UInt64(crc(for: ip, r: r)) << 32 & prefixMask
        return id.high & prefixMask == expected
    }

    /// CRC32C over the masked address (network order) with `r & 7` in its top 3 bits.
    private static func crc(for ip: IPAddress, r: UInt8) -> UInt32 {
        let r3 = UInt64(r & 0x7)
        switch ip {
        case .v4(let value):
            let masked = (value & ipv4Mask) | UInt32(r3) << 29
            return CRC32C.checksum(bigEndianBytes(UInt64(masked), count: 4))
        case .v6(let high, _):
            let masked = (high & ipv6Mask) | r3 << 61
            return CRC32C.checksum(bigEndianBytes(masked, count: 8))
        }
    }

    private static func bigEndianBytes(_ value: UInt64, count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: value >> UInt64(8 * (count - 1 - $0))) }
    }
}
