// Scale simulation (issue 6, part 4): thousands of DHTCores on a simulated network with a
// virtual clock. For each N: lookups of random targets (find_node) and reads of the `node`
// records, from random live nodes, with 0%, 10% and 30% of the nodes dead without notice;
// rounds and messages per lookup and success rates next to log2(N); then the load that N
// peers heartbeating every 30 s put on the k replicas of `node`. Deterministic for a seed.
//
//   .build-sim/release/ScaleSimulation --nodes 1000,10000 [--lookups 200] [--dead 0,10,30]
//       [--record-owners 100] [--heartbeat-peers 10000 --heartbeat-interval 30 --heartbeat-readers 4
//       --heartbeat-window 2] [--seed 1] [--parallel 10] [--join-refresh none|own|buckets]
//       [--json OUT] [--svg OUT]
import Foundation
import SubnetDHT

func usage() -> Never {
    note("""
    usage: ScaleSimulation [--nodes 1000,10000] [--lookups 200] [--dead 0,10,30] [--record-owners 100]
                           [--heartbeat-peers 10000] [--heartbeat-interval 30] [--heartbeat-readers 4]
                           [--heartbeat-window 2] [--seed 1] [--parallel 10] [--join-batch 64]
                           [--join-refresh none|own|buckets] [--latency-ms 5] [--json OUT] [--svg OUT]
           ScaleSimulation --membership --nodes 1000,10000 [--viewers 1000] [--churn 0,1] [--shard-depth 0]
                           [--feed-replicas 3] [--membership-window 4] [--traffic-breakdown]
                          [--adversaries 16] [--heartbeat-interval 30]
      --heartbeat-peers 0 skips the heartbeat load; it runs on the first N that is at least that many.
    """)
    exit(2)
}

func parseOptions() -> Options {
    var options = Options()
    var arguments = CommandLine.arguments.dropFirst().makeIterator()
    func integers(_ text: String?) -> [Int] {
        guard let text else { usage() }
        let values = text.split(separator: ",").compactMap { Int($0.replacingOccurrences(of: "_", with: "")) }
        guard !values.isEmpty else { usage() }
        return values
    }
    func integer(_ text: String?) -> Int { integers(text)[0] }
    func required(_ text: String?) -> String {
        guard let text else { usage() }
        return text
    }
    while let argument = arguments.next() {
        switch argument {
        case "--nodes": options.nodes = integers(arguments.next())
        case "--lookups": options.lookups = integer(arguments.next())
        case "--dead": options.dead = integers(arguments.next())
        case "--record-owners": options.recordOwners = integer(arguments.next())
        case "--heartbeat-peers": options.heartbeatPeers = integer(arguments.next())
        case "--heartbeat-interval": options.heartbeatInterval = integer(arguments.next())
        case "--heartbeat-readers": options.heartbeatReaders = integer(arguments.next())
        case "--heartbeat-window": options.heartbeatWindow = integer(arguments.next())
        case "--seed": options.seed = UInt64(integer(arguments.next()))
        case "--parallel": options.parallel = max(1, integer(arguments.next()))
        case "--join-batch": options.joinBatch = max(1, integer(arguments.next()))
        case "--latency-ms": options.latencyMilliseconds = max(1, integer(arguments.next()))
        case "--join-refresh":
            guard let value = arguments.next().flatMap(JoinRefresh.init(rawValue:)) else { usage() }
            options.joinRefresh = value
        case "--membership": options.membership = true
        case "--viewers": options.viewers = integer(arguments.next())
        case "--churn": options.churnPercents = required(arguments.next()).split(separator: ",").compactMap { Double($0) }
        case "--shard-depth": options.shardDepth = integer(arguments.next())
        case "--feed-replicas": options.feedReplicas = integer(arguments.next())
        case "--traffic-breakdown": options.trafficBreakdown = true
        case "--adversaries": options.adversaries = integer(arguments.next())
        case "--membership-window": options.membershipWindow = integer(arguments.next())
        case "--json": options.jsonPath = required(arguments.next())
        case "--svg": options.svgPath = required(arguments.next())
        case "-h", "--help": usage()
        default:
            note("unknown argument \(argument)")
            usage()
        }
    }
    options.nodes.sort()
    return options
}

