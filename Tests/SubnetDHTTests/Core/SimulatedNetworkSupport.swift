import Dispatch
import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

/// Runs a test's CPU-bound simulation off the cooperative pool. Swift Testing runs tests
/// concurrently on that pool (one thread per core, 2 here), and a synchronous test body holds
/// its thread until it returns: two in-memory simulations (15 to 20 s of CPU each) left no
/// thread for the async tests that wait on real sockets and wall-clock bounds, and those failed
/// in CI (an HTTP response not within 5 s, a page polled too rarely). Under this trait the
/// test's task prefers `SimulationExecutor`, so its synchronous work runs on a GCD thread the
/// kernel time-slices with the pool, and `#expect` still knows which test it is in.
struct OffCooperativePool: TestTrait, SuiteTrait, TestScoping {
    var isRecursive: Bool { true }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        try await withTaskExecutorPreference(SimulationExecutor.shared) { try await function() }
    }
}

extension Trait where Self == OffCooperativePool {
    /// The suite or test runs its synchronous work on the simulation queue's one GCD thread,
    /// not the cooperative pool.
    static var offCooperativePool: Self { Self() }
}

/// A task executor over one serial GCD queue: one simulation runs at a time, on one thread
/// beside the pool's. A concurrent queue ran them all at once on a dozen threads, and on 2
/// cores the socket tests then got too little CPU to answer within their bounds.
final class SimulationExecutor: TaskExecutor {
    static let shared = SimulationExecutor()
    /// Set on the queue, so a test can tell that it runs there.
    static let marker = DispatchSpecificKey<Bool>()
    let queue = DispatchQueue(label: "subnet-dht.tests.simulation")

    private init() { queue.setSpecific(key: Self.marker, value: true) }

    static var isCurrent: Bool { DispatchQueue.getSpecific(key: marker) == true }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
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
