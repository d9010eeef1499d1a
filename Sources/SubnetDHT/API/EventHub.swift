import NIOConcurrencyHelpers
import SubnetDHTCore

/// Hands each membership event to every current subscriber. Subscribers come and go from
/// any task; events arrive on the node's event loop.
final class EventHub<Event: Sendable>: Sendable {
    private let subscribers = NIOLockedValueBox<[Int: AsyncStream<Event>.Continuation]>([:])
    private let nextID = NIOLockedValueBox(0)

    func subscribe() -> AsyncStream<Event> {
        // Bounded: a subscriber that stops reading loses the oldest events, not our memory.
        let (stream, continuation) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        let id = nextID.withLockedValue { value in
            value += 1
            return value
        }
        subscribers.withLockedValue { $0[id] = continuation }
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLockedValue { $0.removeValue(forKey: id) }
        }
        return stream
    }

    func publish(_ event: Event) {
        for continuation in subscribers.withLockedValue({ Array($0.values) }) { continuation.yield(event) }
    }

    func finish() {
        for continuation in subscribers.withLockedValue({ Array($0.values) }) { continuation.finish() }
    }
}
