import Foundation
@testable import SubnetDHT
@testable import SubnetDHTCore

/// A minimal Mainline node of another implementation, for tests of mixed networks: it
/// answers BEP 5's `ping`, `find_node`, `get_peers` and `announce_peer` from a plain list of
/// the nodes it knows, and silently drops every other method (keyed records, BEP 44), as
/// BEP 5 permits and as the C++ node that found issue 21 does. It never says `kr`. It shares
/// only the codec with SubnetDHT, no routing or storage, and never sends queries of its own.
/// Every query it receives is logged, so a test can tell what SubnetDHT asked it.
final class PlainMainlineNode: @unchecked Sendable {  // state behind `lock`: the loopback test serves it from a thread
    struct Received: Sendable {
        var method: String
        var source: Endpoint
        var transactionID: [UInt8]
        var time: Timestamp
    }

    static let clientVersion: [UInt8] = Array("PL".utf8) + [0, 1]
    static let answeredMethods: Set<String> = ["ping", "find_node", "get_peers", "announce_peer"]

    let id: NodeID
    let endpoint: Endpoint
    private let lock = NSLock()
    private var known: [Endpoint: NodeID] = [:]
    private var log: [Received] = []

    init(id: NodeID, endpoint: Endpoint) {
        self.id = id
        self.endpoint = endpoint
    }

    /// Another node it knows from before (the Mainline network it has long been part of).
    func learn(_ id: NodeID, at endpoint: Endpoint) {
        lock.withLock { known[endpoint] = id }
    }

    var received: [Received] { lock.withLock { log } }

    /// Queries of `methods` received, optionally only from `source` and at or after `since`.
    func count(of methods: Set<String>, from source: Endpoint? = nil, since: Timestamp? = nil) -> Int {
        received.filter { entry in
            methods.contains(entry.method) && (source.map { entry.source == $0 } ?? true) && (since.map { entry.time >= $0 } ?? true)
        }.count
    }

    /// The answer to `datagram`, or nil: responses, errors, garbage and every method outside
    /// BEP 5 go unanswered.
    func handle(_ datagram: [UInt8], from source: Endpoint, now: Timestamp) -> [UInt8]? {
        guard let message = try? KRPCCodec.decode(datagram), case .query(let query) = message.body else { return nil }
        return lock.withLock {
            log.append(Received(method: query.method.name, source: source, transactionID: message.transactionID, time: now))
            guard Self.answeredMethods.contains(query.method.name) else { return nil }
            if !message.readOnly { known[source] = query.senderID }
            var body = ResponseBody(id: id)
            switch query.method {
            case .findNode(let target, _):
                body.nodes = closest(to: target)
            case .getPeers(let infoHash, _):
                body.nodes = closest(to: infoHash)
                body.token = Array(SHA1Hash.digest(Array("\(source)".utf8)).prefix(4))
            default:
                break
            }
            let reply = KRPCMessage(transactionID: message.transactionID, body: .response(body),
                                    clientVersion: Self.clientVersion, requesterAddress: source)
            return KRPCCodec.encode(reply)
        }
    }

    /// The 8 IPv4 nodes it knows closest to `target`.
    private func closest(to target: NodeID) -> [NodeInfo] {
        known.filter { $0.key.address.isIPv4 && $0.key != endpoint }
            .map { NodeInfo(id: $0.value, endpoint: $0.key) }
            .sorted { $0.id.distance(to: target) < $1.id.distance(to: target) }
            .prefix(8).map { $0 }
    }
}
