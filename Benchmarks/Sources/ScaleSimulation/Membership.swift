import Foundation
import SubnetDHT

// MARK: - Live views kept by feeds, with churn (issue 24, item 6)

struct MembershipResult {
    let count: Int
    let viewers: Int
    let churnPercent: Double
    let windowSeconds: Double
    /// Bytes and datagrams each viewer alive through the window received per second.
    var viewerBytesPerSecond: [Double] = []
    var viewerDatagramsPerSecond: [Double] = []
    /// The busiest node of all (alive through the window): queries received per second and
    /// bytes sent per second, each its own maximum.
    var busiestQueriesPerSecond = 0.0
    var busiestBytesSentPerSecond = 0.0
    /// Joins and deaths made during the window: what each viewer had to learn.
    var joins = 0
    var deaths = 0
    /// Seconds from a join (a dead peer back) until 99 % of the sampled viewers listed it,
    /// and from a silent death until 99 % no longer did; nil where it never happened.
    var joinDelays: [Double?] = []
    var deathDelays: [Double?] = []
    /// Each sampled view's correctness at each check, against who is settled alive or dead.
    var correctness: [Double] = []
    /// Of those checks, how many found the view listing every settled live peer.
    var completeViews = 0
    /// Of the incomplete ones, how many were views of peers alive less than 2 intervals
    /// (a peer back from the dead still reading its first view).
    var incompleteViewsOfNewcomers = 0
    /// And how many were views of peers back from the dead, at any age since.
    var incompleteViewsOfReturned = 0
    /// The settled live peers missing from a sampled view, by the whole intervals they had
    /// been alive (the last bucket holds the rest): to tell which peers views miss.
    var missingByIntervalsAlive = Array(repeating: 0, count: 8)
    /// Sampled views, and those listing every settled live peer, by whole intervals since the
    /// start: to tell a start-up's catching of hiders from a steady state.
    var viewsByInterval: [Int: (sampled: Int, complete: Int)] = [:]
    /// Bytes of one heartbeat record on the wire (its `get_records` dictionary).
    var recordBytes = 0
    /// What the heaviest 1 % of viewers (by bytes received) did over the window, per viewer
    /// per second: to tell what a long tail of the per-peer cost is made of.
    var heaviest: [String: Double] = [:]
    /// With `--traffic-breakdown`: the bytes per second those viewers, and the 1 % of viewers
    /// around the median, received, by kind.
    var heaviestBytesByKind: [String: Double] = [:]
    var medianBytesByKind: [String: Double] = [:]
    var wallSeconds = 0.0
    var residentAtEnd = 0
}

