import Logging
import SubnetDHTCore

/// What a subnet member's life asks of its node. `DHTNode` serves it on a socket; the tests
/// serve it with a core of an `InMemoryNetwork`, so the life runs on the virtual clock.
protocol SubnetMemberNode: Sendable {
    func bootstrap(from endpoints: [Endpoint]) async throws -> LookupResult
    func startHeartbeat(_ info: ServerInfo, settings: HeartbeatSettings) async throws
    func updateHeartbeat(_ info: ServerInfo) async throws
    func stopHeartbeat(final info: ServerInfo) async throws -> StoreResult?
    func watchMembership(key: String) async throws
}

extension DHTNode: SubnetMemberNode {}

/// A subnet member's states in order, apart from sockets, files and HTTP: join through the
/// seeds (retrying with backoff while none answers), heartbeat JOINING and at once ONLINE,
/// and at the end OFFLINE. `SubnetPeer` runs it with `Task.sleep`; a test runs it with the
/// virtual clock's.
struct MemberLifecycle: Sendable {
    /// Members to join through; none starts a new subnet.
    let seeds: [Endpoint]
    /// Nil runs without heartbeats: the member only keeps a live view of `node`.
    let heartbeat: HeartbeatSettings?
    let logger: Logger
    /// Waits between join attempts.
    let sleep: @Sendable (Duration) async -> Void

    static let firstRetryDelay: Duration = .seconds(1)
    static let longestRetryDelay: Duration = .seconds(30)

    /// Joins, then publishes `joining` and at once the same info ONLINE, handing that info to
    /// `goingOnline` just before; returns it, or nil when the task was cancelled before it
    /// joined. The join comes first: a JOINING heartbeat sent before any peer is known could
    /// reach no one.
    func enter(_ node: some SubnetMemberNode, as joining: ServerInfo,
               goingOnline: (ServerInfo) -> Void = { _ in }) async -> ServerInfo? {
        await join(node)
        guard !Task.isCancelled else { return nil }
        if let heartbeat {
            try? await node.startHeartbeat(joining, settings: heartbeat)
        } else {
            try? await node.watchMembership(key: "node")
        }
        var online = joining
        online.state = .online
        goingOnline(online)
        try? await node.updateHeartbeat(online)
        return online
    }

    /// Joins through the seeds, retrying (1 s doubling to 30 s) while none answers.
    func join(_ node: some SubnetMemberNode) async {
        guard !seeds.isEmpty else { return }
        var delay = Self.firstRetryDelay
        while !Task.isCancelled {
            if let result = try? await node.bootstrap(from: seeds), result.responses > 0 {
                logger.info("joined", metadata: ["closest": "\(result.closest.count)", "rounds": "\(result.rounds)"])
                return
            }
            logger.warning("no answer from the bootstrap nodes; retrying", metadata: ["in": "\(delay)"])
            await sleep(delay)
            delay = min(delay * 2, Self.longestRetryDelay)
        }
    }

    /// Publishes `info` as OFFLINE and waits for the replicas' answers; returns how many
    /// acknowledged it, nil without a heartbeat. The caller bounds the wait.
    func leave(_ node: some SubnetMemberNode, last info: ServerInfo) async -> Int? {
        guard heartbeat != nil else { return nil }
        var offline = info
        offline.state = .offline
        let stored = try? await node.stopHeartbeat(final: offline)
        return (stored ?? nil)?.accepted.count ?? 0
    }
}
