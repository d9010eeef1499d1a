/// The heartbeat value under the `node` key (docs/PROTOCOL.md 4): what a peer says about
/// itself every heartbeat, so that others can tell who is live, what it does and how to
/// reach it without asking it directly.
///
/// Decoding is strict about every field it knows, because replicas and readers must agree
/// on what a record means; fields it does not know are kept and re-encoded as they came,
/// so that newer peers can add fields without older ones dropping or mangling them.
/// Which roles a subnet allows is not checked here: that is the key policy's decision.
public struct ServerInfo: Hashable, Sendable {
    /// The peer's lifecycle. A peer is live while its newest record is unexpired and not
    /// `offline`; an explicit `offline` tells readers it left on purpose.
    public enum State: Int64, Sendable, CaseIterable {
        /// Left on purpose: the last heartbeat a peer publishes before it stops.
        case offline = 0
        /// Started and joining the network, not yet serving.
        case joining = 1
        /// Joined and serving.
        case online = 2
    }

    /// Longest `role`, in UTF-8 bytes.
    public static let maxRoleLength = 32
    /// Longest `name`, in UTF-8 bytes.
    public static let maxNameLength = 64
    /// Longest `ver`, in UTF-8 bytes.
    public static let maxVersionLength = 32
    /// Length of a `pings` key: the hex of an owner key's first 8 bytes, enough to tell
    /// peers apart while keeping 8 pings well inside the 1,000-byte value limit.
    public static let pingKeyLength = 16

    /// Roles a subnet has unless it configures its own; the key policy enforces them.
    public static let defaultRoles: Set<String> = ["validator", "miner", "worker", "standby", "coordinator", "bootstrap"]

    /// `state`.
    public var state: State
    /// `role`, at most 32 bytes.
    public var role: String
    /// `tput` >= 0: throughput in thousandths of requests per second, an integer so that
    /// the value has one canonical encoding.
    public var throughput: Int64
    /// False while the owner has never reported a throughput (`tnone` 1 on the wire, `tput`
    /// then 0): readers show `-`, not a measured zero. Heartbeats without `tnone` (older
    /// nodes) count as reported.
    public var throughputReported = true
    /// `addr`: where the owner's DHT node answers, compact (6 or 18 bytes).
    public var address: Endpoint
    /// `name`: optional public name, at most 64 bytes.
    public var name: String?
    /// `ver`: optional software version, at most 32 bytes.
    public var version: String?
    /// `relay` (0/1): optional; true when the peer is reachable only through a relay.
    public var relay: Bool?
    /// `pings`: hex owner-key prefix (`pingKey(for:)`) to round-trip time in microseconds.
    /// Empty means absent: it is not encoded, and an empty dictionary on the wire reads as empty.
    public var pings: [String: Int64]
    /// `info`: the subnet's own fields (stake, score, ...), sent as the compact JSON text of
    /// an object. Empty means absent. A key policy may require fields and bound them.
    public var info: [String: JSONValue]
    /// Entries this version does not know, kept for forward compatibility and re-encoded
    /// as-is. Entries here under the name of a known field are ignored when encoding.
    public var unknownFields: [[UInt8]: BValue]

    /// A heartbeat value from its fields. Lengths are not checked here: a replica refuses
    /// a record whose value breaks docs/PROTOCOL.md 4's table.
    ///
    /// - Parameters:
    ///   - state: Where the peer is in its lifecycle.
    ///   - role: What the peer does; the key's policy decides which roles are allowed.
    ///   - throughput: Thousandths of requests per second (1500 is 1.5 a second).
    ///   - address: Where the peer's DHT node answers, usually `DHTNode.localEndpoint`.
    ///   - name: An optional public name.
    ///   - version: An optional software version.
    ///   - relay: Optional: true when the peer is reachable only through a relay.
    ///   - pings: Round-trip times to other peers, by `pingKey(for:)`, in microseconds.
    ///   - info: The subnet's own fields.
    ///   - unknownFields: Extra entries to publish as they are.
    public init(
        state: State,
        role: String,
        throughput: Int64,
        address: Endpoint,
        name: String? = nil,
        version: String? = nil,
        relay: Bool? = nil,
        pings: [String: Int64] = [:],
        info: [String: JSONValue] = [:],
        unknownFields: [[UInt8]: BValue] = [:]
    ) {
        self.state = state
        self.role = role
        self.throughput = throughput
        self.address = address
        self.name = name
        self.version = version
        self.relay = relay
        self.pings = pings
        self.info = info
        self.unknownFields = unknownFields
    }

