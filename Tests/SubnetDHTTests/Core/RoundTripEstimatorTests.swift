import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension CoreTests {
    @Suite struct RoundTripEstimatorTests {
        let estimator = RoundTripEstimator(floor: .milliseconds(250), ceiling: .seconds(2))

        @Test func waitsTheCeilingUntilSomethingIsMeasured() {
            #expect(estimator.timeout(attempt: 1) == .seconds(2))
            #expect(estimator.smoothedRoundTrip == nil)
        }

        @Test func fastNetworksGetTheFloorDoubledPerResend() {
            var estimator = estimator
            for _ in 0..<20 { estimator.observe(.milliseconds(2)) }
            #expect(estimator.smoothedRoundTrip == .milliseconds(2))
            #expect(estimator.timeout(attempt: 1) == .milliseconds(250))
            #expect(estimator.timeout(attempt: 2) == .milliseconds(500))
            #expect(estimator.timeout(attempt: 3) == .milliseconds(1000))
            #expect(estimator.timeout(attempt: 4) == .seconds(2), "never beyond the ceiling")
        }

        @Test func slowAndJitteryPathsWaitLonger() {
            var estimator = estimator
            for sample in [300, 500, 300, 500, 300, 500, 300, 500] { estimator.observe(.milliseconds(Int64(sample))) }
            let wait = estimator.timeout(attempt: 1)
            // srtt near 400 ms plus four deviations of about 100 ms.
            #expect(wait > .milliseconds(600) && wait < .milliseconds(1000), "\(wait)")
        }
    }
}
