import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension RoutingTests {
    @Suite struct ContactCapabilitiesTests {
        let now = Timestamp(seconds: 1_700_000_000)
        let contact = Endpoint("127.0.0.1:7001")!

        @Test func aPlainVerdictHoldsForItsMemoryThenLapses() {
            var book = ContactCapabilities(capacity: 16, plainMemory: .seconds(60))
            #expect(book.recordSupport(of: contact, now: now) == .unknown)
            book.noteIgnoresRecords(contact, now: now)
            #expect(book.recordSupport(of: contact, now: now + .seconds(59)) == .plain)
            #expect(book.recordSupport(of: contact, now: now + .seconds(60)) == .unknown)
            // Forgotten by the sweep once lapsed: nothing else was known of it.
            book.sweep(now: now + .seconds(30))
            #expect(book.count == 1)
            book.sweep(now: now + .seconds(60))
            #expect(book.count == 0)
        }

        @Test func servingRecordsOutranksSilenceEitherWayRound() {
            var book = ContactCapabilities(capacity: 16, plainMemory: .seconds(60))
            book.noteIgnoresRecords(contact, now: now)
            book.noteServesRecords(contact)
            #expect(book.recordSupport(of: contact, now: now) == .capable)
            book.noteIgnoresRecords(contact, now: now)
            #expect(book.recordSupport(of: contact, now: now) == .capable)
            book.sweep(now: now + .seconds(3600))
            #expect(book.recordSupport(of: contact, now: now + .seconds(3600)) == .capable)
        }

        @Test func onlyKnownMethodsJudgeHealth() {
            var book = ContactCapabilities(capacity: 16, plainMemory: .seconds(60))
            let target = NodeID.random()
            for method: QueryMethod in [.ping, .findNode(target: target, want: nil), .getPeers(infoHash: target, want: nil),
                                        .announcePeer(infoHash: target, port: 1, impliedPort: true, token: [])] {
                #expect(book.isKnownToSupport(method, at: contact, now: now), "\(method.name)")
            }
            let get = QueryMethod.get(target: target, seq: nil, want: nil)
            let records = QueryMethod.getRecords(target: target, after: nil, want: nil)
            #expect(!book.isKnownToSupport(get, at: contact, now: now))
            #expect(!book.isKnownToSupport(records, at: contact, now: now))
            #expect(!book.isKnownToSupport(.unknown(name: "vote", target: target), at: contact, now: now))
            book.noteAnsweredBEP44(contact)
            #expect(book.isKnownToSupport(get, at: contact, now: now))
            #expect(!book.isKnownToSupport(records, at: contact, now: now))
            book.noteServesRecords(contact)
            #expect(book.isKnownToSupport(records, at: contact, now: now))
            #expect(book.isKnownToSupport(.announceRecord(arguments: [:]), at: contact, now: now))
        }

        @Test func aFullMemoryForgetsPlainContactsBeforeCapableOnes() {
            var book = ContactCapabilities(capacity: 4, plainMemory: .seconds(60))
            let capable = (1...3).map { Endpoint(address: .v4(0x7f00_0001), port: UInt16($0)) }
            for endpoint in capable { book.noteServesRecords(endpoint) }
            for port in 10...30 { book.noteIgnoresRecords(Endpoint(address: .v4(0x7f00_0001), port: UInt16(port)), now: now) }
            #expect(book.count == 4)
            #expect(capable.allSatisfy { book.recordSupport(of: $0, now: now) == .capable })
        }

        @Test func memoryIsBounded() {
            var book = ContactCapabilities(capacity: 4, plainMemory: .seconds(60))
            for port in 1...20 {
                book.noteIgnoresRecords(Endpoint(address: .v4(0x7f00_0001), port: UInt16(port)), now: now)
            }
            #expect(book.count == 4)
            // A known contact is updated in place, never at another's expense.
            let kept = (1...20).map { Endpoint(address: .v4(0x7f00_0001), port: UInt16($0)) }.filter { book.recordSupport(of: $0, now: now) == .plain }
            #expect(kept.count == 4)
            book.noteServesRecords(kept[0])
            #expect(book.count == 4)
            #expect(kept.dropFirst().allSatisfy { book.recordSupport(of: $0, now: now) == .plain })
        }
    }
}
