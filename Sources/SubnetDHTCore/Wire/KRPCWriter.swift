/// Writes a KRPC message straight into its datagram. Every dictionary's keys are written in
/// ascending byte order by hand, as bencode requires, so nothing is built to be sorted: the
/// dictionary-of-`BValue` encoder this replaced allocated a key array, a dictionary and a
/// sorted copy per level, and an array per node id and address. The strict decoder refuses keys out of order, which is
/// what the codec's round-trip tests lean on. Stored records and the BEP 44 and record signed
/// buffers are written with the same entry helpers.
struct KRPCWriter {
    private(set) var out: [UInt8] = []

    init(capacity: Int) { out.reserveCapacity(capacity) }

    mutating func message(_ message: KRPCMessage) {
        out.append(UInt8(ascii: "d"))
        // a, e, ip, kr, n, pad, q, r, ro, t, v, y
        switch message.body {
        case .query(let query):
            key("a")
            arguments(query)
        case .error(let error):
            key("e")
            out.append(UInt8(ascii: "l"))
            integer(Int64(error.code))
            string(error.message)
            out.append(UInt8(ascii: "e"))
        case .response:
            break
        }
        if let address = message.requesterAddress {
            key("ip")
            compactEndpoint(address)
        }
        if let revision = message.keyedRecords {
            key("kr")
            integer(revision)
        }
        if let network = message.networkID {
            key("n")
            integer(network)
        }
        if message.padding > 0 {
            key("pad")
            lengthPrefix(message.padding)
            out.append(contentsOf: repeatElement(0, count: message.padding))
        }
        switch message.body {
        case .query(let query):
            key("q")
            string(query.method.name)
        case .response(let body):
            key("r")
            response(body)
        case .error:
            break
        }
        if message.readOnly {
            key("ro")
            integer(1)
        }
        key("t")
        bytes(message.transactionID)
        if let version = message.clientVersion {
            key("v")
            bytes(version)
        }
        key("y")
        switch message.body {
        case .query: string("q")
        case .response: string("r")
        case .error: string("e")
        }
        out.append(UInt8(ascii: "e"))
    }

    // MARK: - The `a` and `r` dictionaries

    private mutating func arguments(_ query: Query) {
        if case .announceRecord(let fields) = query.method {
            // The record's own fields, whatever they are: sorted by the generic encoder.
            var all = fields
            all[Array("id".utf8)] = .bytes(query.senderID.bytes)
            Bencode.encode(.dict(all), into: &out)
            return
        }
        out.append(UInt8(ascii: "d"))
        switch query.method {
        case .ping, .announceRecord:
            id(query.senderID)
        case .unknown(_, let target, let want):
            id(query.senderID)
            if let target { nodeID("target", target) }
            self.want(want)
        case .findNode(let target, let want):
            id(query.senderID)
            nodeID("target", target)
            self.want(want)
        case .getPeers(let infoHash, let want):
            id(query.senderID)
            nodeID("info_hash", infoHash)
            self.want(want)
        case .announcePeer(let infoHash, let port, let impliedPort, let token):
            // id, implied_port, info_hash, port, token
            id(query.senderID)
            if impliedPort {
                key("implied_port")
                integer(1)
            }
            nodeID("info_hash", infoHash)
            key("port")
            integer(Int64(port))
            key("token")
            bytes(token)
        case .get(let target, let seq, let want):
            // id, seq, target, want
            id(query.senderID)
            if let seq {
                key("seq")
                integer(seq)
            }
            nodeID("target", target)
            self.want(want)
        case .put(let put):
            // cas, id, k, salt, seq, sig, token, v
            if let cas = put.cas {
                key("cas")
                integer(cas)
            }
            id(query.senderID)
            if let publicKey = put.publicKey {
                key("k")
                bytes(publicKey)
            }
            if !put.salt.isEmpty {
                key("salt")
                bytes(put.salt)
            }
            if let seq = put.seq {
                key("seq")
                integer(seq)
            }
            if let signature = put.signature {
                key("sig")
                bytes(signature)
            }
            key("token")
            bytes(put.token)
            key("v")
            Bencode.encode(put.value, into: &out)
        case .getRecords(let target, let after, let want):
            // after, id, target, want
            if let after {
                key("after")
                bytes(after)
            }
            id(query.senderID)
            nodeID("target", target)
            self.want(want)
        case .getRecordChanges(let target, let since, let after):
            // after, id, since, target
            if let after {
                key("after")
                bytes(after)
            }
            id(query.senderID)
            key("since")
            bytes(since)
            nodeID("target", target)
        }
        out.append(UInt8(ascii: "e"))
    }

