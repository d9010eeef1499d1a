import NIOConcurrencyHelpers
import SubnetDHTCore

/// Follows a running node for its HTTP port, so no request waits on the node: subscribes to
/// its events once and reads it once a refresh interval, and keeps the latest of both where
/// `/health`, `/metrics` and the status page read them.
///
/// - Membership changes go to the status page's recorder as they happen, over a first reading
///   of the live view taken after subscribing (so no change falls between the two); heartbeat
///   publishes and prunes go to the metrics' counters.
/// - The periodic reading (one hop onto the node's loop) brings what changes without an event:
///   the core's counters, the routing table, the last heartbeat, and the records of live
///   peers, which every heartbeat renews (an event per renewal would be one per peer per
///   heartbeat interval). Requests read its result, so however many clients poll, the node
///   sees one short read per interval.
final class NodeStatusFeed: Sendable {
    let node: DHTNode
    let recorder: SubnetStatusRecorder?
    let metrics: NodeMetrics?
    let refreshInterval: Duration
    let clock: @Sendable () -> Timestamp
    private let latest = NIOLockedValueBox<NodeStatus?>(nil)

    init(node: DHTNode, recorder: SubnetStatusRecorder? = nil, metrics: NodeMetrics? = nil,
         refreshInterval: Duration = .seconds(1), clock: @escaping @Sendable () -> Timestamp = { SystemClock.now() }) {
        self.node = node
        self.recorder = recorder
        self.metrics = metrics
        self.refreshInterval = refreshInterval
        self.clock = clock
    }

    /// The node's status at the last reading; nil before the first.
    var status: NodeStatus? { latest.withLockedValue { $0 } }

    /// Follows the node until the task is cancelled.
    func run() async {
        let events = node.events()
        var first: SubnetReading?
        while !Task.isCancelled {
            first = try? await SubnetReading.read(from: node)
            if first != nil { break }
            try? await Task.sleep(for: refreshInterval)
        }
        guard let first else { return }
        take(first, now: clock(), first: true)
        // A reading every refresh interval, and one at once after an event that changes what
        // /health shows (a heartbeat published, a peer joined or gone, a prune): right after the
        // first heartbeat, /health says so, not up to an interval later. Bursts coalesce into
        // one reading.
        let (due, readSoon) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await event in events {
                    self.handle(event)
                    if Self.changesStatus(event) { readSoon.yield() }
                }
                readSoon.finish()
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: self.refreshInterval)
                    readSoon.yield()
                }
            }
            group.addTask {
                for await _ in due {
                    if let reading = try? await SubnetReading.read(from: self.node) {
                        self.take(reading, now: self.clock(), first: false)
                    }
                }
            }
        }
    }

    static func changesStatus(_ event: CoreEvent) -> Bool {
        switch event {
        case .heartbeatPublished, .membership, .pruned: true
        case .operationFinished: false
        }
    }

    func handle(_ event: CoreEvent) {
        switch event {
        case .membership(let change): recorder?.record(change, now: clock())
        case .heartbeatPublished(let ok, let latency): metrics?.recordHeartbeat(ok: ok, latency: latency)
        case .pruned(let records, let peers): metrics?.recordPruned(records: records, peers: peers)
        case .operationFinished: break
        }
    }

    func take(_ reading: SubnetReading, now: Timestamp, first: Bool) {
        latest.withLockedValue { $0 = reading.status }
        metrics?.update(from: reading.status)
        if first {
            recorder?.begin(with: reading, now: now)
        } else {
            recorder?.refresh(with: reading, now: now)
        }
    }
}
