import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

/// A raw peer talking to one core on a virtual clock.
struct RecordPeer {
    var peer: RawPeer

    init(settings: DHTSettings = .loopbackTestNetwork) {
        peer = RawPeer()
        var settings = settings
        // Hundreds of queries at one virtual instant; rate limits have their own tests.
        settings.rateLimit.queriesPerSecond = 0
        peer.core = DHTCore(localID: .random(), settings: settings, now: peer.now)
    }

    var nowSeconds: Int64 { peer.now.seconds }

    mutating func page(_ key: [UInt8], after: [UInt8]? = nil) -> (ResponseBody, Int)? {
        // Padded as a real reader pads it: the raw peer never answers a query, so the node
        // cannot verify its address and would otherwise send pages of 4x the query's size.
        let method = QueryMethod.getRecords(target: KeyedRecord.target(forKey: key), after: after, want: nil)
        let query = OutgoingRequests.padded(KRPCMessage(transactionID: [1, 2, 3, 4], body: .query(Query(senderID: peer.myID, method: method))),
                                   for: method, maxResponseSize: 1400)
        peer.core.receive(KRPCCodec.encode(query), from: peer.me, now: peer.now)
        for effect in peer.core.takeEffects() {
            guard case .send(let bytes, let destination) = effect, destination == peer.me,
                let message = try? KRPCCodec.decode(bytes), case .response(let body) = message.body else { continue }
            return (body, bytes.count)
        }
        return nil
    }

    mutating func announce(_ record: KeyedRecord) -> Int? {
        let token = page(record.key)?.0.token ?? []
        switch peer.ask(.announceRecord(arguments: RecordFixtures.arguments(record, token: token)))?.body {
        case .response?: return 0
        case .error(let error)?: return error.code
        default: return nil
        }
    }

    mutating func advance(_ duration: Duration) {
        peer.now = peer.now + duration
        peer.core.tick(now: peer.now)
        _ = peer.core.takeEffects()
    }

    /// Every record, following `more` from page to page.
    mutating func readAll(_ key: [UInt8]) -> (records: [KeyedRecord], pages: Int, compressedPages: Int, largest: Int) {
        var records = [KeyedRecord](), pages = 0, compressed = 0, largest = 0
        var after: [UInt8]?
        repeat {
            guard let (body, size) = page(key, after: after) else { break }
            pages += 1
            if body.compressedRecords != nil { compressed += 1 }
            largest = max(largest, size)
            records += RecordPage.entries(of: body).compactMap { try? KeyedRecord(wire: $0, key: key) }
            after = body.more
        } while after != nil && pages < 1000
        return (records, pages, compressed, largest)
    }
}

extension RecordsTests {
    @Suite struct RecordServingTests {
        @Test func replayedOlderRecordNeverShortensTheCurrentOne() {
            var peer = RecordPeer()
            let owner = SigningKey.generate()
            let now = peer.nowSeconds
            let current = RecordFixtures.heartbeat(owner, seq: 5, expires: now + 3600)
            // An older record, still valid, that expires much sooner: what an attacker would replay.
            let older = RecordFixtures.heartbeat(owner, seq: 4, expires: now + 60)
            #expect(peer.announce(current) == 0)
            #expect(peer.announce(older) == 302)
            #expect(peer.announce(current) == 0)
            peer.advance(.seconds(120))
            #expect(peer.readAll(RecordFixtures.nodeKey).records == [current])
            peer.advance(.seconds(3400))
            #expect(peer.readAll(RecordFixtures.nodeKey).records == [current])
            peer.advance(.seconds(81))
            #expect(peer.readAll(RecordFixtures.nodeKey).records.isEmpty)
            #expect(peer.peer.core.storedRecordCount == 0)
        }

        @Test func threeHundredOwnersPageBackCompleteInOrderAndCompressed() {
            var peer = RecordPeer()
            let now = peer.nowSeconds
            var expected = [KeyedRecord]()
            for index in 0..<300 {
                let record = RecordFixtures.heartbeat(.generate(), seq: 1, expires: now + 90,
                                                      info: RecordFixtures.serverInfo(port: UInt16(10_000 + index), name: "peer-\(index)"))
                #expect(peer.announce(record) == 0)
                expected.append(record)
            }
            let read = peer.readAll(RecordFixtures.nodeKey)
            #expect(read.records == expected.sorted { $0.owner < $1.owner })
            #expect(read.largest <= 1400)
            // Heartbeats are alike, so pages travel LZ4-compressed and hold more records.
            #expect(read.compressedPages > 0)
            #expect(read.pages < 300 / 4)
        }

