#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import ServiceLifecycle
import SubnetDHTCore

/// One subnet member's whole life as a swift-service-lifecycle `Service`: start the DHT node
/// (restoring a snapshot if there is one), join through the seeds, publish JOINING and then
/// ONLINE, heartbeat until graceful shutdown, then publish OFFLINE, wait (bounded) for the
/// replicas' answers, save a snapshot and stop.
///
/// Run it in a `ServiceGroup`, which calls ``run()`` and turns SIGTERM or SIGINT into a
/// graceful shutdown; cancelling the task that runs ``run()`` also ends it, through the same
/// OFFLINE, snapshot and stop. While it runs, ``node`` is the ``DHTNode`` for everything
/// else (``DHTNode/livePeers()``, ``DHTNode/records(key:)``, ``DHTNode/announce(key:value:ttl:seq:)``).
/// One instance runs once: make a new one to start again.
public final class SubnetPeer: Service, Sendable {
    /// Everything a subnet member needs: its node, whom to join through, what its heartbeat
    /// says, where it keeps state and whether it serves HTTP. Only `node` has no default.
    public struct Configuration: Sendable {
        /// The DHT node to start: address, port, identity and settings.
        public var node: DHTNode.Configuration
        /// Members to join through. Empty starts a new subnet (the first member, which
        /// others bootstrap from); otherwise the join is retried, 1 s doubling to 30 s,
        /// until one answers.
        public var bootstrap: [Endpoint] = []
        /// The heartbeat's `role`. Replicas refuse heartbeats whose role their `node` key
        /// policy does not allow (`ServerInfo.defaultRoles` unless the subnet sets others).
        public var role = "worker"
        /// The heartbeat's optional public `name`, at most 64 bytes.
        public var name: String?
        /// The subnet's own fields the heartbeat publishes in `info` (docs/PROTOCOL.md 4).
        public var info: [String: JSONValue] = [:]
        /// The software version the heartbeat publishes in `ver`.
        public var version = SubnetDHTVersion.current
        /// The policy file the node's key policies came from (`run --policy`): it and the
        /// writers files it names are read again every `policyCheckInterval`, and a change is
        /// enforced at once. Unreadable or invalid, the last good policies stay (logged).
        public var policyFile: String?
        public var policyCheckInterval: Duration = .seconds(1)
        /// Nil runs without heartbeats (a passive member that still keeps a live view).
        public var heartbeat: HeartbeatSettings? = HeartbeatSettings()
        /// Where snapshots of routing table and records go; nil keeps no state.
        public var stateDirectory: String?
        /// Time between snapshots while running (one more is saved at shutdown); used only
        /// with a `stateDirectory`.
        public var snapshotInterval: Duration = .seconds(60)
        /// The address the HTTP port binds; loopback by default, so the page and metrics are
        /// not exposed unless asked for.
        public var httpHost = "127.0.0.1"
        /// The node's HTTP port: the subnet's status page (`/`, `/peers.json`,
        /// `/records/KEY.json`), `/metrics`, `/health` and the control API (`PUT /self`,
        /// `POST /records/KEY`, `GET /events`); nil serves none.
        public var httpPort: Int?
        /// The bearer token the control API's writes need (`ControlTokenFile.loadOrCreate(at:)`);
        /// nil refuses every write (403). Reads need none.
        public var controlToken: String?
        /// systemd's notification socket (`SystemdNotifier(environment:)`): READY=1 once ONLINE,
        /// STATUS= lines, STOPPING=1, and WATCHDOG=1 while healthy. Nil sends nothing.
        public var systemd: SystemdNotifier?
        /// How long shutdown waits for the OFFLINE announce to be acknowledged.
        public var offlineTimeout: Duration = .seconds(5)
        /// The status page's poll interval and bounds on its `/records/KEY.json` reads.
        public var statusPage = StatusPage.Settings()
        /// How often the node is read for the HTTP port (counters for `/metrics` and `/health`,
        /// heartbeat ages for the page; membership changes come as events), and how much
        /// history the page keeps.
        public var statusRecorder = SubnetStatusRecorder.Settings()

        /// A configuration for `node` with every other field at its default: a heartbeat
        /// under `node` every 30 s as a `worker`, no seeds, no state directory, no HTTP port.
        public init(node: DHTNode.Configuration) { self.node = node }
    }

    /// The configuration the peer was made with.
    public let configuration: Configuration
    private let logger: Logger
    private let onStarted: @Sendable (DHTNode, Int?) -> Void
    private let state = NIOLockedValueBox(RunState())

