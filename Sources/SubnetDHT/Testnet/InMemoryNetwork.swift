import Collections
import SubnetDHTCore

/// Many `DHTCore`s in one process, joined by a simulated network with latency and loss and
/// driven by a virtual clock: multi-node tests and the scale simulation run here in
/// milliseconds, deterministically for a given seed. Single-threaded by design.
public final class InMemoryNetwork {
    /// A node of another implementation (a test's emulator of a plain Mainline node): given a
    /// datagram, its source and the time, it returns the datagrams it sends in reply.
    public typealias ForeignNode = (_ datagram: [UInt8], _ source: Endpoint, _ now: Timestamp) -> [(bytes: [UInt8], to: Endpoint)]

    /// Sees each datagram to a node before its core does: `nil` lets the core take it in;
    /// replies instead answer it in the core's place, and the core never sees it (a test's
    /// adversary that acknowledges stores it never keeps).
    public typealias InboundFilter = (_ datagram: [UInt8], _ source: Endpoint, _ now: Timestamp) -> [(bytes: [UInt8], to: Endpoint)]?

    /// Told of every datagram a watched node's core takes in or sends, for a simulation that
    /// measures the load on chosen nodes (see ``observeTraffic(of:_:)``).
    public typealias TrafficObserver = (ObservedDatagram) -> Void

    /// A datagram of a watched node, as its ``TrafficObserver`` sees it.
    public enum ObservedDatagram {
        /// A datagram the node's core took in, and the wall-clock time `DHTCore.receive` spent
        /// on it (the core's cost of answering, on this machine).
        case received([UInt8], from: Endpoint, coreTime: Duration)
        /// A datagram the node's core sent, seen before loss and cuts.
        case sent([UInt8], to: Endpoint)
    }

    /// The virtual clock.
    public private(set) var now: Timestamp
    /// One-way delay of every datagram.
    public var latency: Duration
    /// Fraction of datagrams dropped, 0 to 1.
    public var lossRate: Double
    /// When set, datagrams from the first endpoint to the second are dropped if it says so:
    /// a partition between two groups of nodes.
    public var isCut: ((Endpoint, Endpoint) -> Bool)?
    /// Whether ``eventLog`` is kept. A run of many thousands of nodes that reads no events
    /// turns it off rather than hold every node's membership and heartbeat events.
    public var keepsEventLog = true
    public private(set) var datagramsDelivered = 0
    public private(set) var datagramsDropped = 0

    /// One slot per endpoint the network has seen (a node, a foreign node, or only a
    /// destination), so that events name their node by index and a core is mutated in place in
    /// an array instead of being hashed into a dictionary on every event. A removed node keeps
    /// its slot; a node added again at its endpoint takes it back.
    private var slotOf: [Endpoint: Int] = [:]
    private var endpointOf: [Endpoint] = []
    private var cores: [DHTCore?] = []
    /// Whether `cores[slot]` holds a node: tested instead of the optional, whose test would copy
    /// the whole core (a retain of each of its containers) on every event.
    private var hasCore: [Bool] = []
    private var foreignNodes: [ForeignNode?] = []
    private var scheduledWakeups: [Timestamp?] = []
    private var observers: [Int: TrafficObserver] = [:]
    private var inboundFilters: [Int: InboundFilter] = [:]
    private var events = Heap<ScheduledEvent>()
    private var results: [Endpoint: [OperationID: OperationResult]] = [:]
    /// Events other than finished operations, per node, oldest first (the newest 10,000 kept).
    public private(set) var eventLog: [Endpoint: [CoreEvent]] = [:]
    private var sequence: UInt64 = 0
    private var generator: SplitMix64

    private struct ScheduledEvent: Comparable {
        enum Kind {
            case deliver([UInt8], from: Endpoint, toSlot: Int)
            case wake(slot: Int)
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

    /// The endpoints of the nodes (not the foreign ones), in the order they were first added.
    public var endpoints: [Endpoint] { endpointOf.indices.filter { hasCore[$0] }.map { endpointOf[$0] } }

    /// Adds a node listening at `endpoint`.
    public func add(_ core: DHTCore, at endpoint: Endpoint) {
        let slot = slot(for: endpoint)
        cores[slot] = core
        hasCore[slot] = true
        schedule(slot)
    }

    /// Adds a node of another implementation listening at `endpoint`.
    public func addForeign(at endpoint: Endpoint, _ node: @escaping ForeignNode) {
        foreignNodes[slot(for: endpoint)] = node
    }

    /// Sends a datagram from `source`, which need not be a node (a test's probe): it is
    /// delivered after the latency, subject to loss and cuts like any other.
    public func send(_ bytes: [UInt8], from source: Endpoint, to destination: Endpoint) {
        transmit(bytes, from: source, to: destination)
    }

    /// Removes a node without notice, as a crash would: datagrams to it are lost.
    public func remove(_ endpoint: Endpoint) {
        guard let slot = slotOf[endpoint] else { return }
        foreignNodes[slot] = nil
        cores[slot] = nil
        hasCore[slot] = false
        scheduledWakeups[slot] = nil
    }

    public func core(at endpoint: Endpoint) -> DHTCore? {
        guard let slot = slotOf[endpoint], hasCore[slot] else { return nil }
        return cores[slot]
    }

    /// Runs `body` on the node at `endpoint` (to start an operation, say) and carries out its effects.
    @discardableResult
    public func with<T>(_ endpoint: Endpoint, _ body: (inout DHTCore, Timestamp) -> T) -> T {
        guard let slot = slotOf[endpoint], hasCore[slot] else { preconditionFailure("no node at \(endpoint)") }
        let value = body(&cores[slot]!, now)
        collectEffects(of: slot)
        return value
    }

