import Benchmark
import RecordFixtures
import SubnetDHT

// Keyed records on the server side, on one core: what an `announce_record` costs next to the
// bare ed25519 verify it contains, what answering a `get_records` page costs, and the two
// pieces of a page (bencode decoding, LZ4 compression).
//
// Benchmarks with `.kilo` scaling do 1,000 operations per iteration; with the default
// scaled output, throughput is per operation (records/s, verifies/s) and malloc counts are
// per operation too.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal, .peakMemoryResident],
        warmupIterations: 1,
        maxDuration: .seconds(3),
        maxIterations: 10_000,
        // What `thresholds check` compares against Thresholds/ (which holds malloc counts
        // only): 5 % of slack, for dictionary growth that depends on random keys.
        thresholds: [.mallocCountTotal: .init(relative: [.p90: 5])]
    )

    // 1. The baseline: one libsodium verify of a pre-signed 200-byte message.
    // No malloc count: a verify allocates nothing, and the few the harness itself makes per
    // iteration vary from run to run.
    Benchmark("ed25519-verify", configuration: .init(metrics: [.throughput, .wallClock], scalingFactor: .kilo, maxIterations: 100)) { benchmark in
        let signer = SigningKey.generate()
        let message = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let signature = signer.sign(message)
        let key = signer.publicKey
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(key.verify(signature: signature, message: message))
        }
        benchmark.stopMeasurement()
    }

    // 2. The real `announce_record` path: decode, token, field types, expiry, signature,
    // policy (ServerInfo decoding, owner quota), replacement check, store, response
    // encoding. A fresh core per iteration, so all 1,000 records are new to it.
    let announced = RecordFixtures.heartbeats(1_000)
    Benchmark("record-validate+store", configuration: .init(scalingFactor: .kilo, maxIterations: 100)) { benchmark in
        var core = RecordFixtures.core()
        let datagrams = RecordFixtures.announceDatagrams(announced, for: &core)
        benchmark.startMeasurement()
        for index in benchmark.scaledIterations {
            core.receive(datagrams[index], from: RecordFixtures.client, now: RecordFixtures.now)
            blackHole(core.takeEffects())
        }
        benchmark.stopMeasurement()
        precondition(core.storedRecordCount == datagrams.count, "stored \(core.storedRecordCount) of \(datagrams.count)")
    }

    // 3. Answering the first `get_records` page from a core holding 300 heartbeats: store
    // read, node list, token, page fill (LZ4 when it saves), response encoding.
    var servingCore = RecordFixtures.core(holding: RecordFixtures.heartbeats(300))
    let getRecords = RecordFixtures.getRecordsDatagram()
    guard let response = RecordFixtures.exchange(getRecords, with: &servingCore),
        let body = RecordFixtures.responseBody(response)
    else { fatalError("no get_records response") }
    Benchmark("get_records-page-(300-records-held)") { benchmark in
        for _ in benchmark.scaledIterations {
            servingCore.receive(getRecords, from: RecordFixtures.client, now: RecordFixtures.now)
            blackHole(servingCore.takeEffects())
        }
    }

    // 4a. Decoding that response datagram (what every reader does per page).
    Benchmark("bencode-decode-get_records-response", configuration: .init(scalingFactor: .kilo, maxIterations: 1_000)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try? Bencode.decode(response))
        }
    }

    // 4b. Compressing one page: the bencoded record list the page carries.
    let page: [UInt8]
    if let compressed = body.compressedRecords, let length = body.uncompressedRecordsLength {
        guard let raw = try? LZ4Block.decompress(compressed, originalSize: Int(length)) else { fatalError("bad page") }
        page = raw
    } else {
        page = Bencode.encode(.list(body.records ?? []))
    }
    Benchmark("LZ4Block.compress-page", configuration: .init(scalingFactor: .kilo, maxIterations: 1_000)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(LZ4Block.compress(page))
        }
    }
}
