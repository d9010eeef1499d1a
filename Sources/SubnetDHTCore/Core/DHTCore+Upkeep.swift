/// Upkeep of the routing table and the stores: periodic pings of questionable contacts,
/// bucket refreshes and expiry.
extension DHTCore {
    mutating func performMaintenance(now: Timestamp) {
        rateLimiter.sweep(now: now)
        capabilities.sweep(now: now)
        responder.peerStore.expire(now: now)
        responder.itemStore.expire(now: now)
        for contact in routing.questionableContacts(now: now).prefix(settings.pingsPerMaintenance) {
            sendUpkeepPing(to: contact, now: now)
        }
        // Refresh stale buckets with internal lookups, at most a few at a time.
        // At most two refresh lookups at a time; heartbeat and membership reads do not count.
        guard routing.count > 0, operations.values.filter({ $0.owner == .core(.refresh) }).count < 2 else { return }
        for target in routing.refreshTargets(now: now, using: &generator).prefix(2) {
            _ = beginLookup(target: target, kind: .findNode, extraSeeds: [], purpose: .refresh, now: now)
        }
    }

    /// A node answered one of our queries: it is reachable, so it may enter the routing table.
    mutating func noteResponder(id: NodeID, endpoint: Endpoint, now: Timestamp) {
        guard acceptableForRouting(id: id, endpoint: endpoint) else { return }
        let outcome = routing.recordResponse(from: id, at: endpoint, now: now)
        pingCandidate(of: outcome, now: now)
    }

    func acceptableForRouting(id: NodeID, endpoint: Endpoint) -> Bool {
        guard settings.enforceSecureNodeIDs else { return true }
        return SecureNodeID.isValid(id, for: endpoint.address)
    }

    /// Pings the contact the routing table wants checked, unless a ping to it is under way.
    mutating func pingCandidate(of outcome: InsertOutcome, now: Timestamp) {
        guard case .cached(let candidate?) = outcome else { return }
        sendUpkeepPing(to: candidate, now: now)
    }

    mutating func sendUpkeepPing(to contact: Contact, now: Timestamp) {
        sendUpkeepPing(to: contact.endpoint, expectedID: contact.id, now: now)
    }

    /// An upkeep ping, unless one to `endpoint` is under way; `expectedID` nil for a seed.
    mutating func sendUpkeepPing(to endpoint: Endpoint, expectedID: NodeID?, now: Timestamp) {
        guard upkeepPings.insert(endpoint).inserted else { return }
        sendQuery(.ping, to: endpoint, expectedID: expectedID, purpose: .maintenancePing, now: now)
    }
}
