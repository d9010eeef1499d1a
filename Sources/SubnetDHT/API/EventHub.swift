import NIOConcurrencyHelpers
import SubnetDHTCore

/// The node's one event hub: hands each event of the core (membership changes, heartbeat
/// publishes, prunes) to every subscriber that selects it. A subscriber selects as events are
/// published, so its bounded buffer holds only what it reads: a burst of heartbeat events
/// cannot push membership changes out of a membership subscriber's buffer. Subscribers come
/// and go from any task; events arrive on the node's event loop.
final class EventHub<Event: Sendable>: Sendable {
    private struct Subscriber: Sendable {
        let deliver: @Sendable (Event) -> Void
        let finish: @Sendable () -> Void
    }

    private struct State: Sendable {
        var subscribers: [Int: Subscriber] = [:]
        var nextID = 0
        /// Set by `finish()`: later subscribers get a stream that has already ended.
        var finished = false
    }

    private let state = NIOLockedValueBox(State())

    /// Every event.
    func subscribe() -> AsyncStream<Event> {
        subscribe { $0 }
    }

    /// The events `select` maps to a value, as those values; it sees every event published
    /// from now on, on the publisher's thread.
    func subscribe<Selected: Sendable>(_ select: @escaping @Sendable (Event) -> Selected?) -> AsyncStream<Selected> {
        // Bounded: a subscriber that stops reading loses the oldest events, not our memory.
        let (stream, continuation) = AsyncStream<Selected>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        let subscriber = Subscriber(deliver: { event in
            if let selected = select(event) { continuation.yield(selected) }
        }, finish: { continuation.finish() })
        let id = state.withLockedValue { state in
            state.nextID += 1
            return state.nextID
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLockedValue { $0.subscribers.removeValue(forKey: id) }
        }
        let subscribed = state.withLockedValue { state in
            guard !state.finished else { return false }
            state.subscribers[id] = subscriber
            return true
        }
        if !subscribed { continuation.finish() }
        return stream
    }

    func publish(_ event: Event) {
        for subscriber in state.withLockedValue({ Array($0.subscribers.values) }) { subscriber.deliver(event) }
    }

    /// Ends every stream, and those subscribed later at once.
    func finish() {
        let subscribers = state.withLockedValue { state in
            state.finished = true
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.finish() }
    }
}
