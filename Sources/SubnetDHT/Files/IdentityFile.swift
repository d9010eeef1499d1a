#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

import SubnetDHTCore

/// The node's long-term ed25519 identity on disk. Its public key is the node's heartbeat
/// owner and, by default, its DHT id, so losing or leaking it matters: the file is text
/// (the 32-byte seed as 64 lowercase hex digits and a newline) so operators can back it up,
/// it is written atomically with mode 0600, and loading refuses anything corrupt or
/// readable by other users rather than silently running with a new or exposed identity.
public enum IdentityFile {
    /// Largest file worth reading: a valid one is 65 bytes, anything much bigger is not ours.
    private static let maxFileSize = 4096

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
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .fileSystem("cannot open identity file \(path): \(lastError())") }
        defer { close(fd) }

        // fstat on the open descriptor: the checks apply to the very file we read.
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .fileSystem("cannot stat identity file \(path): \(lastError())") }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw .invalidKeyFile("identity file \(path) is not a regular file")
        }
        let permissions = info.st_mode & 0o777
        guard permissions & 0o077 == 0 else {
            throw .invalidKeyFile(
                "identity file \(path) is accessible by group or others (mode \(octal(permissions))); "
                    + "it holds the node's secret key: run `chmod 600 \(path)`")
        }

        let content = try readAll(fd, path: path)
        return try parse(content, path: path)
    }

    /// Writes `key` to `path` with mode 0600, creating missing parent directories (mode 0700).
    /// The seed goes to a temporary file in the same directory, is fsynced, then moved into
    /// place, so a crash leaves either the old file or the complete new one. Without
    /// `overwrite`, an existing file is kept and `.fileExists` is thrown.
    public static func create(at path: String, key: SigningKey, overwrite: Bool) throws(CryptoError) {
        guard !path.isEmpty else { throw .fileSystem("identity file path is empty") }
        let directory = POSIXFile.parentDirectory(of: path)
        try makeDirectories(directory)
        if !overwrite && POSIXFile.exists(path) { throw .fileExists(path) }

        let temporary = "\(path).tmp-\(getpid())-\(UInt32.random(in: .min ... .max))"
        try writeNewFile(temporary, contents: Array((HexEncoding.encode(key.seed) + "\n").utf8))
        defer { unlink(temporary) }

        if overwrite {
            guard rename(temporary, path) == 0 else {
                throw .fileSystem("cannot move identity file into place at \(path): \(lastError())")
            }
        } else {
            // link() fails atomically if the path exists, unlike rename(), which would
            // replace a file created concurrently; the temporary name is unlinked afterwards.
            guard link(temporary, path) == 0 else {
                if errno == EEXIST { throw .fileExists(path) }
                throw .fileSystem("cannot create identity file \(path): \(lastError())")
            }
        }
        POSIXFile.syncDirectory(directory)
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

    // MARK: - File-system helpers


    private static func readAll(_ fd: Int32, path: String) throws(CryptoError) -> [UInt8] {
        switch POSIXFile.readAll(fd, limit: maxFileSize, chunkSize: 512) {
        case .contents(let content): return content
        case .failed: throw .fileSystem("cannot read identity file \(path): \(lastError())")
        case .tooLarge: throw .invalidKeyFile("identity file \(path) is corrupt: larger than \(maxFileSize) bytes")
        }
    }

    private static func writeNewFile(_ path: String, contents: [UInt8]) throws(CryptoError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .fileSystem("cannot create \(path): \(lastError())") }
        var failure: CryptoError?
        // The umask can only remove bits, but be explicit: the mode is the security property.
        if fchmod(fd, 0o600) != 0 { failure = .fileSystem("cannot chmod \(path): \(lastError())") }
        if failure == nil && !POSIXFile.writeAll(fd, contents) {
            failure = .fileSystem("cannot write \(path): \(lastError())")
        }
        if failure == nil && fsync(fd) != 0 { failure = .fileSystem("cannot fsync \(path): \(lastError())") }
        close(fd)
        if let failure {
            unlink(path)
            throw failure
        }
    }

    /// `mkdir -p` with mode 0700 for the directories it creates; existing ones are left alone.
    private static func makeDirectories(_ directory: String) throws(CryptoError) {
        if let failed = POSIXFile.makeDirectories(directory) {
            throw .fileSystem("cannot create directory \(failed): \(lastError())")
        }
    }



    private static func lastError() -> String { POSIXFile.lastError() }

    private static func octal(_ mode: mode_t) -> String {
        "0" + String(UInt32(mode), radix: 8)
    }
}
