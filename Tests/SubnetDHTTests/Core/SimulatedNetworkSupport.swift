import Dispatch
@testable import SubnetDHT

/// Runs CPU-bound simulation work on a GCD thread. Swift Testing runs tests concurrently on the
/// cooperative pool (one thread per core, 2 here): a long synchronous test there starves the
/// async tests that wait on sockets with wall-clock timeouts, which then fail.
func offCooperativePool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: body()) }
    }
}

/// Builds an in-memory network of `count` cores on 127.0.0.1 ports 20000+ that have all
/// bootstrapped through the first node.
struct SimulatedSubnet {
    let network: InMemoryNetwork
    let endpoints: [Endpoint]
    let ids: [NodeID]

    init(count: Int, seed: UInt64 = 1, settings: DHTSettings = .loopbackTestNetwork, latency: Duration = .milliseconds(5)) {
        network = InMemoryNetwork(latency: latency, seed: seed)
        var generator = SplitMix64(seed: seed)
        var endpoints = [Endpoint]()
        var ids = [NodeID]()
        for index in 0..<count {
            let endpoint = Endpoint(address: .v4(0x7f00_0001), port: UInt16(20000 + index))
            let id = NodeID.random(using: &generator)
            network.add(DHTCore(localID: id, settings: settings, seed: generator.next(), now: network.now), at: endpoint)
            endpoints.append(endpoint)
            ids.append(id)
        }
        self.endpoints = endpoints
        self.ids = ids
        for endpoint in endpoints.dropFirst() {
            let seed = endpoints[0]
            let operation = network.with(endpoint) { core, now in core.bootstrap(from: [seed], now: now) }
            _ = network.await(operation, at: endpoint)
        }
        // A second round lets early joiners learn of later ones, as bucket refresh would.
        for endpoint in endpoints {
            let operation = network.with(endpoint) { core, now in core.startLookup(target: core.localID, kind: .findNode, now: now) }
            _ = network.await(operation, at: endpoint)
        }
    }

    func lookup(from endpoint: Endpoint, target: NodeID, kind: LookupKind) -> LookupResult? {
        let operation = network.with(endpoint) { core, now in core.startLookup(target: target, kind: kind, now: now) }
        guard case .lookup(let result)? = network.await(operation, at: endpoint) else { return nil }
        return result
    }

    func store(from endpoint: Endpoint, target: NodeID, plan: StorePlan) -> StoreResult? {
        let operation = network.with(endpoint) { core, now in core.startStore(target: target, plan: plan, now: now) }
        guard case .store(let result)? = network.await(operation, at: endpoint) else { return nil }
        return result
    }

    /// The k ids closest to `target` among the live nodes, by brute force.
    func trueClosest(to target: NodeID, k: Int, among live: Set<Endpoint>? = nil) -> [NodeID] {
        zip(ids, endpoints).filter { live?.contains($0.1) ?? true }.map(\.0)
            .sorted { $0.distance(to: target) < $1.distance(to: target) }.prefix(k).map { $0 }
    }
}
