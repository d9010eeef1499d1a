/// Feeds one untrusted datagram through everything the network can reach and checks what
/// must hold whatever it contains. Shared by the libFuzzer target (`Fuzz/`) and the
/// regression test that replays every input the fuzzer ever crashed on.
///
/// Each input goes to a fresh node holding a record under `node` and a BEP 44 immutable item
/// of 900 bytes (`itemTarget`), so that queries for them take the paths that serve data
/// (the committed seeds ask for both), and:
/// - as a datagram from a stranger (decoding, every query handler, the validator up to its
///   token check);
/// - for `announce_record`, `put` and `announce_peer`, again with a valid token in place of
///   whatever was sent, so the validator's later rules (types, expiry, signature, policy)
///   and the stores run too; for `get_record_changes` with a 16-byte `since`, again with a
///   cursor of the node's own, so the feed's changes path runs, not only its full reads;
/// - as a bencoded value, through the record and ServerInfo parsers.
/// Whatever the node sends the stranger, answers, errors and its own queries alike, is at most
/// `AmplificationLimit.factor` times the datagram that drew it: the stranger has never shown
/// it receives at its address. Violations stop the process with `preconditionFailure`, which
/// the fuzzer reports. `exercise` returns what the node sent, so a run can show that inputs
/// reached the data paths.
public enum DatagramHarness {
    static let start = Timestamp(seconds: 1_800_000_000)
    static let stranger = Endpoint(address: .v4(0x7f00_0063), port: 4242)
    /// The stored item's value, and its target (what the seeds ask for).
    static let itemValue = BValue.bytes([UInt8](repeating: 0x69, count: 900))
    static let itemTarget = SHA1Hash.id(Bencode.encode(itemValue))

    /// What the node sent the stranger for one input.
    public struct Coverage: Sendable {
        public var answers = 0
        public var answersWithRecords = 0
        public var answersWithItems = 0
        public var errors = 0
        public var ownQueries = 0

        /// Nothing sent yet: where a run's total starts.
        public init() {}

        public static func + (lhs: Coverage, rhs: Coverage) -> Coverage {
            var sum = lhs
            sum.answers += rhs.answers
            sum.answersWithRecords += rhs.answersWithRecords
            sum.answersWithItems += rhs.answersWithItems
            sum.errors += rhs.errors
            sum.ownQueries += rhs.ownQueries
            return sum
        }
    }

    @discardableResult
    public static func exercise(_ bytes: [UInt8]) -> Coverage {
        var core = makeCore()
        var coverage = deliver(bytes, to: &core)
        if let retokened = withValidToken(bytes, core: &core) { coverage = coverage + deliver(retokened, to: &core) }
        if let value = try? Bencode.decode(bytes) {
            _ = try? ServerInfo(bencoded: value)
            _ = try? KeyedRecord(wire: value, key: Array("node".utf8))
        }
        return coverage
    }

    private static func makeCore() -> DHTCore {
        var settings = DHTSettings.loopbackTestNetwork
        settings.rateLimit.queriesPerSecond = 0
        settings.keyPolicies.openKeys = true
        var core = DHTCore(localID: NodeID(high: 1, middle: 2, low: 3), settings: settings, seed: CoreSeed(replayable: 7), now: start)
        core.responder.itemStore.putImmutable(target: itemTarget, value: Bencode.encode(itemValue), now: start)
        guard let owner = try? SigningKey(seed: [UInt8](repeating: 9, count: 32)) else { return core }
        let info = ServerInfo(state: .online, role: "worker", throughput: 1, address: stranger)
        let record = KeyedRecord.signed(key: Array("node".utf8), value: info.bencoded, seq: 1, expires: start.seconds + 60, by: owner)
        try? core.responder.recordStore.store(record, maxOwners: 100, now: start)
        return core
    }

    private static func deliver(_ bytes: [UInt8], to core: inout DHTCore) -> Coverage {
        var coverage = Coverage()
        core.receive(bytes, from: stranger, now: start)
        for effect in core.takeEffects() {
            guard case .send(let reply, let destination) = effect else { continue }
            precondition(destination.isValidDestination, "sent to an invalid destination \(destination)")
            precondition(reply.count <= 1_500, "sent a \(reply.count)-byte datagram")
            guard let message = try? KRPCCodec.decode(reply) else {
                preconditionFailure("sent a datagram it cannot decode itself")
            }
            guard destination == stranger else { continue }
            // Never more than the limit toward a stranger, whatever the datagram is.
            precondition(reply.count <= AmplificationLimit.factor * bytes.count, "sent \(reply.count) bytes for \(bytes.count)")
            switch message.body {
            case .query: coverage.ownQueries += 1
            case .error: coverage.errors += 1
            case .response(let body):
                coverage.answers += 1
                if body.records != nil || body.compressedRecords != nil { coverage.answersWithRecords += 1 }
                if body.value != nil { coverage.answersWithItems += 1 }
            }
        }
        core.tick(now: start + .seconds(1))
        _ = core.takeEffects()
        return coverage
    }

    /// The same query with the node's own valid token for the stranger, when it is a write.
    static func withValidToken(_ bytes: [UInt8], core: inout DHTCore) -> [UInt8]? {
        guard case .dict(var top)? = try? Bencode.decode(bytes), case .dict(var arguments)? = top[Array("a".utf8)],
            case .bytes(let name)? = top[Array("q".utf8)] else { return nil }
        let target: NodeID?
        switch String(decoding: name, as: UTF8.self) {
        case "get_record_changes":
            // A cursor of the node's own epoch from before its record: the changes path runs.
            guard case .bytes(let since)? = arguments[Array("since".utf8)], since.count == RecordFeedCursor.byteCount else { return nil }
            let cursor = RecordFeedCursor(epoch: core.responder.recordStore.feedEpoch, version: 0)
            arguments[Array("since".utf8)] = .bytes(cursor.bytes)
            top[Array("a".utf8)] = .dict(arguments)
            return Bencode.encode(.dict(top))
        case "announce_record":
            if case .bytes(let key)? = arguments[Array("key".utf8)] { target = KeyedRecord.target(forKey: key) } else { target = nil }
        case "announce_peer":
            if case .bytes(let hash)? = arguments[Array("info_hash".utf8)] { target = NodeID(bytes: hash) } else { target = nil }
        case "put":
            if case .bytes(let key)? = arguments[Array("k".utf8)] {
                var salt: [UInt8] = []
                if case .bytes(let given)? = arguments[Array("salt".utf8)] { salt = given }
                target = BEP44.mutableTarget(publicKey: key, salt: salt)
            } else if let value = arguments[Array("v".utf8)] {
                target = SHA1Hash.id(Bencode.encode(value))
            } else {
                target = nil
            }
        default:
            return nil
        }
        guard let target else { return nil }
        arguments[Array("token".utf8)] = .bytes(core.responder.tokens.token(for: stranger.address, target: target, now: start))
        top[Array("a".utf8)] = .dict(arguments)
        return Bencode.encode(.dict(top))
    }
}
