/// How long to wait for an answer before sending a query again, learnt from the answers we
/// get (RFC 6298: smoothed round-trip time plus four deviations, doubled per attempt).
///
/// A fixed 2 s timeout made every lookup that met one dead node wait 4 s (two attempts), and
/// in a small subnet every lookup meets it: heartbeats then arrived at the replicas seconds
/// late and lapsed before the next one. With the timeout learnt, a dead node costs a few
/// round trips, while a lost datagram is still retried, since only the wait shrinks.
struct RoundTripEstimator {
    /// Never wait less than this, so a peer that is busy for a moment is not declared dead.
    let floor: Duration
    /// Never wait more than this: the configured request timeout.
    let ceiling: Duration
    private var smoothed: Double?
    private var deviation = 0.0

    init(floor: Duration, ceiling: Duration) {
        self.floor = min(floor, ceiling)
        self.ceiling = ceiling
    }

    /// An answer to a query sent once (Karn: answers to resent queries are ambiguous).
    mutating func observe(_ sample: Duration) {
        let milliseconds = Double(max(sample.millisecondsValue, 0))
        guard let current = smoothed else {
            smoothed = milliseconds
            deviation = milliseconds / 2
            return
        }
        deviation = 0.75 * deviation + 0.25 * abs(current - milliseconds)
        smoothed = 0.875 * current + 0.125 * milliseconds
    }

    /// The wait for attempt `attempt` (1 for the first send): the ceiling until anything has
    /// been measured, then srtt + 4 * rttvar within [floor, ceiling], doubled per resend.
    func timeout(attempt: Int) -> Duration {
        guard let smoothed else { return ceiling }
        let base = max(Int64((smoothed + 4 * deviation).rounded(.up)), floor.millisecondsValue)
        let doubled = base << Int64(min(max(attempt - 1, 0), 8))
        return .milliseconds(min(doubled, ceiling.millisecondsValue))
    }

    /// The current estimate, for metrics and tests; nil before the first answer.
    var smoothedRoundTrip: Duration? { smoothed.map { .milliseconds(Int64($0.rounded())) } }
}
