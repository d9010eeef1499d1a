/// Learning what each contact answers (docs/PROTOCOL.md 7, keyed records beside plain
/// Mainline nodes), so that keyed-record queries go only to nodes that serve them and a
/// plain Mainline node's silence to them never costs it its place in the routing table.
extension DHTCore {
    /// The keyed-records revision this node serves, sent as `kr` in every answer.
    public static let keyedRecordsRevision: Int64 = 1

    /// What this node has learnt of `endpoint`'s support for keyed records.
    public func recordSupport(of endpoint: Endpoint) -> RecordSupport {
        capabilities.recordSupport(of: endpoint, now: currentTime)
    }

    /// The routing table's contacts by what they are known to support.
    public var recordSupportCounts: RecordSupportCounts {
        var counts = RecordSupportCounts()
        for contact in routing.allContacts {
            switch capabilities.recordSupport(of: contact.endpoint, now: currentTime) {
            case .capable: counts.capable += 1
            case .plain: counts.plain += 1
            case .unknown: counts.unknown += 1
            }
        }
        return counts
    }

    /// Up to `count` routing-table contacts known to serve keyed records, nearest `target`
    /// first, from among its `IterativeLookup.routerWidening` x `count` nearest: the same reach
    /// a record lookup walks, and a bounded cost on every get_records answer.
    func recordCapableContacts(near target: NodeID, count: Int, families: AddressFamilies) -> [NodeInfo] {
        var found: [NodeInfo] = []
        for contact in routing.closest(to: target, count: count * IterativeLookup.routerWidening, families: families)
        where capabilities.recordSupport(of: contact.endpoint, now: currentTime) == .capable {
            found.append(NodeInfo(id: contact.id, endpoint: contact.endpoint))
            if found.count == count { break }
        }
        return found
    }

    /// The node lists of a `get_records` answer: the asker looks for replicas, so each family's
    /// list holds the k closest contacts that serve keyed records, filled up with the closest
    /// of the others when fewer are known. Plain Mainline nodes name only the nodes closest
    /// overall, and where those are all plain a record lookup would never reach a replica.
    /// Lists that hold no contact known to be plain are left as they are: in a subnet of its
    /// own, where no contact is plain, that costs an answer nothing.
    func addRecordCapableNodes(to body: inout ResponseBody, near target: NodeID, want: AddressFamilies?, requester: Endpoint) {
        addNodes(to: &body, near: target, want: want, requester: requester)
        guard capabilities.plainVerdicts > 0 else { return }
        func preferCapable(_ nodes: [NodeInfo]?, family: AddressFamilies) -> [NodeInfo]? {
            guard let nodes, nodes.contains(where: { capabilities.recordSupport(of: $0.endpoint, now: currentTime) == .plain })
            else { return nodes }
            let capable = recordCapableContacts(near: target, count: settings.k, families: family)
            guard !capable.isEmpty else { return nodes }
            let others = nodes.filter { node in !capable.contains { $0.endpoint == node.endpoint } }
            return Array((capable + others).prefix(settings.k))
        }
        body.nodes = preferCapable(body.nodes, family: .ipv4)
        body.nodes6 = preferCapable(body.nodes6, family: .ipv6)
    }

    /// An answer to `request` arrived (its transaction id proves the source).
    mutating func learnCapabilities(answering request: PendingRequest, message: KRPCMessage, body: ResponseBody, now: Timestamp) {
        let endpoint = request.endpoint
        if message.servesKeyedRecords { capabilities.noteServesRecords(endpoint) }
        switch request.method {
        case .getRecords:
            // Every SubnetDHT answer to get_records carries a token; an answer without one is a
            // node that read the query as a find_node (libtorrent does), and stores nothing.
            if body.token != nil {
                capabilities.noteServesRecords(endpoint)
            } else if !message.servesKeyedRecords {
                capabilities.noteIgnoresRecords(endpoint, now: now)
            }
        case .announceRecord:
            capabilities.noteServesRecords(endpoint)
        case .get, .put:
            capabilities.noteAnsweredBEP44(endpoint)
        default:
            break
        }
    }

    /// An error answered `request`. Returns whether it refused a keyed-record query as an
    /// unknown method (204): such a node is plain, and a lookup may ask it again as a find_node.
    mutating func learnCapabilities(refusal error: KRPCError, of request: PendingRequest, now: Timestamp) -> Bool {
        // 204 is BEP 5's "Method Unknown".
        guard error.code == 204, request.method?.isKeyedRecordQuery == true else { return false }
        capabilities.noteIgnoresRecords(request.endpoint, now: now)
        return capabilities.recordSupport(of: request.endpoint, now: now) == .plain
    }

    /// `request` went unanswered: after its last attempt, or when the lookup that sent it no
    /// longer waited for more (docs/PROTOCOL.md 7.2 counts both as silence).
    mutating func learnCapabilities(silenceTo request: PendingRequest, now: Timestamp) {
        guard request.method?.isKeyedRecordQuery == true else { return }
        statistics.extensionQueriesUnanswered += 1
        capabilities.noteIgnoresRecords(request.endpoint, now: now)
    }
}
