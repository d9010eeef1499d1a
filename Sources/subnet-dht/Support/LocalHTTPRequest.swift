import NIOCore
import NIOHTTP1
import NIOPosix

/// One HTTP/1.1 request to a node's HTTP port on this machine, over NIO's HTTP/1 client codec:
/// `update` needs one small request on loopback, which does not warrant an HTTP client
/// library with TLS and connection pools.
struct LocalHTTPRequest {
    var host = "127.0.0.1"
    var port: Int
    var method: HTTPMethod
    var path: String
    var headers: [(String, String)] = []
    var body: [UInt8] = []

    struct Answer {
        var status: Int
        var body: String
    }

    /// Sends the request and reads the whole answer, giving up after `timeout`.
    func send(timeout: Duration = .seconds(30)) async throws -> Answer {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        let deadline = channel.channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) { channel.channel.close(promise: nil) }
        defer { deadline.cancel() }
        return try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
            head.headers.add(name: "Host", value: "\(host):\(port)")
            head.headers.add(name: "Connection", value: "close")
            head.headers.add(name: "Content-Length", value: String(body.count))
            for (name, value) in headers { head.headers.add(name: name, value: value) }
            try await outbound.write(.head(head))
            if !body.isEmpty { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
            try await outbound.write(.end(nil))
            var answer = Answer(status: 0, body: "")
            for try await part in inbound {
                switch part {
                case .head(let response): answer.status = Int(response.status.code)
                case .body(var bytes): answer.body += bytes.readString(length: bytes.readableBytes) ?? ""
                case .end: return answer
                }
            }
            throw LocalHTTPError.closedEarly
        }
    }
}

enum LocalHTTPError: Error, CustomStringConvertible {
    case closedEarly

    var description: String { "the node closed the connection before its answer ended" }
}
