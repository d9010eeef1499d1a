import Benchmark
import RecordFixtures
import SubnetDHT

// The pieces every datagram goes through, on one core and without sockets: bencode and KRPC
// decoding and encoding of typical messages, the routing table (insert, closest-k), a whole
// request answered by `DHTCore`, and LZ4 round trips of a record page.
//
// Allocation counts are what `Thresholds/` gates (`swift package benchmark thresholds check`):
// they are exact and repeatable, where wall time on this shared 2-core machine is not.
// `.kilo` benchmarks do 1,000 operations per iteration; scaled output is per operation.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal],
        warmupIterations: 1,
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 1_000,
        // What `thresholds check` compares against Thresholds/ (which holds malloc counts
        // only): 5 % of slack, for dictionary growth that depends on random keys.
        thresholds: [.mallocCountTotal: .init(relative: [.p90: 5])]
    )

    // Seeded, so that every run builds the same table and messages (names and malloc counts
    // must not vary between runs: Thresholds/ is keyed by name).
    var generator = SplitMix64(seed: 42)
    let localID = NodeID.random(using: &generator)
    let remoteID = NodeID.random(using: &generator)
    let nodes = (0..<8).map { index in
        NodeInfo(id: .random(using: &generator), endpoint: Endpoint(address: .v4(0x0a00_0001 + UInt32(index)), port: 6881))
    }
    let peers = (0..<20).map { index in Endpoint(address: .v4(0x0a01_0001 + UInt32(index)), port: 51413) }

    // Typical Mainline traffic: a find_node query (the commonest datagram a node receives),
    // its 8-node answer, and a get_peers answer with 20 peers and a token.
    let findNodeQuery = KRPCCodec.encode(KRPCMessage(transactionID: [0x61, 0x61],
                                                     body: .query(Query(senderID: remoteID, method: .findNode(target: .random(using: &generator), want: nil)))))
    let findNodeResponse = KRPCCodec.encode(KRPCMessage(transactionID: [0x61, 0x61], body: .response(ResponseBody(id: localID, nodes: nodes))))
    let getPeersResponse = KRPCCodec.encode(KRPCMessage(transactionID: [0x61, 0x62],
                                                        body: .response(ResponseBody(id: localID, nodes: nodes, token: Array(repeating: 7, count: 8), values: peers))))
    let messages: [(String, [UInt8])] = [("find_node-query", findNodeQuery), ("find_node-response", findNodeResponse),
                                         ("get_peers-response", getPeersResponse)]

    for (name, datagram) in messages {
        guard let value = try? Bencode.decode(datagram), let message = try? KRPCCodec.decode(datagram) else {
            fatalError("fixture \(name) does not decode")
        }
        Benchmark("bencode-decode-\(name)") { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try? Bencode.decode(datagram)) }
        }
        Benchmark("bencode-encode-\(name)") { benchmark in
            for _ in benchmark.scaledIterations { blackHole(Bencode.encode(value)) }
        }
        Benchmark("KRPC-decode-\(name)") { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try? KRPCCodec.decode(datagram)) }
        }
        Benchmark("KRPC-encode-\(name)") { benchmark in
            for _ in benchmark.scaledIterations { blackHole(KRPCCodec.encode(message)) }
        }
    }

    // Routing table: 1,000 answering contacts into a fresh table (most land in the
    // replacement caches or are refused, as on a real network), then closest-8 queries on
    // the table they filled.
    let arrivals = (0..<1_000).map { index in
        (NodeID.random(using: &generator), Endpoint(address: .v4(0x0b00_0000 | UInt32(index)), port: 6881))
    }
    let targets = (0..<1_000).map { _ in NodeID.random(using: &generator) }
    var settings = RoutingSettings()
    settings.restrictIPs = false
    let routingSettings = settings
    Benchmark("routing-table-insert-(1,000-into-a-fresh-table)", configuration: .init(scalingFactor: .one, maxIterations: 1_000)) { benchmark in
        for _ in benchmark.scaledIterations {
            var table = RoutingTable(localID: localID, settings: routingSettings)
            for (id, endpoint) in arrivals { blackHole(table.recordResponse(from: id, at: endpoint, now: RecordFixtures.now)) }
            blackHole(table.count)
        }
    }
    var filled = RoutingTable(localID: localID, settings: routingSettings)
    for (id, endpoint) in arrivals { _ = filled.recordResponse(from: id, at: endpoint, now: RecordFixtures.now) }
    let table = filled
    Benchmark("routing-table-closest-8") { benchmark in
        for index in benchmark.scaledIterations { blackHole(table.closest(to: targets[index % targets.count], count: 8)) }
    }

    // A whole request through the core: decode, rate and amplification checks, routing
    // update, answer, encode. The same known sender every time, as a steady peer would be.
    var core = RecordFixtures.core()
    RecordFixtures.receivePings(from: arrivals.prefix(200), into: &core)
    let requests: [(String, [UInt8])] = [
        ("ping", KRPCCodec.encode(KRPCMessage(transactionID: [0x70], body: .query(Query(senderID: RecordFixtures.clientID, method: .ping))))),
        ("find_node", KRPCCodec.encode(KRPCMessage(transactionID: [0x71], body: .query(Query(senderID: RecordFixtures.clientID,
                                                                                            method: .findNode(target: .random(using: &generator), want: nil)))))),
        ("get_peers", KRPCCodec.encode(KRPCMessage(transactionID: [0x72], body: .query(Query(senderID: RecordFixtures.clientID,
                                                                                            method: .getPeers(infoHash: .random(using: &generator), want: nil)))))),
    ]
    for (name, request) in requests {
        var serving = core
        guard RecordFixtures.exchange(request, with: &serving) != nil else { fatalError("no answer to \(name)") }
        Benchmark("core-answers-\(name)") { benchmark in
            for _ in benchmark.scaledIterations {
                serving.receive(request, from: RecordFixtures.client, now: RecordFixtures.now)
                blackHole(serving.takeEffects())
            }
        }
    }

    // LZ4 round trip of a record page: the bencoded list of 9 heartbeats a page carries.
    let page = Bencode.encode(.list(RecordFixtures.heartbeats(9).map(\.wireDictionary)))
    guard let compressed = LZ4Block.compress(page) else { fatalError("page does not compress") }
    Benchmark("LZ4-compress-page") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(LZ4Block.compress(page)) }
    }
    Benchmark("LZ4-decompress-page") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try? LZ4Block.decompress(compressed, originalSize: page.count)) }
    }
}
