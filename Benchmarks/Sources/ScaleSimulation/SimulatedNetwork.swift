import SubnetDHT

/// What the simulation needs from a network of cores on a virtual clock. `InMemoryNetwork`
/// (the library's) and `TrafficNetwork` (below) both provide it, so the lookup figures can
/// be taken on either and compared.
protocol SimulatedNetwork: AnyObject {
    var now: Timestamp { get }
    func add(_ core: DHTCore, at endpoint: Endpoint)
    func remove(_ endpoint: Endpoint)
    func core(at endpoint: Endpoint) -> DHTCore?
    @discardableResult
    func with<T>(_ endpoint: Endpoint, _ body: (inout DHTCore, Timestamp) -> T) -> T
    func takeResult(of operation: OperationID, at endpoint: Endpoint) -> OperationResult?
    @discardableResult
    func run(for limit: Duration, until condition: () -> Bool) -> Bool
}

extension InMemoryNetwork: SimulatedNetwork {}

/// Datagrams and bytes one watched node received and sent, by query method, and the
/// wall-clock time its core spent on what it received.
struct TrafficCounter {
    var received: [String: Int] = [:]
    var receivedBytes: [String: Int] = [:]
    /// Core time spent on each kind received.
    var cpu: [String: Duration] = [:]
    /// `get_records` queries from nodes that run a full heartbeat (their view reads), the
    /// bytes of the answers sent back to them and the core time they took.
    var getRecordsFromReaders = 0
    var bytesToReaders = 0
    var cpuForReaders: Duration = .zero
    var sent = 0
    var sentBytes = 0

    var totalCPU: Duration { cpu.values.reduce(.zero, +) }

    var totalReceived: Int { received.values.reduce(0, +) }
    var totalReceivedBytes: Int { receivedBytes.values.reduce(0, +) }
}

/// The same model as `InMemoryNetwork` (one-way latency, a heap of events ordered by time and
/// insertion, one pending wake-up per node at its core's `nextWakeup`, at least 1 ms ahead),
/// with two differences a scale run needs: cores live in an array and are mutated in place
/// (`InMemoryNetwork` copies a core out of its dictionary for every event, so every container
/// the core then mutates is copied on write: building 10,000 nodes took 59 s there against 46 s
/// here, and a replica holding 10,000 records would copy its record store on every announce),
/// and the traffic of chosen nodes is counted. No loss, no cuts. With the same inputs it
/// processes the same events in the same order as `InMemoryNetwork`: the lookup tables of
/// `--transport inmemory` and `--transport traffic` are identical.
final class TrafficNetwork: SimulatedNetwork {
    private(set) var now: Timestamp
    let latency: Duration
    private(set) var datagramsDelivered = 0

    private var cores: [DHTCore?] = []
    /// Whether `cores[i]` holds a node: tested instead of the optional, which would copy the
    /// whole core (a retain of each of its containers) on every event.
    private var alive: [Bool] = []
    private var indexOf: [Endpoint: Int] = [:]
    private var endpointOf: [Endpoint] = []
    private var wakeups: [Timestamp?] = []
    private var results: [Endpoint: [OperationID: OperationResult]] = [:]
    private var events = EventHeap()
    private var sequence: UInt64 = 0

    /// Nodes whose traffic is counted, and those whose `get_records` count as view reads.
    var watched: [Endpoint: TrafficCounter] = [:]
    var readers: Set<Endpoint> = []

    init(start: Timestamp = Timestamp(seconds: 1_700_000_000), latency: Duration = .milliseconds(5)) {
        now = start
        self.latency = latency
    }

    func add(_ core: DHTCore, at endpoint: Endpoint) {
        let index: Int
        if let existing = indexOf[endpoint] {
            index = existing
            cores[index] = core
            alive[index] = true
        } else {
            index = cores.count
            indexOf[endpoint] = index
            endpointOf.append(endpoint)
            cores.append(core)
            alive.append(true)
            wakeups.append(nil)
        }
        schedule(index)
    }

    func remove(_ endpoint: Endpoint) {
        guard let index = indexOf[endpoint] else { return }
        cores[index] = nil
        alive[index] = false
        wakeups[index] = nil
    }

    func core(at endpoint: Endpoint) -> DHTCore? { indexOf[endpoint].flatMap { cores[$0] } }

    @discardableResult
    func with<T>(_ endpoint: Endpoint, _ body: (inout DHTCore, Timestamp) -> T) -> T {
        guard let index = indexOf[endpoint], alive[index] else { preconditionFailure("no node at \(endpoint)") }
        let value = body(&cores[index]!, now)
        collectEffects(of: index)
        return value
    }

    func takeResult(of operation: OperationID, at endpoint: Endpoint) -> OperationResult? {
        results[endpoint]?.removeValue(forKey: operation)
    }

    @discardableResult
    func run(for limit: Duration, until condition: () -> Bool) -> Bool {
        let end = now + limit
        while !condition() {
            guard let next = events.min, next.time <= end else {
                now = end
                return condition()
            }
            let event = events.removeMin()
            now = event.time
            process(event)
        }
        return true
    }