let options = parseOptions()
let settings = options.settings
var scenarios: [ScenarioResult] = []
var heartbeat: HeartbeatResult?
var json: [String: Any] = [
    "seed": options.seed, "lookups": options.lookups, "k": settings.k, "alpha": settings.alpha,
    "latency_ms": options.latencyMilliseconds, "join_refresh": options.joinRefresh.rawValue,
    "record_owners": options.recordOwners,
]
var jsonNetworks: [[String: Any]] = []

func percent(_ rate: Double) -> String { String(format: "%.1f%%", rate * 100) }
func pair(_ values: [Int]) -> String {
    guard let p50 = percentile(values, 0.5), let p90 = percentile(values, 0.9) else { return "-" }
    return "\(p50) / \(p90)"
}
func pad(_ text: String, _ width: Int) -> String { text.count >= width ? text : text + String(repeating: " ", count: width - text.count) }
func lpad(_ text: String, _ width: Int) -> String { text.count >= width ? text : String(repeating: " ", count: width - text.count) + text }

if options.membership {
    print("Membership: every peer heartbeats every \(options.heartbeatInterval) s (TTL \(3 * options.heartbeatInterval) s); up to \(options.viewers) of them keep live views "
          + "by record feeds from \(options.feedReplicas) replicas per storage target; `node` sharded \(options.shardDepth) bits deep (\(1 << options.shardDepth) targets). "
          + "Churn: per interval, that share of the peers changes, half dying silently, half dead ones coming back. Seed \(options.seed).")
    var runs: [[String: Any]] = []
    for count in options.nodes {
        note("building N=\(count) ...")
        var build = options
        build.recordOwners = 0
        let snapshot = buildNetwork(count: count, options: build)
        print("")
        print("N = \(grouped(count)): built in \(format(snapshot.buildSeconds)) s, RSS \(mebibytes(snapshot.residentAfterBuild))")
        var quiet: MembershipResult?
        for churn in options.churnPercents {
            note("  N=\(count): membership with \(churn)% churn ...")
            let result = runMembership(snapshot, churnPercent: churn, options: options)
            var row = printMembership(result, quiet: quiet)
            row["nodes"] = count
            runs.append(row)
            if churn == 0 { quiet = result }
        }
    }
    if let path = options.jsonPath {
        let data = try! JSONSerialization.data(withJSONObject: ["membership": runs, "seed": options.seed, "shard_depth": options.shardDepth,
                                                                "feed_replicas": options.feedReplicas], options: [.prettyPrinted, .sortedKeys])
        try! data.write(to: URL(fileURLWithPath: path))
    }
    exit(0)
}

print("Scale simulation: k=\(settings.k), alpha=\(settings.alpha), one-way latency \(options.latencyMilliseconds) ms, "
      + "\(options.lookups) lookups per row from random live nodes (\(options.parallel) at a time), seed \(options.seed)")
print("Join: each node bootstraps through a random member already joined (\(options.joinBatch) at a time); "
      + "refresh after join: \(options.joinRefresh.rawValue). Dead nodes are removed without notice right before the lookups.")
print("find_node: success = the closest live node was found; all k = the k closest live nodes were found.")
print("node records: \(options.recordOwners) owners announced a record before the deaths; success = every live owner's record came back.")
print("rounds = hops from the first contacts to the deepest node that answered, plus one; messages = queries the lookup sent (retries included).")

