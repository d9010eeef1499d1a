import ArgumentParser
import SubnetDHT

#if canImport(Glibc)
import Glibc
#endif

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
