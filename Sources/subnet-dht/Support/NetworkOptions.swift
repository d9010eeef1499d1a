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

    /// Exit status when the network did not answer, distinct from 1 ("not found").
    static let unreachableExitCode: Int32 = 2

    func validate() throws {
        _ = try bootstrapEndpoints()
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
        settings.networkID = options.networkID
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
