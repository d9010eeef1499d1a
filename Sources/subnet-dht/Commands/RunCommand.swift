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

    @Option(help: ArgumentHelp("A file of these settings, JSON or YAML by its extension, keys named as the long flags (heartbeat-interval: 30, bootstrap: [host:port]).",
                               discussion: "SUBNET_DHT_<OPTION> variables (SUBNET_DHT_HEARTBEAT_INTERVAL=30) override the file, and flags override both. `subnet-dht config check FILE` shows what each setting comes to.",
                               valueName: "file"))
    var config: String?
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
    @Option(name: [.customLong("http-port"), .customLong("metrics-port")],
            help: "Serve the subnet's status page (/), /peers.json, /records/KEY.json, Prometheus /metrics and /health on this TCP port (--metrics-port is its older name).")
    var httpPort: Int?
    @Option(help: "Address the HTTP port binds: loopback unless asked, so the page is not exposed by accident.") var httpHost = "127.0.0.1"
    @Option(help: "File of the bearer token the control API's writes need (PUT /self, POST /records/KEY); created with a random token and mode 0600 when missing, refused when group or others can read it. Without it those writes answer 403.")
    var controlToken: String?
    @Option(help: "Queries a second one source may send, sustained, with bursts of twice that (0: no limit; sources are IP addresses, or IP:port on loopback).")
    var rateLimit: Double = RateLimitSettings().queriesPerSecond
    @Option(help: "Most keyed records this node stores for others, over all keys (each up to about 1 KB).")
    var maxRecords = RecordStoreSettings().maxRecords
    @Option(help: "The subnet's validator rules, a JSON file (docs/POLICY.md): writers, roles, info fields and bounds per key.")
    var policy: String?
    @OptionGroup var heartbeatInfo: HeartbeatInfoOptions
    @OptionGroup var subnet: SubnetOptions
    @OptionGroup var network: NetworkOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
        if let nodeID, NodeID(hex: nodeID) == nil { throw ValidationError("--node-id must be 40 hex digits") }
        if let httpPort, !(0...65535).contains(httpPort) { throw ValidationError("--http-port or --metrics-port must be 0 to 65535") }
        guard IPAddress(httpHost) != nil else {
            throw ValidationError("--http-host must be an IP address, got '\(httpHost)'")
        }
        if let policies = try policyFile()?.policies {
            // The node's own heartbeat must pass the rules it enforces, or every replica refuses it.
            if !noHeartbeat, let keyPolicy = policies.policy(for: Array(key.utf8)) {
                let heartbeat = ServerInfo(state: .online, role: role, throughput: 0, address: Endpoint(address: .v4(0x7f00_0001), port: 6881),
                                           name: name, version: SubnetDHTVersion.current, info: try heartbeatInfo.fields())
                if let refusal = keyPolicy.valueCheck(heartbeat.bencoded) {
                    throw ValidationError("the policy refuses this node's own heartbeat under \(key): \(refusal)")
                }
                let ttl = try subnet.heartbeatSettings(key: key).ttl
                guard ttl <= keyPolicy.maxTTL else {
                    throw ValidationError("the policy's max_ttl for \(key) (\(keyPolicy.maxTTL)) is below --heartbeat-ttl (\(ttl)): every heartbeat would be refused")
                }
            }
        } else if !ServerInfo.defaultRoles.contains(role) {
            throw ValidationError("--role must be one of \(ServerInfo.defaultRoles.sorted().joined(separator: ", "))")
        }
        if let name, name.utf8.count > 64 { throw ValidationError("--name is longer than 64 bytes") }
        guard rateLimit >= 0, rateLimit.isFinite else { throw ValidationError("--rate-limit must be 0 or more") }
        guard (1...10_000_000).contains(maxRecords) else { throw ValidationError("--max-records must be 1 to 10,000,000") }
        _ = try subnet.heartbeatSettings(key: key)
        try heartbeatInfo.checkSize(role: role, name: name)
        if controlToken != nil && httpPort == nil { throw ValidationError("--control-token needs --http-port: the control API is served there") }
    }

    /// `--policy`, read and checked; nil without it.
    func policyFile() throws -> PolicyFile? {
        guard let policy else { return nil }
        do {
            return try PolicyFile.load(path: policy)
        } catch {
            throw ValidationError("--policy \(error)")
        }
    }

    /// What the flags ask of the peer: kept apart from `run()` so that tests can check every
    /// flag's way into the settings without starting a node.
    func peerConfiguration(signingKey: SigningKey) throws -> SubnetPeer.Configuration {
        var node = DHTNode.Configuration(host: host, port: port, signingKey: signingKey)
        if let file = try policyFile() {
            node.settings.keyPolicies = file.policies
            if !noHeartbeat, let writers = file.policies.policy(for: Array(key.utf8))?.allowedWriters, !writers.contains(signingKey.publicKey) {
                throw ValidationError("this node's key \(signingKey.publicKey.hex) is not among the policy's writers of \(key): its heartbeats would be refused (--no-heartbeat runs without them)")
            }
        }
        node.settings.keyPolicies.openKeys = node.settings.keyPolicies.openKeys || openKeys
        network.apply(to: &node.settings)
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
        configuration.policyFile = policy
        configuration.heartbeat = noHeartbeat ? nil : heartbeat
        configuration.stateDirectory = stateDir
        configuration.httpPort = httpPort
        configuration.httpHost = httpHost
        configuration.systemd = SystemdNotifier(environment: SystemdNotifier.processEnvironment)
        if let controlToken {
            do {
                configuration.controlToken = try ControlTokenFile.loadOrCreate(at: controlToken)
            } catch {
                throw ValidationError("--control-token \(error)")
            }
        }
        return configuration
    }

    func run() async throws {
        subnet.bootstrapLogging()
        let configuration = try peerConfiguration(signingKey: try loadIdentity(identity))
        let logger = Logger(label: "subnet-dht")
        let host = configuration.httpHost.contains(":") ? "[\(configuration.httpHost)]" : configuration.httpHost
        let peer = try SubnetPeer(configuration, logger: logger) { node, httpPort in
            Console.out("listening \(node.localEndpoint) \(node.localID.hex) \(node.publicKey.hex)")
            if let httpPort {
                logger.info("status page on http://\(host):\(httpPort)/ (metrics on /metrics, health on /health, events on /events)")
            }
        }
        let group = ServiceGroup(services: [peer], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}
