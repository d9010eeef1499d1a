import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension RecordsTests {
    /// The replica's side of record feeds (docs/PROTOCOL.md 3.2): changes since a cursor,
    /// refreshes left out, removals as tombstones, bounded memory, and full reads when the
    /// cursor cannot be answered.
    @Suite struct RecordFeedTests {
        private let t0 = RecordsTests.t0
        private let target = KeyedRecord.target(forKey: RecordsTests.nodeKey)

        private func at(_ seconds: Int64) -> Timestamp { t0 + .seconds(seconds) }

        /// A record saying `value`, so that seq and expiry can change while the content does not.
        private func record(_ owner: PublicKey, value: Int64 = 7, seq: Int64, expiresIn seconds: Int64) -> KeyedRecord {
            KeyedRecord(key: RecordsTests.nodeKey, owner: owner, seq: seq, expires: t0.seconds + seconds, value: .int(value),
                        signature: [UInt8](repeating: 0, count: KeyedRecord.signatureLength))
        }

        private func changes(_ store: RecordStore, since cursor: RecordFeedCursor, after: PublicKey? = nil) -> [(PublicKey, Bool)]? {
            store.changes(target: target, since: cursor, after: after, limit: 1_000)?.map { ($0.owner, $0.current != nil) }
        }

        @Test func cursorsSurviveTheirBytes() {
            let cursor = RecordFeedCursor(epoch: 0x0102_0304_0506_0708, version: 0xfffe_fdfc_fbfa_f9f8)
            #expect(cursor.bytes.count == 16)
            #expect(RecordFeedCursor(bytes: cursor.bytes) == cursor)
            #expect(RecordFeedCursor(bytes: [1, 2, 3]) == nil)
            #expect(RecordFeedCursor(bytes: []) == nil)
        }

        @Test func aRefreshIsNoChangeAndAChangeOrRemovalIs() throws {
            var store = RecordStore(feedEpoch: 9)
            let a = try RecordsTests.owner(1), b = try RecordsTests.owner(2), c = try RecordsTests.owner(3)
            try store.store(record(a, seq: 1, expiresIn: 90), maxOwners: 100, now: t0)
            try store.store(record(b, seq: 1, expiresIn: 90), maxOwners: 100, now: t0)
            let start = store.feedCursor
            #expect(changes(store, since: start)?.isEmpty == true)

            // A heartbeat that only moves seq and expiry on.
            try store.store(record(a, seq: 2, expiresIn: 120), maxOwners: 100, now: at(30))
            #expect(changes(store, since: start)?.isEmpty == true)
            // A new owner, a new value, then an expiry.
            try store.store(record(c, seq: 1, expiresIn: 60), maxOwners: 100, now: at(30))
            try store.store(record(b, value: 8, seq: 2, expiresIn: 120), maxOwners: 100, now: at(30))
            let middle = store.feedCursor
            #expect(changes(store, since: start)?.map(\.0) == [b, c])
            store.expire(now: at(60))
            let seen = try #require(changes(store, since: start))
            #expect(seen.map(\.0) == [b, c] && seen.map(\.1) == [true, false])
            #expect(changes(store, since: middle)?.map(\.0) == [c])
            #expect(changes(store, since: middle, after: c)?.isEmpty == true)
            // The owner back: a change again, its tombstone gone.
            try store.store(record(c, seq: 2, expiresIn: 120), maxOwners: 100, now: at(61))
            #expect(changes(store, since: middle).map { $0.map(\.1) } == [true])
        }

        @Test func aReadOfManyChangesWalksTheOwnersAndMergesTheRemovals() throws {
            var store = RecordStore(feedEpoch: 9)
            let key = { (first: Int, second: UInt8) in try RecordsTests.owner([UInt8(first >> 8), UInt8(first & 0xff), second] + [UInt8](repeating: 0, count: 29)) }
            // 400 owners held from the start; the cursor; then 300 of them change and 20 others
            // go: more changes than a page sorts (`sortedChangesLimit`), so pages walk.
            let owners = try (0..<400).map { try key($0, 0) }
            for owner in owners { try store.store(record(owner, seq: 1, expiresIn: 90), maxOwners: 1_000, now: t0) }
            let start = store.feedCursor
            for owner in owners.prefix(300) { try store.store(record(owner, value: 8, seq: 2, expiresIn: 90), maxOwners: 1_000, now: t0) }
            for owner in owners[350..<370] { store.remove(target: target, owner: owner) }
            func read(pageSize: Int, meanwhile: (Int) throws -> Void = { _ in }) throws -> [RecordChange] {
                var sent = [RecordChange](), pages = 0
                repeat {
                    let page = try #require(store.changes(target: target, since: start, after: sent.last?.owner, limit: pageSize))
                    if page.isEmpty { break }
                    sent += page
                    pages += 1
                    try meanwhile(pages)
                } while true
                return sent
            }
            let sent = try read(pageSize: 7)
            #expect(sent.map(\.owner) == Array(owners.prefix(300)) + Array(owners[350..<370]))
            #expect(sent.filter { $0.current == nil }.map(\.owner) == Array(owners[350..<370]))
            // While a read pages: a removal ahead of it is sent as one, an owner joining ahead
            // of it is sent in this read, one joining behind it comes with the next.
            let ahead = try key(250, 1), behind = try key(5, 1)
            let cursor = store.feedCursor
            let again = try read(pageSize: 7) { pages in
                guard pages == 3 else { return }
                store.remove(target: target, owner: owners[200])
                try store.store(record(ahead, seq: 1, expiresIn: 90), maxOwners: 1_000, now: t0)
                try store.store(record(behind, seq: 1, expiresIn: 90), maxOwners: 1_000, now: t0)
            }
            #expect(again.contains { $0.owner == owners[200] && $0.current == nil })
            #expect(again.contains { $0.owner == ahead } && !again.contains { $0.owner == behind })
            #expect(again.map(\.owner) == again.map(\.owner).sorted())
            let next = try #require(store.changes(target: target, since: cursor, after: nil, limit: 10))
            #expect(next.map(\.owner) == [behind, owners[200], ahead])
        }

        @Test func cursorsTheStoreCannotAnswerAskForAFullRead() throws {
            var store = RecordStore(feedEpoch: 9)
            let a = try RecordsTests.owner(1)
            try store.store(record(a, seq: 1, expiresIn: 90), maxOwners: 100, now: t0)
            let now = store.feedCursor
            #expect(store.changes(target: target, since: now, after: nil, limit: 10) != nil)
            // Another epoch (another node, or this one before a restart), the future, another target.
            #expect(store.changes(target: target, since: RecordFeedCursor(epoch: 8, version: now.version), after: nil, limit: 10) == nil)
            #expect(store.changes(target: target, since: RecordFeedCursor(epoch: 9, version: now.version + 1), after: nil, limit: 10) == nil)
            #expect(store.changes(target: NodeID.random(), since: now, after: nil, limit: 10) == nil)
            // A target emptied and made again: a cursor from before may hold owners whose
            // removal is forgotten with the old target.
            store.remove(target: target, owner: a)
            try store.store(record(a, seq: 2, expiresIn: 90), maxOwners: 100, now: t0)
            #expect(store.changes(target: target, since: now, after: nil, limit: 10) == nil)
            #expect(store.changes(target: target, since: store.feedCursor, after: nil, limit: 10)?.isEmpty == true)
        }

        @Test func tombstonesLiveTheirLifetimeThenTheFloorRises() throws {
            var store = RecordStore(settings: RecordStoreSettings(tombstoneLifetime: .seconds(600)), feedEpoch: 1)
            let keeper = try RecordsTests.owner(1), leaver = try RecordsTests.owner(2)
            try store.store(record(keeper, seq: 1, expiresIn: 3_000), maxOwners: 100, now: t0)
            try store.store(record(leaver, seq: 1, expiresIn: 10), maxOwners: 100, now: t0)
            let before = store.feedCursor
            store.expire(now: at(10))
            let after = store.feedCursor
            store.expire(now: at(609))
            #expect(changes(store, since: before).map { $0.map(\.0) } == [leaver])
            store.expire(now: at(610))
            // The removal is forgotten: a reader from before it must read everything again;
            // one that had seen it still gets changes.
            #expect(changes(store, since: before) == nil)
            #expect(changes(store, since: after)?.isEmpty == true)
        }

        @Test func churnKeepsTheFeedBounded() throws {
            // Owners joining and leaving for ever, each leaving a tombstone: memory stays
            // within the tombstone bound, and a reader behind it gets a full read, never a
            // partial list of removals.
            var store = RecordStore(settings: RecordStoreSettings(minTombstonesPerTarget: 64), feedEpoch: 1)
            let stayer = try RecordsTests.owner(0)
            try store.store(record(stayer, seq: 1, expiresIn: 100_000), maxOwners: 10_000, now: t0)
            let first = store.feedCursor
            for round in 0..<2_000 {
                let owner = try RecordsTests.owner(1 + round)
                try store.store(record(owner, seq: 1, expiresIn: Int64(round + 1)), maxOwners: 10_000, now: at(Int64(round)))
                // The stayer changes too, leaving stale entries behind.
                try store.store(record(stayer, value: Int64(round), seq: Int64(round + 2), expiresIn: 100_000), maxOwners: 10_000, now: at(Int64(round)))
                store.expire(now: at(Int64(round + 1)))
            }
            #expect(store.count == 1)
            let bucketEntries = store.feedEntryCount(target: target)
            #expect(bucketEntries <= 3 * 64 + 64, "\(bucketEntries) feed entries for 1 owner and at most 64 tombstones")
            #expect(changes(store, since: first) == nil)
            let recent = try #require(changes(store, since: RecordFeedCursor(epoch: 1, version: store.feedCursor.version - 10)))
            #expect(!recent.isEmpty && recent.count <= 10)
        }

        @Test func digestsAgreeOnTheSameOwnersSayingTheSameThings() throws {
            var first = RecordStore(), second = RecordStore()
            let owners = try (1...20).map { try RecordsTests.owner($0 * 97) }
            // Different arrival order, seq and expiry: the same set.
            for (n, owner) in owners.enumerated() {
                try first.store(record(owner, value: Int64(n), seq: 1, expiresIn: 90), maxOwners: 100, now: t0)
            }
            for (n, owner) in owners.enumerated().reversed() {
                try second.store(record(owner, value: Int64(n), seq: 5, expiresIn: 200), maxOwners: 100, now: t0)
            }
            let one = first.summary(target: target), other = second.summary(target: target)
            #expect(one.count == 20 && other.count == 20)
            #expect(one.digest == other.digest && one.digest.count == RecordSetDigest.byteCount)
            // One owner missing, or one saying something else: another digest.
            second.remove(target: target, owner: owners[3])
            #expect(second.summary(target: target).digest != one.digest)
            try second.store(record(owners[3], value: 99, seq: 6, expiresIn: 200), maxOwners: 100, now: t0)
            #expect(second.summary(target: target).digest != one.digest)
            try second.store(record(owners[3], value: 3, seq: 7, expiresIn: 200), maxOwners: 100, now: t0)
            #expect(second.summary(target: target).digest == one.digest)
            // The reader's side computes the same from what it holds.
            let members = owners.enumerated().map { (owner: $1, value: RecordValueHash(encodedValue: Bencode.encode(BValue.int(Int64($0))))) }
            #expect(RecordSetDigest.digest(of: members.sorted { $0.owner < $1.owner }) == one.digest)
        }
    }
}

