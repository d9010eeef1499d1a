import SubnetDHTCore
/// Text put into the status page's HTML: names, roles and versions come from other peers'
/// signed records, so every one is escaped before it reaches a browser.
enum HTMLText {
    /// `text` safe in element content and in double-quoted attribute values.
    static func escaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// `12.3 s`, `45 s`, `12 min`, `3 h`: a duration as the page shows ages and expiries,
    /// precise when short, coarse when long.
    static func duration(_ duration: Duration) -> String {
        let milliseconds = max(0, duration.millisecondsValue)
        switch milliseconds {
        case ..<10_000: return "\(milliseconds / 1000).\(milliseconds % 1000 / 100) s"
        case ..<120_000: return "\(milliseconds / 1000) s"
        case ..<7_200_000: return "\(milliseconds / 60_000) min"
        default: return "\(milliseconds / 3_600_000) h"
        }
    }
}
