import NIOCore
import NIOPosix
import SubnetDHTCore

/// A Mainline DHT node on a real UDP socket: the public, `async` face of SubnetDHT.
///
///     let node = try await DHTNode.start(DHTNode.Configuration(host: "127.0.0.1", port: 6881))
///     try await node.bootstrap(from: [peer])
///     let item = try await node.getMutable(publicKey: key)
///
/// A node serves the Mainline DHT (BEP 5 peers, BEP 44 items) and SubnetDHT's keyed
/// records to everyone who asks, and offers the same operations to its owner as `async`
/// methods: each starts an iterative lookup or store on the node's event loop and returns
/// once it finished. The subnet layer (heartbeats, the live view of a key, snapshots) is in
/// an extension. Every method is safe to call from any task; the node's state lives on one
/// NIO event loop. Call ``shutdown()`` when done: the socket stays open until then.
public final class DHTNode: Sendable {
    /// What ``DHTNode/start(_:group:)`` needs: where to listen, who the node is, and the
    /// limits it runs under. Every field has a default, so `Configuration(port: 6881)` runs a
    /// node with a fresh identity on 127.0.0.1.
    public struct Configuration: Sendable {
        /// The address to bind, IPv4 or IPv6 text (`"0.0.0.0"` for every interface). A
        /// loopback host also picks `DHTSettings.loopbackTestNetwork` unless settings are given.
        public var host: String
        /// The UDP port; 0 lets the system choose one (read it back from ``DHTNode/localEndpoint``).
        public var port: Int
        /// The node's long-lived identity; its public key names the node's records.
        public var signingKey: SigningKey
        /// Overrides the default id, SHA1 of the public key.
        public var nodeID: NodeID?
        /// Every limit and interval of the core: k, timeouts, storage bounds, rate limits and
        /// the key policies that decide which keyed records the node accepts.
        public var settings: DHTSettings
        /// Threads that check the signatures of incoming stores before the event loop sees
        /// them (`SignaturePrecheck`); nil checks them on the loop. By default NIO's shared
        /// pool (a thread per core), and none on one core, where the hops would only cost.
        public var signatureCheckPool: NIOThreadPool?
        /// The socket's receive buffer (SO_RCVBUF) in bytes; nil keeps the system's default.
        /// Datagrams that arrive while the event loop is off the CPU wait here, and the
        /// system's default holds only a few hundred small datagrams: a busy node loses them
        /// whenever the host takes the CPU away for a few milliseconds. The default asks for
        /// 8 MiB, as the benchmarks' C echo server does (the losses measured with 1 MiB and
        /// 8 MiB are in Benchmarks/README.md). Linux caps it at `net.core.rmem_max` (doubled);
        /// memory is taken only by datagrams actually waiting.
        public var receiveBufferSize: Int?

        /// A configuration with every field given or defaulted.
        ///
        /// - Parameters:
        ///   - host: The address to bind; 127.0.0.1 by default.
        ///   - port: The UDP port; 0 (the default) lets the system choose.
        ///   - signingKey: The node's identity; a fresh one by default, which gives the node a
        ///     new public key and id on every start (load one with `IdentityFile` to keep it).
        ///   - nodeID: The DHT id; nil (the default) takes SHA1 of the public key.
        ///   - settings: The core's settings; nil picks `DHTSettings.loopbackTestNetwork` for a
        ///     loopback host and `DHTSettings()` for any other.
        ///   - signatureCheckPool: Threads for checking signatures ahead of the event loop.
        ///   - receiveBufferSize: SO_RCVBUF in bytes; 8 MiB by default, nil for the system's.
        public init(host: String = "127.0.0.1", port: Int = 0, signingKey: SigningKey = .generate(),
                    nodeID: NodeID? = nil, settings: DHTSettings? = nil,
                    signatureCheckPool: NIOThreadPool? = System.coreCount > 1 ? .singleton : nil,
                    receiveBufferSize: Int? = 8 << 20) {
            self.receiveBufferSize = receiveBufferSize
            self.host = host
            self.port = port
            self.signingKey = signingKey
            self.nodeID = nodeID
            self.signatureCheckPool = signatureCheckPool
            // Every node of a loopback test network shares one address, so the one-node-per-IP
            // rule would admit only one of them; anywhere else it stays on.
            self.settings = settings ?? (IPAddress(host)?.isLoopback == true ? .loopbackTestNetwork : DHTSettings())
        }
    }

