import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension RecordsTests {
    /// `get_records` pages kept built (`RecordPageCache`) and the stamps that say when one is
    /// still right (`RecordStore.isCurrent`).
    @Suite struct RecordPageCacheTests {
        private let t0 = RecordsTests.t0
        private let target = KeyedRecord.target(forKey: RecordsTests.nodeKey)

        private func record(_ owner: PublicKey, seq: Int64 = 1, expiresIn seconds: Int64, valueBytes: Int = 8) -> KeyedRecord {
            KeyedRecord(key: RecordsTests.nodeKey, owner: owner, seq: seq, expires: t0.seconds + seconds,
                        value: .bytes([UInt8](repeating: UInt8(truncatingIfNeeded: seq), count: valueBytes)),
                        signature: [UInt8](repeating: 0, count: KeyedRecord.signatureLength))
        }

        /// A store of owners 10, 20, ... 100, each expiring at t0 + 60 s.
        private func tenOwners() throws -> RecordStore {
            var store = RecordStore()
            for n in 1...10 { try store.store(record(try RecordsTests.owner(n * 10), expiresIn: 60), maxOwners: 100, now: t0) }
            return store
        }

        @Test func aStampStaysCurrentWhileNothingItReadChanges() throws {
            var store = try tenOwners()
            let cursor = try RecordsTests.owner(30)
            let (candidates, stamp) = store.stampedPage(target: target, after: cursor, limit: 3, now: t0)
            #expect(candidates.map(\.record.owner) == [try RecordsTests.owner(40), try RecordsTests.owner(50), try RecordsTests.owner(60)])
            #expect(store.isCurrent(stamp, target: target, after: cursor, now: t0 + .seconds(59)))
            // Records outside what the page read: before the cursor, after its last record.
            try store.store(record(try RecordsTests.owner(5), expiresIn: 60), maxOwners: 100, now: t0)
            try store.store(record(try RecordsTests.owner(20), seq: 2, expiresIn: 60), maxOwners: 100, now: t0)
            try store.store(record(try RecordsTests.owner(65), expiresIn: 60), maxOwners: 100, now: t0)
            store.remove(target: target, owner: try RecordsTests.owner(90))
            #expect(store.isCurrent(stamp, target: target, after: cursor, now: t0))
            // Another cursor or target is another read.
            #expect(!store.isCurrent(stamp, target: target, after: try RecordsTests.owner(40), now: t0))
            #expect(!store.isCurrent(stamp, target: KeyedRecord.target(forKey: Array("other".utf8)), after: cursor, now: t0))
        }

        @Test func aStampGoesStaleWhenARecordItReadChanges() throws {
            let cursor = try RecordsTests.owner(30)
            let changes: [(String, (inout RecordStore) throws -> Void)] = [
                ("replaced", { try $0.store(record(try RecordsTests.owner(50), seq: 2, expiresIn: 60), maxOwners: 100, now: t0) }),
                ("the same record stored again", { try $0.store(record(try RecordsTests.owner(50), expiresIn: 60), maxOwners: 100, now: t0) }),
                ("new owner inside", { try $0.store(record(try RecordsTests.owner(45), expiresIn: 60), maxOwners: 100, now: t0) }),
                ("new owner just after the cursor", { try $0.store(record(try RecordsTests.owner(31), expiresIn: 60), maxOwners: 100, now: t0) }),
                ("removed", { $0.remove(target: target, owner: try RecordsTests.owner(60)) }),
            ]
            for (name, change) in changes {
                var store = try tenOwners()
                let stamp = store.stampedPage(target: target, after: cursor, limit: 3, now: t0).stamp
                try change(&store)
                #expect(!store.isCurrent(stamp, target: target, after: cursor, now: t0), "\(name)")
            }
        }

        @Test func aStampGoesStaleWhenARecordItReturnedExpires() throws {
            var store = try tenOwners()
            try store.store(record(try RecordsTests.owner(50), seq: 2, expiresIn: 20), maxOwners: 100, now: t0)
            let stamp = store.stampedPage(target: target, after: nil, limit: 20, now: t0).stamp
            #expect(store.isCurrent(stamp, target: target, after: nil, now: t0 + .seconds(19)))
            // Owner 50 has expired (not yet pruned): the page built now would leave it out.
            #expect(!store.isCurrent(stamp, target: target, after: nil, now: t0 + .seconds(20)))
            // A record already expired when the page was read stays left out, so it does not
            // shorten the page's life.
            let later = store.stampedPage(target: target, after: nil, limit: 20, now: t0 + .seconds(30))
            #expect(later.candidates.count == 9)
            #expect(store.isCurrent(later.stamp, target: target, after: nil, now: t0 + .seconds(59)))
            store.expire(now: t0 + .seconds(30))
            #expect(!store.isCurrent(later.stamp, target: target, after: nil, now: t0 + .seconds(30)))
        }

        @Test func aPageThatReachedTheLastOwnerGoesStaleWhenOneIsAddedAfterIt() throws {
            var store = try tenOwners()
            let cursor = try RecordsTests.owner(80)
            let short = store.stampedPage(target: target, after: cursor, limit: 5, now: t0)
            #expect(short.candidates.count == 2)
            let full = store.stampedPage(target: target, after: try RecordsTests.owner(50), limit: 2, now: t0)
            try store.store(record(try RecordsTests.owner(200), expiresIn: 60), maxOwners: 100, now: t0)
            #expect(!store.isCurrent(short.stamp, target: target, after: cursor, now: t0))
            // A page cut at its limit does not depend on owners past it.
            #expect(store.isCurrent(full.stamp, target: target, after: try RecordsTests.owner(50), now: t0))
        }

        @Test func revisionsAreNeverReusedAfterATargetEmpties() throws {
            var store = RecordStore()
            let owner = try RecordsTests.owner(1)
            try store.store(record(owner, expiresIn: 60), maxOwners: 100, now: t0)
            let stamp = store.stampedPage(target: target, after: nil, limit: 5, now: t0).stamp
            store.remove(target: target, owner: owner)
            try store.store(record(owner, seq: 9, expiresIn: 60), maxOwners: 100, now: t0)
            #expect(!store.isCurrent(stamp, target: target, after: nil, now: t0))
        }

        @Test func theCacheHoldsAtMostItsCapacityAndKeepsNothingAtZero() throws {
            let store = try tenOwners()
            let stamp = store.stampedPage(target: target, after: nil, limit: 5, now: t0).stamp
            let contents = RecordPageContents(compressedRecords: [1, 2, 3], uncompressedRecordsLength: 9)
            let envelope = RecordPageCache.Envelope(ResponseBody(id: NodeID.random()), transactionID: [1], requester: Endpoint("127.0.0.1:1")!)
            var cache = RecordPageCache(capacity: 4)
            for limit in 0..<100 {
                cache.keep(contents, stamp: stamp, for: .init(target: target, after: nil, responseLimit: limit, envelope: envelope))
            }
            #expect(cache.count <= 4)
            let key = RecordPageCache.Key(target: target, after: nil, responseLimit: 1_400, envelope: envelope)
            cache.keep(contents, stamp: stamp, for: key)
            #expect(cache.contents(for: key, in: store, now: t0) == contents)
            #expect(cache.contents(for: key, in: store, now: t0 + .seconds(60)) == nil)
            var none = RecordPageCache(capacity: 0)
            none.keep(contents, stamp: stamp, for: key)
            #expect(none.count == 0)
            #expect(none.contents(for: key, in: store, now: t0) == nil)
        }
    }
}

