/// Address families a requester wants nodes for (BEP 32 `want`).
public struct AddressFamilies: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let ipv4 = AddressFamilies(rawValue: 1)
    public static let ipv6 = AddressFamilies(rawValue: 2)
}

/// The arguments of a BEP 44 `put`. `publicKey` is nil for immutable items.
public struct PutArguments: Hashable, Sendable {
    public var token: [UInt8]
    public var value: BValue
    public var publicKey: [UInt8]?
    public var signature: [UInt8]?
    public var seq: Int64?
    public var cas: Int64?
    public var salt: [UInt8]

    public init(token: [UInt8], value: BValue, publicKey: [UInt8]? = nil, signature: [UInt8]? = nil,
                seq: Int64? = nil, cas: Int64? = nil, salt: [UInt8] = []) {
        self.token = token
        self.value = value
        self.publicKey = publicKey
        self.signature = signature
        self.seq = seq
        self.cas = cas
        self.salt = salt
    }
}

/// A typed KRPC query. `unknown` keeps the name so the node can answer 204, and the 20-byte
/// `target` or `info_hash` it carried, if any, which is answered as a `find_node`
/// (libtorrent's convention, docs/PROTOCOL.md 7.5).
public enum QueryMethod: Hashable, Sendable {
    case ping
    case findNode(target: NodeID, want: AddressFamilies?)
    case getPeers(infoHash: NodeID, want: AddressFamilies?)
    case announcePeer(infoHash: NodeID, port: UInt16, impliedPort: Bool, token: [UInt8])
    case get(target: NodeID, seq: Int64?, want: AddressFamilies?)
    case put(PutArguments)
    /// docs/PROTOCOL.md 3. The arguments stay raw (without `id`): the record validator checks
    /// them in the protocol's order, and a wrong type is only an error at its step.
    case announceRecord(arguments: [[UInt8]: BValue])
    /// docs/PROTOCOL.md 3: records under `target` whose owner key sorts after `after`.
    case getRecords(target: NodeID, after: [UInt8]?, want: AddressFamilies?)
    /// docs/PROTOCOL.md 3.2: what changed under `target` since the feed cursor `since` (empty:
    /// from nothing, a full read), owners after `after`.
    case getRecordChanges(target: NodeID, since: [UInt8], after: [UInt8]?)
    case unknown(name: String, target: NodeID? = nil, want: AddressFamilies? = nil)

    /// The method name on the wire.
    public var name: String {
        if case .unknown(let name, _, _) = self { name } else { kind.name }
    }

    /// `after` of a token-only `get_records` (docs/PROTOCOL.md 3.1), the lookup before an
    /// `announce_record`: no owner key sorts after 32 0xff bytes, so each replica answers with
    /// an empty page, just the token and nodes a store needs, not records it would discard.
    public static let tokenOnlyCursor = [UInt8](repeating: 0xff, count: 32)

    /// `more` of a `get_record_changes` page into which not one change fitted (docs/PROTOCOL.md
    /// 3.2): every owner key sorts after 32 zero bytes, so the reader's next, padded, page
    /// starts from the first change again.
    public static let beforeEveryOwner = [UInt8](repeating: 0, count: 32)

    /// `announce_record` and `get_records`: our extension, which plain Mainline nodes ignore.
    public var isKeyedRecordQuery: Bool {
        switch self {
        case .announceRecord, .getRecords, .getRecordChanges: true
        default: false
        }
    }
}

public struct Query: Hashable, Sendable {
    public var senderID: NodeID
    public var method: QueryMethod
    public init(senderID: NodeID, method: QueryMethod) {
        self.senderID = senderID
        self.method = method
    }
}

