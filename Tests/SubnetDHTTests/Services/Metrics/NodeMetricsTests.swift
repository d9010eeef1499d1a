import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension MetricsTests {
    @Suite struct NodeMetricsTests {
        @Test func renderShowsEveryMetricWithItsValue() {
            let metrics = NodeMetrics()
            metrics.update(from: MetricsTests.status(routing: 12, records: 5, pending: 2, received: 100, sent: 90, malformed: 3))
            metrics.recordHeartbeat(ok: true, latency: .milliseconds(20))
            metrics.recordHeartbeat(ok: false, latency: .seconds(3))
            metrics.recordRequest(method: "ping")
            metrics.recordRequest(method: "ping")
            metrics.recordRequest(method: "get_peers")
            metrics.recordError(code: 203)
            metrics.recordPruned(records: 3, peers: 1)
            metrics.setLivePeers(7)
            let text = metrics.render()

            let expected: [(String, Double)] = [
                ("subnet_dht_routing_table_size", 12),
                ("subnet_dht_records_stored", 5),
                ("subnet_dht_pending_requests", 2),
                ("subnet_dht_live_peers", 7),
                ("subnet_dht_datagrams_received_total", 100),
                ("subnet_dht_datagrams_sent_total", 90),
                ("subnet_dht_malformed_datagrams_total", 3),
                (#"subnet_dht_requests_total{method="ping"}"#, 2),
                (#"subnet_dht_requests_total{method="get_peers"}"#, 1),
                (#"subnet_dht_errors_total{code="203"}"#, 1),
                (#"subnet_dht_heartbeat_publishes_total{result="ok"}"#, 1),
                (#"subnet_dht_heartbeat_publishes_total{result="failed"}"#, 1),
                ("subnet_dht_heartbeat_publish_seconds_count", 2),
                (#"subnet_dht_heartbeat_publish_seconds_bucket{le="0.025"}"#, 1),
                (#"subnet_dht_heartbeat_publish_seconds_bucket{le="+Inf"}"#, 2),
                ("subnet_dht_heartbeat_publish_seconds_sum", 3.02),
                ("subnet_dht_pruned_records_total", 3),
                ("subnet_dht_pruned_peers_total", 1),
            ]
            for (series, value) in expected {
                #expect(MetricsTests.value(of: series, in: text) == value, "\(series) in:\n\(text)")
            }
            #expect(text.contains("# TYPE subnet_dht_requests_total counter"))
            #expect(text.contains("# TYPE subnet_dht_routing_table_size gauge"))
            #expect(text.contains("# TYPE subnet_dht_heartbeat_publish_seconds histogram"))
            #expect(text.contains("# HELP subnet_dht_datagrams_received_total "))
        }

        @Test func contactsByRecordSupportAndUnansweredExtensionQueries() {
            let metrics = NodeMetrics()
            var status = MetricsTests.status(routing: 9)
            status.recordSupport = RecordSupportCounts(capable: 2, plain: 6, unknown: 1)
            status.statistics.extensionQueriesUnanswered = 4
            metrics.update(from: status)
            let text = metrics.render()
            #expect(MetricsTests.value(of: #"subnet_dht_contacts{capability="records"}"#, in: text) == 2, "\(text)")
            #expect(MetricsTests.value(of: #"subnet_dht_contacts{capability="plain"}"#, in: text) == 6)
            #expect(MetricsTests.value(of: #"subnet_dht_contacts{capability="unknown"}"#, in: text) == 1)
            #expect(MetricsTests.value(of: "subnet_dht_extension_queries_unanswered_total", in: text) == 4)
            status.recordSupport = RecordSupportCounts(capable: 3, plain: 5, unknown: 0)
            status.statistics.extensionQueriesUnanswered = 5
            metrics.update(from: status)
            #expect(MetricsTests.value(of: #"subnet_dht_contacts{capability="plain"}"#, in: metrics.render()) == 5)
            #expect(MetricsTests.value(of: "subnet_dht_extension_queries_unanswered_total", in: metrics.render()) == 5)
        }

        @Test func countersAddTheDeltaAndNeverDecrease() {
            let metrics = NodeMetrics()
            func received() -> Double? { MetricsTests.value(of: "subnet_dht_datagrams_received_total", in: metrics.render()) }
            func routing() -> Double? { MetricsTests.value(of: "subnet_dht_routing_table_size", in: metrics.render()) }

            metrics.update(from: MetricsTests.status(routing: 10, received: 100))
            #expect(received() == 100)
            metrics.update(from: MetricsTests.status(routing: 8, received: 150))
            #expect(received() == 150)
            metrics.update(from: MetricsTests.status(routing: 8, received: 150))
            #expect(received() == 150)
            // A replaced core counts from zero again: its 40 are new, the counter does not go back.
            metrics.update(from: MetricsTests.status(routing: 3, received: 40))
            #expect(received() == 190)
            #expect(routing() == 3)  // gauges follow the status down
            metrics.update(from: MetricsTests.status(routing: 3, received: 45))
            #expect(received() == 195)
        }

        @Test func everyCounterIsMonotonicOverManyUpdates() {
            let metrics = NodeMetrics()
            let counters = ["subnet_dht_datagrams_received_total", "subnet_dht_datagrams_sent_total",
                            "subnet_dht_malformed_datagrams_total", "subnet_dht_request_timeouts_total",
                            "subnet_dht_unreachable_drops_total"]
            var previous = [Double](repeating: 0, count: counters.count)
            var random = SplitMix64(seed: 7)
            var core = (received: 0, sent: 0, malformed: 0, timeouts: 0, unreachable: 0)
            for _ in 0..<200 {
                if random.next() % 10 == 0 {
                    core = (0, 0, 0, 0, 0)  // the core was replaced
                } else {
                    core.received += Int(random.next() % 50)
                    core.sent += Int(random.next() % 50)
                    core.malformed += Int(random.next() % 3)
                    core.timeouts += Int(random.next() % 4)
                    core.unreachable += Int(random.next() % 2)
                }
                metrics.update(from: MetricsTests.status(received: core.received, sent: core.sent, malformed: core.malformed,
                                                         timeouts: core.timeouts, unreachable: core.unreachable))
                let text = metrics.render()
                for (index, name) in counters.enumerated() {
                    let value = MetricsTests.value(of: name, in: text) ?? -1
                    #expect(value >= previous[index], "\(name) went from \(previous[index]) to \(value)")
                    previous[index] = value
                }
            }
            #expect(previous[0] > 0)
        }

        @Test func labelValuesAreBounded() {
            let metrics = NodeMetrics(labelValueLimit: 3)
            for method in ["a", "b", "c", "d", "e", "a"] { metrics.recordRequest(method: method) }
            for code in [201, 202, 203, 204, 205] { metrics.recordError(code: code) }
            let text = metrics.render()
            #expect(MetricsTests.value(of: #"subnet_dht_requests_total{method="a"}"#, in: text) == 2)
            #expect(MetricsTests.value(of: #"subnet_dht_requests_total{method="c"}"#, in: text) == 1)
            #expect(MetricsTests.value(of: #"subnet_dht_requests_total{method="d"}"#, in: text) == nil)
            #expect(MetricsTests.value(of: #"subnet_dht_requests_total{method="other"}"#, in: text) == 2)
            #expect(MetricsTests.value(of: #"subnet_dht_errors_total{code="other"}"#, in: text) == 2)
        }

        @Test func nodesInOneProcessKeepSeparateMetrics() {
            let first = NodeMetrics(), second = NodeMetrics()
            first.update(from: MetricsTests.status(routing: 9, received: 50))
            first.recordHeartbeat(ok: true, latency: .milliseconds(1))
            let text = second.render()
            #expect(MetricsTests.value(of: "subnet_dht_routing_table_size", in: text) == 0)
            #expect(MetricsTests.value(of: "subnet_dht_datagrams_received_total", in: text) == 0)
            #expect(MetricsTests.value(of: #"subnet_dht_heartbeat_publishes_total{result="ok"}"#, in: text) == 0)
            #expect(MetricsTests.value(of: "subnet_dht_datagrams_received_total", in: first.render()) == 50)
        }
    }
}
