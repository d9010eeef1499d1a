import Foundation
import SubnetDHT

/// How each node fills its routing table after joining through one random member.
enum JoinRefresh: String {
    /// Nothing more than the join's own-id lookup.
    case none
    /// One more own-id lookup once everyone has joined, so early joiners learn of later ones.
    case own
    /// That, plus one lookup of a random id in each of the log2(N/k) + 2 farthest buckets' ranges.
    case buckets
}

struct Options {
    var nodes = [1_000, 10_000]
    var lookups = 200
    var dead = [0, 10, 30]
    var recordOwners = 100
    var heartbeatPeers = 10_000
    var heartbeatInterval = 30
    var heartbeatReaders = 4
    var heartbeatWindow = 2
    var seed: UInt64 = 1
    var parallel = 10
    var joinBatch = 64
    var joinRefresh = JoinRefresh.own
    var latencyMilliseconds = 5
    var jsonPath: String?
    var svgPath: String?
    /// The membership mode (`--membership`): live views kept by feeds, with churn.
    var membership = false
    var viewers = 1_000
    var churnPercents: [Double] = [0, 1]
    var shardDepth = 0
    var feedReplicas = DHTSettings().feedReplicas
    var membershipWindow = 4
    /// Adversaries per storage target of `node`, with ids closer to it than any peer's: they
    /// route honestly but acknowledge stores they never keep, so they answer every read of
    /// `node` with nothing (issue 24's attack).
    var adversaries = 0
    /// Counts every viewer's traffic by kind, for the heaviest viewers' breakdown (slow).
    var trafficBreakdown = false

    var settings: DHTSettings {
        // The defaults: every node has an address of its own, so one node per IP (restrictIPs)
        // costs nothing, and BEP 42 ids are not enforced (enforceSecureNodeIDs is false).
        var settings = DHTSettings()
        precondition(!settings.enforceSecureNodeIDs)
        settings.feedReplicas = feedReplicas
        if shardDepth > 0 {
            var policy = KeyPolicy.node()
            policy.shardDepth = shardDepth
            settings.keyPolicies.register(policy, for: "node")
        }
        return settings
    }

    /// No loss, no cuts; no event log, which nothing here reads.
    func makeNetwork(start: Timestamp = Timestamp(seconds: 1_700_000_000)) -> InMemoryNetwork {
        let network = InMemoryNetwork(start: start, latency: .milliseconds(latencyMilliseconds), seed: seed)
        network.keepsEventLog = false
        return network
    }
}

let nodeKey = Array("node".utf8)

// MARK: - Building a network

/// Every core of a built network, copied out (a value type: the copies share storage until
/// mutated), so each scenario starts from the same network.
struct Snapshot {
    let count: Int
    let endpoints: [Endpoint]
    let ids: [NodeID]
    let cores: [DHTCore]
    /// The same network before the records of `owners` were announced: the heartbeat runs on it.
    let coresBeforeRecords: [DHTCore]
    let time: Timestamp
    /// Nodes that announced a `node` record, and their keys.
    let owners: [Int]
    let ownerKeys: [PublicKey]
    let ownersAccepted: [Int]
    let buildSeconds: Double
    let joinSeconds: Double
    /// Virtual time the joins took (every node ticks every 5 s meanwhile).
    let joinVirtualSeconds: Double
    let buildVirtualSeconds: Double
    let residentAfterBuild: Int
    let routingSizes: [Int]

    /// The built network, on a network of its own; `beforeRecords` leaves out the records the
    /// owners announced (the heartbeat and membership runs announce their own).
    func network(_ options: Options, beforeRecords: Bool = false) -> InMemoryNetwork {
        let network = options.makeNetwork(start: time)
        let cores = beforeRecords ? coresBeforeRecords : cores
        for index in 0..<count { network.add(cores[index], at: endpoints[index]) }
        return network
    }
}

