import SubnetDHTCore

/// A test network of `DHTNode`s on loopback sockets in this process, in the spirit of the Rust
/// `mainline` crate's `Testnet`: node 0 binds first, and every later node joins through it.
/// The tests, `subnet-dht testnet` and `subnet-dht bench-local` lay their networks out here;
/// `InMemoryTestnet` is the same on a virtual clock.
///
///     let testnet = try await LoopbackTestnet.start(LoopbackTestnet.Plan(size: 16), joining: .inTurn)
///     defer { Task { await testnet.shutdown() } }
public struct LoopbackTestnet: Sendable {
    /// Where the nodes listen and what they run with; ``configuration(of:)`` gives node `i`'s.
    public struct Plan: Sendable {
        /// Number of nodes.
        public var size: Int
        /// The address every node binds, IPv4 or IPv6 loopback text.
        public var host: String
        /// Node 0's port; node `i` binds `basePort + i`. 0: ports the system chooses.
        public var basePort: Int
        /// Every node's settings: by default `DHTSettings.loopbackTestNetwork`, whatever the
        /// host, since every node shares its address and the one-node-per-address rule of a
        /// routing table would admit only one of them.
        public var settings: DHTSettings
        /// Node `i` signs with `signingKeys[i]` when there is one, else with a fresh key: a
        /// benchmark replays its keys from a seed.
        public var signingKeys: [SigningKey]

        /// - Parameters:
        ///   - size: Number of nodes.
        ///   - host: The loopback address to bind, 127.0.0.1 by default.
        ///   - basePort: Node 0's port, the others following; 0 (the default) for ports the
        ///     system chooses.
        ///   - isolated: Gives the network a random network id of its own. Tests in one
        ///     process run side by side, and a port one test's node closes may be taken by
        ///     another test's node: the id keeps each network from answering another's lookups.
        public init(size: Int, host: String = "127.0.0.1", basePort: Int = 0, isolated: Bool = false) {
            self.size = size
            self.host = host
            self.basePort = basePort
            settings = .loopbackTestNetwork
            if isolated { settings.networkID = Int64.random(in: 1...Int64.max) }
            signingKeys = []
        }

        /// Node `index`'s configuration: the plan's host and settings, its port and its key.
        public func configuration(of index: Int) -> DHTNode.Configuration {
            DHTNode.Configuration(host: host, port: basePort == 0 ? 0 : basePort + index,
                                  signingKey: index < signingKeys.count ? signingKeys[index] : .generate(),
                                  settings: settings)
        }
    }

    /// How the nodes after node 0 join it.
    public enum Joining: Sendable {
        /// They do not: the caller bootstraps them (a test that checks the join itself).
        case none
        /// Each bootstraps from node 0 before the next one starts.
        case inTurn
        /// Each starts its bootstrap from node 0 as soon as it is bound, without waiting for
        /// the others, as libtorrent and OpenDHT nodes join in the background. ``joins`` tells
        /// when each ended.
        case inBackground
    }

    /// The nodes, node 0 first.
    public let nodes: [DHTNode]
    /// For `.inBackground`: when each join of nodes 1... ended, nil for one that failed.
    /// Each is bounded by the node's request timeouts.
    public let joins: [Task<ContinuousClock.Instant?, Never>]

    /// Node 0's address, the network's seed.
    public var seed: Endpoint { nodes[0].localEndpoint }

    /// Binds the plan's nodes one after another and joins them as `joining` says.
    ///
    /// - Throws: `DHTNodeError.bindFailed(_:)` when a port is taken; the nodes already
    ///   started are shut down first. A failed join is not an error: it shows in the
    ///   nodes' routing tables (and in ``joins``).
    public static func start(_ plan: Plan, joining: Joining = .none) async throws -> LoopbackTestnet {
        var nodes = [DHTNode]()
        var joins = [Task<ContinuousClock.Instant?, Never>]()
        for index in 0..<plan.size {
            let node: DHTNode
            do {
                node = try await DHTNode.start(plan.configuration(of: index))
            } catch {
                for task in joins { task.cancel() }
                for started in nodes { await started.shutdown() }
                throw error
            }
            nodes.append(node)
            guard index > 0 else { continue }
            let seed = nodes[0].localEndpoint
            switch joining {
            case .none:
                break
            case .inTurn:
                _ = try? await node.bootstrap(from: [seed])
            case .inBackground:
                joins.append(Task {
                    guard (try? await node.bootstrap(from: [seed])) != nil else { return nil }
                    return ContinuousClock.now
                })
            }
        }
        return LoopbackTestnet(nodes: nodes, joins: joins)
    }

    /// Stops every node, waiting for joins still running first.
    public func shutdown() async {
        for task in joins { _ = await task.value }
        for node in nodes { await node.shutdown() }
    }
}
