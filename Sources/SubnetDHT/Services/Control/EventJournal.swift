import Collections
import NIOConcurrencyHelpers
import SubnetDHTCore

/// The membership events `GET /events` streams: numbered from 1, the newest `capacity` kept,
/// and the live view they lead to. Readers pull from it at their own pace, each from the id it
/// saw last, so a slow or stalled reader costs nothing but its place: the node appends and
/// moves on, and a reader that fell out of the kept events is sent the whole view (`reset`)
/// instead of what it missed.
final class EventJournal: Sendable {
    struct Entry: Sendable, Equatable {
        let id: Int
        /// `joined`, `changed`, `left` or `expired`.
        let name: String
        let peer: Peer
    }

    /// What a reader gets next.
    enum Read: Sendable, Equatable {
        /// The events after the reader's id, oldest first; none when it is up to date.
        case events([Entry])
        /// The whole live view as of event `id`: for a new reader, and for one whose id the
        /// journal no longer holds (too old, or from before the node restarted).
        case reset(id: Int, live: [Peer])
    }

    private struct State: Sendable {
        var entries = Deque<Entry>()
        var lastID = 0
        var live: [PublicKey: Peer] = [:]
        /// Readers waiting for the next event, woken by `record`.
        var waiting: [Int: AsyncStream<Void>.Continuation] = [:]
        var nextReader = 0
    }

    let capacity: Int
    private let state = NIOLockedValueBox(State())

    init(capacity: Int = 1024) {
        precondition(capacity > 0, "an event journal keeps at least one event")
        self.capacity = capacity
    }

    /// Appends `event` and wakes the readers.
    func record(_ event: MembershipEvent) {
        let waiting = state.withLockedValue { state -> [AsyncStream<Void>.Continuation] in
            state.lastID += 1
            let entry = Entry(id: state.lastID, name: Self.name(of: event), peer: event.peer)
            state.entries.append(entry)
            if state.entries.count > capacity { state.entries.removeFirst() }
            switch event {
            case .joined(let peer), .stateChanged(let peer, _), .changed(let peer): state.live[peer.owner] = peer
            case .left(let peer), .expired(let peer): state.live[peer.owner] = nil
            }
            return Array(state.waiting.values)
        }
        for reader in waiting { reader.yield() }
    }

    /// What a reader whose last event was `id` reads next (nil: a new reader).
    func read(after id: Int?) -> Read {
        state.withLockedValue { state in
            let oldest = state.entries.first?.id ?? state.lastID + 1
            guard let id, id <= state.lastID, id >= oldest - 1 else {
                return .reset(id: state.lastID, live: state.live.values.sorted { $0.owner < $1.owner })
            }
            return .events(Array(state.entries.suffix(state.lastID - id)))
        }
    }

    /// A stream that yields whenever an event is recorded (at most one pending wake-up, so a
    /// reader that does not keep up holds no backlog), and the means to wake it otherwise (a
    /// keep-alive timer). Ending the stream unregisters it.
    func wakeUps() -> (stream: AsyncStream<Void>, continuation: AsyncStream<Void>.Continuation) {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let reader = state.withLockedValue { state in
            state.nextReader += 1
            state.waiting[state.nextReader] = continuation
            return state.nextReader
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLockedValue { $0.waiting.removeValue(forKey: reader) }
        }
        return (stream, continuation)
    }

    /// Readers registered through `wakeUps()` and not yet gone.
    var readers: Int { state.withLockedValue { $0.waiting.count } }

    private static func name(of event: MembershipEvent) -> String {
        switch event {
        case .joined: "joined"
        case .stateChanged, .changed: "changed"
        case .left: "left"
        case .expired: "expired"
        }
    }
}
