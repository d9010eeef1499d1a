/// A bencoded value (BEP 3). Byte strings stay bytes: KRPC carries binary ids, tokens and
/// signatures, so nothing is decoded as text unless a caller asks for it.
public enum BValue: Hashable, Sendable {
    case int(Int64)
    case bytes([UInt8])
    case list([BValue])
    /// Keys are byte strings; the encoder writes them in sorted order as bencode requires.
    case dict([[UInt8]: BValue])

    public static func string(_ text: String) -> BValue { .bytes(Array(text.utf8)) }

    public var intValue: Int64? { if case .int(let v) = self { v } else { nil } }
    public var bytesValue: [UInt8]? { if case .bytes(let v) = self { v } else { nil } }
    public var listValue: [BValue]? { if case .list(let v) = self { v } else { nil } }
    public var dictValue: [[UInt8]: BValue]? { if case .dict(let v) = self { v } else { nil } }
    /// The byte string as UTF-8 text, or nil when it is not a string or not valid UTF-8.
    public var stringValue: String? { bytesValue.flatMap { String(validating: $0, as: UTF8.self) } }

    public subscript(key: String) -> BValue? {
        if case .dict(let entries) = self { return entries[Array(key.utf8)] }
        return nil
    }
}

/// Why a byte string is not strict bencode. Every decoding failure is one of these values.
public enum BencodeError: Error, Hashable, Sendable {
    case truncated
    case unexpectedByte(UInt8, at: Int)
    case invalidInteger(at: Int)
    case invalidLength(at: Int)
    case unsortedOrDuplicateKey(at: Int)
    case nestingTooDeep
    case trailingBytes(at: Int)
    case nonStringKey(at: Int)
}

/// Strict bencode: canonical form only (sorted unique keys, no leading zeros, no `-0`),
/// bounded nesting, no trailing bytes. Because only the canonical form is accepted,
/// re-encoding a decoded value reproduces the original bytes exactly, which BEP 44
/// signatures over `v` rely on.
public enum Bencode {
    /// docs/PROTOCOL.md 1: nesting depth at most 32.
    public static let maxDepth = 32

    public static func decode(_ bytes: [UInt8], maxDepth: Int = Bencode.maxDepth) throws(BencodeError) -> BValue {
        try BencodeTape(parsing: bytes, maxDepth: maxDepth).value(at: 0)
    }

    public static func encode(_ value: BValue) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(128)
        encode(value, into: &out)
        return out
    }

    public static func encode(_ value: BValue, into out: inout [UInt8]) {
        switch value {
        case .int(let number):
            out.append(UInt8(ascii: "i"))
            appendDecimal(number, to: &out)
            out.append(UInt8(ascii: "e"))
        case .bytes(let bytes):
            appendDecimal(Int64(bytes.count), to: &out)
            out.append(UInt8(ascii: ":"))
            out.append(contentsOf: bytes)
        case .list(let items):
            out.append(UInt8(ascii: "l"))
            for item in items { encode(item, into: &out) }
            out.append(UInt8(ascii: "e"))
        case .dict(let entries):
            out.append(UInt8(ascii: "d"))
            // Sorted as pairs: sorting the keys and looking each value up again hashed every
            // key a second time.
            for (key, item) in entries.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                appendDecimal(Int64(key.count), to: &out)
                out.append(UInt8(ascii: ":"))
                out.append(contentsOf: key)
                encode(item, into: &out)
            }
            out.append(UInt8(ascii: "e"))
        }
    }

    /// The length of `encode(value)`, without building it (the record validator's size rule).
    public static func encodedSize(_ value: BValue) -> Int {
        switch value {
        case .int(let number): 2 + decimalLength(number)
        case .bytes(let bytes): decimalLength(Int64(bytes.count)) + 1 + bytes.count
        case .list(let items): items.reduce(2) { $0 + encodedSize($1) }
        case .dict(let entries):
            entries.reduce(2) { $0 + decimalLength(Int64($1.key.count)) + 1 + $1.key.count + encodedSize($1.value) }
        }
    }

    /// Digits written straight into `out`: going through `String(number)` cost a string per
    /// integer and per length prefix of every message encoded.
    static func appendDecimal(_ number: Int64, to out: inout [UInt8]) {
        if number < 0 { out.append(UInt8(ascii: "-")) }
        // The magnitude as UInt64, so Int64.min has one too.
        var magnitude = number.magnitude
        if magnitude < 10 {
            out.append(UInt8(ascii: "0") + UInt8(magnitude))
            return
        }
        // Digits from the last into a 20-byte stack buffer (UInt64.max has 20), then appended
        // in one go, rather than a byte at a time and the tail reversed: every answer writes
        // several numbers.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var first = digits.count
            repeat {
                first -= 1
                digits[first] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            out.append(contentsOf: UnsafeBufferPointer(rebasing: digits[first...]))
        }
    }

    static func decimalLength(_ number: Int64) -> Int {
        var magnitude = number.magnitude
        var digits = 1
        while magnitude >= 10 {
            magnitude /= 10
            digits += 1
        }
        return digits + (number < 0 ? 1 : 0)
    }
}