        @Test func dissimilarRecordsTravelUncompressed() {
            var settings = DHTSettings.loopbackTestNetwork
            settings.keyPolicies.openKeys = true
            var peer = RecordPeer(settings: settings)
            var generator = SplitMix64(seed: 4)
            let key = Array("random".utf8)
            for _ in 0..<20 {
                let noise = (0..<300).map { _ in UInt8.random(in: 0...255, using: &generator) }
                #expect(peer.announce(KeyedRecord.signed(key: key, value: .bytes(noise), seq: 1, expires: peer.nowSeconds + 60, by: .generate())) == 0)
            }
            let read = peer.readAll(key)
            #expect(read.records.count == 20)
            #expect(read.compressedPages == 0)
            #expect(read.largest <= 1400)
        }

        @Test func largestRecordsStillFitAPage() {
            var settings = DHTSettings.loopbackTestNetwork
            settings.keyPolicies.openKeys = true
            var peer = RecordPeer(settings: settings)
            let key = Array("big".utf8)
            var generator = SplitMix64(seed: 5)
            for _ in 0..<3 {
                // 997 bytes of noise bencode to exactly 1,000 bytes, the limit.
                let noise = (0..<996).map { _ in UInt8.random(in: 0...255, using: &generator) }
                #expect(peer.announce(KeyedRecord.signed(key: key, value: .bytes(noise), seq: 1, expires: peer.nowSeconds + 60, by: .generate())) == 0)
            }
            let read = peer.readAll(key)
            #expect(read.records.count == 3)
            #expect(read.largest <= 1400)
        }

