/// Answers other nodes' queries (docs/PROTOCOL.md 2 and 3). It owns what the node serves:
/// BEP 5 peers, BEP 44 items, keyed records with the page cache of their answers, the write
/// tokens that guard every store, and the record validator. The routing table and what is
/// known of each contact stay the coordinator's (`DHTCore`): answers borrow them for their
/// node lists (`AnswerNodes`).
struct QueryResponder {
    let localID: NodeID
    /// Its key policies change while the node runs (`DHTCore.replaceKeyPolicies`); the rest never does.
    var settings: DHTSettings
    var peerStore: PeerStore
    var itemStore: ItemStore
    var recordStore: RecordStore
    /// `get_records` pages built already, reused while their records are unchanged.
    var recordPages: RecordPageCache
    var recordValidator: RecordValidator
    var tokens: WriteTokens
    /// Records dropped as expired while answering feed reads, which the pruner reports as its own.
    var recordsExpiredByAnswers = 0

    init(localID: NodeID, settings: DHTSettings, seed: CoreSeed, now: Timestamp) {
        self.localID = localID
        self.settings = settings
        peerStore = PeerStore(settings: settings.storage)
        itemStore = ItemStore(settings: settings.storage)
        recordStore = RecordStore(settings: settings.recordStore, feedEpoch: seed.recordFeedEpoch)
        recordPages = RecordPageCache(capacity: settings.recordPageCacheSize)
        recordValidator = RecordValidator(maxValueSize: settings.storage.maxValueSize)
        tokens = WriteTokens(seed: seed, now: now)
    }

    /// The answer to `query`, or the error that refuses it. `knownSignature` is the shell's
    /// verdict on a signed store's signature, checked ahead; `responseLimit` is what the
    /// requester may be sent (its amplification limit), which a page of records must fit.
    mutating func answer(_ query: Query, transactionID: [UInt8], from source: Endpoint, knownSignature: SignatureVerdict?,
                         responseLimit: Int, routing: borrowing RoutingTable, capabilities: borrowing ContactCapabilities,
                         contactTime: Timestamp, generator: inout SplitMix64, statistics: inout CoreStatistics,
                         now: Timestamp) -> Result<ResponseBody, KRPCError> {
        switch query.method {
        case .ping:
            return .success(ResponseBody(id: localID))
        case .findNode(let target, let want):
            var body = ResponseBody(id: localID)
            AnswerNodes.add(to: &body, near: target, want: want, requester: source, routing: routing, k: settings.k)
            return .success(body)
        case .getPeers(let infoHash, let want):
            return .success(answerGetPeers(infoHash: infoHash, want: want, from: source, routing: routing, generator: &generator, now: now))
        case .announcePeer(let infoHash, let port, let implied, let token):
            return answerAnnouncePeer(infoHash: infoHash, port: port, impliedPort: implied, token: token, from: source, now: now)
        case .get(let target, let seq, let want):
            return .success(answerGet(target: target, seq: seq, want: want, from: source, routing: routing, now: now))
        case .put(let arguments):
            return answerPut(arguments, from: source, knownSignature: knownSignature, now: now)
        case .announceRecord(let arguments):
            return answerAnnounceRecord(arguments, from: source, knownSignature: knownSignature, now: now)
        case .getRecords(let target, let after, let want):
            return answerGetRecords(target: target, after: after, want: want, transactionID: transactionID, from: source,
                                    responseLimit: responseLimit, routing: routing, capabilities: capabilities,
                                    contactTime: contactTime, statistics: &statistics, now: now)
        case .getRecordChanges(let target, let since, let after):
            return answerGetRecordChanges(target: target, since: since, after: after, transactionID: transactionID, from: source,
                                          responseLimit: responseLimit, now: now)
        case .unknown(_, let target?, let want):
            // libtorrent's convention: another implementation's query about a target is
            // answered as a find_node, so its extensions still find their way (BEP 5 allows it).
            var body = ResponseBody(id: localID)
            AnswerNodes.add(to: &body, near: target, want: want, requester: source, routing: routing, k: settings.k)
            return .success(body)
        case .unknown(let name, nil, _):
            return .failure(.methodUnknown(name))
        }
    }

