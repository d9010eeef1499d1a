/// The sans-IO Mainline DHT node: datagrams, timer ticks and API calls go in with the
/// current time; datagrams to send and finished operations come out as `CoreEffect`s,
/// collected with `takeEffects()`. It never touches a socket, thread, clock or the system's
/// randomness, so the same code runs under the NIO shell and on the in-memory network with a
/// virtual clock. It coordinates the parts that do the work: `QueryResponder` answers other
/// nodes and holds what is served, `OutgoingRequests` keeps our queries until answered or
/// timed out, each `Operation` walks through its phases (DHTCore+Operations, +Replies), and
/// the routing table, contact capabilities and subnet upkeep (+Upkeep, +Subnet) are its own.
public struct DHTCore {
    public let localID: NodeID
    /// Its key policies change while the node runs (`replaceKeyPolicies`); the rest never does.
    public internal(set) var settings: DHTSettings
    public internal(set) var statistics = CoreStatistics()

    var routing: RoutingTable
    /// Answers other nodes' queries, and holds what the node serves.
    var responder: QueryResponder
    /// Our queries in flight.
    var requests: OutgoingRequests
    var rateLimiter: QueryRateLimiter
    var amplification = AmplificationLimit()
    var operations: [OperationID: Operation] = [:]
    /// Endpoints with an upkeep ping in flight: the table names the same candidate on every
    /// overflow, and one ping at a time is enough to decide.
    var upkeepPings: Set<Endpoint> = []
    /// Contacts pruned for silence, probed for a while so partitions heal.
    var lostContacts = LostContacts()
    /// Which contacts serve keyed records and BEP 44, learnt from their answers and silences.
    var capabilities: ContactCapabilities
    var generator: SplitMix64
    /// The node's own heartbeat, once started.
    var heartbeat: HeartbeatPublisher?
    /// The live view of the watched key (the heartbeat key), once watched.
    var membership: MembershipWatch?
    /// Reads of every storage target of a sharded key, by the operation the caller was given.
    var shardedReads: [OperationID: ShardedRead] = [:]
    var nextPrune: Timestamp
    /// `settings.pruneInterval`, or the heartbeat's own once one starts: a view read less
    /// often than TTL - interval would lose live peers between reads.
    var pruneInterval: Duration
    var rejoin = RejoinSchedule()
    /// The latest `now` any entry point was given: operations that finish deep inside the
    /// core (and hand their result to the core itself) read the time here.
    var currentTime: Timestamp
    var effects: [CoreEffect] = []
    var nextOperationNumber: UInt64 = 1
    var nextMaintenance: Timestamp

    /// `seed` is all the randomness the core will use (`CoreSeed`): the same seed and the same
    /// datagrams at the same times replay a run exactly.
    public init(localID: NodeID, settings: DHTSettings = DHTSettings(), seed: CoreSeed, now: Timestamp) {
        self.localID = localID
        var settings = settings
        settings.routing.bucketSize = settings.k
        self.settings = settings
        var generator = SplitMix64(seed: seed.generalSeed)
        routing = RoutingTable(localID: localID, settings: settings.routing)
        responder = QueryResponder(localID: localID, settings: settings, seed: seed, now: now)
        requests = OutgoingRequests(localID: localID, settings: settings, using: &generator)
        rateLimiter = QueryRateLimiter(settings: settings.rateLimit)
        capabilities = ContactCapabilities(capacity: settings.capabilityMemoryLimit, plainMemory: settings.plainContactMemory)
        self.generator = generator
        nextMaintenance = now + settings.maintenanceInterval
        pruneInterval = settings.pruneInterval
        nextPrune = now + settings.pruneInterval
        currentTime = now
        rejoin.delay = settings.rejoinDelays.lowerBound
    }

    // MARK: - Shell interface

    /// Effects produced since the last call, in order.
    public mutating func takeEffects() -> [CoreEffect] {
        defer { effects.removeAll(keepingCapacity: true) }
        return effects
    }