extension RecordPeer {
    /// One `get_record_changes` exchange, padded as a real reader pads it; the answer or the error.
    mutating func changes(_ key: [UInt8], since: [UInt8], after: [UInt8]? = nil) -> KRPCMessage.Body? {
        let method = QueryMethod.getRecordChanges(target: KeyedRecord.target(forKey: key), since: since, after: after)
        let query = OutgoingRequests.padded(KRPCMessage(transactionID: [5, 6], body: .query(Query(senderID: peer.myID, method: method))),
                                            for: method, maxResponseSize: 1400)
        peer.core.receive(KRPCCodec.encode(query), from: peer.me, now: peer.now)
        for effect in peer.core.takeEffects() {
            guard case .send(let bytes, let destination) = effect, destination == peer.me,
                let message = try? KRPCCodec.decode(bytes) else { continue }
            #expect(bytes.count <= 1400)
            return message.body
        }
        return nil
    }

    /// Every page of one feed read from `since`: the records, the removed owners, whether it
    /// was a full read, and the first page's cursor, count and digest.
    mutating func feedRead(_ key: [UInt8], since: [UInt8]) -> FeedRead? {
        var read = FeedRead()
        var after: [UInt8]?
        repeat {
            guard case .response(let body)? = changes(key, since: since, after: after) else { return nil }
            if read.pages == 0 {
                read.cursor = body.feedCursor
                read.full = body.isFullRead
                read.count = body.memberCount
                read.digest = body.memberDigest
            }
            read.pages += 1
            read.records += RecordPage.entries(of: body).compactMap { try? KeyedRecord(wire: $0, key: key) }
            let gone = body.gone ?? []
            read.gone += stride(from: 0, to: gone.count, by: 32).compactMap { PublicKey(bytes: Array(gone[$0..<min($0 + 32, gone.count)])) }
            after = body.more
        } while after != nil && read.pages < 1_000
        return read
    }

