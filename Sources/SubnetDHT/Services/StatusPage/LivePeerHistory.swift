import SubnetDHTCore
/// The number of live peers over the last hour, for the status page's chart. One sample per
/// interval (30 s), holding the lowest, highest and latest count seen in it, so a peer that
/// left and came back between two samples still shows as a dip. Pure and bounded: at most
/// `capacity` samples (window / interval, 120), none older than the window, whatever the
/// clock does.
struct LivePeerHistory: Sendable, Equatable {
    struct Sample: Sendable, Equatable {
        /// The start of the sample's interval.
        var start: Timestamp
        var low: Int
        var high: Int
        var last: Int
    }

    let interval: Duration
    let window: Duration
    /// Oldest first; starts strictly increasing.
    private(set) var samples: [Sample] = []

    /// `interval` at least a millisecond, `window` at least one interval.
    init(interval: Duration = .seconds(30), window: Duration = .seconds(3600)) {
        self.interval = max(interval, .milliseconds(1))
        self.window = max(window, self.interval)
    }

    /// Most samples kept.
    var capacity: Int { Int(window.millisecondsValue / interval.millisecondsValue) }

    /// Counts `live` peers seen at `now`.
    mutating func record(_ live: Int, at now: Timestamp) {
        let step = interval.millisecondsValue
        let start = Timestamp(milliseconds: now.milliseconds - ((now.milliseconds % step) + step) % step)
        if let last = samples.last, start <= last.start {
            // The same interval, or a clock that stepped back: fold into the newest sample so
            // samples stay in order.
            samples[samples.count - 1].low = min(last.low, live)
            samples[samples.count - 1].high = max(last.high, live)
            samples[samples.count - 1].last = live
        } else {
            samples.append(Sample(start: start, low: live, high: live, last: live))
        }
        let oldest = now - window
        let stale = samples.prefix { $0.start + interval <= oldest }.count
        let excess = max(0, samples.count - stale - capacity)
        samples.removeFirst(stale + excess)
    }
}
