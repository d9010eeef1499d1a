/// Saving and restoring what a node knows, for a fast rejoin after a restart.
extension DHTCore {
    /// The routing table's contacts and the records held for others.
    public func exportSnapshot(now: Timestamp) -> NodeSnapshot {
        NodeSnapshot(nodeID: localID, contacts: routing.allContacts.map { NodeInfo(id: $0.id, endpoint: $0.endpoint) },
                     records: responder.recordStore.allRecords(now: now), savedAt: now)
    }

    /// Puts back a snapshot's records (each checked again as a store from the network would
    /// be, but for the token: a snapshot file is input like any other) and pings its contacts,
    /// so the ones still alive re-enter the routing table without a full bootstrap. Returns how
    /// many records were restored.
    @discardableResult
    public mutating func importSnapshot(_ snapshot: NodeSnapshot, now: Timestamp) -> Int {
        var restored = 0
        for record in snapshot.records where !record.isExpired(at: now) && record.hasValidSignature() {
            guard (1...KeyedRecord.maxKeyLength).contains(record.key.count), record.encodedValue.count <= settings.storage.maxValueSize,
                let policy = settings.keyPolicies.policy(for: record.key), policy.refusal(of: record) == nil else { continue }
            // Back under the target it was stored at: the key's shard for its owner.
            let target = KeyedRecord.target(forKey: record.key, owner: record.owner, shardDepth: shardDepth(ofKey: record.key))
            if (try? responder.recordStore.store(record, target: target, encodedValue: record.encodedValue, maxOwners: policy.maxOwners,
                                                 now: now)) != nil { restored += 1 }
        }
        for contact in snapshot.contacts where contact.id != localID {
            pingCandidate(of: .cached(pingCandidate: Contact(id: contact.id, endpoint: contact.endpoint, firstSeen: now)), now: now)
        }
        return restored
    }
}