extension RecordsTests {
    /// Two cores given the same records and contacts and asked for the same pages by the same
    /// requesters, one keeping pages built and one building every page afresh: every page must be
    /// the same, whatever changed between reads, whoever asks and however long their transaction id.
    @Suite struct RecordPageCacheAnswerTests {
        private struct Reader {
            var core: DHTCore
            let myID = NodeID(bytes: [UInt8](repeating: 7, count: 20))!

            init(cacheSize: Int, now: Timestamp) {
                var settings = DHTSettings.loopbackTestNetwork
                settings.rateLimit.queriesPerSecond = 0
                settings.recordPageCacheSize = cacheSize
                core = DHTCore(localID: NodeID(bytes: [UInt8](repeating: 1, count: 20))!, settings: settings, seed: 1, now: now)
            }

            /// The page after `after`, padded as SubnetDHT's readers pad their queries.
            mutating func page(_ target: NodeID, after: [UInt8]?, want: AddressFamilies?, transactionID: [UInt8],
                               from requester: Endpoint, now: Timestamp) -> RecordPageContents? {
                let method = QueryMethod.getRecords(target: target, after: after, want: want)
                let query = OutgoingRequests.padded(KRPCMessage(transactionID: transactionID, body: .query(Query(senderID: myID, method: method))),
                                           for: method, maxResponseSize: 1400)
                core.receive(KRPCCodec.encode(query), from: requester, now: now)
                for effect in core.takeEffects() {
                    guard case .send(let bytes, _) = effect, let message = try? KRPCCodec.decode(bytes),
                        case .response(let body) = message.body else { continue }
                    return RecordPageContents(records: body.records, compressedRecords: body.compressedRecords,
                                              uncompressedRecordsLength: body.uncompressedRecordsLength, more: body.more)
                }
                return nil
            }
        }

