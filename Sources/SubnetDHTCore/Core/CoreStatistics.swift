/// Counters the core keeps about what it received and sent; read by tests, the CLI and
/// the metrics exporter (`NodeMetrics`).
public struct CoreStatistics: Sendable, Equatable {
    public var datagramsReceived = 0
    public var datagramsSent = 0
    /// UDP payload bytes of every datagram received, counted before any check drops it.
    public var bytesReceived = 0
    /// UDP payload bytes of every datagram the core sent (every `.send` effect), as
    /// `datagramsSent` counts them: one the shell then cannot deliver is still counted.
    public var bytesSent = 0
    /// Not valid bencode or KRPC.
    public var malformedDropped = 0
    /// Larger than `KRPCCodec.maxDatagramSize`.
    public var oversizedDropped = 0
    /// Carrying another network id (docs/PROTOCOL.md 6).
    public var wrongNetworkDropped = 0
    /// Responses that match no request of ours (late, spoofed or duplicated).
    public var unmatchedResponses = 0
    public var queriesAnswered = 0
    public var errorsSent = 0
    /// Queries of our network admitted under the rate limit, by method: the ones answered,
    /// refused with an error or (on a read-only node) ignored. Malformed and rate-limited
    /// queries are counted by `malformedDropped` and `rateLimited` instead.
    public var queriesReceived = CountsByKind<QueryKind>()
    /// Answers sent, by the method of the query answered; they add up to `queriesAnswered`.
    public var answersSent = CountsByKind<QueryKind>()
    /// Error replies sent, by code; they add up to `errorsSent`.
    public var errorsSentByCode = CountsByKind<SentErrorCode>()
    public var timeouts = 0
    /// Queries dropped unanswered because their source went over its rate limit.
    public var rateLimited = 0
    /// Answers cut down to the amplification limit of a requester not yet verified.
    public var responsesTrimmed = 0
    /// `get_records` pages answered from the page cache, their records unchanged since built.
    public var recordPagesReused = 0
    /// Keyed-record queries of ours that no attempt got an answer to: mostly plain Mainline
    /// nodes, which may ignore methods they do not know, before they are known to be plain.
    public var extensionQueriesUnanswered = 0
    /// Feed reads of the live view (docs/PROTOCOL.md 3.2) completed: changes since a cursor,
    /// and full reads (a first read, or a cursor the replica could no longer answer).
    public var feedChangeReads = 0
    public var feedFullReads = 0
    /// Records and removals those reads carried: what the live view costs beyond its polls.
    public var feedRecordsReceived = 0
    public var feedRemovalsReceived = 0
    /// Summary-only asks of replicas a view does not follow (docs/PROTOCOL.md 3.2).
    public var feedSpotChecks = 0
    /// Replicas noticed lacking owners the other replicas a view follows hold, for several
    /// reads in a row (docs/PROTOCOL.md 3.2), and those replaced for doing so again after a full
    /// read; both also count a replica caught reading without the node's own heartbeat, which it
    /// acknowledged (then routed around for a while).
    public var replicaDisagreements = 0
    public var replicasAvoided = 0

    public init() {}
}

/// One count per case of `Kind`, kept inline in slots indexed by the case's raw value (the
/// cases of an `Int` enum without explicit raw values number 0, 1, 2, ...). Counting happens
/// on every query, so it must cost no hashing, and no copy-on-write check as an array's would;
/// a closed set of cases keeps what a peer can make the node count (and export) bounded,
/// whatever method names it sends.
public struct CountsByKind<Kind: CaseIterable & RawRepresentable<Int> & Sendable>: Sendable, Equatable {
    private typealias Slots = (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int)
    private static var capacity: Int { MemoryLayout<Slots>.size / MemoryLayout<Int>.stride }
    private var slots: Slots = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    public init() {
        precondition(Kind.allCases.allSatisfy { (0..<Self.capacity).contains($0.rawValue) },
                     "\(Kind.self) needs raw values 0 to \(Self.capacity - 1)")
    }

    public subscript(kind: Kind) -> Int {
        withUnsafeBytes(of: slots) { $0.load(fromByteOffset: kind.rawValue * MemoryLayout<Int>.stride, as: Int.self) }
    }

    /// Adds `amount` to the count of `kind`, in place: a read and a write through a settable
    /// subscript copied the slots out and back on every query.
    public mutating func add(_ kind: Kind, _ amount: Int = 1) {
        withUnsafeMutableBytes(of: &slots) { slots in
            let offset = kind.rawValue * MemoryLayout<Int>.stride
            slots.storeBytes(of: slots.load(fromByteOffset: offset, as: Int.self) &+ amount, toByteOffset: offset, as: Int.self)
        }
    }

    /// The sum over every kind.
    public var total: Int { Kind.allCases.reduce(0) { $0 + self[$1] } }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        Kind.allCases.allSatisfy { lhs[$0] == rhs[$0] }
    }
}

/// The code of an error reply, for counting: the codes the node sends (docs/PROTOCOL.md 1),
/// and any other as `other`.
public enum SentErrorCode: Int, CaseIterable, Sendable {
    case generic201, server202, protocol203, methodUnknown204, valueTooBig205, invalidSignature206,
        tooLong207, expiry208, policy209, casMismatch301, sequenceNotNewer302, other

    public init(code: Int) {
        switch code {
        case 201...209: self = Self(rawValue: code - 201)!
        case 301: self = .casMismatch301
        case 302: self = .sequenceNotNewer302
        default: self = .other
        }
    }

    /// The code as a label: `"203"`, or `"other"`.
    public var label: String {
        switch self {
        case .casMismatch301: "301"
        case .sequenceNotNewer302: "302"
        case .other: "other"
        default: String(201 + rawValue)
        }
    }
}
