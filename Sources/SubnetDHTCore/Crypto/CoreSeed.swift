import CSodium

/// Where all of a core's randomness comes from: 32 bytes its shell gives it. The core reads no
/// system randomness, so a run given the same seed (and the same datagrams at the same times)
/// replays exactly. Streams derived from it are independent of one another: the secret one
/// (write-token secrets) is a keyed BLAKE2b of the seed, so it stays unpredictable as long as
/// the seed does; the general one (transaction ids, refresh targets, peer subsets) seeds a
/// fast SplitMix64, which needs to be unguessable only in the sense that the seed is.
public struct CoreSeed: Sendable {
    public static let byteCount = 32
    let bytes: [UInt8]
    /// The general stream's seed.
    let generalSeed: UInt64

    /// A seed of 32 bytes; nil for any other length. The shell draws it from the system's
    /// CSPRNG (`CoreSeed.system()`).
    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = bytes
        generalSeed = Self.derive("general", counter: 0, length: 16, key: bytes).withUnsafeBytes {
            UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))
        }
    }

    /// A seed of 64 bits, for tests and simulations that want a replayable run: the general
    /// stream starts from `seed` itself, so a run seeded so replays as it did before seeds
    /// were bytes. Its token secrets are as guessable as the number: never for a node on a
    /// network.
    public init(replayable seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        bytes = (0..<Self.byteCount / 8).flatMap { _ in withUnsafeBytes(of: generator.next().littleEndian, Array.init) }
        generalSeed = seed
    }

    /// The secret stream: `length` bytes for use number `counter`, keyed by the seed.
    func secret(counter: UInt64, length: Int) -> [UInt8] {
        Self.derive("secret", counter: counter, length: length, key: bytes)
    }

    /// The epoch of this node's record feeds (docs/PROTOCOL.md 3.2): a fresh seed, a fresh
    /// epoch, so readers' cursors from before a restart are never taken for current ones.
    var recordFeedEpoch: UInt64 {
        Self.derive("feed", counter: 0, length: 16, key: bytes).prefix(8).bigEndianInteger()
    }

    /// BLAKE2b of (label, counter) keyed by `key` (the seed), `length` bytes (16 to 64).
    private static func derive(_ label: StaticString, counter: UInt64, length: Int, key: [UInt8]) -> [UInt8] {
        precondition((Int(crypto_generichash_BYTES_MIN)...Int(crypto_generichash_BYTES_MAX)).contains(length),
                     "BLAKE2b gives 16 to 64 bytes")
        Sodium.ensureInitialized()
        var input = [UInt8]()
        label.withUTF8Buffer { input.append(contentsOf: $0) }
        withUnsafeBytes(of: counter.littleEndian) { input.append(contentsOf: $0) }
        var output = [UInt8](repeating: 0, count: length)
        _ = crypto_generichash(&output, length, input, UInt64(input.count), key, key.count)
        return output
    }
}
