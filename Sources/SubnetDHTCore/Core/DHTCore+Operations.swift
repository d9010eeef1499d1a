/// Operations: lookups, stores, record reads and pings, from their start through their phases
/// (docs/PROTOCOL.md 2 and 3) to the result the caller or the core itself receives.
/// What to store once a store operation's lookup has found the closest nodes and their tokens.
public enum StorePlan: Sendable {
    case announcePeer(port: UInt16, impliedPort: Bool)
    case putImmutable(BValue)
    /// `seq` nil means one above the highest seq the lookup found (1 when none).
    case putMutable(signingKey: SigningKey, salt: [UInt8], value: BValue, seq: Int64?, cas: Int64?)
    /// A signed keyed record, stored with `announce_record` (docs/PROTOCOL.md 3), stamped
    /// as `stamping` says when the stores go out.
    /// `shardDepth` is the key's (docs/PROTOCOL.md 3.3), sent as `sd` when not 0.
    case announceRecord(KeyedRecord, stamping: RecordStamping = .asSigned, shardDepth: Int = 0)
}

extension DHTCore {
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
        operations[id] = Operation(phase: .pinging, plan: nil, owner: .caller)
        sendQuery(.ping, to: endpoint, expectedID: nil, purpose: .userPing(id), now: now)
        return id
    }

    public mutating func startLookup(target: NodeID, kind: LookupKind, extraSeeds: [Endpoint] = [], now: Timestamp) -> OperationID {
        beginLookup(target: target, kind: kind, extraSeeds: extraSeeds, purpose: nil, now: now)
    }

    /// Starts a lookup; with `purpose` its result goes to the core itself, not the shell.
    /// A record lookup that does not `readRecords` only finds the replicas: it asks token-only
    /// pages (docs/PROTOCOL.md 3.1) and reads none.
    mutating func beginLookup(target: NodeID, kind: LookupKind, extraSeeds: [Endpoint], purpose: InternalPurpose?,
                              readsRecords: Bool = true, now: Timestamp) -> OperationID {
        currentTime = max(currentTime, now)
        let id = makeOperationID()
        var read: RecordRead?
        if case .getRecords(let key) = kind, readsRecords { read = RecordRead(collector: RecordCollector(key: key)) }
        operations[id] = Operation(phase: .walking(makeLookup(target: target, kind: kind, extraSeeds: extraSeeds), read: read),
                                   plan: nil, owner: purpose.map(Operation.Owner.core) ?? .caller)
        advance(id, now: now)
        return id
    }

    /// Reads every record under `key`: a lookup of each of its storage targets (SHA1(key) alone
    /// unless the key is sharded, docs/PROTOCOL.md 3.3), then every page from the closest
    /// replicas, merged and verified (docs/PROTOCOL.md 3), as one operation.
    public mutating func startRecordsLookup(key: [UInt8], now: Timestamp) -> OperationID {
        let targets = storageTargets(forKey: key)
        guard targets.count > 1 else { return startLookup(target: targets[0], kind: .getRecords(key: key), now: now) }
        let parent = makeOperationID()
        shardedReads[parent] = ShardedRead(target: KeyedRecord.target(forKey: key), pending: targets.count)
        for target in targets {
            _ = beginLookup(target: target, kind: .getRecords(key: key), extraSeeds: [], purpose: .shardRead(parent: parent), now: now)
        }
        return parent
    }

    /// Stores `record` on the closest nodes of its key, with their tokens.
    public mutating func startAnnounce(_ record: KeyedRecord, now: Timestamp) -> OperationID {
        let depth = shardDepth(ofKey: record.key)
        return startStore(target: KeyedRecord.target(forKey: record.key, owner: record.owner, shardDepth: depth),
                          plan: .announceRecord(record, shardDepth: depth), now: now)
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
        case .announceRecord(let record, _, _): kind = .getRecords(key: record.key)
        }
        let id = makeOperationID()
        let lookup = makeLookup(target: target, kind: kind, extraSeeds: [], stopsAtFirstValue: false)
        operations[id] = Operation(phase: .walking(lookup, read: nil), plan: plan, owner: purpose.map(Operation.Owner.core) ?? .caller)
        advance(id, now: now)
        return id
    }

    /// The shard depth of `key`'s policy (docs/PROTOCOL.md 3.3); 0 for keys without one.
    public func shardDepth(ofKey key: [UInt8]) -> Int {
        min(max(settings.keyPolicies.policy(for: key)?.shardDepth ?? 0, 0), KeyedRecord.maxShardDepth)
    }

    /// Where `key`'s records are stored: SHA1(key), or its shard targets.
    public func storageTargets(forKey key: [UInt8]) -> [NodeID] {
        KeyedRecord.storageTargets(forKey: key, shardDepth: shardDepth(ofKey: key))
    }

    mutating func makeOperationID() -> OperationID {
        defer { nextOperationNumber += 1 }
        return OperationID(rawValue: nextOperationNumber)
    }

    func makeLookup(target: NodeID, kind: LookupKind, extraSeeds: [Endpoint], stopsAtFirstValue: Bool = true) -> IterativeLookup {
        var lookup = IterativeLookup(target: target, kind: kind, localID: localID, k: settings.k,
                                     candidateLimit: settings.lookupCandidateLimit, stopsAtFirstValue: stopsAtFirstValue)
        var known = routing.closest(to: target, count: settings.k * 2).map { NodeInfo(id: $0.id, endpoint: $0.endpoint) }
        if case .getRecords = kind {
            // The closest contacts may all be plain, and plain nodes name only the nodes closest
            // overall: the replicas are reached through the record-capable contacts we know.
            known += routing.recordCapable(near: target, count: settings.k, families: [.ipv4, .ipv6], capabilities: capabilities,
                                           now: currentTime)
                .filter { contact in !known.contains { $0.endpoint == contact.endpoint } }
        }
        lookup.seed(nodes: known, endpoints: extraSeeds.filter { seed in !known.contains { $0.endpoint == seed } })
        if case .getRecords = kind, let hiders = membership?.hiders.current(now: currentTime), !hiders.isEmpty { lookup.routeOnly(through: hiders) }
        return lookup
    }

    // MARK: - Driving lookups and stores

    /// Sends the next queries of a lookup, or moves a finished lookup to its store phase or result.
    mutating func advance(_ id: OperationID, now: Timestamp) {
        guard var operation = operations[id], operation.isWalking, var lookup = operation.lookup else { return }
        for candidate in lookup.nextQueries(alpha: settings.alpha) {
            sendQuery(lookupQuery(for: lookup, to: candidate.endpoint, storing: operation.plan != nil || operation.read == nil, now: now),
                      to: candidate.endpoint, expectedID: candidate.id, purpose: .lookup(id), now: now)
        }
        operation.lookup = lookup
        operations[id] = operation
        guard lookup.isFinished else { return }
        if let plan = operation.plan {
            startStorePhase(id, plan: plan, lookup: lookup, now: now)
        } else if operation.read != nil {
            startRecordPaging(id, lookup: lookup, now: now)
        } else {
            finish(id, .lookup(lookup.result()))
        }
    }

    /// What a lookup asks `endpoint`. A record lookup asks a contact known to be plain
    /// Mainline a `find_node` instead: it still routes the lookup, and it would ignore the rest.
    func lookupQuery(for lookup: IterativeLookup, to endpoint: Endpoint, storing: Bool, now: Timestamp) -> QueryMethod {
        switch lookup.kind {
        case .findNode: .findNode(target: lookup.target, want: nil)
        case .getPeers: .getPeers(infoHash: lookup.target, want: nil)
        case .getImmutable, .getMutable: .get(target: lookup.target, seq: nil, want: nil)
        case .getRecords where capabilities.recordSupport(of: endpoint, now: now) == .plain:
            .findNode(target: lookup.target, want: nil)
        case .getRecords: .getRecords(target: lookup.target, after: storing ? QueryMethod.tokenOnlyCursor : nil, want: nil)
        }
    }

    mutating func startStorePhase(_ id: OperationID, plan: StorePlan, lookup: IterativeLookup, now: Timestamp) {
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
        case .announceRecord(var record, let stamping, let depth):
            if stamping == .renewedAtStore, let restamped = heartbeat?.restamp(id, now: now) { record = restamped }
            var arguments = record.announceArguments
            if depth > 0 { arguments[Array("sd".utf8)] = .int(Int64(depth)) }
            query = .announceRecord(arguments: arguments)
            progress.seq = record.seq
        }
        for candidate in targets {
            guard let nodeID = candidate.id, let token = candidate.token, var method = query else { continue }
            method.replaceToken(token)
            let node = NodeInfo(id: nodeID, endpoint: candidate.endpoint)
            progress.waiting[candidate.endpoint] = node
            sendQuery(method, to: candidate.endpoint, expectedID: nodeID, purpose: .store(id), now: now)
        }
        operations[id]?.phase = .storing(lookup, progress)
        finishStoreIfDone(id)
    }

    mutating func finishStoreIfDone(_ id: OperationID) {
        guard let operation = operations[id], let progress = operation.store, progress.waiting.isEmpty,
            let lookup = operation.lookup else { return }
        finish(id, .store(StoreResult(lookup: lookup.result(), accepted: progress.accepted, rejected: progress.rejected,
                                      unanswered: progress.unanswered, seq: progress.seq)))
    }

    mutating func finish(_ id: OperationID, _ result: OperationResult) {
        guard let operation = operations.removeValue(forKey: id) else { return }
        switch operation.owner {
        case .core(let purpose): internalOperationFinished(id, purpose: purpose, result: result)
        case .caller: effects.append(.event(.operationFinished(id, result)))
        }
    }

    mutating func emit(event: CoreEvent) {
        effects.append(.event(event))
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
