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
