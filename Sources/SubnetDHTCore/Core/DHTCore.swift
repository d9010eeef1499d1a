/// What to store once a store operation's lookup has found the closest nodes and their tokens.
public enum StorePlan: Sendable {
    case announcePeer(port: UInt16, impliedPort: Bool)
    case putImmutable(BValue)
    /// `seq` nil means one above the highest seq the lookup found (1 when none).
    case putMutable(signingKey: SigningKey, salt: [UInt8], value: BValue, seq: Int64?, cas: Int64?)
    /// A signed keyed record, stored with `announce_record` (docs/PROTOCOL.md 3).
    case announceRecord(KeyedRecord)
}

/// The sans-IO Mainline DHT node: datagrams, timer ticks and API calls go in with the
/// current time; datagrams to send and finished operations come out as `CoreEffect`s,
/// collected with `takeEffects()`. It owns the routing table, the stores, the write tokens
/// and every lookup in flight, and never touches a socket, thread or clock, so the same
/// code runs under the NIO shell and on the in-memory network with a virtual clock.
public struct DHTCore {
    public let localID: NodeID
    public let settings: DHTSettings
    public internal(set) var statistics = CoreStatistics()

    var routing: RoutingTable
    var peerStore: PeerStore
    var itemStore: ItemStore
    var recordStore: RecordStore
    /// `get_records` pages built already, reused while their records are unchanged.
    var recordPages: RecordPageCache
    var recordValidator: RecordValidator
    var tokens: WriteTokens
    var pending: PendingRequests
    var roundTrips: RoundTripEstimator
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
    var nextPrune: Timestamp
    /// `settings.pruneInterval`, or the heartbeat's own once one starts: a view read less
    /// often than TTL - interval would lose live peers between reads.
    var pruneInterval: Duration
    var rejoin = RejoinSchedule()
    /// The latest `now` any entry point was given: operations that finish deep inside the
    /// core (and hand their result to the core itself) read the time here.
    var currentTime: Timestamp
    private var effects: [CoreEffect] = []
    private var nextOperationNumber: UInt64 = 1
    private var nextMaintenance: Timestamp

    /// A store or lookup in progress.
    struct Operation {
        var lookup: IterativeLookup?
        var plan: StorePlan?
        var store: StoreProgress?
        /// Internal operations report nothing to the shell; their results go to `purpose`.
        var isInternal = false
        var purpose: InternalPurpose = .refresh
        /// Record reads: what has been merged, and where to read further pages.
        var records: RecordCollector?
        var recordPaging: RecordPaging?
    }

    /// The page-reading phase of a record read.
    struct RecordPaging {
        /// `more` cursors by replica, learnt during the lookup.
        var cursors: [Endpoint: [UInt8]] = [:]
        var pagesRead: [Endpoint: Int] = [:]
        var inFlight = 0
        var started = false
    }

    struct StoreProgress {
        var waiting: [Endpoint: NodeInfo] = [:]
        var accepted: [NodeInfo] = []
        var rejected: [(NodeInfo, KRPCError)] = []
        var unanswered: [NodeInfo] = []
        var seq: Int64?
    }

    /// `seed` is all the randomness the core will use (`CoreSeed`): the same seed and the same
    /// datagrams at the same times replay a run exactly.
    public init(localID: NodeID, settings: DHTSettings = DHTSettings(), seed: CoreSeed, now: Timestamp) {
        self.localID = localID
        var settings = settings
        settings.routing.bucketSize = settings.k
        self.settings = settings
        var generator = SplitMix64(seed: seed.generalSeed)
        routing = RoutingTable(localID: localID, settings: settings.routing)
        peerStore = PeerStore(settings: settings.storage)
        itemStore = ItemStore(settings: settings.storage)
        recordStore = RecordStore(settings: settings.recordStore)
        recordPages = RecordPageCache(capacity: settings.recordPageCacheSize)
        recordValidator = RecordValidator(maxValueSize: settings.storage.maxValueSize)
        tokens = WriteTokens(seed: seed, now: now)
        pending = PendingRequests(using: &generator)
        roundTrips = RoundTripEstimator(floor: settings.minimumRequestTimeout, ceiling: settings.requestTimeout)
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
        if let deadline = pending.nextDeadline { wake = min(wake, deadline) }
        if let heartbeat, heartbeat.inFlight == nil { wake = min(wake, heartbeat.nextPublish) }
        // A heartbeat that found no node to send to goes out as soon as one is known.
        if let heartbeat, heartbeat.waitingForNodes, routing.count > 0 { wake = min(wake, currentTime) }
        if let retry = rejoin.nextAttempt { wake = min(wake, retry) }
        return wake
    }