/// A KRPC response's `r` dictionary. Which fields are present depends on the query it
/// answers, which only the asker knows (by transaction id), so all are optional here.
public struct ResponseBody: Hashable, Sendable {
    public var id: NodeID
    public var nodes: [NodeInfo]?
    public var nodes6: [NodeInfo]?
    public var token: [UInt8]?
    public var values: [Endpoint]?
    /// BEP 44 `v`, `k`, `sig`, `seq`.
    public var value: BValue?
    public var publicKey: [UInt8]?
    public var signature: [UInt8]?
    public var seq: Int64?
    /// `get_records`: a page of record dictionaries, or the same list LZ4-compressed
    /// (`rz`) with its uncompressed length (`rn`), and `more`, the last owner key sent when
    /// more records remain.
    public var records: [BValue]?
    public var compressedRecords: [UInt8]?
    public var uncompressedRecordsLength: Int64?
    public var more: [UInt8]?
    /// `get_record_changes` (docs/PROTOCOL.md 3.2), nil in every other answer. One optional
    /// field rather than five: every answer is built, copied and encoded, and five fields more
    /// cost each ping answer 3 % more instructions.
    public var feed: FeedAnswer?

    /// `ver`: the cursor to ask from next.
    public var feedCursor: [UInt8]? {
        get { feed?.cursor }
        set { editFeed { $0.cursor = newValue } }
    }
    /// `full`: the records are the whole set, not changes.
    public var isFullRead: Bool {
        get { feed?.isFullRead ?? false }
        set { editFeed { $0.isFullRead = newValue } }
    }
    /// `gone`: the owners removed since the cursor, 32-byte keys back to back.
    public var gone: [UInt8]? {
        get { feed?.gone }
        set { editFeed { $0.gone = newValue } }
    }
    /// `dn`: how many owners the replica holds under the target.
    public var memberCount: Int64? {
        get { feed?.memberCount }
        set { editFeed { $0.memberCount = newValue } }
    }
    /// `dg`: their digest (`RecordSetDigest`).
    public var memberDigest: [UInt8]? {
        get { feed?.memberDigest }
        set { editFeed { $0.memberDigest = newValue } }
    }

    private mutating func editFeed(_ change: (inout FeedAnswer) -> Void) {
        var answer = feed ?? FeedAnswer()
        change(&answer)
        feed = answer
    }

    public init(id: NodeID, nodes: [NodeInfo]? = nil, nodes6: [NodeInfo]? = nil, token: [UInt8]? = nil,
                values: [Endpoint]? = nil, value: BValue? = nil, publicKey: [UInt8]? = nil,
                signature: [UInt8]? = nil, seq: Int64? = nil, records: [BValue]? = nil,
                compressedRecords: [UInt8]? = nil, uncompressedRecordsLength: Int64? = nil, more: [UInt8]? = nil) {
        self.id = id
        self.nodes = nodes
        self.nodes6 = nodes6
        self.token = token
        self.values = values
        self.value = value
        self.publicKey = publicKey
        self.signature = signature
        self.seq = seq
        self.records = records
        self.compressedRecords = compressedRecords
        self.uncompressedRecordsLength = uncompressedRecordsLength
        self.more = more
    }

    /// Every node in `nodes` and `nodes6`.
    public var allNodes: [NodeInfo] { (nodes ?? []) + (nodes6 ?? []) }
}

/// The fields only a `get_record_changes` answer carries (docs/PROTOCOL.md 3.2).
public struct FeedAnswer: Hashable, Sendable {
    public var cursor: [UInt8]?
    public var isFullRead = false
    public var gone: [UInt8]?
    public var memberCount: Int64?
    public var memberDigest: [UInt8]?

    public init(cursor: [UInt8]? = nil, isFullRead: Bool = false, gone: [UInt8]? = nil, memberCount: Int64? = nil,
                memberDigest: [UInt8]? = nil) {
        self.cursor = cursor
        self.isFullRead = isFullRead
        self.gone = gone
        self.memberCount = memberCount
        self.memberDigest = memberDigest
    }

    /// Nothing in it: what an answer without these fields decodes to.
    var isEmpty: Bool { self == FeedAnswer() }
}

/// One KRPC datagram (BEP 5), with the optional top-level fields of BEP 42 (`ip`),
/// BEP 43 (`ro`), client version `v`, our network id `n` and our capability flag `kr`.
public struct KRPCMessage: Hashable, Sendable {
    public enum Body: Hashable, Sendable {
        case query(Query)
        case response(ResponseBody)
        case error(KRPCError)
    }

