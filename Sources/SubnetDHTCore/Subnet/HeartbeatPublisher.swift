/// Decides when the node's own heartbeat goes out and what it says: every interval, at once
/// after a change, retried with doubling delays after a failure, `seq` strictly increasing
/// whatever the clock does. Pure: the core starts the announce it asks for and reports back.
struct HeartbeatPublisher: Sendable {
    let settings: HeartbeatSettings
    let signingKey: SigningKey
    private(set) var info: ServerInfo
    private(set) var lastSeq: Int64 = 0
    private(set) var nextPublish: Timestamp
    private(set) var inFlight: (operation: OperationID, started: Timestamp, record: KeyedRecord)?
    private(set) var lastSuccess: Timestamp?
    private(set) var lastRecord: KeyedRecord?
    private(set) var published = 0
    private(set) var failed = 0
    private var retryDelay: Duration
    /// Info changed while a publish was in flight: publish again as soon as it ends.
    private var changedDuringPublish = false
    /// The last attempt found no node to send to (the first node of a network, alone so far):
    /// the first contact to arrive is worth a publish at once rather than after the backoff.
    private(set) var waitingForNodes = false

    init(info: ServerInfo, settings: HeartbeatSettings, signingKey: SigningKey, now: Timestamp) {
        self.info = info
        self.settings = settings
        self.signingKey = signingKey
        nextPublish = now
        retryDelay = settings.firstRetryDelay
    }

    var key: [UInt8] { Array(settings.key.utf8) }

    /// A new state or info: published at once.
    mutating func update(_ newInfo: ServerInfo, now: Timestamp) {
        guard newInfo != info else { return }
        info = newInfo
        if inFlight == nil { nextPublish = now } else { changedDuringPublish = true }
    }

    /// Publish as soon as possible (the node came back after being cut off).
    mutating func publishSoon(now: Timestamp) {
        if inFlight == nil { nextPublish = min(nextPublish, now) }
    }

    func isDue(now: Timestamp) -> Bool { inFlight == nil && now >= nextPublish }

    /// The next heartbeat: `seq` is the time in milliseconds, or one above the last when the
    /// clock stood still or stepped back.
    mutating func nextRecord(now: Timestamp) -> KeyedRecord {
        lastSeq = max(now.milliseconds, lastSeq + 1)
        // `exp` is in whole seconds: rounded down, so a peer that dies is gone from every view
        // within the TTL (plus the prune interval), never up to a second later. The TTL exceeds
        // the interval, so the next heartbeat still lands before this one lapses.
        let expires = (now + settings.ttl).milliseconds / 1000
        let record = KeyedRecord.signed(key: key, value: info.bencoded, seq: lastSeq, expires: expires, by: signingKey)
        return record
    }

    /// The in-flight heartbeat signed again with its expiry counted from `now`, when its
    /// lookup has converged and the stores go out. Stamped at the publish's start, the lookup's
    /// time (seconds, under loss) came off the record's life, and readers, whose reads take as
    /// long, saw records lapse between two heartbeats. Nil when `operation` is not
    /// the heartbeat in flight.
    mutating func restamp(_ operation: OperationID, now: Timestamp) -> KeyedRecord? {
        guard let current = inFlight, current.operation == operation else { return nil }
        let expires = (now + settings.ttl).milliseconds / 1000
        guard expires != current.record.expires else { return current.record }
        let record = KeyedRecord.signed(key: key, value: current.record.value, seq: current.record.seq, expires: expires, by: signingKey)
        inFlight = (operation, current.started, record)
        return record
    }

    mutating func started(_ operation: OperationID, record: KeyedRecord, now: Timestamp) {
        inFlight = (operation, now, record)
        waitingForNodes = false
    }

    /// The announce could not even start (no node known): counts as a failed publish.
    mutating func failedToStart(now: Timestamp) {
        failed += 1
        waitingForNodes = true
        scheduleRetry(now: now)
    }

    private mutating func scheduleRetry(now: Timestamp) {
        // Retry soon, backing off, but never later than the regular next beat.
        nextPublish = now + min(retryDelay, settings.interval)
        retryDelay = min(retryDelay * 2, settings.interval)
    }

    /// Reports how the announce went; returns whether it counted as published, and its latency.
    mutating func finished(_ operation: OperationID, result: StoreResult, now: Timestamp) -> (ok: Bool, latency: Duration)? {
        guard let current = inFlight, current.operation == operation else { return nil }
        inFlight = nil
        let latency = now - current.started
        let ok = !result.accepted.isEmpty
        if ok {
            published += 1
            lastSuccess = now
            lastRecord = current.record
            retryDelay = settings.firstRetryDelay
            // The cadence counts from each publish's start: counted from
            // the end, a publish slowed by loss would stretch every interval by
            // that much and records would lapse before the next one landed.
            nextPublish = max(now, current.started + settings.interval)
        } else {
            failed += 1
            scheduleRetry(now: now)
        }
        if changedDuringPublish {
            changedDuringPublish = false
            nextPublish = now
        }
        return (ok, latency)
    }
}

/// What the API reports about the node's own heartbeat.
public struct HeartbeatStatus: Sendable, Equatable {
    /// The info the heartbeat publishes now.
    public var info: ServerInfo
    /// When a heartbeat was last accepted by at least one replica; nil before the first.
    public var lastSuccess: Timestamp?
    /// The `seq` of the newest heartbeat signed (0 before the first).
    public var lastSeq: Int64
    /// Heartbeats accepted by at least one replica so far.
    public var published: Int
    /// Heartbeats that no replica accepted, or that found no node to send to.
    public var failed: Int
    /// How long each heartbeat counts.
    public var ttl: Duration
}