        @Test func ownerQuotaAndOwnerLimitHold() {
            var settings = DHTSettings.loopbackTestNetwork
            settings.keyPolicies.register(.node(maxOwners: 5, storesPerOwnerPerMinute: 3), for: "node")
            var peer = RecordPeer(settings: settings)
            let owner = SigningKey.generate()
            let now = peer.nowSeconds
            for seq in 1...3 { #expect(peer.announce(RecordFixtures.heartbeat(owner, seq: Int64(seq), expires: now + 90)) == 0) }
            #expect(peer.announce(RecordFixtures.heartbeat(owner, seq: 4, expires: now + 90)) == 209)
            peer.advance(.seconds(61))
            #expect(peer.announce(RecordFixtures.heartbeat(owner, seq: 5, expires: peer.nowSeconds + 90)) == 0)
            for _ in 0..<4 { #expect(peer.announce(RecordFixtures.heartbeat(.generate(), seq: 1, expires: peer.nowSeconds + 90)) == 0) }
            #expect(peer.announce(RecordFixtures.heartbeat(.generate(), seq: 1, expires: peer.nowSeconds + 90)) == 209)
            #expect(peer.readAll(RecordFixtures.nodeKey).records.count == 5)
        }

        @Test func onlyRecordsThatChangeTheStoreCountAgainstTheQuota() {
            // A heartbeat resent under loss arrives again, identical; an older one is refused.
            // Neither stores anything, so neither may use up the owner's quota: they once did, and
            // a peer heartbeating every second could have its OFFLINE refused with 209.
            var settings = DHTSettings.loopbackTestNetwork
            settings.keyPolicies.register(.node(storesPerOwnerPerMinute: 3), for: "node")
            var peer = RecordPeer(settings: settings)
            let owner = SigningKey.generate()
            let expires = peer.nowSeconds + 90
            let first = RecordFixtures.heartbeat(owner, seq: 10, expires: expires)
            for _ in 0..<5 { #expect(peer.announce(first) == 0) }
            for _ in 0..<5 { #expect(peer.announce(RecordFixtures.heartbeat(owner, seq: 9, expires: expires)) == 302) }
            #expect(peer.announce(RecordFixtures.heartbeat(owner, seq: 11, expires: expires)) == 0)
            #expect(peer.announce(RecordFixtures.heartbeat(owner, seq: 12, expires: expires)) == 0)
            #expect(peer.announce(RecordFixtures.heartbeat(owner, seq: 13, expires: expires)) == 209)
            #expect(peer.readAll(RecordFixtures.nodeKey).records.map(\.seq) == [12])
        }

        @Test func openKeysAcceptKeysWithoutPolicy() {
            var settings = DHTSettings.loopbackTestNetwork
            settings.keyPolicies.openKeys = true
            var peer = RecordPeer(settings: settings)
            let record = KeyedRecord.signed(key: Array("jobs".utf8), value: .list([.int(1)]), seq: 1, expires: peer.nowSeconds + 60, by: .generate())
            #expect(peer.announce(record) == 0)
            #expect(peer.readAll(Array("jobs".utf8)).records == [record])
        }

        @Test func onlyAllowedWritersMayWriteAKeyThatNamesThem() {
            let alice = SigningKey.generate(), bob = SigningKey.generate()
            var settings = DHTSettings.loopbackTestNetwork
            settings.keyPolicies.register(KeyPolicy(maxTTL: .seconds(600), maxOwners: 10, storesPerOwnerPerMinute: 60,
                                                    allowedWriters: [alice.publicKey]), for: "jobs")
            var peer = RecordPeer(settings: settings)
            let key = Array("jobs".utf8)
            let byAlice = KeyedRecord.signed(key: key, value: .string("a"), seq: 1, expires: peer.nowSeconds + 60, by: alice)
            #expect(peer.announce(byAlice) == 0)
            #expect(peer.announce(KeyedRecord.signed(key: key, value: .string("b"), seq: 1, expires: peer.nowSeconds + 60, by: bob)) == 209)
            #expect(peer.readAll(key).records == [byAlice])
        }

        @Test func theExpiryWindowIsExactToTheSecond() {
            var peer = RecordPeer()
            let now = peer.nowSeconds
            func code(_ expires: Int64) -> Int? { peer.announce(RecordFixtures.heartbeat(.generate(), seq: 1, expires: expires)) }
            // (now, now + max TTL (3,600 s for `node`) + 30 s of clock skew]
            #expect(code(now) == 208)
            #expect(code(now + 1) == 0)
            #expect(code(now + 3600 + 30) == 0)
            #expect(code(now + 3600 + 31) == 208)
        }

        @Test func valueAndKeySizesAreExactToTheByte() {
            var settings = DHTSettings.loopbackTestNetwork
            settings.keyPolicies.openKeys = true
            var peer = RecordPeer(settings: settings)
            func code(key: [UInt8], value: BValue) -> Int? {
                peer.announce(KeyedRecord.signed(key: key, value: value, seq: 1, expires: peer.nowSeconds + 60, by: .generate()))
            }
            // `996:` and 996 bytes is 1,000 bytes bencoded; one more byte is 1,001.
            let jobs = Array("jobs".utf8)
            #expect(Bencode.encode(.bytes([UInt8](repeating: 0x61, count: 996))).count == 1000)
            #expect(code(key: jobs, value: .bytes([UInt8](repeating: 0x61, count: 996))) == 0)
            #expect(code(key: jobs, value: .bytes([UInt8](repeating: 0x61, count: 997))) == 205)
            #expect(code(key: [UInt8](repeating: 0x6b, count: 64), value: .int(1)) == 0)
            #expect(code(key: [UInt8](repeating: 0x6b, count: 65), value: .int(1)) == 207)
            #expect(code(key: [], value: .int(1)) == 207)
        }

        @Test func aFullStoreAnswers202() {
            var settings = DHTSettings.loopbackTestNetwork
            settings.recordStore.maxRecords = 2
            var peer = RecordPeer(settings: settings)
            for _ in 0..<2 { #expect(peer.announce(RecordFixtures.heartbeat(.generate(), seq: 1, expires: peer.nowSeconds + 90)) == 0) }
            #expect(peer.announce(RecordFixtures.heartbeat(.generate(), seq: 1, expires: peer.nowSeconds + 90)) == 202)
        }
    }
}

extension RecordsTests {
    @Suite struct RecordCollectorTests {
        @Test func keepsTheHighestValidSeqPerOwnerAndDropsForgeriesAndExpired() throws {
            let now = Timestamp(seconds: 1_700_000_000)
            let owner = SigningKey.generate()
            let old = RecordFixtures.heartbeat(owner, seq: 1, expires: now.seconds + 90)
            let new = RecordFixtures.heartbeat(owner, seq: 2, expires: now.seconds + 90)
            var forged = RecordFixtures.heartbeat(owner, seq: 3, expires: now.seconds + 90)
            forged.signature = [UInt8](repeating: 1, count: 64)
            let expired = RecordFixtures.heartbeat(.generate(), seq: 9, expires: now.seconds - 1)
            let otherKey = KeyedRecord.signed(key: Array("other".utf8), value: new.value, seq: 5, expires: now.seconds + 90, by: owner)
            var collector = RecordCollector(key: RecordFixtures.nodeKey)
            collector.add(page: ResponseBody(id: .random(), records: [old.wireDictionary, forged.wireDictionary]), now: now)
            let compressed = try #require(LZ4Block.compress(Bencode.encode(.list([new.wireDictionary, expired.wireDictionary, otherKey.wireDictionary]))))
            let rawLength = Bencode.encode(.list([new.wireDictionary, expired.wireDictionary, otherKey.wireDictionary])).count
            collector.add(page: ResponseBody(id: .random(), compressedRecords: compressed, uncompressedRecordsLength: Int64(rawLength)), now: now)
            #expect(collector.records == [new])
            #expect(collector.refused == 3)
            // Expiry is judged when a replica serves the record, not again when the read ends:
            // a record served after its expiry is refused, one served before it is kept.
            var late = RecordCollector(key: RecordFixtures.nodeKey)
            late.add(page: ResponseBody(id: .random(), records: [new.wireDictionary]), now: now + .seconds(91))
            #expect(late.records.isEmpty && late.refused == 1)
        }
    }
}
