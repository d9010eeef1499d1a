extension SignatureClaim {
    /// The claim of an `announce_record`, or of a signed BEP 44 `put`; nil for any other query,
    /// and for a store the core refuses before its signature step (no key, a bad field).
    init?(_ query: Query) {
        switch query.method {
        case .announceRecord(let arguments):
            guard let key = arguments[Self.keyField]?.bytesValue,
                let record = try? KeyedRecord(wire: .dict(arguments), key: key)
            else { return nil }
            self.init(publicKey: record.owner.bytes, signature: record.signature, message: record.signedBuffer)
        case .put(let arguments):
            guard let publicKey = arguments.publicKey, let signature = arguments.signature,
                let seq = arguments.seq, seq >= 0
            else { return nil }
            let buffer = BEP44.signedBuffer(salt: arguments.salt, seq: seq, encodedValue: Bencode.encode(arguments.value))
            self.init(publicKey: publicKey, signature: signature, message: buffer)
        default:
            return nil
        }
    }

    /// `announce_record`'s `key` argument, the name the record is stored under.
    private static let keyField = Array("key".utf8)
}

/// What the shell learned of a datagram before handing it to the core: its decoding and, for
/// a signed store, the verdict on its signature. Both are pure functions of the bytes, so the
/// core judges the datagram exactly as if it had worked them out itself.
public struct PrecheckedDatagram: Sendable {
    public let decoded: Result<KRPCMessage, KRPCDecodingError>
    public let signature: SignatureVerdict?

    /// Decodes `datagram` and, when it is a signed store, checks its signature.
    public init(checking datagram: [UInt8]) {
        decoded = Result { () throws(KRPCDecodingError) in try KRPCCodec.decode(datagram) }
        if case .success(let message) = decoded, case .query(let query) = message.body, let claim = SignatureClaim(query) {
            signature = SignatureVerdict(checking: claim)
        } else {
            signature = nil
        }
    }

    init(decoded: Result<KRPCMessage, KRPCDecodingError>, signature: SignatureVerdict?) {
        self.decoded = decoded
        self.signature = signature
    }
}
