/// Merges record pages from several replicas the way docs/PROTOCOL.md 3 tells a reader to:
/// every record is verified here (a replica is never trusted), expired ones are dropped, and
/// per owner the valid record with the highest `seq` wins.
struct RecordCollector: Sendable {
    let key: [UInt8]
    private(set) var best: [PublicKey: KeyedRecord] = [:]
    /// Records refused: malformed, forged, for another key, or expired.
    private(set) var refused = 0

    init(key: [UInt8]) { self.key = key }

    /// Adds one page, in either wire form.
    mutating func add(page body: ResponseBody, now: Timestamp) {
        for wire in RecordPage.entries(of: body) { add(wire: wire, now: now) }
    }

    mutating func add(wire: BValue, now: Timestamp) {
        guard let record = try? KeyedRecord(wire: wire, key: key), !record.isExpired(at: now) else {
            refused += 1
            return
        }
        // Only a record that would win needs its signature checked; a copy of the current
        // winner from another replica is skipped without the cost of a verify.
        if let current = best[record.owner], current.seq >= record.seq { return }
        guard record.hasValidSignature() else {
            refused += 1
            return
        }
        best[record.owner] = record
    }

    /// Adds records this node holds itself, verified when it stored them.
    mutating func add(stored records: [KeyedRecord], now: Timestamp) {
        for record in records where record.key == key && !record.isExpired(at: now) {
            if let current = best[record.owner], current.seq >= record.seq { continue }
            best[record.owner] = record
        }
    }

    /// The winners, in ascending order of owner key: each was unexpired when its replica
    /// served it. Not judged again at the read's end: a read that waits seconds on dead
    /// replicas would drop records whose owners have long since republished (to replicas it
    /// had already asked), and the reader would see live peers as gone. Whoever uses the
    /// records judges expiry at their own time (the live view does).
    var records: [KeyedRecord] {
        best.values.sorted { $0.owner < $1.owner }
    }
}

/// The two wire forms of a `get_records` page (docs/PROTOCOL.md 3): a `records` list, or `rz`
/// (LZ4 block of the bencoded list) with `rn` (its uncompressed length).
enum RecordPage {
    /// The record dictionaries of a page; empty when the page is absent or malformed.
    static func entries(of body: ResponseBody) -> [BValue] {
        if let records = body.records { return records }
        guard let compressed = body.compressedRecords, let length = body.uncompressedRecordsLength,
            length > 0, length <= Int64(LZ4Block.maxDecompressedSize),
            let raw = try? LZ4Block.decompress(compressed, originalSize: Int(length)),
            case .list(let items)? = try? Bencode.decode(raw)
        else { return [] }
        return items
    }

    /// What `4:more32:<32 bytes>` adds to a page.
    static let moreOverhead = 41

    /// As many of `candidates` (ascending by owner, each with its bencoded wire dictionary)
    /// as fit in `budget` bytes, compressed when that carries more records or the same in
    /// fewer bytes, with `more` set when some remain.
    static func contents(of candidates: [(record: KeyedRecord, wire: [UInt8])], budget: Int,
                         reservingMore: Bool = true) -> RecordPageContents {
        guard !candidates.isEmpty else { return RecordPageContents() }
        let encoded = candidates.map(\.wire)
        // `4:more32:<32 bytes>` is reserved whenever a page may be cut short, unless the
        // caller reserved it already.
        let available = budget - (reservingMore ? moreOverhead : 0)
        // Plain form: `7:records` + `l` ... `e`.
        var plainCount = 0
        var plainSize = 11
        while plainCount < encoded.count, plainSize + encoded[plainCount].count <= available {
            plainSize += encoded[plainCount].count
            plainCount += 1
        }
        var best: (count: Int, compressed: [UInt8]?, rawLength: Int) = (plainCount, nil, plainSize)
        // Compressed when it carries more records, or the same in a tenth fewer bytes: a
        // smaller saving is not worth the reader's decompression.
        if let packed = bestCompressed(encoded, available: available), packed.count > plainCount
            || (packed.count == plainCount && (packed.bytes.count + 24) * 10 < plainSize * 9) {
            best = (packed.count, packed.bytes, packed.rawLength)
        }
        var contents = RecordPageContents()
        guard best.count > 0 else { return contents }
        contents.count = best.count
        if let compressed = best.compressed {
            contents.compressedRecords = compressed
            contents.uncompressedRecordsLength = Int64(best.rawLength)
        } else {
            contents.records = candidates.prefix(best.count).map(\.record.wireDictionary)
        }
        if best.count < candidates.count { contents.more = candidates[best.count - 1].record.owner.bytes }
        return contents
    }

    /// The largest prefix whose compressed list fits; estimated from the compression ratio of
    /// the whole list, then stepped down, so a page costs a handful of compressions at most.
    private static func bestCompressed(_ encoded: [[UInt8]], available: Int) -> (count: Int, bytes: [UInt8], rawLength: Int)? {
        // `2:rz` + length prefix + block + `2:rn` + `i<n>e`.
        let overhead = 24
        func pack(_ count: Int) -> (bytes: [UInt8], rawLength: Int)? {
            var list: [UInt8] = [UInt8(ascii: "l")]
            for item in encoded.prefix(count) { list += item }
            list.append(UInt8(ascii: "e"))
            guard list.count <= LZ4Block.maxDecompressedSize, let block = LZ4Block.compress(list) else { return nil }
            return (block, list.count)
        }
        var count = encoded.count
        var rawTotal = 2
        for (index, item) in encoded.enumerated() {
            rawTotal += item.count
            if rawTotal > LZ4Block.maxDecompressedSize { count = index; break }
        }
        guard count > 0, let whole = pack(count) else { return nil }
        if whole.bytes.count + overhead <= available { return (count, whole.bytes, whole.rawLength) }
        let ratio = Double(whole.bytes.count) / Double(whole.rawLength)
        let averageRaw = Double(whole.rawLength) / Double(count)
        var estimate = min(count - 1, max(1, Int(Double(available - overhead) / (averageRaw * ratio))))
        for _ in 0..<8 where estimate > 0 {
            if let packed = pack(estimate), packed.bytes.count + overhead <= available { return (estimate, packed.bytes, packed.rawLength) }
            estimate = estimate * 9 / 10
        }
        return nil
    }
}

/// What one page adds to a `get_records` response: either form of the records, and `more`.
struct RecordPageContents: Sendable, Equatable {
    var records: [BValue]?
    var compressedRecords: [UInt8]?
    var uncompressedRecordsLength: Int64?
    var more: [UInt8]?
    /// Records the page carries, in either form.
    var count = 0

    /// No record fitted in the budget.
    var isEmpty: Bool { records == nil && compressedRecords == nil }

    func add(to body: inout ResponseBody) {
        body.records = records
        body.compressedRecords = compressedRecords
        body.uncompressedRecordsLength = uncompressedRecordsLength
        body.more = more
    }
}