for count in options.nodes {
    let log2N = log2(Double(count))
    let target = log2N / 3 + 2
    note("building N=\(count) ...")
    let snapshot = buildNetwork(count: count, options: options)
    let sizes = snapshot.routingSizes
    let acceptedAll = snapshot.ownersAccepted.filter { $0 == settings.storeReplicas }.count
    print("")
    print("N = \(grouped(count))   log2(N) = \(format(log2N, 2))   target median rounds <= log2(N)/3 + 2 = \(format(target, 2))")
    print("  built in \(format(snapshot.buildSeconds)) s (join \(format(snapshot.joinSeconds)) s; virtual \(format(snapshot.buildVirtualSeconds, 0)) s, join \(format(snapshot.joinVirtualSeconds, 0)) s), RSS \(mebibytes(snapshot.residentAfterBuild)) "
          + "(\(grouped(snapshot.residentAfterBuild / count)) bytes per node), routing table mean \(format(mean(sizes))) contacts "
          + "(min \(sizes.min()!), p50 \(percentile(sizes, 0.5)!), max \(sizes.max()!)); "
          + "records stored on all \(settings.storeReplicas) replicas: \(acceptedAll)/\(snapshot.owners.count)")
    print("  " + pad("dead", 5) + pad("live", 8) + pad("lookup", 14) + pad("rounds p50 / p90", 18) + pad("msgs p50 / p90", 16)
          + pad("success", 9) + pad("all k", 9) + pad("no result", 10) + "notes")
    var jsonRows: [[String: Any]] = []
    for deadPercent in options.dead {
        note("  N=\(count): lookups with \(deadPercent)% dead ...")
        let scenario = runLookups(snapshot, deadPercent: deadPercent, options: options)
        scenarios.append(scenario)
        let rows: [(String, LookupFigures, String)] = [
            ("find_node", scenario.findNode, ""),
            ("node records", scenario.records,
             "\(scenario.liveOwners) live owners; queries incl. pages p50 \(percentile(scenario.recordQueries, 0.5) ?? 0)"),
        ]
        for (name, figures, extra) in rows {
            print("  " + pad("\(deadPercent)%", 5) + pad(grouped(scenario.live), 8) + pad(name, 14) + pad(pair(figures.rounds), 18)
                  + pad(pair(figures.messages), 16) + pad(percent(figures.successRate), 9) + pad(percent(figures.allKRate), 9)
                  + pad(String(figures.noResult), 10) + extra)
            jsonRows.append([
                "dead_percent": deadPercent, "live": scenario.live, "lookup": name,
                "rounds_p50": percentile(figures.rounds, 0.5) ?? 0, "rounds_p90": percentile(figures.rounds, 0.9) ?? 0,
                "rounds_mean": mean(figures.rounds),
                "messages_p50": percentile(figures.messages, 0.5) ?? 0, "messages_p90": percentile(figures.messages, 0.9) ?? 0,
                "messages_mean": mean(figures.messages),
                "success_rate": figures.successRate, "all_k_rate": figures.allKRate, "no_result": figures.noResult,
                "attempts": figures.attempts,
            ])
        }
        jsonRows[jsonRows.count - 1]["queries_incl_pages_p50"] = percentile(scenario.recordQueries, 0.5) ?? 0
        jsonRows[jsonRows.count - 1]["records_returned_p50"] = percentile(scenario.recordsReturned, 0.5) ?? 0
        jsonRows[jsonRows.count - 1]["live_owners"] = scenario.liveOwners
        note("    (\(format(scenario.wallSeconds)) s wall, \(format(scenario.virtualSeconds)) s virtual, RSS \(mebibytes(residentBytes())))")
    }
    var jsonNetwork: [String: Any] = [
        "nodes": count, "log2_n": log2N, "target_rounds": target, "build_seconds": snapshot.buildSeconds,
        "join_seconds": snapshot.joinSeconds, "join_virtual_seconds": snapshot.joinVirtualSeconds,
        "build_virtual_seconds": snapshot.buildVirtualSeconds, "rss_bytes_after_build": snapshot.residentAfterBuild,
        "routing_table_mean": mean(sizes), "routing_table_min": sizes.min()!, "rows": jsonRows,
    ]

    if options.heartbeatPeers > 0, heartbeat == nil, count >= options.heartbeatPeers || count == options.nodes.last {
        note("  N=\(count): heartbeat load ...")
        let result = runHeartbeats(snapshot, options: options)
        heartbeat = result
        jsonNetwork["heartbeat"] = printHeartbeat(result)
    }
    jsonNetworks.append(jsonNetwork)
}

