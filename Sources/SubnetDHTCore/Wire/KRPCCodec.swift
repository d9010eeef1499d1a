/// Turns datagrams into `KRPCMessage` values and back. Decoding never traps: every
/// malformed input becomes a `KRPCDecodingError`.
public enum KRPCCodec {
    /// docs/PROTOCOL.md 1: the largest datagram accepted.
    public static let maxDatagramSize = 1500

    public static func decode(_ bytes: [UInt8]) throws(KRPCDecodingError) -> KRPCMessage {
        guard bytes.count <= maxDatagramSize else {
            throw KRPCDecodingError(reason: .tooLarge(bytes.count), transactionID: nil, isQuery: false)
        }
        let tape: BencodeTape
        do {
            tape = try BencodeTape(parsing: bytes)
        } catch {
            throw KRPCDecodingError(reason: .bencode(error), transactionID: salvageTransactionID(bytes),
                                    isQuery: !looksLikeResponseOrError(bytes))
        }
        guard tape.root.kind == .dictionary else {
            throw KRPCDecodingError(reason: .notADictionary, transactionID: nil, isQuery: false)
        }
        // Anything not plainly a response or an error may be a query and deserves a 203.
        let declaredKind = tape.lookup("y", inDictionaryAt: 0).flatMap { tape.kind(at: $0) == .bytes ? tape.slice(at: $0) : nil }
        let mayBeQuery = declaredKind.map { !$0.elementsEqual([UInt8(ascii: "r")]) && !$0.elementsEqual([UInt8(ascii: "e")]) } ?? true
        var reader = FieldReader(tape: tape, dictionary: 0, transactionID: nil, isQuery: mayBeQuery)
        let transactionID = try reader.bytes("t")
        reader.transactionID = transactionID
        let kind = try reader.slice("y")

        let body: KRPCMessage.Body
        let isResponse = kind.elementsEqual([UInt8(ascii: "r")])
        switch kind.count == 1 ? kind.first : nil {
        case UInt8(ascii: "q"):
            body = .query(try decodeQuery(&reader))
        case UInt8(ascii: "r"):
            body = .response(try decodeResponse(reader.dictionary("r")))
        case UInt8(ascii: "e"):
            body = .error(try decodeError(reader))
        default:
            throw reader.failure(.invalidValue("y"))
        }

        let requesterAddress = try reader.optionalBytes("ip").map { raw throws(KRPCDecodingError) -> Endpoint in
            guard let endpoint = Endpoint(compact: raw) else { throw reader.failure(.invalidValue("ip")) }
            return endpoint
        }
        return KRPCMessage(
            transactionID: transactionID,
            body: body,
            clientVersion: try reader.optionalBytes("v"),
            requesterAddress: requesterAddress,
            readOnly: (try reader.optionalInt("ro") ?? 0) == 1,
            networkID: try reader.optionalInt("n"),
            // Only answers carry `kr`: a query's is not looked for, which saves every query a
            // scan of the top-level keys. Another implementation may use the key for something
            // else: anything but an integer reads as absent, never as a broken answer.
            keyedRecords: isResponse ? reader.lenientInt("kr") : nil)
    }

    public static func encode(_ message: KRPCMessage) -> [UInt8] {
        var writer = KRPCWriter(capacity: 256 + message.padding + largeParts(of: message))
        writer.message(message)
        return writer.out
    }

    /// Bytes a message's large fields take beyond the 256 its fixed ones fit in, roughly,
    /// so that its array is made once rather than grown while a large answer is written.
    private static func largeParts(of message: KRPCMessage) -> Int {
        guard case .response(let body) = message.body else { return 0 }
        var size = (body.nodes?.count ?? 0) * NodeInfo.compactSize(ipv6: false) + (body.nodes6?.count ?? 0) * NodeInfo.compactSize(ipv6: true)
        // A compact peer with its length prefix: at most `18:` and 18 bytes.
        size += (body.values?.count ?? 0) * 21
        size += body.compressedRecords?.count ?? 0
        // Lists and values of unknown size: room for a full datagram.
        if body.records != nil || body.value != nil { size += 1_400 }
        return size
    }

    // MARK: - Decoding parts

