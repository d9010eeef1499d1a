/// Checks that replicas which acknowledged this node's own record hold it (docs/PROTOCOL.md 3.2).
///
/// Feed reads catch a followed replica that hides the record, but a node follows only a few of
/// the replicas it stores on. Once it has caught one hider it cannot tell which of the others
/// hide too; stores that go on reaching hiders it never reads put its record on other honest
/// replicas than the ones its readers follow. So, while a hider is known, each replica that
/// acknowledged a store and is not followed is asked once (again after `memory`) for the page
/// of records that starts at the node's own key: an honest one sends that record first.
struct StoreChecks: Sendable {
    /// Replicas that showed the record, not asked again for `memory` (256 at most).
    private var confirmed: RememberedEndpoints
    var memory: Duration { confirmed.memory }
    /// Checks in flight: whose record, and until when a replica owes it (the record may
    /// expire, or the node be down, before an answer comes).
    private var pending: [Endpoint: (owner: PublicKey, owedUntil: Timestamp)] = [:]

    init(memory: Duration = .seconds(600), capacity: Int = 256) {
        confirmed = RememberedEndpoints(memory: memory, capacity: capacity)
    }

    /// What the replicas in `nodes` that acknowledged `owner`'s record under `target`, are not
    /// `followed` and were not checked lately, are asked: a full feed answer from just before
    /// the owner's key. An answer counts for `owedFor` (the record's TTL).
    mutating func queries(owner: PublicKey, target: NodeID, acknowledgedBy nodes: [NodeInfo], except followed: Set<Endpoint>,
                          owedFor: Duration, now: Timestamp) -> [(node: NodeInfo, query: QueryMethod)] {
        var queries = [(node: NodeInfo, query: QueryMethod)]()
        for node in nodes where !followed.contains(node.endpoint) && pending[node.endpoint] == nil {
            if confirmed.contains(node.endpoint, now: now) { continue }
            pending[node.endpoint] = (owner, now + owedFor)
            queries.append((node, .getRecordChanges(target: target, since: [], after: Self.justBefore(owner))))
        }
        return queries
    }

    func isPending(_ endpoint: Endpoint) -> Bool { pending[endpoint] != nil }

    /// The answer of `endpoint` to its check, or nil when it failed. True when the replica
    /// hides the record: its page from just before the owner's key starts with another owner,
    /// or is empty with nothing after it. No verdict (false) on a failure, a replica without
    /// feeds, a page into which not one record fitted, or an answer after the record was owed.
    mutating func answered(from endpoint: Endpoint, body: ResponseBody?, key: [UInt8], now: Timestamp) -> Bool {
        guard let (owner, owedUntil) = pending.removeValue(forKey: endpoint), now < owedUntil,
            let body, body.feedCursor != nil, body.isFullRead else { return false }
        guard let first = RecordPage.entries(of: body).first else { return body.more == nil }
        guard let record = try? KeyedRecord(wire: first, key: key), record.owner == owner, !record.isExpired(at: now) else { return true }
        confirmed.add(endpoint, now: now)
        return false
    }

    /// The 32 bytes just before `owner` in the order of owner keys, so that a page after them
    /// starts at `owner`; nil (from the first owner) for the all-zero key.
    static func justBefore(_ owner: PublicKey) -> [UInt8]? {
        var bytes = owner.bytes
        for index in bytes.indices.reversed() {
            if bytes[index] > 0 {
                bytes[index] -= 1
                return bytes
            }
            bytes[index] = 0xff
        }
        return nil
    }
}
