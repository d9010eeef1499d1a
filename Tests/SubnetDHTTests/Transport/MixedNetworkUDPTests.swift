import Foundation
import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

/// A `PlainMainlineNode` on a real UDP socket of 127.0.0.1, served by a thread of its own
/// until `stop()`.
private final class PlainMainlineServer: @unchecked Sendable {  // `running` behind `lock`; the socket is used by the serving thread only
    let node: PlainMainlineNode
    private let socket: RawUDPSocket
    private let lock = NSLock()
    private var running = true
    private let finished = DispatchSemaphore(value: 0)

    init() throws {
        socket = try RawUDPSocket()
        node = PlainMainlineNode(id: .random(), endpoint: Endpoint(address: .v4(0x7f00_0001), port: socket.port))
        Thread.detachNewThread { [self] in
            // The socket's 50 ms receive timeout bounds how long `stop()` waits.
            while lock.withLock({ running }) {
                guard let (bytes, source) = socket.receiveWithSource() else { continue }
                if let answer = node.handle(bytes, from: source, now: SystemClock.now()) { socket.send(answer, to: source) }
            }
            finished.signal()
        }
    }

    func stop() {
        lock.withLock { running = false }
        finished.wait()
    }
}

extension TransportTests {
    @Suite struct MixedNetworkUDPTests {
        /// Issue 21 on loopback sockets: 3 SubnetDHT peers heartbeating every 2 s beside 9
        /// plain Mainline nodes that drop every method outside BEP 5.
        @Test func plainNodesStayInTablesAndAnswersWhilePeersSeeEachOther() async throws {
            let plain = try (0..<9).map { _ in try PlainMainlineServer() }
            for server in plain {
                for other in plain where other !== server { server.node.learn(other.node.id, at: other.node.endpoint) }
            }
            var peers = [DHTNode]()
            do {
                for _ in 0..<3 { peers.append(try await DHTNode.start(DHTNode.Configuration(host: "127.0.0.1", port: 0))) }
                try await exercise(peers, plain: plain.map(\.node))
            } catch {
                Issue.record(error)
            }
            for peer in peers { await peer.shutdown() }
            for server in plain { server.stop() }
        }

