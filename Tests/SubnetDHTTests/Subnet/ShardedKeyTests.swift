import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension SubnetTests {
    /// Keys stored under several targets by owner (docs/PROTOCOL.md 3.3): heartbeats go to
    /// their owner's shard, views follow every shard, and a full read gathers them all.
    @Suite(.offCooperativePool) struct ShardedKeyTests {
        private static func shardedSettings(depth: Int) -> DHTSettings {
            var settings = DHTSettings.loopbackTestNetwork
            var policy = KeyPolicy.node()
            policy.shardDepth = depth
            settings.keyPolicies.register(policy, for: "node")
            return settings
        }

        @Test func shardTargetsAreDistinctAndNamedByTheOwnersTopBits() throws {
            let key = RecordFixtures.nodeKey
            let targets = KeyedRecord.storageTargets(forKey: key, shardDepth: 4)
            #expect(targets.count == 16 && Set(targets).count == 16 && !targets.contains(KeyedRecord.target(forKey: key)))
            #expect(KeyedRecord.storageTargets(forKey: key, shardDepth: 0) == [KeyedRecord.target(forKey: key)])
            var bytes = [UInt8](repeating: 0, count: 32)
            bytes[0] = 0b1011_0111
            let owner = try #require(PublicKey(bytes: bytes))
            #expect(KeyedRecord.target(forKey: key, owner: owner, shardDepth: 4) == targets[0b1011])
            #expect(KeyedRecord.target(forKey: key, owner: owner, shardDepth: 0) == KeyedRecord.target(forKey: key))
            // Another key never lands on a shard of this one.
            #expect(!targets.contains(KeyedRecord.target(forKey: key + [0, 4, 0b1011])))
        }

        @Test func aReplicaStoresUnderTheShardTheAnnounceNames() throws {
            var peer = RecordPeer()
            let owner = SigningKey.generate()
            let record = RecordFixtures.heartbeat(owner, seq: 1, expires: peer.nowSeconds + 60)
            let shard = KeyedRecord.target(forKey: record.key, owner: owner.publicKey, shardDepth: 3)
            func token(for target: NodeID) -> [UInt8] {
                guard case .response(let body)? = peer.peer.ask(.getRecords(target: target, after: QueryMethod.tokenOnlyCursor, want: nil))?.body
                else { return [] }
                return body.token ?? []
            }
            func announce(_ token: [UInt8], depth: BValue?) -> Int? {
                let arguments = RecordFixtures.arguments(record, token: token) { if let depth { $0[Array("sd".utf8)] = depth } }
                switch peer.peer.ask(.announceRecord(arguments: arguments))?.body {
                case .response?: return 0
                case .error(let error)?: return error.code
                default: return nil
                }
            }
            // The token must be the shard's, and `sd` an integer from 0 to 8.
            #expect(announce(token(for: record.target), depth: .int(3)) == 203)
            #expect(announce(token(for: shard), depth: .int(9)) == 203)
            #expect(announce(token(for: shard), depth: .string("3")) == 203)
            #expect(announce(token(for: shard), depth: .int(3)) == 0)
            let store = peer.peer.core.responder.recordStore
            #expect(store.record(target: shard, owner: owner.publicKey, now: peer.peer.now) == record)
            #expect(store.record(target: record.target, owner: owner.publicKey, now: peer.peer.now) == nil)
        }

        @Test func heartbeatsSpreadOverShardsAndEveryViewAndFullReadHasEveryone() {
            let subnet = InMemoryTestnet(count: 16, seed: 83, settings: Self.shardedSettings(depth: 2))
            let keys = subnet.startHeartbeats()
            subnet.network.run(for: .seconds(45))
            let everyone = Set(keys.values.map(\.publicKey))
            for endpoint in subnet.endpoints {
                #expect(Set(subnet.network.core(at: endpoint)?.livePeers(now: subnet.network.now).map(\.owner) ?? []) == everyone, "\(endpoint)")
            }
            // Stored under the four shard targets by owner, nowhere under SHA1(node).
            let targets = KeyedRecord.storageTargets(forKey: RecordFixtures.nodeKey, shardDepth: 2)
            var holding = Set<NodeID>()
            for endpoint in subnet.endpoints {
                let store = subnet.network.core(at: endpoint)!.responder.recordStore
                #expect(store.ownerCount(target: KeyedRecord.target(forKey: RecordFixtures.nodeKey), now: subnet.network.now) == 0)
                for (index, target) in targets.enumerated() where store.ownerCount(target: target, now: subnet.network.now) > 0 {
                    holding.insert(target)
                    for record in store.records(target: target, after: nil, limit: .max, now: subnet.network.now) {
                        #expect(Int(record.owner.bytes[0] >> 6) == index)
                    }
                }
            }
            #expect(holding.count >= 3, "records under \(holding.count) of 4 shard targets")
            // A full read of the key gathers every shard as one operation.
            let reader = subnet.endpoints[0]
            let read = subnet.network.with(reader) { core, now in core.startRecordsLookup(key: RecordFixtures.nodeKey, now: now) }
            guard case .lookup(let result)? = subnet.network.await(read, at: reader) else { Issue.record("no read result"); return }
            #expect(Set(result.records.map(\.owner)) == everyone && result.records.count == 16)
        }
    }
}
