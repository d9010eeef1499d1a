/// Turns datagrams into `KRPCMessage` values and back. Decoding never traps: every
/// malformed input becomes a `KRPCDecodingError`.
public enum KRPCCodec {
    /// PROTOCOL.md: the largest datagram accepted.
    public static let maxDatagramSize = 1500

    public static func decode(_ bytes: [UInt8]) throws(KRPCDecodingError) -> KRPCMessage {
        guard bytes.count <= maxDatagramSize else {
            throw KRPCDecodingError(reason: .tooLarge(bytes.count), transactionID: nil, isQuery: false)
        }
        let root: BValue
        do {
            root = try Bencode.decode(bytes)
        } catch {
            throw KRPCDecodingError(reason: .bencode(error), transactionID: salvageTransactionID(bytes),
                                    isQuery: !looksLikeResponseOrError(bytes))
        }
        guard case .dict(let top) = root else {
            throw KRPCDecodingError(reason: .notADictionary, transactionID: nil, isQuery: false)
        }
        // Anything not plainly a response or an error may be a query and deserves a 203.
        let declaredKind = top[key("y")]?.bytesValue
        let mayBeQuery = declaredKind != [UInt8(ascii: "r")] && declaredKind != [UInt8(ascii: "e")]
        var reader = FieldReader(dict: top, transactionID: nil, isQuery: mayBeQuery)
        let transactionID = try reader.bytes("t")
        reader.transactionID = transactionID
        let kind = try reader.bytes("y")

        let body: KRPCMessage.Body
        switch kind {
        case [UInt8(ascii: "q")]:
            body = .query(try decodeQuery(&reader))
        case [UInt8(ascii: "r")]:
            body = .response(try decodeResponse(reader.dictionary("r"), reader))
        case [UInt8(ascii: "e")]:
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
            networkID: try reader.optionalInt("n"))
    }

    public static func encode(_ message: KRPCMessage) -> [UInt8] {
        var writer = KRPCWriter(capacity: 256 + message.padding)
        writer.message(message)
        return writer.out
    }

    // MARK: - Decoding parts

    private static func decodeQuery(_ reader: inout FieldReader) throws(KRPCDecodingError) -> Query {
        let name = String(decoding: try reader.bytes("q"), as: UTF8.self)
        let args = FieldReader(dict: try reader.dictionary("a"), transactionID: reader.transactionID, isQuery: true)
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
            guard let value = args.dict[key("v")] else { throw args.failure(.missingField("v")) }
            method = .put(PutArguments(
                token: try args.bytes("token"), value: value,
                publicKey: try args.optionalBytes("k"), signature: try args.optionalBytes("sig"),
                seq: try args.optionalInt("seq"), cas: try args.optionalInt("cas"),
                salt: try args.optionalBytes("salt") ?? []))
        case "announce_record":
            var arguments = args.dict
            arguments[key("id")] = nil
            method = .announceRecord(arguments: arguments)
        case "get_records":
            method = .getRecords(target: try args.nodeID("target"), after: try args.optionalBytes("after"), want: try args.want())
        default:
            method = .unknown(name: name)
        }
        return Query(senderID: sender, method: method)
    }

    private static func decodeResponse(_ dict: [[UInt8]: BValue], _ outer: FieldReader) throws(KRPCDecodingError) -> ResponseBody {
        let reader = FieldReader(dict: dict, transactionID: outer.transactionID, isQuery: false)
        var body = ResponseBody(id: try reader.nodeID("id"))
        if let raw = try reader.optionalBytes("nodes") {
            guard let nodes = NodeInfo.decodeList(raw, ipv6: false) else { throw reader.failure(.invalidValue("nodes")) }
            body.nodes = nodes
        }
        if let raw = try reader.optionalBytes("nodes6") {
            guard let nodes = NodeInfo.decodeList(raw, ipv6: true) else { throw reader.failure(.invalidValue("nodes6")) }
            body.nodes6 = nodes
        }
        body.token = try reader.optionalBytes("token")
        if let values = dict[key("values")] {
            guard case .list(let items) = values else { throw reader.failure(.wrongType("values")) }
            // Skip individual malformed peers rather than the whole answer: peers are hints.
            body.values = items.compactMap { $0.bytesValue.flatMap { Endpoint(compact: $0) } }
        }
        body.value = dict[key("v")]
        body.publicKey = try reader.optionalBytes("k")
        body.signature = try reader.optionalBytes("sig")
        body.seq = try reader.optionalInt("seq")
        if let records = dict[key("records")] {
            guard case .list(let items) = records else { throw reader.failure(.wrongType("records")) }
            body.records = items
        }
        body.compressedRecords = try reader.optionalBytes("rz")
        body.uncompressedRecordsLength = try reader.optionalInt("rn")
        body.more = try reader.optionalBytes("more")
        return body
    }

    private static func decodeError(_ reader: FieldReader) throws(KRPCDecodingError) -> KRPCError {
        guard case .list(let items)? = reader.dict[key("e")] else { throw reader.failure(.missingField("e")) }
        let code = items.first?.intValue.map { Int(clamping: $0) } ?? 201
        let message = items.count > 1 ? (items[1].bytesValue.map { String(decoding: $0, as: UTF8.self) } ?? "") : ""
        return KRPCError(code: code, message: message)
    }

    @inline(__always) static func key(_ name: String) -> [UInt8] { Array(name.utf8) }

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

