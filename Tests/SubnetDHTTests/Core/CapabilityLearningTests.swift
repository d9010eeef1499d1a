import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

/// One core and the contacts it talks to, played by the test: every query the core sends is
/// captured, and the test answers it (as SubnetDHT, as a plain Mainline node, as libtorrent)
/// or lets it time out on the core's own clock.
private struct ScriptedContacts {
    var now = Timestamp(seconds: 1_700_000_000)
    var core: DHTCore
    /// Queries the core sent and nobody answered yet, oldest first.
    var outbox: [(message: KRPCMessage, to: Endpoint)] = []
    /// Every query the core sent, resends included.
    var log: [(method: String, to: Endpoint)] = []
    var ids: [Endpoint: NodeID] = [:]
    var results: [OperationID: OperationResult] = [:]
    private var idGenerator = SplitMix64(seed: 23)

    /// Upkeep (bucket refreshes, questionable pings) is put off, so that the only queries are
    /// the ones a test starts.
    static var quietSettings: DHTSettings {
        var settings = DHTSettings.loopbackTestNetwork
        settings.maintenanceInterval = .seconds(3600)
        return settings
    }

    init(settings: DHTSettings = ScriptedContacts.quietSettings) {
        core = DHTCore(localID: .random(), settings: settings, seed: 21, now: now)
    }

    mutating func collect() {
        for effect in core.takeEffects() {
            switch effect {
            case .send(let bytes, let destination):
                guard let message = try? KRPCCodec.decode(bytes), case .query(let query) = message.body else { continue }
                outbox.append((message, destination))
                log.append((query.method.name, destination))
            case .event(.operationFinished(let id, let result)):
                results[id] = result
            case .event:
                break
            }
        }
    }

    /// Takes the oldest unanswered query to `endpoint`.
    mutating func take(to endpoint: Endpoint) -> KRPCMessage? {
        collect()
        guard let index = outbox.firstIndex(where: { $0.to == endpoint }) else { return nil }
        return outbox.remove(at: index).message
    }

    /// Answers `query` from `endpoint` with `body`, saying `kr` when `servesRecords`.
    mutating func answer(_ query: KRPCMessage, from endpoint: Endpoint, body: ResponseBody, servesRecords: Bool) {
        let reply = KRPCMessage(transactionID: query.transactionID, body: .response(body),
                                keyedRecords: servesRecords ? DHTCore.keyedRecordsRevision : nil)
        core.receive(KRPCCodec.encode(reply), from: endpoint, now: now)
        collect()
    }

    mutating func refuse(_ query: KRPCMessage, from endpoint: Endpoint, code: Int) {
        let reply = KRPCMessage(transactionID: query.transactionID, body: .error(KRPCError(code: code, message: "no")))
        core.receive(KRPCCodec.encode(reply), from: endpoint, now: now)
        collect()
    }

    /// Puts a contact in the routing table: it answers a ping. The n-th contact met differs
    /// from the local id first at bit n, so each has a bucket of its own: with ids drawn at
    /// random, nine of ten could fall into one full bucket and one be left out of the table.
    mutating func meet(_ endpoint: Endpoint, servesRecords: Bool) {
        let id = core.localID.flippingBit(ids.count).randomized(afterPrefix: ids.count + 1, using: &idGenerator)
        ids[endpoint] = id
        let ping = core.startPing(endpoint, now: now)
        let query = take(to: endpoint)!
        answer(query, from: endpoint, body: ResponseBody(id: id), servesRecords: servesRecords)
        results[ping] = nil
        precondition(contact(endpoint) != nil, "\(endpoint) did not make it into the routing table")
    }