        @Test func cachedPagesAreThePagesBuiltAfresh() throws {
            let key = RecordsTests.nodeKey
            let target = KeyedRecord.target(forKey: key)
            var now = RecordsTests.t0
            var cached = Reader(cacheSize: 256, now: now)
            var fresh = Reader(cacheSize: 0, now: now)
            var random = SeededGenerator(state: 11)
            let owners = try (0..<120).map { _ in
                try RecordsTests.owner((0..<PublicKey.byteCount).map { _ in UInt8.random(in: .min ... .max, using: &random) })
            }
            let requesters = [Endpoint("127.0.0.1:4000")!, Endpoint("127.0.0.2:4001")!, Endpoint("[::1]:4002")!]
            var seqs = [PublicKey: Int64]()
            var pagesCompared = 0
            var contacts = 0
            for _ in 0..<700 {
                switch Int.random(in: 0..<11, using: &random) {
                case 10:
                    // A contact in both routing tables: the answers' node lists grow.
                    contacts += 1
                    let id = NodeID.random(using: &random)
                    let endpoint = contacts.isMultiple(of: 3) ? Endpoint("[::1]:\(5000 + contacts)")! : Endpoint("127.0.0.1:\(5000 + contacts)")!
                    _ = cached.core.routing.recordResponse(from: id, at: endpoint, now: now)
                    _ = fresh.core.routing.recordResponse(from: id, at: endpoint, now: now)
                case 0..<4:
                    // A new record, or an owner's next one, of a size that moves page boundaries.
                    let owner = owners.randomElement(using: &random)!
                    let seq = (seqs[owner] ?? 0) + 1
                    seqs[owner] = seq
                    let record = KeyedRecord(key: key, owner: owner, seq: seq, expires: now.seconds + Int64.random(in: 5...120, using: &random),
                                             value: .bytes((0..<Int.random(in: 1...300, using: &random)).map { _ in UInt8.random(in: 0...3, using: &random) }),
                                             signature: [UInt8](repeating: 0, count: KeyedRecord.signatureLength))
                    try cached.core.responder.recordStore.store(record, maxOwners: 10_000, now: now)
                    try fresh.core.responder.recordStore.store(record, maxOwners: 10_000, now: now)
                case 4:
                    let owner = owners.randomElement(using: &random)!
                    cached.core.responder.recordStore.remove(target: target, owner: owner)
                    fresh.core.responder.recordStore.remove(target: target, owner: owner)
                case 5:
                    // Time passes: some records expire; the pruner drops them on some ticks.
                    now = now + .seconds(Int64.random(in: 1...15, using: &random))
                    if Bool.random(using: &random) {
                        cached.core.responder.recordStore.expire(now: now)
                        fresh.core.responder.recordStore.expire(now: now)
                    }
                default:
                    // Readers walk every page, or resume after some owner's key; often several
                    // readers in a row, as when a subnet's peers read the view at once.
                    let start: [UInt8]? = Bool.random(using: &random) ? nil : owners.randomElement(using: &random)!.bytes
                    for _ in 0..<Int.random(in: 1...3, using: &random) {
                        var after = start
                        let requester = requesters.randomElement(using: &random)!
                        // Both families asked for: then only the `ip` field tells the envelopes apart.
                        let want: AddressFamilies? = Bool.random(using: &random) ? nil : [.ipv4, .ipv6]
                        // Mostly the common length, sometimes another: each sets another envelope.
                        let transactionID = (0..<[2, 2, 2, 2, 1, 11].randomElement(using: &random)!).map { _ in UInt8.random(in: 0...255, using: &random) }
                        for _ in 0..<200 {
                            let page = cached.page(target, after: after, want: want, transactionID: transactionID, from: requester, now: now)
                            #expect(page == fresh.page(target, after: after, want: want, transactionID: transactionID, from: requester, now: now))
                            pagesCompared += 1
                            guard let more = page?.more else { break }
                            after = more
                        }
                    }
                }
            }
            #expect(pagesCompared > 500)
            // The comparison means something only if pages were served from the cache.
            #expect(cached.core.statistics.recordPagesReused > pagesCompared / 8)
            #expect(fresh.core.statistics.recordPagesReused == 0)
        }
    }
}
