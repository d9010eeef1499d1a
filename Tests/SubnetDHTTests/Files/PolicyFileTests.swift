import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension FilesTests {
    /// `--policy FILE`: the subnet's validator rules read from JSON, enforced as key policies,
    /// and every mistake named by file, line and field.
    @Suite struct PolicyFileTests {
        private let staked = SigningKey.generate(), other = SigningKey.generate()
        private let path = "/etc/subnet/policy.json"

        private func parse(_ text: String, writers: String = "") throws(PolicyFileError) -> PolicyFile {
            try PolicyFile.parse(Array(text.utf8), path: path) { file throws(PolicyFileError) in
                guard file == "/etc/subnet/writers.txt" else { throw PolicyFileError(path: file, line: nil, field: nil, reason: "no such file") }
                return Array(writers.utf8)
            }
        }

        private func heartbeat(role: String = "miner", info: [String: JSONValue], by owner: SigningKey) -> KeyedRecord {
            let value = ServerInfo(state: .online, role: role, throughput: 0, address: Endpoint("127.0.0.1:6881")!, info: info)
            return KeyedRecord.signed(key: Array("node".utf8), value: value.bencoded, seq: 1, expires: 1_800_000_100, by: owner)
        }

        private func failure(_ text: String, writers: String = "") -> String {
            do {
                _ = try parse(text, writers: writers)
                return "parsed"
            } catch {
                return error.description
            }
        }

        @Test func theIssuesShapeBecomesThePoliciesTheNodeEnforces() throws {
            let file = try parse("""
                {"keys": {"node": {"roles": ["validator", "miner"],
                                   "info": {"stake": {"type": "number", "min": 0}},
                                   "writers_file": "writers.txt", "max_ttl": 300}},
                 "open_keys": false}
                """, writers: "# staked on chain\n\(staked.publicKey.hex)\n\n")
            #expect(file.writersFiles == ["node": "/etc/subnet/writers.txt"])
            #expect(!file.policies.openKeys)
            let node = try #require(file.policies.policy(for: Array("node".utf8)))
            #expect(node.maxTTL == .seconds(300))
            #expect(node.allowedWriters == [staked.publicKey])
            #expect(node.refusal(of: heartbeat(info: ["stake": .integer(5)], by: staked)) == nil)
            #expect(node.refusal(of: heartbeat(info: ["stake": .number(0.5)], by: staked)) == nil)
            #expect(node.refusal(of: heartbeat(info: ["stake": .integer(5)], by: other)) == "owner may not write this key")
            #expect(node.refusal(of: heartbeat(role: "admin", info: ["stake": .integer(5)], by: staked))
                == "role admin is not one of this subnet's roles")
            #expect(node.refusal(of: heartbeat(info: [:], by: staked)) == "info.stake is required")
            #expect(node.refusal(of: heartbeat(info: ["stake": .integer(-1)], by: staked)) == "info.stake must be at least 0")
            #expect(node.refusal(of: heartbeat(info: ["stake": .string("5")], by: staked)) == "info.stake must be a number, not string")
            // Keys the file does not name stay refused, as without a file.
            #expect(file.policies.policy(for: Array("jobs".utf8)) == nil)
        }

        @Test func everyRuleOfAKeyApplies() throws {
            let file = try parse("""
                {"keys": {"node": {"info": {"zone": {"type": "string", "values": ["eu", "us"], "required": false},
                                            "slots": {"type": "integer", "min": 1, "max": 8}}},
                          "jobs": {"writers": ["\(staked.publicKey.hex)"], "max_owners": 5, "stores_per_owner_per_minute": 2,
                                   "max_value_bytes": 20, "max_ttl": 60}},
                 "open_keys": true}
                """)
            #expect(file.policies.openKeys)
            let node = try #require(file.policies.policy(for: Array("node".utf8)))
            #expect(node.refusal(of: heartbeat(info: ["slots": .integer(4)], by: other)) == nil)
            #expect(node.refusal(of: heartbeat(info: ["slots": .integer(4), "zone": .string("ap")], by: other)) == #"info.zone must be one of "eu", "us""#)
            #expect(node.refusal(of: heartbeat(info: ["slots": .number(2.5)], by: other)) == "info.slots must be an integer, not number")
            #expect(node.refusal(of: heartbeat(info: ["slots": .integer(9)], by: other)) == "info.slots must be at most 8")
            let jobs = try #require(file.policies.policy(for: Array("jobs".utf8)))
            #expect(jobs.maxOwners == 5 && jobs.storesPerOwnerPerMinute == 2 && jobs.maxTTL == .seconds(60))
            let small = KeyedRecord.signed(key: Array("jobs".utf8), value: .string("ok"), seq: 1, expires: 1_800_000_100, by: staked)
            let big = KeyedRecord.signed(key: Array("jobs".utf8), value: .string(String(repeating: "x", count: 30)), seq: 1, expires: 1_800_000_100, by: staked)
            #expect(jobs.refusal(of: small) == nil)
            #expect(jobs.refusal(of: big) == "value is 33 bytes, over this key's 20")
        }

        @Test func aMistakeIsNamedByFileLineAndField() {
            #expect(failure("{\"keys\": {\"node\": {\n  \"max_ttl\": 0}}}") == "/etc/subnet/policy.json line 2: keys.node.max_ttl: must be 1 to 86400 seconds")
            #expect(failure("{\"keys\": {\"node\": {\n\n  \"maxttl\": 30}}}")
                .hasPrefix("/etc/subnet/policy.json line 3: keys.node.maxttl: is not a known field (known: roles, info, writers"))
            #expect(failure("{\"keys\": {\"node\": {\"roles\": []}}}") == "/etc/subnet/policy.json line 1: keys.node.roles: lists no role: no heartbeat could be stored")
            #expect(failure("{\"keys\": {\"node\": {\"info\": {\"stake\": {\"type\": \"number\", \"min\": 5, \"max\": 1}}}}}")
                == "/etc/subnet/policy.json line 1: keys.node.info.stake.min: is above max: no value could pass")
            #expect(failure("{\"keys\": {\"node\": {\"info\": {\"zone\": {\"type\": \"string\", \"min\": 1}}}}}")
                .contains("keys.node.info.zone.min: applies to a number or integer, not a string"))
            #expect(failure("{\"keys\": {\"node\": {\"info\": {\"zone\": {\"type\": \"text\"}}}}}").contains("\"text\" is not one of number, integer"))
            #expect(failure("{\"keys\": {\"node\": {\"max_owners\": \"many\"}}}").contains("keys.node.max_owners: must be an integer, not string"))
            #expect(failure("{\"keys\": {\"node\": {\"writers\": [\"abc\"]}}}").contains("\"abc\" is not a public key"))
            #expect(failure("{\"open_keys\": true}").contains("keys: is required"))
            #expect(failure("[1]").contains("must be an object, not array"))
            #expect(failure("{\"keys\": ").hasPrefix("/etc/subnet/policy.json: not JSON"))
            // A writers file: its own path and line.
            #expect(failure("{\"keys\": {\"node\": {\"writers_file\": \"writers.txt\"}}}", writers: "\(staked.publicKey.hex)\nnot-a-key\n")
                == "/etc/subnet/writers.txt line 2: not a public key (64 hex digits): not-a-key")
            #expect(failure("{\"keys\": {\"node\": {\"writers_file\": \"missing.txt\"}}}") == "/etc/subnet/missing.txt: no such file")
        }
    }
}
