import SubnetDHTCore

/// Many cores on one ``InMemoryNetwork`` that have joined each other: the one way the
/// multi-node tests and the scale simulation start N nodes in memory, instead of each
/// building its own. Deterministic for a seed, so seeded tests keep their outcomes.
public struct InMemoryTestnet {
    /// Where node `index` listens.
    public enum Addressing: Sendable {
        /// 127.0.0.1, port 20000 + index: every node on one address, as on a machine's
        /// loopback (with `DHTSettings.loopbackTestNetwork`, which lifts one node per IP).
        case loopbackPorts
        /// 10.0.0.1 + index, port 6881: an address per node as on a real network, so per-IP
        /// rate limits, tokens and amplification limits apply per node.
        case addressPerNode

        public func endpoint(ofNode index: Int) -> Endpoint {
            switch self {
            case .loopbackPorts: Endpoint(address: .v4(0x7f00_0001), port: UInt16(20000 + index))
            case .addressPerNode: Endpoint(address: .v4(0x0A00_0000 + UInt32(index) + 1), port: 6881)
            }
        }
    }

    public let network: InMemoryNetwork
    /// Node `index` listens at `endpoints[index]` with id `ids[index]`.
    public let endpoints: [Endpoint]
    public let ids: [NodeID]

    /// `count` cores on ``Addressing/loopbackPorts``, all started at once; each in turn
    /// bootstraps through the first node and waits for it, then each in turn looks up its own
    /// id once more, so early joiners learn of later ones as bucket refresh would. Node `i`'s
    /// id and core seed are the `2i`-th and `2i+1`-th draws of `SplitMix64(seed:)`: the tests'
    /// seeded outcomes depend on that order.
    public init(count: Int, seed: UInt64 = 1, settings: DHTSettings = .loopbackTestNetwork, latency: Duration = .milliseconds(5)) {
        network = InMemoryNetwork(latency: latency, seed: seed)
        var generator = SplitMix64(seed: seed)
        var endpoints = [Endpoint]()
        var ids = [NodeID]()
        for index in 0..<count {
            let endpoint = Addressing.loopbackPorts.endpoint(ofNode: index)
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
        for endpoint in endpoints {
            let operation = network.with(endpoint) { core, now in core.startLookup(target: core.localID, kind: .findNode, now: now) }
            _ = network.await(operation, at: endpoint)
        }
    }

    /// `count` cores on `network`, grown as a large network grows: the first node alone, then
    /// batches of up to `joinBatch` new nodes (never more than have joined), each node started
    /// as its batch starts and bootstrapping through a random node that has already joined, the
    /// whole batch at once. Quick enough for 100,000 nodes, where the one-at-a-time joins of
    /// ``init(count:seed:settings:latency:)`` are not. The ids are the first `count` draws of
    /// `generator`; each joiner's core seed and then its random member follow. `joined` is
    /// told after each batch how many have joined and the batch's bootstrap results.
    public init(growing count: Int, on network: InMemoryNetwork, settings: DHTSettings, joinBatch: Int,
                addressing: Addressing = .addressPerNode, generator: inout SplitMix64,
                joined report: (_ joined: Int, _ results: [OperationResult?]) -> Void = { _, _ in }) {
        precondition(count > 0, "a network needs a first node")
        self.network = network
        let endpoints = (0..<count).map(addressing.endpoint(ofNode:))
        let ids = (0..<count).map { _ in NodeID.random(using: &generator) }
        self.endpoints = endpoints
        self.ids = ids
        network.add(DHTCore(localID: ids[0], settings: settings, seed: generator.next(), now: network.now), at: endpoints[0])
        var joined = 1
        while joined < count {
            let batch = min(joinBatch, joined, count - joined)
            let first = joined
            let results = network.runOperations(batch, parallel: batch) { offset in
                let index = first + offset
                network.add(DHTCore(localID: ids[index], settings: settings, seed: generator.next(), now: network.now), at: endpoints[index])
                let seed = endpoints[Int(generator.next() % UInt64(first))]
                return (endpoints[index], network.with(endpoints[index]) { core, now in core.bootstrap(from: [seed], now: now) })
            }
            joined += batch
            report(joined, results)
        }
    }

    public func lookup(from endpoint: Endpoint, target: NodeID, kind: LookupKind) -> LookupResult? {
        let operation = network.with(endpoint) { core, now in core.startLookup(target: target, kind: kind, now: now) }
        guard case .lookup(let result)? = network.await(operation, at: endpoint) else { return nil }
        return result
    }

    public func store(from endpoint: Endpoint, target: NodeID, plan: StorePlan) -> StoreResult? {
        let operation = network.with(endpoint) { core, now in core.startStore(target: target, plan: plan, now: now) }
        guard case .store(let result)? = network.await(operation, at: endpoint) else { return nil }
        return result
    }

    /// The k ids closest to `target` among the nodes at `live` (all when nil), by brute force:
    /// what a lookup should have found.
    public func trueClosest(to target: NodeID, k: Int, among live: Set<Endpoint>? = nil) -> [NodeID] {
        Self.closest(to: target, among: zip(ids, endpoints).filter { live?.contains($0.1) ?? true }.map(\.0), count: k)
    }

    /// The `count` ids closest to `target`, nearest first, by brute force in one pass (the scale
    /// simulation checks lookups among 100,000 ids with it).
    public static func closest(to target: NodeID, among ids: [NodeID], count: Int) -> [NodeID] {
        var best: [(distance: NodeID, id: NodeID)] = []
        best.reserveCapacity(count + 1)
        for id in ids {
            let distance = id.distance(to: target)
            if best.count == count, let last = best.last, !(distance < last.distance) { continue }
            let position = best.firstIndex { distance < $0.distance } ?? best.count
            best.insert((distance, id), at: position)
            if best.count > count { best.removeLast() }
        }
        return best.map(\.id)
    }
}
