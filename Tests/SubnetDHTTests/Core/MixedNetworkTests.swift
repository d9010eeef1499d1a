import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

/// SubnetDHT peers heartbeating on the in-memory network beside plain Mainline nodes
/// (`PlainMainlineNode`, which drop every method outside BEP 5). Each peer joins through a
/// plain node, so the peers find each other only through the plain nodes' answers. `run`
/// samples every peer's routing table, its find_node answers and its live view, and counts
/// what the plain nodes were asked.
final class MixedNetwork {
    struct Report {
        /// A plain contact that was in a peer's table at one sample and gone at the next.
        var plainEvictions = 0
        /// A plain contact seen bad in a peer's table.
        var plainBadSightings = 0
        /// A plain contact in a peer's table missing from that peer's find_node answer for its id.
        var plainMissingFromAnswers = 0
        /// Find_node answers checked for plain contacts.
        var answersChecked = 0
        /// Samples (after the first heartbeat cycle) at which some peer's view lacked a live peer.
        var incompleteViews = 0
        /// The first of them: who lacked whom, and what it judged the missing peers to be.
        var firstIncompleteView: String?
        /// Keyed-record queries the plain nodes received, by heartbeat cycle (distinct transactions).
        var extensionQueriesToPlain: [Int] = []
        /// `announce_record` queries the plain nodes received in all.
        var recordsSentToPlain = 0
        /// Keyed-record queries of the peers that went unanswered, by heartbeat cycle.
        var unansweredByCycle: [Int] = []
    }

    let network: InMemoryNetwork
    let peers: [Endpoint]
    let keys: [Endpoint: SigningKey]
    let plain: [PlainMainlineNode]
    let plainEndpoints: Set<Endpoint>
    let heartbeat: HeartbeatSettings
    /// Sends find_node queries as a read-only node (BEP 43), so it enters no routing table.
    private let probe = Endpoint("127.0.0.1:29999")!
    private let probeID = NodeID.random()
    private var probeAnswers: [[UInt8]: ResponseBody] = [:]
    private var nextProbeTransaction: UInt32 = 1

    init(peers peerCount: Int, plainPerPeer: Int, seed: UInt64,
         heartbeat: HeartbeatSettings = HeartbeatSettings(interval: .seconds(30), ttl: .seconds(90))) {
        network = InMemoryNetwork(latency: .milliseconds(5), seed: seed)
        self.heartbeat = heartbeat
        var generator = SplitMix64(seed: seed)
        var plain = [PlainMainlineNode]()
        for index in 0..<(peerCount * plainPerPeer) {
            plain.append(PlainMainlineNode(id: .random(using: &generator), endpoint: Endpoint(address: .v4(0x7f00_0001), port: UInt16(21000 + index))))
        }
        // The plain nodes are a Mainline network already: each knows all the others.
        for node in plain {
            for other in plain where other !== node { node.learn(other.id, at: other.endpoint) }
            network.addForeign(at: node.endpoint) { datagram, source, now in
                node.handle(datagram, from: source, now: now).map { [($0, source)] } ?? []
            }
        }
        self.plain = plain
        plainEndpoints = Set(plain.map(\.endpoint))

        var peers = [Endpoint]()
        var keys = [Endpoint: SigningKey]()
        for index in 0..<peerCount {
            let endpoint = Endpoint(address: .v4(0x7f00_0001), port: UInt16(20000 + index))
            // Keys (and so node ids) from the seed: a run is the same every time.
            let seedBytes = (0..<4).flatMap { _ in withUnsafeBytes(of: generator.next()) { Array($0) } }
            let key = try! SigningKey(seed: seedBytes)
            network.add(DHTCore(localID: .defaultID(for: key.publicKey), settings: .loopbackTestNetwork, seed: generator.next(), now: network.now),
                        at: endpoint)
            peers.append(endpoint)
            keys[endpoint] = key
        }
        self.peers = peers
        self.keys = keys
        network.addForeign(at: probe) { [unowned self] datagram, _, _ in
            if let message = try? KRPCCodec.decode(datagram), case .response(let body) = message.body {
                probeAnswers[message.transactionID] = body
            }
            return []
        }
        // Each peer joins through a plain node of its own, then looks itself up once more so
        // that early joiners learn of later ones.
        for (index, endpoint) in peers.enumerated() {
            let seed = plain[index * plainPerPeer % plain.count].endpoint
            _ = network.await(network.with(endpoint) { core, now in core.bootstrap(from: [seed], now: now) }, at: endpoint)
        }
        for endpoint in peers {
            _ = network.await(network.with(endpoint) { core, now in core.startLookup(target: core.localID, kind: .findNode, now: now) }, at: endpoint)
        }
        for endpoint in peers {
            let info = ServerInfo(state: .online, role: "worker", throughput: 1, address: endpoint)
            let key = keys[endpoint]!
            network.with(endpoint) { core, now in core.startHeartbeat(info, settings: heartbeat, signingKey: key, now: now) }
        }
    }