    /// `feedRead`, failing the test when no answer came.
    mutating func requiredFeedRead(_ key: [UInt8], since: [UInt8]) throws -> FeedRead {
        try #require(feedRead(key, since: since))
    }

    struct FeedRead {
        var records: [KeyedRecord] = []
        var gone: [PublicKey] = []
        var pages = 0
        var full = false
        var cursor: [UInt8]?
        var count: Int64?
        var digest: [UInt8]?
    }
}

extension RecordsTests {
    /// `get_record_changes` answered by a core (docs/PROTOCOL.md 3.2).
    @Suite struct RecordFeedServingTests {
        private let key = RecordFixtures.nodeKey

        @Test func aFeedStartsWithTheWholeSetThenCarriesOnlyWhatChanged() throws {
            var peer = RecordPeer()
            let owners = (0..<3).map { _ in SigningKey.generate() }
            let now = peer.nowSeconds
            for owner in owners { #expect(peer.announce(RecordFixtures.heartbeat(owner, seq: 1, expires: now + 90)) == 0) }
            let first = try peer.requiredFeedRead(key, since: [])
            #expect(first.full && first.records.count == 3 && first.gone.isEmpty && first.count == 3)
            let cursor = try #require(first.cursor)
            #expect(cursor.count == 16 && first.digest?.count == 16)

            // Heartbeats that change nothing but seq and expiry: an empty feed, the same digest.
            for owner in owners { #expect(peer.announce(RecordFixtures.heartbeat(owner, seq: 2, expires: now + 120)) == 0) }
            let quiet = try peer.requiredFeedRead(key, since: cursor)
            #expect(!quiet.full && quiet.records.isEmpty && quiet.gone.isEmpty && quiet.pages == 1)
            #expect(quiet.digest == first.digest && quiet.count == 3)

            // One goes OFFLINE: that record alone, and another digest.
            let offline = RecordFixtures.heartbeat(owners[0], seq: 3, expires: now + 120, info: RecordFixtures.serverInfo(state: .offline))
            #expect(peer.announce(offline) == 0)
            let left = try peer.requiredFeedRead(key, since: quiet.cursor ?? [])
            #expect(left.records == [offline] && left.gone.isEmpty && left.digest != first.digest)

            // Two stop heartbeating: their expiry is a removal, sent without waiting for a prune.
            #expect(peer.announce(RecordFixtures.heartbeat(owners[0], seq: 4, expires: now + 500, info: RecordFixtures.serverInfo(state: .offline))) == 0)
            peer.peer.now = peer.peer.now + .seconds(121)
            let expired = try peer.requiredFeedRead(key, since: left.cursor ?? [])
            #expect(Set(expired.gone) == Set(owners[1...].map(\.publicKey)) && expired.records.isEmpty && expired.count == 1)
        }

        @Test func aChangeTooLargeForAnUnpaddedPollIsNotPassedOffAsNoChange() throws {
            var peer = RecordPeer()
            let now = peer.nowSeconds
            let owner = SigningKey.generate()
            #expect(peer.announce(RecordFixtures.heartbeat(owner, seq: 1, expires: now + 60)) == 0)
            let full = try peer.requiredFeedRead(key, since: [])
            let cursor = try #require(full.cursor)
            // A field of this subnet's own, of random bytes that do not compress: the record is
            // larger than four times a poll.
            guard case .dict(var fields) = RecordFixtures.serverInfo().bencoded else { return }
            fields[Array("blob".utf8)] = .bytes((0..<600).map { _ in UInt8.random(in: 0...255) })
            let large = KeyedRecord.signed(key: key, value: .dict(fields), seq: 2, expires: now + 60, by: SigningKey.generate())
            #expect(peer.announce(large) == 0)
            // A reader at another address, which stored nothing here: its address is unverified.
            peer.peer.me = Endpoint("127.0.0.9:4000")!
            // The poll from a cursor goes unpadded, and not even the one change fits.
            guard case .response(let body)? = peer.changes(key, since: cursor) else {
                Issue.record("no answer")
                return
            }
            #expect(RecordPage.entries(of: body).isEmpty && body.gone == nil && !body.isFullRead)
            #expect(body.more == QueryMethod.beforeEveryOwner, "an empty page must not read as nothing changed")
            // The reader's next page is padded, and carries it.
            let changed = try peer.requiredFeedRead(key, since: cursor)
            #expect(!changed.full && changed.records.map(\.owner) == [large.owner] && changed.pages == 2)
            // Nothing changed since: the quiet poll's answer is complete, without `more`.
            guard case .response(let quiet)? = peer.changes(key, since: try #require(changed.cursor)) else {
                Issue.record("no answer")
                return
            }
            #expect(quiet.more == nil && RecordPage.entries(of: quiet).isEmpty)
        }

        @Test func unpaddedPollsAndPaddedReads() {
            let target = KeyedRecord.target(forKey: RecordsTests.nodeKey), cursor = [UInt8](repeating: 1, count: 16)
            func size(_ method: QueryMethod) -> Int {
                KRPCCodec.encode(OutgoingRequests.padded(KRPCMessage(transactionID: [1, 2], body: .query(Query(senderID: NodeID.zero, method: method))),
                                                         for: method, maxResponseSize: 1400)).count
            }
            let wanted = AmplificationLimit.paddedQuerySize(maxResponseSize: 1400)
            #expect(size(.getRecordChanges(target: target, since: [], after: nil)) >= wanted, "a full read")
            #expect(size(.getRecordChanges(target: target, since: cursor, after: QueryMethod.beforeEveryOwner)) >= wanted, "a next page")
            #expect(size(.getRecordChanges(target: target, since: cursor, after: nil)) < wanted / 2, "a poll from a cursor")
            #expect(size(.getRecordChanges(target: target, since: [], after: QueryMethod.tokenOnlyCursor)) < wanted / 2, "a summary-only spot check")
        }

        @Test func manyChangesPageAndEveryOneArrivesOnce() throws {
            var peer = RecordPeer()
            let now = peer.nowSeconds
            let owners = (0..<120).map { _ in SigningKey.generate() }
            for owner in owners { #expect(peer.announce(RecordFixtures.heartbeat(owner, seq: 1, expires: now + 60)) == 0) }
            let full = try peer.requiredFeedRead(key, since: [])
            #expect(full.full && full.pages > 1 && Set(full.records.map(\.owner)).count == 120)
            #expect(full.records.map(\.owner) == full.records.map(\.owner).sorted())
            // Half change, the other half expire: 60 records and 60 removals, in pages.
            for owner in owners.prefix(60) {
                #expect(peer.announce(RecordFixtures.heartbeat(owner, seq: 2, expires: now + 300, info: RecordFixtures.serverInfo(role: "miner"))) == 0)
            }
            peer.peer.now = peer.peer.now + .seconds(61)
            let changed = try peer.requiredFeedRead(key, since: full.cursor ?? [])
            #expect(!changed.full && changed.pages > 2)
            #expect(Set(changed.records.map(\.owner)) == Set(owners.prefix(60).map(\.publicKey)) && changed.records.count == 60)
            #expect(Set(changed.gone) == Set(owners.suffix(60).map(\.publicKey)) && changed.gone.count == 60)
        }

        @Test func feedArgumentsOfTheWrongShapeAreRefusedAndUnknownCursorsReadInFull() throws {
            var peer = RecordPeer()
            #expect(peer.announce(RecordFixtures.heartbeat(SigningKey.generate(), seq: 1, expires: peer.nowSeconds + 60)) == 0)
            for since in [[UInt8](repeating: 1, count: 5), [UInt8](repeating: 1, count: 17)] {
                guard case .error(let error)? = peer.changes(key, since: since) else { Issue.record("no error for \(since.count)-byte since"); continue }
                #expect(error.code == 203)
            }
            guard case .error(let error)? = peer.changes(key, since: [], after: [1, 2, 3]) else { Issue.record("no error for a short after"); return }
            #expect(error.code == 203)
            // From the future, or another node's epoch: the whole set, marked full.
            let start = peer.feedRead(key, since: [])
            let current = try #require(start?.cursor.flatMap(RecordFeedCursor.init(bytes:)))
            for cursor in [RecordFeedCursor(epoch: current.epoch, version: current.version + 1_000),
                           RecordFeedCursor(epoch: current.epoch &+ 1, version: current.version)] {
                let read = try peer.requiredFeedRead(key, since: cursor.bytes)
                #expect(read.full && read.records.count == 1)
            }
            // A target nobody stored under: an empty full read.
            let empty = try peer.requiredFeedRead(Array("nothing".utf8), since: current.bytes)
            #expect(empty.full && empty.records.isEmpty && empty.count == 0)
        }
    }
}