    /// The most bytes this heartbeat's value takes bencoded once its node fills in what it
    /// changes on its own: an IPv6 address, the largest throughput, the longest version. Over
    /// `StorageSettings.maxValueSize` (1,000), every replica refuses it (205).
    public var largestValueSize: Int {
        var widest = self
        widest.address = Endpoint(address: .v6(high: .max, low: .max), port: .max)
        widest.throughput = .max
        widest.version = String(repeating: "x", count: Self.maxVersionLength)
        return Bencode.encode(widest.bencoded).count
    }

    /// Whether `other` says the same as this, apart from the round-trip times (`pings`), which
    /// move every heartbeat: what a reader acts on is the rest.
    public func hasSameContent(as other: ServerInfo) -> Bool {
        var mine = self, theirs = other
        mine.pings = [:]
        theirs.pings = [:]
        return mine == theirs
    }

    /// The `pings` key for `owner`: lower-case hex of its first 8 bytes.
    public static func pingKey(for owner: PublicKey) -> String {
        HexEncoding.encode(owner.bytes.prefix(pingKeyLength / 2))
    }

    /// Reads a ServerInfo dictionary, enforcing docs/PROTOCOL.md 4's table: `state`,
    /// `role`, `tput` and `addr` required; `state` 0...2; `tput` >= 0; `addr` 6 or 18 bytes;
    /// `role` <= 32, `name` <= 64 and `ver` <= 32 bytes of UTF-8; `relay` and `tnone` 0 or 1; `pings`
    /// keys 16 hex digits and values integers >= 0; `info` the JSON text of an object. Any
    /// other entry is kept unread.
    public init(bencoded: BValue) throws(ServerInfoError) {
        guard case .dict(let entries) = bencoded else { throw .notADictionary }

        let stateNumber = try Self.integer(Field.state, in: entries)
        guard let state = State(rawValue: stateNumber) else { throw .invalidValue(Field.state) }
        let role = try Self.text(Field.role, maxLength: Self.maxRoleLength, in: entries)
        let throughput = try Self.integer(Field.throughput, in: entries)
        guard throughput >= 0 else { throw .invalidValue(Field.throughput) }
        let addressBytes = try Self.bytes(Field.address, in: entries)
        guard let address = Endpoint(compact: addressBytes) else { throw .invalidValue(Field.address) }

        let name = try Self.optional(Field.name, in: entries) { () throws(ServerInfoError) in
            try Self.text(Field.name, maxLength: Self.maxNameLength, in: entries)
        }
        let version = try Self.optional(Field.version, in: entries) { () throws(ServerInfoError) in
            try Self.text(Field.version, maxLength: Self.maxVersionLength, in: entries)
        }
        let relay = try Self.optional(Field.relay, in: entries) { () throws(ServerInfoError) -> Bool in
            switch try Self.integer(Field.relay, in: entries) {
            case 0: return false
            case 1: return true
            default: throw .invalidValue(Field.relay)
            }
        }
        let pings = try Self.optional(Field.pings, in: entries) { () throws(ServerInfoError) in
            try Self.pings(entries[Array(Field.pings.utf8)])
        } ?? [:]
        let info = try Self.optional(Field.info, in: entries) { () throws(ServerInfoError) in
            try Self.info(try Self.bytes(Field.info, in: entries))
        } ?? [:]

        let throughputUnreported = try Self.optional(Field.throughputUnreported, in: entries) { () throws(ServerInfoError) -> Bool in
            switch try Self.integer(Field.throughputUnreported, in: entries) {
            case 0: return false
            case 1: return true
            default: throw .invalidValue(Field.throughputUnreported)
            }
        } ?? false

        var unknownFields = entries
        for field in Field.all { unknownFields[Array(field.utf8)] = nil }

        self.init(
            state: state, role: role, throughput: throughput, address: address, name: name, version: version,
            relay: relay, pings: pings, info: info, unknownFields: unknownFields)
        self.throughputReported = !throughputUnreported
    }

    /// The dictionary to publish as a `node` record's `v`. `init(bencoded:)` of it gives
    /// this value back, unknown fields included; optional fields left nil (and empty
    /// `pings`) are omitted.
    public var bencoded: BValue {
        var entries = unknownFields
        for field in Field.all { entries[Array(field.utf8)] = nil }
        entries[Array(Field.state.utf8)] = .int(state.rawValue)
        entries[Array(Field.role.utf8)] = .string(role)
        entries[Array(Field.throughput.utf8)] = .int(throughput)
        if !throughputReported { entries[Array(Field.throughputUnreported.utf8)] = .int(1) }
        entries[Array(Field.address.utf8)] = .bytes(address.compact)
        if let name { entries[Array(Field.name.utf8)] = .string(name) }
        if let version { entries[Array(Field.version.utf8)] = .string(version) }
        if let relay { entries[Array(Field.relay.utf8)] = .int(relay ? 1 : 0) }
        if !pings.isEmpty {
            var encoded = [[UInt8]: BValue]()
            for (key, rtt) in pings { encoded[Array(key.utf8)] = .int(rtt) }
            entries[Array(Field.pings.utf8)] = .dict(encoded)
        }
        if !info.isEmpty { entries[Array(Field.info.utf8)] = .string(JSONValue.object(info).jsonText) }
        return .dict(entries)
    }