    // MARK: - BEP 5 and BEP 44

    private mutating func answerGetPeers(infoHash: NodeID, want: AddressFamilies?, from source: Endpoint, routing: borrowing RoutingTable,
                                         generator: inout SplitMix64, now: Timestamp) -> ResponseBody {
        var body = ResponseBody(id: localID, token: tokens.token(for: source.address, target: infoHash, now: now))
        let peers = peerStore.peers(for: infoHash, family: source.address.isIPv4, limit: settings.storage.maxPeersReturned, now: now,
                                    using: &generator)
        if !peers.isEmpty { body.values = peers }
        AnswerNodes.add(to: &body, near: infoHash, want: want, requester: source, routing: routing, k: settings.k)
        return body
    }

    private mutating func answerAnnouncePeer(infoHash: NodeID, port: UInt16, impliedPort: Bool, token: [UInt8],
                                             from source: Endpoint, now: Timestamp) -> Result<ResponseBody, KRPCError> {
        guard tokens.isValid(token, for: source.address, target: infoHash, now: now) else {
            return .failure(.protocolError("bad token"))
        }
        let peer = Endpoint(address: source.address, port: impliedPort ? source.port : port)
        peerStore.announce(infoHash: infoHash, peer: peer, now: now)
        return .success(ResponseBody(id: localID))
    }

    private mutating func answerGet(target: NodeID, seq: Int64?, want: AddressFamilies?, from source: Endpoint, routing: borrowing RoutingTable,
                                    now: Timestamp) -> ResponseBody {
        var body = ResponseBody(id: localID, token: tokens.token(for: source.address, target: target, now: now))
        if let item = itemStore.mutable(target, now: now) {
            body.publicKey = item.publicKey
            body.seq = item.seq
            // BEP 44: a requester that already has this seq gets no value back.
            if seq.map({ item.seq > $0 }) ?? true, let value = try? Bencode.decode(item.value) {
                body.value = value
                body.signature = item.signature
            }
        } else if let item = itemStore.immutable(target, now: now), let value = try? Bencode.decode(item.value) {
            body.value = value
        }
        AnswerNodes.add(to: &body, near: target, want: want, requester: source, routing: routing, k: settings.k)
        return body
    }

    /// BEP 44 put, checked in the order libtorrent uses: sizes, token, signature, then storage rules.
    private mutating func answerPut(_ arguments: PutArguments, from source: Endpoint, knownSignature: SignatureVerdict?,
                                    now: Timestamp) -> Result<ResponseBody, KRPCError> {
        let encodedValue = Bencode.encode(arguments.value)
        guard encodedValue.count <= settings.storage.maxValueSize else { return .failure(.valueTooBig) }
        guard arguments.salt.count <= 64 else { return .failure(.saltTooBig) }
        guard let publicKeyBytes = arguments.publicKey else {
            let target = SHA1Hash.id(encodedValue)
            guard tokens.isValid(arguments.token, for: source.address, target: target, now: now) else {
                return .failure(.protocolError("bad token"))
            }
            itemStore.putImmutable(target: target, value: encodedValue, now: now)
            return .success(ResponseBody(id: localID))
        }
        guard let publicKey = PublicKey(bytes: publicKeyBytes) else { return .failure(.protocolError("k must be 32 bytes")) }
        guard let signature = arguments.signature, signature.count == 64 else {
            return .failure(.protocolError("sig must be 64 bytes"))
        }
        guard let seq = arguments.seq, seq >= 0 else { return .failure(.protocolError("missing or negative seq")) }
        let target = BEP44.mutableTarget(publicKey: publicKeyBytes, salt: arguments.salt)
        guard tokens.isValid(arguments.token, for: source.address, target: target, now: now) else {
            return .failure(.protocolError("bad token"))
        }
        let buffer = BEP44.signedBuffer(salt: arguments.salt, seq: seq, encodedValue: encodedValue)
        guard publicKey.verify(signature: signature, message: buffer, known: knownSignature) else { return .failure(.invalidSignature) }
        let item = SignedMutableItem(publicKey: publicKeyBytes, salt: arguments.salt, seq: seq,
                                     signature: signature, value: encodedValue)
        do {
            try itemStore.putMutable(target: target, item: item, cas: arguments.cas, now: now)
        } catch {
            return .failure(KRPCError(code: error.code, message: error.message))
        }
        return .success(ResponseBody(id: localID))
    }

