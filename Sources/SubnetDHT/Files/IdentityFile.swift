import SubnetDHTCore

/// The node's long-term ed25519 identity on disk. Its public key is the node's heartbeat
/// owner and, by default, its DHT id, so losing or leaking it matters: the file is text
/// (the 32-byte seed as 64 lowercase hex digits and a newline) so operators can back it up,
/// it is written atomically with mode 0600, and loading refuses anything corrupt or
/// readable by other users rather than silently running with a new or exposed identity.
public enum IdentityFile {
    /// Largest file worth reading: a valid one is 65 bytes, anything much bigger is not ours.
    private static let maxFileSize = 4096

    private static func file(_ path: String) -> SecretFile {
        SecretFile(path: path, kind: "identity file", holds: "the node's secret key", maxSize: maxFileSize)
    }

    /// Loads the key at `path`, or creates one there if no file exists. An existing file is
    /// never rewritten, even if it is refused, so a typo cannot destroy an identity.
    public static func loadOrCreate(at path: String) throws(CryptoError) -> SigningKey {
        if POSIXFile.exists(path) { return try load(at: path) }
        let key = SigningKey.generate()
        do {
            try create(at: path, key: key, overwrite: false)
        } catch .fileExists {
            // Another process created it between our check and our write: use theirs.
            return try load(at: path)
        }
        return key
    }

    /// Reads and validates the key at `path`.
    public static func load(at path: String) throws(CryptoError) -> SigningKey {
        let content: [UInt8]
        do {
            content = try file(path).read()
        } catch {
            throw Self.error(error, path: path)
        }
        return try parse(content, path: path)
    }

    /// Writes `key` to `path` with mode 0600, creating missing parent directories (mode 0700).
    /// The seed goes to a temporary file in the same directory, is fsynced, then moved into
    /// place, so a crash leaves either the old file or the complete new one. Without
    /// `overwrite`, an existing file is kept and `.fileExists` is thrown.
    public static func create(at path: String, key: SigningKey, overwrite: Bool) throws(CryptoError) {
        do {
            try file(path).create(Array((HexEncoding.encode(key.seed) + "\n").utf8), overwrite: overwrite)
        } catch {
            throw Self.error(error, path: path)
        }
    }

    private static func error(_ failure: SecretFile.Failure, path: String) -> CryptoError {
        switch failure {
        case .fileSystem(let message): .fileSystem(message)
        case .refused(let message): .invalidKeyFile(message)
        case .exists: .fileExists(path)
        }
    }

    // MARK: - Parsing

    private static func parse(_ content: [UInt8], path: String) throws(CryptoError) -> SigningKey {
        var text = content
        if text.last == UInt8(ascii: "\n") { text.removeLast() }
        let corrupt = CryptoError.invalidKeyFile(
            "identity file \(path) is corrupt: expected 64 hex digits (a 32-byte ed25519 seed) and a newline; "
                + "restore it from a backup or move it away to create a new identity")
        guard text.count == 2 * SigningKey.seedLength,
            let seed = HexEncoding.decode(String(decoding: text, as: UTF8.self))
        else { throw corrupt }
        do {
            return try SigningKey(seed: seed)
        } catch {
            throw corrupt
        }
    }
}
