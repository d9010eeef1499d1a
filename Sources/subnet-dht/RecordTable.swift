import SubnetDHT

/// How `records` and `peers` print: a human table by default, one JSON array with `--json`.
enum RecordTable {
    struct Row {
        var record: KeyedRecord
        var peer: Peer?
    }

    static func rows(_ records: [KeyedRecord]) -> [Row] {
        records.map { Row(record: $0, peer: Peer(record: $0)) }
    }

    static func json(_ rows: [Row], now: Timestamp) -> String {
        let items = rows.map { row -> String in
            var fields = [
                "\"owner\":\"\(row.record.owner.hex)\"",
                "\"seq\":\(row.record.seq)",
                "\"exp\":\(row.record.expires)",
                "\"expires_in\":\(max(0, row.record.expires - now.seconds))",
            ]
            if let peer = row.peer {
                fields += [
                    "\"state\":\"\(stateLabel(peer.info.state))\"",
                    "\"role\":\(JSONText.quoted(peer.info.role))",
                    "\"addr\":\"\(peer.info.address)\"",
                    "\"name\":\(peer.info.name.map(JSONText.quoted) ?? "null")",
                    "\"ver\":\(peer.info.version.map(JSONText.quoted) ?? "null")",
                    "\"tput\":\(peer.info.throughput)",
                ]
            } else {
                fields.append("\"value\":\(JSONText.quoted(String(decoding: Bencode.encode(row.record.value), as: UTF8.self)))")
            }
            return "{" + fields.joined(separator: ",") + "}"
        }
        return "[" + items.joined(separator: ",") + "]"
    }

    static func text(_ rows: [Row], now: Timestamp) -> String {
        guard !rows.isEmpty else { return "(no records)" }
        let header = rows.contains { $0.peer != nil }
            ? ["OWNER", "STATE", "ROLE", "NAME", "ADDRESS", "TPUT", "VERSION", "SEQ", "EXPIRES"]
            : ["OWNER", "VALUE", "SEQ", "EXPIRES"]
        let body = rows.map { row -> [String] in
            let owner = String(row.record.owner.hex.prefix(16))
            let expires = "in \(max(0, row.record.expires - now.seconds)) s"
            guard let peer = row.peer, header.count > 4 else {
                return [owner, String(String(decoding: Bencode.encode(row.record.value), as: UTF8.self).prefix(40)), "\(row.record.seq)", expires]
            }
            return [owner, stateLabel(peer.info.state), peer.info.role, peer.info.name ?? "-", "\(peer.info.address)",
                    String(format3(peer.info.throughput)), peer.info.version ?? "-", "\(row.record.seq)", expires]
        }
        let widths = header.indices.map { column in ([header] + body).map { $0[column].count }.max() ?? 0 }
        return ([header] + body).map { cells in
            cells.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingTrailingSpaces()
        }.joined(separator: "\n")
    }

    static func stateLabel(_ state: ServerInfo.State) -> String {
        switch state {
        case .offline: "offline"
        case .joining: "joining"
        case .online: "online"
        }
    }

    /// Throughput is published in thousandths of requests per second.
    private static func format3(_ thousandths: Int64) -> String {
        let whole = thousandths / 1000, fraction = abs(thousandths % 1000)
        return "\(whole).\(String(repeating: "0", count: 3 - String(fraction).count))\(fraction)/s"
    }
}

extension String {
    func padding(toLength length: Int, withPad pad: String, startingAt _: Int) -> String {
        count >= length ? self : self + String(repeating: pad, count: length - count)
    }

    func trimmingTrailingSpaces() -> String {
        var copy = self
        while copy.hasSuffix(" ") { copy.removeLast() }
        return copy
    }
}
