import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

/// Every metrics suite nests here, so `swift test --filter MetricsTests` runs them all.
extension ServicesTests {
    @Suite enum MetricsTests {}
}

/// The short name the suites of this folder extend.
typealias MetricsTests = ServicesTests.MetricsTests

extension MetricsTests {
    static func status(routing: Int = 0, records: Int = 0, pending: Int = 0, received: Int = 0, sent: Int = 0,
                       malformed: Int = 0, timeouts: Int = 0, unreachable: Int = 0) -> NodeStatus {
        var statistics = CoreStatistics()
        statistics.datagramsReceived = received
        statistics.datagramsSent = sent
        statistics.malformedDropped = malformed
        statistics.timeouts = timeouts
        return NodeStatus(routingTableSize: routing, pendingRequests: pending, storedRecords: records,
                          statistics: statistics, unreachableDrops: unreachable, socketReopens: 0,
                          signaturesCheckedAhead: 0)
    }

    /// The value of the sample line for `series` (a name with its labels, as rendered), or nil.
    static func value(of series: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }
}
