import CSodium
import SubnetDHTCore

// Everything that draws on the system's randomness, kept out of the core: the core takes its
// randomness from the seed its shell gives it (`CoreSeed`), so a run can be replayed. These
// are the shell's ways to make that seed, and the conveniences for ids and keys built on the
// system's CSPRNG.

extension CoreSeed {
    /// 32 bytes from the system's CSPRNG (libsodium's `randombytes`): the seed of every node
    /// on a network.
    public static func system() -> CoreSeed {
        CoreSeed(bytes: systemRandomBytes(CoreSeed.byteCount))!
    }
}

extension DHTCore {
    /// A core seeded from `seed` when given (a replayable run, `CoreSeed(replayable:)`), else
    /// from the system's CSPRNG.
    public init(localID: NodeID, settings: DHTSettings = DHTSettings(), seed: UInt64? = nil, now: Timestamp) {
        self.init(localID: localID, settings: settings, seed: seed.map(CoreSeed.init(replayable:)) ?? .system(), now: now)
    }
}

extension WriteTokens {
    /// Tokens whose secrets come from the system's CSPRNG.
    public init(rotationInterval: Duration = .seconds(300), now: Timestamp) {
        self.init(rotationInterval: rotationInterval, seed: .system(), now: now)
    }
}

extension SigningKey {
    /// A fresh key from libsodium's CSPRNG.
    public static func generate() -> SigningKey {
        // A 32-byte seed is always a valid ed25519 seed.
        try! SigningKey(seed: systemRandomBytes(SigningKey.seedLength))
    }
}

extension NodeID {
    /// A uniformly random id from the system's generator.
    public static func random() -> NodeID {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }
}

extension SecureNodeID {
    /// An id valid for `ip`, with `r` and the free bits drawn from the system's CSPRNG.
    public static func make(for ip: IPAddress) -> NodeID {
        var generator = SystemRandomNumberGenerator()
        let r = UInt8.random(in: .min ... .max, using: &generator)
        return make(for: ip, r: r, random: &generator)
    }
}

extension PeerStore {
    /// `peers(for:family:limit:now:excludingSeeds:using:)` with the system's generator.
    public func peers(for infoHash: NodeID, family v4: Bool, limit: Int, now: Timestamp, excludingSeeds: Bool = false) -> [Endpoint] {
        var generator = SystemRandomNumberGenerator()
        return peers(for: infoHash, family: v4, limit: limit, now: now, excludingSeeds: excludingSeeds, using: &generator)
    }
}

private func systemRandomBytes(_ count: Int) -> [UInt8] {
    Sodium.ensureInitialized()
    var bytes = [UInt8](repeating: 0, count: count)
    randombytes_buf(&bytes, count)
    return bytes
}