    // MARK: - Keyed records (docs/PROTOCOL.md 3)

    private mutating func answerAnnounceRecord(_ arguments: [[UInt8]: BValue], from source: Endpoint, knownSignature: SignatureVerdict?,
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
    private mutating func answerGetRecords(target: NodeID, after: [UInt8]?, want: AddressFamilies?, transactionID: [UInt8],
                                           from source: Endpoint, responseLimit: Int, routing: borrowing RoutingTable,
                                           capabilities: borrowing ContactCapabilities, contactTime: Timestamp,
                                           statistics: inout CoreStatistics, now: Timestamp) -> Result<ResponseBody, KRPCError> {
        var cursor: PublicKey?
        if let after {
            guard let key = PublicKey(bytes: after) else { return .failure(.protocolError("after must be a 32-byte owner key")) }
            cursor = key
        }
        var body = ResponseBody(id: localID, token: tokens.token(for: source.address, target: target, now: now))
        AnswerNodes.addRecordCapable(to: &body, near: target, want: want, requester: source, routing: routing,
                                     capabilities: capabilities, k: settings.k, now: contactTime)
        guard var page = recordPage(target: target, after: cursor, body: body, transactionID: transactionID,
                                    to: source, responseLimit: responseLimit, statistics: &statistics, now: now)
        else { return .success(body) }
        if page.isEmpty {
            // A record near the 1,000-byte limit does not fit beside the node lists; the
            // records are what was asked for, so the node lists give way.
            body.nodes = nil
            body.nodes6 = nil
            page = recordPage(target: target, after: cursor, body: body, transactionID: transactionID,
                              to: source, responseLimit: responseLimit, statistics: &statistics, now: now) ?? page
        }
        page.add(to: &body)
        return .success(body)
    }

    /// The page of `target`'s records after `after` that fits in `body`'s answer, nil when no
    /// unexpired record follows `after`: the page built before while its records are
    /// unchanged, else built now and kept.
    private mutating func recordPage(target: NodeID, after: PublicKey?, body: ResponseBody, transactionID: [UInt8],
                                     to source: Endpoint, responseLimit: Int, statistics: inout CoreStatistics,
                                     now: Timestamp) -> RecordPageContents? {
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
    func envelopeSize(_ body: ResponseBody, transactionID: [UInt8], to destination: Endpoint) -> Int {
        KRPCCodec.encode(responseMessage(body, transactionID: transactionID, to: destination)).count
    }

    /// The message that carries an answer: every answer says `kr`, so a node that asks us
    /// anything learns that we serve keyed records without a query it might waste. Always
    /// inlined, so the consumed body moves straight into the message: as a call, the body was
    /// copied into it and out again on every answer.
    @inline(__always)
    func responseMessage(_ body: consuming ResponseBody, transactionID: [UInt8], to destination: Endpoint) -> KRPCMessage {
        KRPCMessage(transactionID: transactionID, body: .response(body), clientVersion: settings.clientVersion,
                    requesterAddress: destination, networkID: settings.networkID == 0 ? nil : settings.networkID,
                    keyedRecords: DHTCore.keyedRecordsRevision)
    }
}
