import ArgumentParser
import SubnetDHT

#if canImport(Glibc)
import Glibc
#endif

struct Keygen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create an identity file (ed25519 seed, mode 0600) and print its public key.")

    @Option(help: "Where to write the identity.") var out: String
    @Flag(help: "Overwrite an existing file.") var force = false

    func run() async throws {
        let key = SigningKey.generate()
        try IdentityFile.create(at: out, key: key, overwrite: force)
        Console.out(key.publicKey.hex)
    }
}

struct Records: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print every unexpired record under a key (default `node`), verified and newest per owner.")

    @Argument(help: "The key.") var key = "node"
    @Flag(help: "Print one JSON array.") var json = false
    @Flag(help: "Also show OFFLINE heartbeats (peers that left on purpose).") var all = false
    @OptionGroup var network: NetworkOptions

    func run() async throws {
        let session = try await ClientSession.open(network)
        let records = try await Progress.while("reading \(key)") { try await session.node.records(key: key) }
        await session.close()
        let rows = RecordRow.records(records, includeOffline: all)
        let now = SystemClock.now()
        Console.out(json ? RecordTable.json(rows, now: now) : RecordTable.text(rows, now: now))
    }
}

struct Peers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the live peers of the subnet (unexpired `node` heartbeats not OFFLINE).")

    @Flag(help: "Print one JSON array.") var json = false
    @Flag(help: "Keep running and redraw whenever the set of peers changes.") var watch = false
    @Option(help: "Seconds between reads with --watch.") var interval: Double = 2
    @Option(help: "The heartbeat key.") var key = "node"
    @OptionGroup var network: NetworkOptions

    func validate() throws {
        guard interval >= 0.2 else { throw ValidationError("--interval must be at least 0.2 s") }
    }

    func run() async throws {
        let session = try await ClientSession.open(network)
        var last: [Peer]?
        repeat {
            let now = SystemClock.now()
            let records = try await Progress.while("reading \(key)") { try await session.node.records(key: key) }
            let live = records.compactMap(Peer.init(record:)).filter { $0.isLive(at: now) }
            if live != last {
                let rows = live.map(RecordRow.init(peer:))
                if watch && !json { Console.out("\u{1B}[2J\u{1B}[H\(live.count) live peers") }
                Console.out(json ? RecordTable.json(rows, now: now) : RecordTable.text(rows, now: now))
                last = live
            }
            if watch { try await Task.sleep(for: .milliseconds(Int(interval * 1000))) }
        } while watch
        await session.close()
    }
}

/// A progress line on stderr while an operation runs longer than a second, when stderr is a
/// terminal: in a log file or a pipe the redrawn line would only be noise.
enum Progress {
    static func `while`<T: Sendable>(_ label: String, _ body: @Sendable () async throws -> T) async throws -> T {
        guard isatty(STDERR_FILENO) == 1 else { return try await body() }
        // Returns whether it drew the line, so the line can be cleared afterwards.
        let ticker = Task { () -> Bool in
            var drawn = false
            var elapsed = 1
            while (try? await Task.sleep(for: .seconds(1))) != nil {
                Console.errInline("\r\(label)… \(elapsed) s")
                drawn = true
                elapsed += 1
            }
            return drawn
        }
        let outcome: Result<T, any Error>
        do {
            outcome = .success(try await body())
        } catch {
            outcome = .failure(error)
        }
        ticker.cancel()
        // Erase the progress line, so the next output starts on a clean line.
        if await ticker.value { Console.errInline("\r\u{1B}[K") }
        return try outcome.get()
    }
}
