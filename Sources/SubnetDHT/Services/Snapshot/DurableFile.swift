#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The POSIX side of `SnapshotFile`, in the house style of `IdentityFile`: a file is replaced
/// by writing a temporary file (mode 0600), fsyncing it and renaming it into place, so that
/// a crash leaves either the old file or the complete new one. A separate type because
/// `SnapshotFile.read` and `.write` would shadow the C functions of the same names.
enum DurableFile {
    /// The whole file at `path`, or nil when it (or its directory) does not exist. A file
    /// larger than `limit` is `.corrupt` and is not read.
    static func contents(of path: String, limit: Int) throws(SnapshotError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw .io("cannot open \(path): \(lastError())")
        }
        defer { close(fd) }

        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .io("cannot stat \(path): \(lastError())") }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .corrupt("\(path) is not a regular file") }
        let size = Int(info.st_size)
        guard size <= limit else {
            throw .corrupt("\(path) is \(size) bytes, larger than any snapshot (\(limit))")
        }

        switch POSIXFile.readAll(fd, limit: limit) {
        case .contents(let content): return content
        case .failed: throw .io("cannot read \(path): \(lastError())")
        // The file may have grown since fstat.
        case .tooLarge: throw .corrupt("\(path) is larger than any snapshot (\(limit))")
        }
    }

    /// Writes `contents` to `temporary` (mode 0600, replacing a leftover from a crash),
    /// fsyncs it and renames it over `path`. On failure the temporary file is removed and
    /// `path` is untouched.
    static func replace(_ path: String, through temporary: String, contents: [UInt8]) throws(SnapshotError) {
        if unlink(temporary) != 0 && errno != ENOENT {
            throw .io("cannot remove leftover \(temporary): \(lastError())")
        }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io("cannot create \(temporary): \(lastError())") }
        var failure: SnapshotError?
        // The umask can only remove bits, but be explicit: other users have no business here.
        if fchmod(fd, 0o600) != 0 { failure = .io("cannot chmod \(temporary): \(lastError())") }
        if failure == nil && !POSIXFile.writeAll(fd, contents) {
            failure = .io("cannot write \(temporary): \(lastError())")
        }
        if failure == nil && fsync(fd) != 0 { failure = .io("cannot fsync \(temporary): \(lastError())") }
        if close(fd) != 0 && failure == nil { failure = .io("cannot close \(temporary): \(lastError())") }
        if failure == nil && rename(temporary, path) != 0 {
            failure = .io("cannot move \(temporary) to \(path): \(lastError())")
        }
        if let failure {
            unlink(temporary)
            throw failure
        }
    }

    /// `mkdir -p` with mode 0700 for the directories it creates; existing ones are left alone.
    static func makeDirectories(_ directory: String) throws(SnapshotError) {
        if directory.isEmpty || exists(directory) { return }
        try makeDirectories(parentDirectory(of: directory))
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw .io("cannot create directory \(directory): \(lastError())")
        }
    }

    /// Best effort, as in `IdentityFile`: persists the rename. Some file systems refuse fsync
    /// on a directory; the file itself is already durable then, so this is not an error.
    static func syncDirectory(_ directory: String) {
        let fd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    private static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// The directory part of `path`: "" for a bare name, "/" for an entry at the root.
    private static func parentDirectory(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "" }
        if slash == trimmed.startIndex { return "/" }
        return String(trimmed[..<slash])
    }

    private static func lastError() -> String { POSIXFile.lastError() }
}
