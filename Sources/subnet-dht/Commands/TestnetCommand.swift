import ArgumentParser
import Logging
import ServiceLifecycle
import SubnetDHT

struct Testnet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a test network of N subnet peers in one process.",
        discussion: """
            Prints `bootstrap HOST:PORT`, then the `node` records once all N peers are ONLINE and see each \
            other, and runs until --duration ends or SIGINT/SIGTERM arrives; then every peer publishes \
            OFFLINE and stops.
            """)

    @Option(help: "Number of peers (1 to 256).") var nodes = 8
    @Option(help: "Address every peer binds.") var host = "127.0.0.1"
    @Option(help: "Port of the first peer; the others follow (0: free ports).") var basePort = 0
    @Option(help: "Stop after this many seconds (default: run until a signal).") var duration: Double?
    @OptionGroup var subnet: SubnetOptions

    func validate() throws {
        guard (1...256).contains(nodes) else { throw ValidationError("--nodes must be 1 to 256") }
        guard basePort == 0 || (1...(65535 - nodes)).contains(basePort) else { throw ValidationError("--base-port leaves no room for \(nodes) ports") }
        if let duration, duration <= 0 { throw ValidationError("--duration must be positive") }
    }

    func run() async throws {
        subnet.bootstrapLogging()
        let logger = Logger(label: "subnet-dht.testnet")
        let heartbeat = try subnet.heartbeatSettings(key: "node")
        var peers = [SubnetPeer]()
        var groups = [ServiceGroup]()
        var seed: Endpoint?
        var plan = LoopbackTestnet.Plan(size: nodes, host: host, basePort: basePort)
        plan.settings.pruneInterval = heartbeat.pruneInterval
        for index in 0..<nodes {
            let node = plan.configuration(of: index)
            var configuration = SubnetPeer.Configuration(node: node)
            configuration.heartbeat = heartbeat
            configuration.name = "testnet-\(index)"
            configuration.role = index == 0 ? "bootstrap" : "worker"
            configuration.bootstrap = seed.map { [$0] } ?? []
            // Each peer starts only after the previous one has bound, so every later peer has a seed.
            let (bound, signal) = AsyncStream<Endpoint>.makeStream()
            let peer = try SubnetPeer(configuration, logger: logger) { node, _ in
                signal.yield(node.localEndpoint)
                signal.finish()
            }
            peers.append(peer)
            let group = ServiceGroup(services: [peer], logger: logger)
            groups.append(group)
            Task { try? await group.run() }
            for await endpoint in bound { seed = seed ?? endpoint }
        }
        guard let seed else { return }
        Console.out("bootstrap \(seed)")

        let all = peers
        let ready = await waitUntilAllOnline(all, limit: .seconds(60))
        if !ready { Console.err("warning: not every peer is ONLINE in every view after 60 s") }
        if let first = peers.first?.node, let records = try? await first.records(key: "node") {
            Console.out(RecordTable.text(records.map(RecordRow.init(record:)), now: SystemClock.now()))
        }

        await waitForStop()
        for group in groups { await group.triggerGracefulShutdown() }
        // Bounded wait for every peer's OFFLINE announce and shutdown.
        for _ in 0..<100 where peers.contains(where: { $0.node != nil && $0.info?.state != .offline }) {
            try? await Task.sleep(for: .milliseconds(100))
        }
        try? await Task.sleep(for: .seconds(1))
    }

    private func waitUntilAllOnline(_ peers: [SubnetPeer], limit: Duration) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        while clock.now < deadline {
            var ready = true
            for peer in peers {
                guard let node = peer.node, let live = try? await node.livePeers(),
                    live.count == peers.count, live.allSatisfy({ $0.info.state == .online }) else {
                    ready = false
                    break
                }
            }
            if ready { return true }
            try? await Task.sleep(for: .milliseconds(250))
        }
        return false
    }

    private func waitForStop() async {
        if let duration {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await Task.sleep(for: .milliseconds(Int64(duration * 1000))) }
                group.addTask { await waitForTerminationSignal() }
                await group.next()
                group.cancelAll()
            }
        } else {
            await waitForTerminationSignal()
        }
    }
}