    /// What a running peer keeps: its node, what its heartbeat says, and whether heartbeats
    /// have started (before, a change waits for the first ONLINE to carry it).
    private struct RunState: Sendable {
        var node: DHTNode?
        var info: ServerInfo?
        var heartbeating = false
        /// Shutdown has begun: OFFLINE is the last word, and changes are refused.
        var leaving = false
    }

    /// `onStarted` runs once the socket is bound (and the HTTP server, if any), before joining.
    ///
    /// Nothing starts here; ``run()`` does.
    ///
    /// - Parameters:
    ///   - configuration: The node, seeds, heartbeat, state directory and HTTP port.
    ///   - logger: Where joins, retries, snapshots and the OFFLINE announce are logged.
    ///   - onStarted: Called with the running node and the HTTP port actually bound (nil
    ///     without one): the place to learn a port the system chose.
    /// - Throws: `HeartbeatSettingsError` when `configuration.heartbeat` cannot work.
    public init(_ configuration: Configuration, logger: Logger = Logger(label: "subnet-dht"),
                onStarted: @escaping @Sendable (DHTNode, Int?) -> Void = { _, _ in }) throws {
        try configuration.heartbeat?.validate()
        self.configuration = configuration
        self.logger = logger
        self.onStarted = onStarted
    }

    /// The running node, once started.
    public var node: DHTNode? { state.withLockedValue { $0.node } }

    /// Runs the member until graceful shutdown or cancellation, then leaves: OFFLINE
    /// published (waiting at most `offlineTimeout` for the replicas), a last snapshot saved,
    /// the HTTP server and the node stopped.
    ///
    /// Returns once all that is done. A seed that never answers does not make it fail: the
    /// join is retried until shutdown.
    ///
    /// - Throws: `DHTNodeError.bindFailed(_:)` when the DHT socket cannot be bound, or the
    ///   HTTP server's error when its port cannot be.
    public func run() async throws {
        let node = try await DHTNode.start(configuration.node)
        var info = ServerInfo(state: .joining, role: configuration.role, throughput: 0, address: node.localEndpoint,
                              name: configuration.name, version: configuration.version, info: configuration.info)
        info.throughputReported = false  // until the application reports one (`update(_:)`)
        state.withLockedValue { $0 = RunState(node: node, info: info) }
        restoreSnapshot(into: node)
        let http: HTTPServing?
        do {
            http = try await startHTTP(for: node)
        } catch {
            // The node is up already: stopped here, or its socket would outlive the failed run.
            state.withLockedValue { $0 = RunState() }
            await node.shutdown()
            throw error
        }
        onStarted(node, http?.server.port)

        let lifecycle = MemberLifecycle(seeds: configuration.bootstrap, heartbeat: configuration.heartbeat, logger: logger,
                                        sleep: { try? await Task.sleep(for: $0) })
        let joining = info
        let policyWatch = Task { await self.watchPolicy(of: node) }
        defer { policyWatch.cancel() }
        let systemd = configuration.systemd.map {
            SystemdReporter(notifier: $0, heartbeatTTL: configuration.heartbeat?.ttl, logger: logger)
        }
        let reporting = Task { [state] in
            await systemd?.run(node: node, state: { state.withLockedValue { $0.info?.state } })
        }
        defer { reporting.cancel() }
        let work = Task {
            let online = await lifecycle.enter(node, as: joining) { online in
                self.state.withLockedValue { state in
                    // What `update(_:)` changed while joining goes online with it.
                    var latest = state.info ?? online
                    if latest.state == .joining { latest.state = .online }
                    state.info = latest
                    state.heartbeating = true
                }
            }
            guard let online else { return }
            // The lifecycle published the info it joined with; a change made since goes now.
            if let latest = self.state.withLockedValue({ $0.info }), latest != online { try? await node.updateHeartbeat(latest) }
            if let systemd, let status = try? await node.status() {
                systemd.ready(SystemdReporter.statusLine(state: self.state.withLockedValue { $0.info?.state }, status))
            }
            await self.saveSnapshots(of: node)
        }
        // Serve until SIGTERM/SIGINT (through the ServiceGroup) or cancellation.
        try? await gracefulShutdown()
        state.withLockedValue { $0.leaving = true }
        systemd?.stopping()
        work.cancel()
        // The heartbeat must not start after the OFFLINE below; a join still waiting on its
        // lookup ends within the request timeouts, and the wait is bounded anyway.
        _ = await withTimeout(.seconds(8)) { await work.value }

        if configuration.heartbeat != nil {
            info = state.withLockedValue { $0.info } ?? info
            info.state = .offline
            state.withLockedValue { $0.info = info }
            let last = info
            let accepted = await withTimeout(configuration.offlineTimeout) { await lifecycle.leave(node, last: last) }
            logger.info("published OFFLINE", metadata: ["acknowledged_by": "\((accepted ?? nil) ?? 0)"])
        }
        await saveSnapshot(of: node)
        await http?.stop()
        await node.shutdown()
    }

