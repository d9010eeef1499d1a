import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension StorageTests {
    @Suite struct TimeIndexStorageTests {
        private let t0 = StorageFixtures.t0

        @Test func popsInTimeOrderWithTiesInSchedulingOrder() {
            var index = TimeIndex<Int>()
            index.schedule(1, at: t0 + .seconds(3))
            index.schedule(2, at: t0 + .seconds(1))
            index.schedule(3, at: t0 + .seconds(2))
            index.schedule(4, at: t0 + .seconds(1))
            var order: [Int] = []
            while let next = index.popFirst() { order.append(next.key) }
            #expect(order == [2, 4, 3, 1])
            #expect(index.isEmpty)
            #expect(index.storedEntryCount == 0)
        }

        @Test func rescheduleMovesAKeyAndRemoveForgetsIt() {
            var index = TimeIndex<Int>()
            index.schedule(1, at: t0)
            index.schedule(2, at: t0 + .seconds(1))
            index.schedule(1, at: t0 + .seconds(5))
            #expect(index.count == 2)
            #expect(index.first?.key == 2)
            #expect(index.time(of: 1) == t0 + .seconds(5))
            #expect(index.remove(2) == t0 + .seconds(1))
            #expect(index.remove(2) == nil)
            #expect(index.first?.key == 1)
            #expect(index.first?.time == t0 + .seconds(5))
            #expect(Array(index.entries.map(\.key)) == [1])
        }

        @Test func staleEntriesStayBoundedUnderEndlessRescheduling() {
            var index = TimeIndex<Int>()
            // Key 0 never moves and stays on top, so stale entries below it are never popped
            // on their own: only compaction bounds them.
            index.schedule(0, at: t0)
            var maxEntries = 0
            for step in 1...10_000 {
                index.schedule(1 + step % 10, at: t0 + .milliseconds(step))
                maxEntries = max(maxEntries, index.storedEntryCount)
            }
            #expect(index.count == 11)
            #expect(maxEntries <= 2 * 11 + 33)
            // Order survives compaction: key 0, then the last ten reschedules.
            var times: [Int64] = []
            while let next = index.popFirst() { times.append((next.time - t0).millisecondsValue) }
            #expect(times == [0] + Array(9_991...10_000).map(Int64.init))
            #expect(index.storedEntryCount == 0)
        }
    }
}