    private static func decodeQuery(_ reader: inout FieldReader) throws(KRPCDecodingError) -> Query {
        let name = String(decoding: try reader.slice("q"), as: UTF8.self)
        var args = try reader.dictionary("a")
        args.isQuery = true
        let sender = try args.nodeID("id")
        let method: QueryMethod
        switch name {
        case "ping":
            method = .ping
        case "find_node":
            method = .findNode(target: try args.nodeID("target"), want: try args.want())
        case "get_peers":
            method = .getPeers(infoHash: try args.nodeID("info_hash"), want: try args.want())
        case "announce_peer":
            let port = try args.int("port")
            let implied = (try args.optionalInt("implied_port") ?? 0) != 0
            guard implied || (1...65535).contains(port) else { throw args.failure(.invalidValue("port")) }
            method = .announcePeer(infoHash: try args.nodeID("info_hash"),
                                   port: UInt16(clamping: port), impliedPort: implied, token: try args.bytes("token"))
        case "get":
            method = .get(target: try args.nodeID("target"), seq: try args.optionalInt("seq"), want: try args.want())
        case "put":
            guard let value = args.tree("v") else { throw args.failure(.missingField("v")) }
            method = .put(PutArguments(
                token: try args.bytes("token"), value: value,
                publicKey: try args.optionalBytes("k"), signature: try args.optionalBytes("sig"),
                seq: try args.optionalInt("seq"), cas: try args.optionalInt("cas"),
                salt: try args.optionalBytes("salt") ?? []))
        case "announce_record":
            method = .announceRecord(arguments: args.tape.entries(ofDictionaryAt: args.dictionary, skippingKey: Array("id".utf8)))
        case "get_records":
            method = .getRecords(target: try args.nodeID("target"), after: try args.optionalBytes("after"), want: try args.want())
        case "get_record_changes":
            method = .getRecordChanges(target: try args.nodeID("target"), since: try args.bytes("since"),
                                       after: try args.optionalBytes("after"))
        default:
            // Another implementation's method: its arguments are not ours to check, so a
            // target of the wrong shape is simply no target (libtorrent reads it the same way).
            let target = args.optionalNodeID("target") ?? args.optionalNodeID("info_hash")
            method = .unknown(name: name, target: target, want: target == nil ? nil : try args.want())
        }
        return Query(senderID: sender, method: method)
    }

    private static func decodeResponse(_ reader: FieldReader) throws(KRPCDecodingError) -> ResponseBody {
        var body = ResponseBody(id: try reader.nodeID("id"))
        if let raw = try reader.optionalSlice("nodes") {
            guard let nodes = NodeInfo.decodeList(raw, ipv6: false) else { throw reader.failure(.invalidValue("nodes")) }
            body.nodes = nodes
        }
        if let raw = try reader.optionalSlice("nodes6") {
            guard let nodes = NodeInfo.decodeList(raw, ipv6: true) else { throw reader.failure(.invalidValue("nodes6")) }
            body.nodes6 = nodes
        }
        body.token = try reader.optionalBytes("token")
        if let items = try reader.optionalList("values") {
            // Skip individual malformed peers rather than the whole answer: peers are hints.
            body.values = items.compactMap { reader.tape.kind(at: $0) == .bytes ? Endpoint(compact: reader.tape.slice(at: $0)) : nil }
        }
        body.value = reader.tree("v")
        body.publicKey = try reader.optionalBytes("k")
        body.signature = try reader.optionalBytes("sig")
        body.seq = try reader.optionalInt("seq")
        if let items = try reader.optionalList("records") {
            body.records = items.map { reader.tape.value(at: $0) }
        }
        body.compressedRecords = try reader.optionalBytes("rz")
        body.uncompressedRecordsLength = try reader.optionalInt("rn")
        body.more = try reader.optionalBytes("more")
        let feed = FeedAnswer(cursor: try reader.optionalBytes("ver"), isFullRead: (try reader.optionalInt("full") ?? 0) == 1,
                              gone: try reader.optionalBytes("gone"), memberCount: try reader.optionalInt("dn"),
                              memberDigest: try reader.optionalBytes("dg"))
        if !feed.isEmpty { body.feed = feed }
        return body
    }

    private static func decodeError(_ reader: FieldReader) throws(KRPCDecodingError) -> KRPCError {
        guard let value = reader.tree("e"), case .list(let items) = value else { throw reader.failure(.missingField("e")) }
        let code = items.first?.intValue.map { Int(clamping: $0) } ?? 201
        let message = items.count > 1 ? (items[1].bytesValue.map { String(decoding: $0, as: UTF8.self) } ?? "") : ""
        return KRPCError(code: code, message: message)
    }

    // MARK: - Salvage

    /// Finds a plausible transaction id in a datagram that is not valid bencode, so the
    /// sender can be told (203) what was wrong. Looks for the `1:t` key followed by a short
    /// byte string; returns nil when there is none.
    static func salvageTransactionID(_ bytes: [UInt8]) -> [UInt8]? {
        guard bytes.first == UInt8(ascii: "d"), bytes.count >= 6 else { return nil }
        let marker: [UInt8] = Array("1:t".utf8)
        var index = 1
        while index + marker.count < bytes.count {
            if bytes[index] == marker[0], bytes[index + 1] == marker[1], bytes[index + 2] == marker[2] {
                var parser = BencodeParser(bytes: bytes, maxDepth: 1)
                parser.position = index + 3
                if let value = try? parser.parseByteString(), !value.isEmpty, value.count <= 16 { return value }
                return nil
            }
            index += 1
        }
        return nil
    }

    /// The network id (`1:ni<n>e`) of a datagram that is not valid bencode, if one is readable.
    static func salvageNetworkID(_ bytes: [UInt8]) -> Int64? {
        let marker: [UInt8] = Array("1:ni".utf8)
        guard bytes.count > marker.count else { return nil }
        for start in 0..<(bytes.count - marker.count) where bytes[start..<(start + marker.count)].elementsEqual(marker) {
            var parser = BencodeParser(bytes: bytes, maxDepth: 1)
            parser.position = start + marker.count
            return try? parser.parseInteger(terminator: UInt8(ascii: "e"))
        }
        return nil
    }

