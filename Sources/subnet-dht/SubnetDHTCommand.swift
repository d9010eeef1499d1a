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
        version: versionLine,
        subcommands: [Run.self, Testnet.self, Records.self, Peers.self, Announce.self, Update.self, Config.self, Keygen.self, Ping.self, Put.self, Get.self, Lookup.self],
        // Tools for measuring the node, listed apart from the operator's commands.
        groupedSubcommands: [CommandGroup(name: "Benchmarking", subcommands: [Bench.self, LocalBench.self])])

    /// `--version`: the package version (the heartbeat's `ver`), docs/PROTOCOL.md's version and
    /// the commit the binary was built from.
    static let versionLine = "subnet-dht \(SubnetDHTVersion.current) (protocol \(SubnetDHTVersion.protocolVersion), commit \(buildCommit))"

    static func main() async {
        do {
            var command: any ParsableCommand
            let arguments = Array(CommandLine.arguments.dropFirst())
            if arguments.first == "run" {
                // run's settings come in layers: a config file, the environment, the flags.
                let layers = try await RunSettingsLayers.resolve(arguments: Array(arguments.dropFirst()),
                                                                 environment: SystemdNotifier.processEnvironment)
                command = try layers.parse()
            } else {
                command = try parseAsRoot(arguments)
            }
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
