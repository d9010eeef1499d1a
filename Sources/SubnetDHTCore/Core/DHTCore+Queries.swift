/// Serving incoming queries: the routing table learns of the asker, the responder answers.
extension DHTCore {
    /// Answers one query within `responseLimit` bytes (the amplification limit of the source).
    /// `knownSignature` is the shell's verdict on a signed store's signature, checked ahead.
    mutating func handleQuery(_ query: Query, message: KRPCMessage, from source: Endpoint, knownSignature: SignatureVerdict?,
                              responseLimit: Int, now: Timestamp) {
        let kind = query.method.kind
        statistics.queriesReceived.add(kind)
        // BEP 43: a read-only node asks but never answers.
        guard !settings.readOnly else { return }
        if !message.readOnly, query.senderID != localID, acceptableForRouting(id: query.senderID, endpoint: source) {
            pingCandidate(of: routing.recordQuery(from: query.senderID, at: source, now: now), now: now)
        }
        let reply = responder.answer(query, transactionID: message.transactionID, from: source, knownSignature: knownSignature,
                                     responseLimit: responseLimit, routing: routing, capabilities: capabilities,
                                     contactTime: currentTime, generator: &generator, statistics: &statistics, now: now)
        // `consume` with `sendResponse`'s consuming body: the reply is dead after this, so it is
        // not kept alive beside the message's copy.
        var storedWithToken = false
        switch consume reply {
        case .success(let body):
            statistics.answersSent.add(kind)
            storedWithToken = kind.needsWriteToken
            sendResponse(body, transactionID: message.transactionID, to: source, limit: responseLimit)
        case .failure(let error): sendError(error, transactionID: message.transactionID, to: source, limit: responseLimit)
        }
        if storedWithToken { noteVerifiedByStore(source, now: now) }
        // A heartbeat stored here reaches this node's own view at once, as a replica's change.
        if kind == .announceRecord, membership != nil { readLocalFeeds(now: now) }
    }

    /// A store is accepted only with a write token, which was sent to this IP: the requester
    /// receives there, as one that answered our query does (docs/PROTOCOL.md 1.2). Kept out
    /// of line in the hope of sparing the answering path; it did not: with this call anywhere
    /// in `handleQuery`, every answer costs about 300 instructions more (core_instructions,
    /// Benchmarks/README.md), and the cause is not found.
    @inline(never)
    private mutating func noteVerifiedByStore(_ source: Endpoint, now: Timestamp) {
        amplification.noteVerified(source, now: now)
    }
}
