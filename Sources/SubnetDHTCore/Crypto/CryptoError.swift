/// Failures of the crypto and identity layer. Typed (`throws(CryptoError)`) so callers such as
/// the CLI can turn each case into an operator-facing message without string matching.
public enum CryptoError: Error, Equatable, CustomStringConvertible {
    /// An ed25519 seed must be exactly 32 bytes; anything else is a caller or file bug.
    case invalidSeedLength
    /// The identity file exists but cannot be trusted: corrupt content or unsafe permissions.
    /// The message names the path and what to do about it.
    case invalidKeyFile(String)
    /// `create(overwrite: false)` found a file already there; the path is attached.
    case fileExists(String)
    /// An operating-system call failed while reading or writing the identity file.
    case fileSystem(String)

    public var description: String {
        switch self {
        case .invalidSeedLength: return "ed25519 seed must be exactly 32 bytes"
        case .invalidKeyFile(let message): return message
        case .fileExists(let path): return "identity file \(path) already exists; refusing to overwrite it"
        case .fileSystem(let message): return message
        }
    }
}
