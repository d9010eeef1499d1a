/// Why the routing table refused a node.
public enum RejectReason: Sendable, Hashable {
    /// Our own id: a node never routes to itself.
    case localID
    /// Another node already holds this IP address (`RoutingSettings.restrictIPs`).
    case ipRestricted
    /// The id is known at another endpoint, which keeps it.
    case endpointMismatch
}

/// What the routing table did with a node it heard from.
public enum InsertOutcome: Sendable, Equatable {
    /// Entered the main table.
    case added
    /// Was already there; its bookkeeping is refreshed.
    case updated
    /// Kept as a spare in its bucket's replacement cache. The core should ping
    /// `pingCandidate` if there is one: a questionable contact whose timeouts would free a
    /// slot, or the spare itself when it is unverified and its bucket has room.
    case cached(pingCandidate: Contact?)
    case rejected(RejectReason)
}

/// The Kademlia routing table of BEP 5 as a plain value: no clock, no I/O. The sans-IO core
/// reports what it heard (`recordResponse`, `recordQuery`, `recordFailure`) and turns the
/// answers into datagrams (pings, refresh lookups, `nodes` lists).
///
/// Uses 160 buckets indexed by the common-prefix length with the local id instead of
/// BEP 5's split-bucket tree: every bucket a tree would split off is one of these, the
/// deeper ones simply stay small, and a bucket is found by one XOR and a bit count.
public struct RoutingTable: Sendable {
    public static let bucketCount = NodeID.byteCount * 8

    public let localID: NodeID
    public let settings: RoutingSettings
    var buckets: [KBucket]
    /// Which node holds each IP address, over main table and replacement caches; kept only
    /// with `restrictIPs`, the only rule that needs it.
    var ipHolders: [IPAddress: NodeID] = [:]

    public init(localID: NodeID, settings: RoutingSettings = .init()) {
        self.localID = localID
        self.settings = settings
        self.buckets = Array(repeating: KBucket(), count: RoutingTable.bucketCount)
    }

    // MARK: Reading

    /// The bucket `id` belongs in (its common-prefix length with the local id); nil for the local id.
    public func bucketIndex(of id: NodeID) -> Int? {
        let prefix = localID.distance(to: id).leadingZeroBitCount
        return prefix < RoutingTable.bucketCount ? prefix : nil
    }

    /// Contacts in the main table (replacements not counted).
    public var count: Int { buckets.reduce(0) { $0 + $1.contacts.count } }

    public var allContacts: [Contact] { buckets.flatMap(\.contacts) }

    /// The main-table contact for `id`; spares in replacement caches are not returned.
    public func contact(for id: NodeID) -> Contact? {
        guard let index = bucketIndex(of: id), let position = buckets[index].contactIndex(of: id) else { return nil }
        return buckets[index].contacts[position]
    }

    /// Main-table contacts to ping, least recently seen first within each bucket.
    public func questionableContacts(now: Timestamp) -> [Contact] {
        buckets.flatMap { bucket in
            bucket.contacts.filter { $0.status(now: now, settings: settings) == .questionable }
        }
    }

    // MARK: Events

