import Logging
import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

/// A core of an `InMemoryNetwork` as a subnet member's node: each call runs on the virtual
/// clock, and an awaited operation lets virtual time pass until it ends. One test task
/// drives it, as it drives the network.
private final class VirtualMemberNode: SubnetMemberNode, @unchecked Sendable {
    let network: InMemoryNetwork
    let endpoint: Endpoint
    let signingKey: SigningKey
    /// What the life asked of the node, in order, with the virtual time of each call.
    private(set) var calls: [(call: String, at: Timestamp)] = []
    private(set) var waits: [Duration] = []

    init(network: InMemoryNetwork, endpoint: Endpoint, signingKey: SigningKey) {
        self.network = network
        self.endpoint = endpoint
        self.signingKey = signingKey
    }

    func bootstrap(from endpoints: [Endpoint]) async throws -> LookupResult {
        let operation = network.with(endpoint) { core, now in core.bootstrap(from: endpoints, now: now) }
        guard case .lookup(let result)? = network.await(operation, at: endpoint) else { throw DHTNodeError.unexpectedResult }
        calls.append(("bootstrap answered by \(result.responses)", network.now))
        return result
    }

    func startHeartbeat(_ info: ServerInfo, settings: HeartbeatSettings) async throws {
        calls.append(("startHeartbeat \(info.state.label)", network.now))
        let key = signingKey
        network.with(endpoint) { core, now in core.startHeartbeat(info, settings: settings, signingKey: key, now: now) }
    }

    func updateHeartbeat(_ info: ServerInfo) async throws {
        calls.append(("updateHeartbeat \(info.state.label)", network.now))
        network.with(endpoint) { core, now in core.updateHeartbeat(info, now: now) }
    }

    func stopHeartbeat(final info: ServerInfo) async throws -> StoreResult? {
        calls.append(("stopHeartbeat \(info.state.label)", network.now))
        guard let operation = network.with(endpoint, { core, now in core.stopHeartbeat(final: info, now: now) }) else { return nil }
        guard case .store(let result)? = network.await(operation, at: endpoint) else { throw DHTNodeError.unexpectedResult }
        return result
    }

    /// The life's wait between join attempts: virtual time passes.
    func wait(_ duration: Duration) {
        calls.append(("wait", network.now))
        waits.append(duration)
        network.run(for: duration)
    }

    func watchMembership(key: String) async throws {
        calls.append(("watchMembership \(key)", network.now))
        network.with(endpoint) { core, now in core.watchMembership(key: key, now: now) }
    }
}

extension ServicesTests {
    /// `SubnetPeer`'s life (`MemberLifecycle`) on the virtual clock: the join retried with
    /// backoff while the seeds are out of reach, JOINING then ONLINE once joined, OFFLINE at
    /// the end, and what another member's live view makes of each.
    @Suite(.offCooperativePool) struct MemberLifecycleTests {
        let settings = HeartbeatSettings(interval: .seconds(10), ttl: .seconds(30), pruneInterval: .seconds(2))

        @Test func joiningThenOnlineThenOfflineAsAnotherMemberSeesIt() async throws {
            let subnet = InMemoryTestnet(count: 8, seed: 41)
            let network = subnet.network
            let observer = subnet.endpoints[5]
            network.with(observer) { core, now in core.watchMembership(key: "node", now: now) }
            let endpoint = Endpoint("127.0.0.1:20100")!
            let key = try SigningKey(seed: [UInt8](repeating: 41, count: SigningKey.seedLength))
            var ids = SplitMix64(seed: 4100)
            network.add(DHTCore(localID: .random(using: &ids), settings: .loopbackTestNetwork, seed: 41, now: network.now), at: endpoint)
            let member = VirtualMemberNode(network: network, endpoint: endpoint, signingKey: key)

            // The seeds are out of reach for the first 30 s.
            let start = network.now
            network.isCut = { [unowned network] source, destination in
                network.now < start + .seconds(30) && (source == endpoint || destination == endpoint)
            }
            let lifecycle = MemberLifecycle(seeds: [subnet.endpoints[0]], heartbeat: settings,
                                            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() },
                                            sleep: { member.wait($0) })
            let joining = ServerInfo(state: .joining, role: "worker", throughput: 0, address: endpoint)
            var announced: ServerInfo?
            let online = try #require(await lifecycle.enter(member, as: joining) { announced = $0 })
            #expect(online.state == .online)
            #expect(announced == online)

