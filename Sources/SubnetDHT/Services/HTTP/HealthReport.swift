import SubnetDHTCore
/// What `/health` reports about a node, and whether that counts as healthy.
///
/// With heartbeats on, a node is healthy while its last successful heartbeat is no older
/// than the heartbeat TTL (the moment its record would vanish from the network); with them
/// off, while its routing table is not empty. A stopped node is never healthy.
public struct HealthReport: Sendable, Equatable {
    /// `"joining"`, `"online"`, `"offline"` or `"stopped"`.
    public var state: String
    /// When the last heartbeat was published successfully; nil before the first one.
    public var lastHeartbeat: Timestamp?
    public var routingTableSize: Int
    public var livePeers: Int
    /// How long a heartbeat record lives; nil (or not positive) when heartbeats are off.
    public var heartbeatTTLSeconds: Int?

    public init(state: String, lastHeartbeat: Timestamp?, routingTableSize: Int, livePeers: Int,
                heartbeatTTLSeconds: Int?) {
        self.state = state
        self.lastHeartbeat = lastHeartbeat
        self.routingTableSize = routingTableSize
        self.livePeers = livePeers
        self.heartbeatTTLSeconds = heartbeatTTLSeconds
    }

    public var heartbeatsEnabled: Bool { (heartbeatTTLSeconds ?? 0) > 0 }

    /// Time since the last successful heartbeat (zero when it lies ahead of `now`), or nil before the first.
    public func lastHeartbeatAge(now: Timestamp) -> Duration? {
        lastHeartbeat.map { max(.zero, now - $0) }
    }

    public func isHealthy(now: Timestamp) -> Bool {
        guard state != "stopped" else { return false }
        guard let ttl = heartbeatTTLSeconds, ttl > 0 else { return routingTableSize > 0 }
        guard let age = lastHeartbeatAge(now: now) else { return false }
        return age <= .seconds(ttl)
    }

    /// A flat JSON object: `state`, `healthy`, `last_heartbeat` (Unix seconds or null),
    /// `last_heartbeat_age_seconds` (millisecond precision, or null), `routing_table_size`, `live_peers`.
    public func json(now: Timestamp) -> String {
        var fields: [String] = []
        fields.append("\"state\":\(JSONText.quoted(state))")
        fields.append("\"healthy\":\(isHealthy(now: now))")
        fields.append("\"last_heartbeat\":\(lastHeartbeat.map { String($0.seconds) } ?? "null")")
        fields.append("\"last_heartbeat_age_seconds\":\(lastHeartbeatAge(now: now).map(Self.seconds) ?? "null")")
        fields.append("\"routing_table_size\":\(routingTableSize)")
        fields.append("\"live_peers\":\(livePeers)")
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// `12.345` for 12,345 ms.
    private static func seconds(_ duration: Duration) -> String {
        let milliseconds = duration.millisecondsValue
        let fraction = String(milliseconds % 1000)
        return "\(milliseconds / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
