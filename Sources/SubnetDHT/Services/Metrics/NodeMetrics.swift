import NIOConcurrencyHelpers
import Prometheus
import SubnetDHTCore

/// One node's Prometheus metrics, in a registry of its own: no process-global
/// `MetricsSystem.bootstrap`, so every node of a test network in one process keeps its own
/// numbers. `render()` is the `/metrics` body.
///
/// Gauges are set from `update(from:)`; counters the core keeps cumulatively (datagrams and
/// bytes, queries and answers by method, errors by code, ...) advance by the difference since
/// the previous update, so they only ever increase. The other counters are fed by the services
/// (`recordHeartbeat`, `recordPruned`).
/// Every method is safe to call from any thread.
public final class NodeMetrics: Sendable {
    /// The prefix of every metric name.
    public static let namespace = "subnet_dht"
    /// The registry the metrics live in; add process-level metrics here to export them too.
    public let registry: PrometheusCollectorRegistry

    private let routingTableSize: Gauge
    private let recordsStored: Gauge
    private let pendingRequests: Gauge
    private let livePeers: Gauge
    /// Routing-table contacts by `RecordSupport`: capable, plain, unknown.
    private let contactsByRecordSupport: (capable: Gauge, plain: Gauge, unknown: Gauge)
    private let heartbeatsOK: Counter
    private let heartbeatsFailed: Counter
    private let heartbeatLatency: DurationHistogram
    private let prunedRecords: Counter
    private let prunedPeers: Counter
    private let cumulative: [CumulativeCounter]
    /// The core's cumulative values at the previous `update(from:)`, in `cumulative` order.
    private let lastCumulative: NIOLockedValueBox<[Int]>

