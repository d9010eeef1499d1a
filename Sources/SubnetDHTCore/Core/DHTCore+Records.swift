/// Keyed records (docs/PROTOCOL.md 3): reading every page of a key from the closest replicas.
extension DHTCore {
    // MARK: - Reading

    /// After a record lookup converges: read the remaining pages of the closest replicas.
    mutating func startRecordPaging(_ id: OperationID, lookup: IterativeLookup, now: Timestamp) {
        guard let operation = operations[id], var paging = operation.read else { return }
        let replicas = lookup.closestResponded.prefix(settings.recordReadReplicas)
        for replica in replicas {
            guard let cursor = paging.cursors[replica.endpoint] else { continue }
            paging.inFlight += 1
            paging.pagesRead[replica.endpoint] = 1
            sendQuery(.getRecords(target: lookup.target, after: cursor, want: []), to: replica.endpoint,
                      expectedID: replica.id, purpose: .recordPage(id), now: now)
        }
        operations[id]?.phase = .paging(lookup, paging)
        finishRecordReadIfDone(id, now: now)
    }

    /// A page arrived (or its request failed, `body` nil): merge it and ask for the next.
    mutating func recordPageAnswered(_ id: OperationID, from source: Endpoint, body: ResponseBody?, now: Timestamp) {
        guard var operation = operations[id], case .paging(let lookup, var paging) = operation.phase else { return }
        let target = lookup.target
        paging.inFlight -= 1
        if let body {
            paging.collector.add(page: body, now: now)
            let read = paging.pagesRead[source, default: 0]
            if let more = body.more, more != paging.cursors[source], read < settings.maxRecordPagesPerReplica {
                paging.cursors[source] = more
                paging.pagesRead[source] = read + 1
                paging.inFlight += 1
                // `want` empty: follow-up pages need no node lists, which leaves room for records.
                sendQuery(.getRecords(target: target, after: more, want: []), to: source, expectedID: body.id,
                          purpose: .recordPage(id), now: now)
            }
        }
        operation.read = paging
        operations[id] = operation
        finishRecordReadIfDone(id, now: now)
    }

    private mutating func finishRecordReadIfDone(_ id: OperationID, now: Timestamp) {
        guard let operation = operations[id], case .paging(let lookup, let paging) = operation.phase, paging.inFlight == 0
        else { return }
        var result = lookup.result()
        // The reader may be a replica itself: an announcer never stores on its own node, so
        // in a small subnet the records held here are on none of the replicas asked.
        var collector = paging.collector
        collector.add(stored: responder.recordStore.records(target: lookup.target, after: nil, limit: .max, now: now), now: now)
        result.records = collector.records
        finish(id, .lookup(result))
    }
}

extension KeyedRecord {
    /// The `announce_record` arguments for this record, without the token.
    var announceArguments: [[UInt8]: BValue] {
        guard case .dict(var fields) = wireDictionary else { return [:] }
        fields[Array("key".utf8)] = .bytes(key)
        return fields
    }
}

/// A read of every storage target of a sharded key (docs/PROTOCOL.md 3.3), gathered into the
/// one result its caller waits for.
struct ShardedRead: Sendable {
    var result: LookupResult
    var pending: Int

    init(target: NodeID, pending: Int) {
        result = LookupResult(target: target, closest: [], rounds: 0, messagesSent: 0, responses: 0, peers: [],
                              immutableValue: nil, mutableItem: nil, records: [])
        self.pending = pending
    }

    /// One target's read: its records joined (owners never share a shard), its costs added.
    mutating func add(_ part: LookupResult) {
        result.records += part.records
        result.closest += part.closest
        result.rounds = max(result.rounds, part.rounds)
        result.messagesSent += part.messagesSent
        result.responses += part.responses
    }
}

extension DHTCore {
    /// One storage target of a sharded read finished; the last one finishes the read.
    mutating func shardReadFinished(parent: OperationID, result: OperationResult) {
        guard var read = shardedReads[parent] else { return }
        if case .lookup(let part) = result { read.add(part) }
        read.pending -= 1
        guard read.pending == 0 else {
            shardedReads[parent] = read
            return
        }
        shardedReads[parent] = nil
        read.result.records.sort { $0.owner < $1.owner }
        effects.append(.event(.operationFinished(parent, .lookup(read.result))))
    }
}