            // Unanswered attempts, each followed by a wait twice the one before, then the join;
            // JOINING only after it, and ONLINE at the same instant.
            let calls = member.calls.map(\.call)
            let joinedIndex = try #require(calls.firstIndex(of: "startHeartbeat joining"))
            let attempts = calls[..<joinedIndex]
            #expect(attempts.count >= 3)
            let expected = (0..<(joinedIndex / 2)).flatMap { _ in ["bootstrap answered by 0", "wait"] }
            #expect(Array(attempts.dropLast()) == expected)
            #expect(attempts.last?.hasPrefix("bootstrap answered by") == true && attempts.last != "bootstrap answered by 0")
            #expect(member.waits == (0..<member.waits.count).map { Duration.seconds(1 << $0) })
            #expect(Array(calls[joinedIndex...]) == ["startHeartbeat joining", "updateHeartbeat online"])
            let joinedAt = member.calls[joinedIndex].at
            #expect(joinedAt >= start + .seconds(30))
            #expect(member.waits.count >= 3, "\(member.calls)")
            #expect(member.calls[joinedIndex + 1].at == joinedAt)

            // The observer's view: the member joins, ONLINE, within one of its reads.
            network.run(for: DHTSettings.loopbackTestNetwork.pruneInterval + .seconds(2))
            let live = network.core(at: observer)!.livePeers(now: network.now).first { $0.owner == key.publicKey }
            #expect(live?.info.state == .online)
            #expect(joinedEvents(at: observer, of: key.publicKey, in: network) == 1)

            // Leaving: OFFLINE acknowledged by the replicas; the observer's next read says left.
            let accepted = try #require(await lifecycle.leave(member, last: online))
            #expect(accepted >= 6)
            #expect(member.calls.last?.call == "stopHeartbeat offline")
            // The observer only watches, so it reads at the core's own prune interval.
            network.run(for: DHTSettings.loopbackTestNetwork.pruneInterval + .seconds(2))
            #expect(network.core(at: observer)!.livePeers(now: network.now).allSatisfy { $0.owner != key.publicKey })
            #expect(network.eventLog[observer, default: []].contains {
                if case .membership(.left(let peer)) = $0 { peer.owner == key.publicKey && peer.info.state == .offline } else { false }
            })
            // And no heartbeat after it.
            let published = network.eventLog[endpoint, default: []].filter { if case .heartbeatPublished = $0 { true } else { false } }.count
            network.run(for: settings.interval * 3)
            #expect(network.eventLog[endpoint, default: []].filter { if case .heartbeatPublished = $0 { true } else { false } }.count == published)
        }

        @Test func withoutSeedsTheMemberStartsAtOnceAndWithoutHeartbeatOnlyWatches() async throws {
            let subnet = InMemoryTestnet(count: 2, seed: 42)
            let member = VirtualMemberNode(network: subnet.network, endpoint: subnet.endpoints[1],
                                           signingKey: try SigningKey(seed: [UInt8](repeating: 42, count: SigningKey.seedLength)))
            let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
            let watcher = MemberLifecycle(seeds: [], heartbeat: nil, logger: quiet, sleep: { _ in Issue.record("no wait without seeds") })
            let joining = ServerInfo(state: .joining, role: "worker", throughput: 0, address: subnet.endpoints[1])
            #expect(await watcher.enter(member, as: joining)?.state == .online)
            #expect(member.calls.map(\.call) == ["watchMembership node", "updateHeartbeat online"])
            #expect(await watcher.leave(member, last: joining) == nil)
            #expect(member.calls.count == 2)
        }

        private func joinedEvents(at endpoint: Endpoint, of owner: PublicKey, in network: InMemoryNetwork) -> Int {
            network.eventLog[endpoint, default: []].filter {
                if case .membership(.joined(let peer)) = $0 { peer.owner == owner } else { false }
            }.count
        }
    }
}
