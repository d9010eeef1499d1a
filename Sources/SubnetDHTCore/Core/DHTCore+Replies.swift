/// What comes back for our requests: answers, error replies and timeouts, each handed to the
/// operation (or upkeep ping) that sent the request.
extension DHTCore {
    mutating func handleResponse(_ body: ResponseBody, message: KRPCMessage, from source: Endpoint, now: Timestamp) {
        guard let request = requests.answered(transactionID: message.transactionID, from: source, now: now, learnRoundTrip: true) else {
            statistics.unmatchedResponses += 1
            return
        }
        amplification.noteVerified(source, now: now)
        lostContacts.remove(source)
        learnCapabilities(answering: request, message: message, body: body, now: now)
        noteResponder(id: body.id, endpoint: source, now: now)
        switch request.purpose {
        case .lookup(let id):
            guard var operation = operations[id], var lookup = operation.lookup else { return }
            let (item, immutable) = verifiedItem(in: body, for: lookup)
            lookup.handleResponse(from: source, body: body, verifiedItem: item, immutableValue: immutable)
            // A contact judged plain, asked find_node in a record lookup, said `kr`: it was
            // wrongly judged, and is asked get_records in this lookup still.
            if case .getRecords = lookup.kind, case .findNode? = request.method, message.servesKeyedRecords {
                lookup.reconsider(source)
            }
            operation.lookup = lookup
            if var read = operation.read {
                read.collector.add(page: body, now: now)
                if let more = body.more { read.cursors[source] = more }
                operation.read = read
            }
            operations[id] = operation
            advance(id, now: now)
        case .recordPage(let id):
            recordPageAnswered(id, from: source, body: body, now: now)
        case .feedPage(let target):
            feedPageAnswered(target: target, from: source, asked: request.method, body: body, now: now)
        case .storeCheck:
            storeCheckAnswered(from: source, body: body, now: now)
        case .store(let id):
            guard var progress = operations[id]?.store, let node = progress.waiting.removeValue(forKey: source) else { return }
            progress.accepted.append(node)
            operations[id]?.store = progress
            finishStoreIfDone(id)
        case .userPing(let id):
            finish(id, .ping(.success(body.id)))
        case .maintenancePing:
            upkeepPings.remove(source)
        }
    }

    mutating func handleErrorReply(_ error: KRPCError, message: KRPCMessage, from source: Endpoint, now: Timestamp) {
        guard let request = requests.answered(transactionID: message.transactionID, from: source, now: now, learnRoundTrip: false) else {
            statistics.unmatchedResponses += 1
            return
        }
        amplification.noteVerified(source, now: now)
        let refusedAsUnknown = learnCapabilities(refusal: error, of: request, now: now)
        switch request.purpose {
        case .lookup(let id):
            // A record lookup asks a node that does not know get_records again, as a find_node.
            if refusedAsUnknown {
                operations[id]?.lookup?.askAgain(source)
            } else {
                operations[id]?.lookup?.handleFailure(from: source)
            }
            advance(id, now: now)
        case .store(let id):
            guard var progress = operations[id]?.store, let node = progress.waiting.removeValue(forKey: source) else { return }
            progress.rejected.append((node, error))
            operations[id]?.store = progress
            finishStoreIfDone(id)
        case .recordPage(let id):
            recordPageAnswered(id, from: source, body: nil, now: now)
        case .feedPage(let target):
            feedPageAnswered(target: target, from: source, asked: request.method, body: nil, now: now)
        case .storeCheck:
            storeCheckAnswered(from: source, body: nil, now: now)
        case .userPing(let id):
            finish(id, .ping(.failure(.error(error))))
        case .maintenancePing:
            upkeepPings.remove(source)
        }
    }

    mutating func handleTimeout(_ request: PendingRequest, now: Timestamp) {
        statistics.timeouts += 1
        if request.attempt < settings.maxAttempts, request.purpose != .maintenancePing, isStillWanted(request) {
            resend(request, now: now)
            if case .lookup(let id) = request.purpose {
                operations[id]?.lookup?.noteRetry(to: request.endpoint)
                advance(id, now: now)
            }
            return
        }
        // Only silence to a query the contact is known to answer says it may be dead: BEP 5
        // lets a node ignore methods it does not know.
        let judgesHealth = request.method.map { capabilities.isKnownToSupport($0, at: request.endpoint, now: now) } ?? false
        learnCapabilities(silenceTo: request, now: now)
        if judgesHealth, let id = request.expectedID { routing.recordFailure(id: id, at: request.endpoint, now: now) }
        switch request.purpose {
        case .lookup(let id):
            operations[id]?.lookup?.handleFailure(from: request.endpoint)
            advance(id, now: now)
        case .store(let id):
            guard var progress = operations[id]?.store, let node = progress.waiting.removeValue(forKey: request.endpoint) else { return }
            progress.unanswered.append(node)
            operations[id]?.store = progress
            finishStoreIfDone(id)
        case .recordPage(let id):
            recordPageAnswered(id, from: request.endpoint, body: nil, now: now)
        case .feedPage(let target):
            feedPageAnswered(target: target, from: request.endpoint, asked: request.method, body: nil, now: now)
        case .storeCheck:
            storeCheckAnswered(from: request.endpoint, body: nil, now: now)
        case .userPing(let id):
            finish(id, .ping(.failure(.timedOut)))
        case .maintenancePing:
            upkeepPings.remove(request.endpoint)
        }
    }

    /// Whether anyone still waits for this request: an immutable get that already found its
    /// value leaves queries in flight, and retrying those would only add traffic.
    func isStillWanted(_ request: PendingRequest) -> Bool {
        switch request.purpose {
        case .lookup(let id), .store(let id), .userPing(let id), .recordPage(let id): operations[id] != nil
        case .feedPage(let target): membership?.shards.first { $0.target == target }?.awaits(request.method, from: request.endpoint) ?? false
        case .storeCheck: membership?.storeChecks.isPending(request.endpoint) ?? false
        case .maintenancePing: true
        }
    }

    /// The item in a `get` response, if it is the one asked for and its signature or hash checks out.
    func verifiedItem(in body: ResponseBody, for lookup: IterativeLookup) -> (MutableItem?, BValue?) {
        guard let value = body.value else { return (nil, nil) }
        switch lookup.kind {
        case .getImmutable:
            return (nil, SHA1Hash.id(Bencode.encode(value)) == lookup.target ? value : nil)
        case .getMutable(let publicKey, let salt):
            guard body.publicKey == publicKey, let signature = body.signature, let seq = body.seq,
                let key = PublicKey(bytes: publicKey) else { return (nil, nil) }
            // Only an item that would replace the one held is worth a signature check (as in
            // libtorrent's get_item): every replica sends the same item, and checking each
            // copy cost a read 7 verifies more than it needed, half its time on loopback.
            guard seq > (lookup.mutableItem?.seq ?? Int64.min) else { return (nil, nil) }
            let buffer = BEP44.signedBuffer(salt: salt, seq: seq, encodedValue: Bencode.encode(value))
            guard key.verify(signature: signature, message: buffer) else { return (nil, nil) }
            return (MutableItem(publicKey: publicKey, salt: salt, seq: seq, value: value, signature: signature), nil)
        case .findNode, .getPeers, .getRecords:
            return (nil, nil)
        }
    }
}