func buildNetwork(count: Int, options: Options) -> Snapshot {
    let clock = ContinuousClock()
    let started = clock.now
    var generator = SplitMix64(seed: options.seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(count))
    let settings = options.settings
    let network = options.makeNetwork()

    // Join: each node bootstraps (one lookup of its own id) through a random member that has
    // already joined, up to `joinBatch` nodes at a time.
    var nextReport = count / 10
    var joinRounds = [Int]()
    let testnet = InMemoryTestnet(growing: count, on: network, settings: settings, joinBatch: options.joinBatch,
                                  generator: &generator) { joined, results in
        for case .lookup(let lookup)? in results { joinRounds.append(lookup.rounds) }
        if joined >= nextReport {
            note("  N=\(count): \(joined) joined, \(format(seconds(clock.now - started))) s, RSS \(mebibytes(residentBytes()))")
            nextReport += count / 10
        }
    }
    let endpoints = testnet.endpoints, ids = testnet.ids
    let joinSeconds = seconds(clock.now - started)
    let joinVirtualSeconds = seconds(network.now - Timestamp(seconds: 1_700_000_000))

    // Optional refresh: own-id lookups (and lookups into far buckets) once everyone is in.
    if options.joinRefresh != .none {
        let depth = options.joinRefresh == .buckets ? Int(log2(Double(count) / 8).rounded(.up)) + 2 : 0
        let perNode = 1 + depth
        var targets = [(Int, NodeID)]()
        targets.reserveCapacity(count * perNode)
        for index in 0..<count {
            targets.append((index, ids[index]))
            for bit in 0..<depth {
                targets.append((index, ids[index].flippingBit(bit).randomized(afterPrefix: bit + 1, using: &generator)))
            }
        }
        network.runOperations(targets.count, parallel: options.joinBatch) { position in
            let (index, target) = targets[position]
            return (endpoints[index], network.with(endpoints[index]) { core, now in core.startLookup(target: target, kind: .findNode, now: now) })
        }
        note("  N=\(count): refresh (\(options.joinRefresh.rawValue), \(targets.count) lookups) done, \(format(seconds(clock.now - started))) s")
    }

    let coresBeforeRecords = endpoints.map { network.core(at: $0)! }

    // Some nodes announce a `node` record (TTL 50 min) for the record reads.
    var owners = Array(0..<count).seededShuffle(using: &generator).prefix(options.recordOwners).map { $0 }
    owners.sort()
    let keys = owners.map { _ in signingKey(using: &generator) }
    var accepted = [Int](repeating: 0, count: owners.count)
    network.runOperations(owners.count, parallel: 16, start: { position in
        let index = owners[position]
        let info = ServerInfo(state: .online, role: "worker", throughput: 1, address: endpoints[index], name: "node-\(index)")
        let now = network.now
        let record = KeyedRecord.signed(key: nodeKey, value: info.bencoded, seq: now.milliseconds,
                                        expires: now.seconds + 3_000, by: keys[position])
        return (endpoints[index], network.with(endpoints[index]) { core, now in core.startAnnounce(record, now: now) })
    }, finished: { position, result in
        if case .store(let store) = result { accepted[position] = store.accepted.count }
    })

    var cores = [DHTCore]()
    cores.reserveCapacity(count)
    for index in 0..<count { cores.append(network.core(at: endpoints[index])!) }
    let routingSizes = cores.map(\.routingTableSize)
    let snapshot = Snapshot(count: count, endpoints: endpoints, ids: ids, cores: cores,
                            coresBeforeRecords: coresBeforeRecords, time: network.now,
                            owners: owners, ownerKeys: keys.map(\.publicKey), ownersAccepted: accepted,
                            buildSeconds: seconds(clock.now - started), joinSeconds: joinSeconds,
                            joinVirtualSeconds: joinVirtualSeconds,
                            buildVirtualSeconds: seconds(network.now - Timestamp(seconds: 1_700_000_000)),
                            residentAfterBuild: residentBytes(), routingSizes: routingSizes)
    if joinRounds.isEmpty == false {
        note("  N=\(count): join lookups median \(percentile(joinRounds, 0.5)!) rounds")
    }
    return snapshot
}

// MARK: - Lookups with a fraction of the nodes dead

struct LookupFigures {
    var rounds: [Int] = []
    var messages: [Int] = []
    var successes = 0
    var allKFound = 0
    var noResult = 0
    var attempts = 0

    var successRate: Double { attempts == 0 ? 0 : Double(successes) / Double(attempts) }
    var allKRate: Double { attempts == 0 ? 0 : Double(allKFound) / Double(attempts) }
}

