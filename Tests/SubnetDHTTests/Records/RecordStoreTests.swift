import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension RecordsTests {
    @Suite struct RecordStoreTests {
        private let t0 = RecordsTests.t0
        private let target = KeyedRecord.target(forKey: RecordsTests.nodeKey)

        private func at(_ seconds: Int64) -> Timestamp { t0 + .seconds(seconds) }

        private func record(_ owner: PublicKey, seq: Int64 = 1, expiresIn seconds: Int64, key: [UInt8] = RecordsTests.nodeKey) -> KeyedRecord {
            RecordsTests.record(owner, seq: seq, expiresIn: seconds, key: key)
        }

        /// Owners with random key bytes, so that insertion order is not key order.
        private func randomOwners(_ count: Int, seed: UInt64) throws -> [PublicKey] {
            var generator = SeededGenerator(state: seed)
            return try (0..<count).map { _ in
                try RecordsTests.owner((0..<PublicKey.byteCount).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
            }
        }

        /// Every page of `target`, following `after` = the last owner of each page.
        private func allPages(_ store: RecordStore, limit: Int, now: Timestamp) -> (records: [KeyedRecord], pages: Int) {
            var collected = [KeyedRecord]()
            var after: PublicKey?
            var pages = 0
            while true {
                let page = store.records(target: target, after: after, limit: limit, now: now)
                guard let last = page.last else { return (collected, pages) }
                pages += 1
                collected += page
                after = last.owner
            }
        }

        @Test func errorsCarryTheirKRPCCodes() {
            #expect(RecordStoreError.full.code == 202)
            #expect(RecordStoreError.tooManyOwners.code == 209)
            #expect(RecordStoreError.full.description == "202 storage full")
            #expect(RecordStoreSettings().maxRecords == 100_000)
            #expect(RecordStoreSettings().maxTargets == 1_000)
        }

        @Test func pagingAcross300OwnersReturnsAllInOrderOnce() throws {
            var store = RecordStore()
            let owners = try randomOwners(300, seed: 7)
            for (n, owner) in owners.enumerated() {
                try store.store(record(owner, seq: Int64(n), expiresIn: 60), maxOwners: 10_000, now: t0)
            }
            #expect(store.count == 300)
            #expect(store.ownerCount(target: target, now: t0) == 300)

            let sorted = owners.sorted()
            for limit in [1, 7, 64, 300, 1_000] {
                let (records, pages) = allPages(store, limit: limit, now: t0)
                #expect(records.map(\.owner) == sorted)
                #expect(Set(records.map(\.owner)).count == 300)
                #expect(pages == (300 + limit - 1) / limit)
            }

            // `after` need not be a stored owner: paging resumes at the next greater key.
            let between = try RecordsTests.owner(sorted[100].bytes.dropLast() + [0xff])
            try #require(sorted[100] < between && between < sorted[101])
            #expect(store.records(target: target, after: between, limit: 2, now: t0).map(\.owner) == [sorted[101], sorted[102]])
            let low = try RecordsTests.owner([UInt8](repeating: 0, count: 32))
            let high = try RecordsTests.owner([UInt8](repeating: 0xff, count: 32))
            #expect(store.records(target: target, after: low, limit: 1, now: t0).map(\.owner) == [sorted[0]])
            #expect(store.records(target: target, after: high, limit: 10, now: t0).isEmpty)
            #expect(store.records(target: target, after: nil, limit: 0, now: t0).isEmpty)
            #expect(store.records(target: target, after: nil, limit: -1, now: t0).isEmpty)
            #expect(store.records(target: KeyedRecord.target(forKey: Array("other".utf8)), after: nil, limit: 10, now: t0).isEmpty)
        }

        /// The searches compare owners' first 8 bytes first; owners that share them must still
        /// page, resume and leave in full byte order.
        @Test func ownersSharingTheirFirstBytesPageInOrder() throws {
            var store = RecordStore()
            let shared = try randomOwners(40, seed: 11).map { try RecordsTests.owner([UInt8](repeating: 7, count: 8) + $0.bytes.dropFirst(8)) }
            let owners = shared + (try randomOwners(40, seed: 12))
            for owner in owners { try store.store(record(owner, expiresIn: 60), maxOwners: 10_000, now: t0) }
            #expect(allPages(store, limit: 9, now: t0).records.map(\.owner) == owners.sorted())

            for owner in shared.prefix(15) { store.remove(target: target, owner: owner) }
            let remaining = Array(shared.dropFirst(15) + owners.suffix(40)).sorted()
            #expect(allPages(store, limit: 4, now: t0).records.map(\.owner) == remaining)
            let middle = remaining.firstIndex(of: shared[20])!
            #expect(store.records(target: target, after: shared[20], limit: 2, now: t0).map(\.owner) == Array(remaining[(middle + 1)...].prefix(2)))
        }

        @Test func pagesSkipExpiredRecords() throws {
            var store = RecordStore()
            let owners = try (0..<20).map { try RecordsTests.owner($0) }
            for (n, owner) in owners.enumerated() {
                try store.store(record(owner, expiresIn: n.isMultiple(of: 2) ? 10 : 100), maxOwners: 100, now: t0)
            }
            let odd = owners.enumerated().filter { !$0.offset.isMultiple(of: 2) }.map(\.element)
            #expect(allPages(store, limit: 3, now: at(10)).records.map(\.owner) == odd)
            #expect(allPages(store, limit: 3, now: at(9)).records.count == 20)
        }

        @Test func expiredRecordsAreNeverReturnedEvenBeforeExpireRuns() throws {
            var store = RecordStore()
            let owner = try RecordsTests.owner(1)
            let stored = record(owner, expiresIn: 90)
            try store.store(stored, maxOwners: 10, now: t0)
            #expect(store.record(target: target, owner: owner, now: at(89)) == stored)
            #expect(store.record(target: target, owner: owner, now: at(90)) == nil)
            #expect(store.records(target: target, after: nil, limit: 10, now: at(90)).isEmpty)
            #expect(store.ownerCount(target: target, now: at(89)) == 1)
            #expect(store.ownerCount(target: target, now: at(90)) == 0)
            // Not yet swept: it still counts against memory.
            #expect(store.count == 1)
        }

        @Test func expireDropsExactlyTheExpiredOnes() throws {
            var store = RecordStore()
            let owners = try randomOwners(50, seed: 11)
            var expiryByOwner = [PublicKey: Int64]()
            for (n, owner) in owners.enumerated() {
                let lifetime = Int64((n * 37) % 100) + 1
                expiryByOwner[owner] = t0.seconds + lifetime
                try store.store(record(owner, expiresIn: lifetime), maxOwners: 100, now: t0)
            }

            var remaining = Set(owners)
            for step: Int64 in [0, 1, 30, 31, 50, 99, 100, 200] {
                let now = at(step)
                let dropped = store.expire(now: now)
                let expected = remaining.filter { expiryByOwner[$0, default: 0] <= now.seconds }
                #expect(Set(dropped.map(\.owner)) == expected)
                #expect(dropped.count == expected.count)
                #expect(dropped.map(\.expires) == dropped.map(\.expires).sorted())
                remaining.subtract(expected)
                #expect(store.count == remaining.count)
                #expect(Set(store.records(target: target, after: nil, limit: 1_000, now: now).map(\.owner)) == remaining)
            }
            #expect(store.count == 0)
            #expect(store.targetCount == 0)
        }

        @Test func replacingWithALongerExpiryReschedules() throws {
            var store = RecordStore()
            let owner = try RecordsTests.owner(1)
            try store.store(record(owner, seq: 1, expiresIn: 100), maxOwners: 10, now: t0)
            let newer = record(owner, seq: 2, expiresIn: 200)
            try store.store(newer, maxOwners: 10, now: at(50))

            // The old expiry entry must not delete the new record.
            #expect(store.expire(now: at(100)).isEmpty)
            #expect(store.record(target: target, owner: owner, now: at(150)) == newer)
            #expect(store.count == 1)
            #expect(store.expire(now: at(200)) == [newer])
            #expect(store.count == 0 && store.targetCount == 0)
        }

        @Test func replacingWithAShorterExpiryReschedules() throws {
            var store = RecordStore()
            let owner = try RecordsTests.owner(1)
            try store.store(record(owner, seq: 1, expiresIn: 200), maxOwners: 10, now: t0)
            let newer = record(owner, seq: 2, expiresIn: 100)
            try store.store(newer, maxOwners: 10, now: at(10))

            #expect(store.record(target: target, owner: owner, now: at(100)) == nil)
            #expect(store.expire(now: at(99)).isEmpty)
            #expect(store.expire(now: at(100)) == [newer])
            #expect(store.count == 0)

            // The first record's stale entry at 200 must not touch a record stored since.
            let latest = record(owner, seq: 3, expiresIn: 300)
            try store.store(latest, maxOwners: 10, now: at(150))
            #expect(store.expire(now: at(200)).isEmpty)
            #expect(store.record(target: target, owner: owner, now: at(250)) == latest)
            #expect(store.expire(now: at(300)) == [latest])
        }

        @Test func replacingBackAndForthKeepsOnlyTheLatestExpiry() throws {
            var store = RecordStore()
            let owner = try RecordsTests.owner(1)
            let other = try RecordsTests.owner(2)
            try store.store(record(other, expiresIn: 150), maxOwners: 10, now: t0)
            for (seq, lifetime) in [(1, 100), (2, 300), (3, 50), (4, 200)] as [(Int64, Int64)] {
                try store.store(record(owner, seq: seq, expiresIn: lifetime), maxOwners: 10, now: t0)
            }
            #expect(store.expire(now: at(100)).isEmpty)
            #expect(store.expire(now: at(150)).map(\.owner) == [other])
            #expect(store.record(target: target, owner: owner, now: at(199))?.seq == 4)
            #expect(store.expire(now: at(299)).map(\.seq) == [4])
            #expect(store.count == 0)
        }

        @Test func fullStoreRefusesNewOwnersAndKeepsExistingRecords() throws {
            var store = RecordStore(settings: RecordStoreSettings(maxRecords: 3, maxTargets: 10))
            let owners = try (0..<4).map { try RecordsTests.owner($0) }
            for owner in owners.prefix(3) { try store.store(record(owner, expiresIn: 100), maxOwners: 10, now: t0) }
            let before = store.records(target: target, after: nil, limit: 10, now: t0)

            #expect(throws: RecordStoreError.full) { try store.store(record(owners[3], expiresIn: 100), maxOwners: 10, now: t0) }
            #expect(throws: RecordStoreError.full) {
                try store.store(record(owners[3], expiresIn: 100, key: Array("other".utf8)), maxOwners: 10, now: t0)
            }
            #expect(store.records(target: target, after: nil, limit: 10, now: t0) == before)
            #expect(store.count == 3 && store.targetCount == 1)

            // A stored owner can always replace its own record.
            let replacement = record(owners[0], seq: 2, expiresIn: 200)
            try store.store(replacement, maxOwners: 10, now: t0)
            #expect(store.record(target: target, owner: owners[0], now: t0) == replacement)

            // Room comes back once expired records are dropped.
            store.expire(now: at(100))
            #expect(store.count == 1)
            try store.store(record(owners[3], expiresIn: 300), maxOwners: 10, now: at(100))
            #expect(store.count == 2)
        }

        @Test func tooManyTargetsIsFull() throws {
            var store = RecordStore(settings: RecordStoreSettings(maxRecords: 100, maxTargets: 2))
            let owner = try RecordsTests.owner(1)
            try store.store(record(owner, expiresIn: 100, key: Array("a".utf8)), maxOwners: 10, now: t0)
            try store.store(record(owner, expiresIn: 100, key: Array("b".utf8)), maxOwners: 10, now: t0)
            #expect(throws: RecordStoreError.full) {
                try store.store(record(owner, expiresIn: 100, key: Array("c".utf8)), maxOwners: 10, now: t0)
            }
            // Existing targets still take new owners.
            try store.store(record(try RecordsTests.owner(2), expiresIn: 100, key: Array("a".utf8)), maxOwners: 10, now: t0)
            #expect(store.targetCount == 2 && store.count == 3)
        }

        @Test func maxOwnersRefusesNewOwnersOnly() throws {
            var store = RecordStore()
            let owners = try (0..<4).map { try RecordsTests.owner($0) }
            try store.store(record(owners[0], expiresIn: 50), maxOwners: 2, now: t0)
            try store.store(record(owners[1], expiresIn: 100), maxOwners: 2, now: t0)

            #expect(throws: RecordStoreError.tooManyOwners) { try store.store(record(owners[2], expiresIn: 100), maxOwners: 2, now: t0) }
            #expect(store.ownerCount(target: target, now: t0) == 2)
            #expect(store.record(target: target, owner: owners[2], now: t0) == nil)

            // Replacing an owner's live record is not a new owner.
            try store.store(record(owners[1], seq: 2, expiresIn: 100), maxOwners: 2, now: t0)
            // Another key has its own owners.
            try store.store(record(owners[2], expiresIn: 100, key: Array("other".utf8)), maxOwners: 2, now: t0)

            // Only unexpired owners count, swept or not.
            try store.store(record(owners[2], expiresIn: 100), maxOwners: 2, now: at(50))
            #expect(store.ownerCount(target: target, now: at(50)) == 2)
            // An owner whose own record expired comes back as a new owner.
            #expect(throws: RecordStoreError.tooManyOwners) {
                try store.store(record(owners[0], seq: 2, expiresIn: 100), maxOwners: 2, now: at(50))
            }
            #expect(store.count == 4)
            #expect(throws: RecordStoreError.tooManyOwners) { try store.store(record(owners[3], expiresIn: 100), maxOwners: 0, now: t0) }
        }

        @Test func storeIsEmptyOnceEverythingExpires() throws {
            var store = RecordStore()
            var generator = SeededGenerator(state: 3)
            for keyNumber in 0..<20 {
                let owners = try randomOwners(25, seed: UInt64(keyNumber))
                for owner in owners {
                    let lifetime = Int64.random(in: 1...3_600, using: &generator)
                    try store.store(record(owner, expiresIn: lifetime, key: Array("key\(keyNumber)".utf8)), maxOwners: 10_000, now: t0)
                }
            }
            #expect(store.count == 500 && store.targetCount == 20)
            let dropped = store.expire(now: at(3_600))
            #expect(dropped.count == 500)
            #expect(store.count == 0)
            #expect(store.targetCount == 0)
            #expect(store.expiryIndexEntryCount == 0)
        }

        @Test func removeForgetsTheRecordAndItsExpiry() throws {
            var store = RecordStore()
            let owner = try RecordsTests.owner(1)
            let other = try RecordsTests.owner(2)
            try store.store(record(owner, expiresIn: 100), maxOwners: 10, now: t0)
            try store.store(record(other, expiresIn: 100), maxOwners: 10, now: t0)
            store.remove(target: target, owner: owner)
            store.remove(target: target, owner: owner)
            store.remove(target: KeyedRecord.target(forKey: Array("none".utf8)), owner: owner)
            #expect(store.count == 1 && store.targetCount == 1)
            #expect(store.record(target: target, owner: owner, now: t0) == nil)
            store.remove(target: target, owner: other)
            #expect(store.count == 0 && store.targetCount == 0)
            #expect(store.expire(now: at(100)).isEmpty)
        }

        @Test func reStoringOneOwnerKeepsTheIndexBounded() throws {
            var store = RecordStore()
            let owner = try RecordsTests.owner(1)
            for n in 0..<10_000 {
                // Alternate longer and shorter expiries so that stale entries pile up in both directions.
                let lifetime = Int64(n.isMultiple(of: 2) ? 90 + n : 90 + n / 2)
                try store.store(record(owner, seq: Int64(n), expiresIn: lifetime), maxOwners: 10, now: t0)
                #expect(store.expiryIndexEntryCount <= 64)
            }
            #expect(store.count == 1 && store.targetCount == 1)
            #expect(store.record(target: target, owner: owner, now: t0)?.seq == 9_999)
            #expect(store.expire(now: at(90 + 9_999 / 2)).map(\.seq) == [9_999])
            #expect(store.count == 0 && store.expiryIndexEntryCount == 0)
        }

        @Test func absurdExpiriesNeitherCrashNorExpireEarly() throws {
            var store = RecordStore()
            let far = KeyedRecord(
                key: RecordsTests.nodeKey, owner: try RecordsTests.owner(1), seq: 0, expires: .max, value: .int(0),
                signature: [])
            let past = KeyedRecord(
                key: RecordsTests.nodeKey, owner: try RecordsTests.owner(2), seq: 0, expires: .min, value: .int(0),
                signature: [])
            try store.store(far, maxOwners: 10, now: t0)
            try store.store(past, maxOwners: 10, now: t0)
            #expect(store.expire(now: t0) == [past])
            #expect(store.expire(now: Timestamp(milliseconds: .max)).isEmpty)
            #expect(store.count == 1)
        }
    }
}
