import ArgumentParser
import Foundation
import SubnetDHT
import Testing
@testable import subnet_dht

/// `run --config FILE`, SUBNET_DHT_* variables and flags, in that order of precedence.
@Suite struct RunSettingsLayersTests {
    /// A file named `name` holding `text`, in a fresh directory.
    func file(_ name: String, _ text: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("subnet-dht-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> Run {
        let layers = try await RunSettingsLayers.resolve(arguments: arguments, environment: environment)
        return try #require(try layers.parse() as? Run)
    }

    /// The message `run` stops with.
    func refusal(_ arguments: [String], environment: [String: String] = [:]) async -> String? {
        do {
            _ = try await run(arguments, environment: environment)
            return nil
        } catch {
            return SubnetDHTCommand.message(for: error)
        }
    }

    @Test func fileThenEnvironmentThenFlags() async throws {
        let config = try file("node.yaml", """
            # a subnet peer
            role: miner
            name: from-file
            heartbeat-interval: 20
            heartbeat-ttl: 60
            bootstrap: [10.0.0.1:6881, 10.0.0.2:6881]
            open-keys: true
            """)
        let fromFile = try await run(["--config", config])
        #expect(fromFile.role == "miner" && fromFile.name == "from-file" && fromFile.openKeys)
        #expect(fromFile.network.bootstrap == ["10.0.0.1:6881", "10.0.0.2:6881"])
        #expect(try fromFile.subnet.heartbeatSettings(key: "node").interval == .seconds(20))

        let environment = ["SUBNET_DHT_NAME": "from-env", "SUBNET_DHT_HEARTBEAT_INTERVAL": "25", "SUBNET_DHT_BOOTSTRAP": "10.0.0.3:6881",
                           "SUBNET_DHT_OPEN_KEYS": "false"]
        let fromEnvironment = try await run(["--config", config], environment: environment)
        #expect(fromEnvironment.role == "miner" && fromEnvironment.name == "from-env" && !fromEnvironment.openKeys)
        #expect(fromEnvironment.network.bootstrap == ["10.0.0.3:6881"])
        #expect(try fromEnvironment.subnet.heartbeatSettings(key: "node").interval == .seconds(25))

        let fromFlags = try await run(["--config", config, "--name", "from-flag", "--heartbeat-interval", "30",
                                       "--bootstrap", "10.0.0.4:6881", "--open-keys"], environment: environment)
        #expect(fromFlags.role == "miner" && fromFlags.name == "from-flag" && fromFlags.openKeys)
        #expect(fromFlags.network.bootstrap == ["10.0.0.4:6881"])
        #expect(try fromFlags.subnet.heartbeatSettings(key: "node").interval == .seconds(30))

        let layers = try await RunSettingsLayers.resolve(arguments: ["--config", config, "--name", "x"], environment: ["SUBNET_DHT_ROLE": "validator"])
        #expect(layers.source(of: "heartbeat-interval") == .file && layers.source(of: "role") == .environment
                && layers.source(of: "name") == .flag && layers.source(of: "port") == .default)
        let table = Config.Check.table(layers)
        #expect(table.contains("heartbeat-interval  20") && table.split(separator: "\n").contains { $0.hasPrefix("role") && $0.hasSuffix("environment") })
    }

    @Test func jsonFilesAndTheConfigVariable() async throws {
        let config = try file("node.json", #"{"port": 7000, "role": "validator", "info": ["stake=5"], "rate-limit": 12.5}"#)
        let parsed = try await run([], environment: ["SUBNET_DHT_CONFIG": config])
        #expect(parsed.port == 7000 && parsed.role == "validator" && parsed.rateLimit == 12.5)
        #expect(try parsed.heartbeatInfo.fields() == ["stake": .integer(5)])
        let empty = try file("empty.yaml", "")
        #expect(try await run(["--config", empty]).port == 6881)
    }

    @Test func eachBadFileHasItsOwnMessage() async throws {
        let unknown = try file("a.yaml", "port: 0\nheartbeat_interval: 30\n")
        #expect(await refusal(["--config", unknown]) == "--config \(unknown): unknown key heartbeat_interval: the keys are run's long flags (subnet-dht run --help)")
        let wrongType = try file("b.yaml", "port: [1, 2]\n")
        #expect(await refusal(["--config", wrongType]) == "--config \(wrongType): port must be a string or a number, not what the file has")
        let flagType = try file("c.json", #"{"open-keys": "sometimes"}"#)
        #expect(await refusal(["--config", flagType])?.contains("open-keys must be true or false") == true)
        let shortTTL = try file("d.yaml", "heartbeat-interval: 30\nheartbeat-ttl: 20\n")
        #expect(await refusal(["--config", shortTTL])?.hasPrefix("--config \(shortTTL): the heartbeat TTL") == true)
        let negative = try file("j.yaml", "rate-limit: -1\n")
        #expect(await refusal(["--config", negative]) == "--config \(negative): --rate-limit must be 0 or more")
        let badValue = try file("e.yaml", "port: lots\n")
        #expect(await refusal(["--config", badValue])?.hasPrefix("--config \(badValue): ") == true)
        #expect(await refusal(["--config", "/nonexistent/node.yaml"])?.hasPrefix("--config /nonexistent/node.yaml: cannot be read") == true)
        let notMapping = try file("f.yaml", "- port\n- 0\n")
        #expect(await refusal(["--config", notMapping])?.contains("must be one YAML mapping") == true)
        let notJSON = try file("g.json", "{port: 0")
        #expect(await refusal(["--config", notJSON])?.hasPrefix("--config \(notJSON): ") == true)
        let otherKind = try file("h.toml", "port = 0\n")
        #expect(await refusal(["--config", otherKind])?.contains("must end in .json, .yaml or .yml") == true)
        let onlyOnTheCommandLine = try file("i.yaml", "config: other.yaml\n")
        #expect(await refusal(["--config", onlyOnTheCommandLine])?.contains("unknown key config: it is given on the command line only") == true)
        // A bad variable names itself; a flag that fixes what a lower layer got wrong wins.
        #expect(await refusal([], environment: ["SUBNET_DHT_PORT": "lots"])?.hasPrefix("the SUBNET_DHT_ environment: ") == true)
        #expect(try await run(["--config", shortTTL, "--heartbeat-ttl", "90"]).port == 6881)
    }
}
