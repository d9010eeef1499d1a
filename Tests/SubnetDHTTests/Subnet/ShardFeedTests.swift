import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension SubnetTests {
    /// The reader's side of record feeds (docs/PROTOCOL.md 3.2): owners held while any replica
    /// vouches for them, full reads that forget what they no longer list, forged records
    /// refused, replicas without feeds replaced, silent replicas' word lapsing.
    @Suite struct ShardFeedTests {
        private static let key = RecordFixtures.nodeKey
        private static let target = KeyedRecord.target(forKey: key)
        private let start = Timestamp(seconds: 1_800_000_000)
        private let replicas = (1...4).map { NodeInfo(id: .random(), endpoint: Endpoint(address: .v4(0x7f00_0001), port: UInt16(7000 + $0))) }

        private func heartbeat(_ owner: SigningKey, seq: Int64 = 1) -> KeyedRecord {
            RecordFixtures.heartbeat(owner, seq: seq, expires: start.seconds + 90)
        }

        private func answer(full: Bool, records: [KeyedRecord] = [], gone: [PublicKey] = [], version: UInt64 = 1) -> ResponseBody {
            var body = ResponseBody(id: .random())
            body.feedCursor = RecordFeedCursor(epoch: 1, version: version).bytes
            body.isFullRead = full
            body.records = records.map(\.wireDictionary)
            body.gone = gone.isEmpty ? nil : gone.flatMap(\.bytes)
            body.memberCount = Int64(records.count)
            return body
        }

        /// A feed following `homes` of the replicas (chosen at random), reads started.
        private func feed(homes: Int) -> (ShardFeed, [Endpoint], SplitMix64) {
            var generator = SplitMix64(seed: 5)
            var feed = ShardFeed(key: Self.key, target: Self.target)
            feed.adopt(replicas, wanted: homes, vouchTime: .seconds(90), now: start, generator: &generator)
            let queries = feed.startReads()
            #expect(queries.count == homes)
            for (_, query) in queries { #expect(query == .getRecordChanges(target: Self.target, since: [], after: nil)) }
            return (feed, queries.map(\.node.endpoint), generator)
        }

        private func held(_ feed: ShardFeed) -> Set<PublicKey> { Set(feed.held.keys) }

        @Test func anOwnerStaysWhileAnyReplicaVouchesForIt() {
            var (feed, homes, generator) = feed(homes: 2)
            let x = SigningKey.generate(), y = SigningKey.generate()
            func deliver(_ body: ResponseBody?, from home: Endpoint) -> [ShardFeed.Change] {
                feed.answered(from: home, body: body, wanted: 2, vouchTime: .seconds(90), maxPages: 10, now: start, generator: &generator).changes
            }
            // The first lists both owners; the second missed a store of y.
            #expect(deliver(answer(full: true, records: [heartbeat(x), heartbeat(y)]), from: homes[0]).count == 2)
            #expect(deliver(answer(full: true, records: [heartbeat(x)]), from: homes[1]).isEmpty)
            #expect(held(feed) == [x.publicKey, y.publicKey])
            // Each following read starts from the cursor it was given.
            for (_, query) in feed.startReads() {
                #expect(query == .getRecordChanges(target: Self.target, since: RecordFeedCursor(epoch: 1, version: 1).bytes, after: nil))
            }
            // One replica's removal of x (a lie, or an early expiry) costs nothing while the other holds x.
            #expect(deliver(answer(full: false, gone: [x.publicKey], version: 2), from: homes[0]).isEmpty)
            #expect(held(feed) == [x.publicKey, y.publicKey])
            _ = feed.startReads()
            let changes = deliver(answer(full: false, gone: [x.publicKey], version: 2), from: homes[1])
            guard case .released(let owner)? = changes.first, changes.count == 1 else { Issue.record("\(changes)"); return }
            #expect(owner == x.publicKey && held(feed) == [y.publicKey])
        }

        @Test func aHomeThatAcknowledgedTheReadersOwnRecordAndReadsWithoutItIsCaught() {
            var (feed, homes, generator) = feed(homes: 2)
            let me = SigningKey.generate(), x = SigningKey.generate()
            func deliver(_ body: ResponseBody, from home: Endpoint) -> ShardFeed.ReadOutcome {
                feed.answered(from: home, body: body, wanted: 2, vouchTime: .seconds(90), maxPages: 10, now: start, generator: &generator)
            }
            // Reads begun before the store prove nothing: neither home holds the record yet.
            feed.ownRecordStored(by: me.publicKey, at: homes, now: start)
            #expect(deliver(answer(full: true, records: [heartbeat(x)]), from: homes[0]).hidesOwnRecord == nil)
            #expect(deliver(answer(full: true, records: [heartbeat(x)]), from: homes[1]).hidesOwnRecord == nil)
            // Stored again; the next reads begin after it. One sends the record as a change, the
            // other answers as if nothing changed.
            feed.ownRecordStored(by: me.publicKey, at: homes, now: start)
            _ = feed.startReads()
            #expect(deliver(answer(full: false, records: [heartbeat(me)], version: 2), from: homes[0]).hidesOwnRecord == nil)
            let caught = deliver(answer(full: false, version: 2), from: homes[1])
            #expect(caught.hidesOwnRecord == homes[1])
            #expect(!feed.homes.contains { $0.node.endpoint == homes[1] }, "replaced")
            // The honest home, asked again, vouches still: a refresh is no change.
            _ = feed.startReads()
            #expect(deliver(answer(full: false, version: 3), from: homes[0]).hidesOwnRecord == nil)
            #expect(held(feed) == [me.publicKey, x.publicKey])
        }

        @Test func aReplicaFollowedAgainAfterItWasRetiredKeepsItsWord() {
            var generator = SplitMix64(seed: 5)
            var feed = ShardFeed(key: Self.key, target: Self.target)
            let me = SigningKey.generate()
            func deliver(_ home: Endpoint, full: Bool, version: UInt64) -> ShardFeed.ReadOutcome {
                feed.answered(from: home, body: answer(full: full, records: full ? [heartbeat(me)] : [], version: version), wanted: 2,
                              vouchTime: .seconds(90), maxPages: 10, now: start, generator: &generator)
            }
            feed.adopt(Array(replicas[0..<2]), wanted: 2, vouchTime: .seconds(90), now: start, generator: &generator)
            feed.ownRecordStored(by: me.publicKey, at: replicas.map(\.endpoint), now: start)
            for (node, _) in feed.startReads() { #expect(deliver(node.endpoint, full: true, version: 1).hidesOwnRecord == nil) }
            // Lookups find slightly different closest sets: replica 1 is retired, then followed again
            // before any full read completed.
            feed.adopt([replicas[0], replicas[2]], wanted: 2, vouchTime: .seconds(90), now: start, generator: &generator)
            _ = feed.startReads()
            feed.adopt([replicas[1], replicas[2]], wanted: 2, vouchTime: .seconds(90), now: start, generator: &generator)
            #expect(Set(feed.homes.map(\.node.endpoint)) == [replicas[1].endpoint, replicas[2].endpoint])
            let queries = feed.startReads()
            #expect(queries.contains { $0.node.endpoint == replicas[1].endpoint && $0.query == .getRecordChanges(target: Self.target, since: [], after: nil) })
            // Its full read lists the record; it still vouches after it, and after a read with no change.
            #expect(deliver(replicas[1].endpoint, full: true, version: 1).hidesOwnRecord == nil)
            #expect(feed.held[me.publicKey]?.vouchers.contains(replicas[1].endpoint) == true)
            #expect(deliver(replicas[2].endpoint, full: true, version: 1).hidesOwnRecord == nil)
            _ = feed.startReads()
            #expect(deliver(replicas[1].endpoint, full: false, version: 2).hidesOwnRecord == nil)
            #expect(feed.held[me.publicKey]?.vouchers.contains(replicas[1].endpoint) == true)
        }

        @Test func anAnswerCountsOnlyForTheQueryItAnswers() {
            var (feed, homes, generator) = feed(homes: 2)
            let me = SigningKey.generate()
            feed.ownRecordStored(by: me.publicKey, at: homes, now: start)
            _ = feed.startReads()
            func deliver(_ asked: QueryMethod, _ body: ResponseBody) -> ShardFeed.ReadOutcome {
                feed.answered(from: homes[0], asked: asked, body: body, wanted: 2, vouchTime: .seconds(90), maxPages: 10, now: start,
                              generator: &generator)
            }
            let read = QueryMethod.getRecordChanges(target: Self.target, since: [], after: nil)
            // A late, empty answer to a spot check of the same replica (asked before it was
            // followed) is no answer to its read: it neither completes the read nor accuses it.
            let spotCheck = QueryMethod.getRecordChanges(target: Self.target, since: [], after: QueryMethod.tokenOnlyCursor)
            let late = deliver(spotCheck, answer(full: true))
            #expect(late.hidesOwnRecord == nil && late.changes.isEmpty)
            #expect(feed.awaits(read, from: homes[0]) && !feed.awaits(spotCheck, from: homes[0]))
            // The read's own answer counts; a duplicate of it afterwards does not.
            #expect(deliver(read, answer(full: true, records: [heartbeat(me)])).changes.count == 1)
            #expect(!feed.awaits(read, from: homes[0]))
            #expect(deliver(read, answer(full: true)).changes.isEmpty)
            #expect(held(feed) == [me.publicKey])
        }

        @Test func aHomeThatDroppedTheReadersRecordAfterItsTTLIsNotCaught() {
            var (feed, homes, generator) = feed(homes: 1)
            let me = SigningKey.generate()
            feed.ownRecordStored(by: me.publicKey, at: homes, now: start)
            _ = feed.answered(from: homes[0], body: answer(full: true, records: [heartbeat(me)]), wanted: 1, vouchTime: .seconds(90),
                              maxPages: 10, now: start, generator: &generator)
            feed.ownRecordStored(by: me.publicKey, at: homes, now: start + .seconds(10))
            _ = feed.startReads()
            // The node was down (a read in flight when it stopped): its record expired at the
            // replica, which rightly sends its removal.
            let outcome = feed.answered(from: homes[0], body: answer(full: false, gone: [me.publicKey], version: 2), wanted: 1,
                                        vouchTime: .seconds(90), maxPages: 10, now: start + .seconds(200), generator: &generator)
            #expect(outcome.hidesOwnRecord == nil)
            #expect(feed.homes.map(\.node.endpoint) == homes)
        }

        @Test func aPageThatMakesNoProgressFailsTheReadAndKeepsTheCursor() {
            var (feed, homes, generator) = feed(homes: 1)
            let x = SigningKey.generate()
            func deliver(_ body: ResponseBody) -> ShardFeed.ReadOutcome {
                feed.answered(from: homes[0], body: body, wanted: 1, vouchTime: .seconds(90), maxPages: 10, now: start, generator: &generator)
            }
            _ = deliver(answer(full: true, records: [heartbeat(x)]))
            let since = RecordFeedCursor(epoch: 1, version: 1).bytes
            _ = feed.startReads()
            // Nothing fitted the unpadded poll's page: the next page starts from the first change.
            var empty = answer(full: false, version: 5)
            empty.more = QueryMethod.beforeEveryOwner
            #expect(deliver(empty).next == .getRecordChanges(target: Self.target, since: since, after: QueryMethod.beforeEveryOwner))
            // Nor the padded one: the read is given up, and the next poll asks from the same cursor.
            #expect(deliver(empty).next == nil)
            #expect(held(feed) == [x.publicKey])
            // (Other queries of the round are a spot check of another replica.)
            let polls = feed.startReads().filter { $0.node.endpoint == homes[0] }
            #expect(polls.map(\.query) == [.getRecordChanges(target: Self.target, since: since, after: nil)])
        }

        @Test func aFullReadForgetsWhatItNoLongerListsAndANewerRecordWins() {
            var (feed, homes, generator) = feed(homes: 1)
            let x = SigningKey.generate(), y = SigningKey.generate()
            func deliver(_ body: ResponseBody) -> [ShardFeed.Change] {
                feed.answered(from: homes[0], body: body, wanted: 1, vouchTime: .seconds(90), maxPages: 10, now: start, generator: &generator).changes
            }
            _ = deliver(answer(full: true, records: [heartbeat(x), heartbeat(y)]))
            _ = feed.startReads()
            // A full read again (the cursor fell behind): y is gone, x says something newer.
            let changes = deliver(answer(full: true, records: [heartbeat(x, seq: 2)], version: 9))
            #expect(held(feed) == [x.publicKey] && feed.held[x.publicKey]?.record.seq == 2)
            #expect(changes.count == 2)
            // An older record of x, replayed, changes nothing.
            _ = feed.startReads()
            #expect(deliver(answer(full: false, records: [heartbeat(x, seq: 1)], version: 10)).isEmpty)
            #expect(feed.held[x.publicKey]?.record.seq == 2)
        }

        @Test func forgedRecordsAreNeverHeld() {
            var (feed, homes, generator) = feed(homes: 1)
            var forged = heartbeat(SigningKey.generate())
            forged.signature = [UInt8](repeating: 7, count: 64)
            let changes = feed.answered(from: homes[0], body: answer(full: true, records: [forged]), wanted: 1, vouchTime: .seconds(90),
                                        maxPages: 10, now: start, generator: &generator).changes
            #expect(changes.isEmpty && feed.held.isEmpty)
        }

        @Test func aReplicaWithoutFeedsIsReplacedAndAKeyWithNoneIsReadInFull() {
            var (feed, homes, generator) = feed(homes: 1)
            #expect(!feed.hasNoFeeds)
            // An older node answers as a find_node would: no cursor.
            let old = ResponseBody(id: .random())
            _ = feed.answered(from: homes[0], body: old, wanted: 1, vouchTime: .seconds(90), maxPages: 10, now: start, generator: &generator)
            #expect(feed.homes.count == 1 && feed.homes[0].node.endpoint != homes[0])
            // Every candidate without feeds: the key falls back to full reads.
            for _ in 0..<3 {
                let next = feed.startReads()
                guard !next.isEmpty else { break }
                // Every query of the round, spot checks included, meets an older node.
                for (node, _) in next {
                    _ = feed.answered(from: node.endpoint, body: old, wanted: 1, vouchTime: .seconds(90), maxPages: 10, now: start, generator: &generator)
                }
            }
            #expect(feed.homes.isEmpty && feed.hasNoFeeds)
        }

        @Test func aSilentReplicasWordLapsesAfterTheVouchTime() {
            var (feed, homes, generator) = feed(homes: 1)
            let x = SigningKey.generate()
            _ = feed.answered(from: homes[0], body: answer(full: true, records: [heartbeat(x)]), wanted: 1, vouchTime: .seconds(90),
                              maxPages: 10, now: start, generator: &generator)
            #expect(feed.lapse(vouchTime: .seconds(90), now: start + .seconds(89)).isEmpty)
            let changes = feed.lapse(vouchTime: .seconds(90), now: start + .seconds(90))
            guard case .released(let owner)? = changes.first else { Issue.record("\(changes)"); return }
            #expect(owner == x.publicKey && feed.held.isEmpty)
            // Its next read lists everything again: what it vouched for was forgotten.
            #expect(feed.startReads().map(\.query) == [.getRecordChanges(target: Self.target, since: [], after: nil)])
        }

        @Test func aReadInFlightWhenTheWordLapsedIsDroppedAndTheNextReadIsFull() {
            var (feed, homes, generator) = feed(homes: 1)
            let x = SigningKey.generate()
            _ = feed.answered(from: homes[0], body: answer(full: true, records: [heartbeat(x)]), wanted: 1, vouchTime: .seconds(90),
                              maxPages: 10, now: start, generator: &generator)
            // A poll goes out; then the node is down for longer than the vouch time.
            #expect(feed.startReads().count == 1)
            #expect(feed.lapse(vouchTime: .seconds(90), now: start + .seconds(200)).count == 1)
            // The old poll's answer (nothing changed since its cursor) comes late: it must not
            // stand for a read, or x, which only refreshed, would never be listed again.
            _ = feed.answered(from: homes[0], body: answer(full: false, version: 2), wanted: 1, vouchTime: .seconds(90),
                              maxPages: 10, now: start + .seconds(201), generator: &generator)
            let next = feed.startReads().first { $0.node.endpoint == homes[0] }
            #expect(next?.query == .getRecordChanges(target: Self.target, since: [], after: nil))
            let renewed = RecordFixtures.heartbeat(x, seq: 2, expires: start.seconds + 300)
            let changes = feed.answered(from: homes[0], body: answer(full: true, records: [renewed], version: 3), wanted: 1,
                                        vouchTime: .seconds(90), maxPages: 10, now: start + .seconds(202), generator: &generator).changes
            #expect(changes.count == 1 && held(feed) == [x.publicKey], "\(changes)")
        }

        @Test func aHomeThatKeepsHidingAnOwnerIsReadInFullThenReplaced() {
            var (feed, homes, generator) = feed(homes: 2)
            let x = SigningKey.generate(), hidden = SigningKey.generate()
            let alsoHidden = (0..<2).map { _ in SigningKey.generate() }
            var honest = answer(full: true, records: [heartbeat(x), heartbeat(hidden)] + alsoHidden.map { heartbeat($0) })
            honest.memberDigest = [UInt8](repeating: 1, count: 16)
            var liar = answer(full: true, records: [heartbeat(x)])
            liar.memberDigest = [UInt8](repeating: 2, count: 16)
            var now = start
            func read(_ home: Endpoint, _ body: ResponseBody) -> ShardFeed.ReadOutcome {
                feed.answered(from: home, body: body, wanted: 2, vouchTime: .seconds(90), maxPages: 10, now: now, generator: &generator)
            }
            _ = read(homes[0], honest)
            // Owners held for less than an interval (a third of the vouch time) judge no one:
            // an honest replica may not have been told of them yet.
            for _ in 1...ShardFeed.patience + 1 {
                _ = feed.startReads()
                #expect(!read(homes[1], liar).noticed)
                _ = read(homes[0], honest)
            }
            now = start + .seconds(30)
            // Two reads lacking what the other home holds are patience; the third is noticed,
            // and the liar is read in full next.
            for round in 1...ShardFeed.patience {
                _ = feed.startReads()
                let outcome = read(homes[1], liar)
                #expect(outcome.noticed == (round == ShardFeed.patience) && !outcome.avoided)
                _ = read(homes[0], honest)
            }
            #expect(feed.held.keys.contains(hidden.publicKey), "the other home's word keeps the hidden owner")
            let next = feed.startReads().first { $0.node.endpoint == homes[1] }
            #expect(next?.query == .getRecordChanges(target: Self.target, since: [], after: nil))
            // Still hiding after the full read: replaced by another candidate.
            var outcome = ShardFeed.ReadOutcome()
            for _ in 1...ShardFeed.patience {
                outcome = read(homes[1], liar)
                _ = feed.startReads()
            }
            #expect(outcome.noticed && outcome.avoided)
            #expect(feed.homes.count == 2 && !feed.homes.contains { $0.node.endpoint == homes[1] })
            // Homes that agree are never judged.
            var (calm, calmHomes, calmGenerator) = self.feed(homes: 2)
            for _ in 0..<5 {
                for home in calmHomes {
                    let agreeing = calm.answered(from: home, body: honest, wanted: 2, vouchTime: .seconds(90), maxPages: 10, now: start,
                                                 generator: &calmGenerator)
                    #expect(!agreeing.noticed)
                }
                _ = calm.startReads()
            }
        }

        @Test func aSpotCheckFindsOwnersEveryFollowedReplicaHidesAndFollowsItsReplica() {
            // Two followed replicas that hide the same owner alike: they agree, and the view lacks it.
            var (feed, homes, generator) = feed(homes: 2)
            let x = SigningKey.generate()
            var colluding = answer(full: true, records: [heartbeat(x)])
            colluding.memberDigest = [UInt8](repeating: 3, count: 16)
            func read(_ home: Endpoint, _ body: ResponseBody?) -> ShardFeed.ReadOutcome {
                feed.answered(from: home, body: body, wanted: 2, vouchTime: .seconds(90), maxPages: 10, now: start, generator: &generator)
            }
            for home in homes { _ = read(home, colluding) }
            // Every third round also asks one replica it does not follow for its summary alone.
            var check: (node: NodeInfo, query: QueryMethod)?
            for _ in 1...ShardFeed.spotCheckEvery {
                let queries = feed.startReads()
                check = queries.first { !homes.contains($0.node.endpoint) } ?? check
                for home in homes { _ = read(home, colluding) }
            }
            let spot = try! #require(check)
            #expect(spot.query == .getRecordChanges(target: Self.target, since: [], after: QueryMethod.tokenOnlyCursor))
            #expect(feed.awaits(spot.query, from: spot.node.endpoint))
            // It holds four owners where the view knows one: it is followed from now on.
            var summary = answer(full: true)
            summary.memberCount = 4
            summary.memberDigest = [UInt8](repeating: 4, count: 16)
            let outcome = read(spot.node.endpoint, summary)
            #expect(outcome.noticed && outcome.followsAnother && outcome.changes.isEmpty)
            #expect(feed.homes.contains { $0.node.endpoint == spot.node.endpoint } && feed.homes.count == 2)
            #expect(feed.startReads().contains { $0.node.endpoint == spot.node.endpoint && $0.query == .getRecordChanges(target: Self.target, since: [], after: nil) })
            // One that reports what a followed replica reports changes nothing.
            var (calm, calmHomes, calmGenerator) = self.feed(homes: 2)
            for home in calmHomes { _ = calm.answered(from: home, body: colluding, wanted: 2, vouchTime: .seconds(90), maxPages: 10, now: start, generator: &calmGenerator) }
            var calmCheck: NodeInfo?
            for _ in 1...ShardFeed.spotCheckEvery {
                calmCheck = calm.startReads().first { !calmHomes.contains($0.node.endpoint) }?.node ?? calmCheck
                for home in calmHomes { _ = calm.answered(from: home, body: colluding, wanted: 2, vouchTime: .seconds(90), maxPages: 10, now: start, generator: &calmGenerator) }
            }
            let same = calm.answered(from: try! #require(calmCheck).endpoint, body: colluding, wanted: 2, vouchTime: .seconds(90), maxPages: 10,
                                     now: start, generator: &calmGenerator)
            #expect(!same.noticed && !same.followsAnother && Set(calm.homes.map(\.node.endpoint)) == Set(calmHomes))
            // Nor does one that holds an owner or two more (a join on its way): under churn, a
            // replica asked at another moment nearly always does.
            for _ in 1...ShardFeed.spotCheckEvery {
                calmCheck = calm.startReads().first { !calmHomes.contains($0.node.endpoint) }?.node ?? calmCheck
                for home in calmHomes { _ = calm.answered(from: home, body: colluding, wanted: 2, vouchTime: .seconds(90), maxPages: 10, now: start, generator: &calmGenerator) }
            }
            var slightlyMore = answer(full: true)
            slightlyMore.memberCount = 3
            slightlyMore.memberDigest = [UInt8](repeating: 5, count: 16)
            let passing = calm.answered(from: try! #require(calmCheck).endpoint, body: slightlyMore, wanted: 2, vouchTime: .seconds(90), maxPages: 10,
                                        now: start, generator: &calmGenerator)
            #expect(!passing.followsAnother && Set(calm.homes.map(\.node.endpoint)) == Set(calmHomes))
        }

        @Test func pagesAreFollowedWithTheSameCursor() {
            var (feed, homes, generator) = feed(homes: 1)
            let x = SigningKey.generate(), y = SigningKey.generate()
            var first = answer(full: true, records: [heartbeat(x)], version: 4)
            first.more = x.publicKey.bytes
            let step = feed.answered(from: homes[0], body: first, wanted: 1, vouchTime: .seconds(90), maxPages: 10, now: start, generator: &generator)
            #expect(step.next == .getRecordChanges(target: Self.target, since: [], after: x.publicKey.bytes) && step.changes.isEmpty)
            // The second page carries a later cursor; the read keeps the first page's.
            let last = feed.answered(from: homes[0], body: answer(full: true, records: [heartbeat(y)], version: 6), wanted: 1,
                                     vouchTime: .seconds(90), maxPages: 10, now: start, generator: &generator)
            #expect(last.next == nil && last.changes.count == 2)
            #expect(feed.homes[0].cursor == RecordFeedCursor(epoch: 1, version: 4).bytes)
        }
    }
}

extension ShardFeed {
    /// The answer of `endpoint` to whatever the feed awaits from it, as the core hands back
    /// the answer with the query it sent.
    mutating func answered(from endpoint: Endpoint, body: ResponseBody?, wanted: Int, vouchTime: Duration, maxPages: Int,
                           now: Timestamp, generator: inout SplitMix64) -> ReadOutcome {
        answered(from: endpoint, asked: awaitedQuery(from: endpoint), body: body, wanted: wanted, vouchTime: vouchTime, maxPages: maxPages,
                 now: now, generator: &generator)
    }
}