    /// A node answered one of our queries, which proves it holds `endpoint`.
    public mutating func recordResponse(from id: NodeID, at endpoint: Endpoint, now: Timestamp) -> InsertOutcome {
        guard let index = bucketIndex(of: id) else { return .rejected(.localID) }

        if let position = buckets[index].contactIndex(of: id) {
            let known = buckets[index].contacts[position]
            if known.endpoint != endpoint {
                // A node seldom moves while it still answers; a response from elsewhere with
                // its id is more likely an impostor. Once it stopped answering, let it move.
                guard known.isBad(settings: settings) else { return .rejected(.endpointMismatch) }
                guard makeRoom(for: endpoint.address, id: id, verified: true) else { return .rejected(.ipRestricted) }
                releaseIP(of: known)
                claimIP(for: id, at: endpoint)
            }
            // makeRoom may have removed another contact of this bucket: find ours again.
            guard let current = buckets[index].contactIndex(of: id) else { return .rejected(.endpointMismatch) }
            buckets[index].contacts[current].endpoint = endpoint
            buckets[index].contacts[current].failures = 0
            buckets[index].contacts[current].lastResponse = now
            buckets[index].touch(at: current)
            buckets[index].lastChanged = now
            return .updated
        }

        var contact = Contact(id: id, endpoint: endpoint, firstSeen: now, lastResponse: now)
        if let position = buckets[index].replacementIndex(of: id) {
            let spare = buckets[index].replacements[position]
            if spare.endpoint == endpoint {
                contact.firstSeen = spare.firstSeen
                contact.lastQueriedUs = spare.lastQueriedUs
            } else if spare.isVerified && !spare.isBad(settings: settings) {
                return .rejected(.endpointMismatch)
            }
            // An unverified spare may have come from a spoofed address: the answer wins.
            // Dropped before makeRoom so that a promotion there cannot bring it back.
            buckets[index].replacements.remove(at: position)
            releaseIP(of: spare)
        }
        guard makeRoom(for: endpoint.address, id: id, verified: true) else { return .rejected(.ipRestricted) }
        return insertVerified(contact, into: index, now: now)
    }

    /// A node sent us a query. Its source address is unproven (UDP is easily spoofed), so an
    /// unknown node only becomes a spare until it answers a ping.
    public mutating func recordQuery(from id: NodeID, at endpoint: Endpoint, now: Timestamp) -> InsertOutcome {
        guard let index = bucketIndex(of: id) else { return .rejected(.localID) }

        if let position = buckets[index].contactIndex(of: id) {
            // Unproven, so a query never moves a known node to a new endpoint.
            guard buckets[index].contacts[position].endpoint == endpoint else { return .rejected(.endpointMismatch) }
            buckets[index].contacts[position].lastQueriedUs = now
            return .updated
        }
        if let position = buckets[index].replacementIndex(of: id) {
            guard buckets[index].replacements[position].endpoint == endpoint else { return .rejected(.endpointMismatch) }
            var spare = buckets[index].replacements.remove(at: position)
            spare.lastQueriedUs = now
            buckets[index].replacements.append(spare)
            return .cached(pingCandidate: pingCandidate(in: index, newcomer: spare, now: now))
        }
        guard makeRoom(for: endpoint.address, id: id, verified: false) else { return .rejected(.ipRestricted) }
        let spare = Contact(id: id, endpoint: endpoint, firstSeen: now, lastQueriedUs: now)
        cache(spare, in: index)
        return .cached(pingCandidate: pingCandidate(in: index, newcomer: spare, now: now))
    }

    /// A query to `id` timed out. A contact that turns bad gives its slot to the newest spare
    /// (verified spares first); an unverified one is promoted too, and the core pings it when
    /// it shows up in `questionableContacts`. A spare that turns bad is dropped.
    ///
    /// With `endpoint`, the failure counts only if that is where the contact lives: otherwise a
    /// peer could name our good contacts' ids at dead addresses and have them evicted.
    public mutating func recordFailure(id: NodeID, at endpoint: Endpoint? = nil, now: Timestamp) {
        guard let index = bucketIndex(of: id) else { return }
        if let position = buckets[index].contactIndex(of: id) {
            if let endpoint, buckets[index].contacts[position].endpoint != endpoint { return }
            buckets[index].contacts[position].failures += 1
            let contact = buckets[index].contacts[position]
            guard contact.isBad(settings: settings), let spare = buckets[index].takeReplacement() else { return }
            buckets[index].contacts.remove(at: position)
            releaseIP(of: contact)
            buckets[index].contacts.append(spare)
            buckets[index].lastChanged = now
        } else if let position = buckets[index].replacementIndex(of: id) {
            if let endpoint, buckets[index].replacements[position].endpoint != endpoint { return }
            buckets[index].replacements[position].failures += 1
            let spare = buckets[index].replacements[position]
            guard spare.isBad(settings: settings) else { return }
            buckets[index].replacements.remove(at: position)
            releaseIP(of: spare)
        }
    }

