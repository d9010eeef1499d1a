import Dispatch
import Testing

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
