import SubnetDHTCore
/// A keyed record as the tools list it: `subnet-dht records` and `peers`, and the node's
/// `/records/KEY.json` and `/peers.json`. One type, so the CLI, the status page and scripts
/// read the same rows in the same shape.
public struct RecordRow: Hashable, Sendable {
    /// What the record's value says: a peer's heartbeat, or any other value.
    public enum Content: Hashable, Sendable {
        /// The value reads as a `ServerInfo`: a peer's heartbeat.
        case peer(ServerInfo)
        /// Any other value, as it was published.
        case value(BValue)
    }

    /// The key that signed the record.
    public var owner: PublicKey
    /// The record's sequence number.
    public var seq: Int64
    /// Absolute expiry, Unix seconds.
    public var expires: Int64
    /// The value, read as a heartbeat when it is one.
    public var content: Content

    /// The row of a record read from the network, under any key: a value that reads as a
    /// `ServerInfo` becomes ``Content/peer(_:)``, whatever the key.
    public init(record: KeyedRecord) {
        owner = record.owner
        seq = record.seq
        expires = record.expires
        content = Peer(record: record).map { .peer($0.info) } ?? .value(record.value)
    }

    /// The row of a peer from a live view, which keeps the record's fields but not the record.
    public init(peer: Peer) {
        owner = peer.owner
        seq = peer.seq
        expires = peer.expires
        content = .peer(peer.info)
    }

    /// The heartbeat, when the value is one.
    public var info: ServerInfo? {
        if case .peer(let info) = content { info } else { nil }
    }

    /// Seconds until the record expires, never negative.
    public func expiresIn(now: Timestamp) -> Int64 { max(0, expires - now.seconds) }

    /// `records KEY`: every record, OFFLINE heartbeats only when `includeOffline` (`--all`).
    public static func records(_ records: [KeyedRecord], includeOffline: Bool) -> [RecordRow] {
        records.map(RecordRow.init(record:)).filter { includeOffline || $0.info?.state != .offline }
    }

    /// A heartbeat's throughput as the tools print it: `-` when its owner never reported one.
    public static func throughputText(of info: ServerInfo) -> String {
        info.throughputReported ? throughputText(info.throughput) : "-"
    }

    /// Throughput as the tools print it: `tput` is in thousandths of requests per second.
    public static func throughputText(_ thousandths: Int64) -> String {
        let whole = thousandths / 1000, fraction = String(abs(thousandths % 1000))
        return "\(whole).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)/s"
    }
}

/// The `--json` form of a list of rows: one JSON array on one line, one flat object per row.
/// Heartbeats have `owner seq exp expires_in state role addr name ver tput info` (`info` the
/// subnet's own fields, `{}` when none; `tput` null when never reported); other values
/// `owner seq exp expires_in value` (the value bencoded, as text).
public enum RecordListJSON {
    /// The JSON array of `rows`, with `expires_in` counted from `now`.
    public static func render(_ rows: [RecordRow], now: Timestamp) -> String {
        "[" + rows.map { object($0, now: now) }.joined(separator: ",") + "]"
    }

    /// The JSON object of one row, as in `render(_:now:)`.
    public static func object(_ row: RecordRow, now: Timestamp) -> String {
        var fields = [
            "\"owner\":\"\(row.owner.hex)\"",
            "\"seq\":\(row.seq)",
            "\"exp\":\(row.expires)",
            "\"expires_in\":\(row.expiresIn(now: now))",
        ]
        switch row.content {
        case .peer(let info):
            fields += heartbeatFields(info)
        case .value(let value):
            fields.append("\"value\":\(JSONText.quoted(String(decoding: Bencode.encode(value), as: UTF8.self)))")
        }
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// A heartbeat's members of a row: `state role addr name ver tput info`.
    public static func heartbeatFields(_ info: ServerInfo) -> [String] {
        [
            "\"state\":\"\(info.state.label)\"",
            "\"role\":\(JSONText.quoted(info.role))",
            "\"addr\":\(JSONText.quoted(info.address.description))",
            "\"name\":\(info.name.map(JSONText.quoted) ?? "null")",
            "\"ver\":\(info.version.map(JSONText.quoted) ?? "null")",
            "\"tput\":\(info.throughputReported ? String(info.throughput) : "null")",
            "\"info\":\(JSONValue.object(info.info).jsonText)",
        ]
    }
}
