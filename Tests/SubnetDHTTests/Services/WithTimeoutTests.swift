import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension ServicesTests {
    @Suite struct WithTimeoutTests {
        /// A body that finishes long before the limit always gives its value: the cancelled timer
        /// once raced it and answered nil (a `/records` read of 20 ms came back as a 504).
        @Test(.timeLimit(.minutes(1))) func aFastBodyIsNeverTakenForATimeout() async {
            var timeouts = 0
            for round in 0..<10_000 {
                if await withTimeout(.seconds(30), { round }) == nil { timeouts += 1 }
            }
            #expect(timeouts == 0)
        }

        @Test(.timeLimit(.minutes(1))) func aSlowBodyTimesOutAtTheLimit() async {
            let started = ContinuousClock.now
            let value = await withTimeout(.milliseconds(200)) { () -> Int in
                try? await Task.sleep(for: .seconds(20))
                return 1
            }
            #expect(value == nil)
            #expect(ContinuousClock.now - started >= .milliseconds(200))
        }
    }
}
