#if canImport(Glibc)
import Glibc
#endif
@testable import SubnetDHT
@testable import SubnetDHTCore

/// A plain TCP client on 127.0.0.1 speaking just enough HTTP/1.1 for the node's HTTP server's
/// tests. Reads poll with `MSG_DONTWAIT` and sleep between tries, so a waiting test never
/// blocks a thread of the cooperative pool the server's providers also run on.
final class HTTPTestConnection: @unchecked Sendable {  // a file descriptor; each test uses its own from one task
    struct Response {
        var status: Int
        /// Header names lowercased.
        var headers: [String: String]
        var body: String
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    private let descriptor: Int32
    private var received: [UInt8] = []
    private var closedByPeer = false

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure("socket failed") }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        // No close here: `self` is fully initialized, so deinit runs when init throws and
        // closes the descriptor. Closing it here too closed it twice, and the second close
        // could hit a descriptor number NIO had just reused for an accepted connection
        // (CI crashed in NIO's getsockname with EBADF).
        guard connected == 0 else { throw Failure("connect to 127.0.0.1:\(port) failed, errno \(errno)") }
    }

    deinit { close(descriptor) }

    func send(_ text: String) throws {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let sent = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw Failure("send failed, errno \(errno)") }
            bytes = bytes.dropFirst(sent)
        }
    }

    /// A `GET` (or other method) with the usual headers.
    func request(_ path: String, method: String = "GET", version: String = "HTTP/1.1",
                 headers: [String] = [], body: String = "") throws {
        var lines = ["\(method) \(path) \(version)", "Host: 127.0.0.1"] + headers
        if !body.isEmpty { lines.append("Content-Length: \(body.utf8.count)") }
        try send(lines.joined(separator: "\r\n") + "\r\n\r\n" + body)
    }

    /// The next response on the connection (headers, then a Content-Length body).
    func readResponse(within timeout: Duration = .seconds(30)) async throws -> Response {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let response = try parseResponse() { return response }
            if closedByPeer { throw Failure("connection closed before a whole response: \(String(decoding: received, as: UTF8.self))") }
            guard ContinuousClock.now < deadline else { throw Failure("no response within \(timeout)") }
            try await receiveSome()
        }
    }

    /// Everything received until `text` appears in it (a streamed body has no length); the
    /// rest stays for the next read. Throws when `text` does not come within `timeout`.
    func readUntil(_ text: String, within timeout: Duration = .seconds(10)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        let wanted = Array(text.utf8)
        while true {
            if let start = received.indices.first(where: { received[$0...].starts(with: wanted) }) {
                let end = start + wanted.count
                let read = String(decoding: received[..<end], as: UTF8.self)
                received.removeFirst(end)
                return read
            }
            if closedByPeer { throw Failure("closed before \(text) came: \(String(decoding: received, as: UTF8.self))") }
            guard ContinuousClock.now < deadline else {
                throw Failure("no \(text) within \(timeout): \(String(decoding: received, as: UTF8.self))")
            }
            try await receiveSome()
        }
    }

    /// Whether the server closes the connection within `timeout` (having sent nothing more).
    func closesByPeer(within timeout: Duration = .seconds(5)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !closedByPeer && ContinuousClock.now < deadline {
            try await receiveSome()
        }
        return closedByPeer && received.isEmpty
    }

    private func receiveSome() async throws {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        if count > 0 {
            received += buffer[0..<count]
        } else if count == 0 {
            closedByPeer = true
        } else if errno == EAGAIN || errno == EWOULDBLOCK {
            try await Task.sleep(for: .milliseconds(2))
        } else if errno == ECONNRESET {
            closedByPeer = true
        } else {
            throw Failure("recv failed, errno \(errno)")
        }
    }

    private func parseResponse() throws -> Response? {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let headerEnd = received.indices.first(where: { received[$0...].starts(with: separator) }) else { return nil }
        let lines = String(decoding: received[..<headerEnd], as: UTF8.self)
            .split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusLine = lines[0].split(separator: " ")
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else {
            throw Failure("bad status line: \(lines[0])")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { throw Failure("bad header line: \(line)") }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingSpaces
        }
        guard let length = headers["content-length"].flatMap({ Int($0) }) else { throw Failure("no Content-Length") }
        let bodyStart = headerEnd + separator.count
        guard received.count >= bodyStart + length else { return nil }
        let body = String(decoding: received[bodyStart..<bodyStart + length], as: UTF8.self)
        received.removeFirst(bodyStart + length)
        return Response(status: status, headers: headers, body: body)
    }
}

extension StringProtocol {
    fileprivate var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