    /// The node's id in the DHT: the configured one, or SHA1 of the public key.
    public let localID: NodeID
    /// The node's identity: it signs the node's BEP 44 items, keyed records and heartbeats.
    public let signingKey: SigningKey
    /// The address the socket is bound to (with the real port when 0 was asked for).
    public let localEndpoint: Endpoint
    let shell: UDPShell
    /// The core's events, for every subscriber: ``events()``, ``membershipEvents()``, the services.
    let eventHub = EventHub<CoreEvent>()

    private init(localID: NodeID, signingKey: SigningKey, localEndpoint: Endpoint, shell: UDPShell) {
        self.localID = localID
        self.signingKey = signingKey
        self.localEndpoint = localEndpoint
        self.shell = shell
    }

    /// The core's events other than finished operations (heartbeat publishes, pruning,
    /// membership), for metrics and logs. Each call gives a new stream.
    public func events() -> AsyncStream<CoreEvent> {
        eventHub.subscribe()
    }

    /// The public half of ``signingKey``: the owner of the node's records, and what others
    /// pass to ``getMutable(publicKey:salt:)`` to read its BEP 44 items.
    public var publicKey: PublicKey { signingKey.publicKey }

    /// Binds the socket and starts serving. Call `bootstrap(from:)` to join a network.
    ///
    /// The node answers queries from the moment this returns, but knows no other node until
    /// it bootstraps or is contacted.
    ///
    /// - Parameters:
    ///   - configuration: Where to listen, the identity and the settings.
    ///   - group: The NIO event loops; the node runs on one of them.
    /// - Returns: The running node.
    /// - Throws: ``DHTNodeError/bindFailed(_:)`` when the socket cannot be bound.
    public static func start(_ configuration: Configuration,
                             group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> DHTNode {
        let localID = configuration.nodeID ?? .defaultID(for: configuration.signingKey.publicKey)
        let eventLoop = group.next()
        let core = DHTCore(localID: localID, settings: configuration.settings, now: SystemClock.now())
        let shell = UDPShell(core: core, eventLoop: eventLoop, signatureCheckPool: configuration.signatureCheckPool)
        let channel: any Channel
        do {
            channel = try await bindSocket(for: shell, host: configuration.host, port: configuration.port,
                                           receiveBufferSize: configuration.receiveBufferSize, on: eventLoop).get()
        } catch {
            throw DHTNodeError.bindFailed("\(configuration.host):\(configuration.port): \(error)")
        }
        guard let bound = channel.localAddress.flatMap(Endpoint.init) else {
            try? await channel.close()
            throw DHTNodeError.bindFailed("no local address")
        }
        // Reopen at the port actually bound, so peers keep reaching us at the address they know.
        let host = configuration.host, port = Int(bound.port), receiveBufferSize = configuration.receiveBufferSize
        let node = DHTNode(localID: localID, signingKey: configuration.signingKey, localEndpoint: bound, shell: shell)
        try await eventLoop.submit {
            shell.rebind = { bindSocket(for: shell, host: host, port: port, receiveBufferSize: receiveBufferSize, on: eventLoop) }
            shell.onEvent = { [eventHub = node.eventHub] event in eventHub.publish(event) }
            shell.attach(channel)
        }.get()
        return node
    }

    private static let datagramsPerRead = 16

    private static func bindSocket(for shell: UDPShell, host: String, port: Int, receiveBufferSize: Int?,
                                   on eventLoop: any EventLoop) -> EventLoopFuture<any Channel> {
        // No SO_REUSEADDR: on Linux two UDP sockets that both set it may bind one port, so a
        // second node on a taken port started silently and shared its datagrams, and nodes
        // binding port 0 in one process could be given the same port. UDP has no TIME_WAIT
        // to wait out after a restart.
        var bootstrap = DatagramBootstrap(group: eventLoop)
        if let receiveBufferSize {
            bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(clamping: receiveBufferSize))
        }
        return bootstrap
            // Up to 16 datagrams per recvmmsg: under load one system call reads a batch, and the
            // answers go out together at the batch's end. NIO splits the buffer evenly, so
            // each datagram has 4,096 bytes: room for datagrams over the 1,500-byte limit, so
            // they are seen whole and counted, not truncated.
            .channelOption(.datagramVectorReadMessageCount, value: Self.datagramsPerRead)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: Self.datagramsPerRead * 4096))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(DatagramInboundHandler(shell: shell))
                }
            }
            .bind(host: host, port: port)
    }

    /// Joins the network through `endpoints` (a lookup of our own id) and returns what it found.
    ///
    /// A result with no `responses` means none of `endpoints` answered: the routing table is
    /// still empty, and a caller that must join retries (``SubnetPeer`` does, with backoff).
    @discardableResult
    public func bootstrap(from endpoints: [Endpoint]) async throws -> LookupResult {
        try lookupResult(await shell.perform { core, now in core.bootstrap(from: endpoints, now: now) })
    }

    /// Pings `endpoint` and returns its node id.
    ///
    /// - Throws: `OperationFailure` when it does not answer in time or answers with an error.
    public func ping(_ endpoint: Endpoint) async throws -> NodeID {
        guard case .ping(let result) = try await shell.perform({ core, now in core.startPing(endpoint, now: now) }) else {
            throw DHTNodeError.unexpectedResult
        }
        return try result.get()
    }

    /// The k nodes closest to `target`.
    public func findNode(_ target: NodeID) async throws -> LookupResult {
        try lookupResult(await shell.perform { core, now in core.startLookup(target: target, kind: .findNode, now: now) })
    }

    /// BEP 5 peers announced for `infoHash`.
    public func getPeers(_ infoHash: NodeID) async throws -> LookupResult {
        try lookupResult(await shell.perform { core, now in core.startLookup(target: infoHash, kind: .getPeers, now: now) })
    }

    /// Announces this node (or `port`) as a peer for `infoHash` to the closest nodes.
    public func announcePeer(_ infoHash: NodeID, port: UInt16? = nil) async throws -> StoreResult {
        let plan = StorePlan.announcePeer(port: port ?? localEndpoint.port, impliedPort: port == nil)
        return try storeResult(await shell.perform { core, now in core.startStore(target: infoHash, plan: plan, now: now) })
    }

    /// Stores a BEP 44 mutable item signed by `key` (the node's own key by default). With `seq`
    /// nil the item gets one above the highest seq the network holds.
    ///
    /// - Parameters:
    ///   - value: The item, at most 1,000 bytes bencoded.
    ///   - salt: BEP 44's salt: one key can hold several items, one per salt.
    ///   - seq: The sequence number; nil picks the next one.
    ///   - cas: Store only where the current `seq` is this one (BEP 44 compare-and-swap).
    ///   - key: The signer; nil signs with the node's own ``signingKey``.
    /// - Returns: Which of the closest nodes accepted the item, which refused it, and the
    ///   `seq` stored.
    public func putMutable(_ value: BValue, salt: [UInt8] = [], seq: Int64? = nil, cas: Int64? = nil,
                           key: SigningKey? = nil) async throws -> StoreResult {
        let signer = key ?? signingKey
        let target = BEP44.mutableTarget(publicKey: signer.publicKey.bytes, salt: salt)
        let plan = StorePlan.putMutable(signingKey: signer, salt: salt, value: value, seq: seq, cas: cas)
        return try storeResult(await shell.perform { core, now in core.startStore(target: target, plan: plan, now: now) })
    }

    /// The newest valid BEP 44 mutable item of `publicKey` and `salt`, or nil when none is found.
    public func getMutable(publicKey: PublicKey, salt: [UInt8] = []) async throws -> MutableItem? {
        let target = BEP44.mutableTarget(publicKey: publicKey.bytes, salt: salt)
        let kind = LookupKind.getMutable(publicKey: publicKey.bytes, salt: salt)
        return try lookupResult(await shell.perform { core, now in core.startLookup(target: target, kind: kind, now: now) }).mutableItem
    }

    /// Stores a BEP 44 immutable item; returns its target (SHA1 of the bencoded value).
    public func putImmutable(_ value: BValue) async throws -> (target: NodeID, result: StoreResult) {
        let target = BEP44.immutableTarget(encodedValue: Bencode.encode(value))
        let result = try storeResult(await shell.perform { core, now in
            core.startStore(target: target, plan: .putImmutable(value), now: now)
        })
        return (target, result)
    }

    /// The immutable item stored under `target`, verified against it, or nil.
    public func getImmutable(_ target: NodeID) async throws -> BValue? {
        try lookupResult(await shell.perform { core, now in core.startLookup(target: target, kind: .getImmutable, now: now) }).immutableValue
    }

    /// Stores a signed keyed record on the R closest nodes of its key. The result says which
    /// nodes accepted it and which refused it with what error code.
    ///
    /// Use this form to announce a record signed elsewhere (`KeyedRecord.signed(key:value:seq:expires:by:)`);
    /// ``announce(key:value:ttl:seq:)`` signs with the node's own key. Replicas refuse a key
    /// that has no policy on their side (error 209), unless they run with open keys.
    public func announce(_ record: KeyedRecord) async throws -> StoreResult {
        try storeResult(await shell.perform { core, now in core.startAnnounce(record, now: now) })
    }

    /// Signs `value` under `key` with the node's identity, valid for `ttl`, and announces it.
    /// `seq` defaults to the current time in milliseconds, which keeps later records newer.
    ///
    /// - Parameters:
    ///   - key: The shared key, 1 to 64 bytes of UTF-8, such as `node`.
    ///   - value: The record's value, at most 1,000 bytes bencoded; under `node` a
    ///     `ServerInfo` (its `bencoded` form).
    ///   - ttl: How long the record counts; the key's policy bounds it (an hour for `node`).
    ///   - seq: The sequence number; nil takes the current time in milliseconds.
    /// - Returns: The signed record and what the replicas answered.
    public func announce(key: String, value: BValue, ttl: Duration, seq: Int64? = nil) async throws -> (record: KeyedRecord, result: StoreResult) {
        let now = SystemClock.now()
        let expires = (now + ttl).milliseconds / 1000
        let record = KeyedRecord.signed(key: Array(key.utf8), value: value, seq: seq ?? now.milliseconds, expires: expires, by: signingKey)
        return (record, try await announce(record))
    }

    /// Every record under `key` that was unexpired when a replica served it: looked up, read
    /// page by page from the closest replicas, each verified here, the highest `seq` per
    /// owner, ascending by owner key. A slow read may return a record that expired during
    /// it; `Peer.isLive(at:)` judges liveness at the caller's time.
    public func records(key: String) async throws -> [KeyedRecord] {
        let keyBytes = Array(key.utf8)
        return try lookupResult(await shell.perform { core, now in core.startRecordsLookup(key: keyBytes, now: now) }).records
    }

    /// Routing-table size, pending requests and counters, read on the node's loop.
    public func status() async throws -> NodeStatus {
        try await shell.withCore { core, now in self.status(of: core, livePeers: core.livePeers(now: now).count) }
    }

    /// The status and the live view's records in one hop onto the loop: what the HTTP port's
    /// `NodeStatusFeed` reads every refresh interval.
    func subnetReading() async throws -> SubnetReading {
        try await shell.withCore { core, now in
            let live = core.livePeers(now: now)
            return SubnetReading(status: self.status(of: core, livePeers: live.count), live: live,
                                 departed: core.departedPeers(now: now))
        }
    }

    private func status(of core: DHTCore, livePeers: Int) -> NodeStatus {
        NodeStatus(routingTableSize: core.routingTableSize, pendingRequests: core.pendingRequestCount,
                   storedRecords: core.storedRecordCount, statistics: core.statistics,
                   unreachableDrops: shell.unreachableDrops, socketReopens: shell.socketReopens,
                   signaturesCheckedAhead: shell.signaturesCheckedAhead,
                   recordSupport: core.recordSupportCounts, livePeers: livePeers,
                   lastHeartbeat: core.heartbeatStatus?.lastSuccess)
    }

    /// The routing table's contacts.
    public func contacts() async throws -> [Contact] {
        try await shell.withCore { core, _ in core.contacts }
    }

    /// Closes the socket; operations still waiting fail with `DHTNodeError.shutDown`.
    ///
    /// Ends the streams of ``events()`` and ``membershipEvents()``. It does not publish an
    /// OFFLINE heartbeat: call ``stopHeartbeat(final:)`` first (``SubnetPeer`` does).
    public func shutdown() async {
        try? await shell.eventLoop.submit { self.shell.close() }.get()
        eventHub.finish()
    }

    private func lookupResult(_ result: OperationResult) throws -> LookupResult {
        guard case .lookup(let lookup) = result else { throw DHTNodeError.unexpectedResult }
        return lookup
    }

    private func storeResult(_ result: OperationResult) throws -> StoreResult {
        guard case .store(let store) = result else { throw DHTNodeError.unexpectedResult }
        return store
    }
}

/// A node's counters at one moment, as ``DHTNode/status()`` reads them.
public struct NodeStatus: Sendable {
    /// Contacts in the routing table.
    public var routingTableSize: Int
    /// Requests sent and not yet answered or timed out.
    public var pendingRequests: Int
    /// Keyed records held for others.
    public var storedRecords: Int
    /// The core's cumulative counters: queries by method, errors, stores and more.
    public var statistics: CoreStatistics
    /// Datagrams not sent because this socket cannot reach the address (off-loopback from a
    /// loopback socket, IPv6 from an IPv4 socket).
    public var unreachableDrops: Int
    /// Times the socket was reopened after NIO closed it on a send error.
    public var socketReopens: Int
    /// Datagrams whose signature was checked on a worker thread before the core took them.
    public var signaturesCheckedAhead: Int
    /// Routing-table contacts by whether they serve keyed records.
    public var recordSupport = RecordSupportCounts()
    /// Peers the live view holds alive now (0 when the node watches no key).
    public var livePeers = 0
    /// When the node's own heartbeat was last published; nil before the first, or without one.
    public var lastHeartbeat: Timestamp?
}
