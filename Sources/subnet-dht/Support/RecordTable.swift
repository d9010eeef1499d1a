import SubnetDHT

/// How `records` and `peers` print: a human table by default, one JSON array with `--json`
/// (`RecordListJSON`, the same as the node's `/records/KEY.json` and `/peers.json`).
enum RecordTable {
    static func json(_ rows: [RecordRow], now: Timestamp) -> String {
        RecordListJSON.render(rows, now: now)
    }

    static func text(_ rows: [RecordRow], now: Timestamp) -> String {
        guard !rows.isEmpty else { return "(no records)" }
        let header = rows.contains { $0.info != nil }
            ? ["OWNER", "STATE", "ROLE", "NAME", "ADDRESS", "TPUT", "VERSION", "SEQ", "EXPIRES"]
            : ["OWNER", "VALUE", "SEQ", "EXPIRES"]
        let heartbeats = header.count > 4
        let body = rows.map { row -> [String] in
            let owner = String(row.owner.hex.prefix(16))
            let expires = "in \(row.expiresIn(now: now)) s"
            switch row.content {
            case .peer(let info):
                return [owner, info.state.label, info.role, info.name ?? "-", "\(info.address)",
                        RecordRow.throughputText(info.throughput), info.version ?? "-", "\(row.seq)", expires]
            case .value(let value):
                let text = String(String(decoding: Bencode.encode(value), as: UTF8.self).prefix(40))
                // Among heartbeats (an open key holding both), the value goes in the NAME column,
                // so every line has the header's columns.
                return heartbeats ? [owner, "-", "-", text, "-", "-", "-", "\(row.seq)", expires] : [owner, text, "\(row.seq)", expires]
            }
        }
        let widths = header.indices.map { column in ([header] + body).map { $0[column].count }.max() ?? 0 }
        return ([header] + body).map { cells in
            cells.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingTrailingSpaces()
        }.joined(separator: "\n")
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
