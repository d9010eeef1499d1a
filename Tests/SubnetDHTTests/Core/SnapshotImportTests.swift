import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension CoreTests {
    /// A snapshot file is untrusted input: importing one must check every record as a store
    /// from the network would be checked (the token aside), and only ping its contacts.
    @Suite struct SnapshotImportTests {
        let now = Timestamp(seconds: 1_700_000_000)

        func core(_ configure: (inout DHTSettings) -> Void = { _ in }) -> DHTCore {
            var settings = DHTSettings.loopbackTestNetwork
            configure(&settings)
            return DHTCore(localID: .random(), settings: settings, now: now)
        }

        func heartbeat(expires: Int64, by key: SigningKey = .generate(), seq: Int64 = 1) -> KeyedRecord {
            RecordFixtures.heartbeat(key, seq: seq, expires: expires)
        }

        @Test func onlyValidUnexpiredPoliciedRecordsComeBack() throws {
            let valid = heartbeat(expires: now.seconds + 60)
            var forged = heartbeat(expires: now.seconds + 60)
            forged.seq += 1  // the signature was over seq 1
            let expired = heartbeat(expires: now.seconds)
            let unpolicied = KeyedRecord.signed(key: Array("svc/jobs".utf8), value: .int(1), seq: 1, expires: now.seconds + 60, by: .generate())
            // Signed properly, but not a ServerInfo: the `node` policy's schema refuses it.
            let corrupt = KeyedRecord.signed(key: Array("node".utf8), value: .string("not a server"), seq: 1, expires: now.seconds + 60, by: .generate())
            let oversized = KeyedRecord.signed(key: Array("node".utf8), value: .bytes([UInt8](repeating: 1, count: 1200)), seq: 1,
                                               expires: now.seconds + 60, by: .generate())
            var node = core()
            let snapshot = NodeSnapshot(nodeID: .random(), contacts: [], records: [valid, forged, expired, unpolicied, corrupt, oversized], savedAt: now)
            #expect(node.importSnapshot(snapshot, now: now) == 1)
            #expect(node.storedRecordCount == 1)
            #expect(node.exportSnapshot(now: now).records == [valid])
        }

        @Test func anUnpoliciedKeyComesBackUnderOpenKeysAndAllowedWritersHold() throws {
            let alice = SigningKey.generate(), bob = SigningKey.generate()
            let jobs = Array("jobs".utf8)
            let byAlice = KeyedRecord.signed(key: jobs, value: .int(1), seq: 1, expires: now.seconds + 60, by: alice)
            let byBob = KeyedRecord.signed(key: jobs, value: .int(2), seq: 1, expires: now.seconds + 60, by: bob)
            var open = core { $0.keyPolicies.openKeys = true }
            #expect(open.importSnapshot(NodeSnapshot(nodeID: .random(), contacts: [], records: [byAlice, byBob], savedAt: now), now: now) == 2)
            var restricted = core {
                $0.keyPolicies.register(KeyPolicy(maxTTL: .seconds(600), maxOwners: 10, storesPerOwnerPerMinute: 60, allowedWriters: [alice.publicKey]),
                                        for: "jobs")
            }
            #expect(restricted.importSnapshot(NodeSnapshot(nodeID: .random(), contacts: [], records: [byAlice, byBob], savedAt: now), now: now) == 1)
            #expect(restricted.exportSnapshot(now: now).records == [byAlice])
        }

        @Test func contactsAreOnlyPingedAndOurOwnIDIsSkipped() throws {
            var node = core()
            let contacts = SnapshotFixtures.contacts(ipv4: 3, ipv6: 0) + [NodeInfo(id: node.localID, endpoint: Endpoint("127.0.0.1:9999")!)]
            node.importSnapshot(NodeSnapshot(nodeID: .random(), contacts: contacts, records: [], savedAt: now), now: now)
            let pinged = node.takeEffects().compactMap { effect -> Endpoint? in
                guard case .send(let bytes, let destination) = effect, let message = try? KRPCCodec.decode(bytes),
                    case .query(let query) = message.body, query.method == .ping else { return nil }
                return destination
            }
            #expect(Set(pinged) == Set(contacts.prefix(3).map(\.endpoint)))
            // Unproven until they answer: none is in the routing table yet.
            #expect(node.routingTableSize == 0)
        }
    }
}
