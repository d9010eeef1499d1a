/// A datagram checked once as strict bencode, with where each value lies recorded in a flat
/// list instead of built as a `BValue` tree. A KRPC message reads a handful of fields: building
/// the tree cost a dictionary, an array per key and a byte-by-byte hash per lookup, a fifth of
/// the event loop's time answering find_node. `Bencode.decode` builds its tree from a tape, so
/// the grammar and its errors live in `BencodeParser` alone.
struct BencodeTape {
    enum Kind: UInt8 {
        case integer, bytes, list, dictionary
    }

    /// One value. A container's members follow it in order (a dictionary's as key, value,
    /// key, value), and `next` says where the value and everything inside it end.
    struct Token {
        var kind: Kind
        /// A byte string's payload, `start..<end` in the datagram.
        var start: Int32
        var end: Int32
        /// The index of the first token after this value.
        var next: Int32
        /// An integer's value; a container's member count (a dictionary counts its pairs).
        var number: Int64
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

    /// A byte string's payload without copying it.
    func slice(at index: Int) -> ArraySlice<UInt8> {
        let token = tokens[index]
        return bytes[Int(token.start)..<Int(token.end)]
    }

    /// The members of the list at `index`, as token indexes.
    func listItems(at index: Int) -> [Int] {
        var items = [Int]()
        items.reserveCapacity(Int(tokens[index].number))
        var member = index + 1
        while member < Int(tokens[index].next) {
            items.append(member)
            member = Int(tokens[member].next)
        }
        return items
    }

    /// The value under `name` in the dictionary at `index`. Dictionaries in KRPC hold about
    /// ten keys, so a scan that compares lengths first beats hashing.
    func lookup(_ name: StaticString, inDictionaryAt index: Int) -> Int? {
        let length = name.utf8CodeUnitCount
        let wanted = name.utf8Start
        var key = index + 1
        let end = Int(tokens[index].next)
        while key < end {
            let token = tokens[key]
            if Int(token.end - token.start) == length {
                var same = true
                var offset = 0
                while offset < length {
                    if bytes[Int(token.start) + offset] != wanted[offset] {
                        same = false
                        break
                    }
                    offset += 1
                }
                if same { return key + 1 }
            }
            key = Int(tokens[key + 1].next)
        }
        return nil
    }

    /// The members of the dictionary at `index` as trees, without the key `skipped`.
    func entries(ofDictionaryAt index: Int, skippingKey skipped: [UInt8]? = nil) -> [[UInt8]: BValue] {
        var entries = [[UInt8]: BValue](minimumCapacity: Int(tokens[index].number))
        var key = index + 1
        while key < Int(tokens[index].next) {
            let name = Array(slice(at: key))
            if name != skipped { entries[name] = value(at: key + 1) }
            key = Int(tokens[key + 1].next)
        }
        return entries
    }

    /// The value at `index` as a tree, for the parts of a message that stay generic (a BEP 44
    /// `v`, a record's arguments).
    func value(at index: Int) -> BValue {
        let token = tokens[index]
        switch token.kind {
        case .integer:
            return .int(token.number)
        case .bytes:
            return .bytes(Array(bytes[Int(token.start)..<Int(token.end)]))
        case .list:
            var items = [BValue]()
            items.reserveCapacity(Int(token.number))
            var member = index + 1
            while member < Int(token.next) {
                items.append(value(at: member))
                member = Int(tokens[member].next)
            }
            return .list(items)
        case .dictionary:
            return .dict(entries(ofDictionaryAt: index))
        }
    }
}
