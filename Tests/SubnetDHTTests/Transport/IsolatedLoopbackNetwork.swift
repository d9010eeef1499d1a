@testable import SubnetDHT
@testable import SubnetDHTCore

/// Nodes of one in-process loopback test network. Swift Testing runs suites in parallel in
/// one process, and a port one test's node closes may be taken by another test's node: a
/// network id of its own keeps every test's nodes from answering another test's lookups.
struct IsolatedLoopbackNetwork {
    let networkID = Int64.random(in: 1...Int64.max)

    func configuration(host: String = "127.0.0.1") -> DHTNode.Configuration {
        var configuration = DHTNode.Configuration(host: host, port: 0)
        configuration.settings.networkID = networkID
        return configuration
    }

    func start(_ count: Int, host: String = "127.0.0.1") async throws -> [DHTNode] {
        var nodes = [DHTNode]()
        for _ in 0..<count { nodes.append(try await DHTNode.start(configuration(host: host))) }
        return nodes
    }
}
