import Collections
import SubnetDHTCore

/// Many `DHTCore`s in one process, joined by a simulated network with latency and loss and
/// driven by a virtual clock: multi-node tests and the scale simulation run here in
/// milliseconds, deterministically for a given seed. Single-threaded by design.
public final class InMemoryNetwork {
    /// A node of another implementation (a test's emulator of a plain Mainline node): given a
    /// datagram, its source and the time, it returns the datagrams it sends in reply.
    public typealias ForeignNode = (_ datagram: [UInt8], _ source: Endpoint, _ now: Timestamp) -> [(bytes: [UInt8], to: Endpoint)]

    /// The virtual clock.
    public private(set) var now: Timestamp
    /// One-way delay of every datagram.
    public var latency: Duration
    /// Fraction of datagrams dropped, 0 to 1.
    public var lossRate: Double
    /// When set, datagrams from the first endpoint to the second are dropped if it says so:
    /// a partition between two groups of nodes.
    public var isCut: ((Endpoint, Endpoint) -> Bool)?
    public private(set) var datagramsDelivered = 0
    public private(set) var datagramsDropped = 0

    private var cores: [Endpoint: DHTCore] = [:]
    private var foreignNodes: [Endpoint: ForeignNode] = [:]
    private var events = Heap<ScheduledEvent>()
    private var scheduledWakeups: [Endpoint: Timestamp] = [:]
    private var results: [Endpoint: [OperationID: OperationResult]] = [:]
    /// Events other than finished operations, per node, oldest first (the newest 10,000 kept).
    public private(set) var eventLog: [Endpoint: [CoreEvent]] = [:]
    private var sequence: UInt64 = 0
    private var generator: SplitMix64

    private struct ScheduledEvent: Comparable {
        enum Kind {
            case deliver([UInt8], from: Endpoint, to: Endpoint)
            case wake(Endpoint)
        }
        var time: Timestamp
        /// Breaks ties in insertion order, so runs are reproducible.
        var sequence: UInt64
        var kind: Kind

        static func < (lhs: ScheduledEvent, rhs: ScheduledEvent) -> Bool {
            (lhs.time, lhs.sequence) < (rhs.time, rhs.sequence)
        }
        static func == (lhs: ScheduledEvent, rhs: ScheduledEvent) -> Bool { lhs.sequence == rhs.sequence }
    }

    public init(start: Timestamp = Timestamp(seconds: 1_700_000_000), latency: Duration = .milliseconds(5),
                lossRate: Double = 0, seed: UInt64 = 1) {
        now = start
        self.latency = latency
        self.lossRate = lossRate
        generator = SplitMix64(seed: seed)
    }

    public var endpoints: [Endpoint] { Array(cores.keys) }

    /// Adds a node listening at `endpoint`.
    public func add(_ core: DHTCore, at endpoint: Endpoint) {
        cores[endpoint] = core
        schedule(endpoint)
    }

    /// Adds a node of another implementation listening at `endpoint`.
    public func addForeign(at endpoint: Endpoint, _ node: @escaping ForeignNode) {
        foreignNodes[endpoint] = node
    }

    /// Sends a datagram from `source`, which need not be a node (a test's probe): it is
    /// delivered after the latency, subject to loss and cuts like any other.
    public func send(_ bytes: [UInt8], from source: Endpoint, to destination: Endpoint) {
        transmit(bytes, from: source, to: destination)
    }

    /// Removes a node without notice, as a crash would: datagrams to it are lost.
    public func remove(_ endpoint: Endpoint) {
        foreignNodes[endpoint] = nil
        cores[endpoint] = nil
        scheduledWakeups[endpoint] = nil
    }

    public func core(at endpoint: Endpoint) -> DHTCore? { cores[endpoint] }

    /// Runs `body` on the node at `endpoint` (to start an operation, say) and carries out its effects.
    @discardableResult
    public func with<T>(_ endpoint: Endpoint, _ body: (inout DHTCore, Timestamp) -> T) -> T {
        guard cores[endpoint] != nil else { preconditionFailure("no node at \(endpoint)") }
        let now = now
        let value = body(&cores[endpoint]!, now)
        collectEffects(of: endpoint)
        return value
    }