        private func exercise(_ peers: [DHTNode], plain: [PlainMainlineNode]) async throws {
            let plainEndpoints = Set(plain.map(\.endpoint))
            for (index, peer) in peers.enumerated() {
                try await peer.bootstrap(from: [plain[index * 3].endpoint])
            }
            for peer in peers { _ = try await peer.findNode(peer.localID) }
            let heartbeat = HeartbeatSettings(interval: .seconds(2), ttl: .seconds(8))
            for peer in peers {
                try await peer.startHeartbeat(ServerInfo(state: .online, role: "worker", throughput: 1, address: peer.localEndpoint), settings: heartbeat)
            }
            let everyone = Set(peers.map(\.publicKey))

            // Warm-up: every peer sees every peer, and has found every plain node out.
            // (A plain node far from the `node` target may never be asked, and stays unknown.)
            var state = ""
            func settled() async throws -> Bool {
                state = ""
                var done = true
                for peer in peers {
                    let live = Set(try await peer.livePeers().map(\.owner))
                    let verdicts = try await peer.shell.withCore { core, _ in plain.map { core.recordSupport(of: $0.endpoint) } }
                    let asked = plain.map { $0.count(of: ["get_records", "announce_record"], from: peer.localEndpoint) > 0 }
                    let judged = zip(asked, verdicts).filter { $0.0 && $0.1 == .plain }.count
                    state += "live \(live.count), asked \(asked.filter { $0 }.count), judged plain \(judged); "
                    done = done && live == everyone && asked.filter({ $0 }).count == judged
                }
                return done
            }
            let deadline = ContinuousClock.now + .seconds(30)
            while try await !settled() {
                guard ContinuousClock.now < deadline else {
                    Issue.record("the peers did not settle within 30 s: \(state)")
                    return
                }
                try await Task.sleep(for: .milliseconds(100))
            }

            // Three heartbeat cycles of steady state, sampled every 250 ms.
            let steady = SystemClock.now()
            var unansweredAtStart = 0
            var tables = [Set<Endpoint>]()
            // The plain nodes each peer knew for plain at the start: a plain node a peer meets
            // only later (a slow machine settles in another order) is asked once, by design.
            var knownPlain = [Set<Endpoint>]()
            for peer in peers {
                let verdicts = try await peer.shell.withCore { core, _ in plain.map { core.recordSupport(of: $0.endpoint) } }
                knownPlain.append(Set(zip(plain, verdicts).filter { $0.1 == .plain }.map(\.0.endpoint)))
                unansweredAtStart += try await peer.status().statistics.extensionQueriesUnanswered
                tables.append(Set(try await peer.contacts().map(\.endpoint)).intersection(plainEndpoints))
            }
            #expect(unansweredAtStart > 0, "the warm-up found the plain nodes out by their silence")
            let probe = try RawUDPSocket()
            var evictions = 0, badSightings = 0, missingFromAnswers = 0, answersChecked = 0, incompleteViews = 0
            let routing = DHTNode.Configuration(host: "127.0.0.1").settings.routing
            for sample in 0..<24 {
                try await Task.sleep(for: .milliseconds(250))
                var asked: [[UInt8]: NodeID] = [:]
                for (index, peer) in peers.enumerated() {
                    let contacts = try await peer.contacts().filter { plainEndpoints.contains($0.endpoint) }
                    let present = Set(contacts.map(\.endpoint))
                    evictions += tables[index].subtracting(present).count
                    tables[index] = present
                    badSightings += contacts.filter { $0.status(now: SystemClock.now(), settings: routing) == .bad }.count
                    if Set(try await peer.livePeers().map(\.owner)) != everyone { incompleteViews += 1 }
                    guard sample % 6 == 0 else { continue }
                    // A stranger's find_node for each plain contact finds it.
                    for (number, contact) in contacts.enumerated() {
                        let transaction = [UInt8(sample), UInt8(index), UInt8(number)]
                        let query = KRPCMessage(transactionID: transaction,
                                                body: .query(Query(senderID: .random(), method: .findNode(target: contact.id, want: nil))), readOnly: true)
                        probe.send(KRPCCodec.encode(query), to: peer.localEndpoint)
                        asked[transaction] = contact.id
                    }
                }
                guard !asked.isEmpty else { continue }
                let answers = probe.drain(expecting: asked.count)
                for (transaction, id) in asked {
                    answersChecked += 1
                    let answer = answers.first { $0.transactionID == transaction }
                    guard case .response(let body)? = answer?.body, (body.nodes ?? []).contains(where: { $0.id == id }) else {
                        missingFromAnswers += 1
                        continue
                    }
                }
            }
            #expect(evictions == 0)
            #expect(badSightings == 0)
            #expect(missingFromAnswers == 0)
            #expect(answersChecked >= 3 * 4 * 3, "too few plain contacts to judge: \(answersChecked)")
            #expect(incompleteViews == 0)
            #expect(tables.allSatisfy { $0.count >= 3 }, "\(tables.map(\.count)) plain contacts per peer")
            // No record ever reached a plain node, and no keyed-record query once they were known.
            #expect(plain.map { $0.count(of: ["announce_record"]) }.reduce(0, +) == 0)
            let askedOnceKnown = zip(peers, knownPlain).map { peer, known in
                plain.filter { known.contains($0.endpoint) }
                    .map { $0.count(of: ["get_records", "announce_record"], from: peer.localEndpoint, since: steady) }.reduce(0, +)
            }.reduce(0, +)
            #expect(askedOnceKnown == 0, "keyed-record queries to plain nodes already known for plain")
            // The plain nodes kept answering BEP 5 throughout.
            #expect(plain.allSatisfy { $0.count(of: ["find_node"], since: steady) > 0 })
        }
    }
}
