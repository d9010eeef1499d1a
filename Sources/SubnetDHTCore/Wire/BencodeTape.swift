/// A datagram checked once as strict bencode, with where each value lies recorded in a flat
/// list instead of built as a `BValue` tree. A KRPC message reads a handful of fields: building
/// the tree cost a dictionary, an array per key and a byte-by-byte hash per lookup, a fifth of
/// the event loop's time answering find_node. `Bencode.decode` builds its tree from a tape, so
/// the grammar and its errors live in `BencodeParser` alone.
struct BencodeTape {
    enum Kind: UInt8 {
        case integer, bytes, list, dictionary
    }

    /// One value, in 24 bytes. A container's members follow it in order (a dictionary's as
    /// key, value, key, value). Positions are plain `Int`s: the tape also reads snapshots,
    /// which may be larger than a 32-bit offset can address.
    struct Token {
        let kind: Kind
        /// A byte string's payload start; an integer's value; a container's end (the index of
        /// the first token after it and everything inside it).
        fileprivate(set) var first: Int
        /// A byte string's payload end; a container's member count (a dictionary counts pairs).
        fileprivate(set) var second: Int

        static func integer(_ value: Int64) -> Token { Token(kind: .integer, first: Int(value), second: 0) }
        static func bytes(_ payload: Range<Int>) -> Token { Token(kind: .bytes, first: payload.lowerBound, second: payload.upperBound) }
        /// A list or dictionary whose members are still to come; `close` records where it ends.
        static func opening(_ kind: Kind) -> Token { Token(kind: kind, first: 0, second: 0) }

        mutating func close(end: Int, count: Int) {
            first = end
            second = count
        }
    }

    let bytes: [UInt8]
    private(set) var tokens: [Token]

    init(parsing bytes: [UInt8], maxDepth: Int = Bencode.maxDepth) throws(BencodeError) {
        var parser = BencodeParser(bytes: bytes, maxDepth: maxDepth)
        var tokens = [Token]()
        // A find_node query is 13 tokens, a response with 8 nodes 13 as well.
        tokens.reserveCapacity(32)
        try parser.parseValue(depth: 0, into: &tokens)
        guard parser.position == bytes.count else { throw .trailingBytes(at: parser.position) }
        self.bytes = bytes
        self.tokens = tokens
    }

    /// The root value, index 0.
    var root: Token { tokens[0] }

    func kind(at index: Int) -> Kind { tokens[index].kind }

    /// The index of the first token after the value at `index` and everything inside it.
    func end(of index: Int) -> Int {
        switch tokens[index].kind {
        case .integer, .bytes: index + 1
        case .list, .dictionary: tokens[index].first
        }
    }

    /// An integer's value.
    func integer(at index: Int) -> Int64 { Int64(tokens[index].first) }

    /// A byte string's payload without copying it.
    func slice(at index: Int) -> ArraySlice<UInt8> {
        let token = tokens[index]
        return bytes[token.first..<token.second]
    }

    /// The members of the list at `index`, as token indexes.
    func listItems(at index: Int) -> [Int] {
        var items = [Int]()
        items.reserveCapacity(tokens[index].second)
        var member = index + 1
        while member < end(of: index) {
            items.append(member)
            member = end(of: member)
        }
        return items
    }

    /// The value under `name` in the dictionary at `index`. Dictionaries in KRPC hold about
    /// ten keys, so a scan that compares lengths first beats hashing.
    func lookup(_ name: StaticString, inDictionaryAt index: Int) -> Int? {
        let length = name.utf8CodeUnitCount
        let wanted = name.utf8Start
        var key = index + 1
        let last = end(of: index)
        while key < last {
            let token = tokens[key]
            if token.second - token.first == length {
                var same = true
                var offset = 0
                while offset < length {
                    if bytes[token.first + offset] != wanted[offset] {
                        same = false
                        break
                    }
                    offset += 1
                }
                if same { return key + 1 }
            }
            key = end(of: key + 1)
        }
        return nil
    }

    /// The members of the dictionary at `index` as trees, without the key `skipped`.
    func entries(ofDictionaryAt index: Int, skippingKey skipped: [UInt8]? = nil) -> [[UInt8]: BValue] {
        var entries = [[UInt8]: BValue](minimumCapacity: tokens[index].second)
        var key = index + 1
        while key < end(of: index) {
            let name = Array(slice(at: key))
            if name != skipped { entries[name] = value(at: key + 1) }
            key = end(of: key + 1)
        }
        return entries
    }

    /// The value at `index` as a tree, for the parts of a message that stay generic (a BEP 44
    /// `v`, a record's arguments).
    func value(at index: Int) -> BValue {
        switch tokens[index].kind {
        case .integer:
            return .int(integer(at: index))
        case .bytes:
            return .bytes(Array(slice(at: index)))
        case .list:
            var items = [BValue]()
            items.reserveCapacity(tokens[index].second)
            var member = index + 1
            while member < end(of: index) {
                items.append(value(at: member))
                member = end(of: member)
            }
            return .list(items)
        case .dictionary:
            return .dict(entries(ofDictionaryAt: index))
        }
    }
}
