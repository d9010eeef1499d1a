import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension CoreTests {
    @Suite struct QueryRateLimiterTests {
        let start = Timestamp(seconds: 1_700_000_000)
        let flooder = Endpoint("203.0.113.7:6881")!

        func limiter(rate: Double = 10, burst: Double = 20, maxSources: Int = 100) -> QueryRateLimiter {
            var settings = RateLimitSettings()
            settings.queriesPerSecond = rate
            settings.burst = burst
            settings.maxSources = maxSources
            return QueryRateLimiter(settings: settings)
        }

        @Test func aSourceGetsItsBurstThenItsRate() {
            var limiter = limiter()
            let admitted = (0..<100).filter { _ in limiter.admit(flooder, now: start) }.count
            #expect(admitted == 20)
            // One second later: ten more tokens, no more.
            let later = (0..<100).filter { _ in limiter.admit(flooder, now: start + .seconds(1)) }.count
            #expect(later == 10)
        }

        @Test func anExhaustedSourceIsSeenWithoutTakingATokenSoItsDatagramsNeedNoParse() {
            var limiter = limiter()
            #expect(!limiter.isExhausted(flooder, now: start), "an unknown source has its burst")
            for _ in 0..<20 { _ = limiter.admit(flooder, now: start) }
            #expect(limiter.isExhausted(flooder, now: start))
            #expect(!limiter.isExhausted(flooder, now: start + .milliseconds(100)), "a tenth of a second refills one token")
            let admitted = limiter.admit(flooder, now: start + .milliseconds(100))
            #expect(admitted)
        }

        @Test func portsOfOnePublicAddressShareABucketButLoopbackPortsDoNot() {
            var limiter = limiter()
            let ports = (0..<100).filter { port in limiter.admit(Endpoint(address: flooder.address, port: UInt16(1000 + port)), now: start) }.count
            #expect(ports == 20, "one host cannot escape its limit by changing ports")
            // Test networks share 127.0.0.1: each node there is its own source.
            let loopback = (0..<50).filter { port in limiter.admit(Endpoint(address: .v4(0x7f00_0001), port: UInt16(1000 + port)), now: start) }.count
            #expect(loopback == 50)
        }

        @Test func spoofedSourcesBeyondTheTableShareOneBucket() {
            var limiter = limiter(maxSources: 10)
            var admitted = 0
            for host in 0..<1_000 {
                // A thousand distinct (spoofed) addresses, one query each.
                if limiter.admit(Endpoint(address: .v4(0x0a00_0000 + UInt32(host)), port: 6881), now: start) { admitted += 1 }
            }
            #expect(limiter.trackedSources <= 11)
            // The first ten sources' bursts (20 each, one query each here), then the shared overflow bucket's 20.
            #expect(admitted <= 10 + 20)
        }

        @Test func offMeansOff() {
            var limiter = limiter(rate: 0)
            #expect((0..<10_000).allSatisfy { _ in limiter.admit(flooder, now: start) })
        }
    }
}

extension CoreTests {
    @Suite struct FloodTests {
        @Test func aFloodFromOneSourceDoesNotCrowdOutOtherPeers() {
            var core = DHTCore(localID: .random(), settings: .loopbackTestNetwork, now: Timestamp(seconds: 1_700_000_000))
            var now = Timestamp(seconds: 1_700_000_000)
            let flooder = Endpoint("127.0.0.9:4000")!, honest = Endpoint("127.0.0.2:5000")!
            let ping = KRPCCodec.encode(KRPCMessage(transactionID: [1, 1], body: .query(Query(senderID: .random(), method: .ping))))
            var answeredFlooder = 0, answeredHonest = 0
            // 10 s of 2,000 pings a second from the flooder, and 10 a second from an honest peer.
            for millisecond in 0..<10_000 {
                now = Timestamp(milliseconds: 1_700_000_000_000 + Int64(millisecond))
                core.receive(ping, from: flooder, now: now)
                core.receive(ping, from: flooder, now: now)
                if millisecond % 100 == 0 { core.receive(ping, from: honest, now: now) }
                for case .send(_, let destination) in core.takeEffects() {
                    if destination == flooder { answeredFlooder += 1 } else if destination == honest { answeredHonest += 1 }
                }
            }
            #expect(answeredHonest == 100, "every honest ping answered")
            let limit = RateLimitSettings()
            // Burst plus 10 s at the sustained rate, out of 20,000 sent.
            #expect(answeredFlooder <= Int(limit.burst + 10 * limit.queriesPerSecond) + 1)
            #expect(core.statistics.rateLimited >= 20_000 - answeredFlooder)
        }

