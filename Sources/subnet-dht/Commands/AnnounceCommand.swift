import ArgumentParser
import SubnetDHT

/// `subnet-dht announce KEY VALUE`: one keyed record, signed and stored on the key's replicas,
/// as an application publishes a record without running a node.
struct Announce: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish a signed keyed record under KEY (docs/PROTOCOL.md 3): replicas refuse a key without a policy unless they run --open-keys.")

    @Argument(help: "The key, 1 to 64 bytes.") var key: String
    @Argument(help: "The value: JSON when it parses (integers, strings, arrays, objects), a string otherwise; at most 1,000 bytes bencoded.")
    var value: String
    @Option(help: "Seconds the record counts; the key's policy bounds it (3,600 for open keys and node).") var ttl: Int = 600
    @Option(help: "Identity file of the signing key (created when missing). Without it a fresh key is used.") var identity: String?
    @OptionGroup var network: NetworkOptions

    func validate() throws {
        guard (1...KeyedRecord.maxKeyLength).contains(key.utf8.count) else { throw ValidationError("KEY must be 1 to 64 bytes") }
        guard ttl > 0 else { throw ValidationError("--ttl must be at least 1 second") }
        let size = Bencode.encode(try bencodedValue()).count
        guard size <= StorageSettings().maxValueSize else {
            throw ValidationError("the value is \(size) bytes bencoded, over the \(StorageSettings().maxValueSize)-byte limit of a record's value")
        }
    }

    /// VALUE as bencode: JSON mapped one to one, or the text as a byte string.
    func bencodedValue() throws -> BValue {
        guard let json = try? JSONValue(parsing: Array(value.utf8)) else { return .string(value) }
        do {
            return try json.bencoded()
        } catch {
            throw ValidationError("VALUE: \(error)")
        }
    }

    func run() async throws {
        let signingKey = try loadIdentity(identity)
        let session = try await ClientSession.open(network, key: signingKey)
        let announced: (record: KeyedRecord, result: StoreResult)
        do {
            announced = try await session.node.announce(key: key, value: try bencodedValue(), ttl: .seconds(ttl))
        } catch {
            await session.close()
            throw error
        }
        await session.close()
        let stored = announced.result
        Console.out("owner \(signingKey.publicKey.hex)")
        Console.out("seq \(announced.record.seq) exp \(announced.record.expires)")
        Console.err("stored on \(stored.accepted.count) of \(stored.accepted.count + stored.rejected.count + stored.unanswered.count) nodes")
        for (node, error) in stored.rejected { Console.err("rejected by \(node.endpoint): \(error)") }
        if stored.accepted.isEmpty { throw ExitCode(1) }
    }
}
