import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension StorageTests {
    @Suite struct ItemStorageTests {
        private let t0 = StorageFixtures.t0
        private let target = StorageFixtures.id(7)
        private let hour = Duration.seconds(3_600)
        private let ttl = StorageSettings().itemTTL

        private func item(seq: Int64, value: String = "v", signatureByte: UInt8? = nil) -> SignedMutableItem {
            let encoded = Array("\(value.utf8.count):\(value)".utf8)
            // Stand-in for a real signature: distinct per content, as ed25519's is.
            let signature = [UInt8](repeating: signatureByte ?? UInt8(truncatingIfNeeded: seq &+ Int64(value.utf8.count)), count: 64)
            return SignedMutableItem(publicKey: [UInt8](repeating: 1, count: 32), salt: [], seq: seq, signature: signature, value: encoded)
        }

        private func expectRejected(
            _ expected: ItemStoreError, _ store: inout ItemStore, _ item: SignedMutableItem, cas: Int64? = nil, at now: Timestamp
        ) {
            #expect(throws: expected) { try store.putMutable(target: target, item: item, cas: cas, now: now) }
        }

        @Test func errorsCarryTheirKRPCCodes() {
            #expect(ItemStoreError.casMismatch.code == 301)
            #expect(ItemStoreError.sequenceNotNewer.code == 302)
            #expect(ItemStoreError.full.code == 202)
            #expect(ItemStoreError.full.description == "202 storage full")
        }

        @Test func immutableItemExpiresTwoHoursAfterItsLastPut() {
            var store = ItemStore()
            let value = Array("5:hello".utf8)
            store.putImmutable(target: target, value: value, now: t0)
            #expect(store.immutable(target, now: t0 + ttl - .milliseconds(1)) == StoredImmutableItem(value: value, storedAt: t0))
            #expect(store.immutable(target, now: t0 + ttl) == nil)
            #expect(store.mutable(target, now: t0) == nil)

            store.expire(now: t0 + ttl - .milliseconds(1))
            #expect(store.count == 1)
            store.expire(now: t0 + ttl)
            #expect(store.count == 0)
        }

        @Test func immutableRePutExtendsItsLife() {
            var store = ItemStore()
            let value = Array("5:hello".utf8)
            store.putImmutable(target: target, value: value, now: t0)
            store.putImmutable(target: target, value: value, now: t0 + hour)
            store.expire(now: t0 + ttl)
            #expect(store.immutable(target, now: t0 + ttl)?.storedAt == t0 + hour)
            store.expire(now: t0 + hour + ttl)
            #expect(store.count == 0)
        }

        @Test func higherSequenceReplaces() throws {
            var store = ItemStore()
            try store.putMutable(target: target, item: item(seq: 1, value: "old"), cas: nil, now: t0)
            try store.putMutable(target: target, item: item(seq: 2, value: "new"), cas: nil, now: t0 + hour)
            let stored = try #require(store.mutable(target, now: t0 + hour))
            #expect(stored.item == item(seq: 2, value: "new"))
            #expect(stored.storedAt == t0 + hour)
            #expect(store.count == 1)
        }

        @Test func lowerSequenceIsRefusedWith302AndChangesNothing() throws {
            var store = ItemStore()
            try store.putMutable(target: target, item: item(seq: 5), cas: nil, now: t0)
            expectRejected(.sequenceNotNewer, &store, item(seq: 4, value: "other"), at: t0 + hour)
            #expect(store.mutable(target, now: t0 + hour) == StoredMutableItem(item(seq: 5), storedAt: t0))
        }

        @Test func equalSequenceWithIdenticalItemIsAcceptedAndExtendsLife() throws {
            var store = ItemStore()
            try store.putMutable(target: target, item: item(seq: 5), cas: nil, now: t0)
            try store.putMutable(target: target, item: item(seq: 5), cas: nil, now: t0 + hour)
            store.expire(now: t0 + ttl)
            #expect(store.mutable(target, now: t0 + ttl) == StoredMutableItem(item(seq: 5), storedAt: t0 + hour))
            #expect(store.mutable(target, now: t0 + hour + ttl) == nil)
        }

        @Test func equalSequenceWithOtherContentIsRefusedWith302() throws {
            var store = ItemStore()
            try store.putMutable(target: target, item: item(seq: 5, value: "a"), cas: nil, now: t0)
            expectRejected(.sequenceNotNewer, &store, item(seq: 5, value: "b"), at: t0)
            expectRejected(.sequenceNotNewer, &store, item(seq: 5, value: "a", signatureByte: 0xee), at: t0)
            #expect(store.mutable(target, now: t0)?.item == item(seq: 5, value: "a"))
        }

        @Test func casMismatchIsRefusedWith301AndLeavesTheItemIntact() throws {
            var store = ItemStore()
            try store.putMutable(target: target, item: item(seq: 5), cas: nil, now: t0)
            expectRejected(.casMismatch, &store, item(seq: 6, value: "new"), cas: 4, at: t0 + hour)
            // CAS is checked before seq, as libtorrent does: a stale writer learns it lost the race.
            expectRejected(.casMismatch, &store, item(seq: 3), cas: 4, at: t0 + hour)
            #expect(store.mutable(target, now: t0 + hour) == StoredMutableItem(item(seq: 5), storedAt: t0))

            try store.putMutable(target: target, item: item(seq: 6, value: "new"), cas: 5, now: t0 + hour)
            #expect(store.mutable(target, now: t0 + hour)?.seq == 6)
        }

        @Test func casAgainstNothingStoredIsAccepted() throws {
            var store = ItemStore()
            try store.putMutable(target: target, item: item(seq: 1), cas: 9, now: t0)
            #expect(store.mutable(target, now: t0)?.seq == 1)
        }

        @Test func rejectedReplayDoesNotShortenTheStoredItemsLife() throws {
            var store = ItemStore()
            try store.putMutable(target: target, item: item(seq: 5), cas: nil, now: t0)
            expectRejected(.sequenceNotNewer, &store, item(seq: 4), at: t0 + hour)

            let almostTwoHours = t0 + .seconds(7_140)
            store.expire(now: almostTwoHours)
            #expect(store.mutable(target, now: almostTwoHours) == StoredMutableItem(item(seq: 5), storedAt: t0))
            store.expire(now: t0 + ttl - .milliseconds(1))
            #expect(store.mutable(target, now: t0 + ttl - .milliseconds(1))?.seq == 5)

            store.expire(now: t0 + ttl)
            #expect(store.mutable(target, now: t0 + ttl) == nil)
            #expect(store.count == 0)
        }

        @Test func expiredItemNoLongerConstrainsSequence() throws {
            var store = ItemStore()
            try store.putMutable(target: target, item: item(seq: 5), cas: nil, now: t0)
            // Not yet purged by `expire`, but past its lifetime: a fresh seq 1 may take its place.
            try store.putMutable(target: target, item: item(seq: 1), cas: 5, now: t0 + ttl)
            #expect(store.mutable(target, now: t0 + ttl) == StoredMutableItem(item(seq: 1), storedAt: t0 + ttl))
            store.expire(now: t0 + ttl + hour)
            #expect(store.count == 1)
        }

        @Test func immutableAndMutableTargetsDoNotCollide() throws {
            var store = ItemStore()
            store.putImmutable(target: target, value: Array("1:x".utf8), now: t0)
            try store.putMutable(target: target, item: item(seq: 1), cas: nil, now: t0 + hour)
            #expect(store.count == 2)
            store.expire(now: t0 + ttl)
            #expect(store.immutable(target, now: t0 + ttl) == nil)
            #expect(store.mutable(target, now: t0 + ttl)?.seq == 1)
        }

        @Test func rePutsKeepTheExpiryIndexBounded() throws {
            var store = ItemStore()
            let value = Array("5:hello".utf8)
            // An older item that is never re-put sits at the front of the index, so the stale
            // entries each re-put leaves behind cannot simply fall off the front.
            store.putImmutable(target: StorageFixtures.id(999), value: value, now: t0 - .seconds(1))
            var maxEntries = 0
            for step in 0..<10_000 {
                let now = t0 + .milliseconds(Int64(step))
                store.putImmutable(target: target, value: value, now: now)
                try store.putMutable(target: target, item: item(seq: 5), cas: nil, now: now)
                maxEntries = max(maxEntries, store.expiryIndexEntryCount)
            }
            #expect(store.count == 3)
            #expect(maxEntries <= 2 * 3 + 33)

            for step in 0..<10_000 {
                let key = StorageFixtures.id(1_000 + step % 100)
                store.putImmutable(target: key, value: value, now: t0 + .seconds(10 + Int64(step)))
            }
            #expect(store.count == 103)
            #expect(store.expiryIndexEntryCount <= 2 * 103 + 33)

            store.expire(now: t0 + .seconds(20_000) + ttl)
            #expect(store.count == 0)
            #expect(store.expiryIndexEntryCount == 0)
        }

        @Test func fullStoreEvictsTheItemClosestToExpiry() throws {
            var store = ItemStore(settings: StorageSettings(maxItems: 10))
            let value = Array("1:x".utf8)
            for n in 0..<10 { store.putImmutable(target: StorageFixtures.id(n), value: value, now: t0 + .seconds(Int64(n))) }
            // Re-putting item 0 makes item 1 the closest to expiry; a re-put never evicts.
            store.putImmutable(target: StorageFixtures.id(0), value: value, now: t0 + .seconds(20))
            #expect(store.count == 10)
            try store.putMutable(target: StorageFixtures.id(100), item: item(seq: 1), cas: nil, now: t0 + .seconds(21))
            #expect(store.count == 10)
            #expect(store.immutable(StorageFixtures.id(1), now: t0 + .seconds(21)) == nil)
            #expect(store.immutable(StorageFixtures.id(0), now: t0 + .seconds(21)) != nil)

            for n in 200..<1_200 {
                store.putImmutable(target: StorageFixtures.id(n), value: value, now: t0 + .seconds(Int64(n)))
            }
            #expect(store.count == 10)
            let now = t0 + .seconds(1_200)
            #expect((1_190..<1_200).allSatisfy { store.immutable(StorageFixtures.id($0), now: now) != nil })
        }

        @Test func zeroCapacityRefusesWith202() {
            var store = ItemStore(settings: StorageSettings(maxItems: 0))
            expectRejected(.full, &store, item(seq: 1), at: t0)
            store.putImmutable(target: target, value: Array("1:x".utf8), now: t0)
            #expect(store.count == 0)
        }
    }
}
