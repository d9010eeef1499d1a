#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

import SubnetDHTCore

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
        if let failed = POSIXFile.makeDirectories(directory) {
            throw .io("cannot create directory \(failed): \(lastError())")
        }
    }




    private static func lastError() -> String { POSIXFile.lastError() }
}
