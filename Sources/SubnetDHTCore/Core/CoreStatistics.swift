/// Counters the core keeps about what it received and sent; read by tests, the CLI and
/// (later) the metrics exporter.
public struct CoreStatistics: Sendable, Equatable {
    public var datagramsReceived = 0
    public var datagramsSent = 0
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

    public init() {}
}
