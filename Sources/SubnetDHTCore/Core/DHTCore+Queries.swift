/// Serving incoming queries: BEP 5 (ping, find_node, get_peers, announce_peer) and
/// BEP 44 (get, put).
extension DHTCore {
    /// Answers one query within `responseLimit` bytes (the amplification limit of the source).
    /// `knownSignature` is the shell's verdict on a signed store's signature, checked ahead.
    mutating func handleQuery(_ query: Query, message: KRPCMessage, from source: Endpoint, knownSignature: SignatureVerdict?,
                              responseLimit: Int, now: Timestamp) {
        let kind = query.method.kind
        statistics.queriesReceived.add(kind)
        // BEP 43: a read-only node asks but never answers.
        guard !settings.readOnly else { return }
        if !message.readOnly, query.senderID != localID, acceptableForRouting(id: query.senderID, endpoint: source) {
            pingCandidate(of: routing.recordQuery(from: query.senderID, at: source, now: now), now: now)
        }
        let reply: Result<ResponseBody, KRPCError>
        switch query.method {
        case .ping:
            reply = .success(ResponseBody(id: localID))
        case .findNode(let target, let want):
            var body = ResponseBody(id: localID)
            addNodes(to: &body, near: target, want: want, requester: source)
            reply = .success(body)
        case .getPeers(let infoHash, let want):
            reply = .success(answerGetPeers(infoHash: infoHash, want: want, from: source, now: now))
        case .announcePeer(let infoHash, let port, let implied, let token):
            reply = answerAnnouncePeer(infoHash: infoHash, port: port, impliedPort: implied, token: token, from: source, now: now)
        case .get(let target, let seq, let want):
            reply = .success(answerGet(target: target, seq: seq, want: want, from: source, now: now))
        case .put(let arguments):
            reply = answerPut(arguments, from: source, knownSignature: knownSignature, now: now)
        case .announceRecord(let arguments):
            reply = answerAnnounceRecord(arguments, from: source, knownSignature: knownSignature, now: now)
        case .getRecords(let target, let after, let want):
            reply = answerGetRecords(target: target, after: after, want: want, transactionID: message.transactionID,
                                     from: source, responseLimit: responseLimit, now: now)
        case .unknown(_, let target?, let want):
            // libtorrent's convention: another implementation's query about a target is
            // answered as a find_node, so its extensions still find their way (BEP 5 allows it).
            var body = ResponseBody(id: localID)
            addNodes(to: &body, near: target, want: want, requester: source)
            reply = .success(body)
        case .unknown(let name, nil, _):
            reply = .failure(.methodUnknown(name))
        }
        // `consume` with `sendResponse`'s consuming body: the reply is dead after this, so it is
        // not kept alive beside the message's copy (about 1 % of a get_records answer's
        // instructions, core_instructions.sh).
        switch consume reply {
        case .success(let body):
            statistics.answersSent.add(kind)
            sendResponse(body, transactionID: message.transactionID, to: source, limit: responseLimit)
        case .failure(let error): sendError(error, transactionID: message.transactionID, to: source, limit: responseLimit)
        }
    }

    /// Adds the k closest contacts in the families asked for (BEP 32); without `want`,
    /// the requester's own family. In place: a response body is a dozen references, and
    /// copying it in and out cost more than the node lists' own bookkeeping.
    func addNodes(to body: inout ResponseBody, near target: NodeID, want: AddressFamilies?, requester: Endpoint) {
        let families = want ?? (requester.address.isIPv4 ? .ipv4 : .ipv6)
        // Each family's own k closest: asking for 2k of both and filtering gave fewer than k
        // of a family outnumbered near the target, and cost a sort of the deeper buckets
        // whenever the target's own bucket held fewer than 2k.
        if families.contains(.ipv4) { body.nodes = Self.nodeInfos(routing.closest(to: target, count: settings.k, families: .ipv4)) }
        if families.contains(.ipv6) { body.nodes6 = Self.nodeInfos(routing.closest(to: target, count: settings.k, families: .ipv6)) }
    }

    /// The wire form of `contacts`: id and address, without the table's bookkeeping.
    private static func nodeInfos(_ contacts: [Contact]) -> [NodeInfo] {
        contacts.map { NodeInfo(id: $0.id, endpoint: $0.endpoint) }
    }

    private mutating func answerGetPeers(infoHash: NodeID, want: AddressFamilies?, from source: Endpoint, now: Timestamp) -> ResponseBody {
        var body = ResponseBody(id: localID, token: tokens.token(for: source.address, target: infoHash, now: now))
        let peers = peerStore.peers(for: infoHash, family: source.address.isIPv4, limit: settings.storage.maxPeersReturned, now: now,
                                       using: &generator)
        if !peers.isEmpty { body.values = peers }
        addNodes(to: &body, near: infoHash, want: want, requester: source)
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

    private mutating func answerGet(target: NodeID, seq: Int64?, want: AddressFamilies?, from source: Endpoint, now: Timestamp) -> ResponseBody {
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
        addNodes(to: &body, near: target, want: want, requester: source)
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
}
