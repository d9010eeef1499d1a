import HTTPTypes
import Hummingbird
import NIOCore
import SubnetDHTCore

/// A request's context on the node's HTTP port: Hummingbird's, plus the connection, so an
/// answer computed after shutdown gave up on it closes the connection instead of being sent.
struct NodeRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = CoreRequestContextStorage(source: source)
        channel = source.channel
    }
}

extension Response {
    /// A whole body of `contentType`, with its length.
    static func content(_ status: HTTPResponse.Status, contentType: String, _ text: String,
                     headers extra: [(HTTPField.Name, String)] = []) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        for (name, value) in extra { headers.append(HTTPField(name: name, value: value)) }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func text(_ status: HTTPResponse.Status, _ text: String, headers: [(HTTPField.Name, String)] = []) -> Response {
        content(status, contentType: "text/plain; charset=utf-8", text, headers: headers)
    }
}

/// Pages served on the node's HTTP port beside `/metrics` and `/health` (the status page, the
/// control API): each adds its routes, and the HTTP layer serves them without knowing what they are.
protocol NodeHTTPPages: Sendable {
    func addRoutes(to routes: inout NodeHTTPRoutes, clock: @escaping @Sendable () -> Timestamp)
}

/// What the node's HTTP port answers, built by whoever serves there (`/metrics` and `/health`,
/// the status page, the control API) and served through Hummingbird's router: each path with
/// the methods it answers; another usual method on that path is 405 naming them, and any other
/// path 404 with a hint of what there is.
struct NodeHTTPRoutes: Sendable {
    typealias Handler = @Sendable (Request, NodeRequestContext) async throws -> Response

    /// The methods a 405 is given for when a path does not answer them; others fall to the 404.
    static let usualMethods: [HTTPRequest.Method] = [.get, .head, .post, .put, .delete, .patch, .options]

    private var paths: [(path: String, handlers: [(HTTPRequest.Method, Handler)])] = []
    /// What a 404 names, e.g. `/metrics`.
    private var hints: [String] = []

    /// `handler` answers `method` on `path` (Hummingbird's syntax: `/records/{key}`).
    mutating func add(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping Handler) {
        if let index = paths.firstIndex(where: { $0.path == path }) {
            paths[index].handlers.append((method, handler))
        } else {
            paths.append((path, [(method, handler)]))
        }
    }

    /// Names `hint` in the 404 answer.
    mutating func hint(_ hint: String) {
        hints.append(hint)
    }

    func router() -> Router<NodeRequestContext> {
        let router = Router(context: NodeRequestContext.self)
        for (path, handlers) in paths {
            let allowed = handlers.map(\.0)
            for (method, handler) in handlers {
                router.on(RouterPath(path), method: method) { request, context in
                    let response = try await handler(request, context)
                    // Shutdown's grace period ran out while this was computed: the connection
                    // is being closed, and the answer is not sent half-way into it.
                    if Task.isCancelled { context.channel.close(promise: nil) }
                    return response
                }
            }
            let allow = allowed.map(\.rawValue).joined(separator: ", ")
            for method in Self.usualMethods where !allowed.contains(method) {
                router.on(RouterPath(path), method: method) { _, _ -> Response in
                    .text(.methodNotAllowed, "method not allowed: use \(allow)\n", headers: [(.allow, allow)])
                }
            }
        }
        router.add(middleware: NotFoundHint(text: "not found: try " + Self.list(hints) + "\n"))
        return router
    }

    /// `a, b or c`.
    private static func list(_ items: [String]) -> String {
        guard items.count > 1 else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " or " + items[items.count - 1]
    }
}

/// The router's 404 (an unknown path, or a method no path of that name answers) with a body
/// that names what there is, instead of an empty one.
private struct NotFoundHint: RouterMiddleware {
    typealias Context = NodeRequestContext
    let text: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            return .text(.notFound, text)
        }
    }
}