    /// Like `takeEffects()`, without an allocation: the effects are swapped into `batch`
    /// (emptied first) and the core keeps `batch`'s storage for the next ones. Returning the
    /// array shares its storage, so emptying it after cost a fresh buffer per datagram.
    public mutating func takeEffects(into batch: inout [CoreEffect]) {
        batch.removeAll(keepingCapacity: true)
        swap(&effects, &batch)
    }

    /// When the shell must call `tick` next at the latest.
    public var nextWakeup: Timestamp {
        var wake = min(nextMaintenance, nextPrune)
        if let deadline = requests.nextDeadline { wake = min(wake, deadline) }
        if let heartbeat, heartbeat.inFlight == nil { wake = min(wake, heartbeat.nextPublish) }
        // A heartbeat that found no node to send to goes out as soon as one is known.
        if let heartbeat, heartbeat.waitingForNodes, routing.count > 0 { wake = min(wake, currentTime) }
        if let retry = rejoin.nextAttempt { wake = min(wake, retry) }
        return wake
    }

    public var routingTableSize: Int { routing.count }
    public var contacts: [Contact] { routing.allContacts }
    public var pendingRequestCount: Int { requests.count }
    /// Keyed records held for others.
    public var storedRecordCount: Int { responder.recordStore.count }
    public var operationCount: Int { operations.count }

    /// Handles one received datagram.
    public mutating func receive(_ datagram: [UInt8], from source: Endpoint, now: Timestamp) {
        receive(datagram, prechecked: nil, from: source, now: now)
    }

    /// `receive` for a datagram the shell decoded already, and whose signature it checked when
    /// it is a signed store (`PrecheckedDatagram`, from a worker thread). Decoding it again here
    /// was work done twice on the event loop. Both are pure, so the checks before them
    /// (source, rate limit) still come first and everything else is unchanged.
    public mutating func receive(_ datagram: [UInt8], prechecked: PrecheckedDatagram?, from source: Endpoint, now: Timestamp) {
        currentTime = max(currentTime, now)
        statistics.datagramsReceived += 1
        statistics.bytesReceived += datagram.count
        // A spoofed source such as port 0 or a broadcast address can never be answered.
        guard source.isValidDestination else {
            statistics.malformedDropped += 1
            return
        }
        if rateLimiter.isExhausted(source, now: now) {
            statistics.rateLimited += 1
            return
        }
        let message: KRPCMessage
        do {
            message = try (prechecked?.decoded ?? Result { () throws(KRPCDecodingError) in try KRPCCodec.decode(datagram) }).get()
        } catch {
            if case .tooLarge = error.reason {
                statistics.oversizedDropped += 1
                return
            }
            statistics.malformedDropped += 1
            // Only our own network's malformed queries are answered (docs/PROTOCOL.md 1, 6).
            if error.isQuery, let transactionID = error.transactionID, !settings.readOnly,
                (KRPCCodec.salvageNetworkID(datagram) ?? 0) == settings.networkID, admitQuery(from: source, now: now) {
                let limit = amplification.responseLimit(for: source, requestSize: datagram.count,
                                                        maxResponseSize: settings.maxResponseSize, now: now)
                sendError(.protocolError(error.message), transactionID: transactionID, to: source, limit: limit)
            }
            return
        }
        guard (message.networkID ?? 0) == settings.networkID else {
            statistics.wrongNetworkDropped += 1
            return
        }
        switch message.body {
        case .query(let query):
            guard admitQuery(from: source, now: now) else { return }
            let limit = amplification.responseLimit(for: source, requestSize: datagram.count,
                                                    maxResponseSize: settings.maxResponseSize, now: now)
            handleQuery(query, message: message, from: source, knownSignature: prechecked?.signature, responseLimit: limit, now: now)
        case .response(let body):
            handleResponse(body, message: message, from: source, now: now)
        case .error(let error):
            handleErrorReply(error, message: message, from: source, now: now)
        }
    }

