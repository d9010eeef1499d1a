import Testing
@testable import SubnetDHT

extension SimulatedSubnet {
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

@Suite struct RecordNetworkTests {
    @Test func thirtyTwoNodesSeeTwoHundredOwnersUntilTheyExpire() throws {
        let subnet = SimulatedSubnet(count: 32, seed: 21)
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