/// A cursor over a datagram. Lengths are checked against what remains before anything is
/// allocated, so a hostile length prefix cannot make the decoder allocate more than the input.
struct BencodeParser {
    let bytes: [UInt8]
    let maxDepth: Int
    var position = 0

    init(bytes: [UInt8], maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    /// Appends the value at `position` and everything inside it to `tokens`.
    mutating func parseValue(depth: Int, into tokens: inout [BencodeTape.Token]) throws(BencodeError) {
        guard position < bytes.count else { throw .truncated }
        let byte = bytes[position]
        switch byte {
        case UInt8(ascii: "i"):
            position += 1
            let number = try parseInteger(terminator: UInt8(ascii: "e"))
            tokens.append(.integer(number))
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            tokens.append(.bytes(try byteStringRange()))
        case UInt8(ascii: "l"):
            guard depth < maxDepth else { throw .nestingTooDeep }
            position += 1
            let container = tokens.count
            tokens.append(.opening(.list))
            var count = 0
            while true {
                guard position < bytes.count else { throw .truncated }
                if bytes[position] == UInt8(ascii: "e") { position += 1; break }
                try parseValue(depth: depth + 1, into: &tokens)
                count += 1
            }
            tokens[container].close(end: tokens.count, count: count)
        case UInt8(ascii: "d"):
            guard depth < maxDepth else { throw .nestingTooDeep }
            position += 1
            let container = tokens.count
            tokens.append(.opening(.dictionary))
            var count = 0
            var previousKey: Range<Int>?
            while true {
                guard position < bytes.count else { throw .truncated }
                if bytes[position] == UInt8(ascii: "e") { position += 1; break }
                let keyStart = position
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) else {
                    throw .nonStringKey(at: position)
                }
                let key = try byteStringRange()
                if let previousKey, !bytes[previousKey].lexicographicallyPrecedes(bytes[key]) {
                    throw .unsortedOrDuplicateKey(at: keyStart)
                }
                previousKey = key
                tokens.append(.bytes(key))
                try parseValue(depth: depth + 1, into: &tokens)
                count += 1
            }
            tokens[container].close(end: tokens.count, count: count)
        default:
            throw .unexpectedByte(byte, at: position)
        }
    }

    /// A byte string's payload as a copy (the salvage paths read one field this way).
    mutating func parseByteString() throws(BencodeError) -> [UInt8] {
        Array(bytes[try byteStringRange()])
    }

    /// `<digits>:<bytes>`; the length must be canonical and fit in what remains.
    mutating func byteStringRange() throws(BencodeError) -> Range<Int> {
        let start = position
        var length = 0
        var digits = 0
        while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
            // Nine digits already exceed any datagram, so stop before overflow.
            guard digits < 9 else { throw .invalidLength(at: start) }
            length = length * 10 + Int(bytes[position] - UInt8(ascii: "0"))
            digits += 1
            position += 1
        }
        guard position < bytes.count else { throw .truncated }
        guard bytes[position] == UInt8(ascii: ":") else { throw .unexpectedByte(bytes[position], at: position) }
        guard digits == 1 || bytes[start] != UInt8(ascii: "0") else { throw .invalidLength(at: start) }
        position += 1
        guard length <= bytes.count - position else { throw .truncated }
        let payload = position..<(position + length)
        position += length
        return payload
    }

    /// Digits up to `terminator`: optional `-`, no leading zeros, no `-0`, fits in Int64.
    mutating func parseInteger(terminator: UInt8) throws(BencodeError) -> Int64 {
        let start = position
        var negative = false
        if position < bytes.count, bytes[position] == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        let digitsStart = position
        var magnitude: UInt64 = 0
        while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
            let digit = UInt64(bytes[position] - UInt8(ascii: "0"))
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { throw .invalidInteger(at: start) }
            magnitude = sum
            position += 1
        }
        guard position < bytes.count else { throw .truncated }
        guard bytes[position] == terminator else { throw .invalidInteger(at: start) }
        let digitCount = position - digitsStart
        guard digitCount > 0 else { throw .invalidInteger(at: start) }
        guard digitCount == 1 || bytes[digitsStart] != UInt8(ascii: "0") else { throw .invalidInteger(at: start) }
        guard !(negative && magnitude == 0) else { throw .invalidInteger(at: start) }
        position += 1
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { throw .invalidInteger(at: start) }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { throw .invalidInteger(at: start) }
        return Int64(magnitude)
    }
}
