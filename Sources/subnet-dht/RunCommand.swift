import ArgumentParser
import Dispatch
import SubnetDHT

#if canImport(Glibc)
import Glibc
#endif

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a DHT node until SIGINT or SIGTERM.",
        discussion: "The first line on standard output is `listening HOST:PORT NODE_ID_HEX PUBLIC_KEY_HEX`.")

    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(help: "UDP port to bind (0 picks a free one).") var port = 6881
    @Option(help: "Identity file (ed25519 seed, created with mode 0600 when missing). Without it the node uses a fresh key.")
    var identity: String?
    @Option(help: "Node id as 40 hex digits, instead of SHA1 of the public key.") var nodeID: String?
    @Flag(help: "Accept keyed records under keys that have no policy (default: only `node`).") var openKeys = false
    @OptionGroup var network: NetworkOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
        if let nodeID, NodeID(hex: nodeID) == nil { throw ValidationError("--node-id must be 40 hex digits") }
    }

    func run() async throws {
        let key = try loadIdentity(identity)
        var configuration = DHTNode.Configuration(host: host, port: port, signingKey: key)
        configuration.settings.networkID = network.networkID
        configuration.settings.keyPolicies.openKeys = openKeys
        if let nodeID {
            guard let id = NodeID(hex: nodeID) else { throw ValidationError("--node-id must be 40 hex digits") }
            configuration.nodeID = id
        }
        let seeds = try network.bootstrapEndpoints()
        let node = try await DHTNode.start(configuration)
        Console.out("listening \(node.localEndpoint) \(node.localID.hex) \(node.publicKey.hex)")

        let joining = Task { await Run.join(node, seeds: seeds) }
        await waitForTerminationSignal()
        joining.cancel()
        await node.shutdown()
    }

    /// Joins through the seeds, retrying with backoff while none answers (they may still be starting).
    static func join(_ node: DHTNode, seeds: [Endpoint]) async {
        guard !seeds.isEmpty else { return }
        var delay: Duration = .milliseconds(500)
        while !Task.isCancelled {
            if let result = try? await node.bootstrap(from: seeds), result.responses > 0 {
                Console.err("joined: \(result.closest.count) nodes close to us after \(result.rounds) rounds")
                return
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(30))
        }
    }
}

/// Suspends until SIGINT or SIGTERM arrives.
func waitForTerminationSignal() async {
    let (received, continuation) = AsyncStream<Void>.makeStream()
    var sources = [any DispatchSourceSignal]()
    for signalNumber in [SIGINT, SIGTERM] {
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler { continuation.yield() }
        source.resume()
        sources.append(source)
    }
    for await _ in received { break }
    for source in sources { source.cancel() }
}