/// Prints the heartbeat figures and returns them for the JSON output.
func printHeartbeat(_ result: HeartbeatResult) -> [String: Any] {
    let window = result.windowSeconds
    print("")
    print("Heartbeat load on the \(result.replicas.count) replicas of `node` (the nodes closest to SHA1(\"node\")), N = \(grouped(result.count)):")
    print("  \(grouped(result.peers)) peers heartbeat every \(result.interval) s (TTL \(3 * result.interval) s) at random phases; "
          + "\(result.readers) of them run the full heartbeat (startHeartbeat: announce + read of the whole view every 10 s), "
          + "the other \(grouped(result.peers - result.readers)) only announce (what a heartbeat sends; their view reads are scaled from the \(result.readers) readers).")
    print("  window: \(format(window, 0)) virtual s after \(result.interval) s of warm-up; \(format(result.windowWallSeconds)) s wall "
          + "(whole run \(format(result.wallSeconds)) s), RSS \(mebibytes(result.residentAtEnd))")
    let accepted = result.acceptedBy
    print("  announces in window: \(grouped(result.announces)), accepted by >= 1 replica: \(percent(result.announces == 0 ? 0 : Double(result.announcesAccepted) / Double(result.announces))), "
          + "accepted-by p50 \(percentile(accepted, 0.5) ?? 0) (min \(accepted.min() ?? 0)); announce rounds p50/p90 \(pair(result.announceRounds)), "
          + "messages (lookup + stores) p50/p90 \(pair(result.announceMessages)); skipped (previous still in flight): \(result.skipped)")
    print("  readers' live views: \(result.readerViews.map { "\($0)" }.joined(separator: ", ")) of \(result.peers) peers; readers' heartbeats published: \(result.readerPublished)")
    print("  " + pad("replica", 18) + lpad("records", 8) + lpad("announce_record/s", 19) + lpad("get_records/s", 15) + lpad("(readers)", 11)
          + lpad("other/s", 9) + lpad("in KB/s", 9) + lpad("out KB/s", 10) + lpad("core CPU %", 12))
    var rows: [[String: Any]] = []
    for (endpoint, counter, stored) in result.replicas {
        let announces = Double(counter.received["announce_record"] ?? 0) / window
        let gets = Double(counter.received["get_records"] ?? 0) / window
        let readers = Double(counter.getRecordsFromReaders) / window
        let other = Double(counter.totalReceived - (counter.received["announce_record"] ?? 0) - (counter.received["get_records"] ?? 0)) / window
        let inKB = Double(counter.totalReceivedBytes) / window / 1000
        let outKB = Double(counter.sentBytes) / window / 1000
        let cpu = seconds(counter.totalCPU) / window * 100
        print("  " + pad(endpoint.description, 18) + lpad(grouped(stored), 8) + lpad(format(announces), 19) + lpad(format(gets), 15)
              + lpad(format(readers), 11) + lpad(format(other), 9) + lpad(format(inKB), 9) + lpad(format(outKB), 10) + lpad(format(cpu, 2), 12))
        rows.append([
            "endpoint": endpoint.description, "records": stored, "announce_record_per_s": announces, "get_records_per_s": gets,
            "get_records_from_readers_per_s": readers, "other_per_s": other, "in_kb_per_s": inKB, "out_kb_per_s": outKB,
            "core_cpu_percent": cpu, "bytes_to_readers_per_s": Double(counter.bytesToReaders) / window,
            "cpu_for_readers_percent": seconds(counter.cpuForReaders) / window * 100,
        ])
    }
    let cpuShare = { (kind: String) -> Double in
        result.replicas.map { seconds($0.counter.cpu[kind] ?? .zero) }.reduce(0, +) / Double(max(result.replicas.count, 1)) / window * 100
    }
    let readerShare = result.replicas.map { seconds($0.counter.cpuForReaders) }.reduce(0, +) / Double(max(result.replicas.count, 1)) / window * 100
    print("  mean replica core CPU (wall time inside DHTCore.receive, this machine): announce_record \(format(cpuShare("announce_record"), 2)) %, "
          + "get_records \(format(cpuShare("get_records"), 2)) % (view reads of the readers \(format(readerShare, 2)) %), other \(format(cpuShare("find_node") + cpuShare("ping") + cpuShare("response or error"), 2)) %")
    if result.fullReadQueries > 0 {
        print("  one full read of the view (\(grouped(result.fullReadRecords)) records) from a non-replica: \(grouped(result.fullReadQueries)) queries (lookup + pages from \(settings.recordReadReplicas) replicas), "
              + "\(format(Double(result.fullReadBytes) / 1_000_000, 2)) MB received, \(format(result.fullReadVirtualSeconds, 1)) virtual s (pages are sequential per replica, one round trip each), \(format(result.fullReadWallSeconds, 1)) s wall")
    }
    // Scale the readers' view reads up to every peer reading its view.
    let counters = result.replicas.map(\.counter)
    let replicas = Double(max(counters.count, 1))
    let perReaderGets = Double(counters.map(\.getRecordsFromReaders).reduce(0, +)) / replicas / window / Double(max(result.readers, 1))
    let perReaderBytes = Double(counters.map(\.bytesToReaders).reduce(0, +)) / replicas / window / Double(max(result.readers, 1))
    let perReaderCPU = counters.map { seconds($0.cpuForReaders) }.reduce(0, +) / replicas / window / Double(max(result.readers, 1))
    let announceRate = Double(counters.map { $0.received["announce_record"] ?? 0 }.reduce(0, +)) / replicas / window
    let publishGets = Double(counters.map { ($0.received["get_records"] ?? 0) - $0.getRecordsFromReaders }.reduce(0, +)) / replicas / window
    let peers = Double(result.peers)
    print("  per replica, mean: \(format(announceRate)) announce_record/s (expected \(format(peers / Double(result.interval))) = peers / interval), "
          + "\(format(publishGets)) get_records/s from announce lookups")
    print("  view reads: one reader costs each replica \(format(perReaderGets, 2)) get_records/s, \(format(perReaderBytes / 1000, 2)) KB/s out, "
          + "\(format(perReaderCPU * 100, 3)) % of a core; if all \(grouped(result.peers)) peers read their views (as startHeartbeat does): "
          + "\(grouped(Int(perReaderGets * peers))) get_records/s, \(format(perReaderBytes * peers / 1_000_000, 1)) MB/s out, "
          + "\(format(perReaderCPU * peers, 1)) cores per replica")
    return [
        "nodes": result.count, "peers": result.peers, "readers": result.readers, "interval_s": result.interval, "window_s": window,
        "announces": result.announces, "announces_accepted": result.announcesAccepted,
        "accepted_by_p50": percentile(accepted, 0.5) ?? 0, "announce_rounds_p50": percentile(result.announceRounds, 0.5) ?? 0,
        "announce_messages_p50": percentile(result.announceMessages, 0.5) ?? 0, "skipped": result.skipped,
        "reader_views": result.readerViews, "replicas": rows,
        "announce_record_per_replica_per_s": announceRate, "get_records_from_announces_per_replica_per_s": publishGets,
        "view_read_get_records_per_reader_per_replica_per_s": perReaderGets,
        "view_read_bytes_per_reader_per_replica_per_s": perReaderBytes,
        "view_read_cpu_per_reader_per_replica": perReaderCPU,
        "projected_view_read_get_records_per_replica_per_s": perReaderGets * peers,
        "projected_view_read_bytes_per_replica_per_s": perReaderBytes * peers,
        "projected_view_read_cores_per_replica": perReaderCPU * peers,
        "wall_seconds": result.wallSeconds, "window_wall_seconds": result.windowWallSeconds, "rss_bytes": result.residentAtEnd,
        "full_read_queries": result.fullReadQueries, "full_read_bytes": result.fullReadBytes, "full_read_records": result.fullReadRecords,
        "full_read_virtual_seconds": result.fullReadVirtualSeconds,
        "replica_cpu_percent_announce_record": cpuShare("announce_record"), "replica_cpu_percent_get_records": cpuShare("get_records"),
    ]
}

