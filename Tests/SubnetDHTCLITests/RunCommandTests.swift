import Foundation
import SubnetDHT
import Testing
@testable import subnet_dht

/// `subnet-dht run`: every flag reaches the peer's configuration, and a bad value is refused
/// with a message naming the flag, before any socket opens.
@Suite struct RunCommandTests {
    let key = SigningKey.generate()

    @Test func defaultsAreAMainlinePeerOnPort6881WithHeartbeatsUnderNode() throws {
        let configuration = try parse(["run"], as: Run.self).peerConfiguration(signingKey: key)
        #expect(configuration.node.host == "127.0.0.1")
        #expect(configuration.node.port == 6881)
        #expect(configuration.node.nodeID == nil)
        #expect(configuration.node.settings.networkID == 0)
        #expect(configuration.node.settings.keyPolicies.openKeys == false)
        #expect(configuration.node.settings.rateLimit == RateLimitSettings())
        #expect(configuration.node.settings.recordStore.maxRecords == RecordStoreSettings().maxRecords)
        #expect(configuration.heartbeat == HeartbeatSettings(key: "node", interval: .seconds(30), ttl: .seconds(90)))
        #expect(configuration.role == "worker")
        #expect(configuration.name == nil)
        #expect(configuration.bootstrap.isEmpty)
        #expect(configuration.stateDirectory == nil)
        #expect(configuration.httpPort == nil)
    }

    @Test func theHTTPPortHasItsNameAndItsOlderOneAndBindsLoopbackUnlessAsked() throws {
        let named = try parse(["run", "--http-port", "9200"], as: Run.self).peerConfiguration(signingKey: key)
        #expect(named.httpPort == 9200 && named.httpHost == "127.0.0.1")
        let older = try parse(["run", "--metrics-port", "9100", "--http-host", "0.0.0.0"], as: Run.self).peerConfiguration(signingKey: key)
        #expect(older.httpPort == 9100 && older.httpHost == "0.0.0.0")
        #expect(try parse(["run", "--http-host", "::1"], as: Run.self).peerConfiguration(signingKey: key).httpHost == "::1")
    }