    /// The current ServerInfo, as last published or about to be.
    public var info: ServerInfo? { state.withLockedValue { $0.info } }

    /// Changes what the heartbeat says and publishes it at once (`PUT /self`): the new info,
    /// or why not. A change the node's own policy for the heartbeat key would refuse, or one
    /// that would not fit a record's value, is refused here and nothing is published. While
    /// the node joins, the change waits for the first ONLINE heartbeat.
    public func update(_ change: SelfUpdate) async throws(SelfUpdateError) -> ServerInfo {
        try change.check()
        guard let heartbeat = configuration.heartbeat else { throw .noHeartbeat }
        guard let node = state.withLockedValue({ $0.node }) else { throw .notRunning }
        let policy: KeyPolicy?
        do {
            policy = try await node.keyPolicy(for: heartbeat.key)
        } catch {
            throw .notRunning
        }
        let outcome = state.withLockedValue { state -> Result<(info: ServerInfo, publish: Bool), SelfUpdateError> in
            guard let current = state.info, !state.leaving else { return .failure(.notRunning) }
            let changed = change.applied(to: current)
            if let refusal = Self.refusal(of: changed, owner: node.publicKey, under: heartbeat.key, policy: policy) {
                return .failure(refusal)
            }
            state.info = changed
            return .success((changed, state.heartbeating))
        }
        let (changed, publish) = try outcome.get()
        if publish { try? await node.updateHeartbeat(changed) }
        return changed
    }

    /// Why replicas would refuse `info` as `owner`'s heartbeat under `key`, or nil.
    private static func refusal(of info: ServerInfo, owner: PublicKey, under key: String, policy: KeyPolicy?) -> SelfUpdateError? {
        let size = info.largestValueSize, limit = StorageSettings().maxValueSize
        guard size <= limit else {
            return .refused("the heartbeat would be up to \(size) bytes, over the \(limit)-byte limit of a record's value: "
                            + "drop or shorten info fields", code: 205)
        }
        guard let policy else { return .refused("this node's policy refuses the key \(key)", code: 209) }
        return policy.refusal(owner: owner, value: info.bencoded).map { .refused("the policy for \(key) refuses it: \($0)", code: 209) }
    }

    // MARK: - Parts

    private func restoreSnapshot(into node: DHTNode) {
        guard let directory = configuration.stateDirectory else { return }
        do {
            guard let loaded = try SnapshotFile.read(from: directory) else { return }
            let snapshot = loaded.snapshot
            Task {
                let restored = (try? await node.restore(snapshot)) ?? 0
                logger.info("restored snapshot", metadata: ["records": "\(restored)", "contacts": "\(snapshot.contacts.count)"])
            }
        } catch {
            // A bad snapshot costs a slower start, never the start itself.
            logger.error("ignoring unreadable snapshot", metadata: ["directory": "\(directory)", "error": "\(error)"])
        }
    }

