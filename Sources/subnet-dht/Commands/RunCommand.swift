import ArgumentParser
import Dispatch
import Logging
import ServiceLifecycle
import SubnetDHT

#if canImport(Glibc)
import Glibc
#endif

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a subnet peer until SIGINT or SIGTERM.",
        discussion: """
            The first line on standard output is `listening HOST:PORT NODE_ID_HEX PUBLIC_KEY_HEX`. The peer \
            publishes JOINING, joins through --bootstrap, publishes ONLINE and heartbeats every interval; on \
            SIGINT/SIGTERM it publishes OFFLINE, waits for the acknowledgements and exits 0.
            """)

    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(help: "UDP port to bind (0 picks a free one).") var port = 6881
    @Option(help: "Identity file (ed25519 seed, created with mode 0600 when missing). Without it the node uses a fresh key.")
    var identity: String?
    @Option(help: "Node id as 40 hex digits, instead of SHA1 of the public key.") var nodeID: String?
    @Flag(help: "Accept keyed records under keys that have no policy (default: only `node`).") var openKeys = false
    @Option(help: "Role published in the heartbeat.") var role = "worker"
    @Option(help: "Public name published in the heartbeat.") var name: String?
    @Option(help: "Key the heartbeat goes under.") var key = "node"
    @Flag(help: "Do not publish heartbeats (still serve the DHT and keep a live view).") var noHeartbeat = false
    @Option(help: "Directory for snapshots of routing table and records (fast rejoin after restart).") var stateDir: String?
    @Option(help: "Serve the subnet's status page (/), /peers.json, /records/KEY.json, Prometheus /metrics and /health on this TCP port (127.0.0.1).")
    var metricsPort: Int?
    @Option(help: "Queries a second one source may send, sustained, with bursts of twice that (0: no limit; sources are IP addresses, or IP:port on loopback).")
    var rateLimit: Double = RateLimitSettings().queriesPerSecond
    @Option(help: "Most keyed records this node stores for others, over all keys (each up to about 1 KB).")
    var maxRecords = RecordStoreSettings().maxRecords
    @OptionGroup var heartbeatInfo: HeartbeatInfoOptions
    @OptionGroup var subnet: SubnetOptions
    @OptionGroup var network: NetworkOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
        if let nodeID, NodeID(hex: nodeID) == nil { throw ValidationError("--node-id must be 40 hex digits") }
        if let metricsPort, !(0...65535).contains(metricsPort) { throw ValidationError("--metrics-port must be 0 to 65535") }
        guard ServerInfo.defaultRoles.contains(role) else {
            throw ValidationError("--role must be one of \(ServerInfo.defaultRoles.sorted().joined(separator: ", "))")
        }
        if let name, name.utf8.count > 64 { throw ValidationError("--name is longer than 64 bytes") }
        guard rateLimit >= 0, rateLimit.isFinite else { throw ValidationError("--rate-limit must be 0 or more") }
        guard (1...10_000_000).contains(maxRecords) else { throw ValidationError("--max-records must be 1 to 10,000,000") }
        _ = try subnet.heartbeatSettings(key: key)
        try heartbeatInfo.checkSize(role: role, name: name)
    }

    /// What the flags ask of the peer: kept apart from `run()` so that tests can check every
    /// flag's way into the settings without starting a node.
    func peerConfiguration(signingKey: SigningKey) throws -> SubnetPeer.Configuration {
        var node = DHTNode.Configuration(host: host, port: port, signingKey: signingKey)
        network.apply(to: &node.settings)
        node.settings.keyPolicies.openKeys = openKeys
        node.settings.rateLimit.queriesPerSecond = rateLimit
        node.settings.rateLimit.burst = 2 * rateLimit
        node.settings.recordStore.maxRecords = maxRecords
        let heartbeat = try subnet.heartbeatSettings(key: key)
        node.settings.pruneInterval = heartbeat.pruneInterval
        node.nodeID = nodeID.flatMap(NodeID.init(hex:))
        var configuration = SubnetPeer.Configuration(node: node)
        configuration.bootstrap = try network.bootstrapEndpoints()
        configuration.role = role
        configuration.name = name
        configuration.info = try heartbeatInfo.fields()
        configuration.heartbeat = noHeartbeat ? nil : heartbeat
        configuration.stateDirectory = stateDir
        configuration.httpPort = metricsPort
        return configuration
    }

    func run() async throws {
        subnet.bootstrapLogging()
        let configuration = try peerConfiguration(signingKey: try loadIdentity(identity))
        let logger = Logger(label: "subnet-dht")
        let peer = try SubnetPeer(configuration, logger: logger) { node, metricsPort in
            Console.out("listening \(node.localEndpoint) \(node.localID.hex) \(node.publicKey.hex)")
            if let metricsPort { logger.info("status page on http://127.0.0.1:\(metricsPort)/ (metrics on /metrics, health on /health)") }
        }
        let group = ServiceGroup(services: [peer], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}