    public var transactionID: [UInt8]
    public var body: Body
    public var clientVersion: [UInt8]?
    /// BEP 42: the requester's address as seen by the responder.
    public var requesterAddress: Endpoint?
    /// BEP 43: the sender will not answer queries; keep it out of routing tables.
    public var readOnly: Bool
    /// docs/PROTOCOL.md 6; nil means absent (Mainline).
    public var networkID: Int64?
    /// `kr`, in responses (docs/PROTOCOL.md 7.1): the keyed-records revision the responder
    /// serves (1: docs/PROTOCOL.md 3).
    /// Nil when absent: a plain Mainline node, or a SubnetDHT node older than the key.
    public var keyedRecords: Int64?
    /// Zero bytes sent as `pad` so that a query is large enough for the answer it wants
    /// under the responder's amplification limit (docs/PROTOCOL.md 1.2). Never decoded:
    /// receivers only count the datagram's size.
    public var padding: Int

    /// `kr` of 1 or more: the sender serves keyed records.
    public var servesKeyedRecords: Bool { (keyedRecords ?? 0) >= 1 }

    public init(transactionID: [UInt8], body: Body, clientVersion: [UInt8]? = nil,
                requesterAddress: Endpoint? = nil, readOnly: Bool = false, networkID: Int64? = nil,
                keyedRecords: Int64? = nil, padding: Int = 0) {
        self.transactionID = transactionID
        self.body = body
        self.clientVersion = clientVersion
        self.requesterAddress = requesterAddress
        self.readOnly = readOnly
        self.networkID = networkID
        self.keyedRecords = keyedRecords
        self.padding = padding
    }
}

/// Why a datagram is not a usable KRPC message. Carries the transaction id when one was
/// readable, so the node can answer 203 as docs/PROTOCOL.md 1 requires.
public struct KRPCDecodingError: Error, Hashable, Sendable {
    public enum Reason: Hashable, Sendable {
        case bencode(BencodeError)
        case notADictionary
        case missingField(String)
        case wrongType(String)
        case invalidValue(String)
        case tooLarge(Int)
    }

    public var reason: Reason
    public var transactionID: [UInt8]?
    /// Whether the broken message was a query: only queries deserve an error reply.
    public var isQuery: Bool

    public var message: String {
        switch reason {
        case .bencode(let error): "invalid bencoding: \(error)"
        case .notADictionary: "message is not a dictionary"
        case .missingField(let name): "missing field \(name)"
        case .wrongType(let name): "wrong type for field \(name)"
        case .invalidValue(let name): "invalid value for field \(name)"
        case .tooLarge(let size): "datagram of \(size) bytes exceeds the limit"
        }
    }
}

/// The method of a query, for counting: the methods the node serves by name, and every other
/// name (they come off the wire) as `other`.
public enum QueryKind: Int, CaseIterable, Sendable {
    case ping, findNode, getPeers, announcePeer, get, put, getRecords, announceRecord, getRecordChanges, other

    /// The method name on the wire, `"other"` for the rest.
    public var name: String {
        switch self {
        case .ping: "ping"
        case .findNode: "find_node"
        case .getPeers: "get_peers"
        case .announcePeer: "announce_peer"
        case .get: "get"
        case .put: "put"
        case .getRecords: "get_records"
        case .announceRecord: "announce_record"
        case .getRecordChanges: "get_record_changes"
        case .other: "other"
        }
    }

    /// A store, answered with success only when it carried a valid write token.
    public var needsWriteToken: Bool {
        switch self {
        case .announcePeer, .put, .announceRecord: true
        default: false
        }
    }
}

extension QueryMethod {
    /// The method, for counting. Inlined so that counting reads the case in place: passed to
    /// a function, the query was copied on every answer.
    @inline(__always)
    public var kind: QueryKind {
        switch self {
        case .ping: .ping
        case .findNode: .findNode
        case .getPeers: .getPeers
        case .announcePeer: .announcePeer
        case .get: .get
        case .put: .put
        case .getRecords: .getRecords
        case .announceRecord: .announceRecord
        case .getRecordChanges: .getRecordChanges
        case .unknown: .other
        }
    }
}
