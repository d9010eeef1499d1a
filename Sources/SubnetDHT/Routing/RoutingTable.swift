/// The Kademlia routing table: 160 buckets indexed by the length of the prefix a node
/// shares with our id. Equivalent for lookups to the split-bucket tree of BEP 5, and
/// simpler: no splitting, each bucket is just "nodes at this distance". A pure value: no
/// clock, no I/O; the core turns `InsertOutcome`s into pings.
public struct RoutingTable: Sendable {
    public let localID: NodeID
    public let settings: RoutingSettings
    private var buckets: [Bucket]
    /// Contacts per IP address across the table and caches, for the one-node-per-IP rule.
    private var addresses: [IPAddress: NodeID] = [:]
    public private(set) var count = 0

    struct Bucket: Sendable {
        /// Least recently seen first, so the front is the first to check when the bucket is full.
        var contacts: [Contact] = []
        /// Spares, newest last; nodes that queried us wait here until they answer a ping.
        var replacements: [Contact] = []
        var lastChanged: Timestamp?
    }

    public init(localID: NodeID, settings: RoutingSettings = RoutingSettings()) {
        self.localID = localID
        self.settings = settings
        buckets = Array(repeating: Bucket(), count: 160)
    }

    func bucketIndex(for id: NodeID) -> Int {
        min(id.distance(to: localID).leadingZeroBitCount, 159)
    }

    public var allContacts: [Contact] { buckets.flatMap(\.contacts) }

    public func contact(for id: NodeID) -> Contact? {
        buckets[bucketIndex(for: id)].contacts.first { $0.id == id }
    }

    /// A node answered our query: it is verified and may enter the table.
    public mutating func recordResponse(from id: NodeID, at endpoint: Endpoint, now: Timestamp) -> InsertOutcome {
        guard id != localID else { return .rejected(.localID) }
        let index = bucketIndex(for: id)
        if let position = buckets[index].contacts.firstIndex(where: { $0.id == id }) {
            var contact = buckets[index].contacts[position]
            if contact.endpoint != endpoint {
                // Another address claims a known id: only take it over from a dead contact.
                guard contact.status(now: now, settings: settings) == .bad else { return .rejected(.endpointMismatch) }
                guard admits(endpoint.address, for: id) else { return .rejected(.ipRestricted) }
                release(contact.endpoint.address, of: id)
                contact.endpoint = endpoint
                claim(endpoint.address, for: id)
            }
            contact.lastResponse = now
            contact.failures = 0
            buckets[index].contacts.remove(at: position)
            buckets[index].contacts.append(contact)
            buckets[index].lastChanged = now
            return .updated
        }
        guard admits(endpoint.address, for: id) else { return .rejected(.ipRestricted) }
        var contact = removeReplacement(id, bucket: index)
            ?? Contact(id: id, endpoint: endpoint, firstSeen: now)
        contact.endpoint = endpoint
        contact.lastResponse = now
        contact.failures = 0
        return place(contact, bucket: index, now: now)
    }

    /// A node queried us. Known contacts are refreshed; an unknown one is unverified (its
    /// source address could be spoofed), so it waits in the replacement cache and is named as
    /// the node to ping when its bucket has room.
    public mutating func recordQuery(from id: NodeID, at endpoint: Endpoint, now: Timestamp) -> InsertOutcome {
        guard id != localID else { return .rejected(.localID) }
        let index = bucketIndex(for: id)
        if let position = buckets[index].contacts.firstIndex(where: { $0.id == id }) {
            guard buckets[index].contacts[position].endpoint == endpoint else { return .rejected(.endpointMismatch) }
            buckets[index].contacts[position].lastQueriedUs = now
            return .updated
        }
        guard admits(endpoint.address, for: id) else { return .rejected(.ipRestricted) }
        if let position = buckets[index].replacements.firstIndex(where: { $0.id == id }) {
            buckets[index].replacements[position].lastQueriedUs = now
            buckets[index].replacements[position].endpoint = endpoint
            let contact = buckets[index].replacements[position]
            return .cached(pingCandidate: buckets[index].contacts.count < settings.bucketSize ? contact : firstQuestionable(in: index, now: now))
        }
        let contact = Contact(id: id, endpoint: endpoint, lastQueriedUs: now, firstSeen: now)
        addReplacement(contact, bucket: index)
        if buckets[index].contacts.count < settings.bucketSize { return .cached(pingCandidate: contact) }
        return .cached(pingCandidate: firstQuestionable(in: index, now: now))
    }

    /// A query to `id` went unanswered. A contact that turns bad gives its place to the newest spare.
    public mutating func recordFailure(id: NodeID, now: Timestamp) {
        let index = bucketIndex(for: id)
        guard let position = buckets[index].contacts.firstIndex(where: { $0.id == id }) else {
            // A spare that fails its ping is dropped.
            if let spare = buckets[index].replacements.firstIndex(where: { $0.id == id }) {
                let removed = buckets[index].replacements.remove(at: spare)
                release(removed.endpoint.address, of: id)
            }
            return
        }
        buckets[index].contacts[position].failures += 1
        if buckets[index].contacts[position].status(now: now, settings: settings) == .bad,
            !buckets[index].replacements.isEmpty {
            removeContact(at: position, bucket: index, now: now)
        }
    }

    /// Removes `id` from the table and its spares; a spare takes its place.
    public mutating func remove(id: NodeID, now: Timestamp) {
        let index = bucketIndex(for: id)
        if let position = buckets[index].contacts.firstIndex(where: { $0.id == id }) {
            removeContact(at: position, bucket: index, now: now)
        } else if let spare = buckets[index].replacements.firstIndex(where: { $0.id == id }) {
            let removed = buckets[index].replacements.remove(at: spare)
            release(removed.endpoint.address, of: id)
        }
    }

