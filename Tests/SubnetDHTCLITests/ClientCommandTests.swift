import SubnetDHT
import Testing
@testable import subnet_dht

/// The client commands (`ping`, `put`, `get`, `lookup`, `records`, `peers`, `keygen`) and
/// `testnet`: what each accepts and what it refuses, before any network is touched.
@Suite struct ClientCommandTests {
    let target = String(repeating: "0f", count: 20)
    let publicKey = SigningKey.generate().publicKey.hex

    @Test func everySubcommandIsReachedByItsName() throws {
        #expect(try parse(["ping", "127.0.0.1:6881"]) is Ping)
        #expect(try parse(["put", "hello", "--bootstrap", "127.0.0.1:6881"]) is Put)
        #expect(try parse(["get", target]) is Get)
        #expect(try parse(["lookup", target]) is Lookup)
        #expect(try parse(["records"]) is Records)
        #expect(try parse(["peers"]) is Peers)
        #expect(try parse(["keygen", "--out", "/tmp/id"]) is Keygen)
        #expect(try parse(["announce", "jobs", "hello", "--bootstrap", "127.0.0.1:6881"]) is Announce)
        #expect(try parse(["update", "--http-port", "9100", "--tput", "1"]) is Update)
        #expect(try parse(["testnet"]) is Testnet)
        #expect(try parse(["run"]) is Run)
        #expect(try parse(["bench"]) is Bench)
        let unknown = try #require(refusal(["serve"]))
        #expect(unknown.status == usageStatus)
    }

    @Test func versionNamesThePackageTheProtocolAndTheCommit() throws {
        let line = SubnetDHTCommand.versionLine
        #expect(line.hasPrefix("subnet-dht \(SubnetDHTVersion.current) (protocol \(SubnetDHTVersion.protocolVersion), commit "))
        // Built from this checkout: a 12-digit commit (with -modified while the tree differs from it).
        let commit = String(line.split(separator: " ").last?.dropLast() ?? "")
        #expect(commit.prefix(12).allSatisfy(\.isHexDigit) && commit.count >= 12, "\(line)")
    }

    @Test func readersTakeAPolicyFileAndRefuseABadOne() throws {
        #expect(refusal(["peers", "--policy", "/nonexistent/policy.json", "--bootstrap", "127.0.0.1:6881"])?.message.hasPrefix("--policy ") == true)
        #expect(refusal(["records", "jobs", "--policy", "/nonexistent/policy.json", "--bootstrap", "127.0.0.1:6881"])?.message.hasPrefix("--policy ") == true)
        #expect(try parse(["peers", "--bootstrap", "127.0.0.1:6881"], as: Peers.self).readerPolicy.policy == nil)
    }

    @Test func updateSendsOnlyTheFieldsGivenAndRefusesWhatTheNodeWould() throws {
        let update = try parse(["update", "--http-port", "9100", "--tput", "12.5", "--name", "", "--state", "offline",
                                "--info", "stake=5", "--info", "zone=null", "--info", "tag=gpu"], as: Update.self)
        #expect(try update.body() == #"{"info":{"stake":5,"tag":"gpu","zone":null},"name":null,"state":"offline","tput":12.5}"#)
        #expect(try parse(["update", "--http-port", "9100", "--role", "miner"], as: Update.self).body() == #"{"role":"miner"}"#)
        #expect(refusal(["update", "--http-port", "9100"])?.message.contains("nothing to change") == true)
        #expect(refusal(["update", "--http-port", "9100", "--state", "joining"])?.message.contains("--state must be online or offline") == true)
        #expect(refusal(["update", "--http-port", "9100", "--tput=-1"])?.message.contains("tput must be a number") == true)
        #expect(refusal(["update", "--http-port", "0", "--tput", "1"])?.message.contains("--http-port must be 1 to 65535") == true)
        #expect(refusal(["update", "--http-port", "9100", "--info", "=5"])?.message.contains("--info must be KEY=VALUE") == true)
    }

