import NIOCore
#if canImport(Glibc)
import Glibc
#endif

extension Endpoint {
    /// Converts a NIO socket address; nil for Unix-domain addresses, which a DHT never sees.
    init?(_ address: SocketAddress) {
        switch address {
        case .v4(let v4):
            self.init(address: .v4(UInt32(bigEndian: v4.address.sin_addr.s_addr)), port: UInt16(bigEndian: v4.address.sin_port))
        case .v6(let v6):
            var raw = v6.address.sin6_addr
            let bytes = withUnsafeBytes(of: &raw) { Array($0) }
            guard let ip = IPAddress(bytes: bytes) else { return nil }
            self.init(address: ip, port: UInt16(bigEndian: v6.address.sin6_port))
        case .unixDomainSocket:
            return nil
        }
    }

    /// The NIO form, built from raw bytes (no text round trip on the send path).
    var socketAddress: SocketAddress {
        get throws {
            switch address {
            case .v4(let value):
                var raw = sockaddr_in()
                raw.sin_family = sa_family_t(AF_INET)
                raw.sin_port = port.bigEndian
                raw.sin_addr.s_addr = value.bigEndian
                return SocketAddress(raw, host: "")
            case .v6:
                var raw = sockaddr_in6()
                raw.sin6_family = sa_family_t(AF_INET6)
                raw.sin6_port = port.bigEndian
                let bytes = address.bytes
                withUnsafeMutableBytes(of: &raw.sin6_addr) { buffer in
                    for index in 0..<16 { buffer[index] = bytes[index] }
                }
                return SocketAddress(raw, host: "")
            }
        }
    }
}
