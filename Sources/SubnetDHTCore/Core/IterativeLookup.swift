/// What a lookup asks each node, which decides what it collects on the way.
public enum LookupKind: Hashable, Sendable {
    case findNode
    case getPeers
    case getImmutable
    case getMutable(publicKey: [UInt8], salt: [UInt8])
    /// Keyed records under `key` (docs/PROTOCOL.md 3); the target is SHA1(key).
    case getRecords(key: [UInt8])
}

/// An iterative Kademlia lookup as an explicit state machine: it never sends anything
/// itself. The core asks it which nodes to query next (at most alpha in flight), feeds it
/// responses and timeouts, and reads its result once `isFinished`.
struct IterativeLookup {
    enum CandidateState: Equatable {
        case fresh
        case inFlight
        /// Timed out once and resent: still awaited, but no longer holds one of the alpha
        /// slots, so one slow or dead node does not stall the rest of the lookup (libtorrent's
        /// short timeout does the same).
        case slow
        case responded
        case failed
    }

    struct Candidate {
        var endpoint: Endpoint
        /// Nil for bootstrap endpoints whose id we learn from their answer.
        var id: NodeID?
        var state: CandidateState
        /// Hops from the seeds: seeds are 0, nodes they name are 1, and so on.
        var depth: Int
        /// Write token from `get_peers` / `get`, needed for the store phase.
        var token: [UInt8]?
        /// Answered a record lookup without a token: a plain Mainline node asked `find_node`
        /// (or one that read `get_records` as one). It routes the lookup but holds no records,
        /// so it is not among the k closest the lookup converges on, reads from or stores to.
        var isRouterOnly = false
    }

    let target: NodeID
    let kind: LookupKind
    private let k: Int
    private let candidateLimit: Int
    /// Every endpoint asked so far: a candidate forgotten for the limit and named again is not
    /// asked a second time.
    private var asked: Set<Endpoint> = []
    private(set) var candidates: [Candidate] = []
    private(set) var inFlight = 0
    /// Candidates in the `slow` state.
    private(set) var slow = 0
    private(set) var messagesSent = 0
    private(set) var responses = 0
    private(set) var peers: [Endpoint] = []
    private var peerSet: Set<Endpoint> = []
    private(set) var immutableValue: BValue?
    private(set) var mutableItem: MutableItem?
    /// Our own id and address never become candidates.
    private let localID: NodeID
    /// A plain immutable get ends at the first valid value; a put's lookup must go on to
    /// collect tokens from the closest nodes.
    private let stopsAtFirstValue: Bool
    /// The last answer named no node closer than the closest already known, and that node has
    /// itself answered: the lookup has stopped moving toward the target, so the k closest not
    /// yet asked are all asked at once (the Kademlia paper's final round) instead of `alpha`
    /// at a time. Asked `alpha` at a time they cost one or two more round trips per lookup for
    /// the same messages.
    private var converged = false
    /// Nodes this lookup only routes through, whatever they answer: replicas caught hiding
    /// records (`MembershipWatch.hiders`), neither stored on nor read from.
    private var routersOnly: Set<Endpoint> = []

    /// How far past k a record lookup walks through routers: it ends once the k closest
    /// replicas have answered, or the `routerWidening` x k closest of any kind have. Where
    /// record-capable nodes are rare among plain ones, that bounds the walk, which would
    /// otherwise go on through every router it hears of; where they are a quarter of the
    /// nodes (the 3-to-1 mixed network), the 32 closest hold about k of them.
    static let routerWidening = 4

    init(target: NodeID, kind: LookupKind, localID: NodeID, k: Int, candidateLimit: Int, stopsAtFirstValue: Bool = true) {
        self.target = target
        self.kind = kind
        self.localID = localID
        self.stopsAtFirstValue = stopsAtFirstValue
        self.k = k
        self.candidateLimit = max(candidateLimit, k)
    }

