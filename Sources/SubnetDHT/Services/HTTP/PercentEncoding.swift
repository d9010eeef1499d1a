import SubnetDHTCore

/// RFC 3986 percent-encoding of a path segment, both ways (`+` stays `+`: that rule is for forms).
enum PercentEncoding {
    struct BadKey: Error {
        let message: String
    }

    /// The record key a path segment names (`/records/KEY.json`, `/records/KEY`): percent-decoded,
    /// 1 to 64 bytes of UTF-8; else why not, as a 400 says it.
    static func recordKey(_ segment: Substring) -> Result<String, BadKey> {
        guard let bytes = decode(segment) else { return .failure(BadKey(message: "bad key: % must be followed by two hex digits")) }
        guard (1...KeyedRecord.maxKeyLength).contains(bytes.count) else {
            return .failure(BadKey(message: "bad key: a key is 1 to \(KeyedRecord.maxKeyLength) bytes, this one is \(bytes.count)"))
        }
        let key = String(decoding: bytes, as: UTF8.self)
        guard Array(key.utf8) == bytes else { return .failure(BadKey(message: "bad key: not UTF-8")) }
        return .success(key)
    }

    /// The bytes `text` stands for, or nil when a `%` is not followed by two hex digits.
    static func decode(_ text: Substring) -> [UInt8]? {
        var bytes: [UInt8] = []
        var input = Array(text.utf8)[...]
        while let byte = input.popFirst() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard input.count >= 2, let high = hexValue(input.removeFirst()), let low = hexValue(input.removeFirst()) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    /// `text` with every byte but the unreserved ones (letters, digits, `-._~`) as `%XX`.
    static func encode(_ text: String) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
