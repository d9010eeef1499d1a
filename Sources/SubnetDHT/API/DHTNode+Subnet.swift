import SubnetDHTCore
/// The subnet layer of the public API: heartbeats, the live view, snapshots.
extension DHTNode {
    /// Starts publishing `info` every interval (and at once). Throws on settings that cannot work.
    ///
    /// Each heartbeat is a keyed record under `settings.key`, signed with the node's key and
    /// valid for `settings.ttl`; a failed publish is retried with backoff. Starting a
    /// heartbeat also starts the live view of the same key (``watchMembership(key:)``), read
    /// every `settings.pruneInterval`, which ``livePeers()`` and ``membershipEvents()`` report.
    ///
    /// - Parameters:
    ///   - info: What the node says about itself; usually `state` `.joining`, then `.online`
    ///     through ``updateHeartbeat(_:)`` once it has joined.
    ///   - settings: Key, interval, TTL and prune interval.
    /// - Throws: `HeartbeatSettingsError` when `settings` fail `HeartbeatSettings.validate()`.
    public func startHeartbeat(_ info: ServerInfo, settings: HeartbeatSettings = HeartbeatSettings()) async throws {
        try settings.validate()
        let key = signingKey
        try await shell.withCore { core, now in core.startHeartbeat(info, settings: settings, signingKey: key, now: now) }
    }

    /// Publishes `info` at once if it changed (a state change, a new throughput figure).
    ///
    /// Later heartbeats carry `info`. Without a running heartbeat this does nothing.
    public func updateHeartbeat(_ info: ServerInfo) async throws {
        try await shell.withCore { core, now in core.updateHeartbeat(info, now: now) }
    }

    /// Enforces `policies` from now on, on stores and on the live view (a subnet's writers
    /// changed); live peers they refuse leave the view at once.
    public func replaceKeyPolicies(_ policies: KeyPolicies) async throws {
        try await shell.withCore { core, now in core.replaceKeyPolicies(policies, now: now) }
    }

    /// The policy this node enforces for `key` now: the registered one, the open-key policy
    /// when open keys are on, or nil when it refuses the key.
    public func keyPolicy(for key: String) async throws -> KeyPolicy? {
        try await shell.withCore { core, _ in core.settings.keyPolicies.policy(for: Array(key.utf8)) }
    }

    /// Stops heartbeating and announces `final` (normally OFFLINE), waiting for the replicas'
    /// answers. Nil when no heartbeat was running.
    public func stopHeartbeat(final info: ServerInfo) async throws -> StoreResult? {
        switch try await shell.performIfStarted({ core, now in core.stopHeartbeat(final: info, now: now) }) {
        case nil: return nil
        case .store(let result)?: return result
        default: throw DHTNodeError.unexpectedResult
        }
    }

    /// Keeps a live view of `key` (refreshed every prune interval) without publishing.
    ///
    /// For a node that only watches a subnet. The view is read from the network, so it is
    /// empty until the first read after joining has come back.
    public func watchMembership(key: String = "node") async throws {
        try await shell.withCore { core, now in core.watchMembership(key: key, now: now) }
    }

    /// The peers whose newest heartbeat is unexpired and not OFFLINE, from the live view.
    ///
    /// Answered from memory, without a network round trip, in ascending order of owner key;
    /// the node's own heartbeat is there too once a read has seen it. Empty while no
    /// heartbeat or ``watchMembership(key:)`` runs. ``records(key:)`` reads a key afresh.
    public func livePeers() async throws -> [Peer] {
        try await shell.withCore { core, now in core.livePeers(now: now) }
    }

    /// Peers that said OFFLINE and whose record has not expired yet.
    public func departedPeers() async throws -> [Peer] {
        try await shell.withCore { core, now in core.departedPeers(now: now) }
    }

    /// The node's own heartbeat: the info it publishes, the last success, counts of
    /// published and failed heartbeats. Nil when no heartbeat runs.
    public func heartbeatStatus() async throws -> HeartbeatStatus? {
        try await shell.withCore { core, _ in core.heartbeatStatus }
    }

    /// Joined / state changed / left / expired, as the live view sees them. Each call gives a
    /// new stream; it ends when the node shuts down.
    public func membershipEvents() -> AsyncStream<MembershipEvent> {
        eventHub.subscribe { event in
            if case .membership(let change) = event { change } else { nil }
        }
    }

    /// The routing table's contacts and the records held for others.
    ///
    /// Write it with `SnapshotFile.write(_:to:)` and give it to ``restore(_:)`` on the next
    /// start, so a restarted node knows its network at once.
    public func snapshot() async throws -> NodeSnapshot {
        try await shell.withCore { core, now in core.exportSnapshot(now: now) }
    }

    /// Restores a snapshot: records back into storage (verified), contacts pinged.
    ///
    /// - Returns: The number of records taken back; expired or invalid ones are left out.
    @discardableResult
    public func restore(_ snapshot: NodeSnapshot) async throws -> Int {
        try await shell.withCore { core, now in core.importSnapshot(snapshot, now: now) }
    }
}
