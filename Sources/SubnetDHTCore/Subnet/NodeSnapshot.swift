/// What a node saves so that a restart does not start from nothing: its id, the routing-table
/// contacts to re-ping, and the keyed records it holds for others. `SnapshotFile` puts it on
/// disk; this type is only the value and its bencoded form.
///
/// Payload (bencode, format version 1):
///
///     { "v": 1, "id": <20 bytes>, "t": <savedAt, Unix ms>,
///       "nodes": <compact IPv4 node infos, 26 bytes each>,
///       "nodes6": <compact IPv6 node infos, 38 bytes each>,
///       "records": [ { "key": <bytes>, "k", "seq", "exp", "v", "sig" }, ... ] }
///
/// Each record entry is the record's `wireDictionary` plus its `key`.
public struct NodeSnapshot: Sendable, Equatable {
    /// The payload's `v`. A reader refuses any other value with `.unsupportedVersion`.
    public static let formatVersion = 1
    /// Largest payload written or read, 64 MiB: some 300,000 records, far above what a node
    /// holds, yet small enough that a lying header cannot make reading exhaust memory.
    public static let maxPayloadSize = 64 << 20

    public var nodeID: NodeID
    /// Routing-table contacts to re-ping on start. Stored as two compact lists, so a decoded
    /// snapshot lists the IPv4 contacts first, then the IPv6 ones, each in saved order.
    public var contacts: [NodeInfo]
    /// Keyed records held for others, under any keys. Stored as they are: signatures, expiry
    /// and policy are checked again by the record store when they are put back into it.
    public var records: [KeyedRecord]
    public var savedAt: Timestamp

    public init(nodeID: NodeID, contacts: [NodeInfo], records: [KeyedRecord], savedAt: Timestamp) {
        self.nodeID = nodeID
        self.contacts = contacts
        self.records = records
        self.savedAt = savedAt
    }

    /// The bencoded payload (before chunking and compression).
    public func encoded() -> [UInt8] {
        var ipv4 = [NodeInfo]()
        var ipv6 = [NodeInfo]()
        for contact in contacts {
            if contact.endpoint.address.isIPv4 { ipv4.append(contact) } else { ipv6.append(contact) }
        }
        let records: [BValue] = records.map { record in
            guard case .dict(var entries) = record.wireDictionary else { return record.wireDictionary }
            entries[Field.key] = .bytes(record.key)
            return .dict(entries)
        }
        let root: BValue = .dict([
            Field.version: .int(Int64(Self.formatVersion)),
            Field.id: .bytes(nodeID.bytes),
            Field.savedAt: .int(savedAt.milliseconds),
            Field.nodes: .bytes(NodeInfo.encodeList(ipv4)),
            Field.nodes6: .bytes(NodeInfo.encodeList(ipv6)),
            Field.records: .list(records),
        ])
        return Bencode.encode(root)
    }

    /// Parses a bencoded payload. The snapshot as a whole must be well formed (any fault is
    /// `.corrupt`, a different `v` is `.unsupportedVersion`); a record entry that does not
    /// parse on its own is skipped and counted in `LoadedSnapshot.skippedRecords`.
    public static func decode(_ payload: [UInt8]) throws(SnapshotError) -> LoadedSnapshot {
        let root: BValue
        do {
            root = try Bencode.decode(payload, maxDepth: payloadMaxDepth)
        } catch {
            throw .corrupt("payload is not valid bencode (\(error))")
        }
        guard case .dict(let entries) = root else { throw .corrupt("payload is not a dictionary") }

        guard case .int(let version)? = entries[Field.version] else { throw .corrupt("field v is missing or not an integer") }
        guard version == Int64(formatVersion) else { throw .unsupportedVersion(Int(clamping: version)) }

        guard case .bytes(let idBytes)? = entries[Field.id], idBytes.count == NodeID.byteCount,
            let nodeID = NodeID(bytes: idBytes)
        else { throw .corrupt("field id is missing or not \(NodeID.byteCount) bytes") }

        guard case .int(let savedAt)? = entries[Field.savedAt] else { throw .corrupt("field t is missing or not an integer") }

        let ipv4 = try contacts(entries, Field.nodes, name: "nodes", ipv6: false)
        let ipv6 = try contacts(entries, Field.nodes6, name: "nodes6", ipv6: true)

        guard case .list(let entriesList)? = entries[Field.records] else { throw .corrupt("field records is missing or not a list") }
        var records = [KeyedRecord]()
        records.reserveCapacity(entriesList.count)
        var skipped = 0
        for entry in entriesList {
            guard case .dict(let fields) = entry, case .bytes(let key)? = fields[Field.key],
                let record = try? KeyedRecord(wire: entry, key: key)
            else {
                skipped += 1
                continue
            }
            records.append(record)
        }

        let snapshot = NodeSnapshot(nodeID: nodeID, contacts: ipv4 + ipv6, records: records,
                                    savedAt: Timestamp(milliseconds: savedAt))
        return LoadedSnapshot(snapshot: snapshot, skippedRecords: skipped)
    }

    /// Records sit three levels down (dictionary, list, record), and a record's `v` may nest
    /// as deeply as the wire allowed it to, so the payload gets that much headroom.
    static let payloadMaxDepth = Bencode.maxDepth + 8

    private static func contacts(_ entries: [[UInt8]: BValue], _ field: [UInt8], name: String, ipv6: Bool) throws(SnapshotError) -> [NodeInfo] {
        guard case .bytes(let compact)? = entries[field] else { throw .corrupt("field \(name) is missing or not a byte string") }
        guard let nodes = NodeInfo.decodeList(compact, ipv6: ipv6) else {
            throw .corrupt("field \(name) is not a list of \(ipv6 ? 38 : 26)-byte compact node infos")
        }
        return nodes
    }

    /// Dictionary keys of the payload, encoded once.
    private enum Field {
        static let version = Array("v".utf8)
        static let id = Array("id".utf8)
        static let savedAt = Array("t".utf8)
        static let nodes = Array("nodes".utf8)
        static let nodes6 = Array("nodes6".utf8)
        static let records = Array("records".utf8)
        static let key = Array("key".utf8)
    }
}

/// A snapshot as read back: the snapshot itself and how many of its record entries were
/// dropped because they did not parse (a wrong type, a missing field, a key of the wrong
/// length). The container and every other field are all-or-nothing; only records, each
/// independent of the others, are salvaged one by one.
public struct LoadedSnapshot: Sendable, Equatable {
    public var snapshot: NodeSnapshot
    public var skippedRecords: Int

    public init(snapshot: NodeSnapshot, skippedRecords: Int) {
        self.snapshot = snapshot
        self.skippedRecords = skippedRecords
    }
}