struct ScenarioResult {
    let count: Int
    let deadPercent: Int
    let live: Int
    var findNode = LookupFigures()
    var records = LookupFigures()
    /// Queries the reader sent for each record read: lookup, every page, retries.
    var recordQueries: [Int] = []
    var recordsReturned: [Int] = []
    var liveOwners = 0
    var wallSeconds = 0.0
    var virtualSeconds = 0.0
}

func runLookups(_ snapshot: Snapshot, deadPercent: Int, options: Options) -> ScenarioResult {
    let clock = ContinuousClock()
    let started = clock.now
    let count = snapshot.count
    var generator = SplitMix64(seed: options.seed &+ UInt64(count) &* 31 &+ UInt64(deadPercent) &* 1_000_003)
    let network = snapshot.network(options)
    let virtualStart = network.now

    // Dead without notice: their datagrams are lost, nobody is told.
    let deadCount = count * deadPercent / 100
    let dead = Set(Array(0..<count).seededShuffle(using: &generator).prefix(deadCount))
    for index in dead { network.remove(snapshot.endpoints[index]) }
    let live = (0..<count).filter { !dead.contains($0) }
    let liveIDs = live.map { snapshot.ids[$0] }
    var result = ScenarioResult(count: count, deadPercent: deadPercent, live: live.count)
    let k = options.settings.k

    // (a) find_node for random targets from random live nodes.
    let origins = (0..<options.lookups).map { _ in snapshot.endpoints[live[randomIndex(live.count, using: &generator)]] }
    let targets = (0..<options.lookups).map { _ in NodeID.random(using: &generator) }
    let found = network.runOperations(options.lookups, parallel: options.parallel) { index in
        (origins[index], network.with(origins[index]) { core, now in core.startLookup(target: targets[index], kind: .findNode, now: now) })
    }
    for (index, outcome) in found.enumerated() {
        result.findNode.attempts += 1
        guard case .lookup(let lookup)? = outcome else { result.findNode.noResult += 1; continue }
        result.findNode.rounds.append(lookup.rounds)
        result.findNode.messages.append(lookup.messagesSent)
        let truth = InMemoryTestnet.closest(to: targets[index], among: liveIDs, count: k)
        if lookup.closest.first?.id == truth.first { result.findNode.successes += 1 }
        if Set(lookup.closest.prefix(k).map(\.id)) == Set(truth) { result.findNode.allKFound += 1 }
    }

    // (b) Reads of every `node` record from random live nodes; complete when every live
    // owner's record is there.
    let liveOwnerKeys = Set(zip(snapshot.owners, snapshot.ownerKeys).filter { !dead.contains($0.0) }.map(\.1))
    result.liveOwners = liveOwnerKeys.count
    let readers = (0..<options.lookups).map { _ in snapshot.endpoints[live[randomIndex(live.count, using: &generator)]] }
    var sentBefore = [Int](repeating: 0, count: options.lookups)
    let reads = network.runOperations(options.lookups, parallel: options.parallel, start: { index in
        let endpoint = readers[index]
        sentBefore[index] = queriesSent(network.core(at: endpoint)!)
        return (endpoint, network.with(endpoint) { core, now in core.startRecordsLookup(key: nodeKey, now: now) })
    }, finished: { index, _ in
        result.recordQueries.append(queriesSent(network.core(at: readers[index])!) - sentBefore[index])
    })
    for outcome in reads {
        result.records.attempts += 1
        guard case .lookup(let lookup)? = outcome else { result.records.noResult += 1; continue }
        result.records.rounds.append(lookup.rounds)
        result.records.messages.append(lookup.messagesSent)
        result.recordsReturned.append(lookup.records.count)
        let owners = Set(lookup.records.map(\.owner))
        if liveOwnerKeys.isSubset(of: owners) { result.records.successes += 1 }
        // "All k": the lookup phase ended on the k live nodes closest to SHA1("node").
        let truth = InMemoryTestnet.closest(to: KeyedRecord.target(forKey: nodeKey), among: liveIDs, count: k)
        if Set(lookup.closest.prefix(k).map(\.id)) == Set(truth) { result.records.allKFound += 1 }
    }
    result.wallSeconds = seconds(clock.now - started)
    result.virtualSeconds = seconds(network.now - virtualStart)
    return result
}