    /// Lets time pass, ticking as the shell would. The contacts in `plainResponders` answer
    /// BEP 5 queries as a plain Mainline node would (no `kr`) and ignore the rest; nobody
    /// else answers anything.
    mutating func wait(_ duration: Duration, plainResponders: Set<Endpoint> = []) {
        let end = now + duration
        while now < end {
            collect()
            // Answered at once, before any of their deadlines passes.
            while let index = outbox.firstIndex(where: { plainResponders.contains($0.to) }) {
                let (query, endpoint) = outbox.remove(at: index)
                guard let name = query.queryMethodName, PlainMainlineNode.answeredMethods.contains(name) else { continue }
                answer(query, from: endpoint, body: ResponseBody(id: ids[endpoint]!, nodes: []), servesRecords: false)
            }
            now = min(end, max(core.nextWakeup, now + .milliseconds(1)))
            core.tick(now: now)
        }
        collect()
        outbox.removeAll()
    }

    /// Starts a lookup of `kind` that nobody answers, and waits until it is long over.
    mutating func lookUpUnanswered(_ kind: LookupKind) {
        _ = core.startLookup(target: .random(), kind: kind, now: now)
        wait(.seconds(10))
    }

    func contact(_ endpoint: Endpoint) -> Contact? { core.contacts.first { $0.endpoint == endpoint } }

    func sent(_ method: String, to endpoint: Endpoint) -> Int { log.filter { $0.method == method && $0.to == endpoint }.count }
}

extension CoreTests {
    @Suite struct CapabilityLearningTests {
        let plain = Endpoint("127.0.0.1:5001")!
        let subnet = Endpoint("127.0.0.1:5002")!

        @Test func silenceToKeyedRecordQueriesNeverMakesAContactBad() throws {
            var net = ScriptedContacts()
            net.meet(plain, servesRecords: false)
            #expect(net.core.recordSupport(of: plain) == .unknown)
            // Four record reads; the plain node answers BEP 5 and ignores get_records.
            for _ in 0..<4 {
                _ = net.core.startRecordsLookup(key: Array("node".utf8), now: net.now)
                net.wait(.seconds(10), plainResponders: [plain])
            }
            #expect(net.sent("get_records", to: plain) == 3, "one query, resent twice, then known plain")
            #expect(net.sent("find_node", to: plain) == 3, "the later reads still route through it")
            #expect(net.core.recordSupport(of: plain) == .plain)
            #expect(net.core.statistics.extensionQueriesUnanswered == 1)
            let contact = try #require(net.contact(plain))
            #expect(contact.failures == 0)
            #expect(contact.status(now: net.now, settings: net.core.settings.routing) == .good)
        }

        @Test func silenceToFindNodeStillCounts() throws {
            var net = ScriptedContacts()
            net.meet(plain, servesRecords: false)
            net.lookUpUnanswered(.findNode)
            #expect(try #require(net.contact(plain)).failures == 1)
        }

        @Test func aPlainVerdictExpiresAndTheContactIsAskedOnceMore() {
            var settings = ScriptedContacts.quietSettings
            settings.plainContactMemory = .seconds(60)
            var net = ScriptedContacts(settings: settings)
            net.meet(plain, servesRecords: false)
            _ = net.core.startRecordsLookup(key: Array("node".utf8), now: net.now)
            net.wait(.seconds(10))
            #expect(net.core.recordSupport(of: plain) == .plain)
            net.wait(.seconds(55))
            #expect(net.core.recordSupport(of: plain) == .unknown)
            _ = net.core.startRecordsLookup(key: Array("node".utf8), now: net.now)
            net.collect()
            #expect(net.outbox.contains { $0.to == plain && $0.message.queryMethodName == "get_records" })
        }

