/// The node lists of answers, read from the routing table (docs/PROTOCOL.md 2 and 7.4): each
/// family's k closest contacts, and for a `get_records` answer the closest that serve keyed
/// records first. The coordinator's routing table and contact capabilities are borrowed for
/// one answer: a value holding copies of them would retain and release their storage on
/// every query, pings included, which need no node list at all.
enum AnswerNodes {
    /// Adds the k closest contacts in the families asked for (BEP 32); without `want`,
    /// the requester's own family. In place: a response body is a dozen references, and
    /// copying it in and out cost more than the node lists' own bookkeeping.
    static func add(to body: inout ResponseBody, near target: NodeID, want: AddressFamilies?, requester: Endpoint,
                    routing: borrowing RoutingTable, k: Int) {
        let families = want ?? (requester.address.isIPv4 ? .ipv4 : .ipv6)
        // Each family's own k closest: asking for 2k of both and filtering gave fewer than k
        // of a family outnumbered near the target, and cost a sort of the deeper buckets
        // whenever the target's own bucket held fewer than 2k.
        if families.contains(.ipv4) { body.nodes = nodeInfos(routing.closest(to: target, count: k, families: .ipv4)) }
        if families.contains(.ipv6) { body.nodes6 = nodeInfos(routing.closest(to: target, count: k, families: .ipv6)) }
    }

    /// The node lists of a `get_records` answer: the asker looks for replicas, so each family's
    /// list holds the k closest contacts that serve keyed records, filled up with the closest
    /// of the others when fewer are known. Plain Mainline nodes name only the nodes closest
    /// overall, and where those are all plain a record lookup would never reach a replica.
    /// Lists that hold no contact known to be plain are left as they are: in a subnet of its
    /// own, where no contact is plain, that costs an answer nothing.
    static func addRecordCapable(to body: inout ResponseBody, near target: NodeID, want: AddressFamilies?, requester: Endpoint,
                                 routing: borrowing RoutingTable, capabilities: borrowing ContactCapabilities, k: Int, now: Timestamp) {
        add(to: &body, near: target, want: want, requester: requester, routing: routing, k: k)
        guard capabilities.plainVerdicts > 0 else { return }
        func preferCapable(_ nodes: [NodeInfo]?, family: AddressFamilies) -> [NodeInfo]? {
            guard let nodes, nodes.contains(where: { capabilities.recordSupport(of: $0.endpoint, now: now) == .plain })
            else { return nodes }
            let capable = routing.recordCapable(near: target, count: k, families: family, capabilities: capabilities, now: now)
            guard !capable.isEmpty else { return nodes }
            let others = nodes.filter { node in !capable.contains { $0.endpoint == node.endpoint } }
            return Array((capable + others).prefix(k))
        }
        body.nodes = preferCapable(body.nodes, family: .ipv4)
        body.nodes6 = preferCapable(body.nodes6, family: .ipv6)
    }

    /// The wire form of `contacts`: id and address, without the table's bookkeeping.
    private static func nodeInfos(_ contacts: [Contact]) -> [NodeInfo] {
        contacts.map { NodeInfo(id: $0.id, endpoint: $0.endpoint) }
    }
}

extension RoutingTable {
    /// Up to `count` contacts known to serve keyed records, nearest `target` first, from among
    /// the `IterativeLookup.routerWidening` x `count` nearest: the same reach a record lookup
    /// walks, and a bounded cost on every get_records answer.
    func recordCapable(near target: NodeID, count: Int, families: AddressFamilies, capabilities: ContactCapabilities,
                       now: Timestamp) -> [NodeInfo] {
        var found: [NodeInfo] = []
        for contact in closest(to: target, count: count * IterativeLookup.routerWidening, families: families)
        where capabilities.recordSupport(of: contact.endpoint, now: now) == .capable {
            found.append(NodeInfo(id: contact.id, endpoint: contact.endpoint))
            if found.count == count { break }
        }
        return found
    }
}
