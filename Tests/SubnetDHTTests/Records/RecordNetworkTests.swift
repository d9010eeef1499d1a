import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension InMemoryTestnet {
    func announce(from endpoint: Endpoint, _ record: KeyedRecord) -> StoreResult? {
        let operation = network.with(endpoint) { core, now in core.startAnnounce(record, now: now) }
        guard case .store(let result)? = network.await(operation, at: endpoint) else { return nil }
        return result
    }

    func records(from endpoint: Endpoint, key: [UInt8]) -> LookupResult? {
        let operation = network.with(endpoint) { core, now in core.startRecordsLookup(key: key, now: now) }
        guard case .lookup(let result)? = network.await(operation, at: endpoint) else { return nil }
        return result
    }
}

extension RecordsTests {
    @Suite(.offCooperativePool) struct RecordNetworkTests {
        @Test func thirtyTwoNodesSeeTwoHundredOwnersUntilTheyExpire() throws {
            let subnet = InMemoryTestnet(count: 32, seed: 21)
            let expires = subnet.network.now.seconds + 90
            var expected = [KeyedRecord]()
            for index in 0..<200 {
                let info = RecordFixtures.serverInfo(port: UInt16(30_000 + index), name: "owner-\(index)")
                let record = RecordFixtures.heartbeat(.generate(), seq: 1, expires: expires, info: info)
                let result = try #require(subnet.announce(from: subnet.endpoints[index % 32], record))
                #expect(result.accepted.count == 8, "owner \(index) stored on \(result.accepted.count)")
                #expect(result.rejected.isEmpty)
                expected.append(record)
            }
            expected.sort { $0.owner < $1.owner }
            for endpoint in subnet.endpoints {
                let read = try #require(subnet.records(from: endpoint, key: RecordFixtures.nodeKey))
                #expect(read.records == expected, "\(endpoint) read \(read.records.count)")
            }
            // Past the expiry and one upkeep round: nothing is returned and nothing is stored.
            subnet.network.run(for: .seconds(100))
            let late = try #require(subnet.records(from: subnet.endpoints[7], key: RecordFixtures.nodeKey))
            #expect(late.records.isEmpty)
            for endpoint in subnet.endpoints {
                #expect(subnet.network.core(at: endpoint)?.storedRecordCount == 0)
            }
        }
    }
}

extension RecordsTests {
    @Suite struct AnnounceLookupTests {
        static let now = Timestamp(seconds: 1_700_000_000)

        /// Two cores joined by hand, every datagram between them recorded.
        private struct Pair {
            var announcer = DHTCore(localID: .random(), settings: .loopbackTestNetwork, now: AnnounceLookupTests.now)
            var replica = DHTCore(localID: .random(), settings: .loopbackTestNetwork, now: AnnounceLookupTests.now)
            let announcerAt = Endpoint("127.0.0.1:41001")!, replicaAt = Endpoint("127.0.0.1:41002")!
            var fromAnnouncer: [KRPCMessage] = [], fromReplica: [KRPCMessage] = []

            /// Delivers datagrams both ways until neither core has anything to send (bounded).
            mutating func pump() {
                for _ in 0..<20 {
                    let outA = announcer.takeEffects(), outB = replica.takeEffects()
                    var moved = false
                    for case .send(let bytes, let destination) in outA where destination == replicaAt {
                        if let message = try? KRPCCodec.decode(bytes) { fromAnnouncer.append(message) }
                        replica.receive(bytes, from: announcerAt, now: AnnounceLookupTests.now)
                        moved = true
                    }
                    for case .send(let bytes, let destination) in outB where destination == announcerAt {
                        if let message = try? KRPCCodec.decode(bytes) { fromReplica.append(message) }
                        announcer.receive(bytes, from: replicaAt, now: AnnounceLookupTests.now)
                        moved = true
                    }
                    if !moved { return }
                }
            }
        }

        @Test func anAnnounceAsksForTheTokenAndNoRecordPage() throws {
            var pair = Pair()
            // The replica already holds 20 heartbeats under `node`: a first page would carry them.
            for _ in 0..<20 {
                let held = RecordFixtures.heartbeat(.generate(), seq: 1, expires: AnnounceLookupTests.now.seconds + 60)
                try pair.replica.responder.recordStore.store(held, maxOwners: 100, now: AnnounceLookupTests.now)
            }
            _ = pair.announcer.startPing(pair.replicaAt, now: AnnounceLookupTests.now)
            pair.pump()
            #expect(pair.announcer.routingTableSize == 1)
            let record = RecordFixtures.heartbeat(.generate(), seq: 1, expires: AnnounceLookupTests.now.seconds + 60)
            _ = pair.announcer.startAnnounce(record, now: AnnounceLookupTests.now)
            pair.pump()

            let lookups = pair.fromAnnouncer.compactMap { message -> [UInt8]?? in
                guard case .query(let query) = message.body, case .getRecords(_, let after, _) = query.method else { return nil }
                return after
            }
            #expect(lookups == [QueryMethod.tokenOnlyCursor], "one get_records, after = 32 x 0xff")
            let pages = pair.fromReplica.compactMap { message -> ResponseBody? in
                guard case .response(let body) = message.body, body.token != nil else { return nil }
                return body
            }
            #expect(pages.count == 1)
            #expect(pages.allSatisfy { $0.records == nil && $0.compressedRecords == nil }, "the answer carries no records")
            #expect(pair.fromAnnouncer.allSatisfy { $0.padding == 0 }, "nothing to pad for")
            // And the store went through with the token from that answer.
            #expect(pair.replica.responder.recordStore.record(target: record.target, owner: record.owner, now: AnnounceLookupTests.now) == record)
        }
    }
}
