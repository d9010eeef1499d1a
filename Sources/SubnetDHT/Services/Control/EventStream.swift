import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle
import SubnetDHTCore

/// `GET /events`: Server-Sent Events of the live view from an `EventJournal`. A new stream
/// starts with a `reset` (the whole view); one resumed with `Last-Event-ID` gets the events
/// after that id, or a reset when the journal no longer holds it. Each stream reads the
/// journal at its own pace (a slow client holds no backlog in the node), ends when its client
/// goes or the server stops gracefully, and gets a comment every `keepAliveInterval` while
/// idle; at most `maxStreams` are open at once.
struct EventStream: Sendable {
    let journal: EventJournal
    let keepAliveInterval: Duration
    let maxStreams: Int
    /// Streams open now.
    private let streams = StreamCount()

    init(journal: EventJournal, keepAliveInterval: Duration, maxStreams: Int) {
        self.journal = journal
        self.keepAliveInterval = keepAliveInterval
        self.maxStreams = maxStreams
    }

    /// The stream for `request` on `channel`, its connection.
    func response(to request: Request, channel: any Channel, now: @escaping @Sendable () -> Timestamp) throws(ControlAPI.Failure) -> Response {
        guard streams.claim(below: maxStreams) else {
            throw ControlAPI.Failure(.serviceUnavailable, "\(maxStreams) event streams are open already; try again later")
        }
        let lastID = request.headers[Self.lastEventID].flatMap { Int($0.filter { $0 != " " }) }
        let journal = self.journal, keepAlive = keepAliveInterval, streams = self.streams
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            defer { streams.release() }
            let (wakeUps, waker) = journal.wakeUps()
            // A client that goes away ends its stream at once, not at the next write, which
            // may be a keep-alive 15 s away.
            HTTP1Persistence.clientGone(on: channel).whenComplete { _ in waker.finish() }
            let ticker = Task {
                while (try? await Task.sleep(for: keepAlive)) != nil { waker.yield() }
            }
            defer {
                ticker.cancel()
                waker.finish()
            }
            // The server's graceful stop ends the stream, as it ends no request by itself.
            try await withGracefulShutdownHandler {
                var wakeUp = wakeUps.makeAsyncIterator()
                var cursor = lastID
                var idleSince = ContinuousClock.now
                // A browser's EventSource retries after 2 s when the stream breaks.
                try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
                repeat {
                    var text = ""
                    switch journal.read(after: cursor) {
                    case .events(let entries):
                        for entry in entries {
                            text += Self.message(entry.name, id: entry.id, data: RecordListJSON.object(RecordRow(peer: entry.peer), now: now()))
                        }
                        cursor = entries.last?.id ?? cursor
                    case .reset(let id, let live):
                        text = Self.message("reset", id: id, data: RecordListJSON.render(live.map(RecordRow.init(peer:)), now: now()))
                        cursor = id
                    }
                    if text.isEmpty, ContinuousClock.now - idleSince >= keepAlive { text = ": keep-alive\n\n" }
                    guard !text.isEmpty else { continue }
                    // Waits while the client reads slowly; the journal meanwhile moves on without it.
                    try await writer.write(ByteBuffer(string: text))
                    idleSince = ContinuousClock.now
                } while await wakeUp.next() != nil
            } onGracefulShutdown: {
                waker.finish()
            }
            try await writer.finish(nil)
        })
    }

    private static let lastEventID = HTTPField.Name("Last-Event-ID")!

    /// One event: `event`, `id` and one `data` line (JSON has no raw line ends).
    private static func message(_ name: String, id: Int, data: String) -> String {
        "event: \(name)\nid: \(id)\ndata: \(data)\n\n"
    }
}

/// How many event streams are open, bounded.
private final class StreamCount: Sendable {
    private let count = NIOLockedValueBox(0)

    func claim(below limit: Int) -> Bool {
        count.withLockedValue { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
    }

    func release() {
        count.withLockedValue { $0 -= 1 }
    }
}
