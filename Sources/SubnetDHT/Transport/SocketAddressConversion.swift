import NIOCore
#if canImport(Glibc)
import Glibc
#endif

import SubnetDHTCore

extension Endpoint {
    /// Converts a NIO socket address; nil for Unix-domain addresses, which a DHT never sees.
    init?(_ address: SocketAddress) {
        switch address {
        case .v4(let v4):
            self.init(address: .v4(UInt32(bigEndian: v4.address.sin_addr.s_addr)), port: UInt16(bigEndian: v4.address.sin_port))
        case .v6(let v6):
            var raw = v6.address.sin6_addr
            let bytes = withUnsafeBytes(of: &raw) { Array($0) }
            // A dual-stack socket sees IPv4 peers as ::ffff:a.b.c.d; they are IPv4 peers, and
            // replies, tokens and node lists must treat them so.
            let mapped = bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xff && bytes[11] == 0xff
            guard let ip = IPAddress(bytes: mapped ? Array(bytes[12..<16]) : bytes) else { return nil }
            self.init(address: ip, port: UInt16(bigEndian: v6.address.sin6_port))
        case .unixDomainSocket:
            return nil
        }
    }

    /// The NIO form, built from raw bytes (no text round trip on the send path). On an IPv6
    /// socket an IPv4 destination is written as its mapped form ::ffff:a.b.c.d.
    func socketAddress(ipv6Socket: Bool) -> SocketAddress {
        switch address {
        case .v4(let value) where !ipv6Socket:
            var raw = sockaddr_in()
            raw.sin_family = sa_family_t(AF_INET)
            raw.sin_port = port.bigEndian
            raw.sin_addr.s_addr = value.bigEndian
            return SocketAddress(raw, host: "")
        case .v4:
            return Endpoint.ipv6SocketAddress([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] + address.bytes, port: port)
        case .v6:
            return Endpoint.ipv6SocketAddress(address.bytes, port: port)
        }
    }

    private static func ipv6SocketAddress(_ bytes: [UInt8], port: UInt16) -> SocketAddress {
        var raw = sockaddr_in6()
        raw.sin6_family = sa_family_t(AF_INET6)
        raw.sin6_port = port.bigEndian
        withUnsafeMutableBytes(of: &raw.sin6_addr) { buffer in
            for index in 0..<16 { buffer[index] = bytes[index] }
        }
        return SocketAddress(raw, host: "")
    }
}