    /// Adds starting points: routing-table contacts (ids known) or bootstrap endpoints (ids unknown).
    mutating func seed(nodes: [NodeInfo], endpoints: [Endpoint]) {
        for node in nodes { insert(endpoint: node.endpoint, id: node.id, depth: 0) }
        for endpoint in endpoints { insert(endpoint: endpoint, id: nil, depth: 0) }
    }

    mutating func routeOnly(through endpoints: Set<Endpoint>) {
        routersOnly = endpoints
    }

    /// Picks the next nodes to query, closest first, keeping at most `alpha` in flight (k once
    /// the lookup has converged), and marks them in flight. Candidates beyond the k closest
    /// still unanswered are not queried once the k closest have all answered.
    mutating func nextQueries(alpha: Int) -> [Candidate] {
        guard !isFinished else { return [] }
        let limit = converged ? max(alpha, k) : alpha
        var picked = [Candidate]()
        var index = 0
        var closerLiveSeen = 0, closerSeen = 0
        while index < candidates.count, inFlight < limit {
            let candidate = candidates[index]
            if candidate.state == .fresh {
                if (closerLiveSeen >= k || closerSeen >= k * Self.routerWidening) && candidate.id != nil { break }
                candidates[index].state = .inFlight
                inFlight += 1
                messagesSent += 1
                asked.insert(candidate.endpoint)
                picked.append(candidates[index])
            }
            // A slow node may be dead: the next candidate is asked in case it is.
            if candidates[index].state != .failed && candidates[index].state != .slow {
                closerSeen += 1
                if !candidates[index].isRouterOnly { closerLiveSeen += 1 }
            }
            index += 1
        }
        return picked
    }

    /// A query to `endpoint` is sent again after a timeout (counts as another message); the
    /// node turns slow and frees its slot for the next candidate.
    mutating func noteRetry(to endpoint: Endpoint) {
        messagesSent += 1
        guard let index = candidates.firstIndex(where: { $0.endpoint == endpoint }),
            candidates[index].state == .inFlight else { return }
        candidates[index].state = .slow
        inFlight -= 1
        slow += 1
    }

    /// Leaves the in-flight or slow state, whichever the candidate is in.
    private mutating func settle(_ index: Int) {
        switch candidates[index].state {
        case .inFlight: inFlight -= 1
        case .slow: slow -= 1
        case .fresh, .responded, .failed: break
        }
    }

    /// A node answered. Records its id, token and contribution, adds the nodes it named.
    mutating func handleResponse(from endpoint: Endpoint, body: ResponseBody, verifiedItem: MutableItem?, immutableValue: BValue?) {
        guard let index = candidates.firstIndex(where: { $0.endpoint == endpoint }) else { return }
        settle(index)
        guard candidates[index].state != .responded else { return }
        responses += 1
        let closestBefore = closestKnownID
        var candidate = candidates.remove(at: index)
        candidate.state = .responded
        candidate.id = body.id
        candidate.token = body.token
        if case .getRecords = kind, body.token == nil || routersOnly.contains(endpoint) { candidate.isRouterOnly = true }
        insertSorted(candidate)
        let depth = candidate.depth + 1
        for node in body.allNodes { insert(endpoint: node.endpoint, id: node.id, depth: depth) }
        converged = closestBefore != nil && closestKnownID == closestBefore
            && candidates.first(where: { $0.state != .failed })?.state == .responded
        for peer in body.values ?? [] where peerSet.insert(peer).inserted { peers.append(peer) }
        if let immutableValue, self.immutableValue == nil { self.immutableValue = immutableValue }
        if let verifiedItem, verifiedItem.seq > (mutableItem?.seq ?? Int64.min) { mutableItem = verifiedItem }
    }

    /// A node refused the query as unknown and is to be asked another it knows (the core
    /// picks it): back to fresh, so the next round asks it again.
    mutating func askAgain(_ endpoint: Endpoint) {
        guard let index = candidates.firstIndex(where: { $0.endpoint == endpoint }),
            candidates[index].state == .inFlight || candidates[index].state == .slow else { return }
        settle(index)
        candidates[index].state = .fresh
    }

