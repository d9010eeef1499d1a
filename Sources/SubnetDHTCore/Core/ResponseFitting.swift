/// Cuts an answer down to a byte limit, giving up what the requester can best do without:
/// node lists first (they are hints), then the payload it asked for (peers, a BEP 44 item,
/// records), which it can still get by asking again with a padded query. Node lists are
/// given back, nearest first, as far as they fit beside what is left.
enum ResponseFitting {
    /// Returns the encoded answer, at most `limit` bytes unless even `{id}` alone is larger.
    static func fit(_ body: ResponseBody, within limit: Int, encode: (ResponseBody) -> [UInt8]) -> [UInt8] {
        var lean = body
        lean.nodes = nil
        lean.nodes6 = nil
        var bytes = encode(lean)
        while bytes.count > limit, let values = lean.values, !values.isEmpty {
            lean.values = values.count > 1 ? Array(values.prefix(values.count / 2)) : nil
            bytes = encode(lean)
        }
        if bytes.count > limit, lean.value != nil || lean.signature != nil {
            lean.value = nil
            lean.signature = nil
            lean.publicKey = nil
            lean.seq = nil
            bytes = encode(lean)
        }
        if bytes.count > limit, lean.records != nil || lean.compressedRecords != nil {
            lean.records = nil
            lean.compressedRecords = nil
            lean.uncompressedRecordsLength = nil
            lean.more = nil
            bytes = encode(lean)
        }
        for list in [\ResponseBody.nodes, \ResponseBody.nodes6] {
            for node in body[keyPath: list] ?? [] {
                var candidate = lean
                candidate[keyPath: list] = (lean[keyPath: list] ?? []) + [node]
                let encoded = encode(candidate)
                guard encoded.count <= limit else { break }
                (lean, bytes) = (candidate, encoded)
            }
        }
        return bytes
    }
}
