#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address as raw network-order bytes, independent of any socket library
/// so that the sans-IO core can key tokens, rate limits and routing restrictions on it.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)
    /// 16 bytes, network order.
    case v6(high: UInt64, low: UInt64)

    public init?(bytes: some Collection<UInt8>) {
        // Read in place: every node of a `nodes` answer comes through here.
        switch bytes.count {
        case 4:
            self = .v4(bytes.reduce(0) { $0 << 8 | UInt32($1) })
        case 16:
            let high = bytes.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let low = bytes.dropFirst(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            self = .v6(high: high, low: low)
        default:
            return nil
        }
    }

    /// Parses dotted IPv4 or textual IPv6 (no brackets, no zone).
    public init?(_ text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self = .v4(UInt32(bigEndian: v4.s_addr))
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            let bytes = withUnsafeBytes(of: &v6) { Array($0) }
            self.init(bytes: bytes)
            return
        }
        return nil
    }

    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(16)
        append(to: &out)
        return out
    }

    /// Writes the 4 or 16 bytes onto `out`, without an array of their own.
    public func append(to out: inout [UInt8]) {
        switch self {
        case .v4(let value):
            out.appendBigEndian(value)
        case .v6(let high, let low):
            out.appendBigEndian(high)
            out.appendBigEndian(low)
        }
    }

    public var isIPv4: Bool { if case .v4 = self { return true } else { return false } }

    public var isLoopback: Bool {
        switch self {
        case .v4(let value): return value >> 24 == 127
        case .v6(let high, let low): return high == 0 && low == 1
        }
    }

    /// Loopback, private, link-local and unique-local ranges: exempt from BEP 42 id checks
    /// and from the one-node-per-IP rule on test networks.
    public var isLocal: Bool {
        switch self {
        case .v4(let value):
            let a = value >> 24, b = (value >> 16) & 0xff
            return a == 127 || a == 10 || (a == 172 && (16...31).contains(b)) || (a == 192 && b == 168)
                || (a == 169 && b == 254)
        case .v6(let high, _):
            let first16 = high >> 48
            return isLoopback || (first16 & 0xffc0) == 0xfe80 || (first16 & 0xfe00) == 0xfc00
        }
    }

    public var description: String {
        switch self {
        case .v4:
            return bytes.map(String.init).joined(separator: ".")
        case .v6:
            var raw = in6_addr()
            let source = bytes
            withUnsafeMutableBytes(of: &raw) { buffer in
                for index in 0..<16 { buffer[index] = source[index] }
            }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count)) != nil else { return HexEncoding.encode(source) }
            return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}

/// A UDP endpoint: address and port. Encodes to the compact form of BEP 5 (6 bytes)
/// and BEP 32 (18 bytes).
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16

    public init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// Parses `HOST:PORT`, `[IPV6]:PORT` or `localhost:PORT`. No DNS: SubnetDHT only ever
    /// needs literal addresses, and a resolver would make the core depend on the network.
    public init?(_ text: String) {
        var hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portPart = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") { return nil }
        }
        if hostPart == "localhost" { hostPart = "127.0.0.1" }
        guard let port = UInt16(portPart), port != 0, let address = IPAddress(String(hostPart)) else { return nil }
        self.init(address: address, port: port)
    }

    /// Decodes 6 bytes (IPv4) or 18 bytes (IPv6) of compact peer info.
    public init?(compact bytes: some Collection<UInt8>) {
        let count = bytes.count
        guard count == 6 || count == 18 else { return nil }
        guard let address = IPAddress(bytes: bytes.prefix(count - 2)) else { return nil }
        let port = bytes.dropFirst(count - 2).reduce(UInt16(0)) { $0 << 8 | UInt16($1) }
        self.init(address: address, port: port)
    }

    public var compact: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(18)
        appendCompact(to: &out)
        return out
    }

    /// Writes the compact form onto `out`: address bytes, then the port big-endian.
    public func appendCompact(to out: inout [UInt8]) {
        address.append(to: &out)
        out.appendBigEndian(port)
    }

    public var description: String {
        address.isIPv4 ? "\(address):\(port)" : "[\(address)]:\(port)"
    }

    /// Whether a datagram may be sent here: a real port and a unicast address. Node lists
    /// from the network can name anything; sending to port 0, a broadcast or multicast
    /// address fails at the socket, so such entries are dropped before they get that far.
    public var isValidDestination: Bool {
        guard port != 0 else { return false }
        switch address {
        case .v4(let value):
            let first = value >> 24
            // 0/8 (this network), 224/4 multicast, 240/4 reserved and broadcast.
            return first != 0 && first < 224
        case .v6(let high, let low):
            let unspecified = high == 0 && low == 0
            let multicast = high >> 56 == 0xff
            return !unspecified && !multicast
        }
    }
}