    /// Errors are never answered, so that two nodes cannot bounce errors at each other.
    static func looksLikeResponseOrError(_ bytes: [UInt8]) -> Bool {
        contains(Array("1:y1:r".utf8), in: bytes) || contains(Array("1:y1:e".utf8), in: bytes)
    }

    private static func contains(_ marker: [UInt8], in bytes: [UInt8]) -> Bool {
        guard bytes.count >= marker.count else { return false }
        for start in 0...(bytes.count - marker.count) where bytes[start..<(start + marker.count)].elementsEqual(marker) {
            return true
        }
        return false
    }
}

/// Typed access to the fields of one dictionary in a tape, producing `KRPCDecodingError`s
/// that name the field and carry the transaction id.
struct FieldReader {
    let tape: BencodeTape
    /// The dictionary's token index.
    let dictionary: Int
    var transactionID: [UInt8]?
    var isQuery: Bool

    init(tape: BencodeTape, dictionary: Int, transactionID: [UInt8]?, isQuery: Bool) {
        self.tape = tape
        self.dictionary = dictionary
        self.transactionID = transactionID
        self.isQuery = isQuery
    }

    func failure(_ reason: KRPCDecodingError.Reason) -> KRPCDecodingError {
        KRPCDecodingError(reason: reason, transactionID: transactionID, isQuery: isQuery)
    }

    /// The token index of `name`'s value, checked to be of `kind`; nil when absent.
    private func field(_ name: StaticString, _ kind: BencodeTape.Kind) throws(KRPCDecodingError) -> Int? {
        guard let index = tape.lookup(name, inDictionaryAt: dictionary) else { return nil }
        guard tape.kind(at: index) == kind else { throw failure(.wrongType(name.description)) }
        return index
    }

    private func required(_ name: StaticString, _ kind: BencodeTape.Kind) throws(KRPCDecodingError) -> Int {
        guard let index = try field(name, kind) else { throw failure(.missingField(name.description)) }
        return index
    }

    func slice(_ name: StaticString) throws(KRPCDecodingError) -> ArraySlice<UInt8> {
        tape.slice(at: try required(name, .bytes))
    }

    func optionalSlice(_ name: StaticString) throws(KRPCDecodingError) -> ArraySlice<UInt8>? {
        try field(name, .bytes).map { tape.slice(at: $0) }
    }

    func bytes(_ name: StaticString) throws(KRPCDecodingError) -> [UInt8] { Array(try slice(name)) }

    func optionalBytes(_ name: StaticString) throws(KRPCDecodingError) -> [UInt8]? { try optionalSlice(name).map { Array($0) } }

    func int(_ name: StaticString) throws(KRPCDecodingError) -> Int64 { tape.integer(at: try required(name, .integer)) }

    func optionalInt(_ name: StaticString) throws(KRPCDecodingError) -> Int64? {
        try field(name, .integer).map { tape.integer(at: $0) }
    }

    /// The integer under `name`, or nil when it is absent or of another type.
    func lenientInt(_ name: StaticString) -> Int64? {
        guard let index = tape.lookup(name, inDictionaryAt: dictionary), tape.kind(at: index) == .integer else { return nil }
        return tape.integer(at: index)
    }

    /// The list under `name` as token indexes.
    func optionalList(_ name: StaticString) throws(KRPCDecodingError) -> [Int]? {
        try field(name, .list).map { tape.listItems(at: $0) }
    }

    /// A reader of the dictionary under `name`, with this reader's transaction id.
    func dictionary(_ name: StaticString) throws(KRPCDecodingError) -> FieldReader {
        FieldReader(tape: tape, dictionary: try required(name, .dictionary), transactionID: transactionID, isQuery: isQuery)
    }

    /// Any value under `name`, as a tree.
    func tree(_ name: StaticString) -> BValue? {
        tape.lookup(name, inDictionaryAt: dictionary).map { tape.value(at: $0) }
    }

    /// The 20-byte string under `name`, or nil when it is absent or anything else.
    func optionalNodeID(_ name: StaticString) -> NodeID? {
        guard let index = tape.lookup(name, inDictionaryAt: dictionary), tape.kind(at: index) == .bytes else { return nil }
        return NodeID(bytes: tape.slice(at: index))
    }

    func nodeID(_ name: StaticString) throws(KRPCDecodingError) -> NodeID {
        guard let id = NodeID(bytes: try slice(name)) else { throw failure(.invalidValue(name.description)) }
        return id
    }

    /// BEP 32 `want`: a list of `n4` / `n6`; unknown entries are ignored for forward compatibility.
    func want() throws(KRPCDecodingError) -> AddressFamilies? {
        guard let items = try optionalList("want") else { return nil }
        var families: AddressFamilies = []
        for item in items where tape.kind(at: item) == .bytes {
            let entry = tape.slice(at: item)
            if entry.elementsEqual("n4".utf8) { families.insert(.ipv4) }
            if entry.elementsEqual("n6".utf8) { families.insert(.ipv6) }
        }
        return families
    }
}
