import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension HTTPTests {
    @Suite struct HealthReportTests {
        static let now = Timestamp(seconds: 1_700_000_100)

        static func report(state: String = "online", lastHeartbeat: Timestamp?, routing: Int = 8,
                           ttl: Int? = 60) -> HealthReport {
            HealthReport(state: state, lastHeartbeat: lastHeartbeat, routingTableSize: routing, livePeers: 3,
                         heartbeatTTLSeconds: ttl)
        }

        @Test func healthyWhileTheLastHeartbeatIsWithinItsTTL() {
            let now = Self.now
            #expect(Self.report(lastHeartbeat: now - .seconds(10)).isHealthy(now: now))
            #expect(Self.report(lastHeartbeat: now - .seconds(60)).isHealthy(now: now))
            #expect(!Self.report(lastHeartbeat: now - .milliseconds(60_001)).isHealthy(now: now))
            #expect(!Self.report(lastHeartbeat: nil).isHealthy(now: now))
            // A heartbeat stamped slightly ahead (another clock) counts as fresh.
            #expect(Self.report(lastHeartbeat: now + .seconds(2)).isHealthy(now: now))
            #expect(!Self.report(state: "stopped", lastHeartbeat: now).isHealthy(now: now))
        }

        @Test func withoutHeartbeatsHealthyWhileTheRoutingTableHasContacts() {
            let now = Self.now
            #expect(Self.report(lastHeartbeat: nil, routing: 5, ttl: nil).isHealthy(now: now))
            #expect(!Self.report(lastHeartbeat: nil, routing: 0, ttl: nil).isHealthy(now: now))
            #expect(Self.report(lastHeartbeat: nil, routing: 1, ttl: 0).isHealthy(now: now))
            #expect(!Self.report(lastHeartbeat: now, routing: 0, ttl: 0).isHealthy(now: now))
        }

        @Test func jsonIsAFlatObject() {
            let now = Self.now
            let fresh = Self.report(lastHeartbeat: now - .milliseconds(12_345))
            #expect(fresh.json(now: now) == #"{"state":"online","healthy":true,"last_heartbeat":1700000087,"last_heartbeat_age_seconds":12.345,"routing_table_size":8,"live_peers":3}"#)
            let never = Self.report(state: "joining", lastHeartbeat: nil, routing: 0)
            #expect(never.json(now: now) == #"{"state":"joining","healthy":false,"last_heartbeat":null,"last_heartbeat_age_seconds":null,"routing_table_size":0,"live_peers":3}"#)
            let odd = Self.report(state: "a\"b\\c\u{1}", lastHeartbeat: now - .seconds(2))
            #expect(odd.json(now: now).hasPrefix(#"{"state":"a\"b\\c\u0001","healthy":true,"last_heartbeat":1700000098,"last_heartbeat_age_seconds":2.000,"#))
        }
    }
}
