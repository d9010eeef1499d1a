/// What an internal operation was started for; its result goes back to that part of the core.
enum InternalPurpose: Hashable, Sendable {
    case refresh
    case heartbeat
    case membershipRead
    case rejoin
    /// A lookup of the replicas of a watched key's storage target, for its feeds.
    case feedReplicas(NodeID)
    /// One storage target's part of the sharded read the caller knows as `parent`.
    case shardRead(parent: OperationID)
}

/// The watched key's live view and when it is next read.
struct MembershipWatch: Sendable {
    let key: [UInt8]
    var view: MembershipView
    /// The key's storage targets, each read through record feeds.
    var shards: [ShardFeed]
    /// How long a replica's word counts after its last answer: the heartbeat TTL.
    var vouchTime: Duration
    /// Full reads in flight, of storage targets whose replicas have no feeds.
    var readsInFlight: Set<OperationID> = []
    /// Whether any read of the view reached a node. Until one does, the view is read again
    /// as soon as a heartbeat gets through rather than a whole prune interval later.
    var hasBeenAnswered = false
    /// Replicas caught hiding the node's own heartbeat (docs/PROTOCOL.md 3.2): they acknowledged
    /// its store, then read without it. For a while they only route: record lookups pass
    /// through them but neither store on them nor read from them, so the heartbeat and the
    /// live view move on to the next closest nodes. Bounded: a node can be shown only so many
    /// liars, and a replica that lost the record in a restart is trusted again after 10 minutes.
    var hiders = RememberedEndpoints(memory: .seconds(600), capacity: 256)
    /// While a hider is known, the replicas the heartbeat is stored on are checked as well.
    var storeChecks = StoreChecks()
}

/// Re-bootstrapping after the routing table emptied (an outage, a laptop waking up): from
/// 1 s, doubling to 60 s, so a node is never silently cut off and never hammers its seeds.
struct RejoinSchedule: Sendable {
    var seeds: [Endpoint] = []
    var delay: Duration = .seconds(1)
    var nextAttempt: Timestamp?
    var inFlight: OperationID?
}

/// The subnet layer on top of the DHT (docs/PROTOCOL.md 5): the heartbeat publisher, the
/// pruner, the live view and rejoining.
extension DHTCore {
    // MARK: - API

    /// Starts publishing `info` under `settings.key` every interval, at once now.
    public mutating func startHeartbeat(_ info: ServerInfo, settings heartbeatSettings: HeartbeatSettings,
                                        signingKey: SigningKey, now: Timestamp) {
        heartbeat = HeartbeatPublisher(info: info, settings: heartbeatSettings, signingKey: signingKey, now: now)
        pruneInterval = heartbeatSettings.pruneInterval
        watchMembership(key: heartbeatSettings.key, vouchTime: heartbeatSettings.ttl, now: now)
        runSubnetUpkeep(now: now)
    }

    /// New state or info; published at once when it differs.
    public mutating func updateHeartbeat(_ info: ServerInfo, now: Timestamp) {
        heartbeat?.update(info, now: now)
        runSubnetUpkeep(now: now)
    }

    /// Stops the periodic heartbeat and announces `final` (OFFLINE, normally) once, as an
    /// operation whose result reaches the shell like any other. Nil when there was no heartbeat.
    public mutating func stopHeartbeat(final info: ServerInfo, now: Timestamp) -> OperationID? {
        guard var publisher = heartbeat else { return nil }
        heartbeat = nil
        publisher.update(info, now: now)
        let record = publisher.nextRecord(now: now)
        return startAnnounce(record, now: now)
    }

    /// Keeps a live view of `key` (read every prune interval) and reports its changes as events.
    /// `vouchTime` is how long an owner outlives the last answer of the replicas that held it
    /// when they all fall silent: the heartbeat TTL.
    public mutating func watchMembership(key: String, vouchTime: Duration = .seconds(90), now: Timestamp) {
        guard membership?.key != Array(key.utf8) else { return }
        let bytes = Array(key.utf8)
        membership = MembershipWatch(key: bytes, view: MembershipView(policy: settings.keyPolicies.byKey[bytes]),
                                     shards: storageTargets(forKey: bytes).map { ShardFeed(key: bytes, target: $0) }, vouchTime: vouchTime)
        nextPrune = now
    }

    /// Enforces `policies` from now on, on stores and on the live view: a subnet's writers
    /// changed (`run --policy` re-reads its files). Records stored already stay until they
    /// expire; live peers the new policy refuses leave the view at once, reported as expired.
    public mutating func replaceKeyPolicies(_ policies: KeyPolicies, now: Timestamp) {
        settings.keyPolicies = policies
        responder.settings.keyPolicies = policies
        guard var watch = membership.take() else { return }
        let events = watch.view.admit(policies.byKey[watch.key], now: now)
        membership = watch
        deliver(events, now: now)
    }

