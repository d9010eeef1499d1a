import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

/// Every status-page suite nests here, so `swift test --filter StatusPageTests` runs them all.
extension ServicesTests {
    @Suite enum StatusPageTests {}
}

/// The short name the suites of this folder extend.
typealias StatusPageTests = ServicesTests.StatusPageTests

extension StatusPageTests {
    static let start = Timestamp(seconds: 1_800_000_000)

    /// A peer of port `port`, whose heartbeat was published at `published` and lives `ttl`.
    static func peer(_ key: SigningKey, port: UInt16, state: ServerInfo.State = .online, role: String = "worker",
                     name: String? = nil, published: Timestamp = start, ttl: Duration = .seconds(15)) -> Peer {
        Peer(owner: key.publicKey, info: RecordFixtures.serverInfo(port: port, state: state, role: role, name: name),
             seq: published.milliseconds, expires: (published + ttl).seconds)
    }

    /// A reading of a node whose view holds `live` and `offline` (departed) peers.
    static func reading(live: [Peer], offline: [Peer] = [], routing: Int = 5, records: Int = 7) -> SubnetReading {
        SubnetReading(status: MetricsTests.status(routing: routing, records: records), live: live.sorted { $0.owner < $1.owner },
                      departed: offline.sorted { $0.owner < $1.owner })
    }

    /// Keys in a fixed order, so tests can name "the first peer".
    static let keys = (0..<8).map { _ in SigningKey.generate() }.sorted { $0.publicKey < $1.publicKey }
}
