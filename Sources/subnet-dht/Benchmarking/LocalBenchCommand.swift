import ArgumentParser
import SubnetDHT

#if canImport(Glibc)
import Glibc
#endif

/// `bench-local`: the SubnetDHT side of `Benchmarks/side_by_side.py`. N nodes in this one
/// process (so the process's resident memory divided by N is a per-node cost), bootstrapped
/// and exercised exactly as the script drives libtorrent and OpenDHT in theirs.
struct LocalBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-local",
        abstract: "Start N nodes in this process on 127.0.0.1 and time BEP 44 puts and gets between them.",
        discussion: """
            Node 0 starts first; nodes 1..N-1 each start and bootstrap from node 0 (without waiting \
            for one another). Bootstrap time runs from node 0's start until every routing table \
            holds min(8, N-1) nodes. After --settle seconds, PUTS pairs run one at a time: a mutable \
            put of a VALUE-SIZE-byte value under a fresh key from a random node, then a get of that \
            key from another random node. Latencies include failed operations (time until they \
            returned). With --json, prints one JSON object with every sample.
            """)

    @Option(help: "Number of nodes (1 to 256).") var nodes = 32
    @Option(help: "Number of put/get pairs (1 to 10,000).") var puts = 200
    @Option(help: "Value size in bytes (1 to 990).") var valueSize = 200
    @Option(help: "Seed for node keys, item keys, values and the choice of nodes.") var seed: UInt64 = 1
    @Option(help: "Longest wait for the routing tables, in seconds.") var bootstrapTimeout = 60.0
    @Option(help: "Pause between bootstrap and the first put, in seconds.") var settle = 2.0
    @Flag(help: "Print one JSON object instead of a summary.") var json = false

    func validate() throws {
        guard (1...256).contains(nodes) else { throw ValidationError("--nodes must be 1 to 256") }
        guard (1...10_000).contains(puts) else { throw ValidationError("--puts must be 1 to 10,000") }
        guard (1...990).contains(valueSize) else { throw ValidationError("--value-size must be 1 to 990") }
        guard bootstrapTimeout > 0, bootstrapTimeout <= 3600 else { throw ValidationError("--bootstrap-timeout must be 0 to 3,600") }
        guard settle >= 0, settle <= 600 else { throw ValidationError("--settle must be 0 to 600") }
    }

    func run() async throws {
        // Read before any node exists: the Swift runtime's own footprint, which the script
        // subtracts so the per-node figure is the DHT's cost.
        let rssBefore = ResidentMemory.kib()
        var random = SplitMix64(seed: seed)
        let clock = ContinuousClock()

        let startedAt = clock.now
        let network = try await LocalNetwork.start(count: nodes, random: &random)
        let target = min(8, nodes - 1)
        let tables = await network.waitForTables(atLeast: target, limit: .seconds(bootstrapTimeout), clock: clock)
        let bootstrapSeconds = tables.reached ? seconds(tables.at - startedAt) : nil
        let lookupsSeconds = await network.lookupsFinished().map { seconds($0 - startedAt) }

        try await Task.sleep(for: .seconds(settle))

        let trafficBefore = await network.traffic()
        var samples = PairSamples()
        for _ in 0..<puts {
            let writer = Int(random.next() % UInt64(nodes))
            // The reader is another node whenever there is one.
            let reader = nodes == 1 ? writer : (writer + 1 + Int(random.next() % UInt64(nodes - 1))) % nodes
            let key = try SigningKey(seed: random.bytes(SigningKey.seedLength))
            let value = BValue.bytes(random.bytes(valueSize))
            await samples.measure(put: network.nodes[writer], get: network.nodes[reader], key: key, value: value, clock: clock)
        }

        let rssAfter = ResidentMemory.kib()
        let traffic = await network.traffic() - trafficBefore
        let minimumTable = await network.smallestTable()
        await network.shutdown()

        let report = LocalBenchReport(nodes: nodes, puts: puts, valueSize: valueSize, bootstrapTarget: target,
                                      bootstrapSeconds: bootstrapSeconds, lookupsSeconds: lookupsSeconds,
                                      smallestTableAtBootstrap: tables.smallest, smallestTableAfter: minimumTable,
                                      samples: samples, traffic: traffic, rssBefore: rssBefore, rssAfter: rssAfter)
        if json {
            Console.out(report.json)
        } else {
            Console.out(report.text)
        }
    }
}