    /// Stops keeping a live view: a peer that only heartbeats (a simulation's announcers).
    public mutating func unwatchMembership() {
        membership = nil
    }

    public func livePeers(now: Timestamp) -> [Peer] { membership?.view.livePeers(now: now) ?? [] }

    /// Peers whose last word was OFFLINE and whose record has not expired yet.
    public func departedPeers(now: Timestamp) -> [Peer] { membership?.view.departedPeers(now: now) ?? [] }

    public var heartbeatStatus: HeartbeatStatus? {
        heartbeat.map { HeartbeatStatus(info: $0.info, lastSuccess: $0.lastSuccess, lastSeq: $0.lastSeq,
                                        published: $0.published, failed: $0.failed, ttl: $0.settings.ttl) }
    }

    // MARK: - Upkeep

    mutating func runSubnetUpkeep(now: Timestamp) {
        if heartbeat?.waitingForNodes == true, routing.count > 0 { heartbeat?.publishSoon(now: now) }
        if var publisher = heartbeat, publisher.isDue(now: now) {
            let record = publisher.nextRecord(now: now)
            heartbeat = publisher
            let depth = shardDepth(ofKey: record.key)
            let id = beginStore(target: KeyedRecord.target(forKey: record.key, owner: record.owner, shardDepth: depth),
                                plan: .announceRecord(record, stamping: .renewedAtStore, shardDepth: depth), purpose: .heartbeat, now: now)
            if operations[id] != nil {
                heartbeat?.started(id, record: record, now: now)
            } else {
                // It ended at once: no node to ask. A failure, retried with backoff.
                heartbeat?.failedToStart(now: now)
                emit(event: .heartbeatPublished(ok: false, latency: .zero))
            }
        }
        if now >= nextPrune {
            nextPrune = now + pruneInterval
            prune(now: now)
        }
        if routing.count > 0 {
            // Connected (again): nothing to retry, and the next outage starts from the short delay.
            rejoin.nextAttempt = nil
            if rejoin.inFlight == nil { rejoin.delay = settings.rejoinDelays.lowerBound }
        } else if !rejoin.seeds.isEmpty, rejoin.inFlight == nil {
            if let next = rejoin.nextAttempt, now >= next {
                rejoin.nextAttempt = nil
                let id = beginLookup(target: localID, kind: .findNode, extraSeeds: rejoin.seeds, purpose: .rejoin, now: now)
                if operations[id] != nil { rejoin.inFlight = id }
            } else if rejoin.nextAttempt == nil {
                rejoin.nextAttempt = now + rejoin.delay
            }
        }
    }

    /// Expired records out of storage; failing contacts, and those whose owner's heartbeat
    /// expired or said OFFLINE, out of the routing table; then a fresh read of the live view.
    private mutating func prune(now: Timestamp) {
        let expiredRecords = responder.recordStore.expire(now: now).count + responder.recordsExpiredByAnswers
        responder.recordsExpiredByAnswers = 0
        var removedPeers = 0
        for contact in routing.allContacts where contact.isBad(settings: routing.settings) {
            routing.remove(id: contact.id)
            lostContacts.add(id: contact.id, endpoint: contact.endpoint, now: now)
            removedPeers += 1
        }
        probeLostContacts(now: now)
        if var watch = membership.take() {
            let events = watch.view.expire(now: now)
            membership = watch
            // Expired peers may only be cut off and are probed later; OFFLINE ones left on purpose.
            removedPeers += removeFromRouting(events.map(\.peer), rememberLost: true, now: now)
            removedPeers += removeFromRouting(watch.view.departedPeers(now: now), rememberLost: false, now: now)
            for event in events { emit(event: .membership(event)) }
            // Keys whose replicas have no feeds (older nodes) are read in full, as before feeds.
            if watch.readsInFlight.isEmpty {
                for shard in watch.shards where shard.hasNoFeeds {
                    let id = beginLookup(target: shard.target, kind: .getRecords(key: watch.key), extraSeeds: [], purpose: .membershipRead, now: now)
                    if operations[id] != nil { membership?.readsInFlight.insert(id) }
                }
            }
            pollMembershipFeeds(now: now)
        }
        if expiredRecords > 0 || removedPeers > 0 { emit(event: .pruned(records: expiredRecords, peers: removedPeers)) }
    }

