import Testing

extension CoreTests {
    /// The trait the in-memory simulations run under: without it their synchronous bodies hold
    /// threads of the cooperative pool and starve the socket tests.
    @Suite struct OffCooperativePoolTests {
        @Test(.offCooperativePool) func aSynchronousTestRunsOnTheSimulationQueue() {
            #expect(SimulationExecutor.isCurrent)
        }

        @Test(.offCooperativePool) func anAsyncTestStaysThereAcrossSuspensions() async throws {
            #expect(SimulationExecutor.isCurrent)
            try await Task.sleep(for: .milliseconds(1))
            #expect(SimulationExecutor.isCurrent)
        }

        @Test func otherTestsRunOnTheCooperativePool() {
            #expect(!SimulationExecutor.isCurrent)
        }
    }
}
