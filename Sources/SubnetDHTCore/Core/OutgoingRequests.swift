/// Our own queries, from the datagram that asks to the answer, error or timeout that ends
/// them: transaction ids, the header every query carries, padding, resends under the same id,
/// and the round-trip estimate that sets each wait. What a request was for (`RequestPurpose`)
/// is the caller's; this type only keeps it with the request.
struct OutgoingRequests {
    private var pending: PendingRequests
    private var roundTrips: RoundTripEstimator
    private let localID: NodeID
    private let clientVersion: [UInt8]?
    private let readOnly: Bool
    /// Sent only when not 0 (Mainline).
    private let networkID: Int64?
    private let maxResponseSize: Int

    init(localID: NodeID, settings: DHTSettings, using generator: inout SplitMix64) {
        pending = PendingRequests(using: &generator)
        roundTrips = RoundTripEstimator(floor: settings.minimumRequestTimeout, ceiling: settings.requestTimeout)
        self.localID = localID
        clientVersion = settings.clientVersion
        readOnly = settings.readOnly
        networkID = settings.networkID == 0 ? nil : settings.networkID
        maxResponseSize = settings.maxResponseSize
    }

    /// Requests awaiting an answer or their timeout.
    var count: Int { pending.count }
    /// When the earliest request times out.
    var nextDeadline: Timestamp? { pending.nextDeadline }

    /// The datagram that asks `method` of `endpoint`; the request is kept until answered or
    /// timed out.
    mutating func query(_ method: QueryMethod, to endpoint: Endpoint, expectedID: NodeID?, purpose: RequestPurpose,
                        now: Timestamp) -> [UInt8] {
        let transactionID = pending.allocateID()
        let unpadded = KRPCMessage(
            transactionID: PendingRequests.encode(transactionID),
            body: .query(Query(senderID: localID, method: method)),
            clientVersion: clientVersion,
            readOnly: readOnly,
            networkID: networkID)
        let message = Self.padded(unpadded, for: method, maxResponseSize: maxResponseSize)
        pending.insert(PendingRequest(transactionID: transactionID, endpoint: endpoint, expectedID: expectedID,
                                      purpose: purpose, message: message, attempt: 1,
                                      deadline: now + roundTrips.timeout(attempt: 1), sentAt: now))
        return KRPCCodec.encode(message)
    }

    /// The request `transactionID` from `source` answers (an answer or an error), no longer
    /// pending; nil when it answers none of ours (late, spoofed or duplicated). An answer to a
    /// first attempt teaches the round-trip estimate.
    mutating func answered(transactionID: [UInt8], from source: Endpoint, now: Timestamp, learnRoundTrip: Bool) -> PendingRequest? {
        guard let request = pending.take(transactionID: transactionID, from: source) else { return nil }
        if learnRoundTrip, request.attempt == 1 { roundTrips.observe(now - request.sentAt) }
        return request
    }

    /// Every request whose wait has passed, no longer pending.
    mutating func takeExpired(now: Timestamp) -> [PendingRequest] {
        pending.takeExpired(now: now)
    }

    /// The datagram that sends a timed-out request again under the same transaction id, so a
    /// late answer to the first send still counts instead of arriving unmatched. Each attempt
    /// waits twice as long as the one before.
    mutating func resend(_ request: PendingRequest, now: Timestamp) -> [UInt8] {
        var retry = request
        retry.attempt += 1
        retry.deadline = now + roundTrips.timeout(attempt: retry.attempt)
        pending.insert(retry)
        return KRPCCodec.encode(retry.message)
    }

    /// Pads the queries whose answer can be large (a BEP 44 item, a page of records) to a
    /// quarter of the response budget, so that a node that has not verified us yet may still
    /// answer them in full under its amplification limit.
    static func padded(_ message: KRPCMessage, for method: QueryMethod, maxResponseSize: Int) -> KRPCMessage {
        switch method {
        case .get: break
        // A token-only lookup asks for no records: its answer fits without padding.
        case .getRecords(_, let after, _) where after != QueryMethod.tokenOnlyCursor: break
        // A poll from a cursor is answered with the few changes since it, which fit four times
        // its size; padding every poll made the polls most of what a replica receives. Full
        // reads and the pages after the first are padded; a summary-only spot check is not.
        case .getRecordChanges(_, let since, let after) where after.map { $0 != QueryMethod.tokenOnlyCursor } ?? since.isEmpty: break
        default: return message
        }
        let wanted = AmplificationLimit.paddedQuerySize(maxResponseSize: maxResponseSize)
        let size = KRPCCodec.encode(message).count
        guard size < wanted else { return message }
        // The entry adds `3:pad` (5 bytes), `<n>:` and n bytes: found by arithmetic, so a
        // query is encoded once here and once to send, not once per candidate length.
        func entrySize(_ length: Int) -> Int { 5 + Bencode.decimalLength(Int64(length)) + 1 + length }
        var length = max(wanted - size - entrySize(0), 1)
        while size + entrySize(length) < wanted { length += 1 }
        while length > 1, size + entrySize(length - 1) >= wanted { length -= 1 }
        var padded = message
        padded.padding = length
        return padded
    }
}