    /// A router turned out to serve what the lookup wants (its answer to the query that stood in
    /// said so): back to fresh as a candidate replica, so the next round asks it the real query.
    mutating func reconsider(_ endpoint: Endpoint) {
        guard !routersOnly.contains(endpoint), let index = candidates.firstIndex(where: { $0.endpoint == endpoint }),
            candidates[index].isRouterOnly, candidates[index].state == .responded else { return }
        candidates[index].isRouterOnly = false
        candidates[index].state = .fresh
    }

    /// A node failed (timed out after its retries, or answered with an error).
    mutating func handleFailure(from endpoint: Endpoint) {
        guard let index = candidates.firstIndex(where: { $0.endpoint == endpoint }) else { return }
        settle(index)
        candidates[index].state = .failed
    }

    /// Done when nothing is in flight and no fresh candidate is worth asking, or as soon as
    /// an immutable item is found (its value is self-certifying: nothing better can come).
    var isFinished: Bool {
        if stopsAtFirstValue, immutableValue != nil { return true }
        guard inFlight == 0 else { return false }
        // Wait for a slow node only while it is among the k closest still alive: one beyond
        // k nodes that answered cannot change the result, and is most likely dead.
        var live = 0, answered = 0
        for candidate in candidates where candidate.state != .failed {
            if candidate.state == .fresh || candidate.state == .slow { return false }
            answered += 1
            if !candidate.isRouterOnly { live += 1 }
            if live >= k || answered >= k * Self.routerWidening { return true }
        }
        return true
    }

    /// The closest nodes that answered, nearest first.
    var closestResponded: [Candidate] {
        Array(candidates.lazy.filter { $0.state == .responded && $0.id != nil && !$0.isRouterOnly }.prefix(k))
    }

    /// Hops to the deepest node that answered, plus one for the first round.
    var rounds: Int {
        candidates.filter { $0.state == .responded }.map { $0.depth + 1 }.max() ?? 0
    }

    func result() -> LookupResult {
        LookupResult(
            target: target,
            closest: closestResponded.compactMap { candidate in candidate.id.map { NodeInfo(id: $0, endpoint: candidate.endpoint) } },
            rounds: rounds,
            messagesSent: messagesSent,
            responses: responses,
            peers: peers,
            immutableValue: immutableValue,
            mutableItem: mutableItem,
            records: [])
    }

    // MARK: - Candidate list

    /// Known ids come first in `candidates`, nearest first.
    private var closestKnownID: NodeID? { candidates.first?.id }

    private mutating func insert(endpoint: Endpoint, id: NodeID?, depth: Int) {
        if id == localID || !endpoint.isValidDestination || asked.contains(endpoint) { return }
        if candidates.contains(where: { $0.endpoint == endpoint || ($0.id != nil && $0.id == id) }) { return }
        insertSorted(Candidate(endpoint: endpoint, id: id, state: .fresh, depth: depth, token: nil))
        // Bound memory: drop the farthest candidate not in flight. Answered ones beyond the k
        // closest may go too, or a long lookup would stop taking in closer nodes. Routers that
        // answered go first: their node lists are taken in already, and where plain nodes
        // outnumber record replicas they would otherwise crowd the replicas out.
        if candidates.count > candidateLimit,
            let drop = candidates.indices.last(where: { $0 >= k && candidates[$0].isRouterOnly && candidates[$0].state == .responded })
                ?? candidates.indices.last(where: { $0 >= k && candidates[$0].state != .inFlight && candidates[$0].state != .slow }) {
            candidates.remove(at: drop)
        }
    }

    /// Known ids sorted by XOR distance; unknown ids (bootstrap endpoints) after them.
    private mutating func insertSorted(_ candidate: Candidate) {
        let position: Int
        if let id = candidate.id {
            let distance = id.distance(to: target)
            position = candidates.firstIndex { other in
                guard let otherID = other.id else { return true }
                return distance < otherID.distance(to: target)
            } ?? candidates.count
        } else {
            position = candidates.count
        }
        candidates.insert(candidate, at: position)
    }
}
