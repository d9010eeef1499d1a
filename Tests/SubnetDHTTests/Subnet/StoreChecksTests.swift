import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension SubnetTests {
    /// Checks of the replicas a heartbeat was stored on (docs/PROTOCOL.md 3.2): each is asked
    /// for the page that starts at the node's own key, and one whose page starts elsewhere hides it.
    @Suite struct StoreChecksTests {
        private static let key = RecordFixtures.nodeKey
        private static let target = KeyedRecord.target(forKey: key)
        private let start = Timestamp(seconds: 1_800_000_000)
        private let me = SigningKey.generate()
        private let replicas = (1...3).map { NodeInfo(id: .random(), endpoint: Endpoint(address: .v4(0x7f00_0001), port: UInt16(7100 + $0))) }

        private func page(_ records: [KeyedRecord], more: [UInt8]? = nil, feeds: Bool = true) -> ResponseBody {
            var body = ResponseBody(id: .random())
            body.feedCursor = feeds ? RecordFeedCursor(epoch: 1, version: 1).bytes : nil
            body.isFullRead = feeds
            body.records = records.map(\.wireDictionary)
            body.more = more
            return body
        }

        private func mine(expires: Int64? = nil) -> KeyedRecord {
            RecordFixtures.heartbeat(me, seq: 1, expires: expires ?? start.seconds + 90)
        }

        @Test func thePageAskedForStartsJustBeforeTheOwnersKey() throws {
            var checks = StoreChecks()
            let queries = checks.queries(owner: me.publicKey, target: Self.target, acknowledgedBy: replicas, except: [], owedFor: .seconds(90), now: start)
            #expect(queries.count == 3)
            guard case .getRecordChanges(let target, let since, let after?) = queries[0].query else {
                Issue.record("\(queries[0].query)")
                return
            }
            #expect(target == Self.target && since.isEmpty)
            #expect(after.lexicographicallyPrecedes(me.publicKey.bytes) && after.count == 32)
            // Nothing lies between: the successor of `after` is the owner's key.
            #expect(StoreChecks.justBefore(try #require(PublicKey(bytes: [UInt8](repeating: 0, count: 31) + [1]))) == [UInt8](repeating: 0, count: 32))
            #expect(StoreChecks.justBefore(try #require(PublicKey(bytes: [1] + [UInt8](repeating: 0, count: 31)))) == [0] + [UInt8](repeating: 0xff, count: 31))
            #expect(StoreChecks.justBefore(try #require(PublicKey(bytes: [UInt8](repeating: 0, count: 32)))) == nil)
        }

        @Test func aReplicaWhosePageStartsWithTheRecordHoldsItAndIsNotAskedAgainForAWhile() {
            var checks = StoreChecks()
            let first = checks.queries(owner: me.publicKey, target: Self.target, acknowledgedBy: replicas, except: [replicas[2].endpoint], owedFor: .seconds(90), now: start)
            #expect(first.map(\.node.endpoint) == [replicas[0].endpoint, replicas[1].endpoint], "followed replicas are read anyway")
            let again = checks.queries(owner: me.publicKey, target: Self.target, acknowledgedBy: replicas, except: [], owedFor: .seconds(90), now: start)
            #expect(again.map(\.node.endpoint) == [replicas[2].endpoint], "one check in flight per replica")
            let holds = checks.answered(from: replicas[0].endpoint, body: page([mine()]), key: Self.key, now: start)
            #expect(!holds)
            #expect(!checks.isPending(replicas[0].endpoint))
            let soon = checks.queries(owner: me.publicKey, target: Self.target, acknowledgedBy: [replicas[0]], except: [], owedFor: .seconds(90), now: start + .seconds(60))
            #expect(soon.isEmpty)
            let later = checks.queries(owner: me.publicKey, target: Self.target, acknowledgedBy: [replicas[0]], except: [], owedFor: .seconds(90), now: start + checks.memory)
            #expect(later.count == 1)
        }

        @Test func aReplicaThatStartsElsewhereOrHoldsNothingHidesIt() {
            var checks = StoreChecks()
            let other = RecordFixtures.heartbeat(SigningKey.generate(), seq: 1, expires: start.seconds + 90)
            let verdicts: [(ResponseBody?, Bool, String)] = [
                (page([other]), true, "another owner first"),
                (page([]), true, "nothing after the key"),
                (page([mine(expires: start.seconds - 1)]), true, "an expired record of the owner"),
                (page([], more: StoreChecks.justBefore(me.publicKey)), false, "no record fitted the page: no verdict"),
                (page([], feeds: false), false, "a replica without feeds: no verdict"),
                (nil, false, "no answer: no verdict"),
            ]
            for (body, hides, reason) in verdicts {
                _ = checks.queries(owner: me.publicKey, target: Self.target, acknowledgedBy: [replicas[0]], except: [], owedFor: .seconds(90), now: start)
                let verdict = checks.answered(from: replicas[0].endpoint, body: body, key: Self.key, now: start)
                #expect(verdict == hides, "\(reason)")
            }
            // A node that was down past the record's TTL: the replica owes it no longer.
            _ = checks.queries(owner: me.publicKey, target: Self.target, acknowledgedBy: [replicas[0]], except: [], owedFor: .seconds(90), now: start)
            let late = checks.answered(from: replicas[0].endpoint, body: page([]), key: Self.key, now: start + .seconds(90))
            #expect(!late, "an answer after the record expired")
            // An answer nobody asked for proves nothing.
            let unasked = checks.answered(from: replicas[1].endpoint, body: page([]), key: Self.key, now: start)
            #expect(!unasked)
        }
    }
}
