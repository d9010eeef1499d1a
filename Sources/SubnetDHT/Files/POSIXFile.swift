#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

import SubnetDHTCore

/// The raw file calls the identity file and the snapshot share: writing a whole buffer
/// despite short writes and EINTR, and naming the last error.
enum POSIXFile {
    /// Writes all of `contents` to `fd`; false (with `errno` set) on failure.
    static func writeAll(_ fd: Int32, _ contents: [UInt8]) -> Bool {
        var written = 0
        while written < contents.count {
            let count = contents[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return false
            }
            written += count
        }
        return true
    }

    enum ReadOutcome {
        case contents([UInt8])
        /// The file holds more than the limit allowed (it may have grown while being read).
        case tooLarge
        /// `read` failed; `errno` says why.
        case failed
    }

    /// Reads `fd` to its end, refusing to hold more than `limit` bytes.
    static func readAll(_ fd: Int32, limit: Int, chunkSize: Int = 65_536) -> ReadOutcome {
        var content = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: chunkSize)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                return .failed
            }
            if count == 0 { return .contents(content) }
            content += buffer[0..<count]
            if content.count > limit { return .tooLarge }
        }
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// The directory part of `path`: "" for a bare name, "/" for an entry at the root.
    static func parentDirectory(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "" }
        if slash == trimmed.startIndex { return "/" }
        return String(trimmed[..<slash])
    }

    /// `mkdir -p` with mode 0700 for the directories it creates; existing ones are left alone.
    /// Returns the directory that could not be created (`errno` says why), or nil.
    static func makeDirectories(_ directory: String) -> String? {
        if directory.isEmpty || exists(directory) { return nil }
        if let failed = makeDirectories(parentDirectory(of: directory)) { return failed }
        if mkdir(directory, 0o700) != 0 && errno != EEXIST { return directory }
        return nil
    }

    /// Best effort: persists a new directory entry. Some file systems refuse fsync on a
    /// directory; the file itself is already durable then, so this is not an error.
    static func syncDirectory(_ directory: String) {
        let fd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    static func lastError() -> String {
        String(cString: strerror(errno))
    }
}