    /// Wire names of the known fields; they double as the names errors report.
    private enum Field {
        static let state = "state"
        static let role = "role"
        static let throughput = "tput"
        static let address = "addr"
        static let name = "name"
        static let version = "ver"
        static let relay = "relay"
        static let pings = "pings"
        static let info = "info"
        static let throughputUnreported = "tnone"
        static let all = [state, role, throughput, address, name, version, relay, pings, info, throughputUnreported]
    }

    private static func required(_ field: String, in entries: [[UInt8]: BValue]) throws(ServerInfoError) -> BValue {
        guard let entry = entries[Array(field.utf8)] else { throw .missingField(field) }
        return entry
    }

    /// nil when `field` is absent, otherwise what `read` makes of it.
    private static func optional<T>(
        _ field: String, in entries: [[UInt8]: BValue], _ read: () throws(ServerInfoError) -> T
    ) throws(ServerInfoError) -> T? {
        guard entries[Array(field.utf8)] != nil else { return nil }
        return try read()
    }

    private static func integer(_ field: String, in entries: [[UInt8]: BValue]) throws(ServerInfoError) -> Int64 {
        guard case .int(let number) = try required(field, in: entries) else { throw .wrongType(field) }
        return number
    }

    private static func bytes(_ field: String, in entries: [[UInt8]: BValue]) throws(ServerInfoError) -> [UInt8] {
        guard case .bytes(let bytes) = try required(field, in: entries) else { throw .wrongType(field) }
        return bytes
    }

    /// A byte string of at most `maxLength` bytes that is valid UTF-8. Valid UTF-8 converts
    /// back to the same bytes, which keeps the round trip exact.
    private static func text(_ field: String, maxLength: Int, in entries: [[UInt8]: BValue]) throws(ServerInfoError) -> String {
        let raw = try bytes(field, in: entries)
        guard raw.count <= maxLength, let text = String(validating: raw, as: UTF8.self) else { throw .invalidValue(field) }
        return text
    }

    private static func pings(_ entry: BValue?) throws(ServerInfoError) -> [String: Int64] {
        guard case .dict(let raw)? = entry else { throw .wrongType(Field.pings) }
        var pings = [String: Int64]()
        pings.reserveCapacity(raw.count)
        for (key, value) in raw {
            guard key.count == pingKeyLength, key.allSatisfy(isHexDigit) else { throw .invalidValue(Field.pings) }
            guard case .int(let rtt) = value else { throw .wrongType(Field.pings) }
            guard rtt >= 0 else { throw .invalidValue(Field.pings) }
            // Hex digits are ASCII, so this conversion is exact.
            pings[String(decoding: key, as: UTF8.self)] = rtt
        }
        return pings
    }

    /// `info` is the JSON text of an object; an empty object reads as absent.
    private static func info(_ raw: [UInt8]) throws(ServerInfoError) -> [String: JSONValue] {
        guard case .object(let fields)? = try? JSONValue(parsing: raw) else { throw .invalidValue(Field.info) }
        return fields
    }

    /// Either case is accepted: the protocol says only "hex", and refusing a peer's
    /// heartbeat over letter case would drop it from everyone's view.
    private static func isHexDigit(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"), UInt8(ascii: "A")...UInt8(ascii: "F"): true
        default: false
        }
    }
}

/// Why a value is not a ServerInfo. The record policy answers any of these with 209.
public enum ServerInfoError: Error, Hashable, Sendable, CustomStringConvertible {
    /// `v` is not a bencoded dictionary.
    case notADictionary
    /// One of `state`, `role`, `tput`, `addr` is absent.
    case missingField(String)
    /// A known field has the wrong bencode type.
    case wrongType(String)
    /// A known field has the right type but a value the table forbids.
    case invalidValue(String)

    /// Text for the KRPC error message.
    public var message: String {
        switch self {
        case .notADictionary: "server info is not a dictionary"
        case .missingField(let field): "server info field \(field) missing"
        case .wrongType(let field): "server info field \(field) has the wrong type"
        case .invalidValue(let field): "server info field \(field) invalid"
        }
    }

    /// The same text as `message`.
    public var description: String { message }
}

extension ServerInfo.State {
    /// `"offline"`, `"joining"` or `"online"`: the word `/health`, the CLI and the status page print.
    public var label: String {
        switch self {
        case .offline: "offline"
        case .joining: "joining"
        case .online: "online"
        }
    }
}