/// The benchmark's readings of a `LoopbackTestnet` whose nodes join in the background.
private struct LocalNetwork {
    let testnet: LoopbackTestnet
    var nodes: [DHTNode] { testnet.nodes }

    /// Binds node 0, then each later node, whose bootstrap from node 0 starts at once: libtorrent
    /// and OpenDHT also bootstrap in the background, and a node started later must not wait for
    /// earlier lookups. The keys come from `random`, node 0's first.
    static func start(count: Int, random: inout SplitMix64) async throws -> LocalNetwork {
        var plan = LoopbackTestnet.Plan(size: count)
        plan.signingKeys = try (0..<count).map { _ in try SigningKey(seed: random.bytes(SigningKey.seedLength)) }
        return LocalNetwork(testnet: try await LoopbackTestnet.start(plan, joining: .inBackground))
    }

    /// Polls every node's routing-table size every 50 ms (the script polls its peers at the same
    /// period) until all hold `target`, or `limit` passes.
    func waitForTables(atLeast target: Int, limit: Duration, clock: ContinuousClock) async -> (reached: Bool, at: ContinuousClock.Instant, smallest: Int) {
        let deadline = clock.now + limit
        while true {
            let smallest = await smallestTable()
            let now = clock.now
            if smallest >= target { return (true, now, smallest) }
            if now >= deadline { return (false, now, smallest) }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    func smallestTable() async -> Int {
        var smallest = Int.max
        for node in nodes {
            smallest = min(smallest, (try? await node.status().routingTableSize) ?? 0)
        }
        return smallest == .max ? 0 : smallest
    }

    /// When the last find-self lookup ended, or nil if any failed (each is bounded by the node's
    /// request timeouts, so this wait is too).
    func lookupsFinished() async -> ContinuousClock.Instant? {
        var last: ContinuousClock.Instant?
        for task in testnet.joins {
            guard let finished = await task.value else { return nil }
            last = max(last ?? finished, finished)
        }
        return last
    }

    /// Totals over every node, so the script can show how many queries a put/get pair costs.
    func traffic() async -> Traffic {
        var total = Traffic()
        for node in nodes {
            guard let statistics = try? await node.status().statistics else { continue }
            // Every datagram sent is a query, a response or an error reply.
            total.queriesSent += statistics.datagramsSent - statistics.queriesAnswered - statistics.errorsSent
            total.timeouts += statistics.timeouts
            total.rateLimited += statistics.rateLimited
        }
        return total
    }

    func shutdown() async { await testnet.shutdown() }
}

/// Counters summed over all nodes; the difference of two readings covers the work phase.
private struct Traffic {
    var queriesSent = 0, timeouts = 0, rateLimited = 0

    static func - (after: Traffic, before: Traffic) -> Traffic {
        Traffic(queriesSent: after.queriesSent - before.queriesSent, timeouts: after.timeouts - before.timeouts,
                rateLimited: after.rateLimited - before.rateLimited)
    }
}

/// Latency samples and outcomes of the put/get pairs.
private struct PairSamples {
    var putMilliseconds = [Double](), getMilliseconds = [Double]()
    var putAcknowledgements = [Int]()
    var putOK = 0, getOK = 0

    mutating func measure(put writer: DHTNode, get reader: DHTNode, key: SigningKey, value: BValue, clock: ContinuousClock) async {
        var started = clock.now
        let stored = try? await writer.putMutable(value, key: key)
        putMilliseconds.append(milliseconds(clock.now - started))
        putAcknowledgements.append(stored?.accepted.count ?? 0)
        if let stored, !stored.accepted.isEmpty { putOK += 1 }

        started = clock.now
        let item = try? await reader.getMutable(publicKey: key.publicKey)
        getMilliseconds.append(milliseconds(clock.now - started))
        if item?.value == value { getOK += 1 }
    }
}

/// Everything the script needs, as one JSON object (numbers only, so written by hand).
private struct LocalBenchReport {
    let nodes: Int, puts: Int, valueSize: Int, bootstrapTarget: Int
    let bootstrapSeconds: Double?, lookupsSeconds: Double?
    let smallestTableAtBootstrap: Int, smallestTableAfter: Int
    let samples: PairSamples
    let traffic: Traffic
    let rssBefore: Int, rssAfter: Int

    var json: String {
        func number(_ value: Double?) -> String { value.map { "\(($0 * 1000).rounded() / 1000)" } ?? "null" }
        func list(_ values: [Double]) -> String { "[" + values.map { number($0) }.joined(separator: ",") + "]" }
        return """
            {"implementation":"subnet-dht","nodes":\(nodes),"puts":\(puts),"value_size":\(valueSize),\
            "bootstrap_target":\(bootstrapTarget),"bootstrap_s":\(number(bootstrapSeconds)),\
            "bootstrap_lookups_s":\(number(lookupsSeconds)),"min_table_at_bootstrap":\(smallestTableAtBootstrap),\
            "min_table_after":\(smallestTableAfter),"put_ok":\(samples.putOK),"get_ok":\(samples.getOK),\
            "put_acks":[\(samples.putAcknowledgements.map(String.init).joined(separator: ","))],\
            "queries_sent":\(traffic.queriesSent),"timeouts":\(traffic.timeouts),"rate_limited":\(traffic.rateLimited),\
            "put_ms":\(list(samples.putMilliseconds)),"get_ms":\(list(samples.getMilliseconds)),\
            "rss_kib_before":\(rssBefore),"rss_kib_after":\(rssAfter)}
            """
    }

    var text: String {
        let put = percentiles(samples.putMilliseconds), get = percentiles(samples.getMilliseconds)
        let bootstrap = bootstrapSeconds.map { "\(($0 * 1000).rounded() / 1000) s" } ?? "not reached (smallest table \(smallestTableAtBootstrap))"
        return """
            nodes \(nodes), pairs \(puts), values \(valueSize) bytes, loopback, one process
            bootstrap (every table >= \(bootstrapTarget)): \(bootstrap)
            put ms p50 \(put.p50) p90 \(put.p90) p99 \(put.p99)  ok \(samples.putOK)/\(puts)
            get ms p50 \(get.p50) p90 \(get.p90) p99 \(get.p99)  ok \(samples.getOK)/\(puts)
            during the pairs: \(traffic.queriesSent) queries sent, \(traffic.timeouts) timeouts, \(traffic.rateLimited) rate-limited
            resident memory: \(rssBefore) KiB before the nodes, \(rssAfter) KiB after the work, \
            \((rssAfter - rssBefore) / max(nodes, 1)) KiB per node over that baseline
            """
    }

    /// Nearest-rank percentiles, as the script computes them.
    private func percentiles(_ values: [Double]) -> (p50: Double, p90: Double, p99: Double) {
        let sorted = values.sorted()
        func rank(_ fraction: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let value = sorted[min(sorted.count - 1, max(0, Int((Double(sorted.count) * fraction).rounded(.up)) - 1))]
            return (value * 1000).rounded() / 1000
        }
        return (rank(0.5), rank(0.9), rank(0.99))
    }
}

/// Random bytes from the library's seeded generator, so a run's keys, values and node choices
/// repeat for a given --seed.
private extension SplitMix64 {
    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
    }
}

/// This process's resident set (VmRSS of /proc/self/status), the figure the script reads
/// for libtorrent's and OpenDHT's processes.
private enum ResidentMemory {
    static func kib() -> Int {
        let descriptor = open("/proc/self/status", O_RDONLY)
        guard descriptor >= 0 else { return 0 }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 8192)
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { return 0 }
        for line in buffer[..<count].split(separator: UInt8(ascii: "\n")) where line.starts(with: Array("VmRSS:".utf8)) {
            let digits = line.filter { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
            return Int(String(decoding: digits, as: UTF8.self)) ?? 0
        }
        return 0
    }
}

private func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

private func seconds(_ duration: Duration) -> Double {
    milliseconds(duration) / 1000
}
