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
        network.apply(to: &settings)
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