// MARK: - Growth with N

print("")
print("Growth with N (medians; find_node / node records):")
print("  " + lpad("N", 8) + lpad("log2 N", 8) + lpad("target", 8) + "   "
      + options.dead.map { pad("\($0)% dead: rounds  msgs  success", 34) }.joined())
for count in options.nodes {
    let log2N = log2(Double(count))
    var line = "  " + lpad(grouped(count), 8) + lpad(format(log2N, 2), 8) + lpad(format(log2N / 3 + 2, 2), 8) + "   "
    for deadPercent in options.dead {
        guard let scenario = scenarios.first(where: { $0.count == count && $0.deadPercent == deadPercent }) else { continue }
        let rounds = "\(percentile(scenario.findNode.rounds, 0.5) ?? 0)/\(percentile(scenario.records.rounds, 0.5) ?? 0)"
        let messages = "\(percentile(scenario.findNode.messages, 0.5) ?? 0)/\(percentile(scenario.records.messages, 0.5) ?? 0)"
        let success = "\(percent(scenario.findNode.successRate))/\(percent(scenario.records.successRate))"
        line += pad("             \(pad(rounds, 6)) \(pad(messages, 7)) \(success)", 34)
    }
    print(line)
}
print("  mean rounds / log2(N) (find_node): " + options.nodes.map { count in
    let values = options.dead.compactMap { dead in scenarios.first { $0.count == count && $0.deadPercent == dead } }
        .map { String(format: "%.2f", mean($0.findNode.rounds) / log2(Double(count))) }
    return "N=\(grouped(count)): " + values.joined(separator: " / ")
}.joined(separator: ";  ") + "  (per dead fraction)")
if options.nodes.count > 1 {
    for index in 1..<options.nodes.count {
        let a = options.nodes[index - 1], b = options.nodes[index]
        let deltaLog = log2(Double(b)) - log2(Double(a))
        for dead in options.dead {
            guard let sa = scenarios.first(where: { $0.count == a && $0.deadPercent == dead }),
                let sb = scenarios.first(where: { $0.count == b && $0.deadPercent == dead }) else { continue }
            print("  N \(grouped(a)) -> \(grouped(b)) (log2 N +\(format(deltaLog, 2))), \(dead)% dead: mean rounds "
                  + "\(format(mean(sa.findNode.rounds), 2)) -> \(format(mean(sb.findNode.rounds), 2)) "
                  + "(+\(format(mean(sb.findNode.rounds) - mean(sa.findNode.rounds), 2))), mean messages "
                  + "\(format(mean(sa.findNode.messages))) -> \(format(mean(sb.findNode.messages))) "
                  + "(+\(format(mean(sb.findNode.messages) - mean(sa.findNode.messages))))")
        }
    }
}

