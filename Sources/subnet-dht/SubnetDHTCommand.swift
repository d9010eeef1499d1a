import ArgumentParser
import SubnetDHT

#if canImport(Glibc)
import Glibc
#endif

@main
struct SubnetDHTCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subnet-dht",
        abstract: "A Mainline-compatible DHT node for subnets.",
        subcommands: [Run.self, Testnet.self, Records.self, Peers.self, Announce.self, Update.self, Keygen.self, Ping.self, Put.self, Get.self, Lookup.self],
        // Tools for measuring the node, listed apart from the operator's commands.
        groupedSubcommands: [CommandGroup(name: "Benchmarking", subcommands: [Bench.self, LocalBench.self])])

    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
