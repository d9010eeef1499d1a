/// A node's id and UDP endpoint: the "compact node info" of BEP 5 (26 bytes for IPv4)
/// and BEP 32 (38 bytes for IPv6).
public struct NodeInfo: Hashable, Sendable, CustomStringConvertible {
    public var id: NodeID
    public var endpoint: Endpoint

    public init(id: NodeID, endpoint: Endpoint) {
        self.id = id
        self.endpoint = endpoint
    }

    /// Bytes of one compact node info: the stride of `nodes` (26) and `nodes6` (38) lists.
    public static func compactSize(ipv6: Bool) -> Int { ipv6 ? 38 : 26 }

    public var compact: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(38)
        appendCompact(to: &out)
        return out
    }

    public func appendCompact(to out: inout [UInt8]) {
        id.append(to: &out)
        endpoint.appendCompact(to: &out)
    }

    public var description: String { "\(id.hex)@\(endpoint)" }

    /// Splits a `nodes` (stride 26) or `nodes6` (stride 38) string. Nil when the length is
    /// not a multiple of the stride: a peer that sends that is broken, and guessing would
    /// put garbage into the routing table.
    public static func decodeList(_ bytes: [UInt8], ipv6: Bool) -> [NodeInfo]? {
        decodeList(bytes[...], ipv6: ipv6)
    }

    /// The same, read in place from a datagram.
    public static func decodeList(_ bytes: ArraySlice<UInt8>, ipv6: Bool) -> [NodeInfo]? {
        let stride = compactSize(ipv6: ipv6)
        guard bytes.count % stride == 0 else { return nil }
        var out = [NodeInfo]()
        out.reserveCapacity(bytes.count / stride)
        var offset = bytes.startIndex
        while offset < bytes.endIndex {
            guard let id = NodeID(bytes: bytes[offset..<(offset + 20)]),
                let endpoint = Endpoint(compact: bytes[(offset + 20)..<(offset + stride)])
            else { return nil }
            out.append(NodeInfo(id: id, endpoint: endpoint))
            offset += stride
        }
        return out
    }

    public static func encodeList(_ nodes: [NodeInfo]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(nodes.count * 38)
        for node in nodes { node.appendCompact(to: &out) }
        return out
    }
}
