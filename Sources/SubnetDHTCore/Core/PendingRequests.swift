import Collections

/// Why we sent a request: decides what its answer or its timeout feeds.
enum RequestPurpose: Equatable {
    /// A lookup query of operation `id`.
    case lookup(OperationID)
    /// A store (announce_peer / put) of operation `id` to a node found by its lookup.
    case store(OperationID)
    /// A ping the API asked for.
    case userPing(OperationID)
    /// A follow-up `get_records` page (`after`) of operation `id`, after its lookup converged.
    case recordPage(OperationID)
    /// A page of a live view's feed read (docs/PROTOCOL.md 3.2) from a replica of `target`.
    case feedPage(target: NodeID)
    /// A check that a replica holds the heartbeat it acknowledged (`StoreChecks`).
    case storeCheck
    /// A ping that checks a questionable or newly seen contact for the routing table.
    case maintenancePing
}

struct PendingRequest {
    var transactionID: UInt32
    var endpoint: Endpoint
    /// The id we expect to answer, when known (routing-table contacts).
    var expectedID: NodeID?
    var purpose: RequestPurpose
    /// The encoded query, kept so a retry resends the same bytes.
    var message: KRPCMessage
    var attempt: Int
    var deadline: Timestamp
    /// When the first attempt went out: the round trip measured from an answer to it.
    var sentAt: Timestamp

    var method: QueryMethod? {
        guard case .query(let query) = message.body else { return nil }
        return query.method
    }
}

/// Requests in flight, keyed by transaction id, with their deadlines in a heap so that
/// finding the expired ones costs time in proportion to how many expire.
struct PendingRequests {
    private var byID: [UInt32: PendingRequest] = [:]
    private var deadlines = Heap<Deadline>()
    /// Ids are drawn at random, so a node we query cannot predict the ids of our other requests.
    private var idGenerator: SplitMix64

    private struct Deadline: Comparable {
        var time: Timestamp
        var transactionID: UInt32
        static func < (lhs: Deadline, rhs: Deadline) -> Bool { lhs.time < rhs.time }
    }

    init<G: RandomNumberGenerator>(using generator: inout G) {
        idGenerator = SplitMix64(seed: generator.next())
    }

    var count: Int { byID.count }

    /// Draws a free transaction id. Four random bytes: not guessable from earlier ids, and not
    /// reused while a request could still be answered.
    mutating func allocateID() -> UInt32 {
        var id: UInt32
        repeat { id = UInt32(truncatingIfNeeded: idGenerator.next()) } while byID[id] != nil
        return id
    }

    mutating func insert(_ request: PendingRequest) {
        byID[request.transactionID] = request
        deadlines.insert(Deadline(time: request.deadline, transactionID: request.transactionID))
    }

    /// Removes and returns the request answered by `transactionID` from `endpoint`. An answer
    /// from another address is ignored: it would let anyone spoof responses by guessing ids.
    mutating func take(transactionID: [UInt8], from endpoint: Endpoint) -> PendingRequest? {
        guard transactionID.count == 4 else { return nil }
        let id = transactionID.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard let request = byID[id], request.endpoint == endpoint else { return nil }
        byID[id] = nil
        return request
    }

    /// Removes and returns every request whose deadline has passed.
    mutating func takeExpired(now: Timestamp) -> [PendingRequest] {
        var expired = [PendingRequest]()
        while let first = deadlines.min, first.time <= now {
            deadlines.removeMin()
            if let request = byID[first.transactionID], request.deadline == first.time {
                byID[first.transactionID] = nil
                expired.append(request)
            }
        }
        // Answered requests leave stale heap entries; rebuild when they dominate.
        if deadlines.count > 64 && deadlines.count > 4 * byID.count {
            deadlines = Heap(byID.values.map { Deadline(time: $0.deadline, transactionID: $0.transactionID) })
        }
        return expired
    }

    var nextDeadline: Timestamp? { deadlines.min?.time }

    static func encode(_ id: UInt32) -> [UInt8] {
        [UInt8(id >> 24), UInt8(id >> 16 & 0xff), UInt8(id >> 8 & 0xff), UInt8(id & 0xff)]
    }
}
