// Plain timings (ContinuousClock) and memory per stored record, without package-benchmark:
//
//     cd Benchmarks && swift run -c release RecordMemory [records]
//
// 1. ed25519 verify rate: PublicKey.verify of a pre-signed 200-byte message.
// 2. validate+store rate: `announce_record` datagrams through DHTCore.receive, all new
//    records from distinct owners, into a fresh core per pass.
// 3. Memory per stored record: resident-set growth (/proc/self/statm) of the first pass,
//    divided by the records stored, next to the growth of malloc'd bytes in use (mallinfo2).
// Each rate is the best of three passes, since the machine is shared.
import CHeapInfo
import RecordFixtures
import SubnetDHT

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let recordCount = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 20_000
let passes = 3

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}

func grouped(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var out = ""
    for (index, character) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
        out.append(character)
    }
    return (value < 0 ? "-" : "") + out
}

/// Resident set size in bytes, from the second field of /proc/self/statm (pages).
func residentBytes() -> Int {
    #if os(Linux)
    let fd = open("/proc/self/statm", O_RDONLY)
    guard fd >= 0 else { return 0 }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 256)
    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    guard count > 0 else { return 0 }
    let fields = buffer[..<count].split(separator: UInt8(ascii: " "))
    guard fields.count > 1, let pages = Int(String(decoding: fields[1], as: UTF8.self)) else { return 0 }
    return pages * sysconf(Int32(_SC_PAGESIZE))
    #else
    return 0
    #endif
}

/// Bytes malloc has handed out and not had back.
func heapInUse() -> Int {
    Int(subnetdht_heap_in_use())
}

// MARK: - ed25519 verify

let signer = SigningKey.generate()
let message = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
let signature = signer.sign(message)
let verifyCount = 20_000
let clock = ContinuousClock()
var verifyRate = 0.0
for _ in 0..<passes {
    var valid = 0
    let elapsed = clock.measure {
        for _ in 0..<verifyCount where signer.publicKey.verify(signature: signature, message: message) { valid += 1 }
    }
    precondition(valid == verifyCount)
    verifyRate = max(verifyRate, Double(verifyCount) / seconds(elapsed))
}

// MARK: - validate+store, and memory per record

let records = RecordFixtures.heartbeats(recordCount)
let valueBytes = records.map { $0.encodedValue.count }.reduce(0, +) / records.count
let chunk = min(1_000, recordCount)
var storeRate = 0.0
var firstChunkRate = 0.0
var lastChunkRate = 0.0
var residentPerRecord = 0.0
var heapPerRecord = 0.0
var emptyCoreResident = 0
var datagramBytes = 0
var keptCore: DHTCore?
for pass in 0..<passes {
    let residentBeforeCore = residentBytes()
    var core = RecordFixtures.core(maxOwners: recordCount)
    let residentEmptyCore = residentBytes()
    let datagrams = RecordFixtures.announceDatagrams(records, for: &core)
    datagramBytes = datagrams.map(\.count).reduce(0, +) / datagrams.count
    let residentBefore = residentBytes()
    let heapBefore = heapInUse()
    var chunkTimes = [Duration]()
    var start = clock.now
    for (index, datagram) in datagrams.enumerated() {
        core.receive(datagram, from: RecordFixtures.client, now: RecordFixtures.now)
        _ = core.takeEffects()
        if (index + 1) % chunk == 0 || index + 1 == datagrams.count {
            let end = clock.now
            chunkTimes.append(start.duration(to: end))
            start = end
        }
    }
    let elapsed = chunkTimes.reduce(.zero, +)
    precondition(core.storedRecordCount == recordCount, "stored \(core.storedRecordCount) of \(recordCount)")
    storeRate = max(storeRate, Double(recordCount) / seconds(elapsed))
    firstChunkRate = max(firstChunkRate, Double(chunk) / seconds(chunkTimes[0]))
    if recordCount % chunk == 0 { lastChunkRate = max(lastChunkRate, Double(chunk) / seconds(chunkTimes[chunkTimes.count - 1])) }
    if pass == 0 {
        // Later passes reuse memory the earlier cores gave back to malloc: only the first
        // pass shows what the process had to grow by.
        residentPerRecord = Double(residentBytes() - residentBefore) / Double(recordCount)
        heapPerRecord = Double(heapInUse() - heapBefore) / Double(recordCount)
        emptyCoreResident = residentEmptyCore - residentBeforeCore
        keptCore = core
    }
}
withExtendedLifetime(keptCore) {}

// MARK: - one get_records page from 300 records

var servingCore = RecordFixtures.core(holding: Array(records.prefix(300)))
guard let response = RecordFixtures.exchange(RecordFixtures.getRecordsDatagram(), with: &servingCore),
    let body = RecordFixtures.responseBody(response)
else { fatalError("no get_records response") }
let pageRecords: Int
let pageRaw: Int
if let compressed = body.compressedRecords, let length = body.uncompressedRecordsLength,
    let raw = try? LZ4Block.decompress(compressed, originalSize: Int(length)), case .list(let list)? = try? Bencode.decode(raw) {
    pageRecords = list.count
    pageRaw = raw.count
} else {
    pageRecords = body.records?.count ?? 0
    pageRaw = Bencode.encode(.list(body.records ?? [])).count
}

print("records: \(grouped(recordCount)) heartbeats under \"node\", distinct owners, value \(valueBytes) bytes bencoded, announce_record datagram \(datagramBytes) bytes")
print("ed25519 verify: \(grouped(Int(verifyRate)))/s")
print("validate+store: \(grouped(Int(storeRate)))/s (\(Int((storeRate / verifyRate * 100).rounded()))% of verify), \(grouped(recordCount)) records into one fresh core")
print("validate+store, first \(grouped(chunk)) records: \(grouped(Int(firstChunkRate)))/s (\(Int((firstChunkRate / verifyRate * 100).rounded()))% of verify)")
if lastChunkRate > 0 {
    print("validate+store, last \(grouped(chunk)) records: \(grouped(Int(lastChunkRate)))/s (\(Int((lastChunkRate / verifyRate * 100).rounded()))% of verify)")
}
print("memory per stored record: \(grouped(Int(residentPerRecord.rounded()))) bytes (resident-set growth over \(grouped(recordCount)) records; the empty core grew it by \(grouped(emptyCoreResident)) bytes)")
print("heap in use per stored record: \(grouped(Int(heapPerRecord.rounded()))) bytes (mallinfo2)")
print("get_records first page from 300 records: \(pageRecords) records, \(response.count)-byte datagram, \(body.compressedRecords != nil ? "LZ4 \(body.compressedRecords!.count) of \(pageRaw) bytes" : "uncompressed \(pageRaw) bytes")")