/// Queries a core has sent: every datagram out, less its answers and errors.
func queriesSent(_ core: DHTCore) -> Int {
    core.statistics.datagramsSent - core.statistics.queriesAnswered - core.statistics.errorsSent
}

// MARK: - Heartbeat load on the replicas of `node`

struct HeartbeatResult {
    let count: Int
    let peers: Int
    let readers: Int
    let interval: Int
    let windowSeconds: Double
    var replicas: [(endpoint: Endpoint, counter: TrafficCounter, stored: Int)] = []
    var announces = 0
    var announcesAccepted = 0
    var acceptedBy: [Int] = []
    var announceRounds: [Int] = []
    var announceMessages: [Int] = []
    var skipped = 0
    var readerViews: [Int] = []
    var readerPublished = 0
    var wallSeconds = 0.0
    var windowWallSeconds = 0.0
    var residentAtEnd = 0
    /// One full read of the view after the window, from a node that is no replica: queries
    /// sent (lookup and pages), bytes received, records returned, virtual and wall time.
    var fullReadQueries = 0
    var fullReadBytes = 0
    var fullReadRecords = 0
    var fullReadVirtualSeconds = 0.0
    var fullReadWallSeconds = 0.0
}

/// `peers` nodes announce a signed heartbeat record under `node` every interval, at random
/// phases (the announce a heartbeat makes: a lookup of SHA1("node") collecting tokens, then
/// `announce_record` to the k closest). `readers` of them run the real heartbeat
/// (`startHeartbeat`), which also reads the whole live view every prune interval (10 s); the
/// others only announce, since 10,000 full view reads every 10 s is more than the simulation can
/// carry, and the readers' load is scaled up to all peers. After one interval of warm-up, the
/// traffic the k replicas (the k nodes closest to SHA1("node")) receive is counted for `window`
/// intervals.
func runHeartbeats(_ snapshot: Snapshot, options: Options) -> HeartbeatResult {
    let clock = ContinuousClock()
    let started = clock.now
    let count = snapshot.count
    var generator = SplitMix64(seed: options.seed &+ 0xBEEF &+ UInt64(count))
    let network = snapshot.network(options, beforeRecords: true)
    let traffic = TrafficCounters()

    let k = options.settings.k
    let target = KeyedRecord.target(forKey: nodeKey)
    let replicaIDs = InMemoryTestnet.closest(to: target, among: snapshot.ids, count: k)
    let indexOfID = Dictionary(uniqueKeysWithValues: snapshot.ids.enumerated().map { ($1, $0) })
    let replicas = replicaIDs.map { snapshot.endpoints[indexOfID[$0]!] }

    let peers = min(options.heartbeatPeers, count)
    let readerCount = min(options.heartbeatReaders, peers)
    let publishers = Array(0..<count).seededShuffle(using: &generator).prefix(peers).map { $0 }
    let readers = Set(publishers.prefix(readerCount))
    let keys = publishers.map { _ in signingKey(using: &generator) }
    let intervalMilliseconds = Int64(options.heartbeatInterval) * 1000
    let phases = publishers.map { _ in Int64(generator.next() % UInt64(intervalMilliseconds)) }
    let order = publishers.indices.sorted { phases[$0] < phases[$1] }
    let settings = HeartbeatSettings(interval: .seconds(options.heartbeatInterval), ttl: .seconds(3 * options.heartbeatInterval))

    traffic.readers = Set(readers.map { snapshot.endpoints[$0] })
    let windowSeconds = Double(options.heartbeatWindow * options.heartbeatInterval)
    var result = HeartbeatResult(count: count, peers: peers, readers: readerCount, interval: options.heartbeatInterval,
                                 windowSeconds: windowSeconds)

    let t0 = network.now
    let warmupEnd = t0 + .seconds(options.heartbeatInterval)
    let end = warmupEnd + .seconds(options.heartbeatWindow * options.heartbeatInterval)
    var cursor = 0
    var cycle: Int64 = 0
    var inFlight: [Int: (endpoint: Endpoint, operation: OperationID)] = [:]
    var measuring = false
    var windowStarted = clock.now
    var lastReport = clock.now
    let step = Duration.milliseconds(100)

    func collect() {
        for (position, flight) in inFlight {
            guard let outcome = network.takeResult(of: flight.operation, at: flight.endpoint) else { continue }
            inFlight[position] = nil
            guard measuring, case .store(let store) = outcome else { continue }
            result.announces += 1
            if !store.accepted.isEmpty { result.announcesAccepted += 1 }
            result.acceptedBy.append(store.accepted.count)
            result.announceRounds.append(store.lookup.rounds)
            result.announceMessages.append(store.lookup.messagesSent + store.accepted.count + store.rejected.count + store.unanswered.count)
        }
    }

    while network.now < end {
        if !measuring, network.now >= warmupEnd {
            measuring = true
            windowStarted = clock.now
            for replica in replicas { traffic.watch(replica, on: network) }
        }
        // Start every publish that is due.
        while true {
            let position = order[cursor]
            let due = t0 + .milliseconds(phases[position] + cycle * intervalMilliseconds)
            guard due <= network.now else { break }
            let index = publishers[position]
            let endpoint = snapshot.endpoints[index]
            let info = ServerInfo(state: .online, role: "worker", throughput: 1, address: endpoint, name: "node-\(index)", version: "0.1.0")
            if readers.contains(index) {
                if cycle == 0 {
                    network.with(endpoint) { core, now in core.startHeartbeat(info, settings: settings, signingKey: keys[position], now: now) }
                }
            } else if inFlight[position] != nil {
                result.skipped += 1
            } else {
                let now = network.now
                let record = KeyedRecord.signed(key: nodeKey, value: info.bencoded, seq: now.milliseconds,
                                                expires: (now + settings.ttl).seconds, by: keys[position])
                let operation = network.with(endpoint) { core, now in core.startAnnounce(record, now: now) }
                inFlight[position] = (endpoint, operation)
            }
            cursor += 1
            if cursor == order.count {
                cursor = 0
                cycle += 1
            }
        }
        network.run(for: step) { false }
        collect()
        if clock.now - lastReport > .seconds(30) {
            lastReport = clock.now
            note("  heartbeats: \(format(seconds(network.now - t0))) of \(format(seconds(end - t0))) virtual s, "
                 + "\(format(seconds(clock.now - started))) s, RSS \(mebibytes(residentBytes()))")
        }
    }
    result.windowWallSeconds = seconds(clock.now - windowStarted)
    network.run(for: .seconds(5)) { false }
    collect()
    for replica in replicas {
        result.replicas.append((replica, traffic[replica] ?? TrafficCounter(), network.core(at: replica)?.storedRecordCount ?? 0))
    }
    // One full read of the view, measured alone.
    if let reader = publishers.first(where: { !readers.contains($0) && !replicas.contains(snapshot.endpoints[$0]) }) {
        let endpoint = snapshot.endpoints[reader]
        traffic.watch(endpoint, on: network)
        let before = queriesSent(network.core(at: endpoint)!)
        let virtualStart = network.now
        let wallStart = clock.now
        let operation = network.with(endpoint) { core, now in core.startRecordsLookup(key: nodeKey, now: now) }
        var outcome: OperationResult?
        network.run(for: .seconds(300)) {
            outcome = network.takeResult(of: operation, at: endpoint)
            return outcome != nil
        }
        result.fullReadWallSeconds = seconds(clock.now - wallStart)
        result.fullReadVirtualSeconds = seconds(network.now - virtualStart)
        result.fullReadQueries = queriesSent(network.core(at: endpoint)!) - before
        result.fullReadBytes = traffic[endpoint]?.totalReceivedBytes ?? 0
        if case .lookup(let lookup)? = outcome { result.fullReadRecords = lookup.records.count }
        traffic.stopWatching(endpoint, on: network)
    }
    for index in readers {
        let core = network.core(at: snapshot.endpoints[index])!
        result.readerViews.append(core.livePeers(now: network.now).count)
        result.readerPublished += core.heartbeatStatus?.published ?? 0
    }
    result.wallSeconds = seconds(clock.now - started)
    result.residentAtEnd = residentBytes()
    return result
}
