import ArgumentParser
import SubnetDHT

#if canImport(Glibc)
import Glibc
#endif

struct Records: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print every unexpired record under a key (default `node`), verified and newest per owner.")

    @Argument(help: "The key.") var key = "node"
    @Flag(help: "Print one JSON array.") var json = false
    @Flag(help: "Also show OFFLINE heartbeats (peers that left on purpose).") var all = false
    @OptionGroup var readerPolicy: ReaderPolicyOptions
    @OptionGroup var network: NetworkOptions

    func run() async throws {
        let session = try await ClientSession.open(network)
        let records = try await Progress.while("reading \(key)") { try await session.node.records(key: key) }
        await session.close()
        let rows = RecordRow.records(try readerPolicy.admitted(records, key: key), includeOffline: all)
        let now = SystemClock.now()
        Console.out(json ? RecordTable.json(rows, now: now) : RecordTable.text(rows, now: now))
    }
}
