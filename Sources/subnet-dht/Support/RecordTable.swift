import SubnetDHT

/// How `records` and `peers` print: a human table by default, one JSON array with `--json`
/// (`RecordListJSON`, the same as the node's `/records/KEY.json` and `/peers.json`).
enum RecordTable {
    static func json(_ rows: [RecordRow], now: Timestamp) -> String {
        RecordListJSON.render(rows, now: now)
    }

    static func text(_ rows: [RecordRow], now: Timestamp) -> String {
        guard !rows.isEmpty else { return "(no records)" }
        // The subnet's own fields get a column only when some peer publishes them.
        let showsInfo = rows.contains { !($0.info?.info.isEmpty ?? true) }
        let header = rows.contains { $0.info != nil }
            ? ["OWNER", "STATE", "ROLE", "NAME", "ADDRESS", "TPUT", "VERSION"] + (showsInfo ? ["INFO"] : []) + ["SEQ", "EXPIRES"]
            : ["OWNER", "VALUE", "SEQ", "EXPIRES"]
        let heartbeats = header.count > 4
        let body = rows.map { row -> [String] in
            let owner = String(row.owner.hex.prefix(16))
            let expires = "in \(row.expiresIn(now: now)) s"
            switch row.content {
            case .peer(let info):
                return [owner, info.state.label, info.role, info.name ?? "-", "\(info.address)",
                        RecordRow.throughputText(of: info), info.version ?? "-"]
                    + (showsInfo ? [Self.compact(info.info)] : []) + ["\(row.seq)", expires]
            case .value(let value):
                let text = String(String(decoding: Bencode.encode(value), as: UTF8.self).prefix(40))
                // Among heartbeats (an open key holding both), the value goes in the NAME column,
                // so every line has the header's columns.
                return heartbeats
                    ? [owner, "-", "-", text, "-", "-", "-"] + (showsInfo ? ["-"] : []) + ["\(row.seq)", expires]
                    : [owner, text, "\(row.seq)", expires]
            }
        }
        let widths = header.indices.map { column in ([header] + body).map { $0[column].count }.max() ?? 0 }
        return ([header] + body).map { cells in
            cells.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingTrailingSpaces()
        }.joined(separator: "\n")
    }
}

extension RecordTable {
    /// The INFO column: `key=value` pairs in key order, the values as JSON, cut at 40 characters.
    static func compact(_ info: [String: JSONValue]) -> String {
        guard !info.isEmpty else { return "-" }
        let text = info.keys.sorted().map { key in
            let value = info[key] ?? .null
            if case .string(let string) = value, !string.contains(" ") { return "\(key)=\(string)" }
            return "\(key)=\(value.jsonText)"
        }.joined(separator: " ")
        return text.count > 40 ? String(text.prefix(39)) + "…" : text
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