/// `count` peers heartbeat every interval (TTL 3 intervals) at random phases; `viewers` of
/// them keep live views (the rest only announce: a view of every peer in every peer is
/// N squared entries, more than memory holds past a few thousand). After a warm-up, every
/// interval `churnPercent` of the peers change: half die silently, as many dead ones come
/// back. Traffic is counted from the cores' own counters over `window` intervals; views are
/// sampled every 5 s against the ground truth.
func runMembership(_ snapshot: Snapshot, churnPercent: Double, options: Options) -> MembershipResult {
    let clock = ContinuousClock()
    let started = clock.now
    let count = snapshot.count
    var generator = SplitMix64(seed: options.seed &+ 0xFEED &+ UInt64(count))
    let network = snapshot.network(options, beforeRecords: true)

    let interval = options.heartbeatInterval
    let settings = HeartbeatSettings(interval: .seconds(interval), ttl: .seconds(3 * interval))
    let keys = (0..<count).map { _ in signingKey(using: &generator) }
    let phases = (0..<count).map { _ in Int64(generator.next() % UInt64(interval * 1000)) }
    let viewerCount = min(options.viewers, count)
    let viewers = Set(Array(0..<count).seededShuffle(using: &generator).prefix(viewerCount))
    let sample = Array(viewers.sorted().seededShuffle(using: &generator).prefix(100))
    var result = MembershipResult(count: count, viewers: viewerCount, churnPercent: churnPercent,
                                  windowSeconds: Double(options.membershipWindow * interval))
    let info = { (index: Int) in
        ServerInfo(state: .online, role: "worker", throughput: 1, address: snapshot.endpoints[index], name: "node-\(index)", version: "0.1.0")
    }
    result.recordBytes = KeyedRecord.signed(key: nodeKey, value: info(0).bencoded, seq: 1, expires: 1, by: keys[0]).encodedWireDictionary.count

    addAdversaries(to: network, snapshot: snapshot, options: options, generator: &generator)
    let t0 = network.now
    let churnStart = t0 + .seconds(2 * interval)
    let windowStart = churnStart + settings.ttl + .seconds(interval)
    let windowEnd = windowStart + .seconds(options.membershipWindow * interval)
    // After the window, long enough for the last deaths to leave every view.
    let end = windowEnd + settings.ttl + settings.pruneInterval * 2 + .seconds(10)

    var alive = Array(repeating: false, count: count)
    var aliveSince = Array(repeating: t0, count: count)
    var deadSince: [Int: Timestamp] = [:]
    var saved: [Int: DHTCore] = [:]
    var returned = Set<Int>()
    /// Joins and deaths being timed: the peer, when, and whether it is a join.
    var pending: [(index: Int, at: Timestamp, join: Bool)] = []
    var heartbeating = Array(repeating: false, count: count)
    var nextChurn = churnStart
    var before: [Int: CoreStatistics] = [:]
    let traffic = TrafficCounters()
    var lastReport = clock.now
    let step = Duration.seconds(1)
    let checkEvery: Int64 = 5

    func statistics(_ index: Int) -> CoreStatistics? { network.core(at: snapshot.endpoints[index])?.statistics }

    while network.now < end {
        let now = network.now
        // Heartbeats start at their phase in the first interval.
        for index in 0..<count where !heartbeating[index] && t0 + .milliseconds(phases[index]) <= now {
            heartbeating[index] = true
            alive[index] = true
            aliveSince[index] = now
            let key = keys[index], peerInfo = info(index), keepsView = viewers.contains(index)
            network.with(snapshot.endpoints[index]) { core, now in
                core.startHeartbeat(peerInfo, settings: settings, signingKey: key, now: now)
                if !keepsView { core.unwatchMembership() }
            }
        }
        if now >= windowStart, before.isEmpty {
            for index in 0..<count where alive[index] { before[index] = statistics(index) }
            if options.trafficBreakdown {
                for index in viewers where alive[index] { traffic.watch(snapshot.endpoints[index], on: network) }
            }
        }
        // Churn: half the changes are silent deaths, half dead peers coming back.
        if churnPercent > 0, now >= nextChurn, now < windowEnd {
            nextChurn = nextChurn + .seconds(interval)
            let changes = max(2, Int((Double(count) * churnPercent / 100).rounded()))
            let living = (0..<count).filter { alive[$0] }.seededShuffle(using: &generator)
            for index in living.prefix(changes / 2) {
                saved[index] = network.core(at: snapshot.endpoints[index])
                network.remove(snapshot.endpoints[index])
                alive[index] = false
                deadSince[index] = now
                before[index] = nil
                if now >= windowStart { result.deaths += 1 }
                pending.append((index, now, false))
            }
            let returning = saved.keys.filter { deadSince[$0].map { now - $0 >= settings.ttl + settings.pruneInterval * 2 } ?? false }
            for index in returning.sorted().seededShuffle(using: &generator).prefix(changes / 2) {
                network.add(saved.removeValue(forKey: index)!, at: snapshot.endpoints[index])
                returned.insert(index)
                alive[index] = true
                aliveSince[index] = now
                deadSince[index] = nil
                if now >= windowStart { result.joins += 1 }
                pending.append((index, now, true))
            }
        }
        network.run(for: step) { false }

        // Views against the ground truth, every few seconds.
        if (network.now.milliseconds / 1000) % checkEvery == 0 {
            let settledAlive = (0..<count).filter { alive[$0] && network.now - aliveSince[$0] >= .seconds(2 * interval) }
            let settledDead = deadSince.filter { network.now - $0.value >= settings.ttl + settings.pruneInterval * 2 }.map(\.key)
            var views: [Set<PublicKey>] = []
            var viewersAge: [Duration] = []
            var viewersReturned: [Bool] = []
            for index in sample where alive[index] {
                views.append(Set(network.core(at: snapshot.endpoints[index])?.livePeers(now: network.now).map(\.owner) ?? []))
                viewersAge.append(network.now - aliveSince[index])
                viewersReturned.append(returned.contains(index))
            }
            if network.now >= churnStart {
                for (number, (view, age)) in zip(views, viewersAge).enumerated() {
                    let missing = settledAlive.filter { !view.contains(keys[$0].publicKey) }
                    let stale = settledDead.count { view.contains(keys[$0].publicKey) }
                    result.correctness.append(1 - Double(missing.count + stale) / Double(max(1, settledAlive.count + settledDead.count)))
                    let sinceStart = Int((network.now - t0).components.seconds / Int64(interval))
                    result.viewsByInterval[sinceStart, default: (0, 0)].sampled += 1
                    if missing.isEmpty {
                        result.completeViews += 1
                        result.viewsByInterval[sinceStart, default: (0, 0)].complete += 1
                    } else if age < .seconds(2 * interval) {
                        result.incompleteViewsOfNewcomers += 1
                    }
                    if !missing.isEmpty, viewersReturned[number] { result.incompleteViewsOfReturned += 1 }
                    for peer in missing {
                        let intervalsAlive = Int((network.now - aliveSince[peer]).components.seconds / Int64(interval))
                        result.missingByIntervalsAlive[min(intervalsAlive, result.missingByIntervalsAlive.count - 1)] += 1
                    }
                }
            }
            pending.removeAll { event in
                let owner = keys[event.index].publicKey
                let seeing = views.count { $0.contains(owner) }
                let done = event.join ? Double(seeing) >= 0.99 * Double(views.count) : Double(views.count - seeing) >= 0.99 * Double(views.count)
                let elapsed = seconds(network.now - event.at)
                if done {
                    if event.join { result.joinDelays.append(elapsed) } else { result.deathDelays.append(elapsed) }
                    return true
                }
                if elapsed > Double(6 * interval) {
                    if event.join { result.joinDelays.append(nil) } else { result.deathDelays.append(nil) }
                    return true
                }
                return false
            }
        }
        if network.now >= windowEnd, result.viewerBytesPerSecond.isEmpty {
            let seconds = result.windowSeconds
            var perViewer: [(index: Int, bytes: Double, first: CoreStatistics, last: CoreStatistics)] = []
            for (index, first) in before {
                guard alive[index], let last = statistics(index) else { continue }
                let queries = Double(last.queriesReceived.total - first.queriesReceived.total) / seconds
                let sent = Double(last.bytesSent - first.bytesSent) / seconds
                result.busiestQueriesPerSecond = max(result.busiestQueriesPerSecond, queries)
                result.busiestBytesSentPerSecond = max(result.busiestBytesSentPerSecond, sent)
                if viewers.contains(index) {
                    perViewer.append((index, Double(last.bytesReceived - first.bytesReceived) / seconds, first, last))
                    result.viewerBytesPerSecond.append(Double(last.bytesReceived - first.bytesReceived) / seconds)
                    result.viewerDatagramsPerSecond.append(Double(last.datagramsReceived - first.datagramsReceived) / seconds)
                }
            }
            let ranked = perViewer.sorted { $0.bytes > $1.bytes }, onePercent = max(1, perViewer.count / 100)
            let heaviest = ranked.prefix(onePercent)
            result.heaviest = heaviestBreakdown(heaviest, seconds: seconds)
            if options.trafficBreakdown {
                func bytesByKind(_ group: ArraySlice<(index: Int, bytes: Double, first: CoreStatistics, last: CoreStatistics)>) -> [String: Double] {
                    var figures: [String: Double] = [:]
                    for viewer in group {
                        for (kind, bytes) in traffic[snapshot.endpoints[viewer.index]]?.receivedBytes ?? [:] {
                            figures[kind, default: 0] += Double(bytes) / seconds / Double(group.count)
                        }
                    }
                    return figures
                }
                result.heaviestBytesByKind = bytesByKind(heaviest)
                let middle = max(0, ranked.count / 2 - onePercent / 2)
                result.medianBytesByKind = bytesByKind(ranked[middle..<min(ranked.count, middle + onePercent)])
                for index in viewers { traffic.stopWatching(snapshot.endpoints[index], on: network) }
            }
        }
        if clock.now - lastReport > .seconds(30) {
            lastReport = clock.now
            note("  membership N=\(count) churn \(churnPercent)%: \(format(seconds(network.now - t0), 0)) of \(format(seconds(end - t0), 0)) virtual s, "
                 + "\(format(seconds(clock.now - started))) s, RSS \(mebibytes(residentBytes()))")
        }
    }
    result.wallSeconds = seconds(clock.now - started)
    result.residentAtEnd = residentBytes()
    return result
}