    @Test func infoFlagsAndFileBecomeTheHeartbeatsSubnetFields() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("info-\(UUID().uuidString).json")
        try Data(#"{"stake": 3, "zone": "eu", "old": true}"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let command = try parse(["run", "--info-file", file.path, "--info", "stake=5", "--info", "score=0.5", "--info", "name=alice smith",
                                 "--info", #"tags=["a","b"]"#, "--info", "old=null", "--info", "empty="], as: Run.self)
        let configuration = try command.peerConfiguration(signingKey: key)
        #expect(configuration.info == ["stake": .integer(5), "zone": .string("eu"), "score": .number(0.5), "name": .string("alice smith"),
                                       "tags": .array([.string("a"), .string("b")]), "empty": .string("")])
        #expect(try parse(["run"], as: Run.self).peerConfiguration(signingKey: key).info.isEmpty)
    }

    @Test func badInfoIsRefusedNamingTheFlag() throws {
        func message(_ arguments: [String]) -> String { refusal(["run"] + arguments)?.message ?? "accepted" }
        #expect(message(["--info", "stake"]).contains("--info must be KEY=VALUE, got 'stake'"))
        #expect(message(["--info", "=5"]).contains("--info must be KEY=VALUE"))
        #expect(message(["--info-file", "/nonexistent/info.json"]).contains("--info-file /nonexistent/info.json: cannot be read"))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("info-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data("[1, 2]".utf8).write(to: file)
        #expect(message(["--info-file", file.path]).contains("a JSON object is needed, not array"))
        try Data("{\"stake\": ".utf8).write(to: file)
        #expect(message(["--info-file", file.path]).contains("not JSON"))
        // A heartbeat past a record's 1,000-byte value limit would be refused by every replica.
        let big = String(repeating: "x", count: 900)
        #expect(message(["--info", "blob=\(big)"]).contains("over the 1000-byte limit of a record's value"))
        #expect(message(["--info", "blob=\(big.prefix(600))"]) == "accepted")
    }

    @Test func aPolicyFileReplacesTheKeyPoliciesAndMustLetTheNodesOwnHeartbeatThrough() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("policy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let policy = directory.appendingPathComponent("policy.json").path
        try Data(#"{"keys": {"node": {"roles": ["validator", "miner"], "info": {"stake": {"type": "number", "min": 0}}, "writers_file": "writers.txt", "max_ttl": 300}}, "open_keys": false}"#.utf8)
            .write(to: URL(fileURLWithPath: policy))
        try Data("\(key.publicKey.hex)\n".utf8).write(to: directory.appendingPathComponent("writers.txt"))
        let configuration = try parse(["run", "--policy", policy, "--role", "miner", "--info", "stake=5"], as: Run.self).peerConfiguration(signingKey: key)
        let node = try #require(configuration.node.settings.keyPolicies.policy(for: Array("node".utf8)))
        #expect(node.maxTTL == .seconds(300) && node.allowedWriters == [key.publicKey])
        #expect(!configuration.node.settings.keyPolicies.openKeys)
        // A role outside the defaults is fine when the policy allows it; the policy's own refusals stop the run.
        func message(_ arguments: [String]) -> String { refusal(["run", "--policy", policy] + arguments)?.message ?? "accepted" }
        #expect(message(["--role", "worker", "--info", "stake=5"]).contains("the policy refuses this node's own heartbeat under node: role worker is not one of this subnet's roles"))
        #expect(message(["--role", "miner"]).contains("info.stake is required"))
        #expect(message(["--role", "miner", "--info", "stake=-2"]).contains("info.stake must be at least 0"))
        #expect(message(["--role", "miner", "--no-heartbeat"]) == "accepted")
        #expect(message(["--role", "miner", "--info", "stake=5", "--heartbeat-ttl", "400"])
            .contains("the policy's max_ttl for node (300.0 seconds) is below --heartbeat-ttl (400.0 seconds)"))
        #expect(refusal(["run", "--policy", directory.appendingPathComponent("none.json").path])?.message.contains("none.json: cannot be read") == true)
        // A key not among the writers cannot heartbeat.
        #expect(throws: (any Error).self) {
            try parse(["run", "--policy", policy, "--role", "miner", "--info", "stake=5"], as: Run.self).peerConfiguration(signingKey: .generate())
        }
        // --open-keys still opens keys the policy leaves closed.
        let open = try parse(["run", "--policy", policy, "--role", "miner", "--info", "stake=5", "--open-keys"], as: Run.self).peerConfiguration(signingKey: key)
        #expect(open.node.settings.keyPolicies.openKeys)
    }

    @Test func everyFlagReachesTheConfiguration() throws {
        let id = String(repeating: "ab", count: 20)
        let command = try parse(["run", "--host", "127.0.0.2", "--port", "0", "--node-id", id, "--open-keys",
                                 "--role", "miner", "--name", "gpu-7", "--key", "pool", "--state-dir", "/tmp/state",
                                 "--metrics-port", "9100", "--rate-limit", "40", "--max-records", "123",
                                 "--heartbeat-interval", "5", "--heartbeat-ttl", "16", "--prune-interval", "2",
                                 "--network-id", "7", "--bootstrap", "127.0.0.1:7000", "--bootstrap", "[::1]:7001"], as: Run.self)
        let configuration = try command.peerConfiguration(signingKey: key)
        #expect(configuration.node.host == "127.0.0.2")
        #expect(configuration.node.port == 0)
        #expect(configuration.node.nodeID == NodeID(hex: id))
        #expect(configuration.node.signingKey.publicKey == key.publicKey)
        #expect(configuration.node.settings.keyPolicies.openKeys)
        #expect(configuration.node.settings.networkID == 7)
        #expect(configuration.node.settings.rateLimit.queriesPerSecond == 40)
        #expect(configuration.node.settings.rateLimit.burst == 80)
        #expect(configuration.node.settings.recordStore.maxRecords == 123)
        #expect(configuration.node.settings.pruneInterval == .seconds(2))
        #expect(configuration.heartbeat == HeartbeatSettings(key: "pool", interval: .seconds(5), ttl: .seconds(16), pruneInterval: .seconds(2)))
        #expect(configuration.role == "miner")
        #expect(configuration.name == "gpu-7")
        #expect(configuration.stateDirectory == "/tmp/state")
        #expect(configuration.httpPort == 9100)
        #expect(configuration.bootstrap == [Endpoint("127.0.0.1:7000")!, Endpoint("[::1]:7001")!])
    }

    @Test func theNodeShardDepthReachesTheNodeKeysPolicyAndNothingElse() throws {
        let node = Array("node".utf8)
        let plain = try parse(["run"], as: Run.self).peerConfiguration(signingKey: key)
        #expect(plain.node.settings.keyPolicies.policy(for: node)?.shardDepth == 0)
        let sharded = try parse(["run", "--node-shard-depth", "2", "--open-keys"], as: Run.self).peerConfiguration(signingKey: key)
        #expect(sharded.node.settings.keyPolicies.policy(for: node)?.shardDepth == 2)
        #expect(sharded.node.settings.keyPolicies.policy(for: Array("jobs".utf8))?.shardDepth == 0)
        #expect(refusal(["run", "--node-shard-depth", "8"]) == nil)
    }

    @Test func noHeartbeatKeepsTheNodeButPublishesNothing() throws {
        let configuration = try parse(["run", "--no-heartbeat"], as: Run.self).peerConfiguration(signingKey: key)
        #expect(configuration.heartbeat == nil)
    }

    @Test func rateLimitZeroTurnsTheLimiterOff() throws {
        let configuration = try parse(["run", "--rate-limit", "0"], as: Run.self).peerConfiguration(signingKey: key)
        #expect(configuration.node.settings.rateLimit.queriesPerSecond == 0)
        #expect(configuration.node.settings.rateLimit.burst == 0)
    }

    @Test func jsonLogsAndLogLevelAreParsed() throws {
        let command = try parse(["run", "--json-logs", "--log-level", "debug"], as: Run.self)
        #expect(command.subnet.jsonLogs)
        #expect(command.subnet.logLevel == "debug")
    }

    @Test(arguments: [
        (["--port", "65536"], "--port must be 0 to 65535"),
        (["--port=-1"], "--port must be 0 to 65535"),
        (["--node-id", "abc"], "--node-id must be 40 hex digits"),
        (["--node-id", String(repeating: "g", count: 40)], "--node-id must be 40 hex digits"),
        (["--metrics-port", "70000"], "--metrics-port must be 0 to 65535"),
        (["--http-port", "70000"], "--http-port or --metrics-port must be 0 to 65535"),
        (["--http-host", "localhost"], "--http-host must be an IP address, got 'localhost'"),
        (["--role", "king"], "--role must be one of bootstrap, coordinator, miner, standby, validator, worker"),
        (["--name", String(repeating: "n", count: 65)], "--name is longer than 64 bytes"),
        (["--rate-limit=-1"], "--rate-limit must be 0 or more"),
        (["--rate-limit", "inf"], "--rate-limit must be 0 or more"),
        (["--max-records", "0"], "--max-records must be 1 to 10,000,000"),
        (["--max-records", "10000001"], "--max-records must be 1 to 10,000,000"),
        (["--key", String(repeating: "k", count: 65)], "the heartbeat key must be 1 to 64 bytes"),
        (["--log-level", "loud"], "unknown --log-level loud"),
        (["--heartbeat-interval", "10", "--heartbeat-ttl", "10"], "must be at least 1 s longer than the interval"),
        (["--heartbeat-ttl", "3601"], "the heartbeat TTL may be at most 3600 s"),
        (["--prune-interval", "60"], "the prune interval (60.0 seconds) must be shorter than TTL - interval (60.0 seconds)"),
        (["--bootstrap", "nowhere"], "not a HOST:PORT address: nowhere"),
        (["--node-shard-depth", "9"], "--node-shard-depth must be 0 to 8"),
        (["--node-shard-depth=-1"], "--node-shard-depth must be 0 to 8"),
    ] as [([String], String)])
    func badValuesAreRefusedNamingWhatIsWrong(flags: [String], message: String) throws {
        let refused = try #require(refusal(["run"] + flags))
        #expect(refused.message.contains(message), "\(flags): \(refused.message)")
        #expect(refused.status == usageStatus)
    }

    @Test func theLimitsThemselvesAreAccepted() throws {
        for flags in [["--port", "65535"], ["--port", "0"], ["--name", String(repeating: "n", count: 64)],
                      ["--max-records", "1"], ["--max-records", "10000000"], ["--rate-limit", "0"],
                      ["--key", String(repeating: "k", count: 64)], ["--heartbeat-interval", "10", "--heartbeat-ttl", "11", "--prune-interval", "0.5"],
                      ["--heartbeat-ttl", "3600"]] {
            #expect(refusal(["run"] + flags) == nil, "\(flags)")
        }
    }

    @Test func anUnknownFlagIsRefused() throws {
        let refused = try #require(refusal(["run", "--open-key"]))
        #expect(refused.message.contains("--open-key"))
        #expect(refused.status == usageStatus)
    }
}
