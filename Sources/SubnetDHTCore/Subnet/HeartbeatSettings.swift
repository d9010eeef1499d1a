/// How often a peer announces itself and for how long each announcement counts
/// (docs/PROTOCOL.md 5).
public struct HeartbeatSettings: Hashable, Sendable {
    /// The key heartbeats go under.
    public var key: String = "node"
    /// Time between heartbeats: 30 s keeps a 10,000-peer subnet's load on the key's replicas
    /// near 330 stores a second.
    public var interval: Duration = .seconds(30)
    /// How long one heartbeat counts: three intervals, so two lost heartbeats are forgiven.
    public var ttl: Duration = .seconds(90)
    /// Upkeep of storage, routing table and live view: 10 s bounds how long a dead peer lingers past its TTL.
    public var pruneInterval: Duration = .seconds(10)

    /// 10 s, or half of TTL - interval when that is shorter: the live view is read every prune
    /// interval, and read less often than TTL - interval it would lose live peers between reads.
    public static func defaultPruneInterval(interval: Duration, ttl: Duration) -> Duration {
        min(.seconds(10), max((ttl - interval) / 2, .milliseconds(100)))
    }
    /// First retry delay after a failed publish, doubling, never past the interval.
    public var firstRetryDelay: Duration = .seconds(1)

    /// `pruneInterval` nil picks `defaultPruneInterval(interval:ttl:)`.
    public init(key: String = "node", interval: Duration = .seconds(30), ttl: Duration = .seconds(90),
                pruneInterval: Duration? = nil) {
        self.key = key
        self.interval = interval
        self.ttl = ttl
        self.pruneInterval = pruneInterval ?? Self.defaultPruneInterval(interval: interval, ttl: ttl)
    }

    /// Checks the relations the heartbeat relies on; the error says what to change.
    public func validate() throws(HeartbeatSettingsError) {
        guard interval > .zero else { throw .invalid("the heartbeat interval must be positive") }
        guard pruneInterval > .zero else { throw .invalid("the prune interval must be positive") }
        // Expiries are whole seconds, rounded down: a TTL at least a second past the interval
        // keeps each heartbeat alive until the next one lands.
        guard ttl >= interval + .seconds(1) else {
            throw .invalid("the heartbeat TTL (\(ttl)) must be at least 1 s longer than the interval (\(interval)), or peers expire between heartbeats")
        }
        // A view is read every prune interval and keeps each record until it expires, at
        // worst TTL - interval after the last read saw it: read less often and live peers
        // drop out of views between reads.
        guard pruneInterval < ttl - interval else {
            throw .invalid("the prune interval (\(pruneInterval)) must be shorter than TTL - interval (\(ttl - interval)), or live peers drop out of views between reads")
        }
        guard ttl <= .seconds(3600) else { throw .invalid("the heartbeat TTL may be at most 3600 s (the `node` key's limit)") }
        guard (1...64).contains(key.utf8.count) else { throw .invalid("the heartbeat key must be 1 to 64 bytes") }
    }
}

/// Why heartbeat settings cannot work, from `HeartbeatSettings.validate()`.
public enum HeartbeatSettingsError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The relation that fails and what to change, in words.
    case invalid(String)
    /// The reason alone, ready to print.
    public var description: String {
        switch self {
        case .invalid(let reason): reason
        }
    }
}
