/// The signature a store query asks a node to check: who signed, the signature, and the exact
/// bytes it must cover, built the way the core builds them when it judges the query
/// (`KeyedRecord.signedBuffer`, `BEP44.signedBuffer`; the query's own claim is read in
/// `PrecheckedDatagram.swift`). What the shell checks ahead of the core (`SignaturePrecheck`)
/// must be the very triple the core will ask about, or the verdict is never used.
struct SignatureClaim: Sendable {
    let publicKey: [UInt8]
    let signature: [UInt8]
    let message: [UInt8]

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