    /// Buckets for heartbeat publishing: a loopback announce takes about a millisecond, a
    /// lookup across a large network a second or two, a publish that times out tens of seconds.
    public static let heartbeatLatencyBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5),
        .seconds(10), .seconds(30),
    ]

    public init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry

        func gauge(_ name: String, _ unit: String, _ help: String) -> Gauge {
            registry.makeGauge(descriptor: Self.descriptor(name, unit, help))
        }
        func counter(_ name: String, _ help: String) -> Counter {
            registry.makeCounter(descriptor: Self.descriptor(name, "total", help))
        }

        routingTableSize = gauge("routing_table", "size", "Contacts in the routing table.")
        recordsStored = gauge("records_stored", "", "Keyed records this node stores for others.")
        pendingRequests = gauge("pending_requests", "", "Requests sent and awaiting a response or timeout.")
        livePeers = gauge("live_peers", "", "Peers the membership view currently considers alive.")
        let support = Self.descriptor("contacts", "", "Routing-table contacts by whether they serve keyed records (records, plain Mainline, not yet known).")
        contactsByRecordSupport = (registry.makeGauge(descriptor: support, labels: [("capability", "records")]),
                                   registry.makeGauge(descriptor: support, labels: [("capability", "plain")]),
                                   registry.makeGauge(descriptor: support, labels: [("capability", "unknown")]))

        let heartbeats = Self.descriptor("heartbeat_publishes", "total", "Heartbeat records published, by result.")
        heartbeatsOK = registry.makeCounter(descriptor: heartbeats, labels: [("result", "ok")])
        heartbeatsFailed = registry.makeCounter(descriptor: heartbeats, labels: [("result", "failed")])
        heartbeatLatency = registry.makeDurationHistogram(
            descriptor: Self.descriptor("heartbeat_publish", "seconds", "Time to publish a heartbeat record, successful or not."),
            buckets: Self.heartbeatLatencyBuckets)
        prunedRecords = counter("pruned_records", "Expired or evicted records removed by the pruner.")
        prunedPeers = counter("pruned_peers", "Dead peers removed by the pruner.")

        // Every label value exists from the start: the core counts methods and codes in closed
        // sets (`QueryKind`, `SentErrorCode`), whatever names arrive off the wire.
        let queries = Self.descriptor("queries_received", "total", "Queries from peers admitted under the rate limit, by method (other: any method this node does not serve).")
        let answers = Self.descriptor("answers_sent", "total", "Answers sent to queries, by the query's method.")
        let errors = Self.descriptor("errors_sent", "total", "KRPC error replies sent, by code (other: any code outside 201-209, 301, 302).")
        let byMethod = QueryKind.allCases.flatMap { kind in
            [CumulativeCounter(registry.makeCounter(descriptor: queries, labels: [("method", kind.name)])) { $0.statistics.queriesReceived[kind] },
             CumulativeCounter(registry.makeCounter(descriptor: answers, labels: [("method", kind.name)])) { $0.statistics.answersSent[kind] }]
        }
        let byCode = SentErrorCode.allCases.map { code in
            CumulativeCounter(registry.makeCounter(descriptor: errors, labels: [("code", code.label)])) { $0.statistics.errorsSentByCode[code] }
        }

        cumulative = byMethod + byCode + [
            CumulativeCounter(counter("datagrams_received", "UDP datagrams received.")) { $0.statistics.datagramsReceived },
            CumulativeCounter(counter("datagrams_sent", "UDP datagrams sent.")) { $0.statistics.datagramsSent },
            CumulativeCounter(counter("bytes_received", "UDP payload bytes received.")) { $0.statistics.bytesReceived },
            CumulativeCounter(counter("bytes_sent", "UDP payload bytes sent.")) { $0.statistics.bytesSent },
            CumulativeCounter(counter("malformed_datagrams", "Datagrams dropped as invalid bencode or KRPC.")) { $0.statistics.malformedDropped },
            CumulativeCounter(counter("oversized_datagrams", "Datagrams dropped for exceeding the size limit.")) { $0.statistics.oversizedDropped },
            CumulativeCounter(counter("wrong_network_datagrams", "Datagrams dropped for carrying another network id.")) { $0.statistics.wrongNetworkDropped },
            CumulativeCounter(counter("unmatched_responses", "Responses matching no request of ours.")) { $0.statistics.unmatchedResponses },
            CumulativeCounter(counter("queries_answered", "Queries from peers answered.")) { $0.statistics.queriesAnswered },
            CumulativeCounter(counter("request_timeouts", "Requests of ours that timed out.")) { $0.statistics.timeouts },
            CumulativeCounter(counter("rate_limited_queries", "Queries dropped because their source exceeded its rate limit.")) { $0.statistics.rateLimited },
            CumulativeCounter(counter("responses_trimmed", "Answers cut to the amplification limit of an unverified requester.")) { $0.statistics.responsesTrimmed },
            CumulativeCounter(counter("record_pages_reused", "get_records pages answered from the page cache, unchanged since built.")) { $0.statistics.recordPagesReused },
            CumulativeCounter(counter("extension_queries_unanswered", "Keyed-record queries of ours that went unanswered (plain Mainline nodes ignore them).")) { $0.statistics.extensionQueriesUnanswered },
            CumulativeCounter(counter("feed_change_reads", "Live-view feed reads of changes since a cursor, completed.")) { $0.statistics.feedChangeReads },
            CumulativeCounter(counter("feed_full_reads", "Live-view feed reads of a whole storage target, completed.")) { $0.statistics.feedFullReads },
            CumulativeCounter(counter("feed_records_received", "Records the live view's feed reads carried.")) { $0.statistics.feedRecordsReceived },
            CumulativeCounter(counter("feed_removals_received", "Owner removals the live view's feed reads carried.")) { $0.statistics.feedRemovalsReceived },
            CumulativeCounter(counter("feed_spot_checks", "Summary-only asks of replicas a live view does not follow.")) { $0.statistics.feedSpotChecks },
            CumulativeCounter(counter("replica_disagreements", "Replicas noticed lacking owners the other replicas a view follows hold, or the node's own heartbeat.")) { $0.statistics.replicaDisagreements },
            CumulativeCounter(counter("replicas_avoided", "Replicas a view stopped following for hiding owners: again after a full read, or the node's own heartbeat they acknowledged.")) { $0.statistics.replicasAvoided },
            CumulativeCounter(counter("unreachable_drops", "Datagrams not sent because the socket cannot reach the address.")) { $0.unreachableDrops },
            CumulativeCounter(counter("socket_reopens", "Times the UDP socket was reopened after a send error closed it.")) { $0.socketReopens },
            CumulativeCounter(counter("signatures_checked_ahead", "Datagrams whose signature a worker thread checked before the event loop took them.")) { $0.signaturesCheckedAhead },
        ]
        lastCumulative = NIOLockedValueBox([Int](repeating: 0, count: cumulative.count))
    }

    private static func descriptor(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: namespace, metricName: name, unitName: unit, helpText: help)
    }

    /// Sets the gauges from `status` (the live view's size included) and advances the cumulative counters by what the core
    /// counted since the previous update. A value below the previous one means the core was
    /// replaced (its counts restarted from zero), so all of it is new.
    public func update(from status: NodeStatus) {
        routingTableSize.set(to: Double(status.routingTableSize))
        recordsStored.set(to: Double(status.storedRecords))
        pendingRequests.set(to: Double(status.pendingRequests))
        contactsByRecordSupport.capable.set(to: Double(status.recordSupport.capable))
        contactsByRecordSupport.plain.set(to: Double(status.recordSupport.plain))
        contactsByRecordSupport.unknown.set(to: Double(status.recordSupport.unknown))
        setLivePeers(status.livePeers)
        lastCumulative.withLockedValue { last in
            for (index, entry) in cumulative.enumerated() {
                let value = max(0, entry.read(status))
                let delta = value >= last[index] ? value - last[index] : value
                if delta > 0 { entry.counter.increment(by: Int64(delta)) }
                last[index] = value
            }
        }
    }

    /// Counts one heartbeat publish and records how long it took.
    public func recordHeartbeat(ok: Bool, latency: Duration) {
        (ok ? heartbeatsOK : heartbeatsFailed).increment()
        heartbeatLatency.record(max(.zero, latency))
    }

    /// Counts what one pruner pass removed.
    public func recordPruned(records: Int, peers: Int) {
        if records > 0 { prunedRecords.increment(by: Int64(records)) }
        if peers > 0 { prunedPeers.increment(by: Int64(peers)) }
    }

    public func setLivePeers(_ n: Int) {
        livePeers.set(to: Double(max(0, n)))
    }

    /// Every metric in the Prometheus text exposition format (version 0.0.4).
    public func render() -> String {
        registry.emitToString()
    }
}

/// A counter that mirrors one of the core's cumulative values.
private struct CumulativeCounter: Sendable {
    let counter: Counter
    let read: @Sendable (NodeStatus) -> Int

    init(_ counter: Counter, _ read: @escaping @Sendable (NodeStatus) -> Int) {
        self.counter = counter
        self.read = read
    }
}
