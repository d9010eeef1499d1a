import ArgumentParser
import SubnetDHT

#if canImport(Glibc)
import Glibc
#endif

struct Peers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the live peers of the subnet (unexpired `node` heartbeats not OFFLINE).")

    @Flag(help: "Print one JSON array.") var json = false
    @Flag(help: "Keep running and redraw whenever the set of peers changes; with --json, print one event a line instead (joined, changed, left, expired).")
    var watch = false
    @Option(help: "Seconds between reads with --watch.") var interval: Double = 2
    @Option(help: "The heartbeat key.") var key = "node"
    @OptionGroup var readerPolicy: ReaderPolicyOptions
    @OptionGroup var network: NetworkOptions

    func validate() throws {
        guard interval >= 0.2 else { throw ValidationError("--interval must be at least 0.2 s") }
    }

    func run() async throws {
        let session = try await ClientSession.open(network)
        var last: [Peer]?
        var events = PeerEvents()
        repeat {
            let now = SystemClock.now()
            let records = try readerPolicy.admitted(try await Progress.while("reading \(key)") { try await session.node.records(key: key) },
                                                    key: key)
            let live = records.compactMap(Peer.init(record:)).filter { $0.isLive(at: now) }
            if watch && json {
                for (kind, peer) in events.update(with: records, now: now) { Console.out(PeerEvents.line(kind, peer, now: now)) }
            } else if live != last {
                let rows = live.map(RecordRow.init(peer:))
                if watch { Console.out("\u{1B}[2J\u{1B}[H\(live.count) live peers") }
                Console.out(json ? RecordTable.json(rows, now: now) : RecordTable.text(rows, now: now))
                last = live
            }
            if watch { try await Task.sleep(for: .milliseconds(Int(interval * 1000))) }
        } while watch
        await session.close()
    }
}