/// The mean, over `heaviest` (the heaviest 1 % of viewers by bytes received), of what they
/// received and did per second.
func heaviestBreakdown(_ heaviest: ArraySlice<(index: Int, bytes: Double, first: CoreStatistics, last: CoreStatistics)>, seconds: Double) -> [String: Double] {
    guard !heaviest.isEmpty else { return [:] }
    var figures: [String: Double] = [:]
    func add(_ name: String, _ value: (CoreStatistics) -> Int) {
        figures[name] = heaviest.reduce(0.0) { $0 + Double(value($1.last) - value($1.first)) } / seconds / Double(heaviest.count)
    }
    add("bytes_received", \.bytesReceived)
    add("feed_full_reads", \.feedFullReads)
    add("feed_change_reads", \.feedChangeReads)
    add("feed_records_received", \.feedRecordsReceived)
    add("feed_spot_checks", \.feedSpotChecks)
    add("replica_disagreements", \.replicaDisagreements)
    add("replicas_avoided", \.replicasAvoided)
    for kind in QueryKind.allCases { add("queries_received_\(kind.name)", { $0.queriesReceived[kind] }) }
    return figures.filter { $0.value > 0 }
}

/// Prints one membership run and returns its figures for the JSON output.
func printMembership(_ result: MembershipResult, quiet: MembershipResult?) -> [String: Any] {
    func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }
    func quantile(_ values: [Double], _ q: Double) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]
    }
    let bytes = median(result.viewerBytesPerSecond), meanBytes = result.viewerBytesPerSecond.reduce(0, +) / Double(max(1, result.viewerBytesPerSecond.count))
    let joinsSeen = result.joinDelays.compactMap { $0 }, deathsSeen = result.deathDelays.compactMap { $0 }
    print("  churn \(result.churnPercent)%: viewer bytes received/s median \(format(bytes, 0)) (mean \(format(meanBytes, 0)), p99 \(format(quantile(result.viewerBytesPerSecond, 0.99), 0))), "
          + "datagrams/s median \(format(median(result.viewerDatagramsPerSecond), 1)); busiest node \(format(result.busiestQueriesPerSecond, 0)) queries/s received, "
          + "\(format(result.busiestBytesSentPerSecond / 1000, 1)) KB/s sent")
    var perChange: Double?
    if let quiet, result.joins + result.deaths > 0 {
        let quietMean = quiet.viewerBytesPerSecond.reduce(0, +) / Double(max(1, quiet.viewerBytesPerSecond.count))
        perChange = (meanBytes - quietMean) * result.windowSeconds / Double(result.joins + result.deaths)
        print("    changes in the window: \(result.joins) joins, \(result.deaths) deaths; extra bytes per viewer per change \(format(perChange!, 0)) "
              + "(a record is \(result.recordBytes) bytes: target at most \(2 * result.recordBytes))")
    }
    let correct = result.correctness
    let complete = Double(result.completeViews) / Double(max(1, correct.count))
    print("    views: \(correct.count) samples, min \(format(100 * (correct.min() ?? 1), 2)) %, mean \(format(100 * correct.reduce(0, +) / Double(max(1, correct.count)), 3)) % correct, "
          + "\(format(100 * complete, 2)) % listing every settled live peer "
          + "(of the rest, \(result.incompleteViewsOfNewcomers) were views of peers alive under 2 intervals, "
          + "\(result.incompleteViewsOfReturned) of peers back from the dead; "
          + "missing peers by intervals alive: \(result.missingByIntervalsAlive.map(String.init).joined(separator: " "))); "
          + "joins seen by 99 %: \(joinsSeen.count)/\(result.joinDelays.count), p50 \(format(median(joinsSeen), 0)) s, max \(format(joinsSeen.max() ?? 0, 0)) s; "
          + "deaths gone from 99 %: \(deathsSeen.count)/\(result.deathDelays.count), p50 \(format(median(deathsSeen), 0)) s, max \(format(deathsSeen.max() ?? 0, 0)) s; "
          + "\(format(result.wallSeconds)) s wall, RSS \(mebibytes(result.residentAtEnd))")
    let byInterval = result.viewsByInterval.sorted { $0.key < $1.key }
    print("    views listing every settled live peer, by intervals since the start: "
          + byInterval.map { "\($0.key): \(format(100 * Double($0.value.complete) / Double(max(1, $0.value.sampled)), 1)) %" }.joined(separator: ", "))
    var json: [String: Any] = [
        "complete_views_by_interval": Dictionary(uniqueKeysWithValues: byInterval.map { (String($0.key), Double($0.value.complete) / Double(max(1, $0.value.sampled))) }),
        "churn_percent": result.churnPercent, "viewers": result.viewers, "viewer_bytes_per_s_median": bytes,
        "viewer_bytes_per_s_mean": meanBytes, "viewer_datagrams_per_s_median": median(result.viewerDatagramsPerSecond),
        "busiest_queries_per_s": result.busiestQueriesPerSecond, "busiest_bytes_sent_per_s": result.busiestBytesSentPerSecond,
        "joins": result.joins, "deaths": result.deaths, "record_bytes": result.recordBytes,
        "correctness_min": correct.min() ?? 1, "complete_views": complete,
        "incomplete_views_of_newcomers": result.incompleteViewsOfNewcomers, "incomplete_views_of_returned": result.incompleteViewsOfReturned, "missing_by_intervals_alive": result.missingByIntervalsAlive, "join_delays": result.joinDelays.map { $0 ?? -1 }, "death_delays": result.deathDelays.map { $0 ?? -1 },
    ]
    if let perChange { json["extra_bytes_per_change"] = perChange }
    if !result.heaviest.isEmpty {
        print("    heaviest 1 % of viewers, per viewer per second: " + result.heaviest.sorted { $0.key < $1.key }.map { "\($0.key) \(format($0.value, 2))" }.joined(separator: ", "))
        json["heaviest_viewers_per_s"] = result.heaviest
    }
    if !result.heaviestBytesByKind.isEmpty {
        print("    their bytes received per second by kind: " + result.heaviestBytesByKind.sorted { $0.value > $1.value }.map { "\($0.key) \(format($0.value, 0))" }.joined(separator: ", "))
        json["heaviest_viewers_bytes_by_kind"] = result.heaviestBytesByKind
        print("    the median 1 %'s bytes received per second by kind: " + result.medianBytesByKind.sorted { $0.value > $1.value }.map { "\($0.key) \(format($0.value, 0))" }.joined(separator: ", "))
        json["median_viewers_bytes_by_kind"] = result.medianBytesByKind
    }
    return json
}