    /// Reports membership events, first taking the peers that left or expired out of routing.
    mutating func deliver(_ events: [MembershipEvent], now: Timestamp) {
        var removed = 0
        for event in events {
            switch event {
            case .expired(let peer): removed += removeFromRouting([peer], rememberLost: true, now: now)
            case .left(let peer): removed += removeFromRouting([peer], rememberLost: false, now: now)
            case .joined, .stateChanged, .changed: break
            }
        }
        if removed > 0 { emit(event: .pruned(records: 0, peers: removed)) }
        for event in events { emit(event: .membership(event)) }
    }

    /// Removes the routing-table entries of departed peers: by their default id and by the
    /// address their heartbeat named. Returns how many went. `rememberLost` keeps them for
    /// probing (expired heartbeats: the peer may only be cut off).
    private mutating func removeFromRouting(_ peers: [Peer], rememberLost: Bool, now: Timestamp) -> Int {
        guard !peers.isEmpty else { return 0 }
        let ids = Set(peers.map { NodeID.defaultID(for: $0.owner) })
        let addresses = Set(peers.map(\.info.address))
        var removed = 0
        for contact in routing.allContacts where ids.contains(contact.id) || addresses.contains(contact.endpoint) {
            routing.remove(id: contact.id)
            if rememberLost { lostContacts.add(id: contact.id, endpoint: contact.endpoint, now: now) } else { lostContacts.remove(contact.endpoint) }
            removed += 1
        }
        return removed
    }

    /// Pings a few lost contacts each round, and a seed while the table is short of k: an
    /// answer puts the contact back in the table and the next lookups cross the healed link.
    private mutating func probeLostContacts(now: Timestamp) {
        for lost in lostContacts.takeProbes(count: settings.pingsPerMaintenance, now: now) {
            sendUpkeepPing(to: lost.endpoint, expectedID: lost.id, now: now)
        }
        if routing.count < settings.k, !rejoin.seeds.isEmpty {
            let seed = rejoin.seeds[Int(generator.next() % UInt64(rejoin.seeds.count))]
            if !routing.allContacts.contains(where: { $0.endpoint == seed }) {
                sendUpkeepPing(to: seed, expectedID: nil, now: now)
            }
        }
    }

    mutating func internalOperationFinished(_ id: OperationID, purpose: InternalPurpose, result: OperationResult) {
        let now = currentTime
        switch purpose {
        case .refresh:
            break
        case .heartbeat:
            guard case .store(let stored) = result, var publisher = heartbeat,
                let outcome = publisher.finished(id, result: stored, now: now) else { return }
            heartbeat = publisher
            emit(event: .heartbeatPublished(ok: outcome.ok, latency: outcome.latency))
            // The store's lookup found the replicas of the heartbeat's target: the feeds need no lookup of their own.
            adoptFeedReplicas(stored.lookup, now: now)
            if let owner = heartbeat?.signingKey.publicKey, let index = membership?.shards.firstIndex(where: { $0.target == stored.lookup.target }) {
                membership?.shards[index].ownRecordStored(by: owner, at: stored.accepted.map(\.endpoint), now: now)
                checkOwnStores(owner: owner, shard: index, acknowledgedBy: stored.accepted, now: now)
            }
            // The network is reachable now: a view never read from it is read at once.
            if outcome.ok, membership?.hasBeenAnswered == false, membership?.readsInFlight.isEmpty == true { nextPrune = now }
        case .membershipRead:
            guard var watch = membership, watch.readsInFlight.remove(id) != nil else { return }
            var events = [MembershipEvent]()
            if case .lookup(let lookup) = result {
                events = watch.view.apply(lookup.records, now: now)
                if lookup.responses > 0 { watch.hasBeenAnswered = true }
            }
            membership = watch
            deliver(events, now: now)
        case .shardRead(let parent):
            shardReadFinished(parent: parent, result: result)
        case .feedReplicas(let target):
            guard case .lookup(let lookup) = result,
                let index = membership?.shards.firstIndex(where: { $0.target == target && $0.lookupInFlight == id }) else { return }
            membership?.shards[index].lookupInFlight = nil
            adoptFeedReplicas(lookup, now: now)
        case .rejoin:
            guard rejoin.inFlight == id else { return }
            rejoin.inFlight = nil
            if routing.count > 0 {
                rejoin.delay = settings.rejoinDelays.lowerBound
                // Back on the network: tell it at once that we are alive.
                heartbeat?.publishSoon(now: now)
            } else {
                rejoin.delay = min(rejoin.delay * 2, settings.rejoinDelays.upperBound)
                rejoin.nextAttempt = now + rejoin.delay
            }
        }
    }
}