    /// The result of an operation, once it has finished; consumed by this call.
    public func takeResult(of operation: OperationID, at endpoint: Endpoint) -> OperationResult? {
        results[endpoint]?.removeValue(forKey: operation)
    }

    /// Processes events in time order until `condition` holds or `limit` of virtual time passes.
    /// Returns whether the condition held.
    @discardableResult
    public func run(for limit: Duration, until condition: () -> Bool = { false }) -> Bool {
        let end = now + limit
        while !condition() {
            guard let next = events.min, next.time <= end else {
                now = end
                return condition()
            }
            events.removeMin()
            now = next.time
            process(next.kind)
        }
        return true
    }

    /// Runs until `operation` at `endpoint` finishes (or `limit` passes) and returns its result.
    public func await(_ operation: OperationID, at endpoint: Endpoint, limit: Duration = .seconds(120)) -> OperationResult? {
        run(for: limit) { results[endpoint]?[operation] != nil }
        return takeResult(of: operation, at: endpoint)
    }

    private func process(_ kind: ScheduledEvent.Kind) {
        switch kind {
        case .deliver(let bytes, let source, let destination):
            // Mutated in place through the dictionary: a copy taken out and written back
            // shares its storage with the copy left in the dictionary, so the first write to
            // each of its stores duplicated the store (a replica of 10,000 records copied
            // them all on every announce).
            if cores[destination] == nil, let foreign = foreignNodes[destination] {
                datagramsDelivered += 1
                for reply in foreign(bytes, source, now) { transmit(reply.bytes, from: destination, to: reply.to) }
                return
            }
            guard cores[destination] != nil else { return }
            datagramsDelivered += 1
            cores[destination]!.receive(bytes, from: source, now: now)
            collectEffects(of: destination)
        case .wake(let endpoint):
            guard scheduledWakeups[endpoint] == now, cores[endpoint] != nil else { return }
            scheduledWakeups[endpoint] = nil
            cores[endpoint]!.tick(now: now)
            collectEffects(of: endpoint)
        }
    }

    private func collectEffects(of endpoint: Endpoint) {
        guard let effects = cores[endpoint]?.takeEffects() else { return }
        for effect in effects {
            switch effect {
            case .send(let bytes, let destination):
                transmit(bytes, from: endpoint, to: destination)
            case .event(.operationFinished(let id, let result)):
                results[endpoint, default: [:]][id] = result
            case .event(let event):
                eventLog[endpoint, default: []].append(event)
                if eventLog[endpoint, default: []].count > 10_000 { eventLog[endpoint]?.removeFirst(1_000) }
            }
        }
        schedule(endpoint)
    }

    /// Puts a datagram on the wire: lost, cut, or delivered after the latency.
    private func transmit(_ bytes: [UInt8], from source: Endpoint, to destination: Endpoint) {
        let lost = lossRate > 0 && Double.random(in: 0..<1, using: &generator) < lossRate
        if lost || isCut?(source, destination) == true {
            datagramsDropped += 1
            return
        }
        push(now + latency, .deliver(bytes, from: source, to: destination))
    }

    /// Keeps one pending wake-up per node at its core's `nextWakeup`.
    private func schedule(_ endpoint: Endpoint) {
        guard let core = cores[endpoint] else { return }
        // At least 1 ms ahead: a core whose wake-up stays in the past must not spin forever
        // at one instant of virtual time.
        let wake = max(core.nextWakeup, now + .milliseconds(1))
        if let existing = scheduledWakeups[endpoint], existing <= wake, existing >= now { return }
        scheduledWakeups[endpoint] = wake
        push(wake, .wake(endpoint))
    }

    private func push(_ time: Timestamp, _ kind: ScheduledEvent.Kind) {
        sequence += 1
        events.insert(ScheduledEvent(time: time, sequence: sequence, kind: kind))
    }
}