        @Test func anAnswerAsFindNodeMarksPlainAndNoRecordIsStoredThere() throws {
            var net = ScriptedContacts()
            net.meet(plain, servesRecords: false)
            net.meet(subnet, servesRecords: true)
            #expect(net.core.recordSupport(of: subnet) == .capable, "its ping answer said kr")
            let key = SigningKey.generate()
            let record = KeyedRecord.signed(key: Array("node".utf8), value: RecordFixtures.serverInfo(port: 7000).bencoded,
                                            seq: 1, expires: net.now.seconds + 60, by: key)
            let store = net.core.startAnnounce(record, now: net.now)
            // libtorrent reads get_records as find_node: nodes, no token, no kr.
            let toPlainTaken = net.take(to: plain)
            let toPlain = try #require(toPlainTaken)
            #expect(toPlain.queryMethodName == "get_records")
            net.answer(toPlain, from: plain, body: ResponseBody(id: net.ids[plain]!, nodes: []), servesRecords: false)
            let toSubnetTaken = net.take(to: subnet)
            let toSubnet = try #require(toSubnetTaken)
            net.answer(toSubnet, from: subnet, body: ResponseBody(id: net.ids[subnet]!, token: [1, 2]), servesRecords: true)
            let announceTaken = net.take(to: subnet)
            let announce = try #require(announceTaken)
            #expect(announce.queryMethodName == "announce_record")
            net.answer(announce, from: subnet, body: ResponseBody(id: net.ids[subnet]!), servesRecords: true)
            guard case .store(let result)? = net.results[store] else { Issue.record("the store did not finish"); return }
            #expect(result.accepted.map(\.endpoint) == [subnet])
            #expect(result.lookup.closest.map(\.endpoint) == [subnet], "a router is not a replica")
            #expect(net.sent("announce_record", to: plain) == 0)
            #expect(net.core.recordSupport(of: plain) == .plain)
            #expect(net.core.statistics.extensionQueriesUnanswered == 0)
        }

