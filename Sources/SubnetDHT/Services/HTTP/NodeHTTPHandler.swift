import NIOCore
import NIOHTTP1
import SubnetDHTCore

/// Serves one HTTP/1.1 connection, one request at a time (NIO's `HTTPServerPipelineHandler`
/// holds back pipelined requests until the response before them has ended). Async providers
/// run in a task; their result is written back on the channel's loop, so the loop never waits.
final class NodeHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: NodeHTTPRoutes
    /// The request whose head arrived and whose end has not.
    private var request: HTTPRequestHead?
    /// A response is being computed or written.
    private var responding = false
    /// The client closed its sending side: close once the response in progress is out.
    private var inputClosed = false
    private var removed = false

    init(routes: NodeHTTPRoutes) {
        self.routes = routes
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        removed = true
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break  // no route takes a body; it is read and dropped
        case .end:
            guard let head = request else { return }
            request = nil
            respond(to: head, context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            if request == nil && !responding { context.close(promise: nil) }
        } else if let channelEvent = event as? ChannelEvent, channelEvent == .inputClosed {
            inputClosed = true
            if !responding { context.close(promise: nil) }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Malformed requests were answered 400 by NIO's HTTPServerProtocolErrorHandler; anything else is fatal to the connection.
        context.close(promise: nil)
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        responding = true
        switch routes.route(head) {
        case .immediate(let response):
            write(response, for: head, context: context)
        case .deferred(let compute):
            let promise = context.eventLoop.makePromise(of: NodeHTTPResponse.self)
            promise.completeWithTask(compute)
            promise.futureResult.assumeIsolated().whenComplete { result in
                guard !self.removed, case .success(let response) = result else { return }
                self.write(response, for: head, context: context)
            }
        }
    }

    private func write(_ response: NodeHTTPResponse, for request: HTTPRequestHead, context: ChannelHandlerContext) {
        let keepAlive = request.isKeepAlive && !inputClosed
        let body = context.channel.allocator.buffer(string: response.body)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        for (name, value) in response.extraHeaders { headers.add(name: name, value: value) }
        if !keepAlive {
            headers.add(name: "Connection", value: "close")
        } else if request.version.major == 1 && request.version.minor == 0 {
            headers.add(name: "Connection", value: "keep-alive")
        }
        let head = HTTPResponseHead(version: request.version, status: response.status, headers: headers)
        context.write(Self.wrapOutboundOut(.head(head)), promise: nil)
        context.write(Self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        let written = context.writeAndFlush(Self.wrapOutboundOut(.end(nil)))
        responding = false
        if !keepAlive {
            let channel = context.channel
            written.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

@available(*, unavailable)
extension NodeHTTPHandler: Sendable {}