    /// Forgets `id` (e.g. the pruner found its heartbeat expired); a main-table slot it frees
    /// goes to the newest spare of its bucket.
    public mutating func remove(id: NodeID) {
        guard let index = bucketIndex(of: id) else { return }
        if let position = buckets[index].contactIndex(of: id) {
            releaseIP(of: buckets[index].contacts.remove(at: position))
            if let spare = buckets[index].takeReplacement() { buckets[index].contacts.append(spare) }
        } else if let position = buckets[index].replacementIndex(of: id) {
            releaseIP(of: buckets[index].replacements.remove(at: position))
        }
    }

    // MARK: Lookups

    /// The `count` main-table contacts nearest `target` by XOR, nearest first; bad ones
    /// only if `includeBad`.
    ///
    /// Buckets come in groups whose distances never interleave: with `t` the target's bucket,
    /// bucket `t` is nearest, then all buckets deeper than `t` together (their distances
    /// all start at bit `t`), then buckets `t-1`, `t-2`, ..., `0`, each farther than the last.
    /// So only the groups needed are sorted, never the whole table.
    /// `families` keeps only contacts of those address families (an answer's node list is one
    /// family's k closest).
    public func closest(to target: NodeID, count: Int, includeBad: Bool = false,
                        families: AddressFamilies = [.ipv4, .ipv6]) -> [Contact] {
        guard count > 0 else { return [] }
        let targetBucket = localID.distance(to: target).leadingZeroBitCount
        var result: [Contact] = []
        result.reserveCapacity(count)
        // One scratch list for every group, filled by plain loops: filtering, mapping and
        // sorting each group into new arrays, and walking the deeper buckets through a lazy
        // key-path flatMap, made this a large part of answering find_node.
        var ranked: [(distance: NodeID, contact: Contact)] = []
        ranked.reserveCapacity(2 * settings.bucketSize)

        func collect(_ index: Int) {
            for contact in buckets[index].contacts where includeBad || !contact.isBad(settings: settings) {
                guard families.contains(contact.endpoint.address.isIPv4 ? .ipv4 : .ipv6) else { continue }
                ranked.append((contact.id.distance(to: target), contact))
            }
        }
        /// Appends the group collected so far, nearest first; true once `count` are taken.
        func take() -> Bool {
            ranked.sort { $0.distance < $1.distance }
            for entry in ranked.prefix(count - result.count) { result.append(entry.contact) }
            ranked.removeAll(keepingCapacity: true)
            return result.count >= count
        }

        if targetBucket < RoutingTable.bucketCount {
            collect(targetBucket)
            if take() { return result }
            for index in (targetBucket + 1)..<RoutingTable.bucketCount where !buckets[index].contacts.isEmpty {
                collect(index)
            }
            if take() { return result }
        }
        for index in stride(from: targetBucket - 1, through: 0, by: -1) where !buckets[index].contacts.isEmpty {
            collect(index)
            if take() { break }
        }
        return result
    }

    // MARK: Maintenance

    /// Random lookup targets for the buckets that have not changed within `refreshInterval`,
    /// one per bucket, and marks them refreshed. Only buckets up to the deepest non-empty one
    /// plus one are in range, as Mainline clients do: deeper ones are all but empty, and the
    /// lookup for the next one down also reaches whatever lies below it.
    public mutating func refreshTargets(now: Timestamp, using generator: inout some RandomNumberGenerator) -> [NodeID] {
        let deepest = buckets.lastIndex { !$0.contacts.isEmpty } ?? -1
        var targets: [NodeID] = []
        for index in 0...min(deepest + 1, RoutingTable.bucketCount - 1) {
            if let changed = buckets[index].lastChanged, now - changed < settings.refreshInterval { continue }
            targets.append(randomID(inBucket: index, using: &generator))
            buckets[index].lastChanged = now
        }
        return targets
    }

