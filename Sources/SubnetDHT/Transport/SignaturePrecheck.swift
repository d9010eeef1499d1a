/// Checks the signatures of store queries on worker threads, ahead of the event loop. An
/// ed25519 verify takes about 50 us, several times the rest of a store's work, and one event
/// loop doing them all left the machine's other cores idle: stores ran at half the bare
/// verify rate. The verdicts go to `SignatureVerdicts`, where the core's own `verify` finds
/// them; the core itself does not change, and still judges everything else in its order.
enum SignaturePrecheck {
    /// Whether `datagram` names a `sig` field, as every signed `announce_record` and `put`
    /// does. One pass over the bytes, cheap beside a decode; a false positive (an answer to a
    /// `get`, a value that holds the bytes) costs one decode on a worker.
    static func mayCarrySignature(_ datagram: [UInt8]) -> Bool {
        datagram.withUnsafeBufferPointer { bytes in
            guard bytes.count >= 5 else { return false }
            for index in 0...(bytes.count - 5) where bytes[index] == UInt8(ascii: "3")
                && bytes[index + 1] == UInt8(ascii: ":") && bytes[index + 2] == UInt8(ascii: "s")
                && bytes[index + 3] == UInt8(ascii: "i") && bytes[index + 4] == UInt8(ascii: "g") {
                return true
            }
            return false
        }
    }

    /// Records libsodium's verdict for every signed store among `datagrams`; runs on a worker.
    /// Anything else, malformed datagrams included, is left for the core to judge.
    static func check(_ datagrams: some Sequence<[UInt8]>, into verdicts: SignatureVerdicts = .shared) {
        for datagram in datagrams {
            guard case .query(let query)? = try? KRPCCodec.decode(datagram).body, let claim = SignatureClaim(query) else {
                continue
            }
            verdicts.record(publicKey: claim.publicKey, signature: claim.signature, message: claim.message, valid: claim.isValid)
        }
    }
}