    func core(_ endpoint: Endpoint) -> DHTCore { network.core(at: endpoint)! }

    func plainContacts(of endpoint: Endpoint) -> [Contact] {
        core(endpoint).contacts.filter { plainEndpoints.contains($0.endpoint) }
    }

    /// Runs `cycles` heartbeat intervals, sampling every `step`.
    func run(cycles: Int, step: Duration = .seconds(5)) -> Report {
        var report = Report()
        let start = network.now
        var previous = Dictionary(uniqueKeysWithValues: peers.map { ($0, Set(plainContacts(of: $0).map(\.endpoint))) })
        var unansweredBefore = peers.map { core($0).statistics.extensionQueriesUnanswered }.reduce(0, +)
        let everyone = Set(keys.values.map(\.publicKey))
        for _ in 0..<cycles {
            let cycleStart = network.now
            while network.now < cycleStart + heartbeat.interval {
                network.run(for: step)
                for endpoint in peers {
                    let contacts = plainContacts(of: endpoint)
                    let present = Set(contacts.map(\.endpoint))
                    report.plainEvictions += previous[endpoint, default: []].subtracting(present).count
                    previous[endpoint] = present
                    report.plainBadSightings += contacts.filter { $0.status(now: network.now, settings: core(endpoint).settings.routing) == .bad }.count
                    let seen = Set(core(endpoint).livePeers(now: network.now).map(\.owner))
                    if network.now >= start + heartbeat.interval + heartbeat.pruneInterval, seen != everyone {
                        report.incompleteViews += 1
                        if report.firstIncompleteView == nil {
                            let missing = peers.filter { !seen.contains(keys[$0]!.publicKey) }
                            let status = missing.map { core($0).heartbeatStatus.map { "published \($0.published), failed \($0.failed)" } ?? "-" }
                            report.firstIncompleteView = "at \(network.now - start) \(endpoint) lacked \(missing.map { "\($0) (\(core(endpoint).recordSupport(of: $0)))" }); their heartbeats \(status), their contacts \(missing.map { core($0).recordSupportCounts })"
                        }
                    }
                }
                checkAnswers(into: &report)
            }
            let unanswered = peers.map { core($0).statistics.extensionQueriesUnanswered }.reduce(0, +)
            report.unansweredByCycle.append(unanswered - unansweredBefore)
            unansweredBefore = unanswered
            report.extensionQueriesToPlain.append(extensionQueries(from: cycleStart, to: cycleStart + heartbeat.interval))
        }
        report.recordsSentToPlain = plain.map { $0.count(of: ["announce_record"]) }.reduce(0, +)
        return report
    }