    /// Reads the policy file and its writers files again every check interval; enforces the
    /// policies anew when any of them changed.
    private func watchPolicy(of node: DHTNode) async {
        guard let path = configuration.policyFile else { return }
        let started = configuration.node.settings.keyPolicies
        var files = (try? PolicyFile.load(path: path)).map { Self.policyFiles(path, naming: $0) } ?? [path]
        var seen = Self.contents(of: files)
        var lastError: String?
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.policyCheckInterval)
            let now = Self.contents(of: files)
            guard now != seen else { continue }
            do {
                let file = try PolicyFile.load(path: path)
                var loaded = file.policies
                // What the command line set stays: open keys, and each key's shard depth.
                loaded.openKeys = loaded.openKeys || started.openKeys
                for (key, policy) in loaded.byKey {
                    loaded.byKey[key]?.shardDepth = started.byKey[key]?.shardDepth ?? policy.shardDepth
                }
                try await node.replaceKeyPolicies(loaded)
                // The bytes that prompted this load count as seen (a write during it is seen
                // next round); files named anew are read now.
                let named = Self.policyFiles(path, naming: file)
                seen = named == files ? now : Self.contents(of: named)
                files = named
                lastError = nil
                logger.info("policy reloaded", metadata: ["file": "\(path)"])
            } catch {
                // Keep the last good policies; say so once per distinct error.
                let text = "\(error)"
                if text != lastError { logger.error("policy not reloaded, the last good one stays", metadata: ["error": "\(text)"]) }
                lastError = text
                seen = now
            }
        }
    }

    /// The policy file at `path` and the writers files `file`, loaded from it, names.
    private static func policyFiles(_ path: String, naming file: PolicyFile) -> [String] {
        [path] + file.writersFiles.values.sorted()
    }

    private static func contents(of files: [String]) -> [[UInt8]?] {
        files.map { try? Array(Data(contentsOf: URL(fileURLWithPath: $0))) }
    }

    private func saveSnapshots(of node: DHTNode) async {
        guard configuration.stateDirectory != nil else { return }
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.snapshotInterval)
            if Task.isCancelled { return }
            await saveSnapshot(of: node)
        }
    }

    private func saveSnapshot(of node: DHTNode) async {
        guard let directory = configuration.stateDirectory, let snapshot = try? await node.snapshot() else { return }
        do {
            try SnapshotFile.write(snapshot, to: directory)
        } catch {
            logger.error("could not save snapshot", metadata: ["directory": "\(directory)", "error": "\(error)"])
        }
    }

    /// The HTTP server and the tasks that keep what it serves current.
    private struct HTTPServing {
        let server: NodeHTTPServer
        let following: [Task<Void, Never>]

        func stop() async {
            for task in following { task.cancel() }
            await server.stop()
        }
    }

    private func startHTTP(for node: DHTNode) async throws -> HTTPServing? {
        guard let port = configuration.httpPort else { return nil }
        let metrics = NodeMetrics()
        let ttl = configuration.heartbeat.map { Int($0.ttl.components.seconds) }
        let recorder = SubnetStatusRecorder(key: configuration.heartbeat?.key ?? "node", owner: node.publicKey,
                                            settings: configuration.statusRecorder, info: { [state] in state.withLockedValue { $0.info } })
        // One follower of the node for the whole port: the page, /metrics and /health read
        // what it keeps, so no request waits on the node's event loop.
        let feed = NodeStatusFeed(node: node, recorder: recorder, metrics: metrics,
                                  refreshInterval: configuration.statusRecorder.refreshInterval)
        // The control API's event stream: subscribed now, so it misses nothing from the join on.
        let journal = EventJournal(), changes = node.membershipEvents()
        let following = [Task { await feed.run() }, Task { for await change in changes { journal.record(change) } }]
        let control = ControlAPI(token: configuration.controlToken, journal: journal, owner: node.publicKey,
                                 updateSelf: { change throws(SelfUpdateError) in try await self.update(change) },
                                 keyPolicy: { key in try await node.keyPolicy(for: key) },
                                 announce: { key, value, ttl in try await node.announce(key: key, value: value, ttl: ttl) })
        let statusPage = StatusPage(recorder: recorder, node: node, settings: configuration.statusPage)
        let server = NodeHTTPServer(host: configuration.httpHost, port: port, settings: NodeHTTPServer.Settings(), group: MultiThreadedEventLoopGroup.singleton,
                                    clock: { SystemClock.now() }, metrics: {
            metrics.render()
        }, health: { [state] in
            let status = feed.status
            let label = state.withLockedValue { $0.info?.state.label } ?? "stopped"
            return HealthReport(state: label, lastHeartbeat: status?.lastHeartbeat, routingTableSize: status?.routingTableSize ?? 0,
                                livePeers: status?.livePeers ?? 0, heartbeatTTLSeconds: ttl)
        }, pages: [statusPage, control])
        do {
            try await server.start()
        } catch {
            for task in following { task.cancel() }
            throw error
        }
        return HTTPServing(server: server, following: following)
    }
}

/// Runs `body`, giving up after `limit` (returning nil). A truly bounded wait: a task group
/// would wait for a body that ignores cancellation; here the body runs on, unawaited.
func withTimeout<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async -> T) async -> T? {
    let pending = NIOLockedValueBox<CheckedContinuation<T?, Never>?>(nil)
    let finish: @Sendable (T?) -> Void = { value in
        pending.withLockedValue { continuation in
            continuation?.resume(returning: value)
            continuation = nil
        }
    }
    return await withCheckedContinuation { continuation in
        pending.withLockedValue { $0 = continuation }
        let timer = Task {
            // Only a sleep that ran its course times out: cancelled (the body finished), the
            // sleep throws, and a `try?` here once let a nil overtake the body's value, so a
            // quick answer came back as a timeout.
            guard (try? await Task.sleep(for: limit)) != nil else { return }
            finish(nil)
        }
        Task {
            let value = await body()
            finish(value)
            timer.cancel()
        }
    }
}
