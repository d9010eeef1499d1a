import SubnetDHT

/// Heartbeat records and the datagrams that carry them, built through SubnetDHT's public API
/// only (the benchmarks import it without `@testable`), the way a remote peer would: a
/// `get_records` for the write token, then one `announce_record` per record.
public enum RecordFixtures {
    /// Virtual time every core and record of the benchmarks uses.
    public static let now = Timestamp(seconds: 1_700_000_000)
    /// The one remote peer sending every query. Tokens are per source IP and target, so one
    /// token serves every record under `node`.
    public static let client = Endpoint(address: .v4(0x7f00_0001), port: 4000)
    public static let clientID = NodeID.random()
    public static let nodeKey = Array("node".utf8)
    public static var nodeTarget: NodeID { KeyedRecord.target(forKey: nodeKey) }

    /// The loopback settings the tests use, with room for `maxOwners` owners under `node`.
    public static func settings(maxOwners: Int = 10_000) -> DHTSettings {
        var settings = DHTSettings.loopbackTestNetwork
        settings.keyPolicies.register(.node(maxOwners: maxOwners), for: "node")
        settings.recordStore.maxRecords = max(settings.recordStore.maxRecords, maxOwners)
        // One client sends every datagram at one instant of virtual time: the per-source
        // rate limit would refuse all but its burst.
        settings.rateLimit.queriesPerSecond = 0
        return settings
    }

    public static func core(maxOwners: Int = 10_000) -> DHTCore {
        DHTCore(localID: .random(), settings: settings(maxOwners: maxOwners), now: now)
    }

    /// A typical heartbeat value (about 100 bytes bencoded), distinct per `index`.
    public static func serverInfo(_ index: Int) -> ServerInfo {
        ServerInfo(state: .online, role: "worker", throughput: 1500,
                   address: Endpoint(address: .v4(0x0a00_0000 | UInt32(truncatingIfNeeded: index & 0xff_ffff)), port: 6881),
                   name: "peer-\(index)", version: "0.1.0")
    }

    /// `count` heartbeats under `node`, each from its own freshly generated owner, seq 1,
    /// expiring 90 s after `now`.
    public static func heartbeats(_ count: Int) -> [KeyedRecord] {
        (0..<count).map { index in
            KeyedRecord.signed(key: nodeKey, value: serverInfo(index).bencoded, seq: 1,
                               expires: now.seconds + 90, by: .generate())
        }
    }

    /// Padded to about 350 bytes as SubnetDHT's readers pad theirs: the client never answers
    /// the core's queries, so it stays unverified and gets at most 4x its query back.
    public static func getRecordsDatagram(after: PublicKey? = nil, transactionID: [UInt8] = [1, 2, 3, 4]) -> [UInt8] {
        paddedQuery(.getRecords(target: nodeTarget, after: after?.bytes, want: nil), transactionID: transactionID)
    }

    /// A query from `client`, padded to about 350 bytes (a `pad` entry of 3:pad<n>:<n bytes>).
    public static func paddedQuery(_ method: QueryMethod, transactionID: [UInt8]) -> [UInt8] {
        var message = KRPCMessage(transactionID: transactionID, body: .query(Query(senderID: clientID, method: method)))
        message.padding = max(1, 350 - KRPCCodec.encode(message).count - 9)
        return KRPCCodec.encode(message)
    }

    /// Fills `core`'s routing table as strangers' queries do: a ping from each contact, whose
    /// answers (and the core's own pings back) are dropped.
    public static func receivePings(from contacts: some Sequence<(NodeID, Endpoint)>, into core: inout DHTCore) {
        for (id, endpoint) in contacts {
            let ping = KRPCCodec.encode(KRPCMessage(transactionID: [1], body: .query(Query(senderID: id, method: .ping))))
            core.receive(ping, from: endpoint, now: now)
        }
        _ = core.takeEffects()
    }

    /// Sends `datagram` from `client` and returns the reply (response or error) the core sent
    /// back, skipping any query of its own (a new contact may get pinged).
    public static func exchange(_ datagram: [UInt8], with core: inout DHTCore) -> [UInt8]? {
        core.receive(datagram, from: client, now: now)
        for effect in core.takeEffects() {
            guard case .send(let bytes, let destination) = effect, destination == client,
                let message = try? KRPCCodec.decode(bytes) else { continue }
            if case .query = message.body { continue }
            return bytes
        }
        return nil
    }

    /// The `get_records` response body, or nil if the core sent none (or an error).
    public static func responseBody(_ datagram: [UInt8]) -> ResponseBody? {
        guard let message = try? KRPCCodec.decode(datagram), case .response(let body) = message.body else { return nil }
        return body
    }

    /// The write token `core` issues to `client` for `node`.
    public static func token(from core: inout DHTCore) -> [UInt8] {
        guard let response = exchange(getRecordsDatagram(), with: &core), let token = responseBody(response)?.token else {
            fatalError("the core answered get_records without a token")
        }
        return token
    }

    /// `announce_record` arguments: the record's wire dictionary plus `key` and `token`
    /// (what SubnetDHT's internal `announceArguments` builds, plus the token).
    public static func announceArguments(_ record: KeyedRecord, token: [UInt8]) -> [[UInt8]: BValue] {
        guard case .dict(var arguments) = record.wireDictionary else { fatalError("wireDictionary is not a dictionary") }
        arguments[Array("key".utf8)] = .bytes(record.key)
        arguments[Array("token".utf8)] = .bytes(token)
        return arguments
    }

    public static func announceDatagram(_ record: KeyedRecord, token: [UInt8], transactionID: [UInt8]) -> [UInt8] {
        KRPCCodec.encode(KRPCMessage(transactionID: transactionID,
                                     body: .query(Query(senderID: clientID,
                                                        method: .announceRecord(arguments: announceArguments(record, token: token))))))
    }

    /// One `announce_record` datagram per record, with `core`'s token for `client`.
    public static func announceDatagrams(_ records: [KeyedRecord], for core: inout DHTCore) -> [[UInt8]] {
        let token = token(from: &core)
        return records.indices.map { index in
            announceDatagram(records[index], token: token,
                             transactionID: [UInt8(truncatingIfNeeded: index >> 8), UInt8(truncatingIfNeeded: index)])
        }
    }

    /// A core holding `records`, stored through the real `announce_record` path.
    public static func core(holding records: [KeyedRecord]) -> DHTCore {
        var core = core(maxOwners: max(10_000, records.count))
        for datagram in announceDatagrams(records, for: &core) {
            core.receive(datagram, from: client, now: now)
            _ = core.takeEffects()
        }
        precondition(core.storedRecordCount == records.count, "stored \(core.storedRecordCount) of \(records.count) records")
        return core
    }
}