        @Test func tenThousandFakeIDsFromOneAddressTakeOneSlot() {
            // A public address, so the default one-node-per-IP rule is on, as on the Internet.
            var core = DHTCore(localID: .random(), settings: DHTSettings(), now: Timestamp(seconds: 1_700_000_000))
            let attacker = IPAddress("203.0.113.66")!
            var generator = SplitMix64(seed: 66)
            for index in 0..<10_000 {
                let id = NodeID.random(using: &generator)
                let endpoint = Endpoint(address: attacker, port: UInt16(10_000 + index % 50_000))
                let now = Timestamp(milliseconds: 1_700_000_000_000 + Int64(index))
                // Each fake node queries us and answers whatever we ask it.
                let query = KRPCMessage(transactionID: [9, 9], body: .query(Query(senderID: id, method: .ping)))
                core.receive(KRPCCodec.encode(query), from: endpoint, now: now)
                for case .send(let bytes, let destination) in core.takeEffects() {
                    guard let message = try? KRPCCodec.decode(bytes), case .query = message.body else { continue }
                    let answer = KRPCMessage(transactionID: message.transactionID, body: .response(ResponseBody(id: id)))
                    core.receive(KRPCCodec.encode(answer), from: destination, now: now)
                    _ = core.takeEffects()
                }
            }
            let fromAttacker = core.contacts.filter { $0.endpoint.address == attacker }
            #expect(fromAttacker.count <= 1, "\(fromAttacker.count) contacts from one address")
        }
    }
}

extension CoreTests {
    @Suite struct AmplificationTests {
        let start = Timestamp(seconds: 1_700_000_000)
        let stranger = Endpoint("127.0.0.5:7000")!

        /// A core holding a 1,000-byte BEP 44 item, 60 peers for an info-hash, 40 records and a full table.
        func loadedCore() -> (DHTCore, item: NodeID, infoHash: NodeID) {
            var settings = DHTSettings.loopbackTestNetwork
            settings.rateLimit.queriesPerSecond = 0
            var core = DHTCore(localID: .random(), settings: settings, now: start)
            var generator = SplitMix64(seed: 3)
            for index in 0..<40 {
                let id = NodeID.random(using: &generator)
                let endpoint = Endpoint("127.0.1.\(index + 1):6881")!
                let query = KRPCMessage(transactionID: [1], body: .query(Query(senderID: id, method: .ping)))
                core.receive(KRPCCodec.encode(query), from: endpoint, now: start)
                for case .send(let bytes, let destination) in core.takeEffects() {
                    guard let message = try? KRPCCodec.decode(bytes), case .query = message.body else { continue }
                    core.receive(KRPCCodec.encode(KRPCMessage(transactionID: message.transactionID, body: .response(ResponseBody(id: id)))),
                                 from: destination, now: start)
                    _ = core.takeEffects()
                }
            }
            let key = SigningKey.generate()
            let value = BValue.bytes([UInt8](repeating: 0x61, count: 996))
            let item = BEP44.mutableTarget(publicKey: key.publicKey.bytes, salt: [])
            let infoHash = NodeID.random(using: &generator)
            var writer = RawPeer()
            writer.core = core
            writer.now = start
            #expect(writer.put(key: key, value: value, seq: 1).map { if case .response = $0.body { true } else { false } } == true)
            for index in 0..<60 {
                var announcer = RawPeer()
                announcer.core = writer.core
                announcer.now = start
                let peer = Endpoint("127.0.2.\(index + 1):6881")!
                announcer.core.receive(KRPCCodec.encode(KRPCMessage(transactionID: [2], body: .query(Query(senderID: .random(), method: .getPeers(infoHash: infoHash, want: nil))))), from: peer, now: start)
                let token = announcer.core.takeEffects().compactMap { effect -> [UInt8]? in
                    guard case .send(let bytes, _) = effect, let message = try? KRPCCodec.decode(bytes), case .response(let body) = message.body else { return nil }
                    return body.token
                }.first ?? []
                announcer.core.receive(KRPCCodec.encode(KRPCMessage(transactionID: [3], body: .query(Query(senderID: .random(), method: .announcePeer(infoHash: infoHash, port: 6881, impliedPort: false, token: token))))), from: peer, now: start)
                _ = announcer.core.takeEffects()
                writer.core = announcer.core
            }
            return (writer.core, item, infoHash)
        }

