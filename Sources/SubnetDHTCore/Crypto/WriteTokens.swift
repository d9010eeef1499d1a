import CSodium

/// Write tokens (BEP 5 `announce_peer`, BEP 44 `put`, our `announce_record`): a node only
/// accepts a write from an address that recently asked it for the target, which stops
/// spoofed-source writes. Tokens are a keyed hash of (IP, target), so nothing per requester
/// is stored; the key rotates and the previous one stays valid, giving each token a
/// lifetime between one and two rotation intervals.
public struct WriteTokens: Sendable {
    public static let tokenLength = 8
    /// `crypto_shorthash_KEYBYTES`.
    private static let secretLength = 16

    private let intervalMilliseconds: Int64
    private var current: [UInt8]
    private var previous: [UInt8]
    /// Start of the current secret's interval. Advanced in whole intervals so lazy rotation
    /// keeps the same schedule as a timer would, whatever the traffic pattern.
    private var epochStart: Timestamp
    /// Where secrets come from: the core's seed, and how many secrets it has given.
    private let seed: CoreSeed
    private var secretsDrawn: UInt64 = 0

    public init(rotationInterval: Duration = .seconds(300), seed: CoreSeed, now: Timestamp) {
        precondition(rotationInterval.millisecondsValue > 0, "rotation interval must be positive")
        precondition(crypto_shorthash_bytes() == Self.tokenLength && crypto_shorthash_keybytes() == Self.secretLength,
                     "libsodium's SipHash sizes are the token's and the secret's")
        intervalMilliseconds = rotationInterval.millisecondsValue
        self.seed = seed
        current = []
        previous = []
        epochStart = now
        current = freshSecret()
        // No real previous secret yet: a random one that no issued token can match.
        previous = freshSecret()
    }

    /// The token `ip` must present to write to `target`.
    public mutating func token(for ip: IPAddress, target: NodeID, now: Timestamp) -> [UInt8] {
        rotateIfNeeded(now: now)
        return WriteTokens.token(secret: current, ip: ip, target: target)
    }

    /// Accepts tokens made with the current or the previous secret for this exact ip and target.
    public mutating func isValid(_ token: some Collection<UInt8>, for ip: IPAddress, target: NodeID, now: Timestamp) -> Bool {
        let presented = Array(token)
        guard presented.count == WriteTokens.tokenLength else { return false }
        rotateIfNeeded(now: now)
        return constantTimeEqual(presented, WriteTokens.token(secret: current, ip: ip, target: target))
            || constantTimeEqual(presented, WriteTokens.token(secret: previous, ip: ip, target: target))
    }

    private mutating func rotateIfNeeded(now: Timestamp) {
        let elapsed = now.milliseconds - epochStart.milliseconds
        guard elapsed >= intervalMilliseconds else { return }
        let intervals = elapsed / intervalMilliseconds
        if intervals == 1 {
            previous = current
        } else {
            // Two or more intervals idle: tokens of the last secret are too old as well.
            previous = freshSecret()
        }
        current = freshSecret()
        epochStart = Timestamp(milliseconds: epochStart.milliseconds + intervals * intervalMilliseconds)
    }

    /// SipHash-2-4 (libsodium's `crypto_shorthash`) of the address and target under the
    /// secret: a keyed function made for short inputs, whose 8 bytes are the token. Tokens are
    /// opaque to every other node, so how they are made is this node's choice, and every
    /// answer that carries a token pays for it: SipHash costs a fraction of SHA-1.
    private static func token(secret: [UInt8], ip: IPAddress, target: NodeID) -> [UInt8] {
        Sodium.ensureInitialized()
        var input = [UInt8]()
        input.reserveCapacity(16 + NodeID.byteCount)
        ip.append(to: &input)
        target.append(to: &input)
        return [UInt8](unsafeUninitializedCapacity: tokenLength) { token, initialized in
            _ = crypto_shorthash(token.baseAddress!, input, UInt64(input.count), secret)
            initialized = tokenLength
        }
    }

    private mutating func freshSecret() -> [UInt8] {
        defer { secretsDrawn += 1 }
        return seed.secret(counter: secretsDrawn, length: Self.secretLength)
    }

    /// Comparison time independent of where the bytes differ, so timing does not reveal
    /// how much of a guessed token was right.
    private func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }
}