// MARK: - Targets

print("")
print("Targets:")
for count in options.nodes {
    let target = log2(Double(count)) / 3 + 2
    for scenario in scenarios where scenario.count == count {
        let median = percentile(scenario.findNode.rounds, 0.5) ?? 0
        var checks = ["median find_node rounds \(median) <= \(format(target, 2)): \(Double(median) <= target ? "met" : "NOT met")"]
        if scenario.deadPercent == 0 {
            checks.append("success 100%: find_node \(percent(scenario.findNode.successRate)), node records \(percent(scenario.records.successRate)) "
                          + (scenario.findNode.successRate == 1 && scenario.records.successRate == 1 ? "met" : "NOT met"))
        } else if scenario.deadPercent >= 30 {
            checks.append("success >= 99%: find_node \(percent(scenario.findNode.successRate)), node records \(percent(scenario.records.successRate)) "
                          + (scenario.findNode.successRate >= 0.99 && scenario.records.successRate >= 0.99 ? "met" : "NOT met"))
        }
        print("  N=\(grouped(count)), \(scenario.deadPercent)% dead: " + checks.joined(separator: "; "))
    }
}
print("peak RSS \(mebibytes(peakResidentBytes()))")

json["networks"] = jsonNetworks
json["peak_rss_bytes"] = peakResidentBytes()
if let path = options.jsonPath {
    let data = try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])
    try data.write(to: URL(fileURLWithPath: path))
    note("wrote \(path)")
}
if let path = options.svgPath {
    let colors = ["#1f77b4", "#ff7f0e", "#d62728", "#2ca02c", "#9467bd"]
    var rounds: [Series] = [], messages: [Series] = []
    for (position, dead) in options.dead.enumerated() {
        let color = colors[position % colors.count]
        let rows = scenarios.filter { $0.deadPercent == dead }
        rounds.append(Series(label: "find_node, \(dead)% dead", color: color, dashed: false,
                             points: rows.map { ($0.count, Double(percentile($0.findNode.rounds, 0.5) ?? 0)) }))
        messages.append(Series(label: "find_node, \(dead)% dead", color: color, dashed: false,
                               points: rows.map { ($0.count, Double(percentile($0.findNode.messages, 0.5) ?? 0)) }))
        messages.append(Series(label: "node read (lookup phase), \(dead)% dead", color: color, dashed: true,
                               points: rows.map { ($0.count, Double(percentile($0.records.messages, 0.5) ?? 0)) }))
    }
    let title = "SubnetDHT scale simulation: lookups against N (k=\(settings.k), alpha=\(settings.alpha), \(options.lookups) lookups per point, seed \(options.seed))"
    try scaleChartSVG(rounds: rounds, messages: messages, title: title).write(toFile: path, atomically: true, encoding: .utf8)
    note("wrote \(path)")
}