    /// Hands `observer` every datagram the node at `endpoint` takes in or sends from now on, with
    /// the time its core spent on each one received: the load on chosen nodes without a
    /// second network. One observer per endpoint; a new one replaces the last.
    public func observeTraffic(of endpoint: Endpoint, _ observer: @escaping TrafficObserver) {
        observers[slot(for: endpoint)] = observer
    }

    /// Puts `filter` in front of the core at `endpoint`, for as long as the network runs.
    public func filterInbound(of endpoint: Endpoint, _ filter: @escaping InboundFilter) {
        inboundFilters[slot(for: endpoint)] = filter
    }

    public func stopObservingTraffic(of endpoint: Endpoint) {
        guard let slot = slotOf[endpoint] else { return }
        observers[slot] = nil
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

    /// Starts `count` operations `parallel` at a time, each batch run until all of it finished
    /// or `limit` of virtual time passed, and returns the results in order, nil where none
    /// came: many lookups or joins at once, as a busy network sees them. `start` starts the
    /// operation of that index and says at which node; `finished` sees each result, in order.
    @discardableResult
    public func runOperations(_ count: Int, parallel: Int, limit: Duration = .seconds(600),
                              start: (Int) -> (Endpoint, OperationID),
                              finished: (Int, OperationResult) -> Void = { _, _ in }) -> [OperationResult?] {
        var results = [OperationResult?](repeating: nil, count: count)
        var next = 0
        while next < count {
            let batch = min(parallel, count - next)
            var pending = [(index: Int, endpoint: Endpoint, operation: OperationID)]()
            for offset in 0..<batch {
                let (endpoint, operation) = start(next + offset)
                pending.append((next + offset, endpoint, operation))
            }
            run(for: limit) {
                while let first = pending.first, let result = takeResult(of: first.operation, at: first.endpoint) {
                    results[first.index] = result
                    finished(first.index, result)
                    pending.removeFirst()
                }
                return pending.isEmpty
            }
            next += batch
        }
        return results
    }

    private func process(_ kind: ScheduledEvent.Kind) {
        switch kind {
        case .deliver(let bytes, let source, let slot):
            if hasCore[slot] {
                datagramsDelivered += 1
                if !inboundFilters.isEmpty, let filter = inboundFilters[slot], let replies = filter(bytes, source, now) {
                    for reply in replies { transmit(reply.bytes, from: endpointOf[slot], to: reply.to) }
                    return
                }
                if !observers.isEmpty, let observer = observers[slot] {
                    let started = ContinuousClock.now
                    cores[slot]!.receive(bytes, from: source, now: now)
                    observer(.received(bytes, from: source, coreTime: ContinuousClock.now - started))
                } else {
                    cores[slot]!.receive(bytes, from: source, now: now)
                }
                collectEffects(of: slot)
            } else if let foreign = foreignNodes[slot] {
                datagramsDelivered += 1
                let destination = endpointOf[slot]
                for reply in foreign(bytes, source, now) { transmit(reply.bytes, from: destination, to: reply.to) }
            }
        case .wake(let slot):
            guard scheduledWakeups[slot] == now, hasCore[slot] else { return }
            scheduledWakeups[slot] = nil
            cores[slot]!.tick(now: now)
            collectEffects(of: slot)
        }
    }

    private func collectEffects(of slot: Int) {
        guard hasCore[slot] else { return }
        let effects = cores[slot]!.takeEffects()
        let endpoint = endpointOf[slot]
        let observer = observers.isEmpty ? nil : observers[slot]
        for effect in effects {
            switch effect {
            case .send(let bytes, let destination):
                observer?(.sent(bytes, to: destination))
                transmit(bytes, from: endpoint, to: destination)
            case .event(.operationFinished(let id, let result)):
                results[endpoint, default: [:]][id] = result
            case .event(let event):
                guard keepsEventLog else { continue }
                eventLog[endpoint, default: []].append(event)
                if eventLog[endpoint, default: []].count > 10_000 { eventLog[endpoint]?.removeFirst(1_000) }
            }
        }
        schedule(slot)
    }

    /// Puts a datagram on the wire: lost, cut, or delivered after the latency (to whatever
    /// listens at `destination` then: nothing, a node, or a node added since).
    private func transmit(_ bytes: [UInt8], from source: Endpoint, to destination: Endpoint) {
        let lost = lossRate > 0 && Double.random(in: 0..<1, using: &generator) < lossRate
        if lost || isCut?(source, destination) == true {
            datagramsDropped += 1
            return
        }
        push(now + latency, .deliver(bytes, from: source, toSlot: slot(for: destination)))
    }

    /// Keeps one pending wake-up per node at its core's `nextWakeup`.
    private func schedule(_ slot: Int) {
        guard hasCore[slot] else { return }
        // At least 1 ms ahead: a core whose wake-up stays in the past must not spin forever
        // at one instant of virtual time.
        let wake = max(cores[slot]!.nextWakeup, now + .milliseconds(1))
        if let existing = scheduledWakeups[slot], existing <= wake, existing >= now { return }
        scheduledWakeups[slot] = wake
        push(wake, .wake(slot: slot))
    }

    private func push(_ time: Timestamp, _ kind: ScheduledEvent.Kind) {
        sequence += 1
        events.insert(ScheduledEvent(time: time, sequence: sequence, kind: kind))
    }

    private func slot(for endpoint: Endpoint) -> Int {
        if let slot = slotOf[endpoint] { return slot }
        let slot = endpointOf.count
        slotOf[endpoint] = slot
        endpointOf.append(endpoint)
        cores.append(nil)
        hasCore.append(false)
        foreignNodes.append(nil)
        scheduledWakeups.append(nil)
        return slot
    }
}