/// `options.adversaries` nodes per storage target of `node`, with ids sharing the target's
/// first 40 bits (closer than any peer of a simulated subnet), joined through random peers.
/// Each routes honestly, but an inbound filter acknowledges every `announce_record` in its
/// core's place, so the core never stores a record and answers every read with nothing.
func addAdversaries(to network: InMemoryNetwork, snapshot: Snapshot, options: Options, generator: inout SplitMix64) {
    guard options.adversaries > 0 else { return }
    var joins: [(Endpoint, OperationID)] = []
    for target in KeyedRecord.storageTargets(forKey: nodeKey, shardDepth: options.shardDepth) {
        for _ in 0..<options.adversaries {
            let id = target.randomized(afterPrefix: 40, using: &generator)
            // 198.18.0.0/15, the benchmarking range: never a simulated peer's address.
            let endpoint = Endpoint(address: .v4(0xC612_0000 | UInt32(joins.count)), port: 6881)
            network.add(DHTCore(localID: id, settings: options.settings, seed: generator.next(), now: network.now), at: endpoint)
            network.filterInbound(of: endpoint) { bytes, source, _ in
                guard let message = try? KRPCCodec.decode(bytes), case .query(let query) = message.body,
                    case .announceRecord = query.method else { return nil }
                let ack = KRPCMessage(transactionID: message.transactionID, body: .response(ResponseBody(id: id)))
                return [(KRPCCodec.encode(ack), source)]
            }
            let seed = snapshot.endpoints[Int(generator.next() % UInt64(snapshot.count))]
            joins.append((endpoint, network.with(endpoint) { core, now in core.bootstrap(from: [seed], now: now) }))
        }
    }
    for (endpoint, operation) in joins { _ = network.await(operation, at: endpoint) }
    note("  \(joins.count) adversaries joined")
}