        @Test func aRefusalAs204IsAskedAgainAsFindNodeInTheSameLookup() throws {
            var net = ScriptedContacts()
            net.meet(plain, servesRecords: false)
            let read = net.core.startRecordsLookup(key: Array("node".utf8), now: net.now)
            let firstTaken = net.take(to: plain)
            let first = try #require(firstTaken)
            net.refuse(first, from: plain, code: 204)
            #expect(net.core.recordSupport(of: plain) == .plain)
            let secondTaken = net.take(to: plain)
            let second = try #require(secondTaken)
            #expect(second.queryMethodName == "find_node")
            net.answer(second, from: plain, body: ResponseBody(id: net.ids[plain]!, nodes: []), servesRecords: false)
            guard case .lookup(let result)? = net.results[read] else { Issue.record("the read did not finish"); return }
            #expect(result.responses == 1)
            #expect(result.closest.isEmpty)
            // Another error is no verdict: the node knows the method and disliked the query.
            var other = ScriptedContacts()
            other.meet(plain, servesRecords: false)
            _ = other.core.startRecordsLookup(key: Array("node".utf8), now: other.now)
            let refused = other.take(to: plain)
            other.refuse(try #require(refused), from: plain, code: 203)
            #expect(other.core.recordSupport(of: plain) == .unknown)
        }

        @Test func kInAnAnswerOutranksAnEarlierSilence() throws {
            var net = ScriptedContacts()
            net.meet(subnet, servesRecords: false)
            _ = net.core.startRecordsLookup(key: Array("node".utf8), now: net.now)
            net.wait(.seconds(10))
            #expect(net.core.recordSupport(of: subnet) == .plain, "its answers were lost, say")
            // The next read asks it find_node; its answer says kr.
            _ = net.core.startRecordsLookup(key: Array("node".utf8), now: net.now)
            let queryTaken = net.take(to: subnet)
            let query = try #require(queryTaken)
            #expect(query.queryMethodName == "find_node")
            net.answer(query, from: subnet, body: ResponseBody(id: net.ids[subnet]!), servesRecords: true)
            #expect(net.core.recordSupport(of: subnet) == .capable)
            // Asked get_records in the same lookup, so it can still be a replica of this read.
            let realTaken = net.take(to: subnet)
            let realQuery = try #require(realTaken)
            #expect(realQuery.queryMethodName == "get_records")
            net.answer(realQuery, from: subnet, body: ResponseBody(id: net.ids[subnet]!, token: [3]), servesRecords: true)
            // A capable contact's silence is a failure like any other, and no verdict of plain.
            _ = net.core.startRecordsLookup(key: Array("node".utf8), now: net.now)
            net.wait(.seconds(10))
            #expect(net.core.recordSupport(of: subnet) == .capable)
            #expect(try #require(net.contact(subnet)).failures == 1)
        }

        @Test func bep44SilenceCountsOnlyOnceTheContactHasAnsweredBEP44() throws {
            var net = ScriptedContacts()
            net.meet(plain, servesRecords: false)
            net.lookUpUnanswered(.getImmutable)
            #expect(try #require(net.contact(plain)).failures == 0)
            // It answers one get: from then on its silence to get counts.
            _ = net.core.startLookup(target: .random(), kind: .getImmutable, now: net.now)
            let get = net.take(to: plain)
            net.answer(try #require(get), from: plain, body: ResponseBody(id: net.ids[plain]!, token: [9]), servesRecords: false)
            net.lookUpUnanswered(.getImmutable)
            #expect(try #require(net.contact(plain)).failures == 1)
        }

        /// A get_records answer names record-capable contacts first: the nodes closest to the key
        /// may all be plain, and a record lookup through them alone would never meet a replica.
        @Test func aGetRecordsAnswerNamesRecordCapableContactsFirst() throws {
            var net = ScriptedContacts()
            let plainOnes = (1...9).map { Endpoint("127.0.0.1:\(6100 + $0)")! }
            for endpoint in plainOnes { net.meet(endpoint, servesRecords: false) }
            net.meet(subnet, servesRecords: true)
            let target = KeyedRecord.target(forKey: Array("node".utf8))
            // The nine ignore a record read, and are known plain from then on.
            _ = net.core.startRecordsLookup(key: Array("node".utf8), now: net.now)
            net.wait(.seconds(10), plainResponders: Set(plainOnes))
            #expect(plainOnes.allSatisfy { net.core.recordSupport(of: $0) == .plain })
            let asker = Endpoint("127.0.0.1:6200")!
            func answer(_ method: QueryMethod) -> ResponseBody? {
                let query = KRPCMessage(transactionID: [4, 4], body: .query(Query(senderID: .random(), method: method)))
                net.core.receive(KRPCCodec.encode(query), from: asker, now: net.now)
                for effect in net.core.takeEffects() {
                    guard case .send(let bytes, asker) = effect, let message = try? KRPCCodec.decode(bytes),
                        case .response(let body) = message.body else { continue }
                    return body
                }
                return nil
            }
            let records = try #require(answer(.getRecords(target: target, after: nil, want: nil)))
            #expect(records.nodes?.first?.endpoint == subnet)
            #expect(records.nodes?.count == 8)
            // find_node answers stay as BEP 5 has them: the closest, whatever they serve.
            let findNode = try #require(answer(.findNode(target: target, want: nil)))
            let closest = net.core.contacts.sorted { $0.id.distance(to: target) < $1.id.distance(to: target) }.prefix(8).map(\.endpoint)
            #expect(findNode.nodes?.map(\.endpoint) == closest)
        }

        @Test func theRoutingTableIsCountedByRecordSupport() {
            var net = ScriptedContacts()
            net.meet(plain, servesRecords: false)
            net.meet(subnet, servesRecords: true)
            net.meet(Endpoint("127.0.0.1:5003")!, servesRecords: false)
            _ = net.core.startRecordsLookup(key: Array("node".utf8), now: net.now)
            net.collect()
            net.refuse(net.take(to: plain)!, from: plain, code: 204)
            #expect(net.core.recordSupportCounts == RecordSupportCounts(capable: 1, plain: 1, unknown: 1))
        }
    }
}

extension KRPCMessage {
    /// The query's method name, or nil for a response or error.
    var queryMethodName: String? {
        guard case .query(let query) = body else { return nil }
        return query.method.name
    }
}
