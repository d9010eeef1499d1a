import CSodium

/// An ed25519 signing key, kept in seed form because the seed is what identity files store
/// and what every ed25519 library can import. libsodium's 64-byte form (seed || public key)
/// is derived once here so signing does not redo the scalar multiplication.
public struct SigningKey: Sendable, CustomStringConvertible {
    public static let seedLength = 32
    public static let signatureLength = 64

    /// The 32-byte secret seed. Treat as secret: never log it.
    public let seed: [UInt8]
    public let publicKey: PublicKey
    /// libsodium's expanded secret key: seed || public key.
    private let secretKey: [UInt8]

    /// Derives the key pair from a 32-byte seed (deterministic, as RFC 8032 specifies).
    public init(seed: [UInt8]) throws(CryptoError) {
        guard seed.count == SigningKey.seedLength else { throw .invalidSeedLength }
        self.init(validSeed: seed)
    }

    private init(validSeed seed: [UInt8]) {
        Sodium.ensureInitialized()
        var publicBytes = [UInt8](repeating: 0, count: PublicKey.byteCount)
        var secretBytes = [UInt8](repeating: 0, count: SigningKey.seedLength + PublicKey.byteCount)
        // Cannot fail for a 32-byte seed; libsodium always returns 0 here.
        _ = crypto_sign_ed25519_seed_keypair(&publicBytes, &secretBytes, seed)
        self.seed = seed
        self.secretKey = secretBytes
        self.publicKey = PublicKey(validBytes: publicBytes)
    }

    /// A 64-byte detached signature over `message`.
    public func sign(_ message: [UInt8]) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: SigningKey.signatureLength)
        _ = crypto_sign_ed25519_detached(&signature, nil, message, UInt64(message.count), secretKey)
        return signature
    }

    /// Shows only the public half, so that logging a key by accident never leaks the seed.
    public var description: String { "SigningKey(public: \(publicKey.hex))" }
}

/// A 32-byte ed25519 public key: the owner of BEP 44 items and keyed records, and the input
/// of a node's default id. Comparable by bytes because `get_records` pages records in
/// ascending order of `k`.
public struct PublicKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public static let byteCount = 32

    public let bytes: [UInt8]

    /// Accepts exactly 32 bytes. No curve-point check here: verification rejects bad points,
    /// and wire decoding must stay cheap.
    public init?(bytes: some Collection<UInt8>) {
        let array = Array(bytes)
        guard array.count == PublicKey.byteCount else { return nil }
        self.bytes = array
    }

    /// Parses 64 hex digits, the form keys take on the command line and in logs.
    public init?(hex: String) {
        guard let bytes = HexEncoding.decode(hex) else { return nil }
        self.init(bytes: bytes)
    }

    fileprivate init(validBytes: [UInt8]) {
        self.bytes = validBytes
    }

    public var hex: String { HexEncoding.encode(bytes) }
    public var description: String { hex }

    /// True only if `signature` is a valid 64-byte ed25519 signature of `message` by this key.
    /// Signatures come straight off the wire, so any other length is simply false.
    public func verify(signature: some Collection<UInt8>, message: [UInt8]) -> Bool {
        verify(signature: signature, message: message, known: nil)
    }

    /// `verify`, taking `known` instead of checking again when it was reached on exactly
    /// this triple (a worker checked the datagram's signature ahead of the core).
    func verify(signature: some Collection<UInt8>, message: [UInt8], known: SignatureVerdict?) -> Bool {
        let signatureBytes = Array(signature)
        guard signatureBytes.count == SigningKey.signatureLength else { return false }
        if let verdict = known?.answer(publicKey: bytes, signature: signatureBytes, message: message) { return verdict }
        return Self.check(publicKey: bytes, signature: signatureBytes, message: message)
    }

    /// libsodium's verdict itself, never a remembered one: what `SignaturePrecheck` records.
    static func check(publicKey: [UInt8], signature: [UInt8], message: [UInt8]) -> Bool {
        guard signature.count == SigningKey.signatureLength, publicKey.count == byteCount else { return false }
        Sodium.ensureInitialized()
        return crypto_sign_ed25519_verify_detached(signature, message, UInt64(message.count), publicKey) == 0
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(contentsOf: bytes) }

    /// The first 8 bytes as a big-endian number: keys whose prefixes differ order as these
    /// numbers do, so a sorted list of keys can be searched on numbers held inline.
    var orderPrefix: UInt64 { bytes.prefix(8).reduce(0) { $0 << 8 | UInt64($1) } }

    /// Byte order, compared through raw pointers: the generic `lexicographicallyPrecedes`
    /// showed in the profile of every store (a binary search over a key's sorted owners).
    public static func < (lhs: PublicKey, rhs: PublicKey) -> Bool {
        lhs.bytes.withUnsafeBufferPointer { left in
            rhs.bytes.withUnsafeBufferPointer { right in
                for index in 0..<min(left.count, right.count) where left[index] != right[index] {
                    return left[index] < right[index]
                }
                return left.count < right.count
            }
        }
    }
}
