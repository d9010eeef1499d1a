import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Hummingbird's HTTP/1 connection, with HTTP/1.0 and `Connection: close` kept as HTTP/1.1
/// says (RFC 9112 section 9.3). Hummingbird's own `HTTP1Channel` turns requests into version-free
/// HTTP types before anyone can see their version, so an HTTP/1.0 client without keep-alive
/// waited for a close that never came; this is its setup with `HTTP1Persistence` in front.
struct NodeHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let responder: HTTPChannelHandler.Responder
    let idleTimeout: Duration

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let pipeline = channel.pipeline.syncOperations
            try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false,
                                                     withOutboundHeaderValidation: false)
            try pipeline.addHandler(HTTP1Persistence())
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: idleTimeout, logger: logger))
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel,
                                       configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    func handle(value asyncChannel: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: asyncChannel, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// ``NodeHTTP1Channel`` connections.
    static func nodeHTTP1(idleTimeout: Duration) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in NodeHTTP1Channel(responder: responder, idleTimeout: idleTimeout) }
    }
}

/// Answers each request in its own version and closes the connection after the answer to a
/// request that does not keep it alive (HTTP/1.0 without `keep-alive`, or `Connection: close`),
/// saying so in a `Connection` header. It also tells when the client stopped sending
/// (`clientGone`): a long answer (an event stream) ends then, instead of at its next write.
final class HTTP1Persistence: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// The requests whose answers have not ended, oldest first (pipelined requests queue here).
    private var requests: [(version: HTTPVersion, keepAlive: Bool)] = []
    private var gone: EventLoopPromise<Void>?

    /// Completes when the client closed its sending side, or the connection closed.
    static func clientGone(on channel: any Channel) -> EventLoopFuture<Void> {
        channel.pipeline.handler(type: HTTP1Persistence.self).flatMap { handler in
            handler.gone?.futureResult ?? channel.closeFuture
        }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        gone = context.eventLoop.makePromise()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        gone?.succeed()
    }

    func channelInactive(context: ChannelHandlerContext) {
        gone?.succeed()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { gone?.succeed() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = Self.unwrapInboundIn(data) {
            requests.append((head.version, head.isKeepAlive))
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard let request = requests.first else { return context.write(data, promise: promise) }
        switch Self.unwrapOutboundIn(data) {
        case .head(var head):
            head.version = request.version
            if !request.keepAlive {
                head.headers.replaceOrAdd(name: "Connection", value: "close")
            } else if request.version == .http1_0 {
                head.headers.replaceOrAdd(name: "Connection", value: "keep-alive")
            }
            context.write(Self.wrapOutboundOut(.head(head)), promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            requests.removeFirst()
            guard !request.keepAlive else { return context.write(data, promise: promise) }
            let written = context.channel.eventLoop.makePromise(of: Void.self)
            written.futureResult.cascade(to: promise)
            let channel = context.channel
            written.futureResult.whenComplete { _ in channel.close(promise: nil) }
            context.write(data, promise: written)
        }
    }
}

@available(*, unavailable)
extension HTTP1Persistence: Sendable {}
