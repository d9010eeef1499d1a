#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A small file holding a secret (the node's identity, the control API's token): read only
/// while no one but its owner can read it, and written whole with mode 0600 through a
/// temporary file, so a crash leaves the old file or the complete new one.
struct SecretFile {
    enum Failure: Error {
        /// The file system refused: the message names the path and the system's error.
        case fileSystem(String)
        /// The file is there but must not be used: the message says why and what to do.
        case refused(String)
        /// `create(_:overwrite: false)` found a file at the path.
        case exists
    }

    let path: String
    /// What the file is called in messages, e.g. `identity file`.
    let kind: String
    /// What leaks if others can read it, e.g. `the node's secret key`.
    let holds: String
    /// Largest file worth reading: anything bigger is not one of ours.
    let maxSize: Int

    var exists: Bool { POSIXFile.exists(path) }

    /// The file's bytes, refused when it is not a regular file, is open to group or others,
    /// or is larger than `maxSize`.
    func read() throws(Failure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .fileSystem("cannot open \(kind) \(path): \(POSIXFile.lastError())") }
        defer { close(fd) }
        // fstat on the open descriptor: the checks apply to the very file we read.
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .fileSystem("cannot stat \(kind) \(path): \(POSIXFile.lastError())") }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .refused("\(kind) \(path) is not a regular file") }
        let permissions = info.st_mode & 0o777
        guard permissions & 0o077 == 0 else {
            throw .refused("\(kind) \(path) is accessible by group or others (mode 0\(String(UInt32(permissions), radix: 8))); "
                + "it holds \(holds): run `chmod 600 \(path)`")
        }
        switch POSIXFile.readAll(fd, limit: maxSize, chunkSize: 512) {
        case .contents(let content): return content
        case .failed: throw .fileSystem("cannot read \(kind) \(path): \(POSIXFile.lastError())")
        case .tooLarge: throw .refused("\(kind) \(path) is corrupt: larger than \(maxSize) bytes")
        }
    }

    /// Writes `contents` with mode 0600, creating missing parent directories (mode 0700).
    /// Without `overwrite` an existing file is kept and `.exists` thrown, even one another
    /// process created a moment ago.
    func create(_ contents: [UInt8], overwrite: Bool) throws(Failure) {
        guard !path.isEmpty else { throw .fileSystem("\(kind) path is empty") }
        let directory = POSIXFile.parentDirectory(of: path)
        if let failed = POSIXFile.makeDirectories(directory) {
            throw .fileSystem("cannot create directory \(failed): \(POSIXFile.lastError())")
        }
        if !overwrite && exists { throw .exists }

        let temporary = "\(path).tmp-\(getpid())-\(UInt32.random(in: .min ... .max))"
        try Self.writeNewFile(temporary, contents: contents)
        defer { unlink(temporary) }
        if overwrite {
            guard rename(temporary, path) == 0 else {
                throw .fileSystem("cannot move \(kind) into place at \(path): \(POSIXFile.lastError())")
            }
        } else {
            // link() fails atomically if the path exists, unlike rename(), which would
            // replace a file created concurrently; the temporary name is unlinked afterwards.
            guard link(temporary, path) == 0 else {
                if errno == EEXIST { throw .exists }
                throw .fileSystem("cannot create \(kind) \(path): \(POSIXFile.lastError())")
            }
        }
        POSIXFile.syncDirectory(directory)
    }

    private static func writeNewFile(_ path: String, contents: [UInt8]) throws(Failure) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .fileSystem("cannot create \(path): \(POSIXFile.lastError())") }
        var failure: Failure?
        // The umask can only remove bits, but be explicit: the mode is the security property.
        if fchmod(fd, 0o600) != 0 { failure = .fileSystem("cannot chmod \(path): \(POSIXFile.lastError())") }
        if failure == nil && !POSIXFile.writeAll(fd, contents) {
            failure = .fileSystem("cannot write \(path): \(POSIXFile.lastError())")
        }
        if failure == nil && fsync(fd) != 0 { failure = .fileSystem("cannot fsync \(path): \(POSIXFile.lastError())") }
        close(fd)
        if let failure {
            unlink(path)
            throw failure
        }
    }
}