    /// Handles timeouts and periodic upkeep. Call at `nextWakeup` (calling earlier is harmless).
    public mutating func tick(now: Timestamp) {
        currentTime = max(currentTime, now)
        for request in requests.takeExpired(now: now) {
            handleTimeout(request, now: now)
        }
        if now >= nextMaintenance {
            nextMaintenance = now + settings.maintenanceInterval
            performMaintenance(now: now)
        }
        runSubnetUpkeep(now: now)
    }

    // MARK: - Sending

    mutating func sendQuery(_ method: QueryMethod, to endpoint: Endpoint, expectedID: NodeID?, purpose: RequestPurpose, now: Timestamp) {
        emit(requests.query(method, to: endpoint, expectedID: expectedID, purpose: purpose, now: now), to: endpoint)
    }

    mutating func resend(_ request: PendingRequest, now: Timestamp) {
        emit(requests.resend(request, now: now), to: request.endpoint)
    }

    /// Sends an answer of at most `limit` bytes (the response budget, or less for a requester
    /// not yet verified), cut down by `ResponseFitting` when it is larger.
    /// `body` is consumed, and an answer that must be trimmed takes it back out of the
    /// message, so no second copy is held for that rare case.
    mutating func sendResponse(_ body: consuming ResponseBody, transactionID: [UInt8], to destination: Endpoint, limit: Int? = nil) {
        let limit = min(limit ?? settings.maxResponseSize, settings.maxResponseSize)
        let template = responder.responseMessage(body, transactionID: transactionID, to: destination)
        var bytes = KRPCCodec.encode(template)
        if bytes.count > limit, case .response(let original) = template.body {
            let fitted = ResponseFitting.fit(original, within: limit) { candidate in
                var message = template
                message.body = .response(candidate)
                return KRPCCodec.encode(message)
            }
            bytes = fitted
            statistics.responsesTrimmed += 1
        }
        statistics.queriesAnswered += 1
        emit(bytes, to: destination)
    }

    /// Takes a token from the source's rate-limit bucket; counts the query dropped when empty.
    /// Whether `receive` would drop a datagram from `source` now, unread, for its rate.
    package func isRateLimited(_ source: Endpoint, now: Timestamp) -> Bool { rateLimiter.isExhausted(source, now: now) }

    mutating func admitQuery(from source: Endpoint, now: Timestamp) -> Bool {
        guard rateLimiter.admit(source, now: now) else {
            statistics.rateLimited += 1
            return false
        }
        return true
    }

    /// Sends an error of at most `limit` bytes (the amplification limit of the requester): past
    /// it the message text goes, and an error that does not fit even without it is not sent.
    /// Tiny malformed datagrams from a spoofed source must not draw replies several times
    /// their size.
    mutating func sendError(_ error: KRPCError, transactionID: [UInt8], to destination: Endpoint, limit: Int? = nil) {
        var message = KRPCMessage(transactionID: transactionID, body: .error(error), clientVersion: settings.clientVersion,
                                  networkID: settings.networkID == 0 ? nil : settings.networkID)
        var bytes = KRPCCodec.encode(message)
        if let limit, bytes.count > limit {
            statistics.responsesTrimmed += 1
            message.body = .error(KRPCError(code: error.code, message: ""))
            bytes = KRPCCodec.encode(message)
            guard bytes.count <= limit else { return }
        }
        statistics.errorsSent += 1
        statistics.errorsSentByCode.add(SentErrorCode(code: error.code))
        emit(bytes, to: destination)
    }

    mutating func emit(_ bytes: [UInt8], to endpoint: Endpoint) {
        statistics.datagramsSent += 1
        statistics.bytesSent += bytes.count
        effects.append(.send(bytes, to: endpoint))
    }
}
