import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension MetricsTests {
    @Suite struct NodeMetricsTests {
        @Test func renderShowsEveryMetricWithItsValue() {
            let metrics = NodeMetrics()
            var status = MetricsTests.status(routing: 12, records: 5, pending: 2, received: 100, sent: 90, malformed: 3)
            status.statistics.queriesReceived.add(.ping, 2)
            status.statistics.queriesReceived.add(.getPeers)
            status.statistics.answersSent.add(.ping, 2)
            status.statistics.errorsSentByCode.add(.protocol203)
            status.statistics.bytesReceived = 4_000
            status.statistics.bytesSent = 3_500
            metrics.update(from: status)
            metrics.recordHeartbeat(ok: true, latency: .milliseconds(20))
            metrics.recordHeartbeat(ok: false, latency: .seconds(3))
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
                ("subnet_dht_bytes_received_total", 4_000),
                ("subnet_dht_bytes_sent_total", 3_500),
                (#"subnet_dht_queries_received_total{method="ping"}"#, 2),
                (#"subnet_dht_queries_received_total{method="get_peers"}"#, 1),
                (#"subnet_dht_queries_received_total{method="get_records"}"#, 0),
                (#"subnet_dht_answers_sent_total{method="ping"}"#, 2),
                (#"subnet_dht_answers_sent_total{method="get_peers"}"#, 0),
                (#"subnet_dht_errors_sent_total{code="203"}"#, 1),
                (#"subnet_dht_errors_sent_total{code="other"}"#, 0),
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
            #expect(text.contains("# TYPE subnet_dht_queries_received_total counter"))
            #expect(text.contains("# TYPE subnet_dht_answers_sent_total counter"))
            #expect(text.contains("# TYPE subnet_dht_errors_sent_total counter"))
            #expect(text.contains("# TYPE subnet_dht_bytes_sent_total counter"))
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
                            "subnet_dht_unreachable_drops_total", "subnet_dht_bytes_received_total", "subnet_dht_bytes_sent_total",
                            #"subnet_dht_queries_received_total{method="get_records"}"#, #"subnet_dht_errors_sent_total{code="203"}"#]
            var previous = [Double](repeating: 0, count: counters.count)
            var random = SplitMix64(seed: 7)
            var core = (received: 0, sent: 0, malformed: 0, timeouts: 0, unreachable: 0)
            var traffic = CoreStatistics()
            for _ in 0..<200 {
                if random.next() % 10 == 0 {
                    core = (0, 0, 0, 0, 0)  // the core was replaced
                    traffic = CoreStatistics()
                } else {
                    core.received += Int(random.next() % 50)
                    core.sent += Int(random.next() % 50)
                    core.malformed += Int(random.next() % 3)
                    core.timeouts += Int(random.next() % 4)
                    core.unreachable += Int(random.next() % 2)
                    traffic.bytesReceived += Int(random.next() % 5_000)
                    traffic.bytesSent += Int(random.next() % 5_000)
                    traffic.queriesReceived.add(.getRecords, Int(random.next() % 20))
                    traffic.errorsSentByCode.add(.protocol203, Int(random.next() % 2))
                }
                var status = MetricsTests.status(received: core.received, sent: core.sent, malformed: core.malformed,
                                                 timeouts: core.timeouts, unreachable: core.unreachable)
                status.statistics.bytesReceived = traffic.bytesReceived
                status.statistics.bytesSent = traffic.bytesSent
                status.statistics.queriesReceived = traffic.queriesReceived
                status.statistics.errorsSentByCode = traffic.errorsSentByCode
                metrics.update(from: status)
                let text = metrics.render()
                for (index, name) in counters.enumerated() {
                    let value = MetricsTests.value(of: name, in: text) ?? -1
                    #expect(value >= previous[index], "\(name) went from \(previous[index]) to \(value)")
                    previous[index] = value
                }
            }
            #expect(previous.allSatisfy { $0 > 0 }, "\(zip(counters, previous).map { "\($0) \($1)" })")
        }

        @Test func trafficByMethodAndCodeAdvancesWithTheCoreAndNeverDecreases() {
            let metrics = NodeMetrics()
            func value(_ series: String) -> Double? { MetricsTests.value(of: series, in: metrics.render()) }
            var statistics = CoreStatistics()
            statistics.queriesReceived.add(.getRecords, 7)
            statistics.queriesReceived.add(.announceRecord, 3)
            statistics.queriesReceived.add(.other, 2)
            statistics.answersSent.add(.getRecords, 7)
            statistics.answersSent.add(.announceRecord, 2)
            statistics.errorsSentByCode.add(.sequenceNotNewer302)
            statistics.errorsSentByCode.add(.methodUnknown204, 2)
            statistics.bytesReceived = 900
            statistics.bytesSent = 2_000
            var status = MetricsTests.status()
            status.statistics = statistics
            metrics.update(from: status)
            #expect(value(#"subnet_dht_queries_received_total{method="get_records"}"#) == 7)
            #expect(value(#"subnet_dht_queries_received_total{method="announce_record"}"#) == 3)
            #expect(value(#"subnet_dht_queries_received_total{method="other"}"#) == 2)
            #expect(value(#"subnet_dht_answers_sent_total{method="announce_record"}"#) == 2)
            #expect(value(#"subnet_dht_errors_sent_total{code="302"}"#) == 1)
            #expect(value(#"subnet_dht_errors_sent_total{code="204"}"#) == 2)
            #expect(value("subnet_dht_bytes_received_total") == 900)
            #expect(value("subnet_dht_bytes_sent_total") == 2_000)

            // The same core later: each series advances by its own difference.
            status.statistics.queriesReceived.add(.getRecords, 5)
            status.statistics.errorsSentByCode.add(.methodUnknown204)
            status.statistics.bytesSent += 1_000
            metrics.update(from: status)
            #expect(value(#"subnet_dht_queries_received_total{method="get_records"}"#) == 12)
            #expect(value(#"subnet_dht_queries_received_total{method="announce_record"}"#) == 3)
            #expect(value(#"subnet_dht_errors_sent_total{code="204"}"#) == 3)
            #expect(value("subnet_dht_bytes_sent_total") == 3_000)

            // A replaced core counts from zero: its counts are added, nothing goes back.
            var fresh = MetricsTests.status()
            fresh.statistics.queriesReceived.add(.getRecords)
            fresh.statistics.bytesSent = 10
            metrics.update(from: fresh)
            #expect(value(#"subnet_dht_queries_received_total{method="get_records"}"#) == 13)
            #expect(value(#"subnet_dht_queries_received_total{method="announce_record"}"#) == 3)
            #expect(value(#"subnet_dht_errors_sent_total{code="204"}"#) == 3)
            #expect(value("subnet_dht_bytes_sent_total") == 3_010)
            #expect(value("subnet_dht_bytes_received_total") == 900)
        }

        @Test func methodAndCodeLabelsAreAFixedSet() {
            let metrics = NodeMetrics()
            let text = metrics.render()
            func labels(of family: String, _ label: String) -> Set<String> {
                let prefix = "\(family){\(label)=\""
                return Set(text.split(separator: "\n").filter { $0.hasPrefix(prefix) }.map { line in
                    String(line.dropFirst(prefix.count).prefix { $0 != "\"" })
                })
            }
            let methods: Set = ["ping", "find_node", "get_peers", "announce_peer", "get", "put", "get_records", "announce_record", "get_record_changes", "other"]
            #expect(labels(of: "subnet_dht_queries_received_total", "method") == methods)
            #expect(labels(of: "subnet_dht_answers_sent_total", "method") == methods)
            #expect(labels(of: "subnet_dht_errors_sent_total", "code")
                == ["201", "202", "203", "204", "205", "206", "207", "208", "209", "301", "302", "other"])
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
