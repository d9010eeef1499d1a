import ArgumentParser
import SubnetDHT

#if canImport(Glibc)
import Glibc
#endif

struct Ping: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Ping a node and print its id and the round-trip time.")

    @Argument(help: "HOST:PORT of the node.") var address: String
    @OptionGroup var network: NetworkOptions

    func run() async throws {
        guard let endpoint = Endpoint(address) else { throw ValidationError("not a HOST:PORT address: \(address)") }
        var settings = DHTSettings.loopbackTestNetwork
        settings.readOnly = true
        settings.networkID = network.networkID
        let host = endpoint.address.isIPv4 ? (endpoint.address.isLoopback ? "127.0.0.1" : "0.0.0.0") : (endpoint.address.isLoopback ? "::1" : "::")
        let node = try await DHTNode.start(DHTNode.Configuration(host: host, port: 0, settings: settings))
        defer { Task { await node.shutdown() } }
        let started = ContinuousClock.now
        do {
            let id = try await node.ping(endpoint)
            let elapsed = ContinuousClock.now - started
            let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
            Console.out("pong \(endpoint) \(id.hex) \(Double(micros) / 1000) ms")
            await node.shutdown()
        } catch {
            await node.shutdown()
            Console.err("Error: no answer from \(endpoint): \(error)")
            throw ExitCode(NetworkOptions.unreachableExitCode)
        }
    }
}

struct Put: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Store a BEP 44 item: mutable (signed, seq one above what the network holds) or --immutable.")

    @Argument(help: "The value, stored as a bencoded byte string.") var value: String
    @Flag(help: "Store an immutable item (target = SHA1 of the bencoded value).") var immutable = false
    @Option(help: "Identity file of the signing key (created when missing). Without it a fresh key is used.")
    var identity: String?
    @Option(help: "Salt for a mutable item (at most 64 bytes).") var salt: String?
    @OptionGroup var network: NetworkOptions

    func validate() throws {
        if immutable && (salt != nil || identity != nil) { throw ValidationError("--salt and --identity apply to mutable items only") }
        if let salt, salt.utf8.count > 64 { throw ValidationError("--salt is longer than 64 bytes") }
        if Bencode.encode(.string(value)).count > 1000 { throw ValidationError("the value is longer than 1,000 bytes once bencoded") }
    }

    func run() async throws {
        let key = try loadIdentity(identity)
        let session = try await ClientSession.open(network, key: key)
        let stored: StoreResult
        if immutable {
            let (target, result) = try await session.node.putImmutable(.string(value))
            Console.out("target \(target.hex)")
            stored = result
        } else {
            let saltBytes = Array((salt ?? "").utf8)
            stored = try await session.node.putMutable(.string(value), salt: saltBytes)
            Console.out("public_key \(key.publicKey.hex)")
            Console.out("target \(BEP44.mutableTarget(publicKey: key.publicKey.bytes, salt: saltBytes).hex)")
            if let seq = stored.seq { Console.err("seq \(seq)") }
        }
        await session.close()
        Console.err("stored on \(stored.accepted.count) of \(stored.accepted.count + stored.rejected.count + stored.unanswered.count) nodes")
        for (node, error) in stored.rejected { Console.err("rejected by \(node.endpoint): \(error)") }
        if stored.accepted.isEmpty { throw ExitCode(1) }
    }
}

struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read a BEP 44 item: mutable with --key, immutable by TARGET_HEX.",
        discussion: "Exit status: 0 found, 1 nothing found, 2 the network did not answer.")

    @Argument(help: "Target of an immutable item, 40 hex digits.") var target: String?
    @Option(help: "Public key of a mutable item, 64 hex digits.") var key: String?
    @Option(help: "Salt of a mutable item.") var salt: String?
    @OptionGroup var network: NetworkOptions

    func validate() throws {
        if (target == nil) == (key == nil) { throw ValidationError("give either TARGET_HEX or --key PUBLIC_KEY_HEX") }
        if let target, NodeID(hex: target) == nil { throw ValidationError("TARGET_HEX must be 40 hex digits") }
        if let key, HexEncoding.decode(key).flatMap(PublicKey.init(bytes:)) == nil {
            throw ValidationError("--key must be 64 hex digits")
        }
    }

    func run() async throws {
        let session = try await ClientSession.open(network)
        var found: BValue?
        if let key, let publicKey = HexEncoding.decode(key).flatMap(PublicKey.init(bytes:)) {
            let item = try await session.node.getMutable(publicKey: publicKey, salt: Array((salt ?? "").utf8))
            if let item { Console.err("seq \(item.seq)") }
            found = item?.value
        } else if let target, let id = NodeID(hex: target) {
            found = try await session.node.getImmutable(id)
        }
        await session.close()
        guard let found else {
            Console.err("not found")
            throw ExitCode(1)
        }
        Console.out(render(found))
    }
}

struct Lookup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Find the nodes closest to a target and print them with the number of rounds.")

    @Argument(help: "Target, 40 hex digits.") var target: String
    @OptionGroup var network: NetworkOptions

    func validate() throws {
        if NodeID(hex: target) == nil { throw ValidationError("TARGET_HEX must be 40 hex digits") }
    }

    func run() async throws {
        guard let id = NodeID(hex: target) else { throw ValidationError("TARGET_HEX must be 40 hex digits") }
        let session = try await ClientSession.open(network)
        let result = try await session.node.findNode(id)
        await session.close()
        for node in result.closest {
            Console.out("\(node.id.hex) \(node.endpoint) distance-bits \(160 - node.id.distance(to: id).leadingZeroBitCount)")
        }
        Console.out("rounds \(result.rounds) messages \(result.messagesSent) responses \(result.responses)")
    }
}
