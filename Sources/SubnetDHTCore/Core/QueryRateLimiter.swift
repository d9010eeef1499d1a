/// Limits of the per-source query rate limiter.
public struct RateLimitSettings: Sendable, Equatable {
    /// Queries a second one source may send, sustained; 0 turns the limiter off (benchmarks).
    /// 250: a reader paging a 10,000-owner key through one replica stays under it, and a
    /// flood from one host costs at most this many answers a second.
    public var queriesPerSecond: Double = 250
    /// Queries a source may send at once after being quiet.
    public var burst: Double = 500
    /// Sources tracked at most. Past this, new sources share one bucket, so spoofing many
    /// addresses cannot grow memory, only compete with itself.
    public var maxSources = 8_192

    public init() {}

    public var isEnabled: Bool { queriesPerSecond > 0 }
}

/// A token bucket per source for incoming queries (libtorrent keeps one per IP too). The
/// source is the IP address, except on loopback, where every node of a test network shares
/// 127.0.0.1 and each is told apart by its port. Queries over the limit are dropped without
/// an answer: an error reply would itself feed a flood.
struct QueryRateLimiter {
    let settings: RateLimitSettings
    private var buckets: [Source: Bucket] = [:]
    private var lastSweep: Timestamp?

    private enum Source: Hashable {
        case address(IPAddress)
        case endpoint(Endpoint)
        /// Every source that arrives while the table is full.
        case overflow
    }

    private struct Bucket {
        var tokens: Double
        var updated: Timestamp
    }

    init(settings: RateLimitSettings) { self.settings = settings }

    var trackedSources: Int { buckets.count }

    /// Takes a token for one query from `endpoint`; false when its bucket is empty.
    mutating func admit(_ endpoint: Endpoint, now: Timestamp) -> Bool {
        guard settings.isEnabled else { return true }
        var source: Source = endpoint.address.isLoopback ? .endpoint(endpoint) : .address(endpoint.address)
        if buckets[source] == nil, buckets.count >= settings.maxSources {
            sweep(now: now)
            if buckets.count >= settings.maxSources { source = .overflow }
        }
        var bucket = buckets[source] ?? Bucket(tokens: settings.burst, updated: now)
        let elapsed = Double(max((now - bucket.updated).millisecondsValue, 0)) / 1000
        bucket.tokens = min(settings.burst, bucket.tokens + elapsed * settings.queriesPerSecond)
        bucket.updated = now
        let admitted = bucket.tokens >= 1
        if admitted { bucket.tokens -= 1 }
        buckets[source] = bucket
        return admitted
    }

    /// Whether `endpoint` is out of tokens now, without taking one: the node then drops its
    /// datagrams before decoding them, so a flood costs a table lookup per datagram rather
    /// than a parse, and the socket's queue drains fast enough for everyone else.
    func isExhausted(_ endpoint: Endpoint, now: Timestamp) -> Bool {
        guard settings.isEnabled else { return false }
        let source: Source = endpoint.address.isLoopback ? .endpoint(endpoint) : .address(endpoint.address)
        guard let bucket = buckets[source] ?? (buckets.count >= settings.maxSources ? buckets[.overflow] : nil) else { return false }
        let elapsed = Double(max((now - bucket.updated).millisecondsValue, 0)) / 1000
        return bucket.tokens + elapsed * settings.queriesPerSecond < 1
    }

    /// Forgets sources whose bucket has refilled: they are indistinguishable from new ones.
    /// At most once a second, so a full table under attack does not sweep on every query.
    mutating func sweep(now: Timestamp) {
        if let lastSweep, now - lastSweep < .seconds(1) { return }
        lastSweep = now
        let refill = settings.burst / settings.queriesPerSecond
        buckets = buckets.filter { _, bucket in
            Double((now - bucket.updated).millisecondsValue) / 1000 < refill
        }
    }
}
