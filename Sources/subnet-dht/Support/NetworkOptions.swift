import ArgumentParser
import SubnetDHT

#if canImport(Glibc)
import Glibc
#endif

/// Options every networked command shares.
struct NetworkOptions: ParsableArguments {
    @Option(name: .long, help: "A node to join through, HOST:PORT (repeatable).")
    var bootstrap: [String] = []

    @Option(name: .long, help: "Network id: 0 is Mainline; other values keep a subnet's DHT apart.")
    var networkID: Int64 = 0

    @Option(name: .long, help: ArgumentHelp("How many bits deep the `node` key is sharded, 0 to 8: its records are stored under 2^D targets (docs/PROTOCOL.md 3.3).",
                                            discussion: "Every member of a subnet must use the same depth. 2 suits subnets past a few thousand peers (Benchmarks/README.md)."))
    var nodeShardDepth = 0

    /// Exit status when the network did not answer, distinct from 1 ("not found").
    static let unreachableExitCode: Int32 = 2

    func validate() throws {
        _ = try bootstrapEndpoints()
        guard (0...KeyedRecord.maxShardDepth).contains(nodeShardDepth) else {
            throw ValidationError("--node-shard-depth must be 0 to \(KeyedRecord.maxShardDepth)")
        }
    }

    /// The network id, and the `node` key's shard depth where `node` has a policy.
    func apply(to settings: inout DHTSettings) {
        settings.networkID = networkID
        if var policy = settings.keyPolicies.policy(for: Array("node".utf8)) {
            policy.shardDepth = nodeShardDepth
            settings.keyPolicies.register(policy, for: "node")
        }
    }

    func bootstrapEndpoints() throws -> [Endpoint] {
        try bootstrap.map { text in
            guard let endpoint = Endpoint(text) else { throw ValidationError("not a HOST:PORT address: \(text)") }
            return endpoint
        }
    }
}

/// Starts a short-lived read-only node for one client command and joins through `--bootstrap`.
struct ClientSession {
    let node: DHTNode

    static func open(_ options: NetworkOptions, key: SigningKey = .generate()) async throws -> ClientSession {
        let seeds = try options.bootstrapEndpoints()
        guard !seeds.isEmpty else { throw ValidationError("--bootstrap HOST:PORT is required") }
        var settings = DHTSettings.loopbackTestNetwork
        settings.readOnly = true
        options.apply(to: &settings)
        // Bind the family the bootstrap node speaks.
        let host = seeds[0].address.isIPv4 ? "0.0.0.0" : "::"
        let localHost = seeds[0].address.isLoopback ? (seeds[0].address.isIPv4 ? "127.0.0.1" : "::1") : host
        let node = try await DHTNode.start(DHTNode.Configuration(host: localHost, port: 0, signingKey: key, settings: settings))
        let joined = try await node.bootstrap(from: seeds)
        if joined.responses == 0 {
            await node.shutdown()
            Console.err("Error: no answer from \(options.bootstrap.joined(separator: ", "))")
            throw ExitCode(NetworkOptions.unreachableExitCode)
        }
        return ClientSession(node: node)
    }

    func close() async { await node.shutdown() }
}

func loadIdentity(_ path: String?) throws -> SigningKey {
    guard let path else { return .generate() }
    return try IdentityFile.loadOrCreate(at: path)
}
