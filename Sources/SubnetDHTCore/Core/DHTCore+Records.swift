/// Keyed records (docs/PROTOCOL.md 3): serving `announce_record` and `get_records`, and
/// reading every page of a key from the closest replicas.
extension DHTCore {
    // MARK: - Serving

    mutating func answerAnnounceRecord(_ arguments: [[UInt8]: BValue], from source: Endpoint, knownSignature: SignatureVerdict?,
                                       now: Timestamp) -> Result<ResponseBody, KRPCError> {
        let verdict = recordValidator.validate(arguments, from: source.address, knownSignature: knownSignature, policies: settings.keyPolicies,
                                               store: recordStore, tokens: &tokens, now: now)
        switch verdict {
        case .failure(let error):
            return .failure(error)
        case .success(.unchanged):
            return .success(ResponseBody(id: localID))
        case .success(.store(let record, let policy, let target, let encodedValue)):
            do {
                try recordStore.store(record, target: target, encodedValue: encodedValue, maxOwners: policy.maxOwners, now: now)
            } catch {
                return .failure(KRPCError(code: error.code, message: error.message))
            }
            return .success(ResponseBody(id: localID))
        }
    }

    /// A page of records after `after`, with a token and the closest nodes, within the response budget.
    mutating func answerGetRecords(target: NodeID, after: [UInt8]?, want: AddressFamilies?, transactionID: [UInt8],
                                   from source: Endpoint, responseLimit: Int, now: Timestamp) -> Result<ResponseBody, KRPCError> {
        var cursor: PublicKey?
        if let after {
            guard let key = PublicKey(bytes: after) else { return .failure(.protocolError("after must be a 32-byte owner key")) }
            cursor = key
        }
        var body = ResponseBody(id: localID, token: tokens.token(for: source.address, target: target, now: now))
        addRecordCapableNodes(to: &body, near: target, want: want, requester: source)
        guard var page = recordPage(target: target, after: cursor, body: body, transactionID: transactionID,
                                    to: source, responseLimit: responseLimit, now: now)
        else { return .success(body) }
        if page.isEmpty {
            // A record near the 1,000-byte limit does not fit beside the node lists; the
            // records are what was asked for, so the node lists give way.
            body.nodes = nil
            body.nodes6 = nil
            page = recordPage(target: target, after: cursor, body: body, transactionID: transactionID,
                              to: source, responseLimit: responseLimit, now: now) ?? page
        }
        page.add(to: &body)
        return .success(body)
    }

    /// The page of `target`'s records after `after` that fits in `body`'s answer, nil when no
    /// unexpired record follows `after`: the page built before while its records are
    /// unchanged, else built now and kept.
    private mutating func recordPage(target: NodeID, after: PublicKey?, body: ResponseBody, transactionID: [UInt8],
                                     to source: Endpoint, responseLimit: Int, now: Timestamp) -> RecordPageContents? {
        let key = RecordPageCache.Key(target: target, after: after, responseLimit: responseLimit,
                                      envelope: .init(body, transactionID: transactionID, requester: source))
        if let kept = recordPages.contents(for: key, in: recordStore, now: now) {
            statistics.recordPagesReused += 1
            return kept
        }
        // Fetch no more than a page could ever hold: every record carries 96 incompressible
        // bytes (its key and signature), so even compressed no more than this many fit.
        let (candidates, stamp) = recordStore.stampedPage(target: target, after: after, limit: settings.maxResponseSize / 96 + 1, now: now)
        guard !candidates.isEmpty else { return nil }
        let budget = responseLimit - envelopeSize(body, transactionID: transactionID, to: source)
        let contents = RecordPage.contents(of: candidates, budget: budget)
        recordPages.keep(contents, stamp: stamp, for: key)
        return contents
    }

    /// Bytes the response takes before any records are added.
    private func envelopeSize(_ body: ResponseBody, transactionID: [UInt8], to destination: Endpoint) -> Int {
        KRPCCodec.encode(responseMessage(body, transactionID: transactionID, to: destination)).count
    }

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
        collector.add(stored: recordStore.records(target: lookup.target, after: nil, limit: .max, now: now), now: now)
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