    @Test func announceReadsItsValueAsJSONOrTextAndRefusesWhatBencodeCannotHold() throws {
        func value(_ text: String) throws -> BValue {
            try parse(["announce", "jobs", text, "--bootstrap", "127.0.0.1:6881"], as: Announce.self).bencodedValue()
        }
        #expect(try value(#"{"task": "resize", "size": 640, "tags": ["a"]}"#)
            == .dict([Array("task".utf8): .string("resize"), Array("size".utf8): .int(640), Array("tags".utf8): .list([.string("a")])]))
        #expect(try value("plain words") == .string("plain words"))
        #expect(try value("42") == .int(42))
        let fraction = try #require(refusal(["announce", "jobs", "0.5", "--bootstrap", "127.0.0.1:6881"]))
        #expect(fraction.status == usageStatus && fraction.message.contains("bencode has no fractional number"))
        #expect(refusal(["announce", "jobs", #"{"ok": true}"#, "--bootstrap", "127.0.0.1:6881"])?.message.contains("bencode has no boolean") == true)
        #expect(refusal(["announce", String(repeating: "k", count: 65), "v", "--bootstrap", "127.0.0.1:6881"])?.message.contains("KEY must be 1 to 64 bytes") == true)
        #expect(refusal(["announce", "jobs", "v", "--ttl", "0", "--bootstrap", "127.0.0.1:6881"])?.message.contains("--ttl must be at least 1") == true)
        #expect(refusal(["announce", "jobs", String(repeating: "x", count: 1_000), "--bootstrap", "127.0.0.1:6881"])?.message
            .contains("over the 1000-byte limit") == true)
        #expect(try parse(["announce", "jobs", "v", "--bootstrap", "127.0.0.1:6881"], as: Announce.self).ttl == 600)
    }

    @Test func networkOptionsAreSharedByTheClientCommands() throws {
        let get = try parse(["get", target, "--bootstrap", "127.0.0.1:7000", "--bootstrap", "[::1]:7001", "--network-id", "9"], as: Get.self)
        #expect(try get.network.bootstrapEndpoints() == [Endpoint("127.0.0.1:7000")!, Endpoint("[::1]:7001")!])
        #expect(get.network.networkID == 9)
        let ping = try parse(["ping", "127.0.0.1:7000", "--network-id", "9"], as: Ping.self)
        #expect(ping.network.networkID == 9)
        let refused = try #require(refusal(["records", "--bootstrap", "127.0.0.1"]))
        #expect(refused.message.contains("not a HOST:PORT address: 127.0.0.1"))
        #expect(refused.status == usageStatus)
    }

    @Test func getTakesEitherATargetOrAKey() throws {
        #expect(try parse(["get", target], as: Get.self).target == target)
        let mutable = try parse(["get", "--key", publicKey, "--salt", "s"], as: Get.self)
        #expect(mutable.key == publicKey)
        #expect(mutable.salt == "s")
        let cases: [([String], String)] = [
            (["get"], "give either TARGET_HEX or --key PUBLIC_KEY_HEX"),
            (["get", target, "--key", publicKey], "give either TARGET_HEX or --key PUBLIC_KEY_HEX"),
            (["get", String(target.dropLast())], "TARGET_HEX must be 40 hex digits"),
            (["get", "--key", String(publicKey.dropLast(2))], "--key must be 64 hex digits"),
            (["get", "--key", String(repeating: "x", count: 64)], "--key must be 64 hex digits"),
        ]
        for (arguments, message) in cases {
            let refused = try #require(refusal(arguments), "\(arguments)")
            #expect(refused.message.contains(message), "\(arguments): \(refused.message)")
            #expect(refused.status == usageStatus)
        }
    }

    @Test func putLimitsTheValueToAThousandBytesOnceBencoded() throws {
        // "996:" + 996 bytes is 1,000 bytes bencoded; one more byte is 1,002.
        #expect(refusal(["put", String(repeating: "v", count: 996)]) == nil)
        let refused = try #require(refusal(["put", String(repeating: "v", count: 997)]))
        #expect(refused.message.contains("the value is longer than 1,000 bytes once bencoded"))
        #expect(refused.status == usageStatus)
    }

    @Test func putRefusesSaltAndIdentityOnImmutableItemsAndLongSalts() throws {
        #expect(try parse(["put", "v", "--immutable"], as: Put.self).immutable)
        #expect(refusal(["put", "v", "--salt", String(repeating: "s", count: 64)]) == nil)
        let cases: [([String], String)] = [
            (["put", "v", "--immutable", "--salt", "s"], "--salt and --identity apply to mutable items only"),
            (["put", "v", "--immutable", "--identity", "/tmp/id"], "--salt and --identity apply to mutable items only"),
            (["put", "v", "--salt", String(repeating: "s", count: 65)], "--salt is longer than 64 bytes"),
            (["put"], "Missing expected argument"),
        ]
        for (arguments, message) in cases {
            let refused = try #require(refusal(arguments), "\(arguments)")
            #expect(refused.message.contains(message), "\(arguments): \(refused.message)")
            #expect(refused.status == usageStatus)
        }
    }

    @Test func lookupNeedsAFullTarget() throws {
        #expect(try parse(["lookup", target], as: Lookup.self).target == target)
        let refused = try #require(refusal(["lookup", "00"]))
        #expect(refused.message.contains("TARGET_HEX must be 40 hex digits"))
    }

    @Test func recordsReadsNodeUnlessAKeyIsGiven() throws {
        let plain = try parse(["records"], as: Records.self)
        #expect(plain.key == "node")
        #expect(!plain.json && !plain.all)
        let other = try parse(["records", "jobs", "--json", "--all"], as: Records.self)
        #expect(other.key == "jobs")
        #expect(other.json && other.all)
    }

    @Test func peersWatchesNoFasterThanFiveTimesASecond() throws {
        let watch = try parse(["peers", "--watch", "--interval", "0.2", "--key", "pool"], as: Peers.self)
        #expect(watch.watch)
        #expect(watch.interval == 0.2)
        #expect(watch.key == "pool")
        #expect(try parse(["peers"], as: Peers.self).interval == 2)
        let refused = try #require(refusal(["peers", "--watch", "--interval", "0.19"]))
        #expect(refused.message.contains("--interval must be at least 0.2 s"))
        #expect(refused.status == usageStatus)
    }

    @Test func keygenNeedsAFile() throws {
        let keygen = try parse(["keygen", "--out", "/tmp/id", "--force"], as: Keygen.self)
        #expect(keygen.out == "/tmp/id")
        #expect(keygen.force)
        let refused = try #require(refusal(["keygen"]))
        #expect(refused.message.contains("--out"))
        #expect(refused.status == usageStatus)
    }

    @Test func testnetBoundsItsSize() throws {
        let testnet = try parse(["testnet", "--nodes", "256", "--base-port", "7000", "--duration", "1.5",
                                 "--heartbeat-interval", "2", "--heartbeat-ttl", "6"], as: Testnet.self)
        #expect(testnet.nodes == 256)
        #expect(testnet.basePort == 7000)
        #expect(testnet.duration == 1.5)
        #expect(try testnet.subnet.heartbeatSettings(key: "node").ttl == .seconds(6))
        #expect(refusal(["testnet", "--nodes", "4", "--base-port", "65531"]) == nil)
        let cases: [([String], String)] = [
            (["testnet", "--nodes", "0"], "--nodes must be 1 to 256"),
            (["testnet", "--nodes", "257"], "--nodes must be 1 to 256"),
            (["testnet", "--nodes", "4", "--base-port", "65532"], "--base-port leaves no room for 4 ports"),
            (["testnet", "--duration", "0"], "--duration must be positive"),
            (["testnet", "--heartbeat-interval", "0"], "the heartbeat interval must be positive"),
        ]
        for (arguments, message) in cases {
            let refused = try #require(refusal(arguments), "\(arguments)")
            #expect(refused.message.contains(message), "\(arguments): \(refused.message)")
            #expect(refused.status == usageStatus)
        }
    }

    @Test func benchBoundsItsLoad() throws {
        #expect(refusal(["bench", "--puts", "10000", "--value-size", "990"]) == nil)
        for (arguments, message) in [(["bench", "--puts", "10001"], "--puts must be 1 to 10,000"),
                                     (["bench", "--value-size", "991"], "--value-size must be 1 to 990")] {
            let refused = try #require(refusal(arguments), "\(arguments)")
            #expect(refused.message.contains(message), "\(arguments): \(refused.message)")
        }
    }
}
