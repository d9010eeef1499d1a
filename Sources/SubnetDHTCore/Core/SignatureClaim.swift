/// The signature a store query asks a node to check: who signed, the signature, and the exact
/// bytes it must cover, built the way the core builds them when it judges the query
/// (`KeyedRecord.signedBuffer`, `BEP44.signedBuffer`). What the shell checks ahead of the core
/// (`SignaturePrecheck`) must be the very triple the core will ask about, or the verdict is
/// never used.
struct SignatureClaim: Sendable {
    let publicKey: [UInt8]
    let signature: [UInt8]
    let message: [UInt8]

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

    init(publicKey: [UInt8], signature: [UInt8], message: [UInt8]) {
        self.publicKey = publicKey
        self.signature = signature
        self.message = message
    }

    /// libsodium's verdict on the claim.
    var isValid: Bool { PublicKey.check(publicKey: publicKey, signature: signature, message: message) }
}

/// libsodium's verdict on one signature, reached before the core took the datagram that
/// carries it (`SignaturePrecheck`, on a worker thread). It travels with the datagram
/// (`PrecheckedDatagram`) and answers only for its exact (public key, signature, message)
/// triple, so a verdict can never vouch for anything but the bytes it was reached on.
public struct SignatureVerdict: Sendable {
    let claim: SignatureClaim
    let valid: Bool

    /// Checks `claim` now: the work a worker thread does for the event loop.
    init(checking claim: SignatureClaim) {
        self.claim = claim
        valid = claim.isValid
    }

    init(claim: SignatureClaim, valid: Bool) {
        self.claim = claim
        self.valid = valid
    }

    /// The verdict when it was reached on exactly these bytes; nil otherwise.
    func answer(publicKey: [UInt8], signature: [UInt8], message: [UInt8]) -> Bool? {
        claim.signature == signature && claim.publicKey == publicKey && claim.message == message ? valid : nil
    }
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