    /// The `count` contacts nearest to `target`, nearest first. Bad contacts are left out
    /// unless asked for. Walks buckets outward from the target's, so a query touches only
    /// the buckets that can contribute.
    public func closest(to target: NodeID, count wanted: Int, includeBad: Bool = false) -> [Contact] {
        guard wanted > 0 else { return [] }
        var found = [Contact]()
        func take(_ bucket: Bucket) {
            for contact in bucket.contacts where includeBad || contact.failures < settings.maxFailures {
                found.append(contact)
            }
        }
        // With p the target's bucket: nodes in bucket p agree with the target at bit p and
        // are nearest; nodes in any deeper bucket all differ from it first at bit p; nodes in
        // a shallower bucket i differ from it at bit i < p, farther the smaller i is. So take
        // p and everything deeper, then shallower buckets in order until there are enough.
        let start = bucketIndex(for: target)
        take(buckets[start])
        for index in (start + 1)..<160 { take(buckets[index]) }
        var shallower = start - 1
        while found.count < wanted, shallower >= 0 {
            take(buckets[shallower])
            shallower -= 1
        }
        found.sort { $0.id.distance(to: target) < $1.id.distance(to: target) }
        return Array(found.prefix(wanted))
    }

    /// Random targets inside buckets untouched for `refreshInterval`, up to one past the
    /// deepest non-empty bucket (deeper ones are empty by construction). Marks them refreshed.
    public mutating func refreshTargets<G: RandomNumberGenerator>(now: Timestamp, using generator: inout G) -> [NodeID] {
        guard let deepest = buckets.lastIndex(where: { !$0.contacts.isEmpty }) else { return [] }
        var targets = [NodeID]()
        for index in 0...min(deepest + 1, 159) {
            let stale = buckets[index].lastChanged.map { now - $0 >= settings.refreshInterval } ?? true
            guard stale else { continue }
            // Share `index` bits with our id, differ at bit `index`: that is bucket `index`.
            let target = localID.flippingBit(index).randomized(afterPrefix: index + 1, using: &generator)
            targets.append(target)
            buckets[index].lastChanged = now
        }
        return targets
    }

    /// Contacts that are neither good nor bad: the core pings them to find out.
    public func questionableContacts(now: Timestamp) -> [Contact] {
        allContacts.filter { $0.status(now: now, settings: settings) == .questionable }
            .sorted { $0.lastSeen < $1.lastSeen }
    }

    // MARK: - Internals

    private func firstQuestionable(in index: Int, now: Timestamp) -> Contact? {
        buckets[index].contacts.first { $0.status(now: now, settings: settings) != .good }
    }

    private mutating func place(_ contact: Contact, bucket index: Int, now: Timestamp) -> InsertOutcome {
        if buckets[index].contacts.count < settings.bucketSize {
            buckets[index].contacts.append(contact)
            buckets[index].lastChanged = now
            count += 1
            claim(contact.endpoint.address, for: contact.id)
            return .added
        }
        if let bad = buckets[index].contacts.firstIndex(where: { $0.status(now: now, settings: settings) == .bad }) {
            let evicted = buckets[index].contacts.remove(at: bad)
            release(evicted.endpoint.address, of: evicted.id)
            buckets[index].contacts.append(contact)
            buckets[index].lastChanged = now
            claim(contact.endpoint.address, for: contact.id)
            return .added
        }
        addReplacement(contact, bucket: index)
        return .cached(pingCandidate: firstQuestionable(in: index, now: now))
    }

    private mutating func removeContact(at position: Int, bucket index: Int, now: Timestamp) {
        let removed = buckets[index].contacts.remove(at: position)
        release(removed.endpoint.address, of: removed.id)
        count -= 1
        // Promote the newest spare that has answered us, else the newest spare.
        let spares = buckets[index].replacements
        if let pick = spares.lastIndex(where: { $0.lastResponse != nil }) ?? (spares.isEmpty ? nil : spares.count - 1) {
            let promoted = buckets[index].replacements.remove(at: pick)
            buckets[index].contacts.append(promoted)
            count += 1
        }
        buckets[index].lastChanged = now
    }

    private mutating func addReplacement(_ contact: Contact, bucket index: Int) {
        if let existing = buckets[index].replacements.firstIndex(where: { $0.id == contact.id }) {
            buckets[index].replacements.remove(at: existing)
        } else {
            claim(contact.endpoint.address, for: contact.id)
        }
        buckets[index].replacements.append(contact)
        if buckets[index].replacements.count > settings.replacementCacheSize {
            let dropped = buckets[index].replacements.removeFirst()
            release(dropped.endpoint.address, of: dropped.id)
        }
    }

    private mutating func removeReplacement(_ id: NodeID, bucket index: Int) -> Contact? {
        guard let position = buckets[index].replacements.firstIndex(where: { $0.id == id }) else { return nil }
        let contact = buckets[index].replacements.remove(at: position)
        release(contact.endpoint.address, of: id)
        return contact
    }

    private func admits(_ address: IPAddress, for id: NodeID) -> Bool {
        guard settings.restrictIPs, let holder = addresses[address] else { return true }
        return holder == id
    }

    private mutating func claim(_ address: IPAddress, for id: NodeID) {
        guard settings.restrictIPs else { return }
        addresses[address] = id
    }

    private mutating func release(_ address: IPAddress, of id: NodeID) {
        guard settings.restrictIPs, addresses[address] == id else { return }
        addresses[address] = nil
    }
}