        /// Sends `method` from `source`, returns (request size, response size, response body).
        func exchange(_ core: inout DHTCore, _ method: QueryMethod, from source: Endpoint, padded: Bool = false) -> (Int, Int, ResponseBody?) {
            var message = KRPCMessage(transactionID: [5, 5], body: .query(Query(senderID: .random(), method: method)))
            if padded { message = OutgoingRequests.padded(message, for: method, maxResponseSize: 1400) }
            let request = KRPCCodec.encode(message)
            core.receive(request, from: source, now: start)
            for case .send(let bytes, let destination) in core.takeEffects() where destination == source {
                guard let reply = try? KRPCCodec.decode(bytes), case .response(let body) = reply.body else { continue }
                return (request.count, bytes.count, body)
            }
            return (request.count, 0, nil)
        }

        @Test func largeAnswerQueriesArePaddedToAQuarterOfTheBudgetAndNoMore() {
            let wanted = AmplificationLimit.paddedQuerySize(maxResponseSize: 1400)
            let methods: [QueryMethod] = [
                .get(target: .random(), seq: nil, want: nil), .get(target: .random(), seq: 123_456, want: [.ipv4, .ipv6]),
                .getRecords(target: .random(), after: nil, want: nil),
                .getRecords(target: .random(), after: [UInt8](repeating: 7, count: 32), want: []),
            ]
            for method in methods {
                let message = KRPCMessage(transactionID: [1, 2, 3, 4], body: .query(Query(senderID: .random(), method: method)))
                let size = KRPCCodec.encode(OutgoingRequests.padded(message, for: method, maxResponseSize: 1400)).count
                #expect(size >= wanted && size <= wanted + 1, "\(method.name): \(size) bytes")
            }
            let ping = KRPCMessage(transactionID: [1], body: .query(Query(senderID: .random(), method: .ping)))
            #expect(OutgoingRequests.padded(ping, for: .ping, maxResponseSize: 1400) == ping, "small answers need no padding")
        }

        @Test func noAnswerToAStrangerExceedsFourTimesItsQuery() {
            var (core, item, infoHash) = loadedCore()
            let methods: [QueryMethod] = [
                .ping, .findNode(target: .random(), want: [.ipv4, .ipv6]), .getPeers(infoHash: infoHash, want: nil),
                .get(target: item, seq: nil, want: nil), .getRecords(target: .random(), after: nil, want: nil),
            ]
            for method in methods {
                let (request, response, body) = exchange(&core, method, from: stranger)
                #expect(body != nil, "\(method.name) still answered")
                #expect(response <= AmplificationLimit.factor * request, "\(method.name): \(response) bytes for \(request)")
            }
            // What gave way: the 1,000-byte item and most of the 60 peers; the token stayed.
            let (_, _, get) = exchange(&core, .get(target: item, seq: nil, want: nil), from: stranger)
            #expect(get?.value == nil && get?.token != nil)
            #expect(core.statistics.responsesTrimmed >= 2)
        }

        @Test func aPaddedQueryOrAVerifiedPeerGetsTheWholeAnswer() {
            var (core, item, infoHash) = loadedCore()
            let (request, response, padded) = exchange(&core, .get(target: item, seq: nil, want: nil), from: stranger, padded: true)
            #expect(padded?.value != nil, "the item fits under 4x a padded query")
            #expect(response <= AmplificationLimit.factor * request)
            // A peer that answered one of our queries has shown it receives at its address.
            let verified = Endpoint("127.0.1.1:6881")!
            let (_, _, peers) = exchange(&core, .getPeers(infoHash: infoHash, want: nil), from: verified)
            #expect((peers?.values?.count ?? 0) > 30)
            let (_, _, get) = exchange(&core, .get(target: item, seq: nil, want: nil), from: verified)
            #expect(get?.value != nil)
        }

        @Test func aStoreWithAValidTokenVerifiesItsSourceAndOneWithABadTokenDoesNot() {
            var (core, _, infoHash) = loadedCore()
            // 127.0.2.1:6881 announced a peer with the token sent to its IP in `loadedCore`.
            let announcer = Endpoint("127.0.2.1:6881")!
            let (_, _, peers) = exchange(&core, .getPeers(infoHash: infoHash, want: nil), from: announcer)
            #expect((peers?.values?.count ?? 0) > 30, "a store's token shows the source receives at its address")
            let forger = Endpoint("127.0.3.1:6881")!
            let badToken = KRPCMessage(transactionID: [4], body: .query(Query(senderID: .random(),
                method: .announcePeer(infoHash: infoHash, port: 6881, impliedPort: false, token: [1, 2, 3, 4]))))
            core.receive(KRPCCodec.encode(badToken), from: forger, now: start)
            _ = core.takeEffects()
            let (request, response, refused) = exchange(&core, .getPeers(infoHash: infoHash, want: nil), from: forger)
            #expect(refused != nil && response <= AmplificationLimit.factor * request)
            #expect((refused?.values?.count ?? 0) < 30)
        }
    }
}