    /// A uniformly random id that falls in bucket `index`: the local id's first `index` bits,
    /// then the opposite of its next bit, then random bits.
    public func randomID(inBucket index: Int, using generator: inout some RandomNumberGenerator) -> NodeID {
        precondition(index >= 0 && index < RoutingTable.bucketCount)
        return localID.flippingBit(index).randomized(afterPrefix: index + 1, using: &generator)
    }

    // MARK: Private

    /// Places a verified node: a free slot, else the slot of a bad contact, else the cache.
    private mutating func insertVerified(_ contact: Contact, into index: Int, now: Timestamp) -> InsertOutcome {
        if buckets[index].contacts.count >= settings.bucketSize {
            guard let bad = buckets[index].contacts.firstIndex(where: { $0.isBad(settings: settings) }) else {
                cache(contact, in: index)
                return .cached(pingCandidate: pingCandidate(in: index, newcomer: contact, now: now))
            }
            releaseIP(of: buckets[index].contacts.remove(at: bad))
        }
        buckets[index].contacts.append(contact)
        claimIP(for: contact.id, at: contact.endpoint)
        buckets[index].lastChanged = now
        return .added
    }

    /// Who to ping after caching `newcomer`: the newcomer itself if it is unverified and its
    /// bucket has a free or bad slot (its answer takes that slot), else the least recently
    /// seen questionable contact (its timeouts would free a slot); nil when the bucket is
    /// full of good nodes.
    private func pingCandidate(in index: Int, newcomer: Contact, now: Timestamp) -> Contact? {
        let contacts = buckets[index].contacts
        let hasSlot = contacts.count < settings.bucketSize || contacts.contains { $0.isBad(settings: settings) }
        if hasSlot { return newcomer.isVerified ? nil : newcomer }
        return contacts.first { $0.status(now: now, settings: settings) == .questionable }
    }

    private mutating func cache(_ contact: Contact, in index: Int) {
        let limit = settings.replacementCacheSize
        if let dropped = buckets[index].cache(contact, limit: limit) { releaseIP(of: dropped) }
        if limit > 0 { claimIP(for: contact.id, at: contact.endpoint) }
    }

    /// With `restrictIPs`, whether `id` may take `address`: yes if no other node holds it,
    /// or if the holder is bad or, for a verified newcomer, an unverified spare; such a holder
    /// is removed (a node that restarted with a new id must not stay locked out).
    private mutating func makeRoom(for address: IPAddress, id: NodeID, verified: Bool) -> Bool {
        guard settings.restrictIPs, let holder = ipHolders[address], holder != id else { return true }
        guard let index = bucketIndex(of: holder) else { return false }
        if let position = buckets[index].contactIndex(of: holder) {
            guard buckets[index].contacts[position].isBad(settings: settings) else { return false }
            remove(id: holder)
            return true
        }
        if let position = buckets[index].replacementIndex(of: holder) {
            let spare = buckets[index].replacements[position]
            guard spare.isBad(settings: settings) || (verified && !spare.isVerified) else { return false }
            remove(id: holder)
            return true
        }
        assertionFailure("IP holder \(holder) is in no bucket")
        ipHolders[address] = nil
        return true
    }

    private mutating func claimIP(for id: NodeID, at endpoint: Endpoint) {
        if settings.restrictIPs { ipHolders[endpoint.address] = id }
    }

    private mutating func releaseIP(of contact: Contact) {
        if settings.restrictIPs, ipHolders[contact.endpoint.address] == contact.id {
            ipHolders[contact.endpoint.address] = nil
        }
    }
}
