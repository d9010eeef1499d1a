import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension StatusPageTests {
    /// The board fed membership events and readings on a virtual clock, as the recorder feeds it.
    @Suite struct SubnetStatusBoardTests {
        let keys = StatusPageTests.keys
        let t0 = StatusPageTests.start

        func status(_ board: SubnetStatusBoard, at now: Timestamp) -> SubnetStatus {
            board.status(now: now, key: "node", owner: keys[0].publicKey, info: nil)
        }

        @Test func aPeerThatSaidOfflineLeftAndASilentOneExpired() {
            var board = SubnetStatusBoard()
            let peers = (0..<4).map { StatusPageTests.peer(keys[$0], port: 7000 + UInt16($0)) }
            board.begin(with: StatusPageTests.reading(live: peers), now: t0)
            #expect(status(board, at: t0).live.count == 4)
            #expect(status(board, at: t0).departed.isEmpty)

            // Peer 1 publishes OFFLINE; peer 2's heartbeat expires without one.
            let offline = StatusPageTests.peer(keys[1], port: 7001, state: .offline, published: t0 + .seconds(2))
            board.apply(.left(offline), now: t0 + .seconds(3))
            board.apply(.expired(peers[2]), now: t0 + .seconds(3))
            let after = status(board, at: t0 + .seconds(3))
            #expect(after.live.map(\.owner) == [keys[0].publicKey, keys[3].publicKey])
            #expect(Set(after.departed.map { "\($0.peer.info.address.port) \($0.reason)" }) == ["7001 left", "7002 expired"])
            #expect(after.departed.allSatisfy { $0.noticed == t0 + .seconds(3) })
            #expect(after.departed.first { $0.reason == .left }?.peer.info.state == .offline)

            // Later readings keep the time each departure was noticed.
            board.refresh(with: StatusPageTests.reading(live: [peers[0], peers[3]], offline: [offline]), now: t0 + .seconds(5))
            #expect(status(board, at: t0 + .seconds(5)).departed.allSatisfy { $0.noticed == t0 + .seconds(3) })
        }

        @Test func aPeerThatComesBackIsNoLongerDeparted() {
            var board = SubnetStatusBoard()
            let peer = StatusPageTests.peer(keys[1], port: 7001)
            board.begin(with: StatusPageTests.reading(live: [peer]), now: t0)
            board.apply(.expired(peer), now: t0 + .seconds(20))
            #expect(status(board, at: t0 + .seconds(20)).departed.count == 1)
            let back = StatusPageTests.peer(keys[1], port: 7001, published: t0 + .seconds(25))
            board.apply(.joined(back), now: t0 + .seconds(25))
            let now = status(board, at: t0 + .seconds(25))
            #expect(now.departed.isEmpty)
            #expect(now.live == [back])
        }

        @Test func departuresAreKeptForTheRetentionAndAtMostMaxDepartures() {
            var settings = SubnetStatusBoard.Settings()
            settings.departureRetention = .seconds(600)
            settings.maxDepartures = 3
            var board = SubnetStatusBoard(settings: settings)
            let peers = (0..<5).map { StatusPageTests.peer(keys[$0], port: 7000 + UInt16($0), ttl: .seconds(3600)) }
            board.begin(with: StatusPageTests.reading(live: peers), now: t0)
            // One peer leaves a minute, for five minutes.
            for gone in 1...5 {
                board.apply(.expired(peers[gone - 1]), now: t0 + .seconds(60 * Int64(gone)))
            }
            let listed = status(board, at: t0 + .seconds(300)).departed
            #expect(listed.map(\.peer.info.address.port) == [7004, 7003, 7002])  // newest first, the two oldest dropped
            board.refresh(with: StatusPageTests.reading(live: []), now: t0 + .seconds(60 * 4 + 600))
            #expect(status(board, at: t0 + .seconds(60 * 4 + 600)).departed.map(\.peer.info.address.port) == [7004])
        }

        @Test func thePageListsThePeersOfTheViewUntilItsExpiredEvent() {
            var board = SubnetStatusBoard()
            let short = StatusPageTests.peer(keys[1], port: 7001, ttl: .seconds(4))
            let long = StatusPageTests.peer(keys[2], port: 7002, ttl: .seconds(60))
            board.begin(with: StatusPageTests.reading(live: [short, long]), now: t0)
            // Past the short heartbeat's expiry, but the view has not dropped it yet: as the view has it.
            #expect(status(board, at: t0 + .seconds(5)).live == [short, long])
            board.apply(.expired(short), now: t0 + .seconds(5))
            #expect(status(board, at: t0 + .seconds(5)).live == [long])
            #expect(status(board, at: t0 + .seconds(5)).departed.map(\.reason) == [.expired])
        }

        @Test func countsByRoleAndStateAndCountersAndHistory() {
            var board = SubnetStatusBoard()
            let peers = [
                StatusPageTests.peer(keys[0], port: 7000, role: "bootstrap"),
                StatusPageTests.peer(keys[1], port: 7001),
                StatusPageTests.peer(keys[2], port: 7002, state: .joining),
                StatusPageTests.peer(keys[3], port: 7003),
            ]
            board.begin(with: StatusPageTests.reading(live: peers, routing: 11, records: 13), now: t0)
            board.apply(.expired(peers[3]), now: t0 + .seconds(1))
            board.refresh(with: StatusPageTests.reading(live: Array(peers.prefix(3)), routing: 12, records: 14), now: t0 + .seconds(1))
            let now = status(board, at: t0 + .seconds(1))
            #expect(now.countsByRole.map { "\($0.label)=\($0.count)" } == ["worker=2", "bootstrap=1"])
            #expect(now.countsByState.map { "\($0.label)=\($0.count)" } == ["online=2", "joining=1", "expired=1"])
            #expect(now.routingTableSize == 12 && now.storedRecords == 14)
            #expect(now.updated == t0 + .seconds(1))
            #expect(now.history.samples == [.init(start: t0, low: 3, high: 4, last: 3)])
        }

        @Test func theHeartbeatAgeComesFromSeqWhenItIsAPublishTime() {
            let board = SubnetStatusBoard()
            let now = status(board, at: t0 + .milliseconds(2500))
            #expect(now.heartbeatAge(of: StatusPageTests.peer(keys[1], port: 7001)) == .milliseconds(2500))
            var counter = StatusPageTests.peer(keys[1], port: 7001)
            counter.seq = 42  // another implementation's counter: no age
            #expect(now.heartbeatAge(of: counter) == nil)
        }

        // New: what the events and readings each decide.

        @Test func aReadingRenewsTheRecordsOfLivePeersButNotWhoIsLive() {
            var board = SubnetStatusBoard()
            let peer = StatusPageTests.peer(keys[1], port: 7001)
            board.begin(with: StatusPageTests.reading(live: [peer]), now: t0)
            let renewed = StatusPageTests.peer(keys[1], port: 7001, published: t0 + .seconds(10))
            let unannounced = StatusPageTests.peer(keys[2], port: 7002, published: t0 + .seconds(10))
            // The reading has a newer heartbeat of the live peer, and a peer whose joined event
            // has not been applied yet.
            board.refresh(with: StatusPageTests.reading(live: [renewed, unannounced]), now: t0 + .seconds(10))
            #expect(status(board, at: t0 + .seconds(10)).live == [renewed])
            // An older reading does not undo the renewal, and one without the peer does not remove it.
            board.refresh(with: StatusPageTests.reading(live: [peer]), now: t0 + .seconds(11))
            board.refresh(with: StatusPageTests.reading(live: []), now: t0 + .seconds(12))
            #expect(status(board, at: t0 + .seconds(12)).live == [renewed])
            #expect(status(board, at: t0 + .seconds(12)).departed.isEmpty)
            board.apply(.joined(unannounced), now: t0 + .seconds(12))
            #expect(status(board, at: t0 + .seconds(12)).live == [renewed, unannounced])
        }

        @Test func aStateChangeUpdatesTheRowAndAFirstReadingListsEarlierDepartures() {
            var board = SubnetStatusBoard()
            let joining = StatusPageTests.peer(keys[1], port: 7001, state: .joining)
            let offline = StatusPageTests.peer(keys[2], port: 7002, state: .offline)
            let lapsed = StatusPageTests.peer(keys[3], port: 7003, published: t0 - .seconds(20))
            // A page started on a running node: one peer live, one said OFFLINE, one expired
            // since the view last dropped expired records.
            board.begin(with: StatusPageTests.reading(live: [joining], offline: [offline, lapsed]), now: t0)
            #expect(Set(status(board, at: t0).departed.map { "\($0.peer.info.address.port) \($0.reason)" }) == ["7002 left", "7003 expired"])
            let online = StatusPageTests.peer(keys[1], port: 7001, published: t0 + .seconds(1))
            board.apply(.stateChanged(online, from: .joining), now: t0 + .seconds(1))
            #expect(status(board, at: t0 + .seconds(1)).live == [online])
            #expect(status(board, at: t0 + .seconds(1)).countsByState.map { "\($0.label)=\($0.count)" } == ["online=1", "expired=1", "left=1"])
        }
    }
}