    /// Asks every peer, as a read-only stranger, find_node for each plain contact in its
    /// table: the contact itself must be in the answer.
    private func checkAnswers(into report: inout Report) {
        var asked: [(transaction: [UInt8], peer: Endpoint, contact: Contact)] = []
        for endpoint in peers {
            for contact in plainContacts(of: endpoint) {
                let transaction = PendingRequests.encode(nextProbeTransaction)
                nextProbeTransaction += 1
                let query = KRPCMessage(transactionID: transaction, body: .query(Query(senderID: probeID, method: .findNode(target: contact.id, want: nil))),
                                        readOnly: true)
                network.send(KRPCCodec.encode(query), from: probe, to: endpoint)
                asked.append((transaction, endpoint, contact))
            }
        }
        network.run(for: .milliseconds(50))
        for entry in asked {
            report.answersChecked += 1
            let answer = probeAnswers.removeValue(forKey: entry.transaction)
            if !(answer?.nodes ?? []).contains(where: { $0.id == entry.contact.id && $0.endpoint == entry.contact.endpoint }) {
                report.plainMissingFromAnswers += 1
            }
        }
    }

    /// Distinct keyed-record queries the plain nodes received in [from, to).
    func extensionQueries(from: Timestamp, to: Timestamp) -> Int {
        var seen = Set<[UInt8]>()
        for node in plain {
            for entry in node.received where ["get_records", "announce_record"].contains(entry.method) && entry.time >= from && entry.time < to {
                seen.insert(entry.transactionID + Array("\(entry.source)@\(node.endpoint)".utf8))
            }
        }
        return seen.count
    }
}

extension CoreTests {
    @Suite(.offCooperativePool) struct MixedNetworkTests {
        /// Issue 21: 8 SubnetDHT peers beside 24 plain Mainline nodes through six heartbeat cycles.
        /// Seed 3105 is a network where the nodes closest to the `node` target are all plain, so
        /// one peer's lookups met no replica until answers named record-capable nodes first.
        @Test(arguments: [2101, 3105] as [UInt64]) func plainNodesStayGoodAndEveryPeerSeesEveryPeer(seed: UInt64) {
            let mixed = MixedNetwork(peers: 8, plainPerPeer: 3, seed: seed)
            let report = mixed.run(cycles: 6)

            // Plain nodes that answer BEP 5 stay good, stay in the tables and in find_node answers.
            #expect(report.plainEvictions == 0)
            #expect(report.plainBadSightings == 0)
            #expect(report.plainMissingFromAnswers == 0)
            #expect(report.answersChecked > 6 * 6 * 8 * 4, "too few plain contacts to judge: \(report.answersChecked) answers")
            for peer in mixed.peers {
                let contacts = mixed.core(peer).contacts
                let plainContacts = contacts.filter { mixed.plainEndpoints.contains($0.endpoint) }
                #expect(plainContacts.count >= 4, "\(peer) holds \(plainContacts.count) plain contacts")
                // Each kind is known for what it is: a peer by the `kr` of its answers, a plain node
                // once it ignored a keyed-record query (one it was never asked stays unknown).
                for contact in contacts {
                    let support = mixed.core(peer).recordSupport(of: contact.endpoint)
                    if let node = mixed.plain.first(where: { $0.endpoint == contact.endpoint }) {
                        let asked = node.count(of: ["get_records", "announce_record"], from: peer) > 0
                        #expect(support == (asked ? .plain : .unknown), "\(peer) judges \(contact.endpoint) \(support), asked: \(asked)")
                    } else {
                        #expect(support == .capable, "\(peer) judges \(contact.endpoint) \(support)")
                    }
                }
            }
            // No record ever reaches a plain node; once they are known, no keyed-record query either.
            #expect(report.recordsSentToPlain == 0)
            #expect(report.extensionQueriesToPlain.first ?? 0 > 0, "the first cycle should have found the plain nodes out")
            #expect(report.extensionQueriesToPlain.dropFirst(2).allSatisfy { $0 == 0 }, "\(report.extensionQueriesToPlain)")
            #expect(report.unansweredByCycle.dropFirst(2).allSatisfy { $0 == 0 }, "\(report.unansweredByCycle)")
            // Every peer's view lists every live peer.
            #expect(report.incompleteViews == 0, "\(report.firstIncompleteView ?? "")")
        }
    }
}
