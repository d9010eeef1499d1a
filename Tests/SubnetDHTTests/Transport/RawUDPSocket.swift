#if canImport(Glibc)
import Glibc
#endif
@testable import SubnetDHT
@testable import SubnetDHTCore

/// A plain blocking UDP socket on 127.0.0.1 for tests that play a hostile or naive peer.
final class RawUDPSocket: @unchecked Sendable {  // a file descriptor; tests use it from one thread at a time
    private let descriptor: Int32

    init() throws {
        descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw CLIStyleError("socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw CLIStyleError("bind failed") }
        var timeout = timeval(tv_sec: 0, tv_usec: 50_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(descriptor) }

    /// The port the kernel bound.
    var port: UInt16 {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return UInt16(bigEndian: address.sin_port)
    }

    func send(_ bytes: [UInt8], to endpoint: Endpoint) {
        guard case .v4(let ip) = endpoint.address else { return }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = ip.bigEndian
        address.sin_port = endpoint.port.bigEndian
        _ = bytes.withUnsafeBytes { buffer in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(descriptor, buffer.baseAddress, buffer.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }

    /// The next datagram, or nil after the receive timeout.
    func receive() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(descriptor, &buffer, buffer.count, 0)
        return count > 0 ? Array(buffer[0..<count]) : nil
    }

    /// The next datagram and its source, or nil after the receive timeout.
    func receiveWithSource() -> (bytes: [UInt8], source: Endpoint)? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let count = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(descriptor, &buffer, buffer.count, 0, $0, &length) }
        }
        guard count > 0 else { return nil }
        let source = Endpoint(address: .v4(UInt32(bigEndian: address.sin_addr.s_addr)), port: UInt16(bigEndian: address.sin_port))
        return (Array(buffer[0..<count]), source)
    }

    /// Drains whatever is queued, returning the decoded messages.
    func drain() -> [KRPCMessage] {
        var messages = [KRPCMessage]()
        while let bytes = receive() {
            if let message = try? KRPCCodec.decode(bytes) { messages.append(message) }
        }
        return messages
    }

    /// Drains until `count` messages came or `limit` passed: on a loaded machine an answer
    /// can come later than one receive timeout after another.
    func drain(expecting count: Int, within limit: Duration = .seconds(3)) -> [KRPCMessage] {
        let deadline = ContinuousClock.now + limit
        var messages = [KRPCMessage]()
        while messages.count < count, ContinuousClock.now < deadline {
            guard let bytes = receive() else { continue }
            if let message = try? KRPCCodec.decode(bytes) { messages.append(message) }
        }
        return messages
    }
}

struct CLIStyleError: Error { let text: String; init(_ text: String) { self.text = text } }