/// Typed access to a bencoded dictionary's fields, producing `KRPCDecodingError`s that
/// name the field and carry the transaction id.
struct FieldReader {
    let dict: [[UInt8]: BValue]
    var transactionID: [UInt8]?
    var isQuery: Bool

    func failure(_ reason: KRPCDecodingError.Reason) -> KRPCDecodingError {
        KRPCDecodingError(reason: reason, transactionID: transactionID, isQuery: isQuery)
    }

    func bytes(_ name: String) throws(KRPCDecodingError) -> [UInt8] {
        guard let value = dict[KRPCCodec.key(name)] else { throw failure(.missingField(name)) }
        guard case .bytes(let bytes) = value else { throw failure(.wrongType(name)) }
        return bytes
    }

    func optionalBytes(_ name: String) throws(KRPCDecodingError) -> [UInt8]? {
        guard let value = dict[KRPCCodec.key(name)] else { return nil }
        guard case .bytes(let bytes) = value else { throw failure(.wrongType(name)) }
        return bytes
    }

    func int(_ name: String) throws(KRPCDecodingError) -> Int64 {
        guard let value = dict[KRPCCodec.key(name)] else { throw failure(.missingField(name)) }
        guard case .int(let number) = value else { throw failure(.wrongType(name)) }
        return number
    }

    func optionalInt(_ name: String) throws(KRPCDecodingError) -> Int64? {
        guard let value = dict[KRPCCodec.key(name)] else { return nil }
        guard case .int(let number) = value else { throw failure(.wrongType(name)) }
        return number
    }

    func dictionary(_ name: String) throws(KRPCDecodingError) -> [[UInt8]: BValue] {
        guard let value = dict[KRPCCodec.key(name)] else { throw failure(.missingField(name)) }
        guard case .dict(let entries) = value else { throw failure(.wrongType(name)) }
        return entries
    }

    func nodeID(_ name: String) throws(KRPCDecodingError) -> NodeID {
        guard let id = NodeID(bytes: try bytes(name)) else { throw failure(.invalidValue(name)) }
        return id
    }

    /// BEP 32 `want`: a list of `n4` / `n6`; unknown entries are ignored for forward compatibility.
    func want() throws(KRPCDecodingError) -> AddressFamilies? {
        guard let value = dict[KRPCCodec.key("want")] else { return nil }
        guard case .list(let items) = value else { throw failure(.wrongType("want")) }
        var families: AddressFamilies = []
        for item in items {
            switch item.bytesValue {
            case Array("n4".utf8)?: families.insert(.ipv4)
            case Array("n6".utf8)?: families.insert(.ipv6)
            default: continue
            }
        }
        return families
    }
}