    private mutating func response(_ body: ResponseBody) {
        // dg, dn, full, gone, id, k, more, nodes, nodes6, records, rn, rz, seq, sig, token, v, values, ver
        out.append(UInt8(ascii: "d"))
        if let feed = body.feed {
            if let digest = feed.memberDigest {
                key("dg")
                bytes(digest)
            }
            if let count = feed.memberCount {
                key("dn")
                integer(count)
            }
            if feed.isFullRead {
                key("full")
                integer(1)
            }
            if let gone = feed.gone {
                key("gone")
                bytes(gone)
            }
        }
        id(body.id)
        if let publicKey = body.publicKey {
            key("k")
            bytes(publicKey)
        }
        if let more = body.more {
            key("more")
            bytes(more)
        }
        if let nodes = body.nodes {
            key("nodes")
            nodeList(nodes, stride: NodeInfo.compactSize(ipv6: false))
        }
        if let nodes6 = body.nodes6 {
            key("nodes6")
            nodeList(nodes6, stride: NodeInfo.compactSize(ipv6: true))
        }
        if let records = body.records {
            key("records")
            Bencode.encode(.list(records), into: &out)
        }
        if let length = body.uncompressedRecordsLength {
            key("rn")
            integer(length)
        }
        if let compressed = body.compressedRecords {
            key("rz")
            bytes(compressed)
        }
        if let seq = body.seq {
            key("seq")
            integer(seq)
        }
        if let signature = body.signature {
            key("sig")
            bytes(signature)
        }
        if let token = body.token {
            key("token")
            bytes(token)
        }
        if let value = body.value {
            key("v")
            Bencode.encode(value, into: &out)
        }
        if let values = body.values {
            key("values")
            out.append(UInt8(ascii: "l"))
            for peer in values { compactEndpoint(peer) }
            out.append(UInt8(ascii: "e"))
        }
        if let cursor = body.feed?.cursor {
            key("ver")
            bytes(cursor)
        }
        out.append(UInt8(ascii: "e"))
    }

    // MARK: - Pieces

    /// A dictionary whose entries `body` writes, in byte order of their keys.
    @inline(__always)
    mutating func dictionary(_ body: (inout KRPCWriter) -> Void) {
        out.append(UInt8(ascii: "d"))
        body(&self)
        out.append(UInt8(ascii: "e"))
    }

    private mutating func id(_ id: NodeID) { nodeID("id", id) }

    private mutating func nodeID(_ name: StaticString, _ id: NodeID) {
        key(name)
        lengthPrefix(NodeID.byteCount)
        id.append(to: &out)
    }

    /// BEP 32 `want`: `n4`, then `n6`.
    private mutating func want(_ want: AddressFamilies?) {
        guard let want else { return }
        key("want")
        out.append(UInt8(ascii: "l"))
        if want.contains(.ipv4) { string("n4") }
        if want.contains(.ipv6) { string("n6") }
        out.append(UInt8(ascii: "e"))
    }

    /// Compact node infos, each `stride` bytes (26 for IPv4, 38 for IPv6), as one byte string.
    private mutating func nodeList(_ nodes: [NodeInfo], stride: Int) {
        lengthPrefix(nodes.count * stride)
        for node in nodes { node.appendCompact(to: &out) }
    }

    private mutating func compactEndpoint(_ endpoint: Endpoint) {
        lengthPrefix(endpoint.address.isIPv4 ? 6 : 18)
        endpoint.appendCompact(to: &out)
    }

    mutating func key(_ name: StaticString) {
        lengthPrefix(name.utf8CodeUnitCount)
        name.withUTF8Buffer { out.append(contentsOf: $0) }
    }

    private mutating func string(_ text: String) {
        lengthPrefix(text.utf8.count)
        out.append(contentsOf: text.utf8)
    }

    mutating func bytes(_ bytes: [UInt8]) {
        lengthPrefix(bytes.count)
        out.append(contentsOf: bytes)
    }

    private mutating func lengthPrefix(_ length: Int) {
        Bencode.appendDecimal(Int64(length), to: &out)
        out.append(UInt8(ascii: ":"))
    }

    /// Bytes that are bencoded already, such as a value encoded once and signed over.
    mutating func encoded(_ bytes: [UInt8]) {
        out.append(contentsOf: bytes)
    }

    mutating func integer(_ number: Int64) {
        out.append(UInt8(ascii: "i"))
        Bencode.appendDecimal(number, to: &out)
        out.append(UInt8(ascii: "e"))
    }
}
