#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// systemd's notification protocol (sd_notify(3)): each message is one datagram of
/// `KEY=VALUE` lines to the Unix socket named by `NOTIFY_SOCKET` (a path, or an abstract name
/// written with a leading `@`). A plain socket write: the protocol needs no library.
public struct SystemdNotifier: Sendable, Equatable {
    /// Where messages go, as `NOTIFY_SOCKET` names it.
    public let socketName: String
    /// How often systemd wants `WATCHDOG=1` at the latest (`WATCHDOG_USEC`), nil without a
    /// watchdog or when `WATCHDOG_PID` names another process.
    public let watchdogTimeout: Duration?

    /// The notifier the service manager asked for through `environment`, or nil when it asked
    /// for none (no `NOTIFY_SOCKET`: not run by systemd, or not as `Type=notify`).
    public init?(environment: [String: String]) {
        guard let socketName = environment["NOTIFY_SOCKET"], !socketName.isEmpty else { return nil }
        self.socketName = socketName
        let forUs = environment["WATCHDOG_PID"].map { Int32($0) == getpid() } ?? true
        if forUs, let micros = environment["WATCHDOG_USEC"].flatMap(Int64.init), micros > 0 {
            watchdogTimeout = .microseconds(micros)
        } else {
            watchdogTimeout = nil
        }
    }

    /// The process's environment.
    public static var processEnvironment: [String: String] {
        var variables: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let pair = String(cString: pointer)
            if let equals = pair.firstIndex(of: "=") {
                variables[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            entry += 1
        }
        return variables
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Sends `fields` (`READY=1`, `STATUS=...`) as one message.
    public func notify(_ fields: [String]) throws(Failure) {
        var message = Array(fields.joined(separator: "\n").utf8)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var path = Array(socketName.utf8)
        let abstract = path.first == UInt8(ascii: "@")
        if abstract { path[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.count < capacity else { throw Failure(description: "NOTIFY_SOCKET is longer than \(capacity - 1) bytes") }
        withUnsafeMutableBytes(of: &address.sun_path) { bytes in
            for (index, byte) in path.enumerated() { bytes[index] = byte }
        }
        // An abstract name is exactly its bytes; a path ends at its NUL.
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count + (abstract ? 0 : 1))
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "cannot open a Unix socket: \(POSIXFile.lastError())") }
        defer { close(descriptor) }
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                sendto(descriptor, &message, message.count, Int32(MSG_NOSIGNAL), socketAddress, length)
            }
        }
        guard sent == message.count else { throw Failure(description: "cannot write to NOTIFY_SOCKET \(socketName): \(POSIXFile.lastError())") }
    }
}
