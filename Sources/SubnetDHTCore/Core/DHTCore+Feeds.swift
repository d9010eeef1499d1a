/// The live view kept by record feeds (docs/PROTOCOL.md 3.2): each storage target of the
/// watched key is followed from a few of its replicas, which send what changed since the
/// reader last asked; refreshes never travel.
extension DHTCore {
    /// Every prune interval: replicas whose word lapsed stop vouching, the local store is read,
    /// replicas are looked up when due, and every home is asked what changed.
    mutating func pollMembershipFeeds(now: Timestamp) {
        // Taken, not copied, while it changes (here and below): a copy left in `membership`
        // made every change to the view or a feed copy what it holds, per page read.
        guard var watch = membership.take() else { return }
        var events = [MembershipEvent]()
        var lookups = [NodeID]()
        for index in watch.shards.indices {
            events += watch.view.applyFeed(watch.shards[index].lapse(vouchTime: watch.vouchTime, now: now), now: now)
            if watch.shards[index].needsLookup(now: now, firstDelay: pruneInterval, refresh: settings.feedReplicaRefresh) {
                lookups.append(watch.shards[index].target)
            }
        }
        membership = watch
        deliver(events, now: now)
        readLocalFeeds(now: now)
        for target in lookups {
            let id = beginLookup(target: target, kind: .getRecords(key: watch.key), extraSeeds: [], purpose: .feedReplicas(target),
                                 readsRecords: false, now: now)
            if operations[id] != nil, let index = membership?.shards.firstIndex(where: { $0.target == target }) {
                membership?.shards[index].lookupInFlight = id
            }
        }
        startFeedReads(now: now)
    }

    /// What the local store holds under each storage target, read like a replica's feed.
    mutating func readLocalFeeds(now: Timestamp) {
        guard var watch = membership.take() else { return }
        var events = [MembershipEvent]()
        for index in watch.shards.indices {
            events += watch.view.applyFeed(watch.shards[index].readLocal(responder.recordStore, now: now), now: now)
        }
        membership = watch
        deliver(events, now: now)
    }

    /// A read for every home not reading already.
    private mutating func startFeedReads(now: Timestamp) {
        guard let shards = membership?.shards else { return }
        for index in shards.indices {
            guard let queries = membership?.shards[index].startReads() else { continue }
            for (node, query) in queries {
                sendQuery(query, to: node.endpoint, expectedID: node.id, purpose: .feedPage(target: shards[index].target), now: now)
            }
        }
    }

    /// A lookup (or a store's lookup) found the record-capable nodes closest to a storage
    /// target: the feeds of that target follow them, starting at once with new homes.
    mutating func adoptFeedReplicas(_ lookup: LookupResult, now: Timestamp) {
        guard let watch = membership, let index = watch.shards.firstIndex(where: { $0.target == lookup.target }) else { return }
        if lookup.responses > 0 { membership?.hasBeenAnswered = true }
        // A lookup begun before a hider was caught may still name it.
        let hiders = watch.hiders.current(now: now)
        let closest = lookup.closest.filter { !hiders.contains($0.endpoint) }
        guard !closest.isEmpty else { return }
        membership?.shards[index].adopt(closest, wanted: settings.feedReplicas, vouchTime: watch.vouchTime, now: now,
                                        generator: &generator)
        startFeedReads(now: now)
    }

    /// A page of a feed read arrived from `source`, answering `asked`, or its query failed (`body` nil).
    mutating func feedPageAnswered(target: NodeID, from source: Endpoint, asked: QueryMethod?, body: ResponseBody?, now: Timestamp) {
        guard let index = membership?.shards.firstIndex(where: { $0.target == target }), var watch = membership.take() else { return }
        // A late answer of an earlier read or spot check is no read: not counted.
        let awaited = watch.shards[index].awaits(asked, from: source)
        let isSpotCheck = watch.shards[index].spotCheck?.endpoint == source
        let outcome = watch.shards[index].answered(from: source, asked: asked, body: body, wanted: settings.feedReplicas,
                                                   vouchTime: watch.vouchTime, maxPages: settings.maxRecordPagesPerReplica,
                                                   now: now, generator: &generator)
        let next = outcome.next
        if outcome.noticed { statistics.replicaDisagreements += 1 }
        if outcome.avoided { statistics.replicasAvoided += 1 }
        if let hider = outcome.hidesOwnRecord { caught(hider, in: &watch, now: now) }
        if awaited, let body, body.feedCursor != nil {
            statistics.feedRecordsReceived += RecordPage.entries(of: body).count
            statistics.feedRemovalsReceived += (body.gone?.count ?? 0) / PublicKey.byteCount
            if isSpotCheck {
                statistics.feedSpotChecks += 1
            } else if next == nil {
                watch.hasBeenAnswered = true
                if body.isFullRead { statistics.feedFullReads += 1 } else { statistics.feedChangeReads += 1 }
            }
        }
        let events = watch.view.applyFeed(outcome.changes, now: now)
        membership = watch
        if let next, let body { sendQuery(next, to: source, expectedID: body.id, purpose: .feedPage(target: target), now: now) }
        deliver(events, now: now)
        // A home that failed, had no feeds or kept hiding owners was replaced, or a spot check
        // found a replica holding owners this view lacks: the new home starts reading now.
        if next == nil, body?.feedCursor == nil || outcome.avoided || outcome.followsAnother || outcome.hidesOwnRecord != nil {
            startFeedReads(now: now)
        }
    }
}

extension DHTCore {
    /// `hider` acknowledged the heartbeat and read or answered without it: caught for certain,
    /// with no patience, and the heartbeat goes at once to replicas not known to hide it.
    private mutating func caught(_ hider: Endpoint, in watch: inout MembershipWatch, now: Timestamp) {
        statistics.replicaDisagreements += 1
        statistics.replicasAvoided += 1
        watch.hiders.add(hider, now: now)
        heartbeat?.publishSoon(now: now)
    }

    /// While a hider is known: the replicas that acknowledged the heartbeat under the target
    /// of `shard` and are not followed are asked whether they hold it (`StoreChecks`).
    mutating func checkOwnStores(owner: PublicKey, shard index: Int, acknowledgedBy nodes: [NodeInfo], now: Timestamp) {
        guard var watch = membership.take() else { return }
        var queries = [(node: NodeInfo, query: QueryMethod)]()
        if !watch.hiders.isEmpty(now: now) {
            let followed = Set(watch.shards[index].homes.map(\.node.endpoint))
            queries = watch.storeChecks.queries(owner: owner, target: watch.shards[index].target, acknowledgedBy: nodes,
                                                except: followed, owedFor: watch.vouchTime, now: now)
        }
        membership = watch
        for (node, query) in queries { sendQuery(query, to: node.endpoint, expectedID: node.id, purpose: .storeCheck, now: now) }
    }

    /// The answer to a store check, or nil when it failed.
    mutating func storeCheckAnswered(from source: Endpoint, body: ResponseBody?, now: Timestamp) {
        guard var watch = membership.take() else { return }
        if watch.storeChecks.answered(from: source, body: body, key: watch.key, now: now) {
            caught(source, in: &watch, now: now)
        }
        membership = watch
    }
}

extension MembershipView {
    /// Folds in what a feed's read changed in what it holds.
    mutating func applyFeed(_ changes: [ShardFeed.Change], now: Timestamp) -> [MembershipEvent] {
        var events = [MembershipEvent]()
        for change in changes {
            switch change {
            case .held(let record): events += hold(record, now: now)
            case .released(let owner): events += release(owner, now: now)
            }
        }
        return events
    }
}
