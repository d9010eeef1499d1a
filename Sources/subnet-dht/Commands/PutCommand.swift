import ArgumentParser
import SubnetDHT

#if canImport(Glibc)
import Glibc
#endif

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