    public var routingTableSize: Int { routing.count }
    public var contacts: [Contact] { routing.allContacts }
    public var pendingRequestCount: Int { pending.count }
    /// Keyed records held for others.
    public var storedRecordCount: Int { recordStore.count }
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
        for request in pending.takeExpired(now: now) {
            handleTimeout(request, now: now)
        }
        if now >= nextMaintenance {
            nextMaintenance = now + settings.maintenanceInterval
            performMaintenance(now: now)
        }
        runSubnetUpkeep(now: now)
    }

    // MARK: - Operations

    /// Joins the network: a lookup of our own id seeded with `endpoints` (and whatever the
    /// routing table already holds), which fills the buckets near us.
    public mutating func bootstrap(from endpoints: [Endpoint], now: Timestamp) -> OperationID {
        // Remembered so the node can rejoin through them if its routing table ever empties.
        if !endpoints.isEmpty { rejoin.seeds = endpoints }
        return startLookup(target: localID, kind: .findNode, extraSeeds: endpoints, now: now)
    }

    public mutating func startPing(_ endpoint: Endpoint, now: Timestamp) -> OperationID {
        let id = makeOperationID()
        operations[id] = Operation()
        sendQuery(.ping, to: endpoint, expectedID: nil, purpose: .userPing(id), now: now)
        return id
    }

    public mutating func startLookup(target: NodeID, kind: LookupKind, extraSeeds: [Endpoint] = [], now: Timestamp) -> OperationID {
        beginLookup(target: target, kind: kind, extraSeeds: extraSeeds, purpose: nil, now: now)
    }

    /// Starts a lookup; with `purpose` its result goes to the core itself, not the shell.
    mutating func beginLookup(target: NodeID, kind: LookupKind, extraSeeds: [Endpoint], purpose: InternalPurpose?, now: Timestamp) -> OperationID {
        currentTime = max(currentTime, now)
        let id = makeOperationID()
        var operation = Operation(lookup: makeLookup(target: target, kind: kind, extraSeeds: extraSeeds))
        if let purpose {
            operation.isInternal = true
            operation.purpose = purpose
        }
        if case .getRecords(let key) = kind {
            operation.records = RecordCollector(key: key)
            operation.recordPaging = RecordPaging()
        }
        operations[id] = operation
        advance(id, now: now)
        return id
    }

    /// Reads every record under `key`: a lookup of SHA1(key), then every page from the
    /// closest replicas, merged and verified (docs/PROTOCOL.md 3).
    public mutating func startRecordsLookup(key: [UInt8], now: Timestamp) -> OperationID {
        startLookup(target: KeyedRecord.target(forKey: key), kind: .getRecords(key: key), now: now)
    }

    /// Stores `record` on the closest nodes of its key, with their tokens.
    public mutating func startAnnounce(_ record: KeyedRecord, now: Timestamp) -> OperationID {
        startStore(target: record.target, plan: .announceRecord(record), now: now)
    }

    /// A lookup of `target` that collects write tokens, then stores `plan` on the closest nodes.
    public mutating func startStore(target: NodeID, plan: StorePlan, now: Timestamp) -> OperationID {
        beginStore(target: target, plan: plan, purpose: nil, now: now)
    }

    mutating func beginStore(target: NodeID, plan: StorePlan, purpose: InternalPurpose?, now: Timestamp) -> OperationID {
        currentTime = max(currentTime, now)
        let kind: LookupKind
        switch plan {
        case .announcePeer: kind = .getPeers
        case .putImmutable: kind = .getImmutable
        case .putMutable(let key, let salt, _, _, _): kind = .getMutable(publicKey: key.publicKey.bytes, salt: salt)
        case .announceRecord(let record): kind = .getRecords(key: record.key)
        }
        let id = makeOperationID()
        let lookup = makeLookup(target: target, kind: kind, extraSeeds: [], stopsAtFirstValue: false)
        var operation = Operation(lookup: lookup, plan: plan)
        if let purpose {
            operation.isInternal = true
            operation.purpose = purpose
        }
        operations[id] = operation
        advance(id, now: now)
        return id
    }

    private mutating func makeOperationID() -> OperationID {
        defer { nextOperationNumber += 1 }
        return OperationID(rawValue: nextOperationNumber)
    }

    private func makeLookup(target: NodeID, kind: LookupKind, extraSeeds: [Endpoint], stopsAtFirstValue: Bool = true) -> IterativeLookup {
        var lookup = IterativeLookup(target: target, kind: kind, localID: localID, k: settings.k,
                                     candidateLimit: settings.lookupCandidateLimit, stopsAtFirstValue: stopsAtFirstValue)
        var known = routing.closest(to: target, count: settings.k * 2).map { NodeInfo(id: $0.id, endpoint: $0.endpoint) }
        if case .getRecords = kind {
            // The closest contacts may all be plain, and plain nodes name only the nodes closest
            // overall: the replicas are reached through the record-capable contacts we know.
            known += recordCapableContacts(near: target, count: settings.k, families: [.ipv4, .ipv6])
                .filter { contact in !known.contains { $0.endpoint == contact.endpoint } }
        }
        lookup.seed(nodes: known, endpoints: extraSeeds.filter { seed in !known.contains { $0.endpoint == seed } })
        return lookup
    }

    // MARK: - Driving lookups and stores

    /// Sends the next queries of a lookup, or moves a finished lookup to its store phase or result.
    mutating func advance(_ id: OperationID, now: Timestamp) {
        guard var operation = operations[id], var lookup = operation.lookup else { return }
        if operation.store != nil || operation.recordPaging?.started == true { return }
        for candidate in lookup.nextQueries(alpha: settings.alpha) {
            sendQuery(lookupQuery(for: lookup, to: candidate.endpoint, storing: operation.plan != nil, now: now),
                      to: candidate.endpoint, expectedID: candidate.id, purpose: .lookup(id), now: now)
        }
        operation.lookup = lookup
        operations[id] = operation
        guard lookup.isFinished else { return }
        if let plan = operation.plan {
            startStorePhase(id, plan: plan, lookup: lookup, now: now)
        } else if operation.recordPaging != nil {
            startRecordPaging(id, lookup: lookup, now: now)
        } else {
            finish(id, .lookup(lookup.result()))
        }
    }

    /// What a lookup asks `endpoint`. A record lookup asks a contact known to be plain
    /// Mainline a `find_node` instead: it still routes the lookup, and it would ignore the rest.
    private func lookupQuery(for lookup: IterativeLookup, to endpoint: Endpoint, storing: Bool, now: Timestamp) -> QueryMethod {
        switch lookup.kind {
        case .findNode: .findNode(target: lookup.target, want: nil)
        case .getPeers: .getPeers(infoHash: lookup.target, want: nil)
        case .getImmutable, .getMutable: .get(target: lookup.target, seq: nil, want: nil)
        case .getRecords where capabilities.recordSupport(of: endpoint, now: now) == .plain:
            .findNode(target: lookup.target, want: nil)
        case .getRecords: .getRecords(target: lookup.target, after: storing ? Self.tokenOnlyCursor : nil, want: nil)
        }
    }

    /// `after` for the lookup of an `announce_record`: no owner key sorts after 32 0xff bytes,
    /// so each replica answers with an empty page, just the token and nodes a store needs.
    /// Full first pages there were half of what a `node` replica sent under 10,000
    /// heartbeats (the scale simulation), all of it thrown away by the announcer.
    static let tokenOnlyCursor = [UInt8](repeating: 0xff, count: 32)

    private mutating func startStorePhase(_ id: OperationID, plan: StorePlan, lookup: IterativeLookup, now: Timestamp) {
        var progress = StoreProgress()
        let targets = lookup.closestResponded.prefix(settings.storeReplicas)
        var query: QueryMethod?
        switch plan {
        case .announcePeer(let port, let implied):
            query = .announcePeer(infoHash: lookup.target, port: port, impliedPort: implied, token: [])
        case .putImmutable(let value):
            query = .put(PutArguments(token: [], value: value))
        case .putMutable(let key, let salt, let value, let seq, let cas):
            // One above the network's seq; an item already at Int64.max cannot be superseded.
            let (next, overflow) = (lookup.mutableItem?.seq ?? 0).addingReportingOverflow(1)
            guard !overflow || seq != nil else {
                finish(id, .store(StoreResult(lookup: lookup.result(), accepted: [], rejected: [], unanswered: [], seq: nil)))
                return
            }
            let chosenSeq = seq ?? next
            let buffer = BEP44.signedBuffer(salt: salt, seq: chosenSeq, encodedValue: Bencode.encode(value))
            progress.seq = chosenSeq
            query = .put(PutArguments(token: [], value: value, publicKey: key.publicKey.bytes,
                                      signature: key.sign(buffer), seq: chosenSeq, cas: cas, salt: salt))
        case .announceRecord(var record):
            if operations[id]?.purpose == .heartbeat, let restamped = heartbeat?.restamp(id, now: now) { record = restamped }
            query = .announceRecord(arguments: record.announceArguments)
            progress.seq = record.seq
        }
        for candidate in targets {
            guard let nodeID = candidate.id, let token = candidate.token, var method = query else { continue }
            method.replaceToken(token)
            let node = NodeInfo(id: nodeID, endpoint: candidate.endpoint)
            progress.waiting[candidate.endpoint] = node
            sendQuery(method, to: candidate.endpoint, expectedID: nodeID, purpose: .store(id), now: now)
        }
        operations[id]?.store = progress
        finishStoreIfDone(id)
    }

    private mutating func finishStoreIfDone(_ id: OperationID) {
        guard let operation = operations[id], let progress = operation.store, progress.waiting.isEmpty,
            let lookup = operation.lookup else { return }
        finish(id, .store(StoreResult(lookup: lookup.result(), accepted: progress.accepted, rejected: progress.rejected,
                                      unanswered: progress.unanswered, seq: progress.seq)))
    }

    mutating func finish(_ id: OperationID, _ result: OperationResult) {
        guard let operation = operations.removeValue(forKey: id) else { return }
        if operation.isInternal {
            internalOperationFinished(id, purpose: operation.purpose, result: result)
        } else {
            effects.append(.event(.operationFinished(id, result)))
        }
    }

    mutating func emit(event: CoreEvent) {
        effects.append(.event(event))
    }

    // MARK: - Responses, errors, timeouts

    private mutating func handleResponse(_ body: ResponseBody, message: KRPCMessage, from source: Endpoint, now: Timestamp) {
        guard let request = pending.take(transactionID: message.transactionID, from: source) else {
            statistics.unmatchedResponses += 1
            return
        }
        if request.attempt == 1 { roundTrips.observe(now - request.sentAt) }
        amplification.noteAnswered(by: source, now: now)
        lostContacts.remove(source)
        learnCapabilities(answering: request, message: message, body: body, now: now)
        noteResponder(id: body.id, endpoint: source, now: now)
        switch request.purpose {
        case .lookup(let id):
            guard var operation = operations[id], var lookup = operation.lookup else { return }
            let (item, immutable) = verifiedItem(in: body, for: lookup)
            lookup.handleResponse(from: source, body: body, verifiedItem: item, immutableValue: immutable)
            // A contact judged plain, asked find_node in a record lookup, said `kr`: it was
            // wrongly judged, and is asked get_records in this lookup still.
            if case .getRecords = lookup.kind, case .findNode? = request.method, message.servesKeyedRecords {
                lookup.reconsider(source)
            }
            operation.lookup = lookup
            if operation.records != nil {
                operation.records?.add(page: body, now: now)
                if let more = body.more { operation.recordPaging?.cursors[source] = more }
            }
            operations[id] = operation
            advance(id, now: now)
        case .recordPage(let id):
            recordPageAnswered(id, from: source, body: body, now: now)
        case .store(let id):
            guard var progress = operations[id]?.store, let node = progress.waiting.removeValue(forKey: source) else { return }
            progress.accepted.append(node)
            operations[id]?.store = progress
            finishStoreIfDone(id)
        case .userPing(let id):
            finish(id, .ping(.success(body.id)))
        case .maintenancePing:
            upkeepPings.remove(source)
        }
    }

    private mutating func handleErrorReply(_ error: KRPCError, message: KRPCMessage, from source: Endpoint, now: Timestamp) {
        guard let request = pending.take(transactionID: message.transactionID, from: source) else {
            statistics.unmatchedResponses += 1
            return
        }
        amplification.noteAnswered(by: source, now: now)
        let refusedAsUnknown = learnCapabilities(refusal: error, of: request, now: now)
        switch request.purpose {
        case .lookup(let id):
            // A record lookup asks a node that does not know get_records again, as a find_node.
            if refusedAsUnknown {
                operations[id]?.lookup?.askAgain(source)
            } else {
                operations[id]?.lookup?.handleFailure(from: source)
            }
            advance(id, now: now)
        case .store(let id):
            guard var progress = operations[id]?.store, let node = progress.waiting.removeValue(forKey: source) else { return }
            progress.rejected.append((node, error))
            operations[id]?.store = progress
            finishStoreIfDone(id)
        case .recordPage(let id):
            recordPageAnswered(id, from: source, body: nil, now: now)
        case .userPing(let id):
            finish(id, .ping(.failure(.error(error))))
        case .maintenancePing:
            upkeepPings.remove(source)
        }
    }

    private mutating func handleTimeout(_ request: PendingRequest, now: Timestamp) {
        statistics.timeouts += 1
        if request.attempt < settings.maxAttempts, request.purpose != .maintenancePing, isStillWanted(request) {
            resend(request, now: now)
            if case .lookup(let id) = request.purpose {
                operations[id]?.lookup?.noteRetry(to: request.endpoint)
                advance(id, now: now)
            }
            return
        }
        // Only silence to a query the contact is known to answer says it may be dead: BEP 5
        // lets a node ignore methods it does not know.
        let judgesHealth = request.method.map { capabilities.isKnownToSupport($0, at: request.endpoint, now: now) } ?? false
        learnCapabilities(silenceTo: request, now: now)
        if judgesHealth, let id = request.expectedID { routing.recordFailure(id: id, at: request.endpoint, now: now) }
        switch request.purpose {
        case .lookup(let id):
            operations[id]?.lookup?.handleFailure(from: request.endpoint)
            advance(id, now: now)
        case .store(let id):
            guard var progress = operations[id]?.store, let node = progress.waiting.removeValue(forKey: request.endpoint) else { return }
            progress.unanswered.append(node)
            operations[id]?.store = progress
            finishStoreIfDone(id)
        case .recordPage(let id):
            recordPageAnswered(id, from: request.endpoint, body: nil, now: now)
        case .userPing(let id):
            finish(id, .ping(.failure(.timedOut)))
        case .maintenancePing:
            upkeepPings.remove(request.endpoint)
        }
    }

    /// Whether anyone still waits for this request: an immutable get that already found its
    /// value leaves queries in flight, and retrying those would only add traffic.
    private func isStillWanted(_ request: PendingRequest) -> Bool {
        switch request.purpose {
        case .lookup(let id), .store(let id), .userPing(let id), .recordPage(let id): operations[id] != nil
        case .maintenancePing: true
        }
    }

    /// A node answered one of our queries: it is reachable, so it may enter the routing table.
    private mutating func noteResponder(id: NodeID, endpoint: Endpoint, now: Timestamp) {
        guard acceptableForRouting(id: id, endpoint: endpoint) else { return }
        let outcome = routing.recordResponse(from: id, at: endpoint, now: now)
        pingCandidate(of: outcome, now: now)
    }

    func acceptableForRouting(id: NodeID, endpoint: Endpoint) -> Bool {
        guard settings.enforceSecureNodeIDs else { return true }
        return SecureNodeID.isValid(id, for: endpoint.address)
    }

    /// Pings the contact the routing table wants checked, unless a ping to it is under way.
    mutating func pingCandidate(of outcome: InsertOutcome, now: Timestamp) {
        guard case .cached(let candidate?) = outcome else { return }
        sendUpkeepPing(to: candidate, now: now)
    }

    private mutating func sendUpkeepPing(to contact: Contact, now: Timestamp) {
        sendUpkeepPing(to: contact.endpoint, expectedID: contact.id, now: now)
    }

    /// An upkeep ping, unless one to `endpoint` is under way; `expectedID` nil for a seed.
    mutating func sendUpkeepPing(to endpoint: Endpoint, expectedID: NodeID?, now: Timestamp) {
        guard upkeepPings.insert(endpoint).inserted else { return }
        sendQuery(.ping, to: endpoint, expectedID: expectedID, purpose: .maintenancePing, now: now)
    }

    /// The item in a `get` response, if it is the one asked for and its signature or hash checks out.
    private func verifiedItem(in body: ResponseBody, for lookup: IterativeLookup) -> (MutableItem?, BValue?) {
        guard let value = body.value else { return (nil, nil) }
        switch lookup.kind {
        case .getImmutable:
            return (nil, SHA1Hash.id(Bencode.encode(value)) == lookup.target ? value : nil)
        case .getMutable(let publicKey, let salt):
            guard body.publicKey == publicKey, let signature = body.signature, let seq = body.seq,
                let key = PublicKey(bytes: publicKey) else { return (nil, nil) }
            // Only an item that would replace the one held is worth a signature check (as in
            // libtorrent's get_item): every replica sends the same item, and checking each
            // copy cost a read 7 verifies more than it needed, half its time on loopback.
            guard seq > (lookup.mutableItem?.seq ?? Int64.min) else { return (nil, nil) }
            let buffer = BEP44.signedBuffer(salt: salt, seq: seq, encodedValue: Bencode.encode(value))
            guard key.verify(signature: signature, message: buffer) else { return (nil, nil) }
            return (MutableItem(publicKey: publicKey, salt: salt, seq: seq, value: value, signature: signature), nil)
        case .findNode, .getPeers, .getRecords:
            return (nil, nil)
        }
    }

    // MARK: - Sending

    mutating func sendQuery(_ method: QueryMethod, to endpoint: Endpoint, expectedID: NodeID?, purpose: RequestPurpose, now: Timestamp) {
        let transactionID = pending.allocateID()
        let unpadded = KRPCMessage(
            transactionID: PendingRequests.encode(transactionID),
            body: .query(Query(senderID: localID, method: method)),
            clientVersion: settings.clientVersion,
            readOnly: settings.readOnly,
            networkID: settings.networkID == 0 ? nil : settings.networkID)
        let message = Self.padded(unpadded, for: method, maxResponseSize: settings.maxResponseSize)
        pending.insert(PendingRequest(transactionID: transactionID, endpoint: endpoint, expectedID: expectedID,
                                      purpose: purpose, message: message, attempt: 1,
                                      deadline: now + roundTrips.timeout(attempt: 1), sentAt: now))
        emit(KRPCCodec.encode(message), to: endpoint)
    }

    /// Sends a timed-out query again under the same transaction id, so a late answer to the
    /// first send still counts instead of arriving unmatched.
    /// Pads the queries whose answer can be large (a BEP 44 item, a page of records) to a
    /// quarter of the response budget, so that a node that has not verified us yet may still
    /// answer them in full under its amplification limit.
    static func padded(_ message: KRPCMessage, for method: QueryMethod, maxResponseSize: Int) -> KRPCMessage {
        switch method {
        case .get: break
        // A token-only lookup asks for no records: its answer fits without padding.
        case .getRecords(_, let after, _) where after != tokenOnlyCursor: break
        default: return message
        }
        let wanted = AmplificationLimit.paddedQuerySize(maxResponseSize: maxResponseSize)
        let size = KRPCCodec.encode(message).count
        guard size < wanted else { return message }
        // The entry adds `3:pad` (5 bytes), `<n>:` and n bytes: found by arithmetic, so a
        // query is encoded once here and once to send, not once per candidate length.
        func entrySize(_ length: Int) -> Int { 5 + Bencode.decimalLength(Int64(length)) + 1 + length }
        var length = max(wanted - size - entrySize(0), 1)
        while size + entrySize(length) < wanted { length += 1 }
        while length > 1, size + entrySize(length - 1) >= wanted { length -= 1 }
        var padded = message
        padded.padding = length
        return padded
    }

    private mutating func resend(_ request: PendingRequest, now: Timestamp) {
        var retry = request
        retry.attempt += 1
        retry.deadline = now + roundTrips.timeout(attempt: retry.attempt)
        pending.insert(retry)
        emit(KRPCCodec.encode(retry.message), to: retry.endpoint)
    }

    /// Sends an answer of at most `limit` bytes (the response budget, or less for a requester
    /// not yet verified), cut down by `ResponseFitting` when it is larger.
    /// `body` is consumed, and an answer that must be trimmed takes it back out of the
    /// message, so no second copy is held for that rare case.
    mutating func sendResponse(_ body: consuming ResponseBody, transactionID: [UInt8], to destination: Endpoint, limit: Int? = nil) {
        let limit = min(limit ?? settings.maxResponseSize, settings.maxResponseSize)
        let template = responseMessage(body, transactionID: transactionID, to: destination)
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

    /// The message that carries an answer: every answer says `kr`, so a node that asks us
    /// anything learns that we serve keyed records without a query it might waste. Always
    /// inlined, so the consumed body moves straight into the message: as a call, the body was
    /// copied into it and out again on every answer.
    @inline(__always)
    func responseMessage(_ body: consuming ResponseBody, transactionID: [UInt8], to destination: Endpoint) -> KRPCMessage {
        KRPCMessage(transactionID: transactionID, body: .response(body), clientVersion: settings.clientVersion,
                    requesterAddress: destination, networkID: settings.networkID == 0 ? nil : settings.networkID,
                    keyedRecords: Self.keyedRecordsRevision)
    }

    private mutating func emit(_ bytes: [UInt8], to endpoint: Endpoint) {
        statistics.datagramsSent += 1
        statistics.bytesSent += bytes.count
        effects.append(.send(bytes, to: endpoint))
    }

    // MARK: - Upkeep

    private mutating func performMaintenance(now: Timestamp) {
        rateLimiter.sweep(now: now)
        capabilities.sweep(now: now)
        peerStore.expire(now: now)
        itemStore.expire(now: now)
        for contact in routing.questionableContacts(now: now).prefix(settings.pingsPerMaintenance) {
            sendUpkeepPing(to: contact, now: now)
        }
        // Refresh stale buckets with internal lookups, at most a few at a time.
        // At most two refresh lookups at a time; heartbeat and membership reads do not count.
        guard routing.count > 0, operations.values.filter({ $0.isInternal && $0.purpose == .refresh }).count < 2 else { return }
        for target in routing.refreshTargets(now: now, using: &generator).prefix(2) {
            _ = beginLookup(target: target, kind: .findNode, extraSeeds: [], purpose: .refresh, now: now)
        }
    }
}

extension QueryMethod {
    /// Stores reuse one prepared query per phase; each target gets its own token.
    mutating func replaceToken(_ token: [UInt8]) {
        switch self {
        case .announcePeer(let infoHash, let port, let implied, _):
            self = .announcePeer(infoHash: infoHash, port: port, impliedPort: implied, token: token)
        case .announceRecord(var arguments):
            arguments[Array("token".utf8)] = .bytes(token)
            self = .announceRecord(arguments: arguments)
        case .put(var arguments):
            arguments.token = token
            self = .put(arguments)
        default:
            break
        }
    }
}