    private func process(_ event: ScheduledEvent) {
        let index = event.node
        if event.isWake {
            guard wakeups[index] == now, alive[index] else { return }
            wakeups[index] = nil
            cores[index]!.tick(now: now)
            collectEffects(of: index)
            return
        }
        guard alive[index] else { return }
        datagramsDelivered += 1
        let destination = endpointOf[index]
        if watched[destination] != nil {
            let kind = Self.classify(event.bytes)
            let started = ContinuousClock.now
            cores[index]!.receive(event.bytes, from: event.source, now: now)
            let spent = ContinuousClock.now - started
            count(kind, bytes: event.bytes.count, from: event.source, at: destination, cpu: spent)
        } else {
            cores[index]!.receive(event.bytes, from: event.source, now: now)
        }
        collectEffects(of: index)
    }

    private func collectEffects(of index: Int) {
        guard alive[index] else { return }
        let effects = cores[index]!.takeEffects()
        let source = endpointOf[index]
        let counted = watched[source] != nil
        for effect in effects {
            switch effect {
            case .send(let bytes, let destination):
                if counted {
                    watched[source]!.sent += 1
                    watched[source]!.sentBytes += bytes.count
                    if readers.contains(destination) { watched[source]!.bytesToReaders += bytes.count }
                }
                // Datagrams to unknown endpoints are lost, as they are to removed nodes.
                guard let target = indexOf[destination] else { continue }
                push(ScheduledEvent(time: now + latency, sequence: 0, node: target, source: source, bytes: bytes, isWake: false))
            case .event(.operationFinished(let id, let result)):
                results[source, default: [:]][id] = result
            case .event:
                // Membership, heartbeat and prune events are not needed here (InMemoryNetwork logs them).
                break
            }
        }
        schedule(index)
    }

    private func schedule(_ index: Int) {
        guard alive[index] else { return }
        let wake = max(cores[index]!.nextWakeup, now + .milliseconds(1))
        if let existing = wakeups[index], existing <= wake, existing >= now { return }
        wakeups[index] = wake
        push(ScheduledEvent(time: wake, sequence: 0, node: index, source: endpointOf[index], bytes: [], isWake: true))
    }

    private func push(_ event: ScheduledEvent) {
        sequence += 1
        var event = event
        event.sequence = sequence
        events.insert(event)
    }

    // MARK: - Traffic accounting

    private static let queryMarker = Array("1:y1:q".utf8)
    private static let methods: [(name: String, marker: [UInt8])] = [
        "announce_record", "get_records", "find_node", "get_peers", "ping", "announce_peer", "get", "put",
    ].map { ($0, Array("1:q\($0.utf8.count):\($0)".utf8)) }

    /// The query method a datagram carries, or "response or error".
    private static func classify(_ bytes: [UInt8]) -> String {
        guard contains(bytes, queryMarker) else { return "response or error" }
        return methods.first { contains(bytes, $0.marker) }?.name ?? "other query"
    }

    private func count(_ kind: String, bytes: Int, from source: Endpoint, at destination: Endpoint, cpu: Duration) {
        watched[destination]!.received[kind, default: 0] += 1
        watched[destination]!.receivedBytes[kind, default: 0] += bytes
        watched[destination]!.cpu[kind, default: .zero] += cpu
        if kind == "get_records", readers.contains(source) {
            watched[destination]!.getRecordsFromReaders += 1
            watched[destination]!.cpuForReaders += cpu
        }
    }

    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count, let first = needle.first else { return false }
        var index = 0
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == first {
                var match = true
                for offset in 1..<needle.count where haystack[index + offset] != needle[offset] {
                    match = false
                    break
                }
                if match { return true }
            }
            index += 1
        }
        return false
    }
}

/// A delivery or a wake-up; ordered by time, then by insertion, so runs are reproducible.
struct ScheduledEvent {
    var time: Timestamp
    var sequence: UInt64
    var node: Int
    var source: Endpoint
    var bytes: [UInt8]
    var isWake: Bool

    static func precedes(_ lhs: ScheduledEvent, _ rhs: ScheduledEvent) -> Bool {
        lhs.time < rhs.time || (lhs.time == rhs.time && lhs.sequence < rhs.sequence)
    }
}

/// A binary min-heap of events (the Benchmarks package does not depend on swift-collections).
struct EventHeap {
    private var storage: [ScheduledEvent] = []

    var min: ScheduledEvent? { storage.first }
    var count: Int { storage.count }

    mutating func insert(_ event: ScheduledEvent) {
        storage.append(event)
        var child = storage.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard ScheduledEvent.precedes(storage[child], storage[parent]) else { break }
            storage.swapAt(child, parent)
            child = parent
        }
    }

    mutating func removeMin() -> ScheduledEvent {
        let top = storage[0]
        let last = storage.removeLast()
        if !storage.isEmpty {
            storage[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                guard left < storage.count else { break }
                var smallest = left
                if left + 1 < storage.count, ScheduledEvent.precedes(storage[left + 1], storage[left]) { smallest = left + 1 }
                guard ScheduledEvent.precedes(storage[smallest], storage[parent]) else { break }
                storage.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return top
    }
}
